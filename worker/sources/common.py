"""What every source adapter reports the same way: the invocation's summary line and a single record's answer."""

from __future__ import annotations

import time
from collections import Counter
from typing import TYPE_CHECKING, Any

from worker.batch import RecordOutcome, WorkItem

if TYPE_CHECKING:
    from worker.runtime import WorkerRuntime


def log_summary(log: Any, kind: str, outcomes: list[RecordOutcome], started: float) -> None:
    counts = Counter(o.status for o in outcomes)
    log.info(
        "invocation_done",
        event_kind=kind,
        records=len(outcomes),
        duration_ms=round((time.monotonic() - started) * 1000, 1),
        **{f"n_{status}": n for status, n in counts.items()},
    )


async def one_record(
    runtime: WorkerRuntime,
    kind: str,
    item: WorkItem,
    refusal: str | None,
    deadline: float | None,
    started: float,
) -> RecordOutcome:
    """A source with one record per invocation: refused (nothing parsed or sent) or processed, then logged and
    counted as every invocation is."""
    if refusal is not None:
        outcome = runtime.batch.refuse(item, refusal)
    else:
        outcome = await runtime.batch.process_item(item, deadline=deadline)
    log_summary(runtime.log, kind, [outcome], started)
    runtime.emit_metrics([outcome])
    return outcome


def outcome_dict(outcome: RecordOutcome) -> dict[str, Any]:
    result: dict[str, Any] = {"status": outcome.status, "operation": outcome.operation}
    if outcome.error is not None:
        result.update(
            errorType=outcome.error.error_type, reason=outcome.error.reason, diagnosis=outcome.error.diagnosis
        )
    return result
