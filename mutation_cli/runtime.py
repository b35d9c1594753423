"""Build the worker's own runtime for an operator command: same credentials, client, retry, classification.

The worker's structured logs go to stderr, ERROR only unless ``--verbose`` (INFO): the command reports
outcomes itself, and the worker's cold-start warning about environment keys is the normal case for an operator
(``doctor`` reports the provider). They are the worker's redacted JSON lines and never carry secrets.
"""

from __future__ import annotations

from typing import Any

from worker.config import WorkerConfig
from worker.logs import CURRENT_STDERR, configure_logging
from worker.runtime import WorkerRuntime


def worker_runtime(config: WorkerConfig, base_session: Any, *, verbose: bool = False) -> WorkerRuntime:
    configure_logging("INFO" if verbose else "ERROR", stream=CURRENT_STDERR)
    return WorkerRuntime(config, base_session=base_session)


def worker_credentials(config: WorkerConfig, base_session: Any, *, verbose: bool = False) -> Any:
    """Only the worker's account-B credentials (``send`` needs no event loop, client or DLQ)."""
    from worker.runtime import account_b_credentials

    configure_logging("INFO" if verbose else "ERROR", stream=CURRENT_STDERR)
    return account_b_credentials(config, base_session)
