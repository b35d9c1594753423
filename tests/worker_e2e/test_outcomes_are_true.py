"""Every reported outcome is true: "applied" and "already applied" only when account B's table shows the effect.

Each case here was once reported as a success while nothing was written (or a duplicate was written): a skipped
mutation field, a create or delete refused by the caller's own condition, a create without an id that was
applied and then timed out.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from sandbox.fixture import Sandbox
from sandbox.lambda_runtime import LambdaContext
from tests.support import dead_letters
from worker.handler import lambda_handler

pytestmark = pytest.mark.both_backends


def _todo(sb: Sandbox, todo_id: str) -> dict[str, Any] | None:
    return next((item for item in sb.table_items() if item["id"] == todo_id), None)


def _seed(sb: Sandbox, todo_id: str, name: str) -> None:
    sb.client("dynamodb", "B").put_item(
        TableName=sb.table_name, Item={"id": {"S": todo_id}, "name": {"S": name}, "__typename": {"S": "Todo"}}
    )


def _direct(envelope: dict[str, Any]) -> dict[str, Any]:
    return lambda_handler(envelope, LambdaContext(timeout_ms=30_000))


SKIPPED_FIELD = [
    "mutation M($input: CreateTodoInput!) { createTodo(input: $input) @skip(if: true) { id } }",
    "mutation M($input: CreateTodoInput!) { createTodo(input: $input) @include(if: false) { id } }",
    "mutation M($input: CreateTodoInput!, $s: Boolean!) { createTodo(input: $input) @skip(if: $s) { id } }",
]


def test_a_mutation_field_that_directives_can_drop_is_refused_before_sending(
    sb: Sandbox, container: Callable[..., None], kit: Any
) -> None:
    keys = [f"skip-{uuid.uuid4().hex[:8]}" for _ in SKIPPED_FIELD]
    bodies = [
        json.dumps({"query": query, "variables": {"input": {"name": "x"}, "s": True}, "idempotencyKey": key})
        for query, key in zip(SKIPPED_FIELD, keys, strict=True)
    ]
    requests_before = sb.appsync.stats.requests
    ids = sb.send_messages(bodies)
    _, response = kit.invoke(sb)
    assert response == {"batchItemFailures": []}
    letters = dead_letters(sb)
    for message_id in ids:
        assert letters[message_id]["errorType"] == "InvalidEnvelope"
        assert "directives on the mutation field" in letters[message_id]["reason"]
    assert not set(keys) & kit.table_ids(sb)
    assert sb.appsync.stats.requests == requests_before  # refused before any network call


def test_an_answer_without_the_field_data_is_not_applied(
    sb: Sandbox, container: Callable[..., None], kit: Any
) -> None:
    """What AppSync answers for a skipped field (``data: {}``), or a resolver that returned nothing."""
    for canned in ('{"data": {}}', '{"data": {"createTodo": null}}', '{"data": null}'):
        sb.appsync.faults.answer_next(1, canned)
        key = f"nodata-{uuid.uuid4().hex[:8]}"
        outcome = _direct({"mutation": "createTodo", "input": {"name": "x"}, "idempotencyKey": key})
        assert outcome["status"] == "dead_lettered", canned
        assert outcome["errorType"] == "NoEffect"
        assert "nothing shows the mutation ran" in outcome["reason"]
        assert _todo(sb, key) is None


def test_a_create_refused_by_its_own_condition_is_not_already_applied(
    sb: Sandbox, container: Callable[..., None], kit: Any
) -> None:
    key = f"cond-create-{uuid.uuid4().hex[:8]}"
    [message_id] = sb.send_messages(
        [
            json.dumps(
                {
                    "mutation": "createTodo",
                    "input": {"name": "a"},
                    "condition": {"name": {"eq": "something else"}},
                    "idempotencyKey": key,
                }
            )
        ]
    )
    _, response = kit.invoke(sb)
    assert response == {"batchItemFailures": []}
    assert _todo(sb, key) is None  # nothing was created ...
    letter = dead_letters(sb)[message_id]  # ... and it says so, in the DLQ
    assert letter["errorType"] == "DynamoDB:ConditionalCheckFailedException"
    assert "the envelope's own condition is false" in letter["reason"]


def test_a_delete_refused_by_its_own_condition_after_a_retry_is_not_already_applied(
    sb: Sandbox, container: Callable[..., None], kit: Any
) -> None:
    container(MAX_ATTEMPTS="3")
    todo_id = f"cond-delete-{uuid.uuid4().hex[:8]}"
    _seed(sb, todo_id, "keep me")
    sb.appsync.faults.fail_next(
        1, status=503
    )  # the first attempt fails transiently; the retry meets the check
    envelope = {"mutation": "deleteTodo", "input": {"id": todo_id}, "condition": {"name": {"eq": "other"}}}
    outcome = _direct(envelope)
    assert outcome["status"] == "dead_lettered"
    assert "the envelope's own condition is false" in outcome["reason"]
    assert _todo(sb, todo_id) is not None  # still there


def test_a_redelivered_delete_refused_by_its_own_condition_stays_a_failure(
    sb: Sandbox, container: Callable[..., None], kit: Any
) -> None:
    container(MAX_ATTEMPTS="1")
    todo_id = f"cond-redelivered-{uuid.uuid4().hex[:8]}"
    _seed(sb, todo_id, "keep me")
    envelope = {"mutation": "deleteTodo", "input": {"id": todo_id}, "condition": {"name": {"eq": "other"}}}
    [message_id] = sb.send_messages([json.dumps(envelope)])
    sb.appsync.faults.fail_next(1, status=503)
    _, first = kit.invoke(sb)
    assert first == {"batchItemFailures": [{"itemIdentifier": message_id}]}
    event, second = kit.invoke(sb)
    assert event["Records"][0]["attributes"]["ApproximateReceiveCount"] == "2"
    assert second == {"batchItemFailures": []}
    assert _todo(sb, todo_id) is not None
    assert "the envelope's own condition is false" in dead_letters(sb)[message_id]["reason"]


def test_a_redelivered_delete_without_a_condition_whose_item_is_gone_is_already_applied(
    sb: Sandbox, container: Callable[..., None], kit: Any
) -> None:
    """The rule that still holds: the requested effect (no such item) is proven, and nothing else explains it."""
    container(MAX_ATTEMPTS="1", REQUEST_TIMEOUT_SECONDS="1")
    todo_id = f"delete-{uuid.uuid4().hex[:8]}"
    _seed(sb, todo_id, "remove me")
    [message_id] = sb.send_messages([json.dumps({"mutation": "deleteTodo", "input": {"id": todo_id}})])
    sb.appsync.faults.stall_after_apply_next(1, seconds=2.0)  # deleted, but the answer comes too late
    _, first = kit.invoke(sb)
    assert first == {"batchItemFailures": [{"itemIdentifier": message_id}]}
    _, second = kit.invoke(sb)
    assert second == {"batchItemFailures": []}
    assert _todo(sb, todo_id) is None
    assert message_id not in dead_letters(sb)


def test_a_create_without_id_or_key_applied_then_timed_out_is_one_record(
    sb: Sandbox, container: Callable[..., None], kit: Any
) -> None:
    container(REQUEST_TIMEOUT_SECONDS="1", MAX_ATTEMPTS="4")
    name = f"no-key-{uuid.uuid4().hex[:8]}"
    [message_id] = sb.send_messages([json.dumps({"mutation": "createTodo", "input": {"name": name}})])
    sb.appsync.faults.stall_after_apply_next(1, seconds=2.0)
    _, response = kit.invoke(sb)
    assert response == {"batchItemFailures": []}
    created = [item for item in sb.table_items() if item.get("name") == name]
    assert [item["id"] for item in created] == [message_id]  # the message's id is the record's id


def test_the_same_create_without_a_key_delivered_twice_is_one_record(
    sb: Sandbox, container: Callable[..., None], kit: Any
) -> None:
    """A redelivery carries the same message id: the second delivery meets the first one's record."""
    container(MAX_ATTEMPTS="1", REQUEST_TIMEOUT_SECONDS="1")
    name = f"redelivered-{uuid.uuid4().hex[:8]}"
    [message_id] = sb.send_messages([json.dumps({"mutation": "createTodo", "input": {"name": name}})])
    sb.appsync.faults.stall_after_apply_next(1, seconds=2.0)
    _, first = kit.invoke(sb)
    assert first == {"batchItemFailures": [{"itemIdentifier": message_id}]}
    _, second = kit.invoke(sb)
    assert second == {"batchItemFailures": []}
    assert [item["id"] for item in sb.table_items() if item.get("name") == name] == [message_id]


