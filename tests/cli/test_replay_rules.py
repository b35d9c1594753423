"""The replay rules an operator relies on, against the sandbox's real (moto) standard SQS queues.

Held: a replay keeps every message it works on hidden (heartbeat), so a second replay cannot take them; a message
whose hold was lost is neither deleted nor counted. Skipped: redrive does not send permanent failures back unless
told to, and lists them. Summaries agree between replay and redrive; the list shows the fix.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]


def put(kit: Any, envelope: dict[str, Any] | str, *, error_type: str, diagnosis: str | None = None) -> str:
    return str(
        kit.put_dead_letter(
            envelope, error_type=error_type, reason=f"failed with {error_type}", diagnosis=diagnosis
        )
    )


def todos(kit: Any, count: int) -> list[str]:
    """``count`` items in account B's table, and a dead-lettered update for each (returns their ids)."""
    dynamodb = kit.sb.client("dynamodb", "B")
    ids = [kit.key() for _ in range(count)]
    for todo_id in ids:
        dynamodb.put_item(TableName=kit.sb.table_name, Item={"id": {"S": todo_id}, "name": {"S": "before"}})
        put(kit, {"mutation": "updateTodo", "input": {"id": todo_id, "name": "after"}}, error_type="Timeout")
    return ids


def updates(kit: Any) -> Counter[str]:
    return Counter(m.item_id for m in kit.sb.appsync.stats.mutations if m.field == "updateTodo")


