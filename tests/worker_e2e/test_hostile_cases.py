"""Cases a hostile review found where the report was not true (each failed before its fix).

A create answered too late near the deadline, a literal input next to a stray ``variables.input``, an answer
carrying the field's data and a nested error, an aliased field, deep input, a non-object EventBridge detail,
escaped input values in AppSync's messages, an empty id.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from sandbox.fixture import Sandbox
from sandbox.lambda_runtime import LambdaContext
from tests.support import dead_letters, invoke
from worker.handler import lambda_handler


def _direct(envelope: dict[str, Any], timeout_ms: int = 30_000) -> dict[str, Any]:
    return lambda_handler(envelope, LambdaContext(timeout_ms=timeout_ms))


def _named(sb: Sandbox, name: str) -> list[dict[str, Any]]:
    return [item for item in sb.table_items() if item.get("name") == name]


def _seed(sb: Sandbox, todo_id: str, name: str) -> None:
    sb.client("dynamodb", "B").put_item(
        TableName=sb.table_name, Item={"id": {"S": todo_id}, "name": {"S": name}, "__typename": {"S": "Todo"}}
    )


@pytest.mark.both_backends
def test_a_create_that_names_no_record_is_not_sent_without_time_for_its_whole_answer(
    sb: Sandbox, container: Callable[..., None]
) -> None:
    """Cut short at the deadline it could be applied and redelivered: written twice. It waits instead."""
    container(CREATE_ID_FROM_MESSAGE="false", REQUEST_TIMEOUT_SECONDS="3")
    name = f"late-{uuid.uuid4().hex[:8]}"
    [message_id] = sb.send_messages([json.dumps({"mutation": "createTodo", "input": {"name": name}})])
    sb.appsync.faults.stall_after_apply_next(1, seconds=2.0)
    requests = sb.appsync.stats.requests
    _, first = invoke(sb, timeout_ms=2_000)  # less than its 3 s timeout + 2 s to dead-letter: not sent
    assert first == {"batchItemFailures": [{"itemIdentifier": message_id}]}
    assert sb.appsync.stats.requests == requests and _named(sb, name) == []
    _, second = invoke(sb, timeout_ms=20_000)  # time for the whole answer (2 s late, within 3 s)
    assert second == {"batchItemFailures": []}
    assert len(_named(sb, name)) == 1


@pytest.mark.both_backends
def test_a_stray_input_variable_is_not_the_record(sb: Sandbox, container: Callable[..., None]) -> None:
    """GraphQL ignores a variable the document does not use: the literal is what is sent."""
    literal_id, ghost = f"lit-{uuid.uuid4().hex[:8]}", f"ghost-{uuid.uuid4().hex[:8]}"
    query = f'mutation {{ createTodo(input: {{id: "{literal_id}", name: "new"}}) {{ id }} }}'
    outcome = _direct({"query": query, "variables": {"input": {"id": ghost}}})
    assert outcome["status"] == "applied"
    items = {item["id"]: item for item in sb.table_items()}
    assert items[literal_id]["name"] == "new" and ghost not in items


@pytest.mark.both_backends
def test_a_literal_create_without_an_id_is_never_resent_whatever_the_variables_say(
    sb: Sandbox, container: Callable[..., None]
) -> None:
    container(CREATE_ID_FROM_MESSAGE="false", REQUEST_TIMEOUT_SECONDS="1", MAX_ATTEMPTS="4")
    name = f"lit-noid-{uuid.uuid4().hex[:8]}"
    query = f'mutation {{ createTodo(input: {{name: "{name}"}}) {{ id }} }}'
    sb.appsync.faults.stall_after_apply_next(1, seconds=2.0)
    outcome = _direct({"query": query, "variables": {"input": {"id": "ghost"}}})
    assert outcome["status"] == "dead_lettered" and outcome["errorType"] == "OutcomeUnknown"
    assert len(_named(sb, name)) == 1


def test_the_field_data_next_to_a_nested_error_is_applied(
    sb: Sandbox, container: Callable[..., None]
) -> None:
    """Field-level @auth or a relation's resolver: the mutation ran; a nested error does not undo it."""
    key = f"partial-{uuid.uuid4().hex[:8]}"
    answer = {
        "data": {"createTodo": {"id": key, "owner": None}},
        "errors": [
            {
                "path": ["createTodo", "owner"],
                "errorType": "Unauthorized",
                "message": "Not Authorized to access owner on type Todo",
            }
        ],
    }
    sb.appsync.faults.answer_next(1, json.dumps(answer))
    outcome = _direct({"mutation": "createTodo", "input": {"name": "x"}, "idempotencyKey": key})
    assert outcome["status"] == "applied"


@pytest.mark.both_backends
def test_an_aliased_field_that_was_applied_is_applied(sb: Sandbox, container: Callable[..., None]) -> None:
    key = f"alias-{uuid.uuid4().hex[:8]}"
    query = "mutation M($input: CreateTodoInput!) { made: createTodo(input: $input) { id } }"
    outcome = _direct({"query": query, "variables": {"input": {"name": "aliased"}}, "idempotencyKey": key})
    assert outcome["status"] == "applied"
    assert key in {item["id"] for item in sb.table_items()}


