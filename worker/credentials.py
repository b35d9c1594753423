"""Account-B credentials: assumed once per lifetime from the execution role, cached, refreshed ahead of expiry.

Modelled on botocore's ``RefreshableCredentials``, with three differences that matter here:
- the refresh window scales with the session's real lifetime (botocore's fixed 15/10 minutes would refresh a
  15-minute session on every read), and old credentials are used until 5% of their lifetime is left;
- AssumeRole always runs on a client built from the *base* (execution role) credentials, never from the
  account-B credentials it produced: re-assuming from those is the classic warm-container AccessDenied;
- a failed refresh while the old credentials are still valid is logged and survived, and retried later.

Callers sign with ``get_frozen_credentials()``: one consistent key/secret/token triple per request.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import structlog
from botocore.credentials import ReadOnlyCredentials

from worker.errors import AssumeRoleDeniedError, CredentialsUnavailableError

if TYPE_CHECKING:
    from botocore.session import Session

log = structlog.get_logger("worker.credentials")

#: Start refreshing with a quarter of the lifetime left (15 minutes of a one-hour session, botocore's default).
ADVISORY_FRACTION = 0.25
ADVISORY_MAX = 900.0
#: A refused AssumeRole is remembered this long: the records of one batch share one STS answer.
DENIAL_MEMORY_SECONDS = 2.0
#: After a failed refresh, wait this share of the usable time left before trying again.
RETRY_FRACTION = 0.1


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


class AssumedRoleCredentials:
    """Thread-safe, lazily fetched, self-refreshing credentials for the account-B role."""

    method = "assume-role"

    def __init__(
        self,
        sts_client: Any,
        *,
        role_arn: str,
        session_name: str,
        duration_seconds: int,
        external_id: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._sts = sts_client  # built from the base session: never re-created from our own output
        self._args: dict[str, Any] = {
            "RoleArn": role_arn,
            "RoleSessionName": session_name,
            "DurationSeconds": duration_seconds,
        }
        if external_id:
            self._args["ExternalId"] = external_id
        self._clock = clock
        self._lock = threading.Lock()
        self._frozen: ReadOnlyCredentials | None = None
        self._expiry = 0.0
        self._lifetime = float(duration_seconds)
        self._next_attempt = 0.0
        self._denial: AssumeRoleDeniedError | None = None
        self._denied_until = 0.0
        self.assume_role_calls = 0
        self._generation = 0  # bumped only when a new set arrives
        self._rejected_generation = -1  # a set AppSync called expired is never handed out again
        self.caller_arn: str | None = None  # arn:aws:sts::<B>:assumed-role/<Role>/<Session>

    @property
    def role_arn(self) -> str:
        return str(self._args["RoleArn"])

    @property
    def session_name(self) -> str:
        return str(self._args["RoleSessionName"])

    @property
    def expiry(self) -> float:
        return self._expiry

    def seconds_left(self) -> float:
        return self._expiry - self._clock()

    def get_frozen_credentials(self) -> ReadOnlyCredentials:
        """One consistent credential set; refreshes first when inside the refresh windows."""
        frozen = self._frozen
        if (
            frozen is not None
            and self._rejected_generation != self._generation
            and self.seconds_left() > self._advisory_window()
        ):
            return frozen
        with self._lock:
            self._refresh_if_needed()
            assert self._frozen is not None
            return self._frozen

    @property
    def generation(self) -> int:
        """Increases with every new credential set; lets a caller say which set was rejected."""
        return self._generation

    def force_refresh(self, rejected_generation: int | None = None) -> ReadOnlyCredentials:
        """Replace the set AppSync rejected as expired, unless another task already replaced it.

        The rejected set is never handed out again: if this AssumeRole fails (throttled), the caller gets a
        transient error now and the next read tries again, instead of signing with a set known to be dead.
        """
        with self._lock:
            if rejected_generation is None or rejected_generation == self._generation:
                self._rejected_generation = self._generation
                self._assume()
            assert self._frozen is not None
            return self._frozen

    # --- internals -----------------------------------------------------------------------------------------
    def _advisory_window(self) -> float:
        return min(ADVISORY_MAX, self._lifetime * ADVISORY_FRACTION)

    def _usable_floor(self) -> float:
        """Below this many seconds left, old credentials are not worth signing with any more."""
        return min(60.0, self._lifetime * 0.05)

    def _refresh_if_needed(self) -> None:
        left = self.seconds_left()
        if (
            self._frozen is not None
            and self._rejected_generation != self._generation
            and left > self._advisory_window()
        ):
            return  # another thread refreshed while we waited for the lock
        still_usable = (
            self._frozen is not None
            and self._rejected_generation != self._generation
            and left > self._usable_floor()
        )
        if still_usable and self._clock() < self._next_attempt:
            return  # a refresh just failed; keep signing with the valid credentials for now
        if not still_usable and self._denial is not None and self._clock() < self._denied_until:
            # STS just refused: say so again without another call, so a batch does not hammer STS.
            raise AssumeRoleDeniedError(self._denial.reason, diagnosis=self._denial.diagnosis)
        try:
            self._assume()
        except AssumeRoleDeniedError as exc:
            self._denial, self._denied_until = exc, self._clock() + DENIAL_MEMORY_SECONDS
            if not still_usable:
                raise
            self._log_survived(exc, left)
        except CredentialsUnavailableError as exc:
            if not still_usable:
                raise
            self._log_survived(exc, left)

    def _log_survived(self, exc: AssumeRoleDeniedError | CredentialsUnavailableError, left: float) -> None:
        self._next_attempt = self._clock() + max(0.5, (left - self._usable_floor()) * RETRY_FRACTION)
        log.warning(
            "credential_refresh_failed",
            error_type=exc.error_type,
            reason=exc.reason,
            seconds_left=round(left, 1),
            detail="still signing with the current credentials, which remain valid; will retry",
        )

    def _assume(self) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        started = self._clock()
        self.assume_role_calls += 1
        try:
            response = self._sts.assume_role(**self._args)
        except ClientError as exc:
            error = exc.response.get("Error", {})
            code, message = error.get("Code", "Unknown"), error.get("Message", str(exc))
            if code in ("AccessDenied", "AccessDeniedException", "ValidationError", "InvalidClientTokenId"):
                from worker.diagnostics import explain_assume_role_denied

                raise AssumeRoleDeniedError(
                    f"{code}: {message}",
                    diagnosis=explain_assume_role_denied(
                        message, self.role_arn, self.session_name, self._args
                    ),
                ) from None
            raise CredentialsUnavailableError(
                f"AssumeRole failed: {code}: {message}", error_type=code
            ) from None
        except BotoCoreError as exc:
            raise CredentialsUnavailableError(f"AssumeRole failed: {exc}") from None
        creds = response["Credentials"]
        self._frozen = ReadOnlyCredentials(
            creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"]
        )
        expiration = creds["Expiration"]
        if isinstance(expiration, str):
            expiration = datetime.fromisoformat(expiration.replace("Z", "+00:00"))
        if expiration.tzinfo is None:
            expiration = expiration.replace(tzinfo=UTC)
        self._expiry = expiration.timestamp()
        self._lifetime = max(1.0, self._expiry - started)
        self._generation += 1
        self._next_attempt = 0.0
        self._denial = None
        self.caller_arn = response.get("AssumedRoleUser", {}).get("Arn")
        log.info(
            "assumed_role",
            role_arn=self.role_arn,
            caller_arn=self.caller_arn,
            session_name=self.session_name,
            expires_in_s=round(self._expiry - self._clock()),
            assume_role_calls=self.assume_role_calls,
        )
