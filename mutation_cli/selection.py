"""Which dead letters a command acts on: ``--operation``, ``--error-type``, ``--message-id``, time range."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from mutation_cli.errors import UsageError
from mutation_cli.records import DeadLetterRecord, parse_time

_RELATIVE = re.compile(r"^(?P<n>\d+)(?P<unit>[smhd])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


@dataclass(frozen=True)
class Selection:
    operations: frozenset[str] = frozenset()
    error_types: frozenset[str] = frozenset()
    message_ids: frozenset[str] = frozenset()  # DLQ message id or the source queue's message id
    since: datetime | None = None
    until: datetime | None = None
    limit: int | None = None

    def matches(self, record: DeadLetterRecord) -> bool:
        if self.operations and record.operation not in self.operations:
            return False
        if self.error_types and record.failure.get("errorType") not in self.error_types:
            return False
        if self.message_ids and not (
            {record.message_id, record.failure.get("sourceMessageId")} & self.message_ids
        ):
            return False
        if self.since is not None or self.until is not None:
            at = record.failed_at
            if at is None:
                return False
            if self.since is not None and at < self.since:
                return False
            if self.until is not None and at > self.until:
                return False
        return True


def parse_when(text: str, now: datetime | None = None) -> datetime:
    """ISO-8601 (``2026-11-23T07:00:00Z``, a date) or an age before now (``30m``, ``2h``, ``7d``)."""
    match = _RELATIVE.match(text.strip())
    if match:
        delta = timedelta(**{_UNITS[match["unit"]]: int(match["n"])})
        return (now or datetime.now(UTC)) - delta
    parsed = parse_time(text.strip())
    if parsed is None:
        raise UsageError(
            f"{text!r} is not a time: use ISO-8601 (2026-11-23T07:00:00Z) or an age (30m, 2h, 7d)"
        )
    return parsed
