"""EventBridge (``detail-type``, ``source``, ``detail``): one event, one mutation. A transient failure raises, so
Lambda's asynchronous retries and on-failure destination take over; a permanent one goes to the DLQ with its
reason; a refused producer returns ``refused`` (raising would only retry it and fill the events DLQ)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from worker.batch import WorkItem
from worker.errors import MutationError
from worker.outcomes import Status
from worker.producers import event_producer
from worker.sources.common import one_record, outcome_dict

if TYPE_CHECKING:
    from worker.runtime import WorkerRuntime

NAME = "eventbridge"


class MutationFailed(RuntimeError):
    """Raised for an EventBridge event left for Lambda's retry (transient, or the DLQ send failed)."""

    def __init__(self, error: MutationError | None) -> None:
        super().__init__(str(error) if error else "mutation failed")
        self.error = error


def matches(event: Mapping[str, Any]) -> bool:
    return "detail-type" in event and "source" in event and "detail" in event


async def handle(
    runtime: WorkerRuntime, event: Mapping[str, Any], context: Any, deadline: float | None, started: float
) -> dict[str, Any]:
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
    outcome = await one_record(runtime, NAME, item, runtime.producers.refuse_event(event), deadline, started)
    if outcome.reported_failed and outcome.status is not Status.REFUSED:  # a refusal is not retried
        raise MutationFailed(outcome.error)
    return outcome_dict(outcome)
