"""Lambda entry point: ``worker.handler.lambda_handler``.

Event shapes (each an adapter in ``worker.sources``):
- SQS (``Records`` with ``eventSource`` ``aws:sqs``): returns the partial batch response
  ``{"batchItemFailures": [{"itemIdentifier": <messageId>}, ...]}`` listing only records left for redelivery
  (requires ``ReportBatchItemFailures`` on the event source mapping).
- EventBridge (``detail-type``/``source``/``detail``): one event, one mutation; a transient failure raises so
  Lambda's asynchronous retries and on-failure destination take over; a permanent one goes to the DLQ with
  its reason instead of being retried in vain.
- Direct invocation with an envelope: returns the outcome as a dict.

Only the producers the configuration names get in (``worker.producers``): an SQS record from another queue, an
event from another account or source, or a direct invocation that is not enabled is refused before anything is
parsed or sent (``record_refused`` in the log, ``Refused`` in the metrics, status ``refused``). A refused SQS
record is reported failed (not ours to delete or dead-letter: it goes back to its own queue); a refused event or
direct invocation returns its refusal and is not retried. Every record's log lines and dead letter name its
producer.

Every invocation returns a safety margin before Lambda's deadline (10% of the time left at the start, between
0.1 s and 1 s): what is not finished by then is reported failed (left for redelivery), never as a success.
"""

from __future__ import annotations

import atexit
import gc
import time
from typing import Any

from worker import snapstart
from worker.config import HANDLER_MARGIN_MAX_SECONDS
from worker.errors import MutationError
from worker.logs import bound
from worker.runtime import WorkerRuntime
from worker.shapes import is_object
from worker.sources import source_for
from worker.sources.eventbridge import MutationFailed

_runtime: WorkerRuntime | None = None


class EventShapeError(ValueError):
    """The invocation is neither SQS, EventBridge nor an envelope: nothing can be reported per record."""


def get_runtime() -> WorkerRuntime:
    """The container's runtime, built on first use (the cold start)."""
    global _runtime
    if _runtime is None:
        _runtime = WorkerRuntime.from_environment()
    return _runtime


def current_runtime() -> WorkerRuntime | None:
    """The container's runtime if one is built (None: nothing built yet, or dropped); never builds one."""
    return _runtime


def reset_runtime() -> None:
    """Drop the container state (what a new Lambda container would have); for tests and tools."""
    global _runtime
    if _runtime is not None:
        _runtime.close()
        gc.unfreeze()  # what the first invocation froze may be garbage now
    _runtime = None


# Scripts and tools that use the handler exit cleanly (no "Unclosed client session" dump at exit).
atexit.register(reset_runtime)


def lambda_handler(event: Any, context: Any) -> dict[str, Any]:
    runtime = get_runtime()
    result = runtime.run(handle_event(runtime, event, context))
    if runtime.invocations == 1:
        # What the cold start and the first invocation built (modules, botocore's models and clients, the
        # credentials, the connections) lives as long as the container: the collector stops walking it.
        gc.freeze()
    return result


async def handle_event(runtime: WorkerRuntime, event: Any, context: Any) -> dict[str, Any]:
    runtime.invocations += 1
    # Every line of this invocation carries these, whichever layer logs it.
    with bound(request_id=getattr(context, "aws_request_id", None), invocation=runtime.invocations):
        return await _handle(runtime, event, context)


async def _handle(runtime: WorkerRuntime, event: Any, context: Any) -> dict[str, Any]:
    started = time.monotonic()
    deadline = report_by(context, started)
    if not is_object(event):
        raise EventShapeError(f"expected a JSON object event, got {type(event).__name__}")
    source = source_for(event)
    if source is None:
        raise EventShapeError(
            "unrecognised event: expected SQS records, an EventBridge event (detail-type, source, detail) "
            f"or a mutation envelope; got keys {sorted(event)[:10]}"
        )
    await _prefetch_credentials(runtime, runtime.log, deadline)
    result: dict[str, Any] = await source.handle(runtime, event, context, deadline, started)
    return result


async def _prefetch_credentials(runtime: WorkerRuntime, log: Any, deadline: float | None) -> None:
    """Assume once for the batch up front (off the loop), so a refusal is logged once, not per record."""
    try:
        await runtime.credentials.get(deadline)
    except MutationError as error:  # each record meets it again and is classified with its own outcome
        log.error(
            "credentials_unavailable",
            error_type=error.error_type,
            reason=error.reason,
            diagnosis=error.diagnosis,
        )


#: The handler returns this share of the time left before Lambda's deadline, within the bounds below.
MARGIN_FRACTION = 0.1
MARGIN_MIN_SECONDS = 0.1
MARGIN_MAX_SECONDS = HANDLER_MARGIN_MAX_SECONDS


def report_by(context: Any, now: float) -> float | None:
    """When (``time.monotonic()``) every record must have its outcome: Lambda's deadline less a margin."""
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    if remaining is None:
        return None
    left = remaining() / 1000.0
    margin = min(MARGIN_MAX_SECONDS, max(MARGIN_MIN_SECONDS, left * MARGIN_FRACTION))
    return now + left - margin


# SnapStart: drop the container state before a snapshot and after every restore (no-op outside Lambda).
snapstart.register(reset_runtime)

__all__ = [
    "EventShapeError",
    "MutationFailed",
    "current_runtime",
    "get_runtime",
    "handle_event",
    "lambda_handler",
    "reset_runtime",
]
