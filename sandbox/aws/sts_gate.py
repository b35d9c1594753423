"""WSGI middleware in front of moto that makes ``sts:AssumeRole`` behave like AWS where it matters to us.

moto assumes any role for anyone. The gate refuses, with AWS's status, XML shape and wording, unless the role's
trust policy admits the caller (principal and conditions) and the caller's own identity policies allow
``sts:AssumeRole`` on the role; it enforces the role-chaining one-hour cap and the role's MaxSessionDuration.
It also records every AssumeRole, can inject throttling, and can shorten credential lifetimes for tests.
"""

from __future__ import annotations

import hmac
import io
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

from sandbox.aws.identities import (
    LAMBDA_SERVICE_KEY,
    LAMBDA_SERVICE_SECRET,
    OPERATOR_KEY,
    OPERATOR_SECRET,
    SandboxIdentities,
)
from sandbox.aws.policy import Decision, Principal, RequestContext, evaluate, trust_allows
from sandbox.aws.wsgi import StartResponse

_CREDENTIAL = re.compile(r"Credential=([A-Z0-9]+)/\d{8}/[^/]+/([a-z0-9-]+)/aws4_request")
CHAINING_LIMIT = 3600
#: STS's pattern for SourceIdentity: 2-64 of letters, digits and _+=,.@- (no spaces).
_SOURCE_IDENTITY = re.compile(r"[\w+=,.@-]{2,64}", re.ASCII)
_POLICY_SOURCE = re.compile(r"arn:aws[-a-z]*:iam::\d{12}:(role|user)/[\w+=,.@/-]+")


@dataclass(frozen=True)
class AssumeRoleCall:
    caller_arn: str
    role_arn: str
    session_name: str
    duration: int
    allowed: bool
    error: str | None
    at: float
    by_sandbox: bool = False  # the operator's bootstrap or the Lambda service starting a session
    source_identity: str | None = None  # SourceIdentity, when the caller set one


