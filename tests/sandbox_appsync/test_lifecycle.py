"""Start and stop: a free port on 127.0.0.1, and nothing left behind (threads, listener, held requests)."""

from __future__ import annotations

import socket
import threading
from typing import Any

import pytest
import requests

from tests.support import wait_for


def _threads() -> set[str]:
    return {t.name for t in threading.enumerate() if t.name.startswith("appsync-stand-in")}


def test_stop_leaves_no_thread_listener_or_stalled_request(
    identities: Any, dynamodb: Any, roles_file: Any, caller: Any, kit: Any
) -> None:
    from sandbox.appsync import AppSyncStandIn

    before = _threads()
    stand_in = AppSyncStandIn(
        identities=identities,
        dynamodb_client=dynamodb,
        table_name=f"Todo-{kit.API_ID}-{kit.ENV}",
        api_id=kit.API_ID,
        region=kit.REGION,
        account_id=kit.ACCOUNT_B,
        custom_roles_path=roles_file,
        cli_behaviour="normalize",
    )
    url = stand_in.start()
    assert url.startswith("http://127.0.0.1:") and url.endswith("/graphql")
    port = int(url.split(":")[2].split("/")[0])
    client = kit.Client(url, caller)
    assert client.raw(b'{"query":"{ __typename }"}').status == 200  # leaves a keep-alive connection open

    stand_in.faults.slow_all(60.0)
    held: list[BaseException] = []

    def hold() -> None:
        try:
            client.raw(b'{"query":"{ __typename }"}', timeout=30)
        except requests.RequestException as exc:
            held.append(exc)

    waiting = threading.Thread(target=hold)
    waiting.start()
    wait_for(lambda: stand_in.stats.in_flight == 1)
    stand_in.stop()
    waiting.join(timeout=10)
    assert not waiting.is_alive()
    assert held, "the held request must end without an answer when the stand-in stops"
    assert _threads() == before
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
        pass
    stand_in.stop()  # twice is harmless


def test_unknown_cli_behaviour_is_rejected(identities: Any, dynamodb: Any, roles_file: Any, kit: Any) -> None:
    from sandbox.appsync import AppSyncStandIn

    with pytest.raises(ValueError, match="cli_behaviour"):
        AppSyncStandIn(
            identities=identities,
            dynamodb_client=dynamodb,
            table_name="t",
            api_id=kit.API_ID,
            region=kit.REGION,
            account_id=kit.ACCOUNT_B,
            custom_roles_path=roles_file,
            cli_behaviour="latest",
        )


def test_unknown_generation_is_rejected(identities: Any, dynamodb: Any, roles_file: Any, kit: Any) -> None:
    from sandbox.appsync import AppSyncStandIn

    with pytest.raises(ValueError, match=r"^generation=3 must be 1 or 2 \(the Amplify generation"):
        AppSyncStandIn(
            identities=identities,
            dynamodb_client=dynamodb,
            table_name="t",
            api_id=kit.API_ID,
            region=kit.REGION,
            account_id=kit.ACCOUNT_B,
            custom_roles_path=roles_file,
            cli_behaviour="verbatim",
            generation=3,
        )
