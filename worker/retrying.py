"""The retries after a send's first transient failure, by tenacity: imported on the first retry only (the
common send takes one attempt, and tenacity's import is 3-4 ms of cold start)."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    wait_random_exponential,
)
from tenacity.stop import stop_base

from worker.errors import TransientError

if TYPE_CHECKING:
    from worker.client import RetryPolicy


class StopBeforeDeadline(stop_base):
    """Stop when the next attempt would start (after its sleep) with less than the minimum time left."""

    def __init__(self, deadline: float | None, min_attempt: float) -> None:
        self.deadline, self.min_attempt = deadline, min_attempt

    def __call__(self, retry_state: RetryCallState) -> bool:
        if self.deadline is None:
            return False
        return time.monotonic() + retry_state.upcoming_sleep + self.min_attempt >= self.deadline


def retries(policy: RetryPolicy, deadline: float | None) -> AsyncRetrying:
    """Attempts 2.. of one send (a fresh ``AsyncRetrying`` each: retry state is never shared between sends);
    attempt n of these is the send's n+1st, with the same full-jitter backoff one step on."""
    return AsyncRetrying(
        retry=retry_if_exception(lambda e: isinstance(e, TransientError)),
        wait=wait_random_exponential(multiplier=policy.base_delay * 2, max=policy.max_delay),
        stop=stop_after_attempt(policy.max_attempts - 1)
        | StopBeforeDeadline(deadline, policy.min_attempt_seconds),
        reraise=True,
        sleep=asyncio.sleep,
    )
