"""``MutationClient`` over real aiohttp connections to a scripted GraphQL server on 127.0.0.1.

What is checked: what each answer becomes (applied, already applied, the classified error), the retry and stop
rules (attempts, the deadline, no resend of an unanswered create without an id), and that each request carries
a SigV4 signature made with the credentials of its attempt. AppSync's answers are scripted per test; the
credentials come from the real refresh policy over a scripted STS.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from aiohttp import web

from tests.support.clients import ScriptedSTS
from worker.client import MutationClient, RetryPolicy
from worker.config import WorkerConfig
from worker.credentials import AssumedRoleCredentials
from worker.envelope import parse_envelope
from worker.errors import (
    ConditionalCheckFailedError,
    ConnectionFault,
    NoEffectError,
    OutcomeUnknownError,
    OutOfTimeError,
    RequestTimeout,
    ServerError,
)
from worker.outcomes import Status

ALLOWED = frozenset({"createTodo", "updateTodo", "deleteTodo"})
CCF = {
    "data": {"createTodo": None},
    "errors": [
        {
            "path": ["createTodo"],
            "errorType": "DynamoDB:ConditionalCheckFailedException",
            "message": "The conditional request failed (Service: DynamoDb, Status Code: 400)",
        }
    ],
}


class Server:
    """Each request gets the next scripted answer: (status, body) or a callable doing something worse."""

    def __init__(self) -> None:
        self.answers: list[Any] = []
        self.requests: list[dict[str, Any]] = []
        self.url = ""

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.requests.append({"headers": dict(request.headers), "body": await request.json()})
        answer = self.answers.pop(0) if self.answers else (200, {"data": {"createTodo": {"id": "x"}}})
        if callable(answer):
            return await answer(request)
        status, body = answer
        return web.json_response(body, status=status)


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    script = Server()
    app = web.Application()
    app.router.add_post("/graphql", script.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]  # the port the OS gave the site (aiohttp's public AppRunner.addresses)
    script.url = f"http://127.0.0.1:{port}/graphql"
    yield script
    await runner.cleanup()


@pytest.fixture
async def client(server: Server) -> AsyncIterator[Callable[..., MutationClient]]:
    made: list[MutationClient] = []

    def make(timeout: float = 2.0, attempts: int = 4, url: str | None = None) -> MutationClient:
        config = WorkerConfig.from_environ(
            {
                "APPSYNC_URL": url or server.url,
                "APPSYNC_REGION": "eu-west-1",
                "MUTATOR_ROLE_ARN": "arn:aws:iam::222222222222:role/R",
                "MUTATOR_SESSION_NAME": "pinned",
                "ALLOWED_MUTATIONS": ",".join(sorted(ALLOWED)),
                "REQUEST_TIMEOUT_SECONDS": str(timeout),
            }
        )
        credentials = AssumedRoleCredentials.assuming(
            ScriptedSTS(), role_arn=config.role_arn, session_name=config.session_name, duration_seconds=3600
        )
        policy = RetryPolicy(max_attempts=attempts, base_delay=0.01, max_delay=0.05)
        made.append(MutationClient(config, credentials, retry_policy=policy))
        return made[-1]

    yield make
    for each in made:
        await each.close()


def _create(**extra: Any) -> Any:
    envelope = {"mutation": "createTodo", "input": {"name": "x"}, **extra}
    return parse_envelope(envelope, ALLOWED)


async def _stall(request: web.Request) -> web.StreamResponse:
    await asyncio.sleep(2)
    return web.json_response({"data": {"createTodo": {"id": "late"}}})


async def test_applied_when_the_field_has_data_and_signed_for_appsync(server: Server, client: Any) -> None:
    result = await client().send(_create(idempotencyKey="k1"))
    assert (result.status, result.data, result.attempts) == (Status.APPLIED, {"id": "x"}, 1)
    [request] = server.requests
    authorization = request["headers"]["Authorization"]
    assert authorization.startswith("AWS4-HMAC-SHA256 Credential=ASIATESTKEY000000001/")
    assert "/eu-west-1/appsync/aws4_request" in authorization
    assert request["headers"]["X-Amz-Security-Token"] == "token"
    assert request["body"]["variables"] == {"input": {"name": "x", "id": "k1"}}


@pytest.mark.parametrize("body", [{"data": {}}, {"data": {"createTodo": None}}, {"data": None}])
async def test_an_answer_without_the_field_data_is_no_effect(server: Server, client: Any, body: Any) -> None:
    server.answers.append((200, body))
    with pytest.raises(NoEffectError):
        await client().send(_create(idempotencyKey="k1"))
    assert len(server.requests) == 1  # permanent: not retried


async def test_transient_answers_are_retried(server: Server, client: Any) -> None:
    server.answers += [
        (503, {"errors": [{"message": "busy"}]}),
        (429, {"errors": [{"message": "slow down"}]}),
    ]
    result = await client().send(_create(idempotencyKey="k1"))
    assert result.status is Status.APPLIED and result.attempts == 3


async def test_retries_stop_after_max_attempts(server: Server, client: Any) -> None:
    server.answers += [(503, {"errors": [{"message": "busy"}]})] * 5
    with pytest.raises(ServerError) as caught:
        await client(attempts=3).send(_create(idempotencyKey="k1"))
    assert caught.value.attempts == 3 and len(server.requests) == 3


async def test_a_duplicate_create_is_already_applied_but_not_with_its_own_condition(
    server: Server, client: Any
) -> None:
    server.answers.append((200, CCF))
    result = await client().send(_create(idempotencyKey="k1"))
    assert result.status is Status.ALREADY_APPLIED
    server.answers.append((200, CCF))
    with pytest.raises(ConditionalCheckFailedError, match="the envelope's own condition is false"):
        await client().send(_create(idempotencyKey="k2", condition={"name": {"eq": "y"}}))


async def test_an_attempt_is_cut_to_the_deadline(server: Server, client: Any) -> None:
    server.answers += [_stall] * 3
    started = time.monotonic()
    with pytest.raises(RequestTimeout):
        await client(timeout=10).send(_create(idempotencyKey="k1"), deadline=time.monotonic() + 0.6)
    assert time.monotonic() - started < 1.5  # not the 10 s request timeout, not the 2 s stall


async def test_no_attempt_starts_without_time_for_it(server: Server, client: Any) -> None:
    with pytest.raises(OutOfTimeError):
        await client().send(_create(idempotencyKey="k1"), deadline=time.monotonic() + 0.05)
    assert server.requests == []


async def test_an_unanswered_create_without_an_id_is_not_sent_again(server: Server, client: Any) -> None:
    server.answers.append(_stall)
    with pytest.raises(OutcomeUnknownError, match="could create a second record"):
        await client(timeout=0.3).send(_create())  # no id, no key, no message id
    assert len(server.requests) == 1


async def test_a_refused_connection_sent_nothing_so_even_a_create_without_an_id_is_retried(
    client: Any,
) -> None:
    import socket

    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]  # closed again: nothing listens there
    with pytest.raises(ConnectionFault) as caught:
        await client(attempts=2, url=f"http://127.0.0.1:{port}/graphql").send(_create())
    assert caught.value.attempts == 2 and not caught.value.maybe_applied


async def test_each_attempt_is_signed_with_the_set_fetched_for_it(server: Server, client: Any) -> None:
    expired = {
        "errors": [
            {
                "errorType": "UnrecognizedClientException",
                "message": "The security token included in the request is expired",
            }
        ]
    }
    server.answers.append((401, expired))
    worker = client()
    result = await worker.send(_create(idempotencyKey="k1"))
    assert result.status is Status.APPLIED and result.attempts == 2
    keys = [r["headers"]["Authorization"].split("Credential=")[1].split("/")[0] for r in server.requests]
    assert keys == ["ASIATESTKEY000000001", "ASIATESTKEY000000002"]  # the rejected set was replaced
    assert json.dumps(server.requests[0]["body"]) == json.dumps(server.requests[1]["body"])
