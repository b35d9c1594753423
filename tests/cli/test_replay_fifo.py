"""Replay and redrive on a FIFO dead-letter queue (the sandbox started with FIFO queues, real moto SQS).

SQS hands out one message group's messages in order and none of its later ones while earlier ones are in flight
(at most 10 at a time here): a replay works round by round until the selection is exhausted, keeps each group's
order, stops a group at its first failure, and says how many messages it left.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from project_settings import load_settings
from sandbox.fixture import Sandbox
from worker.origin import ORIGIN_MESSAGE_ID

FIFO_SETTINGS = load_settings().with_changes(
    worker={
        "fifo": True,
        "queue_name": "appsync-mutations.fifo",
        "dead_letter_queue_name": "appsync-mutations-dlq.fifo",
    }
)
INVALID = '{"mutation": "createTodo", "input": []}'


@pytest.fixture(scope="module")
def sb() -> Iterator[Sandbox]:
    with Sandbox.start(FIFO_SETTINGS) as sandbox:
        yield sandbox


def put(
    kit: Any,
    envelope: dict[str, Any] | str,
    *,
    group: str,
    error_type: str = "Timeout",
    deduplication_id: str | None = None,
) -> str:
    return str(
        kit.put_dead_letter(
            envelope,
            error_type=error_type,
            reason=f"failed with {error_type}",
            group=group,
            deduplication_id=deduplication_id,
        )
    )


def group_of(kit: Any, name: str, count: int) -> list[str]:
    """``count`` creates dead-lettered in group ``name``, in order; returns their idempotency keys."""
    keys = [f"{name}-{n:02d}-{uuid.uuid4().hex[:6]}" for n in range(count)]
    for key in keys:
        put(kit, kit.create(key, key), group=name)
    return keys


def created(kit: Any) -> list[str]:
    """Item ids of the creates AppSync applied, in the order it applied them."""
    return [str(m.item_id) for m in kit.sb.appsync.stats.mutations if m.field == "createTodo"]


def test_replay_works_through_a_whole_group_of_25_in_order(cli: Any, kit: Any) -> None:
    keys = group_of(kit, "G", 25)
    kit.sb.appsync.stats.reset()
    result = cli("replay", "replay", "--json", "--queue", kit.sb.dlq_url)
    assert result.code == 0, result.out
    assert result.json()["counts"] == {"replayed": 25, "skipped": 0, "left": 0}
    assert created(kit) == keys  # every message, once, in the group's order
    assert kit.count(kit.sb.dlq_url) == 0


def test_list_says_how_many_of_a_group_it_could_not_show(cli: Any, kit: Any) -> None:
    group_of(kit, "L", 25)
    result = cli("replay", "list", "--json", "--queue", kit.sb.dlq_url)
    assert len(result.json_lines()) == 10  # all SQS shows of one group while they are held
    assert result.code == 1
    assert "left 15 in the DLQ, not reached" in result.err and "FIFO" in result.err
    assert kit.visible(kit.sb.dlq_url) == 25


def test_a_failure_blocks_the_rest_of_its_group_and_the_run_says_what_it_left(cli: Any, kit: Any) -> None:
    first = group_of(kit, "F", 2)
    failing = put(kit, INVALID, group="F", error_type="InvalidEnvelope")
    group_of(kit, "F", 12)  # behind the failure: 7 come in the same round, 5 are never reached
    other = group_of(kit, "H", 3)  # another group is not held up
    kit.sb.appsync.stats.reset()

    result = cli("replay", "replay", "--json", "--queue", kit.sb.dlq_url)
    assert result.code == 1, result.out
    report = result.json()
    assert report["counts"] == {"replayed": 5, "failed": 1, "blocked": 7, "skipped": 0, "left": 5}
    assert report["left"] == {"unreached": 5, "heldElsewhere": 0, "limitReached": False}
    assert [m["messageId"] for m in report["messages"] if m["status"] == "failed"] == [failing]
    assert all(failing in m["reason"] for m in report["messages"] if m["status"] == "blocked")
    applied = created(kit)
    assert sorted(applied) == sorted(first + other)
    assert [k for k in applied if k.startswith("F-")] == first  # nothing of F applied after its failure
    assert kit.count(kit.sb.dlq_url) == 13 and kit.visible(kit.sb.dlq_url) == 13

    # Again, in words: the failure now heads its group, 9 behind it come in the round, 3 stay unreached.
    text = cli("replay", "replay", "--queue", kit.sb.dlq_url)
    assert text.code == 1
    assert "summary: failed=1 blocked=9 left=3" in text.out, text.out
    assert f"failed {failing}" in text.out and "left 3 in the DLQ, not reached" in text.out
    assert kit.count(kit.sb.dlq_url) == 13


def test_a_limit_stops_in_order_and_counts_the_rest_as_left(cli: Any, kit: Any) -> None:
    keys = group_of(kit, "M", 25)
    kit.sb.appsync.stats.reset()
    result = cli("replay", "replay", "--json", "--limit", "12", "--queue", kit.sb.dlq_url)
    assert result.code == 0, result.out  # the limit is what the operator asked for
    report = result.json()
    assert report["counts"] == {"replayed": 12, "skipped": 0, "left": 13}
    assert report["left"]["limitReached"] is True
    assert created(kit) == keys[:12]
    assert kit.visible(kit.sb.dlq_url) == 13


def test_redrive_keeps_the_group_and_uses_a_fresh_deduplication_id(cli: Any, kit: Any) -> None:
    producer_dedup = f"order-{uuid.uuid4().hex[:8]}"
    envelope = kit.create("redriven in its group")
    dlq_id = put(kit, envelope, group="R", deduplication_id=producer_dedup)
    second_id = put(kit, kit.create("second in the group"), group="R")
    # The producer's message with that id is still on the source queue (inside the deduplication window):
    # a resend with the same id would be accepted by SendMessage and dropped.
    kit.sqs.send_message(
        QueueUrl=kit.sb.queue_url,
        MessageBody=json.dumps(kit.create("the producer's original")),
        MessageGroupId="other",
        MessageDeduplicationId=producer_dedup,
    )

    result = cli("replay", "redrive", "--json", "--queue", kit.sb.dlq_url, "--to-queue", kit.sb.queue_url)
    assert result.code == 0, result.out
    assert result.json()["counts"] == {"redriven": 2, "skipped": 0, "left": 0}
    assert kit.count(kit.sb.dlq_url) == 0
    messages = kit.sqs.receive_message(
        QueueUrl=kit.sb.queue_url,
        MaxNumberOfMessages=10,
        AttributeNames=["All"],
        MessageAttributeNames=["All"],
    )["Messages"]
    redriven = [m for m in messages if m["Attributes"]["MessageGroupId"] == "R"]
    assert [json.loads(m["Body"])["input"]["name"] for m in redriven] == [
        "redriven in its group",
        "second in the group",
    ]  # nothing dropped, in order
    assert [m["Attributes"]["MessageDeduplicationId"] for m in redriven] == [
        f"redrive:{dlq_id}",
        f"redrive:{second_id}",
    ]
    assert redriven[0]["MessageAttributes"][ORIGIN_MESSAGE_ID]["StringValue"] == envelope["idempotencyKey"]