class StsGate:
    def __init__(self, app: Callable[..., Iterable[bytes]], identities: SandboxIdentities) -> None:
        self.app = app
        self.identities = identities
        self._lock = threading.Lock()
        self._calls: list[AssumeRoleCall] = []
        self._throttle_next = 0
        self._lifetime: int | None = None
        self._lifetime_role: str | None = None

    # --- controls for tests ------------------------------------------------------------------------
    @property
    def assume_role_calls(self) -> list[AssumeRoleCall]:
        """Successful AssumeRole calls, excluding the sandbox's own bootstrap and Lambda-service sessions."""
        with self._lock:
            return [c for c in self._calls if c.allowed and not c.by_sandbox]

    @property
    def all_calls(self) -> list[AssumeRoleCall]:
        with self._lock:
            return list(self._calls)

    @property
    def refused_calls(self) -> list[AssumeRoleCall]:
        with self._lock:
            return [c for c in self._calls if not c.allowed and not c.by_sandbox]

    def reset(self) -> None:
        with self._lock:
            self._calls.clear()
            self._throttle_next = 0

    def throttle_next(self, count: int) -> None:
        with self._lock:
            self._throttle_next += count

    def set_credential_lifetime(self, seconds: int | None, role_arn: str | None = None) -> None:
        """Issue credentials that expire after ``seconds`` (for ``role_arn`` only, or every non-service session)."""
        with self._lock:
            self._lifetime, self._lifetime_role = seconds, role_arn

    def expire_all(self, keep_role_arns: Iterable[str] = ()) -> int:
        """Make every credential issued so far expire now, except sessions of ``keep_role_arns``."""
        past = datetime.now(UTC).replace(tzinfo=None) - timedelta(seconds=1)
        keep = set(keep_role_arns)
        count = 0
        for role in self.identities.all_assumed_roles():
            if role.role_arn not in keep:
                role.expiration = past
                count += 1
        return count

    # --- WSGI ------------------------------------------------------------------------------------------
    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        match = _CREDENTIAL.search(environ.get("HTTP_AUTHORIZATION", ""))
        if not match or match.group(2) not in ("sts", "iam") or environ.get("REQUEST_METHOD") != "POST":
            return self.app(environ, start_response)
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        try:
            form = {k: v[0] for k, v in parse_qs(body.decode("utf-8", errors="strict")).items()}
        except UnicodeDecodeError:
            # AWS's query protocol answers a body it cannot read with a 400, never a 500 (assumed wording)
            return _error(start_response, 400, "MalformedQueryString", "The request body is not valid UTF-8.")
        access_key = match.group(1)
        if match.group(2) == "iam":
            if form.get("Action") == "SimulatePrincipalPolicy":
                return self._simulate(access_key, environ, body, start_response)
            environ["wsgi.input"] = io.BytesIO(body)
            return self.app(environ, start_response)
        refusal = self._check_caller(access_key, environ) or self._check_signature(access_key, environ, body)
        if refusal is None and form.get("Action") == "AssumeRole":
            refusal, body = self._check_assume_role(access_key, form, body)
        if refusal is not None:
            status, code, message = refusal
            return _error(start_response, status, code, message)
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        return self.app(environ, start_response)

    def _simulate(
        self, access_key: str, environ: dict[str, Any], body: bytes, start_response: StartResponse
    ) -> Iterable[bytes]:
        """``iam:SimulatePrincipalPolicy`` (moto raises NotImplementedError): the sandbox's own evaluator.

        As IAM does: the caller needs ``iam:SimulatePrincipalPolicy`` on ``PolicySourceArn``; each action and
        resource is evaluated against that principal's identity policies; decisions are ``allowed``,
        ``implicitDeny`` or ``explicitDeny`` (IAM API reference, EvaluationResult).
        """
        refusal = self._check_caller(access_key, environ) or self._check_signature(access_key, environ, body)
        if refusal is not None:
            return _error(start_response, *refusal)
        try:
            form = parse_qs(body.decode("utf-8", errors="strict"))
        except UnicodeDecodeError:
            return _error(start_response, 400, "ValidationError", "The request body is not valid UTF-8.")
        source = (form.get("PolicySourceArn") or [""])[0]
        if not _POLICY_SOURCE.fullmatch(source):
            return _error(
                start_response,
                400,
                "ValidationError",
                f"Value '{source}' at 'policySourceArn' failed to satisfy constraint: the ARN of an IAM role or "
                "user, arn:aws:iam::<account>:role/<name> or :user/<name>",
            )
        actions = _members(form, "ActionNames")
        if not actions:
            return _error(
                start_response,
                400,
                "ValidationError",
                "1 validation error detected: Value null at 'actionNames' failed to satisfy constraint: "
                "Member must not be null",
            )
        principal = self.identities.principal(access_key)
        assert principal is not None  # _check_caller passed
        # IAM simulates only entities of the caller's own account; whatever the caller's policy allows (even
        # "*", even an account root), another account's role or user is refused. IAM's exact answer is not
        # documented: AccessDenied with the usual "is not authorized to perform" wording is assumed here.
        if (
            principal.service is not None
            or principal.account_id != source.split(":")[4]
            or self.identities.decide(principal, "iam:SimulatePrincipalPolicy", source) is not Decision.ALLOW
        ):
            return _error(
                start_response,
                403,
                "AccessDenied",
                f"User: {principal.arn} is not authorized to perform: iam:SimulatePrincipalPolicy on resource: "
                f"{source}",
            )
        if self.identities.role(source) is None:
            return _error(
                start_response, 404, "NoSuchEntity", f"The role with name {source} cannot be found."
            )
        policies = self.identities.identity_policies(source)
        words = {
            Decision.ALLOW: "allowed",
            Decision.DENY: "explicitDeny",
            Decision.IMPLICIT_DENY: "implicitDeny",
        }
        members = []
        for action in actions:
            for resource in _members(form, "ResourceArns") or ["*"]:
                decision = evaluate(policies, RequestContext(action, resource, {}))
                members.append(
                    f"<member><EvalActionName>{_escape(action)}</EvalActionName>"
                    f"<EvalResourceName>{_escape(resource)}</EvalResourceName>"
                    f"<EvalDecision>{words[decision]}</EvalDecision><MatchedStatements/>"
                    "<MissingContextValues/></member>"
                )
        answer = (
            '<SimulatePrincipalPolicyResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">'
            "<SimulatePrincipalPolicyResult><IsTruncated>false</IsTruncated>"
            f"<EvaluationResults>{''.join(members)}</EvaluationResults></SimulatePrincipalPolicyResult>"
            f"<ResponseMetadata><RequestId>{uuid.uuid4()}</RequestId></ResponseMetadata>"
            "</SimulatePrincipalPolicyResponse>"
        ).encode()
        start_response("200 OK", [("Content-Type", "text/xml"), ("Content-Length", str(len(answer)))])
        return [answer]

    def _check_caller(self, access_key: str, environ: dict[str, Any]) -> tuple[int, str, str] | None:
        if access_key in (OPERATOR_KEY, LAMBDA_SERVICE_KEY):
            return None
        identity = self.identities.lookup(access_key)
        if identity is None:
            return 403, "InvalidClientTokenId", "The security token included in the request is invalid."
        if identity.session_token is not None:
            if environ.get("HTTP_X_AMZ_SECURITY_TOKEN") != identity.session_token:
                return 403, "InvalidClientTokenId", "The security token included in the request is invalid."
            if identity.expiration is not None and identity.expiration <= datetime.now(UTC):
                return 400, "ExpiredToken", "The security token included in the request is expired"
        return None

    def _check_signature(
        self, access_key: str, environ: dict[str, Any], body: bytes
    ) -> tuple[int, str, str] | None:
        """The signature must be made with the secret of the presented key, as AWS verifies it."""
        from sandbox.appsync.sigv4 import ReceivedRequest, canonical_request, parse_authorization, signature

        secret = {OPERATOR_KEY: OPERATOR_SECRET, LAMBDA_SERVICE_KEY: LAMBDA_SERVICE_SECRET}.get(access_key)
        if secret is None:
            identity = self.identities.lookup(access_key)
            secret = identity.secret_access_key if identity is not None else None
        headers: dict[str, list[str]] = {}
        for name, value in environ.items():
            if name.startswith("HTTP_"):
                headers.setdefault(name[5:].replace("_", "-").lower(), []).append(value)
            elif name in ("CONTENT_TYPE", "CONTENT_LENGTH") and value:
                headers.setdefault(name.replace("_", "-").lower(), []).append(value)
        query = environ.get("QUERY_STRING", "")
        raw_path = environ.get("RAW_URI") or environ.get("PATH_INFO", "/") + (f"?{query}" if query else "")
        request = ReceivedRequest(environ.get("REQUEST_METHOD", "POST"), raw_path, headers, body)
        try:
            auth = parse_authorization(environ.get("HTTP_AUTHORIZATION", ""))
        except Exception:
            auth = None
        amz_date = request.first("x-amz-date")
        if (
            secret is not None
            and auth is not None
            and amz_date
            and all(h in headers for h in auth.signed_headers)
            and hmac.compare_digest(
                signature(secret, auth, amz_date, canonical_request(request, auth)).encode(),
                auth.signature.encode(),
            )
        ):
            return None
        return (
            403,
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided. Check your AWS "
            "Secret Access Key and signing method. Consult the service documentation for details.",
        )

    def _check_assume_role(
        self, access_key: str, form: dict[str, str], body: bytes
    ) -> tuple[tuple[int, str, str] | None, bytes]:
        role_arn = form.get("RoleArn", "")
        session = form.get("RoleSessionName", "")
        duration = int(form.get("DurationSeconds", "3600") or 3600)
        principal = self.identities.principal(access_key)
        assert principal is not None  # _check_caller passed
        refusal = self._decide(principal, role_arn, session, duration, form)
        with self._lock:
            self._calls.append(
                AssumeRoleCall(
                    principal.arn,
                    role_arn,
                    session,
                    duration,
                    refusal is None,
                    refusal[2] if refusal else None,
                    time.time(),
                    by_sandbox=principal.service is not None or access_key == OPERATOR_KEY,
                    source_identity=form.get("SourceIdentity"),
                )
            )
            lifetime = self._lifetime if self._lifetime_role in (None, role_arn) else None
        if refusal is None and lifetime is not None and principal.service is None and not principal.is_root:
            body = re.sub(rb"DurationSeconds=\d+", f"DurationSeconds={lifetime}".encode(), body)
            if b"DurationSeconds=" not in body:
                body += f"&DurationSeconds={lifetime}".encode()
        return refusal, body

    def _decide(
        self, principal: Principal, role_arn: str, session: str, duration: int, form: dict[str, str]
    ) -> tuple[int, str, str] | None:
        with self._lock:
            if self._throttle_next > 0:
                self._throttle_next -= 1
                return 400, "Throttling", "Rate exceeded"
        denied = (
            403,
            "AccessDenied",
            f"User: {principal.arn} is not authorized to perform: sts:AssumeRole on resource: {role_arn}",
        )
        role = self.identities.role(role_arn)
        if role is None:
            return denied
        keys = {"sts:RoleSessionName": session, "aws:PrincipalAccount": principal.account_id or ""}
        if principal.principal_arn:
            keys["aws:PrincipalArn"] = principal.principal_arn
        if principal.service:
            keys.pop("aws:PrincipalAccount")
        if "ExternalId" in form:
            keys["sts:ExternalId"] = form["ExternalId"]
        if "SourceIdentity" in form:
            keys["sts:SourceIdentity"] = form["SourceIdentity"]
        context = RequestContext("sts:AssumeRole", role_arn, keys)
        # A trust policy that requires sts:SourceIdentity (Null ... false) is simply not satisfied without one:
        # AWS answers the usual AccessDenied on sts:AssumeRole.
        if trust_allows(role.assume_role_policy_document, principal, context) is not Decision.ALLOW:
            return denied
        if (
            principal.service is None
            and self.identities.decide(principal, "sts:AssumeRole", role_arn, keys) is not Decision.ALLOW
        ):
            return denied
        if "SourceIdentity" in form:
            # Setting a source identity is its own action, granted by the trust policy and by the caller's
            # identity policy (IAM User Guide, "Permissions required to set source identity").
            refused = (
                403,
                "AccessDenied",
                f"User: {principal.arn} is not authorized to perform: sts:SetSourceIdentity on resource: "
                f"{role_arn}",
            )
            if not _SOURCE_IDENTITY.fullmatch(form["SourceIdentity"]):
                return (
                    400,
                    "ValidationError",
                    f"1 validation error detected: Value '{form['SourceIdentity']}' at 'sourceIdentity' failed "
                    "to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*",
                )
            set_context = RequestContext("sts:SetSourceIdentity", role_arn, keys)
            if trust_allows(role.assume_role_policy_document, principal, set_context) is not Decision.ALLOW:
                return refused
            if (
                principal.service is None
                and self.identities.decide(principal, "sts:SetSourceIdentity", role_arn, keys)
                is not Decision.ALLOW
            ):
                return refused
        chained = principal.principal_arn is not None and ":role/" in principal.principal_arn
        if chained and duration > CHAINING_LIMIT:
            return (
                400,
                "ValidationError",
                "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.",
            )
        if duration > int(getattr(role, "max_session_duration", 3600) or 3600):
            return (
                400,
                "ValidationError",
                "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.",
            )
        return None


def _members(form: dict[str, list[str]], name: str) -> list[str]:
    """``Name.member.1``, ``Name.member.2``... of an AWS query-protocol form, in order."""
    found = []
    index = 1
    while f"{name}.member.{index}" in form:
        found.append(form[f"{name}.member.{index}"][0])
        index += 1
    return found


def _error(start_response: StartResponse, status: int, code: str, message: str) -> list[bytes]:
    kind = "Receiver" if status >= 500 else "Sender"
    body = (
        '<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
        f"<Error><Type>{kind}</Type><Code>{code}</Code><Message>{_escape(message)}</Message></Error>"
        f"<RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>"
    ).encode()
    reason = {400: "Bad Request", 403: "Forbidden"}.get(status, "Error")
    start_response(f"{status} {reason}", [("Content-Type", "text/xml"), ("Content-Length", str(len(body)))])
    return [body]


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
