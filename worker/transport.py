"""gql's aiohttp transport, signed per request with one frozen credential set, keeping the HTTP status.

gql's ``AppSyncIAMAuthentication`` reads the key, secret and token one at a time from a credentials object;
across a refresh one request can be signed with parts of two sets (an invalid signature), and a refresh inside
signing would block the event loop on STS. Here each attempt is signed with the one frozen set the client got
for it (``signing_with``), already fetched off the loop. The transport also surfaces the HTTP status of error responses, which
gql folds into ``TransportQueryError`` when the body is JSON: a 429 and a resolver error must not look alike.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Protocol

import aiohttp
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import ReadOnlyCredentials
from gql import GraphQLRequest
from gql.transport.aiohttp import AIOHTTPTransport
from gql.transport.appsync_auth import AppSyncAuthentication
from gql.transport.exceptions import TransportProtocolError, TransportServerError
from graphql import ExecutionResult


class FrozenCredentialsSource(Protocol):
    def get_frozen_credentials(self) -> ReadOnlyCredentials: ...


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


class FrozenSigV4Authentication(AppSyncAuthentication):
    """SigV4 for service ``appsync``; the signed host is exactly what the HTTP client sends as Host.

    Signs with the set given by ``signing_with``; ``credentials`` is a fallback for callers outside the worker's
    client (benchmarks), read once per request.
    """

    def __init__(self, credentials: FrozenCredentialsSource | None = None, *, host: str, region: str) -> None:
        self._credentials = credentials
        self._host = host
        self._region = region

    def get_auth_url(self, url: str) -> str:  # websocket subscriptions: not used by this worker
        raise NotImplementedError("the mutation worker does not open subscriptions")

    def get_headers(self, data: str | None = None, headers: dict[str, Any] | None = None) -> dict[str, Any]:
        request = AWSRequest(
            method="POST",
            url=f"https://{self._host}/graphql",
            headers={"accept": "application/json", "content-type": "application/json", **(headers or {})},
            data=data or "{}",
        )
        credentials = _SIGNING_CREDENTIALS.get()
        if credentials is None:
            if self._credentials is None:
                raise RuntimeError("no credentials to sign with: send inside signing_with(...)")
            credentials = self._credentials.get_frozen_credentials()
        SigV4Auth(credentials, "appsync", self._region).add_auth(request)
        return dict(request.headers.items())


class TextGraphQLRequest(GraphQLRequest):
    """A request whose query text is already known: gql would print the AST again for every send."""

    def __init__(
        self, document: Any, query: str, variables: dict[str, Any], operation_name: str | None
    ) -> None:
        super().__init__(document, variable_values=variables, operation_name=operation_name)
        self._query = query

    @property
    def payload(self) -> dict[str, Any]:
        payload: dict[str, Any] = {"query": self._query}
        if self.operation_name:
            payload["operationName"] = self.operation_name
        if self.variable_values:
            payload["variables"] = self.variable_values
        return payload


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


class AppSyncEmptyAnswer(TransportProtocolError):
    """HTTP 200 with neither ``data`` nor ``errors`` (``{"data": null}``): nothing says the mutation ran."""


class AppSyncTransport(AIOHTTPTransport):
    """One class per transport: raises ``AppSyncHTTPError`` for every HTTP error status."""

    def __init__(
        self, url: str, *, auth: FrozenSigV4Authentication, timeout: float, max_connections: int
    ) -> None:
        super().__init__(
            url=url,
            auth=auth,
            ssl_close_timeout=1,
            client_session_args={
                "timeout": aiohttp.ClientTimeout(total=timeout),
                "connector": aiohttp.TCPConnector(
                    limit=max_connections, ttl_dns_cache=300, enable_cleanup_closed=True
                ),
            },
        )

    async def _prepare_result(self, response: aiohttp.ClientResponse) -> ExecutionResult:
        if response.status >= 400:
            body = await response.text()
            raise AppSyncHTTPError(response.status, errors_of(body), body)
        result = await super()._prepare_result(response)
        if result.data is None and not result.errors:
            raise AppSyncEmptyAnswer("AppSync answered HTTP 200 with neither data nor errors")
        return result


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
