"""SigV4 verification of a request as received, the way AppSync's front door checks it.

The canonical request is rebuilt from what arrived (method, raw path and query, the signed headers' received
values -- Host included -- and the SHA-256 of the received body), so a client that signs one host and sends
another, or whose body changes after signing, is refused exactly as AWS would refuse it.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

from botocore.utils import normalize_url_path

from sandbox.appsync import responses
from sandbox.identity import CallerIdentity, IdentityResolver

ALGORITHM = "AWS4-HMAC-SHA256"
SERVICE = "appsync"
MAX_SKEW = timedelta(minutes=5)
_AMZ_DATE = "%Y%m%dT%H%M%SZ"


@dataclass(frozen=True)
class ParsedAuthorization:
    access_key_id: str
    date: str
    region: str
    service: str
    terminator: str
    signed_headers: tuple[str, ...]
    signature: str


@dataclass(frozen=True)
class ReceivedRequest:
    """What the verifier needs of an HTTP request; ``headers`` maps lower-case names to all received values."""

    method: str
    raw_path: str  # path and query exactly as received
    headers: Mapping[str, Sequence[str]]
    body: bytes

    def first(self, name: str) -> str | None:
        values = self.headers.get(name)
        return values[0] if values else None


def parse_authorization(header: str) -> ParsedAuthorization:
    """Split ``AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...``; refuse what is malformed."""
    algorithm, _, rest = header.strip().partition(" ")
    if algorithm != ALGORITHM:
        raise responses.incomplete_signature([f"Unsupported Authorization Type '{algorithm}'."], header)
    params: dict[str, str] = {}
    problems: list[str] = []
    for part in rest.split(","):
        key, sep, value = part.strip().partition("=")
        if not sep:
            problems.append(
                f"'{part.strip()}' not a valid key=value pair (missing equal-sign) in Authorization header."
            )
            continue
        params[key] = value
    for name in ("Credential", "Signature", "SignedHeaders"):
        if not params.get(name):
            problems.append(f"Authorization header requires '{name}' parameter.")
    scope = params.get("Credential", "").split("/")
    if params.get("Credential") and len(scope) != 5:
        problems.append(
            "Credential should have 5 parts: <key>/<date>/<region>/<service>/aws4_request "
            f"(got '{params['Credential']}')."
        )
    if problems:
        raise responses.incomplete_signature(problems, header)
    return ParsedAuthorization(
        access_key_id=scope[0],
        date=scope[1],
        region=scope[2],
        service=scope[3],
        terminator=scope[4],
        signed_headers=tuple(params["SignedHeaders"].split(";")),
        signature=params["Signature"],
    )


class SigV4Verifier:
    """Verifies one request's signature for service ``appsync`` in ``region`` and returns its caller."""

    def __init__(
        self,
        identities: IdentityResolver,
        region: str,
        clock: Callable[[], datetime] | None = None,
        auth_modes: Sequence[str] = (),
    ) -> None:
        self.identities = identities
        self.region = region
        self.clock = clock or (lambda: datetime.now(UTC))
        #: The API's authorization modes, default first (empty: AWS_IAM only, the sandbox's own API). Without
        #: AWS_IAM among them, AppSync refuses every signed request before any signature check or resolver.
        self.auth_modes = tuple(auth_modes)

    def verify(self, request: ReceivedRequest) -> CallerIdentity:
        if self.auth_modes and "AWS_IAM" not in self.auth_modes:
            raise responses.iam_not_enabled(self.auth_modes[0])
        header = request.first("authorization")
        if not header:
            raise responses.missing_authorization()  # also an x-api-key-only request: the API is IAM-only
        auth = parse_authorization(header)
        self._check_scope(auth, header)
        amz_date = self._check_date(request, auth)
        caller = self.identities.lookup(auth.access_key_id)
        if caller is None:
            raise responses.unrecognized_client()
        token = request.first("x-amz-security-token")
        if caller.session_token is None:
            if token is not None:
                raise responses.unrecognized_client()
        elif token is None or not hmac.compare_digest(token.encode(), caller.session_token.encode()):
            raise responses.unrecognized_client()
        if caller.expiration is not None and caller.expiration <= self.clock():
            raise responses.expired_token()
        if "host" not in auth.signed_headers:
            raise responses.invalid_signature("'Host' must be a 'SignedHeader' in the AWS Authorization.")
        for name in auth.signed_headers:
            if name not in request.headers:
                raise responses.incomplete_signature(
                    [f"'{name}' is named as a SignedHeader, but it does not exist in the HTTP request."],
                    header,
                )
        expected = signature(caller.secret_access_key, auth, amz_date, canonical_request(request, auth))
        if not hmac.compare_digest(expected.encode(), auth.signature.encode()):
            raise responses.invalid_signature()
        return caller

    def _check_scope(self, auth: ParsedAuthorization, header: str) -> None:
        if auth.terminator != "aws4_request":
            raise responses.invalid_signature(
                f"Credential should be scoped with a valid terminator: 'aws4_request', not '{auth.terminator}'."
            )
        if auth.service != SERVICE:
            raise responses.invalid_signature(
                f"Credential should be scoped to correct service: '{SERVICE}'. "
            )
        if auth.region != self.region:
            raise responses.invalid_signature(
                f"Credential should be scoped to a valid region, not '{auth.region}'. "
            )

    def _check_date(self, request: ReceivedRequest, auth: ParsedAuthorization) -> str:
        amz_date = request.first("x-amz-date")
        if amz_date is None:
            raise responses.incomplete_signature(
                ["Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."],
                request.first("authorization") or "",
            )
        try:
            sent = datetime.strptime(amz_date, _AMZ_DATE).replace(tzinfo=UTC)
        except ValueError:
            raise responses.invalid_signature(f"Invalid X-Amz-Date '{amz_date}'.") from None
        if auth.date != amz_date[:8]:
            raise responses.invalid_signature(
                f"Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: "
                f"'{auth.date}' != '{amz_date[:8]}', from '{amz_date}'."
            )
        now = self.clock()
        if sent < now - MAX_SKEW:
            raise responses.signature_expired(
                amz_date, now.strftime(_AMZ_DATE), (now - MAX_SKEW).strftime(_AMZ_DATE), future=False
            )
        if sent > now + MAX_SKEW:
            raise responses.signature_expired(
                amz_date, now.strftime(_AMZ_DATE), (now + MAX_SKEW).strftime(_AMZ_DATE), future=True
            )
        return amz_date


