"""The worker's main cases, each run on the stand-in and on Amplify's own resolvers (``both_backends``).

Where the two answer differently (README, "Amplify's own resolvers") the test says which is which; every other
assertion is the same for both: what account B's table holds and what the DLQ says.
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

CREATE_DOCUMENT = "mutation M($input: CreateTodoInput!) { createTodo(input: $input) { id name } }"


def _todo(sb: Sandbox, todo_id: str) -> dict[str, Any] | None:
    return next((item for item in sb.table_items() if item["id"] == todo_id), None)


def _direct(envelope: dict[str, Any]) -> dict[str, Any]:
    return lambda_handler(envelope, LambdaContext(timeout_ms=30_000))


def _key(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def test_creates_in_both_envelope_forms_are_applied(
    sb: Sandbox, container: Callable[..., None], kit: Any, backend: str
) -> None:
    short, full = _key("short"), _key("query")
    bodies = [
        kit.create(name="short form", key=short),
        json.dumps(
            {
                "query": CREATE_DOCUMENT,
                "variables": {"input": {"name": "query form"}},
                "operationName": "M",
                "idempotencyKey": full,
            }
        ),
    ]
    sb.send_messages(bodies)
    _, response = kit.invoke(sb)
    assert response == {"batchItemFailures": []}
    assert (_todo(sb, short) or {}).get("name") == "short form"
    created = _todo(sb, full) or {}
    assert created.get("name") == "query form" and created.get("__typename") == "Todo"
    assert created.get("createdAt") and created.get("updatedAt")  # Amplify's resolvers stamp both


def test_a_redelivered_create_is_already_applied(
    sb: Sandbox, container: Callable[..., None], kit: Any
) -> None:
    container(MAX_ATTEMPTS="1", REQUEST_TIMEOUT_SECONDS="1")
    key = _key("redelivered")
    [message_id] = sb.send_messages([kit.create(key=key)])
    sb.appsync.faults.stall_after_apply_next(1, seconds=2.0)  # written, but answered too late
    _, first = kit.invoke(sb)
    assert first == {"batchItemFailures": [{"itemIdentifier": message_id}]}
    _, second = kit.invoke(sb)  # the redelivery meets attribute_not_exists(id)
    assert second == {"batchItemFailures": []}
    assert [item["id"] for item in sb.table_items() if item["id"] == key] == [key]
    assert message_id not in dead_letters(sb)


def test_updates_with_and_without_conditions(sb: Sandbox, container: Callable[..., None], kit: Any) -> None:
    todo_id = _key("update")
    assert _direct({"mutation": "createTodo", "input": {"id": todo_id, "name": "v1"}})["status"] == "applied"
    plain = _direct({"mutation": "updateTodo", "input": {"id": todo_id, "name": "v2", "done": True}})
    assert plain["status"] == "applied"
    assert (_todo(sb, todo_id) or {}).get("name") == "v2"
    holds = _direct(
        {
            "mutation": "updateTodo",
            "input": {"id": todo_id, "name": "v3"},
            "condition": {"name": {"eq": "v2"}},
        }
    )
    assert holds["status"] == "applied"
    assert (_todo(sb, todo_id) or {}).get("name") == "v3"
    fails = _direct(
        {
            "mutation": "updateTodo",
            "input": {"id": todo_id, "name": "v4"},
            "condition": {"name": {"eq": "v1"}},
        }
    )
    assert fails["status"] == "dead_lettered"
    assert fails["errorType"] == "DynamoDB:ConditionalCheckFailedException"
    assert "the envelope's own condition is false" in fails["reason"]
    assert (_todo(sb, todo_id) or {}).get("name") == "v3"  # unchanged
    missing = _direct({"mutation": "updateTodo", "input": {"id": _key("no-such"), "name": "x"}})
    assert missing["status"] == "dead_lettered"
    assert missing["errorType"] == "DynamoDB:ConditionalCheckFailedException"


def test_deletes_and_deletes_of_missing_items(sb: Sandbox, container: Callable[..., None], kit: Any) -> None:
    todo_id = _key("delete")
    assert _direct({"mutation": "createTodo", "input": {"id": todo_id, "name": "x"}})["status"] == "applied"
    assert _direct({"mutation": "deleteTodo", "input": {"id": todo_id}})["status"] == "applied"
    assert _todo(sb, todo_id) is None
    # A first delivery of a delete whose item does not exist: nothing shows it was ever there.
    gone = _direct({"mutation": "deleteTodo", "input": {"id": _key("never-existed")}})
    assert gone["status"] == "dead_lettered"
    assert gone["errorType"] == "DynamoDB:ConditionalCheckFailedException"
    assert "there is no record with id" in gone["reason"]


def test_schema_validation_errors_are_dead_lettered_as_validation_errors(
    sb: Sandbox, container: Callable[..., None], kit: Any, backend: str
) -> None:
    """graphql-java's words on AppSync and the stand-in, graphql-js's on the simulator: one classification."""
    sb.purge_dlq()
    bodies = {
        "unknown input field": json.dumps({"query": 'mutation { createTodo(input: {nam: "x"}) { id } }'}),
        "unknown selected field": json.dumps(
            {"query": 'mutation { createTodo(input: {name: "x"}) { idx } }'}
        ),
        "variable of the wrong type": json.dumps(
            {"query": CREATE_DOCUMENT, "variables": {"input": {"name": 5}}, "idempotencyKey": _key("bad-var")}
        ),
    }
    ids = dict(zip(bodies, sb.send_messages(list(bodies.values())), strict=True))
    _, response = kit.invoke(sb)
    assert response == {"batchItemFailures": []}
    letters = dead_letters(sb)
    for kind, message_id in ids.items():
        assert letters[message_id]["errorType"] == "ValidationError", (kind, letters[message_id])
    reason = letters[ids["unknown selected field"]]["reason"]
    if backend == "amplify":
        assert 'Cannot query field "idx" on type "Todo"' in reason  # graphql-js
    else:
        assert "Validation error of type FieldUndefined: Field 'idx' in type 'Todo' is undefined" in reason


def test_the_iam_role_arn_entry_is_unauthorized_until_fixed(
    sb: Sandbox, container: Callable[..., None], kit: Any, backend: str
) -> None:
    settings = kit.settings
    sb.purge_dlq()
    sb.write_custom_roles([settings.mutator_role_arn])  # the common mistake (then pushed), never matches
    key = _key("iam-arn")
    [message_id] = sb.send_messages([kit.create(key=key)])
    _, response = kit.invoke(sb)
    assert response == {"batchItemFailures": []}
    letter = dead_letters(sb)[message_id]
    assert letter["errorType"] == "Unauthorized"
    expected = (
        "Unauthorized" if backend == "amplify" else "Not Authorized to access createTodo on type Mutation"
    )
    assert letter["reason"] == expected  # the simulator's wording / AppSync's (README)
    assert settings.assumed_role_arn in letter["diagnosis"] and "make custom-roles" in letter["diagnosis"]
    assert _todo(sb, key) is None
    # The fix: the generated entry (make custom-roles, amplify push), then the dead letter sent again.
    sb.write_custom_roles([settings.assumed_role_arn])
    sb.send_messages([letter["body"]])
    _, response = kit.invoke(sb)
    assert response == {"batchItemFailures": []}
    assert _todo(sb, key) is not None


def test_the_role_only_entry_admits_the_worker(sb: Sandbox, container: Callable[..., None], kit: Any) -> None:
    settings = kit.settings
    role_only = f"arn:aws:sts::{settings.accounts.api}:assumed-role/{settings.mutator_role.name}"
    sb.write_custom_roles([role_only])
    key = _key("role-only")
    assert _direct(json.loads(kit.create(key=key)))["status"] == "applied"
    assert _todo(sb, key) is not None
