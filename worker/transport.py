"""One signed GraphQL POST to AppSync over one aiohttp connection pool, keeping the HTTP status.

This used to be gql's ``AIOHTTPTransport`` behind a gql ``Client`` session, signed with botocore's ``SigV4Auth``.
Profiled (issue 14) those two were most of the worker's CPU per mutation: gql's execute path (request objects,
``anyio`` timeouts, a second JSON dump for the signature) and botocore's signer (an ``AWSRequest``, URL splitting,
header sanitising and sorting for a request whose shape never changes). What is left is what they did for the
one request the worker sends, byte for byte (tests/worker/test_signing.py holds the equality with botocore's
``SigV4Auth`` and with what gql's transport sent):

- ``sign``: SigV4 for ``POST /graphql`` with the headers ``accept``, ``content-type``, ``host``, ``x-amz-date``
  and ``x-amz-security-token``, service ``appsync``; the signing key is cached per secret, date and region.
- Signed requests never follow a redirect: a 3xx is an ``AppSyncRedirect`` naming its ``Location``.
- ``AppSyncTransport.execute``: the body gql built (``{"query", "operationName"?, "variables"?}``, ``json.dumps``),
  the same headers, and gql's reading of the answer: JSON with ``errors`` is a ``TransportQueryError`` whatever
  the status, except that here any status >= 400 is an ``AppSyncHTTPError`` (a 429 and a resolver error must not
  look alike); an answer that is not GraphQL is a ``TransportProtocolError``; anything else that goes wrong on the
  wire is a ``TransportConnectionFailed`` whose ``__cause__`` is the original error (a connect failure carried no
  request). The exception classes keep gql's names and attributes, so classification reads the same.

Each attempt is signed with the one frozen credential set the client got for it (``signing_with``): never parts
of two sets across a refresh, and never a blocking refresh on the event loop.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

import aiohttp  # the hot path: imported with the module, so a cold start counts it

from worker.names import GRAPHQL_PATH

if TYPE_CHECKING:
    from botocore.credentials import ReadOnlyCredentials

SERVICE = "appsync"
PATH = GRAPHQL_PATH
ALGORITHM = "AWS4-HMAC-SHA256"
_SIGNED_NO_TOKEN = "accept;content-type;host;x-amz-date"
_SIGNED_WITH_TOKEN = _SIGNED_NO_TOKEN + ";x-amz-security-token"


# --- gql's exception types, same names and attributes (gql.transport.exceptions is not imported) -------------
class TransportError(Exception):
    """Base of every transport failure."""


class TransportQueryError(TransportError):
    """AppSync answered GraphQL ``errors`` (HTTP < 400)."""

    def __init__(
        self,
        msg: str,
        query_id: int | None = None,
        errors: Any = None,
        data: Any = None,
        extensions: Any = None,
    ) -> None:
        super().__init__(msg)
        self.query_id = query_id
        self.errors = errors
        self.data = data
        self.extensions = extensions


class TransportServerError(TransportError):
    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code


class TransportProtocolError(TransportError):
    """The answer is not a GraphQL result."""


class TransportConnectionFailed(TransportError):
    """The request failed on the wire (``__cause__`` is what failed)."""


class AppSyncHTTPError(TransportServerError):
    """AppSync answered with HTTP >= 400; ``errors`` holds its JSON error objects when it sent any."""

    def __init__(self, status: int, errors: list[dict[str, Any]], body: str) -> None:
        first = errors[0] if errors else {}
        message = first.get("message") or body[:200] or f"HTTP {status}"
        super().__init__(f"HTTP {status}: {first.get('errorType', '')} {message}".strip(), status)
        self.status = status
        self.errors = errors
        self.error_type: str = first.get("errorType") or ""
        self.message: str = message


class AppSyncRedirect(TransportError):
    """AppSync (or something in its place) answered 3xx. Never followed: a signed request carries the session token
    (``X-Amz-Security-Token``), which aiohttp would send on to the new host, and the body, which a 307/308 would
    replay there."""

    def __init__(self, status: int, location: str) -> None:
        super().__init__(f"HTTP {status} redirect to {location or '(no Location)'}")
        self.status = status
        self.location = location


class AppSyncEmptyAnswer(TransportProtocolError):
    """HTTP 200 with neither ``data`` nor ``errors`` (``{"data": null}``): nothing says the mutation ran."""


def errors_of(body: str) -> list[dict[str, Any]]:
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


# --- signing ------------------------------------------------------------------------------------------------
#: The set the current task's request is signed with (per task: concurrent sends do not see each other's).
_SIGNING_CREDENTIALS: ContextVar[ReadOnlyCredentials | None] = ContextVar("signing_credentials", default=None)


@contextmanager
def signing_with(credentials: ReadOnlyCredentials) -> Iterator[None]:
    """Sign the requests made inside this block (in this task) with ``credentials``."""
    token = _SIGNING_CREDENTIALS.set(credentials)
    try:
        yield
    finally:
        _SIGNING_CREDENTIALS.reset(token)


_KEYS: dict[tuple[str, str, str], bytes] = {}


def amz_date() -> str:
    """``YYYYMMDDTHHMMSSZ``, now, from the clock botocore's signer reads (``botocore.auth.get_current_datetime``,
    naive UTC): one signing clock for STS and AppSync, and one place for a test to skew it."""
    from botocore import auth  # imported by botocore's clients already: no cost here

    return auth.get_current_datetime().strftime("%Y%m%dT%H%M%SZ")


def _signing_key(secret: str, date: str, region: str) -> bytes:
    cache_key = (secret, date, region)
    key = _KEYS.get(cache_key)
    if key is None:
        key = hmac.new(("AWS4" + secret).encode(), date.encode(), hashlib.sha256).digest()
        for part in (region, SERVICE, "aws4_request"):
            key = hmac.new(key, part.encode(), hashlib.sha256).digest()
        if len(_KEYS) >= 8:  # a few credential sets and days at most; never grows
            _KEYS.clear()
        _KEYS[cache_key] = key
    return key


def sign(
    credentials: ReadOnlyCredentials, host: str, region: str, body: bytes, timestamp: str | None = None
) -> dict[str, str]:
    """The headers of a SigV4-signed ``POST /graphql`` with ``body``: what botocore's ``SigV4Auth`` produces for
    this request (same names, order and values), without building an ``AWSRequest``."""
    stamp = timestamp or amz_date()
    date = stamp[:8]
    token = credentials.token
    signed = _SIGNED_WITH_TOKEN if token else _SIGNED_NO_TOKEN
    canonical_headers = (
        f"accept:application/json\ncontent-type:application/json\nhost:{host}\nx-amz-date:{stamp}\n"
        + (f"x-amz-security-token:{token}\n" if token else "")
    )
    canonical = f"POST\n{PATH}\n\n{canonical_headers}\n{signed}\n{hashlib.sha256(body).hexdigest()}"
    scope = f"{date}/{region}/{SERVICE}/aws4_request"
    to_sign = f"{ALGORITHM}\n{stamp}\n{scope}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
    signature = hmac.new(
        _signing_key(credentials.secret_key, date, region), to_sign.encode(), hashlib.sha256
    ).hexdigest()
    headers = {"accept": "application/json", "content-type": "application/json", "X-Amz-Date": stamp}
    if token:
        headers["X-Amz-Security-Token"] = token
    headers["Authorization"] = (
        f"{ALGORITHM} Credential={credentials.access_key}/{scope}, SignedHeaders={signed}, Signature={signature}"
    )
    return headers


def payload(query: str, variables: dict[str, Any] | None, operation_name: str | None) -> bytes:
    """The request body gql's transport sent: ``query``, then ``operationName`` and ``variables`` when set."""
    body: dict[str, Any] = {"query": query}
    if operation_name:
        body["operationName"] = operation_name
    if variables:
        body["variables"] = variables
    return json.dumps(body).encode("utf-8")


