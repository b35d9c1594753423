"""Account-B credentials: assumed from the execution role, cached, refreshed ahead of expiry, never waited on
past the invocation's deadline.

Split like botocore's ``credentials.py``: ``AssumeRoleFetcher`` makes one AssumeRole call and maps STS's answer
onto the worker's errors (with a diagnosis); ``AssumedRoleCredentials`` owns the refresh policy. What is ours:
- the refresh window is a quarter of the session's real lifetime (at most 15 minutes), and a set is signed
  with until 5% of its lifetime (at most a minute) is left;
- AssumeRole always runs on the client built from the *base* (execution role) credentials, never from the
  account-B credentials it produced (re-assuming from those is the classic warm-container AccessDenied);
- one AssumeRole in flight per container: concurrent sends on the event loop wait for the same call (bounded by
  their deadline), a refresh while the current set is still good runs in the background, and a failure is
  remembered with a growing backoff shared by every caller, so a throttled STS sees a few calls per batch,
  not one per record and attempt;
- a set AppSync called expired is never handed out again.

The STS call itself is blocking (botocore) and runs in a worker thread with its own connect and read timeouts;
the event loop never blocks on it and stops waiting when the time left runs out.
"""

from __future__ import annotations

import asyncio
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import structlog
from botocore.credentials import ReadOnlyCredentials

from worker.errors import AssumeRoleDeniedError, CredentialsUnavailableError, MutationError

if TYPE_CHECKING:
    from botocore.session import Session

log = structlog.get_logger("worker.credentials")

#: Start refreshing with a quarter of the lifetime left (15 minutes of a one-hour session, botocore's default).
ADVISORY_FRACTION = 0.25
ADVISORY_MAX = 900.0
#: Below 5% of the lifetime (at most 60 s) left, a set is not signed with any more.
USABLE_FRACTION = 0.05
USABLE_MAX = 60.0
#: A refused AssumeRole is remembered this long: the records of one batch share one STS answer.
DENIAL_MEMORY_SECONDS = 2.0
#: After a failed call, wait 0.25 s, 0.5 s, 1 s ... (at most 8 s, full jitter above half) before the next one.
BACKOFF_BASE = 0.25
BACKOFF_MAX = 8.0


@dataclass(frozen=True)
class CredentialSet:
    """One consistent key/secret/token triple and what is known about it."""

    frozen: ReadOnlyCredentials
    expiry: float  # epoch seconds
    lifetime: float
    generation: int  # increases with every new set: lets a caller say which set was rejected
    caller_arn: str | None  # arn:aws:sts::<B>:assumed-role/<Role>/<Session>


@dataclass(frozen=True)
class BaseCredentialsReport:
    """Where the execution-role (base) credentials came from, reported at cold start."""

    provider: str | None
    access_key_kind: str  # "temporary (ASIA)", "long-term (AKIA)", "none", "unknown"
    warning: str | None

    def as_log(self) -> dict[str, Any]:
        return {"provider": self.provider, "access_key_kind": self.access_key_kind, "warning": self.warning}


def inspect_base_credentials(
    session: Session, environ: dict[str, str] | None = None
) -> BaseCredentialsReport:
    """Name the provider that won botocore's chain and warn when it is probably not the execution role."""
    import os

    env = os.environ if environ is None else environ
    credentials = session.get_credentials()
    if credentials is None:
        return BaseCredentialsReport(None, "none", "no base credentials found: AssumeRole will fail")
    provider = getattr(credentials, "method", None)
    key = credentials.access_key or ""
    kind = (
        "temporary (ASIA)"
        if key.startswith("ASIA")
        else "long-term (AKIA)"
        if key.startswith("AKIA")
        else "unknown"
    )
    warning = None
    on_lambda = "AWS_LAMBDA_FUNCTION_NAME" in env
    if provider == "env" and key.startswith("AKIA"):
        warning = (
            "long-term access keys in AWS_ACCESS_KEY_ID shadow the execution role: the worker will assume the "
            "account-B role as that IAM user, which the trust policy does not name. Remove the keys from the "
            "environment."
        )
    elif provider == "env" and not on_lambda:
        warning = (
            "credentials come from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY in the environment; they take "
            "precedence over any profile, container or instance role"
        )
    elif provider not in ("env", None) and on_lambda:
        warning = (
            f"on Lambda the execution role arrives through the environment, but provider {provider!r} won"
        )
    return BaseCredentialsReport(provider, kind, warning)


