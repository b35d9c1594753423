"""The HTTP answers the stand-in gives, shaped like AppSync's, with where each shape comes from.

Sources (searched, not invented; "assumed" marks what no public source pinned down):
- [KC] AWS knowledge-center "aws-appsync-graphql-request-unauth-error": 401 when AppSync or the authorization
  mode refuses the request (missing/invalid credentials); 200 + ``errorType: Unauthorized`` "Not Authorized to
  access X on type Y" when a resolver refuses.
- [GOH81] graphql/graphql-over-http#81, posted by the AppSync team: empty body -> 400
  ``MalformedHttpRequestException`` "Request body is empty."; unparseable body -> 400 "Unable to parse GraphQL
  query."; validation errors -> 200 ``{"data": null, "errors": [{"path": null, "locations": [..],
  "message": "Validation error of type FieldUndefined: ..."}]}``.
- [AJS4373] amplify-js#4373: ``{"errors":[{"errorType":"UnauthorizedException","message":"Valid authorization
  header not provided."}]}`` with HTTP 401.
- [AJS344] aws-mobile-appsync-sdk-js#344: a bad signature is HTTP 403 ``InvalidSignatureException``.
- [AJS3447] amplify-js#3447: 403 ``UnrecognizedClientException`` "The security token included in the request
  is invalid."
- [AJS7906] amplify-js#7906: ``IncompleteSignatureException`` "Authorization header requires 'Credential'
  parameter. ..." (status not shown: 400 assumed, AWS's common-error status for IncompleteSignature).
- [AJS11480] amplify-js#11480 / #5869: a request dated more than 5 minutes off is refused with HTTP 400
  ``BadRequestException`` "Signature expired: ..." (message text is AWS's usual SigV4 wording).
- [ACA2457] amplify-category-api#2457 and graphql-python/gql#239: an IAM policy without ``appsync:GraphQL`` on
  the field gives ``UnauthorizedException`` "Permission denied" (request-level, so 401 per [KC]).
- [COMM273] aws-appsync-community#273 / #406: variable coercion messages ("Variable 'input' has coerced Null
  value for NonNull type 'String!'", "The variables input contains a field that is not defined for input
  object type 'X' ").
- Expired session token: AWS's ``ExpiredTokenException`` "The security token included in the request is
  expired" (wording verified across AWS services; AppSync's status is assumed 403 like other JSON services).
- Throttling (429 ``TooManyRequestsException``), 500/502/503 bodies, the multiple-operations error and the
  subscription-over-POST refusal: assumed, no public source shows AppSync's throttling answer on the GraphQL
  endpoint.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any

JSON_TYPE = "application/json; charset=UTF-8"


@dataclass(frozen=True)
class Answer:
    """One HTTP response: status, body and headers (``x-amzn-ErrorType`` for request-level refusals)."""

    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    outcome: str = "ok"  # the stats bucket: ok, graphql_error, unauthorized, signature, fault_429, ...
    error_type: str | None = None


class Refusal(Exception):
    """A request-level refusal (no GraphQL execution): ``{"errors": [{"errorType", "message"}]}``."""

    def __init__(self, status: int, error_type: str, message: str, outcome: str) -> None:
        super().__init__(f"{status} {error_type}: {message}")
        self.status = status
        self.error_type = error_type
        self.message = message
        self.outcome = outcome

    def answer(self) -> Answer:
        body = {"errors": [{"errorType": self.error_type, "message": self.message}]}
        headers = {"x-amzn-ErrorType": f"{self.error_type}:"}
        return Answer(self.status, dumps(body), headers, self.outcome, self.error_type)


def dumps(payload: Any) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode("utf-8")


def request_id() -> str:
    return str(uuid.uuid4())


# --- authentication (SigV4) -----------------------------------------------------------------------------
def missing_authorization() -> Refusal:  # [AJS4373] verified wording and status
    return Refusal(
        401, "UnauthorizedException", "Valid authorization header not provided.", "unauthenticated"
    )


def iam_not_enabled(default_mode: str) -> Refusal:
    """A SigV4-signed request to an API whose authorization modes lack AWS_IAM: AppSync never gets to IAM.

    With Cognito user pools as the default mode the Authorization header is read as a JWT: 401
    UnauthorizedException "Unable to parse JWT token." (captured from AppSync in aws-amplify/docs#1884). Other
    defaults: the missing-authorization answer (assumed: not captured).
    """
    if default_mode == "AMAZON_COGNITO_USER_POOLS":
        return Refusal(401, "UnauthorizedException", "Unable to parse JWT token.", "iam-not-enabled")
    return Refusal(
        401, "UnauthorizedException", "Valid authorization header not provided.", "iam-not-enabled"
    )


def incomplete_signature(problems: list[str], header: str) -> Refusal:  # [AJS7906] wording; 400 assumed
    shown = header.split("Signature=")[0] + ("Signature=..." if "Signature=" in header else "")
    message = " ".join(problems) + f" Authorization={shown}"
    return Refusal(400, "IncompleteSignatureException", message, "signature")


def unrecognized_client() -> Refusal:  # [AJS3447] verified wording and status
    return Refusal(
        403,
        "UnrecognizedClientException",
        "The security token included in the request is invalid.",
        "unrecognized_client",
    )


def expired_token() -> Refusal:  # AWS wording; AppSync status 403 assumed
    return Refusal(
        403, "ExpiredTokenException", "The security token included in the request is expired", "expired_token"
    )


def invalid_signature(detail: str | None = None) -> Refusal:  # [AJS344] verified type and status
    message = detail or (
        "The request signature we calculated does not match the signature you provided. Check your AWS "
        "Secret Access Key and signing method. Consult the service documentation for details."
    )
    return Refusal(403, "InvalidSignatureException", message, "signature")


def signature_expired(amz_date: str, now: str, bound: str, future: bool) -> Refusal:  # [AJS11480]
    if future:
        message = f"Signature not yet current: {amz_date} is still later than {bound} ({now} + 5 min.)"
    else:
        message = f"Signature expired: {amz_date} is now earlier than {bound} ({now} - 5 min.)"
    return Refusal(400, "BadRequestException", message, "clock_skew")


# --- authorization ------------------------------------------------------------------------------------------
def iam_denied() -> Refusal:  # [ACA2457] wording; 401 per [KC]
    return Refusal(401, "UnauthorizedException", "Permission denied", "iam_denied")


# --- request body --------------------------------------------------------------------------------------------
def empty_body() -> Refusal:  # [GOH81] verified
    return Refusal(400, "MalformedHttpRequestException", "Request body is empty.", "malformed")


def unparseable_body() -> Refusal:  # [GOH81] verified
    return Refusal(400, "MalformedHttpRequestException", "Unable to parse GraphQL query.", "malformed")


def missing_operation_name() -> Refusal:  # assumed (wording from a third-party AppSync emulator)
    return Refusal(400, "BadRequestException", "Missing operation name.", "malformed")


# --- injected faults (assumed shapes) ---------------------------------------------------------------------------
def fault(status: int) -> Answer:
    if status == 429:
        body = {"errors": [{"errorType": "TooManyRequestsException", "message": "Rate exceeded"}]}
        return Answer(429, dumps(body), {"x-amzn-ErrorType": "TooManyRequestsException:"}, "fault_429")
    if status == 502:  # a front-door failure: not JSON, as load balancers answer
        html = b"<html><body><h1>502 Bad Gateway</h1></body></html>"
        return Answer(502, html, {"content-type": "text/html"}, "fault_502")
    if status == 503:
        body = {"errors": [{"errorType": "ServiceUnavailableException", "message": "Service Unavailable"}]}
        return Answer(503, dumps(body), {"x-amzn-ErrorType": "ServiceUnavailableException:"}, "fault_503")
    body = {"errors": [{"errorType": "InternalFailure", "message": "An internal failure occurred."}]}
    return Answer(status, dumps(body), {"x-amzn-ErrorType": "InternalFailure:"}, f"fault_{status}")