def canonical_request(request: ReceivedRequest, auth: ParsedAuthorization) -> str:
    """The canonical request as botocore builds it, from the request as received."""
    path, _, query = request.raw_path.partition("?")
    canonical_path = quote(normalize_url_path(path), safe="/~")
    pairs = sorted(pair.partition("=")[::2] for pair in query.split("&")) if query else []
    canonical_query = "&".join(f"{k}={v}" for k, v in pairs)
    names = sorted(set(auth.signed_headers))
    canonical_headers = "".join(
        f"{name}:{','.join(' '.join(v.split()) for v in request.headers.get(name, ()))}\n" for name in names
    )
    payload_hash = hashlib.sha256(request.body).hexdigest()
    return "\n".join(
        [
            request.method.upper(),
            canonical_path,
            canonical_query,
            canonical_headers,
            ";".join(names),
            payload_hash,
        ]
    )


def signature(secret: str, auth: ParsedAuthorization, amz_date: str, canonical: str) -> str:
    scope = f"{auth.date}/{auth.region}/{auth.service}/{auth.terminator}"
    string_to_sign = "\n".join(
        [ALGORITHM, amz_date, scope, hashlib.sha256(canonical.encode("utf-8")).hexdigest()]
    )
    key = _hmac(f"AWS4{secret}".encode(), auth.date)
    for part in (auth.region, auth.service, auth.terminator):
        key = _hmac(key, part)
    return hmac.new(key, string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode("utf-8"), hashlib.sha256).digest()
