"""The worker's own SigV4 is byte for byte what botocore's signer produces, and its POST is the request gql's
transport sent: the same JSON body (the worker serialises it compactly, with orjson), the same signed headers.

The hot path builds no botocore ``AWSRequest`` and does not go through gql's execute path; these tests hold the
replacement to the libraries' output for the same frozen credentials, timestamp and body.
"""

from __future__ import annotations

import asyncio
import datetime
import json
from typing import Any
from unittest import mock

import pytest
from aiohttp import web
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import ReadOnlyCredentials

from worker import transport
from worker.envelope import parse_envelope

FROZEN = ReadOnlyCredentials("ASIAEXAMPLEEXAMPLE00", "secret/with+chars" * 3, "token-" * 60)
NO_TOKEN = ReadOnlyCredentials("AKIAEXAMPLEEXAMPLE00", "another-secret", None)
WHEN = datetime.datetime(2026, 3, 1, 23, 59, 59)
ALLOWED = frozenset({"createTodo", "updateTodo", "deleteTodo", "publish"})
BODIES = [
    {"mutation": "createTodo", "input": {"name": "Buy milk"}, "idempotencyKey": "order-42"},
    {
        "mutation": "updateTodo",
        "input": {"id": "a", "name": "é ünïcode ☃"},
        "condition": {"name": {"eq": "x"}},
    },
    {"query": "mutation P($m: String!) { publish(message: $m) { id } }", "variables": {"m": "hi"}},
    {"query": 'mutation Named { publish(message: "literal") { id } }', "operationName": "Named"},
]


def botocore_headers(credentials: ReadOnlyCredentials, host: str, region: str, body: bytes) -> dict[str, str]:
    """What the worker sent before: botocore's SigV4Auth on an AWSRequest (the old FrozenSigV4Authentication)."""
    request = AWSRequest(
        method="POST",
        url=f"https://{host}/graphql",
        headers={"accept": "application/json", "content-type": "application/json"},
        data=body,
    )
    with mock.patch("botocore.auth.get_current_datetime", return_value=WHEN):
        SigV4Auth(credentials, "appsync", region).add_auth(request)
    return dict(request.headers.items())


@pytest.mark.parametrize("credentials", [FROZEN, NO_TOKEN])
@pytest.mark.parametrize(
    "host",
    ["abcdefghijklmnopqrstuvwxyz.appsync-api.eu-west-1.amazonaws.com", "127.0.0.1:8443", "api.example.com"],
)
@pytest.mark.parametrize("raw", BODIES)
def test_signature_headers_equal_botocores(
    credentials: ReadOnlyCredentials, host: str, raw: dict[str, Any]
) -> None:
    request = parse_envelope(json.dumps(raw), ALLOWED, message_id="m-1")
    body = transport.payload(request.query, request.variables, request.operation_name)
    ours = transport.sign(credentials, host, "eu-west-1", body, WHEN.strftime("%Y%m%dT%H%M%SZ"))
    theirs = botocore_headers(credentials, host, "eu-west-1", body)
    assert list(ours.items()) == list(theirs.items())


def test_the_timestamp_is_botocores_clock() -> None:
    with mock.patch("botocore.auth.get_current_datetime", return_value=WHEN):
        assert transport.amz_date() == "20260301T235959Z"


def test_the_signing_key_cache_stays_small() -> None:
    for day in range(40):
        transport.sign(FROZEN, "h", "eu-west-1", b"{}", f"202601{day % 28 + 1:02d}T000000Z")
    assert transport.signing_key.cache_info().currsize <= 8


async def _capture(send: Any) -> dict[str, Any]:
    """Run ``send(url)`` against a local server; return the request it received (method, path, headers, body)."""
    seen: dict[str, Any] = {}

    async def graphql(request: web.Request) -> web.Response:
        seen.update(
            method=request.method,
            path=request.raw_path,
            headers=list(request.raw_headers),
            body=await request.read(),
        )
        return web.json_response({"data": {"createTodo": {"id": "x"}}})

    app = web.Application()
    app.router.add_post("/graphql", graphql)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]  # the port the OS gave the site (aiohttp's public AppRunner.addresses)
    try:
        # both paths sign one fixed host name, so their Authorization headers compare too
        await send(f"http://127.0.0.1:{port}/graphql", "api.example.com")
    finally:
        await runner.cleanup()
    return seen


