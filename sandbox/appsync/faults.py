"""Fault injection for the stand-in, set from the test thread and drawn once per request under a lock.

Each request draws one ``Plan``: added latency (fixed + seeded jitter), then at most one of: an HTTP error
status (429/500/502/503), a connection reset (no response at all), a delay before processing (slower than
the client's timeout), or "apply then stall" (the mutation executes, the answer comes late: a client that
times out and retries then meets ``ConditionalCheckFailed`` for its own first attempt).
"N next requests" faults are used up in the order requests arrive; rate faults use a seeded RNG.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass

FAULT_STATUSES = (429, 500, 502, 503)


@dataclass(frozen=True)
class Plan:
    latency: float = 0.0  # seconds added before anything else
    status: int | None = None  # answer with this injected error instead of processing
    reset: bool = False  # close the connection without a response
    delay: float = 0.0  # seconds to wait before processing (slow response)
    stall: float = 0.0  # seconds to wait after executing, before answering
    answer: str | None = None  # answer HTTP 200 with this JSON body without executing anything
    status_after: int | None = None  # execute, then answer with this injected error (the write happened)

    @property
    def is_clean(self) -> bool:
        return self == _CLEAN


_CLEAN = Plan()


class Faults:
    """Thread-safe fault settings; every setter may be called while requests are in flight."""

    def __init__(self, seed: int = 0) -> None:
        self._lock = threading.Lock()
        self._seed = seed
        self.clear()

    def clear(self) -> None:
        """Back to a healthy endpoint (the RNG is re-seeded, so runs repeat)."""
        with self._lock:
            self._rng = random.Random(self._seed)
            self._latency = 0.0
            self._jitter = 0.0
            self._error_next: list[int] = []
            self._error_rate = 0.0
            self._error_status = 500
            self._reset_next = 0
            self._reset_rate = 0.0
            self._slow_next = 0
            self._slow_all = False
            self._slow_seconds = 0.0
            self._stall_next = 0
            self._stall_seconds = 0.0
            self._answer_next: list[str] = []
            self._fail_after_next: list[int] = []

    def set_latency(self, ms: float, jitter_ms: float = 0.0) -> None:
        """Add ``ms`` (+ uniform 0..``jitter_ms``) to every request."""
        with self._lock:
            self._latency, self._jitter = ms / 1000.0, jitter_ms / 1000.0

    def fail_next(self, count: int, status: int = 503) -> None:
        """Answer the next ``count`` requests with ``status`` (429, 500, 502 or 503)."""
        _check_status(status)
        with self._lock:
            self._error_next.extend([status] * count)

    def fail_rate(self, rate: float, status: int = 500, seed: int | None = None) -> None:
        """Answer a seeded-random fraction ``rate`` of requests with ``status``."""
        _check_status(status)
        with self._lock:
            self._error_rate, self._error_status = _check_rate(rate), status
            if seed is not None:
                self._rng = random.Random(seed)

    def reset_next(self, count: int) -> None:
        """Close the next ``count`` connections without answering."""
        with self._lock:
            self._reset_next += count

    def reset_rate(self, rate: float, seed: int | None = None) -> None:
        with self._lock:
            self._reset_rate = _check_rate(rate)
            if seed is not None:
                self._rng = random.Random(seed)

    def slow_next(self, count: int, seconds: float) -> None:
        """Wait ``seconds`` before processing the next ``count`` requests (nothing is applied meanwhile)."""
        with self._lock:
            self._slow_next, self._slow_seconds = self._slow_next + count, seconds

    def slow_all(self, seconds: float) -> None:
        """Wait ``seconds`` before processing every request until ``clear()``."""
        with self._lock:
            self._slow_all, self._slow_seconds = True, seconds

    def stall_after_apply_next(self, count: int, seconds: float) -> None:
        """Execute the next ``count`` requests, then hold each answer ``seconds`` (past the client timeout)."""
        with self._lock:
            self._stall_next, self._stall_seconds = self._stall_next + count, seconds

    def fail_after_apply_next(self, count: int, status: int = 500) -> None:
        """Execute the next ``count`` requests, then answer each with ``status`` (AppSync's own 5xx after the
        resolver ran: the write exists, the answer says it failed)."""
        _check_status(status)
        with self._lock:
            self._fail_after_next.extend([status] * count)

    def answer_next(self, count: int, body: str) -> None:
        """Answer the next ``count`` requests with HTTP 200 and ``body``, executing nothing (e.g. ``{"data":{}}``,
        what AppSync answers when the mutation field was skipped)."""
        with self._lock:
            self._answer_next.extend([body] * count)

    def draw(self) -> Plan:
        """The plan for one request (consumes "next N" budgets)."""
        with self._lock:
            latency = self._latency + (self._rng.uniform(0.0, self._jitter) if self._jitter else 0.0)
            if self._answer_next:
                return Plan(latency, answer=self._answer_next.pop(0))
            if self._error_next:
                return Plan(latency, status=self._error_next.pop(0))
            if self._reset_next:
                self._reset_next -= 1
                return Plan(latency, reset=True)
            if self._error_rate and self._rng.random() < self._error_rate:
                return Plan(latency, status=self._error_status)
            if self._reset_rate and self._rng.random() < self._reset_rate:
                return Plan(latency, reset=True)
            delay = 0.0
            if self._slow_all or self._slow_next:
                delay = self._slow_seconds
                self._slow_next = max(0, self._slow_next - 1)
            stall = 0.0
            if self._stall_next:
                self._stall_next -= 1
                stall = self._stall_seconds
            status_after = self._fail_after_next.pop(0) if self._fail_after_next else None
            if not (latency or delay or stall or status_after):
                return _CLEAN
            return Plan(latency, delay=delay, stall=stall, status_after=status_after)


def _check_status(status: int) -> None:
    if status not in FAULT_STATUSES:
        raise ValueError(f"injected status must be one of {FAULT_STATUSES}, not {status}")


def _check_rate(rate: float) -> float:
    if not 0.0 <= rate <= 1.0:
        raise ValueError(f"rate must be within 0..1, not {rate}")
    return rate
