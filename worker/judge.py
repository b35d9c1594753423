"""What one answer means: the judgement the worker, ``send``, ``doctor`` and ``replay`` all take from here.

``judge`` is pure. From what was sent (the request, which attempt, whether the message was delivered before)
and what came back (an HTTP answer, or the failure that stopped it on the wire), it returns a ``Verdict``:
applied, already applied, or failed with a transient or permanent error that says whether the mutation may have
run and, for the walls people hit, the likely cause and fix. ``read_answer`` is the half that needs no request
(the HTTP status, the redirect, the GraphQL errors): ``doctor``'s probes use it alone. ``permanent_error_type``
judges a dead letter written before letters carried their verdict.

What the worker *does* with a verdict (refresh credentials after an expired token, back off, dead-letter) is
the client's and the batch's; whether a refused versioned write was superseded needs the record read back
(``worker.synced``, deciding with ``worker.versioning.compare_stored``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

import orjson

from worker.diagnostics import diagnose
from worker.errors import (
    ConditionalCheckFailedError,
    ConnectionFault,
    ExpiredCredentialsError,
    GraphQLValidationError,
    IAMDeniedError,
    MutationError,
    NoEffectError,
    OutcomeUnknownError,
    PermanentError,
    RequestTimeout,
    ResolverError,
    ResolverUnauthorizedError,
    ServerError,
    SigningError,
    ThrottledError,
    TransientError,
    capped,
    redirect_refused,
)
from worker.http11 import ConnectFailed, HttpAnswer
from worker.outcomes import Status

if TYPE_CHECKING:
    from worker.envelope import MutationRequest

#: Resolver error types worth another attempt (DynamoDB and AppSync capacity, internal faults).
#: Capacity refusals: the request was turned away before anything was written (retried; safe to send again).
THROTTLING_ERROR_TYPES = frozenset(
    {
        "DynamoDB:ProvisionedThroughputExceededException",
        "DynamoDB:ThrottlingException",
        "DynamoDB:RequestLimitExceeded",
        "ThrottlingException",
        "TooManyRequestsException",
        "LimitExceededException",
        "RateLimitExceeded",
        "Lambda:TooManyRequestsException",
    }
)
#: Internal faults: worth another attempt, but the write may have happened before the fault (``ServerError``,
#: maybe applied: a create that names no record is not sent again).
INTERNAL_ERROR_TYPES = frozenset(
    {
        "DynamoDB:InternalServerError",
        "DynamoDB:TransactionConflictException",
        "DynamoDB:AmazonDynamoDBException",
        "InternalFailure",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "Lambda:ServiceException",
    }
)
TRANSIENT_ERROR_TYPES = THROTTLING_ERROR_TYPES | INTERNAL_ERROR_TYPES
_EXPIRED_HINTS = ("security token included in the request is expired", "ExpiredToken", "token has expired")


class Caller(NamedTuple):
    """Who signed: what a diagnosis names (the assumed-role ARN AppSync saw, the role, the session name)."""

    caller_arn: str | None
    role_arn: str
    session_name: str


@dataclass(frozen=True, slots=True)
class Verdict:
    status: Status  # APPLIED, ALREADY_APPLIED or FAILED
    data: Any = None  # applied: the mutation field's data
    error: MutationError | None = None  # failed: why, transient or permanent, with its diagnosis
    #: Applied beside errors on nested fields (``@auth`` on a field, a relation's resolver): the raw errors.
    nested_errors: tuple[Any, ...] = ()

    @property
    def transient(self) -> bool:
        return self.error is not None and self.error.retryable

    @property
    def maybe_applied(self) -> bool:
        """Whether the mutation may have run: always once applied; for a failure, what the error says."""
        if self.error is None:
            return True
        return bool(getattr(self.error, "maybe_applied", False)) or isinstance(
            self.error, OutcomeUnknownError
        )


# --- the whole judgement ------------------------------------------------------------------------------------
def judge(
    request: MutationRequest,
    answer: HttpAnswer | BaseException,
    *,
    attempt: int = 1,
    redelivered: bool = False,
    caller: Caller | None = None,
) -> Verdict:
    """The verdict on ``answer`` (or the wire failure in its place) to ``request``'s ``attempt``-th send."""
    error: MutationError | None
    if isinstance(answer, BaseException):
        error = wire_failure(answer)
    else:
        payload, error = read_answer(answer)
        if payload is not None:
            key = request.response_key or request.field
            data = payload.get("data")
            if error is None:
                field = data.get(key) if isinstance(data, dict) else None
                if field is not None:
                    return Verdict(Status.APPLIED, field)
                error = no_effect(request, data)
            elif isinstance(data, dict) and ran_despite_errors(request, data, payload.get("errors")):
                return Verdict(Status.APPLIED, data[key], nested_errors=tuple(_listed(payload["errors"])))
    assert error is not None  # read_answer gives a payload, an error, or both
    if isinstance(error, ConditionalCheckFailedError):
        if counts_as_applied(request, attempt, redelivered):
            return Verdict(Status.ALREADY_APPLIED)
        error = condition_failure(request, error)
    elif error.retryable and getattr(error, "maybe_applied", False) and not request.is_idempotent:
        error = OutcomeUnknownError(
            f"{error.error_type}: {error.reason}; {request.field} has no record id, so sending it again could "
            "create a second record: check account B before replaying it"
        )
    if caller is not None:
        diagnose(error, request.field, caller.caller_arn, caller.role_arn, caller.session_name)
    return Verdict(Status.FAILED, error=error)


