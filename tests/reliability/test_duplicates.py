"""Duplicates become one effect in account B.

How: for a create, the envelope's ``idempotencyKey`` *is* the record id (``input.id``; ``parse_envelope`` fills
one from the other and refuses a mismatch). Amplify's create resolver writes with the condition
``attribute_not_exists(id)``, so whichever copy of a message comes second (a duplicate delivery, a producer
re-send, or the worker's own retry after a timeout whose first attempt was in fact applied) meets
``DynamoDB:ConditionalCheckFailedException``; the worker recognises that its key is the record id
(``worker.client.counts_as_applied``) and reports the copy as ``already_applied``, a success: one item, one
write, one subscription event, and nothing in the DLQ.

"One write" is measured where it happens: ``sb.appsync.stats.mutations`` lists every mutation the stand-in's
resolvers executed successfully (a conditional-check failure writes nothing and is not listed).

Updates have no such key: the worker keeps no idempotency store. ``test_duplicated_update_*`` pin down the
current behaviour (each copy is written again; the same input resent leaves the same state; a stale copy
delivered late overwrites a newer update: last write wins).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

from project_settings import load_settings
from sandbox.fixture import Sandbox
from sandbox.lambda_runtime import LambdaContext
from worker.handler import lambda_handler

SETTINGS = load_settings()


def _create(key: str, name: str = "duplicate me") -> str:
    return json.dumps({"mutation": "createTodo", "input": {"name": name}, "idempotencyKey": key})


def _update(record_id: str, name: str) -> str:
    return json.dumps({"mutation": "updateTodo", "input": {"id": record_id, "name": name}})


def _invoke(sb: Sandbox, max_messages: int = 10) -> tuple[dict[str, Any], dict[str, Any]]:
    event = sb.sqs_event(max_messages=max_messages)
    response = lambda_handler(
        event, LambdaContext(function_name=SETTINGS.worker.function_name, timeout_ms=60_000)
    )
    sb.apply_batch_response(event, response)
    return event, response


def _writes(sb: Sandbox, record_id: str, field: str = "createTodo") -> int:
    return sum(1 for m in sb.appsync.stats.mutations if m.item_id == record_id and m.field == field)


def _items(sb: Sandbox, record_id: str) -> list[dict[str, Any]]:
    return [item for item in sb.table_items() if item["id"] == record_id]


def _events(log_text: str, name: str) -> list[dict[str, Any]]:
    found = []
    for line in log_text.splitlines():
        if line.startswith("{"):
            entry = json.loads(line)
            if entry.get("event") == name:
                found.append(entry)
    return found


def _dlq_sources(sb: Sandbox) -> set[str]:
    from worker.dead_letters import read_failure

    return {
        read_failure(m.get("MessageAttributes", {})).get("sourceMessageId", "") for m in sb.dlq_messages()
    }


def test_same_message_twice_in_one_batch_is_written_once(
    sb: Sandbox, container: Callable[..., None], capsys: Any
) -> None:
    """Two copies in the same batch run concurrently; the conditional create lets exactly one write: the
    other meets ConditionalCheckFailed on its own key and is reported already applied (not failed, not
    dead-lettered)."""
    key = f"dup-concurrent-{uuid.uuid4().hex[:8]}"
    ids = sb.send_messages([_create(key), _create(key)])
    event, response = _invoke(sb)
    assert {r["messageId"] for r in event["Records"]} == set(ids)  # both copies in this one invocation
    assert response == {"batchItemFailures": []}
    assert _writes(sb, key) == 1
    assert len(_items(sb, key)) == 1
    done = [e for e in _events(capsys.readouterr().out, "record_done") if e["message_id"] in ids]
    assert sorted(e["outcome"] for e in done) == ["already_applied", "applied"]
    assert not set(ids) & _dlq_sources(sb)


def test_same_message_in_a_later_batch_is_written_once(
    sb: Sandbox, container: Callable[..., None], capsys: Any
) -> None:
    """A copy delivered after the first one was applied (a later batch, a warm container) finds the item
    with its key already there: already applied, one write."""
    key = f"dup-sequential-{uuid.uuid4().hex[:8]}"
    first = sb.send_messages([_create(key, "first copy")])
    _, response = _invoke(sb)
    assert response == {"batchItemFailures": []}
    second = sb.send_messages([_create(key, "second copy, same key")])
    _, response = _invoke(sb)
    assert response == {"batchItemFailures": []}
    assert _writes(sb, key) == 1
    items = _items(sb, key)
    assert len(items) == 1 and items[0]["name"] == "first copy"  # the second copy changed nothing
    outcomes = {e["message_id"]: e["outcome"] for e in _events(capsys.readouterr().out, "record_done")}
    assert outcomes[first[0]] == "applied" and outcomes[second[0]] == "already_applied"


def test_retry_after_a_timeout_whose_first_attempt_was_applied_is_written_once(
    sb: Sandbox, container: Callable[..., None], capsys: Any
) -> None:
    """The stand-in applies the first attempt and holds its answer past the client's 1 s timeout; the
    worker's retry (same idempotency key, so the same record id) meets the item its first attempt wrote and
    counts as already applied."""
    container(REQUEST_TIMEOUT_SECONDS="1", MAX_ATTEMPTS="4")
    key = f"dup-stalled-{uuid.uuid4().hex[:8]}"
    sb.appsync.faults.stall_after_apply_next(1, seconds=2.0)
    [message_id] = sb.send_messages([_create(key)])
    _, response = _invoke(sb)
    assert response == {"batchItemFailures": []}
    assert _writes(sb, key) == 1
    assert len(_items(sb, key)) == 1
    logs = capsys.readouterr().out
    timeouts = [e for e in _events(logs, "mutation_attempt") if e.get("error_type") == "Timeout"]
    assert len(timeouts) == 1
    suppressed = _events(logs, "mutation_already_applied")
    # the line names the message (bound context) and where its id came from, not the key (an input value)
    assert [(e["message_id"], e["id_source"], e["attempt"]) for e in suppressed] == [
        (message_id, "idempotencyKey", 2)
    ]


def test_redelivery_after_a_timeout_whose_attempt_was_applied_is_written_once(
    sb: Sandbox, container: Callable[..., None], capsys: Any
) -> None:
    """Same, across deliveries: with one attempt per delivery the timed-out record is left for redelivery
    (batchItemFailures); the redelivered copy (receive count 2) finds its item and is already applied."""
    container(REQUEST_TIMEOUT_SECONDS="1", MAX_ATTEMPTS="1")
    key = f"dup-redelivered-{uuid.uuid4().hex[:8]}"
    sb.appsync.faults.stall_after_apply_next(1, seconds=2.0)
    (message_id,) = sb.send_messages([_create(key)])
    _, response = _invoke(sb)
    assert response == {"batchItemFailures": [{"itemIdentifier": message_id}]}
    event, response = _invoke(sb)
    assert [r["attributes"]["ApproximateReceiveCount"] for r in event["Records"]] == ["2"]
    assert response == {"batchItemFailures": []}
    assert _writes(sb, key) == 1
    assert len(_items(sb, key)) == 1
    assert [e["outcome"] for e in _events(capsys.readouterr().out, "record_done")] == ["already_applied"]


def test_duplicated_update_is_written_again_with_the_same_result(
    sb: Sandbox, container: Callable[..., None]
) -> None:
    """Current behaviour, no idempotency store: an update carries no idempotency key, so each copy is a new
    write (two writes, two subscription events, ``updatedAt`` moves), but resending the same input leaves the
    item in the same state: a duplicate update is harmless as long as nothing else changed the item."""
    key = f"upd-same-{uuid.uuid4().hex[:8]}"
    sb.send_messages([_create(key, "before")])
    _invoke(sb)
    sb.send_messages([_update(key, "after"), _update(key, "after")])
    _, response = _invoke(sb)
    assert response == {"batchItemFailures": []}
    assert _writes(sb, key, "updateTodo") == 2
    (item,) = _items(sb, key)
    assert item["name"] == "after"


def test_duplicated_update_delivered_late_overwrites_a_newer_one(
    sb: Sandbox, container: Callable[..., None]
) -> None:
    """Current behaviour, documented as a limit: updates are last-write-wins. A copy of update A delivered
    after update B puts A's value back. Producers that need ordering use a FIFO queue (one message group per
    record) or an Amplify ``condition`` (e.g. on a version field) in the envelope; an idempotency store in
    account A would stop the late duplicate (not built: see the README's Reliability section)."""
    key = f"upd-late-{uuid.uuid4().hex[:8]}"
    sb.send_messages([_create(key, "v0")])
    _invoke(sb)
    update_a = _update(key, "v1")
    for body in (update_a, _update(key, "v2"), update_a):  # A, B, then a late copy of A
        sb.send_messages([body])
        _, response = _invoke(sb)
        assert response == {"batchItemFailures": []}
    assert _writes(sb, key, "updateTodo") == 3
    (item,) = _items(sb, key)
    assert item["name"] == "v1"
