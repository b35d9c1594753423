"""The same AppSync answer gets the same verdict from the worker (Lambda) and from `send`.

Each answer shape is served by the sandbox's AppSync (a canned HTTP 200 body, shapes from AppSync's published
answers, sources in ``sandbox.appsync.responses``), once to the worker's handler and once to `send`; both must
agree.
"""

from __future__ import annotations

import io
import json
from typing import Any

import pytest

from tests.support import dead_letters, invoke

FIELD_ERROR = {
    "path": ["createTodo"],
    "errorType": "Unauthorized",
    "message": "Not Authorized to access createTodo",
}
NESTED = {
    "path": ["createTodo", "secret"],
    "errorType": "Unauthorized",
    "message": "Not Authorized to access secret",
}
SHAPES = {
    "applied": ({"data": {"createTodo": {"id": "v-1"}}}, "applied"),
    "nested-field-refused": (
        {"data": {"createTodo": {"id": "v-1", "secret": None}}, "errors": [NESTED]},
        "applied",
    ),
    "field-refused": ({"data": {"createTodo": None}, "errors": [FIELD_ERROR]}, "permanent"),
    "no-data": ({"data": {}}, "permanent"),
    "validation": (
        {"data": None, "errors": [{"message": "Validation error of type FieldUndefined: x"}]},
        "permanent",
    ),
}


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_worker_and_send_agree(
    shape: str, sb: Any, kit: Any, cli: Any, operator: Any, monkeypatch: Any
) -> None:
    from worker.handler import reset_runtime

    body, expected = SHAPES[shape]
    envelope = json.dumps({"mutation": "createTodo", "input": {"name": shape}, "idempotencyKey": kit.key()})

    sb.appsync.faults.answer_next(1, json.dumps(body))
    reset_runtime()
    [message_id] = sb.send_messages([envelope])
    _, response = invoke(sb)
    letters = dead_letters(sb, [message_id])
    worker = (
        "applied"
        if not letters and response == {"batchItemFailures": []}
        else "permanent"
        if letters
        else "other"
    )
    sb.purge_dlq()

    sb.appsync.faults.answer_next(1, json.dumps(body))
    monkeypatch.setattr("sys.stdin", io.StringIO(envelope))
    result = cli("send", "--json")
    status = result.json()["status"]
    by_send = (
        "applied"
        if status == "applied"
        else "permanent"
        if result.json().get("transient") is False
        else status
    )
    assert (worker, by_send) == (expected, expected), (shape, result.out)