def read_answer(answer: HttpAnswer) -> tuple[dict[str, Any] | None, MutationError | None]:
    """An HTTP answer read without knowing the request: the GraphQL payload (None when the answer is not one)
    and the error it carries (None when it carries none). A payload with an error: GraphQL ``errors``."""
    status = answer.status
    if 300 <= status < 400:
        return None, redirect_refused(status, answer.location)
    if status >= 400:
        text = answer.body.decode("utf-8", "replace")
        return None, _http_error(status, errors_of(text), text)
    try:
        payload = _json(answer.body)
    except ValueError:
        text = answer.body.decode("utf-8", "replace")
        return None, ServerError(
            f"HTTP {status}: AppSync sent an answer that is not JSON: {capped(text, 200)}",
            error_type="ProtocolError",
        )
    if not isinstance(payload, dict) or ("data" not in payload and "errors" not in payload):
        text = answer.body.decode("utf-8", "replace")
        return None, ServerError(
            f"HTTP {status}: no data or errors in the answer: {capped(text, 200)}", error_type="ProtocolError"
        )
    errors = payload.get("errors")
    if errors:
        return payload, graphql_errors(_listed(errors))
    return payload, None


def _json(body: bytes) -> Any:
    """orjson (AppSync's numbers fit it: GraphQL ``Int`` is a signed 32-bit integer and ``AWSJSON`` travels as a
    string; GraphQL spec, "Int", and the AWS AppSync Developer Guide, "Scalar types in AWS AppSync"); the standard
    library for what orjson refuses and JSON allows, such as a lone surrogate escape (``"\\ud800"``) that a
    resolver echoed back from an input. (orjson reads an integer beyond 64 bits as a float; AppSync sends none.)
    Raises ValueError only when the body is not JSON at all."""
    try:
        return orjson.loads(body)
    except ValueError:  # orjson.JSONDecodeError is a ValueError
        return json.loads(body.decode("utf-8", "surrogatepass"))


def wire_failure(fault: BaseException) -> MutationError:
    """A send that ended without an answer: timed out, never connected, or dropped after it was written."""
    if isinstance(fault, MutationError):
        return fault
    if isinstance(fault, TimeoutError):
        return RequestTimeout(
            "no answer within the request timeout; the mutation may or may not have been applied"
        )
    if isinstance(fault, ConnectFailed):  # nothing was sent
        return ConnectionFault(f"connection failed: {fault}", maybe_applied=False)
    if isinstance(
        fault, OSError
    ):  # ConnectionDropped and every other socket fault: after the request went out
        return ConnectionFault(f"connection failed: {fault}")
    return PermanentError(f"unexpected {type(fault).__name__}: {fault}", error_type="UnexpectedError")


