"""SQS (``Records`` with ``eventSource`` ``aws:sqs``): the partial batch response lists only the records left for
redelivery (requires ``ReportBatchItemFailures`` on the event source mapping). A record from another queue is
refused and reported failed: it is not ours to delete or dead-letter."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from worker.batch import sqs_work_item
from worker.producers import sqs_producer
from worker.shapes import is_object
from worker.sources.common import log_summary

if TYPE_CHECKING:
    from worker.runtime import WorkerRuntime

NAME = "sqs"


def matches(event: Mapping[str, Any]) -> bool:
    records = event.get("Records")
    return (
        isinstance(records, list)
        and bool(records)
        and all(is_object(r) and r.get("eventSource") == "aws:sqs" and "messageId" in r for r in records)
    )


async def handle(
    runtime: WorkerRuntime, event: Mapping[str, Any], context: Any, deadline: float | None, started: float
) -> dict[str, Any]:
    records = event["Records"]
    items = [sqs_work_item(record, sqs_producer(record)) for record in records]
    refusals = [runtime.producers.refuse_sqs(record) for record in records]
    admitted = [item for item, refusal in zip(items, refusals, strict=True) if refusal is None]
    fifo = any(str(r.get("eventSourceARN", "")).endswith(".fifo") for r in records)
    processed = iter(await runtime.batch.process(admitted, fifo=fifo, deadline=deadline) if admitted else [])
    outcomes = [
        runtime.batch.refuse(item, refusal) if refusal is not None else next(processed)
        for item, refusal in zip(items, refusals, strict=True)
    ]
    log_summary(runtime.log, NAME, outcomes, started)
    runtime.emit_metrics(outcomes)
    return {"batchItemFailures": [{"itemIdentifier": o.record_id} for o in outcomes if o.reported_failed]}
