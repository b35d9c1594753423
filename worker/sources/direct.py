"""Direct invocation with an envelope (``mutation`` or ``query``): off unless ``DIRECT_INVOCATION`` names it; the
outcome is returned as a dict. Lambda keeps the request id across its own retries of an asynchronous
invocation, so it names the record."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from worker.batch import WorkItem
from worker.producers import direct_producer
from worker.sources.common import one_record, outcome_dict

if TYPE_CHECKING:
    from worker.runtime import WorkerRuntime

NAME = "direct"


def matches(event: Mapping[str, Any]) -> bool:
    return "mutation" in event or "query" in event


async def handle(
    runtime: WorkerRuntime, event: Mapping[str, Any], context: Any, deadline: float | None, started: float
) -> dict[str, Any]:
    request_id = getattr(context, "aws_request_id", None)
    item = WorkItem(
        record_id=request_id or "direct",
        body=event,
        source="direct",
        message_id=request_id,
        producer=direct_producer(context),
    )
    outcome = await one_record(runtime, NAME, item, runtime.producers.refuse_direct(), deadline, started)
    return outcome_dict(outcome)
