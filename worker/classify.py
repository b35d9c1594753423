"""Classify every way a send can end into one ``MutationError`` type: transient, or permanent with a reason."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from typing import Any

from worker.errors import (
    ConditionalCheckFailedError,
    ConnectionFault,
    ExpiredCredentialsError,
    GraphQLValidationError,
    IAMDeniedError,
    MutationError,
    NoEffectError,
    PermanentError,
    RequestTimeout,
    ResolverError,
    ResolverUnauthorizedError,
    ServerError,
    SigningError,
    ThrottledError,
    redirect_refused,
)

# gql's exception types, raised by the worker's own transport under the same names (gql is not imported)
from worker.transport import (
    AppSyncEmptyAnswer,
    AppSyncHTTPError,
    AppSyncRedirect,
    TransportConnectionFailed,
    TransportProtocolError,
    TransportQueryError,
    TransportServerError,
    errors_of,
)

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


def classify_exception(exc: BaseException) -> MutationError:
    """Map a transport-level exception (HTTP status, network, timeout) onto the error types."""
    if isinstance(exc, MutationError):
        return exc
    if isinstance(exc, AppSyncHTTPError):
        return _classify_http(exc)
    if isinstance(exc, AppSyncRedirect):
        return redirect_refused(exc.status, exc.location)
    if isinstance(exc, AppSyncEmptyAnswer):
        return NoEffectError(
            "AppSync answered no data and no error: nothing shows the mutation ran, so it is not reported as "
            "applied"
        )
    if isinstance(exc, TransportQueryError):
        return classify_graphql_errors(exc.errors or [{"message": str(exc)}])
    if isinstance(exc, asyncio.TimeoutError | TimeoutError):
        return RequestTimeout(
            "no response within the request timeout; the mutation may or may not have been applied"
        )
    if isinstance(exc, TransportConnectionFailed):
        cause = exc.__cause__
        if isinstance(cause, asyncio.TimeoutError | TimeoutError):
            return RequestTimeout(
                "no response within the request timeout; it may or may not have been applied"
            )
        import aiohttp

        # A connection that was never made carried no request; any other fault may have come after it ran.
        never_sent = isinstance(cause, aiohttp.ClientConnectorError)
        return ConnectionFault(f"connection failed: {exc}", maybe_applied=not never_sent)
    if isinstance(exc, TransportServerError):
        code = exc.code or 0
        if code == 429:
            return ThrottledError(f"HTTP 429: {exc}")
        if code >= 500:
            return ServerError(f"HTTP {code}: {exc}")
        return PermanentError(f"HTTP {code}: {exc}", error_type=f"HTTP{code}")
    if isinstance(exc, TransportProtocolError):
        return ServerError(f"AppSync sent a response that is not GraphQL: {exc}", error_type="ProtocolError")
    if isinstance(exc, OSError):
        return ConnectionFault(f"network error: {exc}")
    return PermanentError(f"unexpected {type(exc).__name__}: {exc}", error_type="UnexpectedError")


def classify_graphql_errors(errors: list[Any]) -> MutationError:
    """HTTP 200 with ``errors``: resolver refusals, conditional checks, validation, capacity."""
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
        return _classify_unauthorized(401, message)
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


def classify_response(status: int, body: str, location: str | None = None) -> MutationError | None:
    """Any transport's view of one HTTP answer: None for success, else the classified error.

    The worker's aiohttp transport and the operator's ``send`` (requests) both come through here, so a
    response means the same thing whichever path sent it. A 3xx (``location``: its ``Location`` header) is a
    permanent failure: signed requests never follow a redirect.
    """
    if 300 <= status < 400:
        return redirect_refused(status, location or "")
    if status >= 400:
        return _classify_http(AppSyncHTTPError(status, errors_of(body), body))
    try:
        payload = json.loads(body)
    except ValueError:
        return ServerError(
            f"HTTP {status}: AppSync sent a response that is not JSON", error_type="ProtocolError"
        )
    if not isinstance(payload, dict) or ("data" not in payload and "errors" not in payload):
        return ServerError(f"HTTP {status}: no data or errors in the response", error_type="ProtocolError")
    errors = payload.get("errors")
    return classify_graphql_errors(errors) if errors else None


def _classify_http(exc: AppSyncHTTPError) -> MutationError:
    status, error_type, message = exc.status, exc.error_type, exc.message
    if status == 429 or "Throttl" in error_type or (status < 500 and error_type in THROTTLING_ERROR_TYPES):
        return ThrottledError(
            f"HTTP {status} {error_type}: {message}".strip(), error_type=error_type or "Throttled"
        )
    if status >= 500 or error_type in INTERNAL_ERROR_TYPES:  # the answer failed, maybe after the write
        return ServerError(f"HTTP {status} {error_type}: {message}".strip(), error_type=error_type or None)
    if status in (401, 403) or "Signature" in message:
        return _classify_unauthorized(status, message, error_type)
    return PermanentError(
        f"HTTP {status} {error_type}: {message}".strip(), error_type=error_type or f"HTTP{status}"
    )


def _classify_unauthorized(
    status: int, message: str, error_type: str = "UnauthorizedException"
) -> MutationError:
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
