"""Build the worker's own runtime for an operator command: same credentials, client, retry, classification.

The worker's structured logs go to stderr (WARNING and up unless ``--verbose``) so that stdout stays the
command's own output; they are the worker's redacted JSON lines and never carry secrets.
"""

from __future__ import annotations

import sys
from typing import Any

from worker.config import WorkerConfig
from worker.logs import configure_logging
from worker.runtime import WorkerRuntime


def worker_runtime(config: WorkerConfig, base_session: Any, *, verbose: bool = False) -> WorkerRuntime:
    configure_logging("INFO" if verbose else "WARNING", stream=sys.stderr)
    return WorkerRuntime(config, base_session=base_session)