# --- the request's part -------------------------------------------------------------------------------------
def counts_as_applied(request: MutationRequest, attempt: int = 1, redelivered: bool = False) -> bool:
    """Whether a conditional-check failure proves the requested effect is already there.

    Never when the caller sent a ``condition`` of their own, nor on a versioned write: the refusal may be that
    condition, or the version (``worker.synced`` reads the record back to tell).
    """
    if request.has_condition or request.version is not None:
        return False
    if request.is_create:
        # Amplify creates on attribute_not_exists(<key>) only: the record this create names exists.
        return request.record_key is not None
    if request.is_delete:
        return attempt > 1 or redelivered  # our earlier attempt (or delivery) already removed it
    return False


def condition_failure(
    request: MutationRequest, error: ConditionalCheckFailedError
) -> ConditionalCheckFailedError:
    """The same refusal, with a reason that says what it can mean for this request."""
    fields = request.key_fields
    if request.record_id is None:
        record = f"this {', '.join(fields)}"
    else:
        record = f"{fields[0]} {request.record_id!r}" if len(fields) == 1 else request.record_id
    if request.has_condition and request.is_create:
        meaning = (
            f"the envelope's own condition is false, or a record with {record} already exists; the worker "
            "cannot tell which, so it is reported as neither applied nor already applied"
        )
    elif request.has_condition:
        meaning = f"the envelope's own condition is false, or there is no record with {record}"
    elif request.is_create:
        meaning = f"a record with {record} already exists"
    else:
        meaning = f"there is no record with {record}"
    return ConditionalCheckFailedError(f"{request.field}: the conditional write was refused: {meaning}")


def ran_despite_errors(request: MutationRequest, data: Any, errors: Any) -> bool:
    """An answer whose ``data`` holds the field's (non-null) data and whose every error lies strictly below the
    field (``path`` ``[field, ...]``): a nested field failed, the mutation itself ran. An error on the field
    itself (``$util.appendError``, a pipeline resolver) or without a path says it may not have."""
    key = request.response_key or request.field
    if not isinstance(data, dict) or data.get(key) is None:
        return False
    return all(
        isinstance(e, dict) and isinstance(e.get("path"), list) and len(e["path"]) > 1 and e["path"][0] == key
        for e in _listed(errors)
    )


def no_effect(request: MutationRequest, data: Any) -> NoEffectError:
    """An answer without the field's data and without an error: nothing proves it ran (``@skip``, a null
    resolver)."""
    shown = "no data" if not isinstance(data, dict) else f"data {capped(json.dumps(data), 200)}"
    return NoEffectError(
        f"AppSync answered {shown} and no error for {request.field}: nothing shows the mutation ran, so it is "
        "not reported as applied"
    )


# --- GraphQL and HTTP errors --------------------------------------------------------------------------------
def graphql_errors(errors: list[Any]) -> MutationError:
    """``errors`` in a GraphQL answer: resolver refusals, conditional checks, validation, capacity."""
    first: Mapping[str, Any] = next((e for e in errors if isinstance(e, Mapping)), {"message": str(errors)})
    error_type = str(first.get("errorType") or "")
    message = str(first.get("message") or "")
    if error_type == "Unauthorized":
        return ResolverUnauthorizedError(message)
    if error_type == "DynamoDB:ConditionalCheckFailedException":
        return ConditionalCheckFailedError(message)
    if error_type in THROTTLING_ERROR_TYPES or "Throttl" in error_type:
        return ThrottledError(f"{error_type}: {message}", error_type=error_type)
    if error_type in INTERNAL_ERROR_TYPES:
        return ServerError(f"{error_type}: {message}", error_type=error_type)
    if error_type == "UnauthorizedException":
        return _unauthorized(401, message)
    if not error_type:
        if _refused_before_execution(first):
            return GraphQLValidationError(message)
        return GraphQLValidationError(message, error_type="GraphQLError")
    return ResolverError(message, error_type=error_type)


def _refused_before_execution(error: Mapping[str, Any]) -> bool:
    """An error without ``errorType`` that no field raised: the document or its variables were refused.

    Decided by the error's shape, not its wording. A resolver's error names the field it came from (``path``);
    an error the GraphQL engine raises while validating the document or coercing variables has no path (AppSync:
    ``"path": null`` with graphql-java's "Validation error of type ..." wording; Amplify's simulator and other
    graphql-js servers: no ``path`` key and graphql-js's wording). Either way nothing ran, and the same document
    fails the same way every time.
    """
    return error.get("path") is None