def test_opting_out_of_message_ids_never_resends_an_unanswered_create(
    sb: Sandbox, container: Callable[..., None], kit: Any
) -> None:
    container(REQUEST_TIMEOUT_SECONDS="1", MAX_ATTEMPTS="4", CREATE_ID_FROM_MESSAGE="false")
    name = f"opt-out-{uuid.uuid4().hex[:8]}"
    [message_id] = sb.send_messages([json.dumps({"mutation": "createTodo", "input": {"name": name}})])
    sb.appsync.faults.stall_after_apply_next(1, seconds=2.0)
    _, response = kit.invoke(sb)
    assert response == {"batchItemFailures": []}
    created = [item for item in sb.table_items() if item.get("name") == name]
    assert len(created) == 1 and created[0]["id"] != message_id  # Amplify's own id, written once
    letter = dead_letters(sb)[message_id]
    assert letter["errorType"] == "OutcomeUnknown"
    assert "could create a second record" in letter["reason"]


def test_an_eventbridge_create_without_a_key_takes_the_event_id(
    sb: Sandbox, container: Callable[..., None], kit: Any
) -> None:
    name = f"event-{uuid.uuid4().hex[:8]}"
    event = sb.eventbridge_event({"mutation": "createTodo", "input": {"name": name}})
    for _ in range(2):  # EventBridge's own retry of the same event
        assert lambda_handler(event, LambdaContext(timeout_ms=30_000))["status"] in (
            "applied",
            "already_applied",
        )
    assert [item["id"] for item in sb.table_items() if item.get("name") == name] == [event["id"]]
