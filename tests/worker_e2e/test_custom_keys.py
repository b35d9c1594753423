"""Models as they really are: an ``Order`` keyed by ``orderNumber`` + ``placedAt`` (``@primaryKey``) with a
``@hasMany`` of ``LineItem``, on Amplify's own resolvers compiled from that schema.

The worker gets the key from ``[appsync.model_keys]`` (``MODEL_KEYS``): a create names its record by every key
field, duplicates are one effect, the default selection is the key, and an ``idempotencyKey`` that cannot name
one record is refused before sending. (The stand-in serves only the Todo schema, so these run on Amplify's.)
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from project_settings import load_settings
from sandbox.fixture import Sandbox
from tests.sandbox_schema.project import SCHEMA, write_project
from tests.support import dead_letters, invoke

PLACED_AT = "2026-12-01T10:00:00.000Z"


@pytest.fixture(scope="module")
def sb(amplify_node_modules: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    from sandbox.amplify_backend import amplify_appsync

    settings = load_settings(write_project(tmp_path_factory.mktemp("shop")))
    assert dict(settings.appsync.model_keys) == {"Order": ("orderNumber", "placedAt")}
    with Sandbox.start(settings, schema=SCHEMA) as sandbox, amplify_appsync(sandbox, amplify_node_modules):
        yield sandbox


def _orders(sb: Sandbox, number: str) -> list[dict[str, Any]]:
    return [item for item in sb.table_items("Order") if item.get("orderNumber") == number]


def _order(number: str, **extra: Any) -> str:
    return json.dumps(
        {
            "mutation": "createOrder",
            "input": {"orderNumber": number, "placedAt": PLACED_AT, "total": 9.5},
            **extra,
        }
    )


def test_a_create_is_applied_and_selects_the_key_by_default(
    sb: Sandbox, container: Callable[..., None]
) -> None:
    number = f"A-{uuid.uuid4().hex[:8]}"
    sb.send_messages([_order(number)])
    _, response = invoke(sb)
    assert response == {"batchItemFailures": []}
    [item] = _orders(sb, number)
    assert item["placedAt"] == PLACED_AT and "id" not in item  # no id was injected into a custom key


def test_duplicates_of_a_keyed_create_are_one_record(sb: Sandbox, container: Callable[..., None]) -> None:
    number = f"D-{uuid.uuid4().hex[:8]}"
    sb.send_messages([_order(number), _order(number)])  # the same batch
    _, first = invoke(sb)
    sb.send_messages([_order(number)])  # a later batch
    _, second = invoke(sb)
    assert first == second == {"batchItemFailures": []}
    assert len(_orders(sb, number)) == 1
    assert not [f for f in dead_letters(sb).values() if number in f.get("body", "")]


def test_a_keyed_create_applied_then_timed_out_is_one_record(
    sb: Sandbox, container: Callable[..., None]
) -> None:
    container(REQUEST_TIMEOUT_SECONDS="1", MAX_ATTEMPTS="4")
    number = f"T-{uuid.uuid4().hex[:8]}"
    sb.appsync.faults.stall_after_apply_next(1, seconds=2.0)
    sb.send_messages([_order(number)])
    _, response = invoke(sb)
    assert response == {"batchItemFailures": []}
    assert len(_orders(sb, number)) == 1


def test_an_idempotency_key_that_cannot_name_one_order_is_refused_before_sending(
    sb: Sandbox, container: Callable[..., None]
) -> None:
    requests = sb.appsync.stats.requests
    body = json.dumps({"mutation": "createOrder", "input": {"orderNumber": "K-1"}, "idempotencyKey": "k-1"})
    [message_id] = sb.send_messages([body])
    _, response = invoke(sb)
    assert response == {"batchItemFailures": []}
    letter = dead_letters(sb)[message_id]
    assert letter["errorType"] == "InvalidEnvelope"
    assert "its primary key is (orderNumber, placedAt)" in letter["reason"]
    assert sb.appsync.stats.requests == requests


def test_with_every_key_field_an_idempotency_key_is_only_a_label(
    sb: Sandbox, container: Callable[..., None]
) -> None:
    number = f"L-{uuid.uuid4().hex[:8]}"
    sb.send_messages([_order(number, idempotencyKey="label-1")])
    _, response = invoke(sb)
    assert response == {"batchItemFailures": []}
    assert len(_orders(sb, number)) == 1


def test_update_and_delete_by_the_key(sb: Sandbox, container: Callable[..., None]) -> None:
    number = f"U-{uuid.uuid4().hex[:8]}"
    key = {"orderNumber": number, "placedAt": PLACED_AT}
    sb.send_messages([_order(number)])
    invoke(sb)
    sb.send_messages([json.dumps({"mutation": "updateOrder", "input": {**key, "customer": "Ada"}})])
    _, updated = invoke(sb)
    assert updated == {"batchItemFailures": []}
    assert _orders(sb, number)[0]["customer"] == "Ada"
    sb.send_messages([json.dumps({"mutation": "deleteOrder", "input": key})])
    _, deleted = invoke(sb)
    assert deleted == {"batchItemFailures": []}
    assert _orders(sb, number) == []


def test_an_id_keyed_child_without_an_id_takes_the_message_id(
    sb: Sandbox, container: Callable[..., None]
) -> None:
    [message_id] = sb.send_messages([json.dumps({"mutation": "createLineItem", "input": {"sku": "S-1"}})])
    _, response = invoke(sb)
    assert response == {"batchItemFailures": []}
    assert message_id in {item["id"] for item in sb.table_items("LineItem")}