class AssumeRoleFetcher:
    """One ``sts:AssumeRole`` call on the base session's client; errors become the worker's types."""

    def __init__(
        self,
        sts_client: Any,
        *,
        role_arn: str,
        session_name: str,
        duration_seconds: int,
        external_id: str | None = None,
    ) -> None:
        self._sts = sts_client  # built from the base session: never re-created from our own output
        self.args: dict[str, Any] = {
            "RoleArn": role_arn,
            "RoleSessionName": session_name,
            "DurationSeconds": duration_seconds,
        }
        if external_id:
            self.args["ExternalId"] = external_id
        self.calls = 0

    @property
    def role_arn(self) -> str:
        return str(self.args["RoleArn"])

    @property
    def session_name(self) -> str:
        return str(self.args["RoleSessionName"])

    def fetch(self) -> tuple[ReadOnlyCredentials, float, str | None]:
        """(credentials, expiry as epoch seconds, assumed-role ARN), or AssumeRoleDenied/CredentialsUnavailable."""
        from botocore.exceptions import BotoCoreError, ClientError

        self.calls += 1
        try:
            response = self._sts.assume_role(**self.args)
        except ClientError as exc:
            error = exc.response.get("Error", {})
            code, message = error.get("Code", "Unknown"), error.get("Message", str(exc))
            if code in ("AccessDenied", "AccessDeniedException", "ValidationError", "InvalidClientTokenId"):
                from worker.diagnostics import explain_assume_role_denied

                raise AssumeRoleDeniedError(
                    f"{code}: {message}",
                    diagnosis=explain_assume_role_denied(
                        message, self.role_arn, self.session_name, self.args
                    ),
                ) from None
            raise CredentialsUnavailableError(
                f"AssumeRole failed: {code}: {message}", error_type=code
            ) from None
        except BotoCoreError as exc:
            raise CredentialsUnavailableError(f"AssumeRole failed: {exc}") from None
        creds = response["Credentials"]
        expiration = creds["Expiration"]
        if isinstance(expiration, str):
            expiration = datetime.fromisoformat(expiration.replace("Z", "+00:00"))
        if expiration.tzinfo is None:
            expiration = expiration.replace(tzinfo=UTC)
        frozen = ReadOnlyCredentials(creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])
        return frozen, expiration.timestamp(), response.get("AssumedRoleUser", {}).get("Arn")


