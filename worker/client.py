"""Send one validated mutation: sign, send, classify, retry what is transient within the time left.

One ``MutationClient`` per container: one ``AppSyncTransport`` (one keep-alive connection pool,
``worker.http11``), shared by every concurrent send. What each answer means is ``worker.judge``'s verdict. A send
that needs a retry builds its own tenacity ``AsyncRetrying``: retry state must not be shared between concurrent
tasks.
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass
from typing import Any

from worker.config import DEFAULT_MAX_ATTEMPTS, NO_RECORD_RESERVE_SECONDS, WorkerConfig
from worker.credentials import AssumedRoleCredentials
from worker.envelope import MutationRequest, input_values
from worker.errors import (
    ExpiredCredentialsError,
    MutationError,
    OutOfTimeError,
    SigningError,
    TransientError,
    capped,
)
from worker.judge import Caller, judge, read_answer, wire_failure
from worker.logs import bound_logger, masked
from worker.outcomes import Status
from worker.transport import AppSyncTransport, payload

APPLIED = Status.APPLIED
ALREADY_APPLIED = Status.ALREADY_APPLIED
SUPERSEDED = Status.SUPERSEDED


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    base_delay: float = 0.1  # full-jitter exponential: uniform(0, base * 2**n), capped
    max_delay: float = 3.0
    #: An attempt is not started with less time than this before the deadline (it could only time out).
    min_attempt_seconds: float = 0.2
    #: A create that names no record is only sent with its whole timeout and this much more still left.
    dead_letter_reserve_seconds: float = NO_RECORD_RESERVE_SECONDS


@dataclass(frozen=True)
class SendResult:
    status: Status  # APPLIED, ALREADY_APPLIED or SUPERSEDED
    field: str
    data: Any
    attempts: int
    #: An upsert: "created" or "updated"; None for every other mutation.
    upsert: str | None = None


@dataclass
class _SendState:
    attempts: int = 0
    #: The credential set this send assumed after an expired-token answer (a second such answer is the clock).
    fresh_generation: int | None = None


class MutationClient:
    def __init__(
        self,
        config: WorkerConfig,
        credentials: AssumedRoleCredentials,
        *,
        retry_policy: RetryPolicy | None = None,
    ) -> None:
        self.config = config
        self.credentials = credentials
        self.retry_policy = retry_policy or RetryPolicy()
        self._transport: AppSyncTransport | None = None
        self._log = bound_logger("worker.client")
        #: (credential generation, who signs with it): ``_caller``'s cache.
        self._caller_of: tuple[int, Caller] | None = None

    async def connect(self) -> None:
        """Make the transport (connections open on first use, on the container's one event loop)."""
        if self._transport is None:
            self._transport = AppSyncTransport(
                self.config.appsync_url,
                host=self.config.host,
                region=self.config.region,
                max_connections=self.config.max_concurrency,
            )

    async def close(self) -> None:
        if self._transport is not None:
            transport, self._transport = self._transport, None
            await transport.close()

    async def send(
        self,
        request: MutationRequest,
        *,
        deadline: float | None = None,
        redelivered: bool = False,
    ) -> SendResult:
        """Apply ``request`` or raise the classified ``MutationError`` (``.attempts`` set).

        ``deadline`` (``time.monotonic()``) bounds everything: each attempt's timeout, the wait for credentials,
        the retries. A create without a record id is not sent again after an answer that may have been lost.
        An upsert or a versioned write goes through ``worker.synced`` (imported only then).
        """
        if request.upsert or request.version is not None:
            from worker.synced import send_synced

            return await send_synced(self, request, deadline=deadline, redelivered=redelivered)
        return await self.send_one(request, deadline=deadline, redelivered=redelivered)

    async def send_one(
        self,
        request: MutationRequest,
        *,
        deadline: float | None = None,
        redelivered: bool = False,
    ) -> SendResult:
        """One mutation as it is, with retries: what ``send`` does for every plain mutation."""
        if self._transport is None:
            await self.connect()
        policy = self.retry_policy
        state = _SendState()
        try:
            try:
                return await self._attempt(request, 1, deadline, redelivered, state)
            except TransientError as error:
                # One attempt is the common case, and it builds no retry machinery: tenacity takes the retries.
                first = error
            delay = random.uniform(0, min(policy.max_delay, policy.base_delay))
            if policy.max_attempts <= 1 or (
                deadline is not None and time.monotonic() + delay + policy.min_attempt_seconds >= deadline
            ):
                raise first
            await asyncio.sleep(delay)
            from worker.retrying import retries  # tenacity loads on the first retry, not at cold start

            async for attempt in retries(policy, deadline):
                with attempt:
                    number = attempt.retry_state.attempt_number + 1
                    return await self._attempt(request, number, deadline, redelivered, state)
        except MutationError as exc:
            exc.attempts = state.attempts
            raise
        raise AssertionError("unreachable: tenacity either returns or re-raises")

    async def _attempt(
        self,
        request: MutationRequest,
        number: int,
        deadline: float | None,
        redelivered: bool,
        state: _SendState,
    ) -> SendResult:
        """One attempt: credentials, the time it may take, the request, and ``judge``'s verdict on its answer."""
        state.attempts = number
        credentials = self.credentials.ready() or await self.credentials.get(deadline)
        timeout = self._attempt_timeout(deadline, request)
        transport = self._transport
        assert transport is not None
        started = time.perf_counter()
        answer: Any
        try:
            answer = await transport.post(credentials.frozen, payload_of(request), timeout)
        except Exception as fault:  # timed out or failed on the wire; cancellation passes through untouched
            answer = fault
        verdict = judge(request, answer, attempt=number, redelivered=redelivered, caller=self._caller())
        if verdict.status is APPLIED:
            if verdict.nested_errors:
                # The field's data came back next to errors on nested fields (@auth on a field, a relation's
                # resolver): the mutation ran. Applied; the errors are logged without their messages (inputs).
                self._log.warning(
                    "mutation_partial_answer",
                    operation=request.field,
                    attempt=number,
                    errors=[_error_summary(e) for e in verdict.nested_errors][:5],
                )
            return SendResult(APPLIED, request.field, verdict.data, number)
        if verdict.status is ALREADY_APPLIED:
            self._log.info(  # no key: a custom key is an input value (an email, an order number)
                "mutation_already_applied",
                operation=request.field,
                attempt=number,
                id_source=request.id_source,
            )
            return SendResult(ALREADY_APPLIED, request.field, None, number)
        error = verdict.error
        assert error is not None
        self._log.info(
            "mutation_attempt",
            operation=request.field,
            attempt=number,
            outcome="transient" if error.retryable else "permanent",
            error_type=error.error_type,
            reason=masked(error.reason, input_values(request)),
            duration_ms=round((time.perf_counter() - started) * 1000, 1),
        )
        if isinstance(error, ExpiredCredentialsError):
            if credentials.generation == state.fresh_generation:
                raise SigningError(
                    "AppSync rejected freshly assumed credentials as expired",
                    diagnosis="check the host clock and that STS and AppSync see the same time",
                )
            # A failed refresh raises a transient error here: retried, never dead-lettered.
            state.fresh_generation = (
                await self.credentials.replace_rejected(credentials.generation, deadline)
            ).generation
        raise error

    def _caller(self) -> Caller:
        """Who signs now, for a failure's diagnosis: built once per credential set, not per attempt."""
        credentials = self.credentials
        generation = credentials.generation
        cached = self._caller_of
        if cached is None or cached[0] != generation:
            cached = self._caller_of = (
                generation,
                Caller(credentials.caller_arn, credentials.role_arn, credentials.session_name),
            )
        return cached[1]

    async def read(self, query: str, *, deadline: float | None = None) -> tuple[Any, int]:
        """A query (the read-back of a refused versioned write): its ``data`` and the requests it took, or the
        classified error (``.attempts`` set).

        Signed and bounded like a mutation; transient failures are tried again (a read changes nothing) within
        ``MAX_ATTEMPTS`` and the time left.
        """
        await self.connect()
        assert self._transport is not None
        policy = self.retry_policy
        fresh: int | None = None
        attempt = 0
        while True:
            attempt += 1
            credentials = await self.credentials.get(deadline)
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left < policy.min_attempt_seconds:
                raise OutOfTimeError("no time left in this invocation to read the record back")
            timeout = self.config.request_timeout if left is None else min(self.config.request_timeout, left)
            try:
                answer = await self._transport.post(credentials.frozen, payload(query, None, None), timeout)
                answered, error = read_answer(answer)
            except Exception as fault:  # timed out or failed on the wire
                answered, error = None, wire_failure(fault)
            if error is None:
                assert answered is not None  # read_answer: a payload, an error, or both
                return answered.get("data"), attempt
            error.attempts = attempt
            if isinstance(error, ExpiredCredentialsError) and credentials.generation != fresh:
                fresh = (await self.credentials.replace_rejected(credentials.generation, deadline)).generation
            elif not error.retryable:
                raise error
            delay = random.uniform(0, min(policy.max_delay, policy.base_delay * 2**attempt))
            if attempt >= policy.max_attempts or (
                deadline is not None and time.monotonic() + delay + policy.min_attempt_seconds >= deadline
            ):
                raise error
            await asyncio.sleep(delay)

    def _attempt_timeout(self, deadline: float | None, request: MutationRequest) -> float:
        """The request timeout, cut to the time left; no attempt starts that could only time out.

        A create that names no record is never cut short: a lost answer would leave it neither safe to send
        again nor known to be applied. It is sent only with its whole timeout and the time to dead-letter it
        still left, else not at all (left for redelivery: nothing was sent).
        """
        if deadline is None:
            return self.config.request_timeout
        left = deadline - time.monotonic()
        if not request.is_idempotent:
            if left < self.config.request_timeout + self.retry_policy.dead_letter_reserve_seconds:
                raise OutOfTimeError(
                    f"{request.field} names no record, so it is only sent with its whole "
                    f"{self.config.request_timeout:g} s request timeout and "
                    f"{self.retry_policy.dead_letter_reserve_seconds:g} s to dead-letter it still left; "
                    "left for redelivery, nothing sent"
                )
            return self.config.request_timeout
        if left < self.retry_policy.min_attempt_seconds:
            raise OutOfTimeError("no time left in this invocation to send; left for redelivery")
        return min(self.config.request_timeout, left)


def payload_of(request: MutationRequest) -> bytes:
    """The request's body, as gql's transport sent it."""
    return payload(request.query, request.variables, request.operation_name)


def _error_summary(error: Any) -> dict[str, Any]:
    if not isinstance(error, dict):
        return {}
    return {"errorType": capped(str(error.get("errorType") or ""), 80), "path": error.get("path")}
