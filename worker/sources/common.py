"""What every source adapter reports the same way: the invocation's summary line and a single record's answer."""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

from worker.batch import RecordOutcome


def log_summary(log: Any, kind: str, outcomes: list[RecordOutcome], started: float) -> None:
    counts = Counter(o.status for o in outcomes)
    log.info(
        "invocation_done",
        event_kind=kind,
        records=len(outcomes),
        duration_ms=round((time.monotonic() - started) * 1000, 1),
        **{f"n_{status}": n for status, n in counts.items()},
    )


def outcome_dict(outcome: RecordOutcome) -> dict[str, Any]:
    result: dict[str, Any] = {"status": outcome.status, "operation": outcome.operation}
    if outcome.error is not None:
        result.update(
            errorType=outcome.error.error_type, reason=outcome.error.reason, diagnosis=outcome.error.diagnosis
        )
    return result
