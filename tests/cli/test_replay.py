"""``replay list | export | replay | redrive`` against the sandbox's DLQ, and from exported files.

Nothing is lost: a DLQ message leaves the DLQ only once its mutation was applied (or already applied) or it
was sent to the source queue; listing, dry runs, failures and interruptions leave every message in place.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from worker.client import MutationClient


def test_list_shows_the_reasons_and_removes_nothing(cli: Any, kit: Any) -> None:
    envelope = kit.create("listed")
    dlq_id = kit.put_dead_letter(
        envelope, error_type="Unauthorized", reason="Not Authorized to access createTodo"
    )
    kit.put_dead_letter(
        {"mutation": "updateTodo", "input": {"id": "x", "name": "y"}}, error_type="ValidationError"
    )

    result = cli("replay", "list", "--json")
    assert result.code == 0
    rows = {row["messageId"]: row for row in result.json_lines()}
    assert len(rows) == 2
    row = rows[dlq_id]
    assert row["operation"] == "createTodo" and row["errorType"] == "Unauthorized"
    assert row["reason"] == "Not Authorized to access createTodo"
    assert row["idempotencyKey"] == envelope["idempotencyKey"]
    assert kit.visible(kit.sb.dlq_url) == 2  # visible again at once

    table = cli("replay", "list")
    assert dlq_id in table.out and "Not Authorized to access createTodo" in table.out


def test_queue_given_by_name(cli: Any, kit: Any) -> None:
    kit.put_dead_letter(kit.create("by name"))
    result = cli("replay", "list", "--json", "--queue", kit.settings.worker.dead_letter_queue_name)
    assert result.code == 0 and len(result.json_lines()) == 1


def test_replay_from_the_dlq_applies_and_deletes(cli: Any, kit: Any) -> None:
    envelopes = [kit.create(f"replay {n}") for n in range(3)]
    for envelope in envelopes:
        kit.put_dead_letter(envelope)
    result = cli("replay", "replay", "--json")
    assert result.code == 0, result.out
    assert result.json()["counts"]["replayed"] == 3
    assert {e["idempotencyKey"] for e in envelopes} <= kit.table_ids()
    assert kit.count(kit.sb.dlq_url) == 0


def test_already_applied_is_reported_as_such_and_deleted(cli: Any, kit: Any) -> None:
    envelope = kit.create("applied before")
    kit.put_dead_letter(envelope)
    assert cli("replay", "replay").code == 0  # first replay applies it
    kit.put_dead_letter(envelope)  # the same message dead-lettered twice
    result = cli("replay", "replay", "--json")
    assert result.code == 0
    assert result.json()["messages"][0]["status"] == "already_applied"
    assert kit.count(kit.sb.dlq_url) == 0


def test_failures_stay_in_the_dlq_with_their_new_reason(cli: Any, kit: Any) -> None:
    kit.sb.write_custom_roles([kit.iam_role_arn])  # still broken: replay fails again
    envelope = kit.create("still refused")
    kit.put_dead_letter(envelope)
    kit.put_dead_letter('{"mutation": "createTodo", "input": []}', error_type="InvalidEnvelope")

    result = cli("replay", "replay")
    assert result.code == 1
    assert "failed=2" in result.out
    assert "Unauthorized" in result.out and kit.assumed_arn in result.out  # reason and fix
    assert "InvalidEnvelope" in result.out
    assert kit.visible(kit.sb.dlq_url) == 2
    assert envelope["idempotencyKey"] not in kit.table_ids()


def test_dry_run_sends_and_deletes_nothing(cli: Any, kit: Any) -> None:
    envelope = kit.create("dry")
    kit.put_dead_letter(envelope)
    requests_before = kit.sb.appsync.stats.requests
    result = cli("replay", "replay", "--dry-run")
    assert result.code == 0
    assert kit.sb.appsync.stats.requests == requests_before
    assert "would_replay" in result.out
    assert kit.visible(kit.sb.dlq_url) == 1
    assert envelope["idempotencyKey"] not in kit.table_ids()


def test_filters_select_by_operation_error_type_message_id_and_limit(cli: Any, kit: Any) -> None:
    create_ids = [kit.put_dead_letter(kit.create(f"f{n}"), error_type="Unauthorized") for n in range(3)]
    validation_id = kit.put_dead_letter(kit.create("v"), error_type="ValidationError")
    update_id = kit.put_dead_letter(
        {"mutation": "updateTodo", "input": {"id": "nope", "name": "n"}}, error_type="Unauthorized"
    )

    def selected(*filters: str) -> set[str]:
        result = cli("replay", "list", "--json", *filters)
        assert result.code == 0
        return {row["messageId"] for row in result.json_lines()}

    assert selected("--operation", "updateTodo") == {update_id}
    assert selected("--error-type", "ValidationError") == {validation_id}
    assert selected("--operation", "createTodo", "--error-type", "Unauthorized") == set(create_ids)
    assert selected("--message-id", create_ids[0], "--message-id", update_id) == {create_ids[0], update_id}
    assert len(selected("--limit", "2")) == 2
    assert len(selected("--since", "1h")) == 5
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    assert selected("--since", future) == set()
    assert len(selected("--until", future)) == 5

    result = cli("replay", "replay", "--json", "--error-type", "ValidationError")
    assert result.json()["counts"] == {"replayed": 1, "skipped": 4, "left": 0}
    assert kit.visible(kit.sb.dlq_url) == 4


def test_bad_filter_is_a_usage_error(cli: Any, kit: Any) -> None:
    assert cli("replay", "list", "--since", "yesterday-ish").code == 2
    assert cli("replay", "replay", "--limit", "0").code == 2
    assert cli("replay", "frobnicate").code == 2


def test_interrupted_replay_loses_nothing(
    cli: Any, kit: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    envelopes = [kit.create(f"interrupted {n}") for n in range(5)]
    for envelope in envelopes:
        kit.put_dead_letter(envelope)
    real_send = MutationClient.send
    calls = 0

    async def send_then_ctrl_c(self: MutationClient, *args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 3:
            raise KeyboardInterrupt  # what Ctrl-C does in the middle of a send
        return await real_send(self, *args, **kwargs)

    monkeypatch.setattr(MutationClient, "send", send_then_ctrl_c)
    result = cli("replay", "replay", "--concurrency", "1")
    assert result.code == 130
    assert "interrupted" in result.out
    import gc

    gc.collect()  # an unretrieved future says so when it is collected
    assert not [r for r in caplog.records if "never retrieved" in r.getMessage()]
    applied = {e["idempotencyKey"] for e in envelopes} & kit.table_ids()
    assert len(applied) == 2
    # Everything not confirmed is still in the DLQ, and visible again now (not after the hold).
    assert kit.count(kit.sb.dlq_url) == 3
    assert kit.visible(kit.sb.dlq_url) == 3

    monkeypatch.setattr(MutationClient, "send", real_send)
    again = cli("replay", "replay", "--json")
    assert again.code == 0 and again.json()["counts"]["replayed"] == 3
    assert {e["idempotencyKey"] for e in envelopes} <= kit.table_ids()


def test_export_then_replay_from_the_file(cli: Any, kit: Any, tmp_path: Path) -> None:
    kit.sb.write_custom_roles([kit.iam_role_arn])
    good = kit.create("from file")
    kit.put_dead_letter(good)
    refused = {"mutation": "createPost", "input": {"title": "not on the allow-list"}}
    kit.put_dead_letter(refused)
    exported = tmp_path / "dead.jsonl"
    assert cli("replay", "export", "--out", str(exported)).code == 0
    lines = [json.loads(line) for line in exported.read_text(encoding="utf-8").splitlines()]
    assert len(lines) == 2 and all(line["failure"]["errorType"] == "Unauthorized" for line in lines)
    assert kit.visible(kit.sb.dlq_url) == 2  # export removes nothing

    kit.sb.write_custom_roles([kit.assumed_arn])
    failed_out = tmp_path / "still-failing.jsonl"
    result = cli("replay", "replay", "--file", str(exported), "--failed-out", str(failed_out), "--json")
    assert good["idempotencyKey"] in kit.table_ids()
    assert result.code == 1
    assert result.json()["counts"] == {"replayed": 1, "failed": 1, "skipped": 0}
    remaining = [json.loads(line) for line in failed_out.read_text(encoding="utf-8").splitlines()]
    assert len(remaining) == 1
    assert json.loads(remaining[0]["body"]) == refused
    assert remaining[0]["failure"]["errorType"] == "MutationNotAllowed"
    assert kit.visible(kit.sb.dlq_url) == 2  # a file replay never touches the DLQ


def test_redrive_moves_messages_back_for_the_lambda(cli: Any, kit: Any) -> None:
    from worker.handler import lambda_handler, reset_runtime

    envelopes = [kit.create(f"redrive {n}") for n in range(3)]
    for envelope in envelopes:
        kit.put_dead_letter(envelope, error_type="Timeout", reason="no response")  # transient: redriven
    result = cli("replay", "redrive", "--json")
    assert result.code == 0, result.out
    assert result.json()["counts"]["redriven"] == 3
    assert kit.count(kit.sb.dlq_url) == 0
    assert kit.count(kit.sb.queue_url) == 3

    reset_runtime()
    try:
        kit.sb.drain_queue(lambda_handler)
    finally:
        reset_runtime()
    assert {e["idempotencyKey"] for e in envelopes} <= kit.table_ids()
    assert kit.count(kit.sb.queue_url) == 0


def test_dead_letters_written_by_the_worker_are_listed_and_replayed(cli: Any, kit: Any) -> None:
    """The whole story: the worker dead-letters a refused create with its reason; fixed, a replay applies it."""
    from worker.handler import lambda_handler, reset_runtime

    kit.sb.write_custom_roles([kit.iam_role_arn])  # the classic mistake
    envelope = kit.create("dead-lettered by the worker")
    kit.sb.send_messages([json.dumps(envelope)])
    reset_runtime()
    try:
        kit.sb.drain_queue(lambda_handler)
    finally:
        reset_runtime()

    rows = cli("replay", "list", "--json").json_lines()
    assert len(rows) == 1
    assert rows[0]["errorType"] == "Unauthorized" and rows[0]["operation"] == "createTodo"
    assert kit.assumed_arn in rows[0]["diagnosis"]

    kit.sb.write_custom_roles([kit.assumed_arn])  # fixed
    result = cli("replay", "replay", "--json")
    assert result.code == 0 and result.json()["counts"]["replayed"] == 1
    assert envelope["idempotencyKey"] in kit.table_ids()
    assert kit.count(kit.sb.dlq_url) == 0


def test_a_delete_refused_by_its_own_condition_stays_in_the_dlq(cli: Any, kit: Any) -> None:
    """Replay counts as a redelivery, but the caller's own condition can explain the refusal: not applied."""
    todo_id = kit.key()
    kit.sb.client("dynamodb", "B").put_item(
        TableName=kit.sb.table_name, Item={"id": {"S": todo_id}, "name": {"S": "keep me"}}
    )
    kit.put_dead_letter(
        {"mutation": "deleteTodo", "input": {"id": todo_id}, "condition": {"name": {"eq": "other"}}},
        error_type="Timeout",
    )
    result = cli("replay", "replay", "--json")
    assert result.code == 1, result.out
    [message] = result.json()["messages"]
    assert message["status"] == "failed"
    assert "the envelope's own condition is false" in message["reason"]
    assert todo_id in kit.table_ids()  # still there
    assert kit.count(kit.sb.dlq_url) == 1  # and still in the DLQ


