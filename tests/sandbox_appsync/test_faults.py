"""Injected faults, each seen by a real client, and the stats that count them."""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Any

import pytest
import requests
from botocore.credentials import Credentials
from gql import Client as GqlClient
from gql import GraphQLRequest, gql
from gql.transport.aiohttp import AIOHTTPTransport
from gql.transport.appsync_auth import AppSyncIAMAuthentication
from gql.transport.exceptions import TransportConnectionFailed, TransportServerError

from tests.support import wait_for

TYPENAME = b'{"query":"query { __typename }"}'


def test_fail_next_answers_the_next_requests_then_recovers(appsync: Any, client: Any) -> None:
    appsync.faults.fail_next(2, status=429)
    first, second, third = (client.raw(TYPENAME) for _ in range(3))
    assert first.status == second.status == 429
    assert first.body == {"errors": [{"errorType": "TooManyRequestsException", "message": "Rate exceeded"}]}
    assert third.status == 200
    assert appsync.stats.by_status == {429: 2, 200: 1}
    assert appsync.stats.by_outcome == {"fault_429": 2, "ok": 1}


@pytest.mark.parametrize(("status", "json_body"), [(500, True), (502, False), (503, True)])
def test_server_errors(appsync: Any, client: Any, status: int, json_body: bool) -> None:
    appsync.faults.fail_next(1, status=status)
    reply = client.raw(TYPENAME)
    assert reply.status == status
    assert isinstance(reply.body, dict) is json_body


def test_fail_rate_is_seeded_and_bounded(appsync: Any, client: Any) -> None:
    def run() -> list[int]:
        appsync.faults.clear()
        appsync.faults.fail_rate(0.5, status=500, seed=7)
        return [client.raw(TYPENAME).status for _ in range(16)]

    first = run()
    assert first == run()  # same seed, same sequence
    assert set(first) == {200, 500}
    appsync.faults.fail_rate(1.0, status=503)
    assert {client.raw(TYPENAME).status for _ in range(3)} == {503}
    with pytest.raises(ValueError):
        appsync.faults.fail_rate(1.5)
    with pytest.raises(ValueError):
        appsync.faults.fail_next(1, status=404)


def test_connection_reset_without_a_response(appsync: Any, client: Any) -> None:
    appsync.faults.reset_next(1)
    with pytest.raises(requests.ConnectionError):
        client.raw(TYPENAME)
    assert client.raw(TYPENAME).status == 200
    assert appsync.stats.by_outcome == {"reset": 1, "ok": 1}


def test_reset_rate(appsync: Any, client: Any) -> None:
    appsync.faults.reset_rate(1.0)
    with pytest.raises(requests.ConnectionError):
        client.raw(TYPENAME)
    appsync.faults.clear()
    assert client.raw(TYPENAME).status == 200


def test_slow_response_outlasts_the_client_timeout(appsync: Any, client: Any) -> None:
    appsync.faults.slow_next(1, seconds=3.0)
    with pytest.raises(requests.Timeout):
        client.raw(TYPENAME, timeout=0.3)
    assert client.raw(TYPENAME).status == 200  # the next request is not slowed


def test_added_latency_outlasts_a_shorter_timeout(appsync: Any, client: Any) -> None:
    appsync.faults.set_latency(2000, jitter_ms=100)
    with pytest.raises(requests.Timeout):
        client.raw(TYPENAME, timeout=0.2)
    appsync.faults.set_latency(0)
    assert client.raw(TYPENAME).status == 200


def test_apply_then_stall_makes_the_retry_meet_its_own_first_attempt(
    appsync: Any, client: Any, kit: Any
) -> None:
    variables = {"input": {"id": kit.new_id(), "name": "once"}}
    appsync.faults.stall_after_apply_next(1, seconds=5.0)
    with pytest.raises(requests.Timeout):
        client.raw(_body(kit.CREATE, variables), timeout=0.3)
    wait_for(lambda: len(appsync.stats.mutations) == 1, "the stalled create to be applied")
    retry = client.gql(kit.CREATE, variables)
    assert retry.body["data"] == {"createTodo": None}
    assert retry.error["errorType"] == "DynamoDB:ConditionalCheckFailedException"


def _body(query: str, variables: dict[str, Any]) -> bytes:
    return json.dumps({"query": query, "variables": variables}).encode()


def test_faults_can_change_while_requests_are_in_flight(appsync: Any, client: Any) -> None:
    appsync.faults.slow_all(0.2)
    results: list[int] = []
    worker = threading.Thread(target=lambda: results.append(client.raw(TYPENAME).status))
    worker.start()
    appsync.faults.fail_next(1, status=503)
    worker.join()
    assert results in ([200], [503])  # whichever drew first; neither crashes
    appsync.faults.clear()
    assert client.raw(TYPENAME).status == 200


async def test_gql_sees_faults_as_transport_errors_and_concurrent_load_succeeds(
    appsync: Any, caller: Any, kit: Any
) -> None:
    host = appsync.url.split("/")[2]
    credentials = Credentials(caller.access_key_id, caller.secret_access_key, caller.session_token)
    auth = AppSyncIAMAuthentication(host=host, credentials=credentials, region_name=kit.REGION)
    transport = AIOHTTPTransport(url=appsync.url, auth=auth)
    async with GqlClient(transport=transport) as session:
        appsync.faults.fail_next(1, status=502)
        with pytest.raises(TransportServerError) as raised:
            await session.execute(gql("query { __typename }"))
        assert raised.value.code == 502
        appsync.faults.reset_next(1)
        with pytest.raises(TransportConnectionFailed):
            await session.execute(gql("query { __typename }"))

        appsync.faults.set_latency(25, jitter_ms=5)
        create = gql(kit.CREATE)
        ids = [kit.new_id() for _ in range(30)]
        requests_ = [
            GraphQLRequest(create, variable_values={"input": {"id": i, "name": "load"}}) for i in ids
        ]
        results = await asyncio.gather(*(session.execute(r) for r in requests_))
    assert sorted(r["createTodo"]["id"] for r in results) == sorted(ids)
    assert sorted(m.item_id for m in appsync.stats.mutations) == sorted(ids)
    assert appsync.stats.by_caller == {caller.arn: 30}  # faults come before authentication: unattributed


def test_stats_reset(appsync: Any, client: Any) -> None:
    client.raw(TYPENAME)
    assert appsync.stats.requests == 1
    appsync.stats.reset()
    assert appsync.stats.snapshot() == {
        "requests": 0,
        "by_status": {},
        "by_outcome": {},
        "by_caller": {},
        "mutations": 0,
    }