# --- the transport ------------------------------------------------------------------------------------------
class AppSyncTransport:
    """One aiohttp session per container (bound to its event loop); ``execute`` returns the answer's ``data``."""

    def __init__(self, url: str, *, host: str, region: str, timeout: float, max_connections: int) -> None:
        self.url = url
        self.host = host
        self.region = region
        self.timeout = timeout
        self.max_connections = max_connections
        self.session: aiohttp.ClientSession | None = None

    async def connect(self) -> None:
        if self.session is None:
            self.session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.timeout),
                connector=aiohttp.TCPConnector(
                    limit=self.max_connections, ttl_dns_cache=300, enable_cleanup_closed=True
                ),
            )

    async def close(self) -> None:
        if self.session is not None:
            session, self.session = self.session, None
            await session.close()

    async def execute(self, query: str, variables: dict[str, Any] | None, operation_name: str | None) -> Any:
        """POST the request signed with ``signing_with``'s set; the answer's ``data`` or a transport error."""
        credentials = _SIGNING_CREDENTIALS.get()
        if credentials is None:
            raise RuntimeError("no credentials to sign with: send inside signing_with(...)")
        if self.session is None:
            raise TransportConnectionFailed("the transport is not connected")
        body = payload(query, variables, operation_name)
        headers = sign(credentials, self.host, self.region, body)
        try:
            # allow_redirects=False: aiohttp follows by default and strips only Authorization on a change of origin.
            async with self.session.post(
                self.url, data=body, headers=headers, allow_redirects=False
            ) as response:
                result = await _result(response)
        except TransportError:
            raise
        except Exception as exc:  # what gql did: every other failure on the wire
            raise TransportConnectionFailed(str(exc)) from exc
        errors = result.get("errors")
        if errors:
            first = errors[0] if isinstance(errors, list) and errors else errors
            raise TransportQueryError(str(first), errors=errors, data=result.get("data"))
        return result.get("data")


async def _result(response: aiohttp.ClientResponse) -> dict[str, Any]:
    """gql's reading of an answer, plus the HTTP status of every error answer and the empty answer."""
    if 300 <= response.status < 400:
        raise AppSyncRedirect(response.status, response.headers.get("Location", ""))
    if response.status >= 400:
        text = await response.text()
        raise AppSyncHTTPError(response.status, errors_of(text), text)
    raw = await response.read()
    try:
        stripped = raw.strip()
        result = json.loads(stripped) if stripped else None
    except Exception:
        result = None
    if result is None:
        raise TransportProtocolError(
            f"Server did not return a valid GraphQL result: Not a JSON answer: {await response.text()}"
        )
    if not isinstance(result, dict | list | str):  # gql: `"errors" in 5` failed and became a connection fault
        raise TransportConnectionFailed(f"argument of type '{type(result).__name__}' is not iterable")
    if not isinstance(result, dict) or ("errors" not in result and "data" not in result):
        raise TransportProtocolError(
            "Server did not return a valid GraphQL result: "
            f'No "data" or "errors" keys in answer: {await response.text()}'
        )
    if result.get("data") is None and not result.get("errors"):
        raise AppSyncEmptyAnswer("AppSync answered HTTP 200 with neither data nor errors")
    return result