def errors_of(body: str) -> list[dict[str, Any]]:
    """The error objects of an HTTP error answer's body (GraphQL's ``errors``, or one flat AWS error)."""
    try:
        payload = json.loads(body)
    except ValueError:
        return []
    if isinstance(payload, dict):
        errors = payload.get("errors")
        if isinstance(errors, list):
            return [e for e in errors if isinstance(e, dict)]
        if "errorType" in payload or "message" in payload:  # some AWS front doors answer flat
            return [payload]
    return []


def _http_error(status: int, errors: list[dict[str, Any]], body: str) -> MutationError:
    first = errors[0] if errors else {}
    error_type = str(first.get("errorType") or "")
    message = str(first.get("message") or "") or body[:200] or f"HTTP {status}"
    if status == 429 or "Throttl" in error_type or (status < 500 and error_type in THROTTLING_ERROR_TYPES):
        return ThrottledError(
            f"HTTP {status} {error_type}: {message}".strip(), error_type=error_type or "Throttled"
        )
    if status >= 500 or error_type in INTERNAL_ERROR_TYPES:  # the answer failed, maybe after the write
        return ServerError(f"HTTP {status} {error_type}: {message}".strip(), error_type=error_type or None)
    if status in (401, 403) or "Signature" in message:
        return _unauthorized(status, message, error_type)
    return PermanentError(
        f"HTTP {status} {error_type}: {message}".strip(), error_type=error_type or f"HTTP{status}"
    )


def _unauthorized(status: int, message: str, error_type: str = "UnauthorizedException") -> MutationError:
    if error_type == "ExpiredTokenException" or any(h in message for h in _EXPIRED_HINTS):
        return ExpiredCredentialsError(f"HTTP {status} {error_type}: {message}")
    if error_type in (
        "InvalidSignatureException",
        "UnrecognizedClientException",
        "IncompleteSignatureException",
    ):
        return SigningError(f"HTTP {status} {error_type}: {message}", error_type=error_type)
    if "Valid authorization header not provided" in message:
        return SigningError(f"HTTP {status}: {message}", error_type="MissingAuthorization")
    if "not authorized" in message.lower() or "permission denied" in message.lower():
        return IAMDeniedError(f"HTTP {status} {error_type}: {message}")
    return SigningError(f"HTTP {status} {error_type}: {message}", error_type=error_type or f"HTTP{status}")


def _listed(errors: Any) -> list[Any]:
    return errors if isinstance(errors, list) else [errors]


# --- dead letters ------------------------------------------------------------------------------------------
def letter_is_permanent(failure: Mapping[str, str]) -> bool:
    """Whether a dead letter's recorded failure (its ``failure.*`` attributes, unpacked) was judged permanent.

    A letter carries the verdict (``retryable``). One written before letters did is judged from what it
    recorded: its error class when the type names one; else its reason, which says "gave up after delivery N"
    only for a transient failure on its last delivery (a per-answer type such as GraphQLError, HTTP400 or
    MissingAuthorization names no class, and was permanent). No failure recorded (SQS's own redrive) is not
    called permanent.
    """
    verdict = failure.get("retryable")
    if verdict in ("true", "false"):
        return verdict == "false"
    cls = error_class(failure.get("errorType"))
    if cls is not None:
        return not issubclass(cls, TransientError)
    if not failure.get("errorType"):
        return False
    return not failure.get("reason", "").startswith(GAVE_UP)


#: How the reason of a transient failure dead-lettered on its last allowed delivery begins.
GAVE_UP = "gave up after delivery"


def error_class(error_type: str | None) -> type[MutationError] | None:
    """The ``MutationError`` subclass whose ``error_type`` is this one (worker/errors.py is the one place that
    says which error types are transient); None when no class names it."""
    if not error_type:
        return None
    found: dict[str, type[MutationError]] = {}
    pending: list[type[MutationError]] = [MutationError]
    while pending:
        cls = pending.pop()
        found.setdefault(cls.error_type, cls)  # a subclass inheriting its parent's type keeps the parent's
        pending.extend(cls.__subclasses__())
    return found.get(error_type)
