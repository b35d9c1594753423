"""The cross-account AppSync mutation worker (Lambda function in account A).

Layers, top-down; nothing lower imports anything higher:
``handler`` (event shapes, partial batch response) -> ``batch`` (concurrency, FIFO order, dead letters) ->
``client`` (envelope, send, retry) -> ``judge`` (what an answer means) and ``transport`` (signing, the wire)
-> ``credentials`` (assume, cache, refresh).

Public API for tools and the sandbox: ``lambda_handler``, ``WorkerRuntime``, ``WorkerConfig``,
``parse_envelope``, the error types in ``worker.errors``, ``worker.judge`` (``judge``, ``read_answer``,
``wire_failure``, ``letter_is_permanent``), ``worker.diagnostics.diagnose`` and
``worker.dead_letters.read_failure``.
Imports are lazy so that ``import worker`` stays cheap.
"""

from __future__ import annotations

from typing import Any

__all__ = ["WorkerConfig", "WorkerRuntime", "lambda_handler", "parse_envelope"]

_LAZY = {
    "WorkerConfig": "worker.config",
    "WorkerRuntime": "worker.runtime",
    "lambda_handler": "worker.handler",
    "parse_envelope": "worker.envelope",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'worker' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