@pytest.mark.both_backends
def test_deeply_nested_input_is_dead_lettered_with_its_reason(
    sb: Sandbox, container: Callable[..., None]
) -> None:
    inner = '"v"'
    for _ in range(940):
        inner = '{"a":' + inner + "}"
    body = (
        '{"mutation":"createTodo","input":{"name":"x","description":' + inner + '},"idempotencyKey":"deep"}'
    )
    [message_id] = sb.send_messages([body])
    _, response = invoke(sb)
    assert response == {"batchItemFailures": []}
    assert dead_letters(sb)[message_id]["reason"]


@pytest.mark.parametrize("detail", [[{"mutation": "createTodo", "input": {"name": "x"}}], 42, None])
def test_an_eventbridge_detail_that_is_not_an_object_is_dead_lettered_as_sent(
    sb: Sandbox, container: Callable[..., None], detail: Any
) -> None:
    event = sb.eventbridge_event(detail)
    outcome = lambda_handler(event, LambdaContext(timeout_ms=30_000))
    assert outcome["status"] == "dead_lettered" and outcome["errorType"] == "InvalidEnvelope"
    [letter] = [f for f in dead_letters(sb).values() if f.get("sourceMessageId") == event["id"]]
    assert json.loads(letter["body"]) == detail


def test_escaped_input_values_never_reach_info_logs(
    sb: Sandbox, container: Callable[..., None], capsys: pytest.CaptureFixture[str]
) -> None:
    value = "C:\\Users\\alice\\payroll\nDOB 1970"
    capsys.readouterr()
    outcome = _direct({"mutation": "createTodo", "input": {"name": "x", "done": value}})
    assert outcome["status"] == "dead_lettered"
    out = capsys.readouterr().out
    assert "payroll" not in out and "alice" not in out


@pytest.mark.both_backends
def test_an_empty_id_is_refused_not_taken_as_a_record(sb: Sandbox, container: Callable[..., None]) -> None:
    outcome = _direct({"mutation": "createTodo", "input": {"id": "", "name": "x"}})
    assert outcome["status"] == "dead_lettered" and outcome["errorType"] == "InvalidEnvelope"
    assert "non-empty" in outcome["reason"]


# --- second round -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("status", [500, 503])
def test_a_create_that_names_no_record_is_not_resent_after_a_5xx_that_came_after_the_write(
    sb: Sandbox, container: Callable[..., None], status: int
) -> None:
    """AppSync's own InternalFailure / ServiceUnavailable may come after the resolver wrote."""
    container(CREATE_ID_FROM_MESSAGE="false", REQUEST_TIMEOUT_SECONDS="3", MAX_ATTEMPTS="4")
    name = f"after-{status}-{uuid.uuid4().hex[:8]}"
    sb.appsync.faults.fail_after_apply_next(1, status=status)
    outcome = _direct({"mutation": "createTodo", "input": {"name": name}})
    assert outcome["status"] == "dead_lettered" and outcome["errorType"] == "OutcomeUnknown"
    assert len(_named(sb, name)) == 1


def test_a_copied_origin_attribute_does_not_make_another_create_already_applied(
    sb: Sandbox, container: Callable[..., None]
) -> None:
    """A producer forwarding a received message's attributes onto a new body: the digest does not match."""
    from worker.origin import origin_attributes

    first, second = (f"{n}-{uuid.uuid4().hex[:8]}" for n in ("first", "second"))
    [first_id] = sb.send_messages([json.dumps({"mutation": "createTodo", "input": {"name": first}})])
    invoke(sb)
    first_body = json.dumps({"mutation": "createTodo", "input": {"name": first}})
    sb.client("sqs", "A").send_message(
        QueueUrl=sb.queue_url,
        MessageBody=json.dumps({"mutation": "createTodo", "input": {"name": second}}),
        MessageAttributes=origin_attributes(first_id, first_body),
    )
    _, response = invoke(sb)
    assert response == {"batchItemFailures": []}
    assert (
        len(_named(sb, first)) == 1 and len(_named(sb, second)) == 1
    )  # the second was written, not "applied"


def test_a_redriven_copy_keeps_its_origin(sb: Sandbox, container: Callable[..., None]) -> None:
    """The same body with its digest: the copy is the first message (applied, then redriven: one record)."""
    from worker.origin import origin_attributes

    name = f"origin-{uuid.uuid4().hex[:8]}"
    body = json.dumps({"mutation": "createTodo", "input": {"name": name}})
    [first_id] = sb.send_messages([body])
    invoke(sb)
    sb.client("sqs", "A").send_message(
        QueueUrl=sb.queue_url, MessageBody=body, MessageAttributes=origin_attributes(first_id, body)
    )
    _, response = invoke(sb)
    assert response == {"batchItemFailures": []}
    assert [item["id"] for item in _named(sb, name)] == [first_id]


def test_an_error_on_the_field_itself_is_not_applied_even_with_data(
    sb: Sandbox, container: Callable[..., None]
) -> None:
    key = f"field-error-{uuid.uuid4().hex[:8]}"
    answer = {
        "data": {"createTodo": {"id": key}},
        "errors": [
            {"path": ["createTodo"], "errorType": "DynamoDB:ConditionalCheckFailedException", "message": "x"}
        ],
    }
    sb.appsync.faults.answer_next(1, json.dumps(answer))
    outcome = _direct(
        {
            "mutation": "createTodo",
            "input": {"name": "x"},
            "condition": {"name": {"eq": "y"}},
            "idempotencyKey": key,
        }
    )
    assert outcome["status"] == "dead_lettered"
