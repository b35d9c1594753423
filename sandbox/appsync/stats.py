"""What the stand-in saw: counts by outcome, HTTP status and caller, and every executed mutation."""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any


@dataclass(frozen=True)
class ExecutedMutation:
    """A mutation that reached DynamoDB and succeeded (``id`` of the item it wrote or deleted)."""

    field: str
    item_id: str | None
    caller_arn: str
    at: datetime


class Stats:
    """Thread-safe counters; read them from any thread (each read returns a copy)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._in_flight = 0  # not cleared by reset(): those requests are still being handled
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._requests = 0
            self._by_status: Counter[int] = Counter()
            self._by_outcome: Counter[str] = Counter()
            self._by_caller: Counter[str] = Counter()
            self._mutations: list[ExecutedMutation] = []

    def begin(self) -> None:
        with self._lock:
            self._in_flight += 1

    def end(self) -> None:
        with self._lock:
            self._in_flight -= 1

    @property
    def in_flight(self) -> int:
        """Requests received and not yet answered (or dropped)."""
        with self._lock:
            return self._in_flight

    def record(self, status: int | None, outcome: str, caller_arn: str | None = None) -> None:
        """One request's end (``status`` None: the connection was reset without an answer)."""
        with self._lock:
            self._requests += 1
            if status is not None:
                self._by_status[status] += 1
            self._by_outcome[outcome] += 1
            if caller_arn:
                self._by_caller[caller_arn] += 1

    def record_mutation(self, field: str, item_id: str | None, caller_arn: str) -> None:
        with self._lock:
            self._mutations.append(ExecutedMutation(field, item_id, caller_arn, datetime.now(UTC)))

    @property
    def requests(self) -> int:
        with self._lock:
            return self._requests

    @property
    def by_status(self) -> dict[int, int]:
        with self._lock:
            return dict(self._by_status)

    @property
    def by_outcome(self) -> dict[str, int]:
        with self._lock:
            return dict(self._by_outcome)

    @property
    def by_caller(self) -> dict[str, int]:
        with self._lock:
            return dict(self._by_caller)

    @property
    def mutations(self) -> list[ExecutedMutation]:
        with self._lock:
            return list(self._mutations)

    def snapshot(self) -> dict[str, Any]:
        """Everything at one instant, as plain data (for reports and assertions)."""
        with self._lock:
            return {
                "requests": self._requests,
                "by_status": dict(self._by_status),
                "by_outcome": dict(self._by_outcome),
                "by_caller": dict(self._by_caller),
                "mutations": len(self._mutations),
            }
