"""Failure types: one class per cause, each knowing whether a retry can help.

The batch layer only asks two questions of an error: is it worth retrying (``retryable``), and what to tell an
operator (``reason``, ``error_type``, ``diagnosis``). Everything else is detail for the logs.
"""

from __future__ import annotations

#: A reason echoes what it was given (a producer's key names, AppSync's messages): one message must not make
#: a 200 KB log line or DLQ attribute, so every reason is cut here.
MAX_REASON_CHARS = 1000


def capped(text: str, limit: int = MAX_REASON_CHARS) -> str:
    """``text`` cut to ``limit`` characters, saying how much was cut."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... [{len(text) - limit} more characters]"


class MutationError(Exception):
    """Base of every failure the worker reports for one message."""

    retryable: bool = False
    error_type: str = "MutationError"

    def __init__(self, reason: str, *, error_type: str | None = None, diagnosis: str | None = None) -> None:
        reason = capped(reason)
        super().__init__(reason)
        self.reason = reason
        if error_type is not None:
            self.error_type = error_type
        self.diagnosis = diagnosis
        self.attempts = 0  # how many sends were made before giving up (set by the client)

    def __str__(self) -> str:
        return f"{self.error_type}: {self.reason}" + (f" | {self.diagnosis}" if self.diagnosis else "")


# --- permanent: retrying cannot change the answer --------------------------------------------------------
class PermanentError(MutationError):
    error_type = "Permanent"


class EnvelopeError(PermanentError):
    """The message is not a valid mutation envelope (which field, what was expected)."""

    error_type = "InvalidEnvelope"


class NotAllowedError(PermanentError):
    """The message asks for a mutation field outside the worker's allow-list; refused before any network call."""

    error_type = "MutationNotAllowed"


class GraphQLValidationError(PermanentError):
    error_type = "ValidationError"


class ResolverUnauthorizedError(PermanentError):
    """Amplify's resolver refused the caller (HTTP 200, errorType Unauthorized): custom-roles.json."""

    error_type = "Unauthorized"


class IAMDeniedError(PermanentError):
    """AppSync's IAM check refused the request: the role's identity policy lacks appsync:GraphQL on the field."""

    error_type = "IAMDenied"


class SigningError(PermanentError):
    """AppSync refused the signature or the credentials themselves (not expiry)."""

    error_type = "SignatureRejected"


class AssumeRoleDeniedError(PermanentError):
    """STS refused AssumeRole: trust policy, session name, external id or the execution role's own policy."""

    error_type = "AssumeRoleDenied"


class ConditionalCheckFailedError(PermanentError):
    """DynamoDB's condition failed: a duplicate create, or an update/delete of a missing item."""

    error_type = "DynamoDB:ConditionalCheckFailedException"


class ResolverError(PermanentError):
    """Any other error a resolver returned."""


class NoEffectError(PermanentError):
    """AppSync answered without the mutation field's data and without an error: nothing proves it ran."""

    error_type = "NoEffect"


class OutcomeUnknownError(PermanentError):
    """No answer for a create that has no record id: retrying could write it twice, so it is not retried."""

    error_type = "OutcomeUnknown"


class ProducerRefusedError(PermanentError):
    """The message came from a producer the configuration does not name; refused before anything is sent."""

    error_type = "ProducerRefused"


class RedirectRefusedError(PermanentError):
    """The endpoint answered 3xx. Signed requests never follow one: the session token and the body would go to
    the new location. The reason names it; fix ``APPSYNC_URL`` if the move is genuine."""

    error_type = "RedirectRefused"


def redirect_refused(status: int, location: str) -> RedirectRefusedError:
    """The one wording of a refused redirect, for the worker's transport and the operator's."""
    return RedirectRefusedError(
        f"HTTP {status} redirect to {location or '(no Location header)'} not followed: a signed request (and its "
        "session token) goes only to APPSYNC_URL; if the API moved, set APPSYNC_URL to the new endpoint"
    )


# --- transient: another attempt may succeed ---------------------------------------------------------------
class TransientError(MutationError):
    retryable = True
    error_type = "Transient"
    #: The request may have reached AppSync and run: only an idempotent mutation may be sent again.
    maybe_applied = False


class ThrottledError(TransientError):
    error_type = "Throttled"


class ServerError(TransientError):
    """HTTP 5xx (or a protocol fault): the request may have run before the answer failed."""

    error_type = "ServerError"
    maybe_applied = True


class ConnectionFault(TransientError):
    error_type = "ConnectionFailed"

    def __init__(self, reason: str, *, maybe_applied: bool = True, error_type: str | None = None) -> None:
        super().__init__(reason, error_type=error_type)
        self.maybe_applied = maybe_applied


class RequestTimeout(TransientError):
    """No answer in time. The mutation may have been applied: idempotency keys make the retry safe."""

    error_type = "Timeout"
    maybe_applied = True


class ExpiredCredentialsError(TransientError):
    """AppSync saw an expired or no-longer-valid token: refresh the credentials and retry once."""

    error_type = "ExpiredToken"


class CredentialsUnavailableError(TransientError):
    """AssumeRole failed for a reason that may pass (throttling, network) and no valid credentials are left."""

    error_type = "CredentialsUnavailable"


class WorkerBugError(TransientError):
    """An exception the worker did not expect: left for redelivery (a fix may be deployed meanwhile), and
    dead-lettered with its reason on the last allowed delivery like any other transient failure."""

    error_type = "WorkerBug"


class OutOfTimeError(TransientError):
    """The Lambda's remaining time does not allow another attempt: leave the message for redelivery."""

    error_type = "OutOfTime"
