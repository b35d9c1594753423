"""One SigV4-signed GraphQL POST to AppSync over the container's keep-alive connections (``worker.http11``).

The request is what gql's ``AIOHTTPTransport`` sent, signed as botocore's ``SigV4Auth`` signs it, byte for byte
(tests/worker/test_signing.py holds both equalities), without either: gql's execute path and botocore's
``AWSRequest`` were most of the worker's CPU per mutation, for a request whose shape never changes.

- ``sign``: SigV4 for ``POST /graphql`` with the headers ``accept``, ``content-type``, ``host``, ``x-amz-date``
  and ``x-amz-security-token``, service ``appsync``; the signing key is cached per secret, date and region.
- ``payload``: the body gql built (``{"query", "operationName"?, "variables"?}``), serialised by orjson (compact,
  UTF-8) or, for what orjson refuses, ``json.dumps``: the same JSON value either way.
- ``AppSyncTransport.post``: signs with the one frozen credential set it is given (never parts of two sets
  across a refresh) and returns the answer as it came (status, ``Location``, body); what it means is
  ``worker.judge``'s to say. Nothing is followed, decompressed or retried here.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import orjson

from worker.http11 import HttpAnswer, OriginPool
from worker.names import GRAPHQL_PATH

if TYPE_CHECKING:
    from botocore.credentials import ReadOnlyCredentials

SERVICE = "appsync"
PATH = GRAPHQL_PATH
ALGORITHM = "AWS4-HMAC-SHA256"
_SIGNED_NO_TOKEN = "accept;content-type;host;x-amz-date"
_SIGNED_WITH_TOKEN = _SIGNED_NO_TOKEN + ";x-amz-security-token"
#: Not signed; names the client in AppSync's logs.
USER_AGENT = "appsync-mutation-worker"


def amz_date() -> str:
    """``YYYYMMDDTHHMMSSZ``, now, from the clock botocore's signer reads (``botocore.auth.get_current_datetime``,
    naive UTC): one signing clock for STS and AppSync, and one place for a test to skew it. Formatted once per
    second: every request of that second carries the same stamp."""
    from botocore import auth  # imported by botocore's clients already: no cost here

    now = auth.get_current_datetime()
    second = (now.toordinal() * 86400) + now.hour * 3600 + now.minute * 60 + now.second
    if _STAMP[0] != second:
        _STAMP[:] = [second, now.strftime("%Y%m%dT%H%M%SZ")]
    return _STAMP[1]


#: The last second formatted by ``amz_date`` and its stamp.
_STAMP: list[Any] = [None, ""]


@lru_cache(maxsize=8)  # a few credential sets and days at most; never grows
def signing_key(secret: str, date: str, region: str) -> bytes:
    """SigV4's derived key for ``appsync`` (HMAC chain over the date, region, service and terminator)."""
    key = hmac.digest(("AWS4" + secret).encode(), date.encode(), "sha256")
    for part in (region, SERVICE, "aws4_request"):
        key = hmac.digest(key, part.encode(), "sha256")
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
    # hmac.digest: the C one-shot (hmac.new builds a Python HMAC object per call)
    signature = hmac.digest(
        signing_key(credentials.secret_key, date, region), to_sign.encode(), "sha256"
    ).hex()
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
    try:
        return orjson.dumps(body)
    except TypeError:  # orjson.JSONEncodeError: an integer beyond 64 bits, a lone surrogate; exact either way
        return json.dumps(body).encode("utf-8")


# --- the transport ------------------------------------------------------------------------------------------
class AppSyncTransport:
    """The container's connections to ``url`` (at most ``max_connections``), each request signed for ``host``
    (the ``Host`` header sent) and ``region``."""

    def __init__(
        self,
        url: str,
        *,
        host: str,
        region: str,
        max_connections: int,
    ) -> None:
        self.url = url
        self.host = host
        self.region = region
        self.pool = OriginPool(url, host=host, max_connections=max_connections)

    async def post(
        self, credentials: ReadOnlyCredentials, body: bytes, timeout: float | None = None
    ) -> HttpAnswer:
        """POST ``body`` signed with ``credentials`` within ``timeout`` seconds; raises ``ConnectFailed`` (nothing
        sent: no connection, or none in time) or ``ConnectionDropped``/``TimeoutError`` (it may have run)."""
        headers = sign(credentials, self.host, self.region, body)
        lines = "".join([f"{name}: {value}\r\n" for name, value in headers.items()])
        return await self.pool.post(f"{lines}User-Agent: {USER_AGENT}\r\n", body, timeout)

    async def close(self) -> None:
        await self.pool.close()