class AssumedRoleCredentials:
    """The refresh policy around an ``AssumeRoleFetcher``: thread-safe for sync callers, single flight on the loop."""

    def __init__(
        self,
        fetcher: AssumeRoleFetcher,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.fetcher = fetcher
        self._clock = clock
        self._lock = threading.Lock()
        self._current: CredentialSet | None = None
        self._rejected_generation = -1
        self._failure: MutationError | None = None  # the last failed call's error, while backing off
        self._retry_at = 0.0
        self._failures = 0  # consecutive failed calls: the backoff grows with them
        self._inflight: asyncio.Future[CredentialSet] | None = None

    @classmethod
    def assuming(
        cls,
        sts_client: Any,
        *,
        role_arn: str,
        session_name: str,
        duration_seconds: int,
        external_id: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> AssumedRoleCredentials:
        fetcher = AssumeRoleFetcher(
            sts_client,
            role_arn=role_arn,
            session_name=session_name,
            duration_seconds=duration_seconds,
            external_id=external_id,
        )
        return cls(fetcher, clock=clock)

    # --- what callers read ------------------------------------------------------------------------------
    @property
    def role_arn(self) -> str:
        return self.fetcher.role_arn

    @property
    def session_name(self) -> str:
        return self.fetcher.session_name

    @property
    def assume_role_calls(self) -> int:
        return self.fetcher.calls

    @property
    def caller_arn(self) -> str | None:
        return self._current.caller_arn if self._current else None

    @property
    def generation(self) -> int:
        return self._current.generation if self._current else 0

    def seconds_left(self) -> float:
        """Until the current set expires (0 or less: there is none)."""
        return (self._current.expiry if self._current else 0.0) - self._clock()

    def get_frozen_credentials(self) -> ReadOnlyCredentials:
        """Sync callers (the operator's CLI, requests-aws4auth): one consistent set, refreshed first if due."""
        return self.current().frozen

    def current(self) -> CredentialSet:
        """The set to sign with now, assuming or refreshing (blocking) first when due."""
        fresh = self._fresh()
        if fresh is not None:
            return fresh
        with self._lock:
            return self._refresh_if_needed()

    def ready(self) -> CredentialSet | None:
        """The set to sign with if it needs nothing done (None: ``await get()``): the hot path without a
        coroutine."""
        return self._fresh()

    async def get(self, deadline: float | None = None) -> CredentialSet:
        """The set to sign with, without blocking the loop; waits for STS at most until ``deadline`` (monotonic).

        A set inside its refresh window is returned at once while one background call replaces it.
        """
        fresh = self._fresh()
        if fresh is not None:
            return fresh
        usable = self._usable()
        if usable is not None:
            if self._clock() >= self._retry_at:
                self._start_refresh()
            return usable
        if self._failure is not None and self._clock() < self._retry_at:
            raise self._remembered_failure()
        inflight = self._start_refresh()
        timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
        try:
            return await asyncio.wait_for(asyncio.shield(inflight), timeout)
        except TimeoutError:
            raise CredentialsUnavailableError(
                "AssumeRole did not answer within the time left in this invocation; left for redelivery",
                error_type="AssumeRoleTimeout",
            ) from None

    async def replace_rejected(self, generation: int, deadline: float | None = None) -> CredentialSet:
        """AppSync called set ``generation`` expired: never sign with it again, and get a new one.

        Never takes the lock: a background refresh holds it for a whole STS call, and this runs on the loop.
        Two plain attribute writes are enough: rejecting a generation that is no longer current changes nothing.
        """
        if generation > self._rejected_generation:
            self._rejected_generation = generation
            if self._current is not None and self._current.generation == generation:
                self._retry_at = 0.0  # this is new information: try STS now, not after an old backoff
        return await self.get(deadline)

    def force_refresh(self, rejected_generation: int | None = None) -> ReadOnlyCredentials:
        """Sync form of ``replace_rejected`` (a failed call raises; the rejected set is not handed out)."""
        with self._lock:
            if rejected_generation is None or (
                self._current is not None and self._current.generation == rejected_generation
            ):
                self._rejected_generation = self.generation
                self._retry_at = 0.0
            return self._refresh_if_needed().frozen

    # --- policy ------------------------------------------------------------------------------------------
    def _fresh(self) -> CredentialSet | None:
        """The current set if it needs nothing (the hot path: no lock, no call)."""
        return self._current_with_more_left_than(ADVISORY_MAX, ADVISORY_FRACTION)

    def _usable(self) -> CredentialSet | None:
        """The current set if it may still be signed with, refresh due or not."""
        return self._current_with_more_left_than(USABLE_MAX, USABLE_FRACTION)

    def _current_with_more_left_than(self, most: float, fraction: float) -> CredentialSet | None:
        current = self._current
        if (
            current is not None
            and current.generation != self._rejected_generation
            and current.expiry - self._clock() > min(most, current.lifetime * fraction)
        ):
            return current
        return None

    def _start_refresh(self) -> asyncio.Future[CredentialSet]:
        """The one AssumeRole in flight for this loop (started if none is)."""
        if self._inflight is None or self._inflight.done():
            loop = asyncio.get_running_loop()
            self._inflight = loop.run_in_executor(None, self.current)
            self._inflight.add_done_callback(_consume_exception)
        return self._inflight

    def _refresh_if_needed(self) -> CredentialSet:
        """Under the lock: the set to use, calling STS if due and not backing off. Raises only without one."""
        fresh = self._fresh()
        if fresh is not None:
            return fresh  # another thread refreshed while we waited for the lock
        usable = self._usable()
        now = self._clock()
        if now < self._retry_at:
            if usable is not None:
                return usable
            raise self._remembered_failure()
        try:
            return self._assume()
        except (AssumeRoleDeniedError, CredentialsUnavailableError) as exc:
            self._remember(exc)
            if usable is None:
                raise
            log.warning(
                "credential_refresh_failed",
                error_type=exc.error_type,
                reason=exc.reason,
                seconds_left=round(usable.expiry - now, 1),
                retry_in_s=round(self._retry_at - now, 2),
                detail="still signing with the current credentials, which remain valid; will retry",
            )
            return usable

    def _remember(self, exc: MutationError) -> None:
        self._failure = exc
        self._failures += 1
        if isinstance(exc, AssumeRoleDeniedError):
            delay = DENIAL_MEMORY_SECONDS
        else:
            ceiling = min(BACKOFF_MAX, BACKOFF_BASE * 2 ** (self._failures - 1))
            delay = random.uniform(ceiling / 2, ceiling)
        self._retry_at = self._clock() + delay

    def _remembered_failure(self) -> MutationError:
        """A new exception carrying the last call's answer (each caller gets its own, with its own attempts)."""
        failure = self._failure
        assert failure is not None
        wait = max(0.0, self._retry_at - self._clock())
        if isinstance(failure, AssumeRoleDeniedError):
            return AssumeRoleDeniedError(failure.reason, diagnosis=failure.diagnosis)
        return CredentialsUnavailableError(
            f"{failure.reason} (STS is tried again in {wait:.2f} s)", error_type=failure.error_type
        )

    def _assume(self) -> CredentialSet:
        started = self._clock()
        frozen, expiry, caller_arn = self.fetcher.fetch()
        current = CredentialSet(
            frozen=frozen,
            expiry=expiry,
            lifetime=max(1.0, expiry - started),
            generation=self.generation + 1,
            caller_arn=caller_arn,
        )
        self._current = current
        self._failure, self._failures, self._retry_at = None, 0, 0.0
        log.info(
            "assumed_role",
            role_arn=self.role_arn,
            caller_arn=caller_arn,
            session_name=self.session_name,
            expires_in_s=round(expiry - self._clock()),
            assume_role_calls=self.fetcher.calls,
        )
        return current


def _consume_exception(future: asyncio.Future[Any]) -> None:
    """A background refresh's failure is already remembered and logged; do not let asyncio warn about it."""
    if not future.cancelled():
        future.exception()
