"""Signed requests never follow a redirect.

aiohttp follows redirects by default and strips only ``Authorization`` on a change of origin: the session token
(``X-Amz-Security-Token``) and, on 307/308, the body would reach the new host. Two real servers on 127.0.0.1: the
first answers 3xx pointing at the second; the second must receive nothing, and the failure is permanent (no retry)
and names the ``Location``. Both the worker's transport (aiohttp) and the operator's (requests) are probed.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiohttp import web
from botocore.credentials import Credentials

from mutation_cli.signed_http import SignedGraphQL
from tests.support.clients import ScriptedSTS, client_config
from worker.client import MutationClient, RetryPolicy
from worker.credentials import AssumedRoleCredentials
from worker.envelope import parse_envelope
from worker.errors import RedirectRefusedError

ALLOWED = frozenset({"createTodo"})
REDIRECTS = [301, 302, 303, 307, 308]


# --- the worker's transport -----------------------------------------------------------------------------
class Recorder:
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.url = ""
        self.status = 307

    async def redirect(self, request: web.Request) -> web.StreamResponse:
        self.requests.append({"headers": dict(request.headers), "body": await request.read()})
        return web.Response(status=self.status, headers={"Location": self.target})

    async def record(self, request: web.Request) -> web.StreamResponse:
        self.requests.append({"headers": dict(request.headers), "body": await request.read()})
        return web.json_response({"data": {"createTodo": {"id": "stolen"}}})

    target = ""


async def _serve(handler: Any) -> tuple[web.AppRunner, str]:
    app = web.Application()
    app.router.add_route("*", "/graphql", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]  # the port the OS gave the site (aiohttp's public AppRunner.addresses)
    return runner, f"http://127.0.0.1:{port}/graphql"


@pytest.fixture
async def pair() -> AsyncIterator[tuple[Recorder, Recorder]]:
    first, second = Recorder(), Recorder()
    runner_1, first.url = await _serve(first.redirect)
    runner_2, second.url = await _serve(second.record)
    first.target = second.url
    yield first, second
    await runner_1.cleanup()
    await runner_2.cleanup()


@pytest.mark.parametrize("status", REDIRECTS)
async def test_worker_does_not_follow_a_redirect(pair: tuple[Recorder, Recorder], status: int) -> None:
    first, second = pair
    first.status = status
    config = client_config(first.url, ALLOWED)
    credentials = AssumedRoleCredentials.assuming(
        ScriptedSTS(session_token="the-session-token"),
        role_arn=config.role_arn,
        session_name=config.session_name,
        duration_seconds=3600,
    )
    client = MutationClient(config, credentials, retry_policy=RetryPolicy(max_attempts=4, base_delay=0.01))
    try:
        request = parse_envelope(
            {"mutation": "createTodo", "input": {"name": "x"}, "idempotencyKey": "k"}, ALLOWED
        )
        with pytest.raises(RedirectRefusedError) as refused:
            await client.send(request)
        # the same message again (a redelivery): refused the same way, still nothing at the second host
        with pytest.raises(RedirectRefusedError):
            await client.send(request)
    finally:
        await client.close()
    assert second.requests == []
    assert len(first.requests) == 2  # one attempt per send: permanent, never retried
    assert first.requests[0]["headers"]["X-Amz-Security-Token"] == "the-session-token"  # it was signed
    assert refused.value.retryable is False
    assert second.url in refused.value.reason and f"HTTP {status}" in refused.value.reason


# --- the operator's transport (requests) --------------------------------------------------------------------
class _Http(ThreadingHTTPServer):
    def __init__(self, status: int, target: str) -> None:
        self.status, self.target = status, target
        self.seen: list[dict[str, str]] = []
        super().__init__(("127.0.0.1", 0), _Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/graphql"


class _Handler(BaseHTTPRequestHandler):
    server: _Http

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length", 0)))
        self.server.seen.append(dict(self.headers))
        if self.server.status:
            self.send_response(self.server.status)
            self.send_header("Location", self.server.target)
            self.send_header("content-length", "0")
            self.end_headers()
            return
        body = b'{"data": {"createTodo": {"id": "stolen"}}}'
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def http_pair() -> Iterator[tuple[_Http, _Http]]:
    second = _Http(0, "")
    first = _Http(307, second.url)
    threads = [threading.Thread(target=s.serve_forever, daemon=True) for s in (first, second)]
    for thread in threads:
        thread.start()
    yield first, second
    for server in (first, second):
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("status", REDIRECTS)
def test_operator_path_does_not_follow_a_redirect(http_pair: tuple[_Http, _Http], status: int) -> None:
    first, second = http_pair
    first.status = status
    signed = SignedGraphQL(
        client_config(first.url, ALLOWED), Credentials("ASIAKEY", "secret", "the-session-token")
    )
    try:
        answers = [signed.post({"query": "mutation { createTodo(input: {}) { id } }"}) for _ in range(2)]
    finally:
        signed.close()
    assert second.seen == []
    assert len(first.seen) == 2
    assert {k.lower(): v for k, v in first.seen[0].items()}["x-amz-security-token"] == "the-session-token"
    for answer in answers:
        assert isinstance(answer.error, RedirectRefusedError), answer
        assert answer.error.retryable is False
        assert second.url in answer.error.reason