def test_a_create_without_a_key_replays_as_the_record_its_first_delivery_made(cli: Any, kit: Any) -> None:
    """The worker gave the create its message's id; a replay of the dead letter uses the same id."""
    body = json.dumps({"mutation": "createTodo", "input": {"name": "applied, then timed out"}})
    kit.put_dead_letter(body, error_type="Timeout")
    source_id = next(m for m in kit.sb.dlq_messages() if m["Body"] == body)["MessageAttributes"][
        "failure.sourceMessageId"
    ]["StringValue"]
    kit.sb.client("dynamodb", "B").put_item(  # what the first, unanswered delivery wrote
        TableName=kit.sb.table_name, Item={"id": {"S": source_id}, "name": {"S": "applied, then timed out"}}
    )
    result = cli("replay", "replay", "--json")
    assert result.code == 0, result.out
    assert result.json()["messages"][0]["status"] == "already_applied"
    names = [i for i in kit.sb.table_items() if i.get("name") == "applied, then timed out"]
    assert [i["id"] for i in names] == [source_id]


def test_a_dead_letter_moved_by_sqs_keeps_the_identity_its_redriven_copy_carried() -> None:
    """A redriven copy that failed again and was moved by SQS's own redrive (no failure.* attributes)."""
    from mutation_cli.records import DeadLetterRecord
    from worker.origin import origin_attributes

    body = '{"mutation": "createTodo", "input": {"name": "x"}}'
    message = {"MessageId": "copy-C1", "Body": body, "MessageAttributes": origin_attributes("orig-X", body)}
    assert DeadLetterRecord.from_sqs(message).message_identity == "orig-X"
    forged = {**message, "Body": '{"mutation": "createTodo", "input": {"name": "y"}}'}
    assert DeadLetterRecord.from_sqs(forged).message_identity == "copy-C1"
