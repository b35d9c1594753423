"""Lambda SnapStart (Python 3.12+): what must not survive a snapshot, and the hooks that drop it.

With SnapStart, init (importing ``worker.handler``) runs once when a version is published and every cold start
restores that memory. The worker builds its runtime (event loop, aiohttp session, STS client, assumed
credentials) lazily on the first invocation, so a snapshot normally holds none of it; the hooks make that true
whatever ran before: before the snapshot and after every restore they drop the runtime (its loop, its HTTP
session and pooled connections, its assumed credentials), so the next invocation assumes the role afresh from
the execution role and opens new connections. After restore they also reseed ``random`` (tenacity's backoff
jitter): restored copies of one snapshot would otherwise draw the same "random" sequence.

``snapshot_restore_py`` ships in the Lambda Python runtime only: imported guardedly, so everywhere else
``register`` does nothing and returns False.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import structlog

_log = structlog.get_logger("worker.snapstart")
#: What ``register`` registered (for tests and logs): the two hook functions, once per process.
registered: dict[str, Callable[[], None]] = {}


def before_snapshot(reset: Callable[[], None]) -> None:
    """Nothing network-bound goes into the snapshot: drop the runtime if anything built one during init."""
    _drop(reset, "before_snapshot")


def after_restore(reset: Callable[[], None]) -> None:
    """Connections, the loop and credentials from before the snapshot are never used after a restore."""
    random.seed()
    _drop(reset, "after_restore")


def _drop(reset: Callable[[], None], when: str) -> None:
    try:
        reset()
    except Exception as exc:  # the hooks must finish (10 s limit); a failed close only leaks dead sockets
        _log.warning("snapstart_reset_failed", hook=when, error_type=type(exc).__name__)
    _log.info("snapstart_runtime_dropped", hook=when)


def register(reset: Callable[[], None], *, module: Any = None) -> bool:
    """Register both hooks with the runtime's ``snapshot_restore_py`` (or ``module``); False when absent."""
    if registered:
        return True
    if module is None:
        try:
            import snapshot_restore_py as module  # type: ignore[no-redef]
        except ImportError:
            return False
    module.register_before_snapshot(before_snapshot, reset)
    module.register_after_restore(after_restore, reset)
    registered.update(
        before_snapshot=lambda: before_snapshot(reset), after_restore=lambda: after_restore(reset)
    )
    return True
