"""Lambda entry point: ``worker.handler.lambda_handler``.

Event shapes:
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
import json
import time
from collections import Counter
from collections.abc import Mapping
from typing import Any

from structlog.contextvars import bound_contextvars

from worker import snapstart
from worker.batch import RecordOutcome, WorkItem, sqs_work_item
from worker.config import HANDLER_MARGIN_MAX_SECONDS
from worker.errors import MutationError
from worker.outcomes import Status
from worker.producers import direct_producer, event_producer, sqs_producer
from worker.runtime import WorkerRuntime

_runtime: WorkerRuntime | None = None


class EventShapeError(ValueError):
    """The invocation is neither SQS, EventBridge nor an envelope: nothing can be reported per record."""


class MutationFailed(RuntimeError):
    """Raised for an EventBridge event left for Lambda's retry (transient, or the DLQ send failed)."""

    def __init__(self, error: MutationError | None) -> None:
        super().__init__(str(error) if error else "mutation failed")
        self.error = error


def get_runtime() -> WorkerRuntime:
    """The container's runtime, built on first use (the cold start)."""
    global _runtime
    if _runtime is None:
        _runtime = WorkerRuntime.from_environment()
    return _runtime


def reset_runtime() -> None:
    """Drop the container state (what a new Lambda container would have); for tests and tools."""
    global _runtime
    if _runtime is not None:
        _runtime.close()
    _runtime = None


# Scripts and tools that use the handler exit cleanly (no "Unclosed client session" dump at exit).
atexit.register(reset_runtime)


def lambda_handler(event: Any, context: Any) -> dict[str, Any]:
    runtime = get_runtime()
    return runtime.run(handle_event(runtime, event, context))


async def handle_event(runtime: WorkerRuntime, event: Any, context: Any) -> dict[str, Any]:
    runtime.invocations += 1
    # Every line of this invocation carries these (structlog's merge_contextvars), whichever layer logs it.
    with bound_contextvars(
        request_id=getattr(context, "aws_request_id", None), invocation=runtime.invocations
    ):
        return await _handle(runtime, event, context)


async def _handle(runtime: WorkerRuntime, event: Any, context: Any) -> dict[str, Any]:
    started = time.monotonic()
    deadline = report_by(context, started)
    log = runtime.log
    if not isinstance(event, Mapping):
        raise EventShapeError(f"expected a JSON object event, got {type(event).__name__}")
    if not (_is_sqs(event) or _is_eventbridge(event) or "mutation" in event or "query" in event):
        raise EventShapeError(
            "unrecognised event: expected SQS records, an EventBridge event (detail-type, source, detail) "
            f"or a mutation envelope; got keys {sorted(event)[:10]}"
        )
    await _prefetch_credentials(runtime, log, deadline)

    producers = runtime.producers
    if _is_sqs(event):
        records = event["Records"]
        items = [sqs_work_item(record, sqs_producer(record)) for record in records]
        refusals = [producers.refuse_sqs(record) for record in records]
        admitted = [item for item, refusal in zip(items, refusals, strict=True) if refusal is None]
        fifo = any(str(r.get("eventSourceARN", "")).endswith(".fifo") for r in records)
        processed = iter(
            await runtime.batch.process(admitted, fifo=fifo, deadline=deadline) if admitted else []
        )
        outcomes = [
            runtime.batch.refuse(item, refusal) if refusal is not None else next(processed)
            for item, refusal in zip(items, refusals, strict=True)
        ]
        _log_summary(log, "sqs", outcomes, started)
        runtime.emit_metrics(outcomes)
        return {"batchItemFailures": [{"itemIdentifier": o.record_id} for o in outcomes if o.reported_failed]}

    if _is_eventbridge(event):
        event_id = str(event.get("id") or "")
        detail = event["detail"]
        item = WorkItem(
            record_id=event_id or getattr(context, "aws_request_id", None) or "eventbridge",
            # kept as sent (a detail that is not an object is refused by the envelope, and dead-lettered whole)
            body=detail if isinstance(detail, Mapping | str) else json.dumps(detail),
            source=f"eventbridge:{event.get('source', '')}",
            first_received_at=event.get("time"),
            message_id=event_id or None,
            producer=event_producer(event),
        )
        refusal = producers.refuse_event(event)
        if refusal is not None:
            outcome = runtime.batch.refuse(item, refusal)
        else:
            outcome = await runtime.batch.process_item(item, deadline=deadline)
        _log_summary(log, "eventbridge", [outcome], started)
        runtime.emit_metrics([outcome])
        if outcome.reported_failed and outcome.status is not Status.REFUSED:  # a refusal is not retried
            raise MutationFailed(outcome.error)
        return _outcome_dict(outcome)

    request_id = getattr(context, "aws_request_id", None)
    # Lambda keeps the request id across its own retries of an asynchronous invocation.
    item = WorkItem(
        record_id=request_id or "direct",
        body=event,
        source="direct",
        message_id=request_id,
        producer=direct_producer(context),
    )
    refusal = producers.refuse_direct()
    if refusal is not None:
        outcome = runtime.batch.refuse(item, refusal)
    else:
        outcome = await runtime.batch.process_item(item, deadline=deadline)
    _log_summary(log, "direct", [outcome], started)
    runtime.emit_metrics([outcome])
    return _outcome_dict(outcome)


def _is_sqs(event: Mapping[str, Any]) -> bool:
    records = event.get("Records")
    return (
        isinstance(records, list)
        and bool(records)
        and all(
            isinstance(r, Mapping) and r.get("eventSource") == "aws:sqs" and "messageId" in r for r in records
        )
    )


def _is_eventbridge(event: Mapping[str, Any]) -> bool:
    return "detail-type" in event and "source" in event and "detail" in event


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


def _outcome_dict(outcome: RecordOutcome) -> dict[str, Any]:
    result: dict[str, Any] = {"status": outcome.status, "operation": outcome.operation}
    if outcome.error is not None:
        result.update(
            errorType=outcome.error.error_type, reason=outcome.error.reason, diagnosis=outcome.error.diagnosis
        )
    return result


def _log_summary(log: Any, kind: str, outcomes: list[RecordOutcome], started: float) -> None:
    counts = Counter(o.status for o in outcomes)
    log.info(
        "invocation_done",
        event_kind=kind,
        records=len(outcomes),
        duration_ms=round((time.monotonic() - started) * 1000, 1),
        **{f"n_{status}": n for status, n in counts.items()},
    )


# SnapStart: drop the container state before a snapshot and after every restore (no-op outside Lambda).
snapstart.register(reset_runtime)
