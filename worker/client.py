"""Send one validated mutation: sign, send, classify, retry what is transient within the time left.

One ``MutationClient`` per container: one gql client session over one aiohttp connection pool, shared by
every concurrent send (gql allows gathered executes on one ``AsyncClientSession``). Each send builds its own
tenacity ``AsyncRetrying``: retry state must not be shared between concurrent tasks.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

import structlog
from gql import Client
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    wait_random_exponential,
)
from tenacity.stop import stop_base

from worker.classify import classify_exception
from worker.config import WorkerConfig
from worker.credentials import AssumedRoleCredentials
from worker.diagnostics import diagnose
from worker.envelope import MutationRequest
from worker.errors import (
    ConditionalCheckFailedError,
    ExpiredCredentialsError,
    MutationError,
    OutOfTimeError,
    SigningError,
    TransientError,
)
from worker.transport import AppSyncTransport, FrozenSigV4Authentication, TextGraphQLRequest

APPLIED = "applied"
ALREADY_APPLIED = "already_applied"


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 6
    base_delay: float = 0.1  # full-jitter exponential: uniform(0, base * 2**n), capped
    max_delay: float = 3.0
    #: Keep this much of the Lambda's time for reporting and dead-lettering after the last attempt.
    safety_margin: float = 1.0


@dataclass(frozen=True)
class SendResult:
    status: str  # APPLIED or ALREADY_APPLIED
    field: str
    data: Any
    attempts: int


def counts_as_applied(request: MutationRequest, attempt: int = 1, redelivered: bool = False) -> bool:
    """Whether a conditional-check failure means "already done": the same effect was asked for before."""
    if request.is_create:
        # The idempotency key is the record id: the record with this key exists, so this effect happened.
        return request.idempotency_key is not None and request.idempotency_key == request.record_id
    if request.is_delete:
        return attempt > 1 or redelivered  # our earlier attempt (or delivery) already removed it
    return False


class _StopBeforeDeadline(stop_base):
    """Stop when the next attempt (sleep + a full request timeout + margin) would outlive the deadline."""

    def __init__(self, deadline: float | None, request_timeout: float, margin: float) -> None:
        self.deadline, self.request_timeout, self.margin = deadline, request_timeout, margin

    def __call__(self, retry_state: RetryCallState) -> bool:
        if self.deadline is None:
            return False
        return (
            time.monotonic() + retry_state.upcoming_sleep + self.request_timeout + self.margin
            >= self.deadline
        )


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
        self._client: Client | None = None
        self._session: Any = None
        self._log = structlog.get_logger("worker.client")

    async def connect(self) -> None:
        """Open the connection pool; must run inside the container's one event loop."""
        if self._session is not None:
            return
        auth = FrozenSigV4Authentication(self.credentials, host=self.config.host, region=self.config.region)
        transport = AppSyncTransport(
            self.config.appsync_url,
            auth=auth,
            timeout=self.config.request_timeout,
            max_connections=self.config.max_concurrency,
        )
        self._client = Client(transport=transport, fetch_schema_from_transport=False, execute_timeout=None)
        self._session = await self._client.connect_async(reconnecting=False)

    async def close(self) -> None:
        if self._client is not None and self._session is not None:
            await self._client.close_async()
        self._client, self._session = None, None

    async def send(
        self,
        request: MutationRequest,
        *,
        deadline: float | None = None,
        redelivered: bool = False,
        log: Any = None,
    ) -> SendResult:
        """Apply ``request`` or raise the classified ``MutationError`` (``.attempts`` set)."""
        await self.connect()
        log = (log or self._log).bind(operation=request.field)
        policy = self.retry_policy
        fresh_generation: int | None = None  # the set this send assumed after an expired-token answer
        attempts = 0
        retrying = AsyncRetrying(
            retry=retry_if_exception(lambda e: isinstance(e, TransientError)),
            wait=wait_random_exponential(multiplier=policy.base_delay, max=policy.max_delay),
            stop=stop_after_attempt(policy.max_attempts)
            | _StopBeforeDeadline(deadline, self.config.request_timeout, policy.safety_margin),
            reraise=True,
            sleep=asyncio.sleep,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    attempts = attempt.retry_state.attempt_number
                    if deadline is not None and time.monotonic() + policy.safety_margin >= deadline:
                        raise OutOfTimeError("no time left in this invocation to send; left for redelivery")
                    generation = self.credentials.generation
                    try:
                        data = await self._execute_once(request, log, attempts)
                    except ConditionalCheckFailedError:
                        if counts_as_applied(request, attempts, redelivered):
                            log.info(
                                "mutation_already_applied",
                                attempt=attempts,
                                idempotency_key=request.idempotency_key,
                            )
                            return SendResult(ALREADY_APPLIED, request.field, None, attempts)
                        raise
                    except ExpiredCredentialsError:
                        if generation == fresh_generation:
                            raise SigningError(
                                "AppSync rejected freshly assumed credentials as expired",
                                diagnosis="check the host clock and that STS and AppSync see the same time",
                            ) from None
                        # A failed refresh raises a transient error here: retried, never dead-lettered.
                        await asyncio.get_running_loop().run_in_executor(
                            None, self.credentials.force_refresh, generation
                        )
                        fresh_generation = self.credentials.generation
                        raise
                    return SendResult(APPLIED, request.field, data, attempts)
        except MutationError as exc:
            exc.attempts = attempts
            diagnose(
                exc,
                request.field,
                self.credentials.caller_arn,
                self.credentials.role_arn,
                self.credentials.session_name,
            )
            raise
        raise AssertionError("unreachable: tenacity either returns or re-raises")

    async def _execute_once(self, request: MutationRequest, log: Any, attempt: int) -> Any:
        started = time.perf_counter()
        graphql_request = TextGraphQLRequest(
            request.document, request.query, request.variables, request.operation_name
        )
        try:
            result = await self._session.execute(graphql_request)
        except Exception as raw:  # cancellation (a BaseException) passes through untouched
            error = classify_exception(raw)
            log.info(
                "mutation_attempt",
                attempt=attempt,
                outcome="transient" if error.retryable else "permanent",
                error_type=error.error_type,
                reason=error.reason,
                duration_ms=round((time.perf_counter() - started) * 1000, 1),
            )
            if error is raw:
                raise
            raise error from None
        log.debug(
            "mutation_attempt",
            attempt=attempt,
            outcome="applied",
            duration_ms=round((time.perf_counter() - started) * 1000, 1),
        )
        return result.get(request.field) if isinstance(result, dict) else result