def start_cli(*argv: str) -> subprocess.Popen[str]:
    """The CLI in its own process, with this (the operator's) environment."""
    return subprocess.Popen(
        [sys.executable, "-m", "mutation_cli", *argv],
        cwd=ROOT,
        env=dict(os.environ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_a_replay_slower_than_its_hold_keeps_its_messages_from_a_second_replay(kit: Any) -> None:
    """Hold 3 s, a replay of 30 slow updates takes longer; a second replay started after 3.5 s gets none."""
    ids = todos(kit, 30)
    kit.sb.appsync.stats.reset()
    kit.sb.appsync.faults.set_latency(500)
    try:
        first = start_cli(
            "replay",
            "replay",
            "--json",
            "--hold-seconds",
            "3",
            "--concurrency",
            "2",
            "--queue",
            kit.sb.dlq_url,
        )
        deadline = time.monotonic() + 60
        while kit.visible(kit.sb.dlq_url) and time.monotonic() < deadline:  # the first replay holds them all
            time.sleep(0.05)
        time.sleep(3.5)  # past its hold: without a heartbeat, SQS shows the unfinished ones again
        assert first.poll() is None, "the first replay should still be running"
        second = start_cli("replay", "replay", "--json", "--hold-seconds", "3", "--queue", kit.sb.dlq_url)
        out_second, err_second = second.communicate(timeout=120)
        out_first, err_first = first.communicate(timeout=120)
    finally:
        kit.sb.appsync.faults.clear()

    assert first.returncode == 0, out_first + err_first
    assert json.loads(out_first)["counts"]["replayed"] == 30
    report = json.loads(out_second)
    assert report["counts"].get("replayed", 0) == 0, out_second
    if report["left"]["heldElsewhere"]:  # it ran while the first still held messages: it says so, and fails
        assert second.returncode == 1, out_second + err_second
    assert kit.sb.appsync.stats.requests == 30  # one request per message, in all
    assert updates(kit) == Counter(ids)  # every update applied exactly once
    assert kit.count(kit.sb.dlq_url) == 0


def test_a_message_whose_hold_was_lost_is_neither_deleted_nor_counted(
    cli: Any, kit: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mutation_cli.dlq import HoldKeeper

    monkeypatch.setattr(HoldKeeper, "extend", lambda self: None)  # the heartbeat never gets through
    todos(kit, 6)
    kit.sb.appsync.stats.reset()
    kit.sb.appsync.faults.set_latency(700)
    try:
        result = cli("replay", "replay", "--json", "--hold-seconds", "2", "--concurrency", "1")
    finally:
        kit.sb.appsync.faults.clear()
    assert result.code == 1, result.out
    report = result.json()
    statuses = Counter(m["status"] for m in report["messages"])
    assert statuses["hold_lost"] >= 1 and statuses["replayed"] >= 1
    assert statuses["replayed"] + statuses["hold_lost"] == 6
    lost = [m for m in report["messages"] if m["status"] == "hold_lost"]
    assert all("hold ended" in m["reason"] for m in lost)
    sent_then_lost = [m for m in lost if "not sent" not in m["reason"]]
    assert sum(updates(kit).values()) == statuses["replayed"] + len(sent_then_lost)  # lost first: not sent
    assert kit.count(kit.sb.dlq_url) == statuses["hold_lost"]  # none of them was deleted
    deadline = time.monotonic() + 10  # not made visible by the command (they may be another's): SQS does it
    while kit.visible(kit.sb.dlq_url) < statuses["hold_lost"] and time.monotonic() < deadline:
        time.sleep(0.1)
    assert kit.visible(kit.sb.dlq_url) == statuses["hold_lost"]
    kit.empty(kit.sb.dlq_url)


def test_redrive_skips_permanent_failures_lists_them_and_sends_them_only_when_forced(
    cli: Any, kit: Any
) -> None:
    transient = put(kit, kit.create("timed out"), error_type="Timeout")
    invalid = put(kit, '{"mutation": "createTodo", "input": []}', error_type="InvalidEnvelope")
    refused = put(kit, kit.create("refused by the resolver"), error_type="Unauthorized")
    moved_by_sqs = (
        kit.sqs.send_message(  # SQS's own redrive policy: no failure.* attributes, envelope invalid
            QueueUrl=kit.sb.dlq_url, MessageBody="not json"
        )["MessageId"]
    )

    result = cli("replay", "redrive")
    assert result.code == 0, result.out
    assert "redriven=1" in result.out and "skipped_permanent=3" in result.out
    for message_id, error_type in ((invalid, "InvalidEnvelope"), (refused, "Unauthorized")):
        assert f"skipped_permanent {message_id}" in result.out and error_type in result.out
    assert f"skipped_permanent {moved_by_sqs}" in result.out
    assert "--include-permanent" in result.out
    [sent] = kit.sqs.receive_message(QueueUrl=kit.sb.queue_url, MaxNumberOfMessages=10)["Messages"]
    assert "timed out" in sent["Body"]
    kit.sqs.delete_message(QueueUrl=kit.sb.queue_url, ReceiptHandle=sent["ReceiptHandle"])
    assert kit.visible(kit.sb.dlq_url) == 3 and transient

    forced = cli("replay", "redrive", "--json", "--include-permanent")
    assert forced.code == 0, forced.out
    assert forced.json()["counts"] == {"redriven": 3, "skipped": 0, "left": 0}
    assert kit.count(kit.sb.queue_url) == 3 and kit.count(kit.sb.dlq_url) == 0


def test_the_verdict_travels_with_the_letter_and_old_letters_are_judged_alike(cli: Any, kit: Any) -> None:
    """Per-answer error types (GraphQLError, HTTP400, MissingAuthorization...) name no class, so an
    older CLI redrove these permanent failures; the letter now says what the worker decided."""
    old = [
        kit.put_dead_letter(kit.create(f"old {t}"), error_type=t, reason=f"{t}: refused")
        for t in (
            "GraphQLError",
            "HTTP400",
            "InvalidSignatureException",
            "MissingAuthorization",
            "UnexpectedError",
        )
    ]
    gave_up = kit.put_dead_letter(
        kit.create("gave up"), error_type="HTTP503", reason="gave up after delivery 5: HTTP 503"
    )
    verdict_permanent = kit.put_dead_letter(kit.create("new p"), error_type="Timeout", retryable=False)
    verdict_transient = kit.put_dead_letter(kit.create("new t"), error_type="GraphQLError", retryable=True)
    result = cli("replay", "redrive")
    assert result.code == 0, result.out
    for message_id in [*old, verdict_permanent]:
        assert f"skipped_permanent {message_id}" in result.out
    assert "redriven=2" in result.out
    sent = kit.sqs.receive_message(QueueUrl=kit.sb.queue_url, MaxNumberOfMessages=10)["Messages"]
    assert sorted(json.loads(m["Body"])["input"]["name"] for m in sent) == ["gave up", "new t"]
    assert gave_up and verdict_transient
    for message in sent:
        kit.sqs.delete_message(QueueUrl=kit.sb.queue_url, ReceiptHandle=message["ReceiptHandle"])
    kit.empty(kit.sb.dlq_url)


def test_dry_runs_of_replay_and_redrive_report_alike_and_change_nothing(cli: Any, kit: Any) -> None:
    for n in range(2):
        put(kit, kit.create(f"dry {n}"), error_type="Timeout")
    put(kit, '{"mutation": "createTodo", "input": []}', error_type="InvalidEnvelope")
    requests = kit.sb.appsync.stats.requests

    replay = cli("replay", "replay", "--dry-run")
    redrive = cli("replay", "redrive", "--dry-run")
    assert "summary: would_replay=2 failed=1 left=0" in replay.out, replay.out
    assert "summary: would_redrive=2 failed=0 skipped_permanent=1 left=0" in redrive.out, redrive.out
    assert replay.code == 1 and redrive.code == 0  # replaying the invalid one would fail; redrive skips it

    replay_json = cli("replay", "replay", "--dry-run", "--json").json()["counts"]
    redrive_json = cli("replay", "redrive", "--dry-run", "--json").json()["counts"]
    assert replay_json == {"would_replay": 2, "failed": 1, "skipped": 0, "left": 0}
    assert redrive_json == {"would_redrive": 2, "skipped_permanent": 1, "skipped": 0, "left": 0}
    assert kit.sb.appsync.stats.requests == requests
    assert kit.visible(kit.sb.dlq_url) == 3 and kit.count(kit.sb.queue_url) == 0


def test_list_without_json_shows_the_fix(cli: Any, kit: Any) -> None:
    fix = "add arn:aws:sts::111:assumed-role/R/S to custom-roles.json, then amplify push"
    message_id = put(kit, kit.create("needs a fix"), error_type="Unauthorized", diagnosis=fix)
    result = cli("replay", "list")
    assert result.code == 0
    header, row = result.out.splitlines()[:2]
    assert header.split("\t")[-1] == "fix"
    assert row.startswith(message_id) and row.split("\t")[-1] == fix


def test_a_document_with_two_operations_is_not_replayed(cli: Any, kit: Any) -> None:
    document = (
        'mutation A { createTodo(input: {name: "a"}) { id } } '
        'mutation B { deleteTodo(input: {id: "1"}) { id } }'
    )
    put(kit, {"query": document, "operationName": "A"}, error_type="Timeout")
    requests = kit.sb.appsync.stats.requests
    result = cli("replay", "replay", "--json")
    assert result.code == 1
    [message] = result.json()["messages"]
    assert message["errorType"] == "InvalidEnvelope" and "2 operations" in message["reason"]
    assert kit.sb.appsync.stats.requests == requests  # nothing sent
    assert kit.count(kit.sb.dlq_url) == 1