async def _through_gql(url: str, host: str, request: Any) -> None:
    """The previous path: gql's AIOHTTPTransport, a gql Client session, botocore's SigV4Auth."""
    from gql import Client, GraphQLRequest
    from gql.transport.aiohttp import AIOHTTPTransport
    from gql.transport.appsync_auth import AppSyncAuthentication

    class Auth(AppSyncAuthentication):
        def get_auth_url(self, url: str) -> str:
            raise NotImplementedError

        def get_headers(
            self, data: str | None = None, headers: dict[str, Any] | None = None
        ) -> dict[str, Any]:
            return botocore_headers(FROZEN, host, "eu-west-1", (data or "{}").encode())

    class Text(GraphQLRequest):
        @property
        def payload(self) -> dict[str, Any]:
            body: dict[str, Any] = {"query": request.query}
            if self.operation_name:
                body["operationName"] = self.operation_name
            if self.variable_values:
                body["variables"] = self.variable_values
            return body

    from graphql import parse

    client = Client(transport=AIOHTTPTransport(url=url, auth=Auth()), fetch_schema_from_transport=False)
    session = await client.connect_async(reconnecting=False)
    try:
        await session.execute(
            Text(
                parse(request.query), variable_values=request.variables, operation_name=request.operation_name
            )
        )
    finally:
        await client.close_async()


async def _through_worker(url: str, host: str, request: Any) -> None:
    ours = transport.AppSyncTransport(url, host=host, region="eu-west-1", max_connections=2)
    try:
        with signing_frozen():
            body = transport.payload(request.query, request.variables, request.operation_name)
            answer = await ours.post(FROZEN, body)
        assert answer.status == 200
    finally:
        await ours.close()


def signing_frozen() -> Any:
    stamp = WHEN.strftime("%Y%m%dT%H%M%SZ")
    return mock.patch.object(transport, "amz_date", return_value=stamp)


@pytest.mark.parametrize("raw", BODIES)
def test_the_post_is_what_gql_sent(raw: dict[str, Any]) -> None:
    request = parse_envelope(json.dumps(raw), ALLOWED, message_id="m-1")
    before = asyncio.run(_capture(lambda url, host: _through_gql(url, host, request)))
    after = asyncio.run(_capture(lambda url, host: _through_worker(url, host, request)))

    def comparable(seen: dict[str, Any]) -> tuple[Any, ...]:
        # the port differs between the two servers; User-Agent names the client, and is not signed; aiohttp
        # also asked for a compressed answer (Accept-Encoding, not signed), which the worker does not. The body
        # is the same JSON value in fewer bytes, so its length and signature differ: compared below.
        unsigned = (b"host", b"user-agent", b"accept-encoding", b"content-length", b"authorization")
        headers = [(k.lower(), v) for k, v in seen["headers"] if k.lower() not in unsigned]
        return seen["method"], seen["path"], sorted(headers), json.loads(seen["body"])

    assert comparable(before) == comparable(after)
    sent = {k.decode().lower(): v.decode() for k, v in after["headers"]}
    assert sent["content-length"] == str(len(after["body"]))
    # the signature over the body actually sent is botocore's for that body
    expected = botocore_headers(FROZEN, "api.example.com", "eu-west-1", after["body"])
    assert sent["authorization"] == expected["Authorization"]


@pytest.mark.parametrize(
    "value",
    [10**30, -(10**20), "\ud800 lone surrogate", {"nested": [1.5, None, True, "é"]}, "x" * 70_000],
)
def test_the_body_is_the_same_json_value_whatever_orjson_refuses(value: Any) -> None:
    """orjson refuses integers beyond 64 bits and lone surrogates: those bodies fall back to ``json.dumps``, and
    every body is exactly the JSON value gql would have sent."""
    variables = {"input": {"id": "k", "value": value}}
    body = transport.payload("mutation M { m }", variables, "M")
    assert json.loads(body) == {"query": "mutation M { m }", "operationName": "M", "variables": variables}
