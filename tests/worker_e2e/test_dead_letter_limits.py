"""Dead letters near SQS's limits, end to end: the worker's own DLQ send must succeed, reason attached.

The sandbox's SQS now refuses what AWS refuses (size with attributes, refused characters). Before the worker
fitted its ``failure.*`` attributes, each message here failed its DLQ send and was left to the queue's redrive,
which moves it without any reason.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from sandbox.fixture import Sandbox
from worker.dead_letters import read_failure

OLD_DEFAULT = 262_144
ONE_MIB = 1_048_576


@pytest.fixture
def dlq_limit(sb: Sandbox) -> Iterator[Callable[[int], None]]:
    """Set the DLQ's MaximumMessageSize for one test; the sandbox's default (SQS's, 1 MiB) comes back after."""
    sqs = sb.client("sqs", "A")

    def set_limit(size: int) -> None:
        sqs.set_queue_attributes(QueueUrl=sb.dlq_url, Attributes={"MaximumMessageSize": str(size)})

    sb.purge_dlq()
    yield set_limit
    set_limit(ONE_MIB)
    sb.purge_dlq()
    _delete_source_messages(sb)


def _delete_source_messages(sb: Sandbox) -> None:
    """Whatever a test left on the source queue (a record reported failed) must not reach the next test."""
    sqs = sb.client("sqs", "A")
    while messages := sqs.receive_message(QueueUrl=sb.queue_url, MaxNumberOfMessages=10).get("Messages", []):
        for message in messages:
            sqs.delete_message(QueueUrl=sb.queue_url, ReceiptHandle=message["ReceiptHandle"])


def not_allowed_body(size: int) -> str:
    """A mutation off the allow-list (a permanent failure), padded to exactly ``size`` bytes."""
    head = '{"query":"mutation { deleteEverything { ok } }","variables":{"pad":"'
    tail = '"}}'
    return head + "x" * (size - len(head) - len(tail)) + tail


def only_dead_letter(sb: Sandbox) -> tuple[str, dict[str, str]]:
    [message] = sb.dlq_messages()
    return message["Body"], read_failure(message.get("MessageAttributes", {}))


def log_events(capsys: pytest.CaptureFixture[str], name: str) -> list[dict[str, Any]]:
    lines = capsys.readouterr().out.splitlines()
    return [
        entry for line in lines if line.startswith("{") and (entry := json.loads(line)).get("event") == name
    ]


@pytest.mark.parametrize(("limit", "room"), [(OLD_DEFAULT, 200), (ONE_MIB, 200), (OLD_DEFAULT, 400)])
def test_a_body_near_the_dlq_limit_is_dead_lettered_with_its_reason(
    sb: Sandbox,
    container: Callable[..., None],
    kit: Any,
    dlq_limit: Callable[[int], None],
    limit: int,
    room: int,
) -> None:
    dlq_limit(limit)
    body = not_allowed_body(limit - room)
    [message_id] = sb.send_messages([body])
    _, response = kit.invoke(sb)
    assert response == {"batchItemFailures": []}  # dead-lettered by the worker, not left to the redrive
    dead_body, failure = only_dead_letter(sb)
    assert dead_body == body  # byte for byte
    assert failure["errorType"] == "MutationNotAllowed"
    assert "deleteEverything" in failure["reason"]
    if room == 200:
        assert set(failure) <= {"reason", "errorType", "retryable", "sourceMessageId"}
    else:
        assert failure["sourceMessageId"] == message_id


def test_a_body_with_no_room_for_a_reason_is_named_and_stays_on_the_source_queue(
    sb: Sandbox,
    container: Callable[..., None],
    kit: Any,
    dlq_limit: Callable[[int], None],
    capsys: pytest.CaptureFixture[str],
) -> None:
    dlq_limit(OLD_DEFAULT)
    [message_id] = sb.send_messages([not_allowed_body(OLD_DEFAULT - 40)])
    capsys.readouterr()
    _, response = kit.invoke(sb)
    assert response == {"batchItemFailures": [{"itemIdentifier": message_id}]}
    [failed] = log_events(capsys, "dead_letter_failed")
    assert failed["dlq_error"].startswith("DeadLetterTooLarge: ")
    assert f"over the queue's limit of {OLD_DEFAULT} bytes" in failed["dlq_error"]
    assert failed["error_type"] == "MutationNotAllowed"  # the log still has the reason
    assert sb.dlq_messages() == []
    assert sb.queue_depth() == 1  # nothing lost: SQS redelivers it, and its redrive policy has the last word


def test_an_idempotency_key_with_u_ffff_is_dead_lettered_with_its_reason(
    sb: Sandbox, container: Callable[..., None], kit: Any, dlq_limit: Callable[[int], None]
) -> None:
    key = "order-\uffff-42"
    body = json.dumps(
        {
            "query": "mutation M($input: CreateTodoInput!) { createTodo(input: $input) { id nope } }",
            "variables": {"input": {"name": "x"}},
            "idempotencyKey": key,
        }
    )
    assert "\uffff" not in body  # the producer's JSON escapes it: SQS takes the body, the key is U+FFFF
    sb.send_messages([body])
    _, response = kit.invoke(sb)
    assert response == {"batchItemFailures": []}
    dead_body, failure = only_dead_letter(sb)
    assert dead_body == body
    # The envelope refuses such a key (it would become a record id); the reason echoes it escaped.
    assert failure["errorType"] == "InvalidEnvelope"
    assert "idempotencyKey" in failure["reason"]


def test_a_reason_carrying_refused_characters_is_dead_lettered(
    sb: Sandbox, container: Callable[..., None], kit: Any, dlq_limit: Callable[[int], None]
) -> None:
    # A resolver's $util.error can echo the caller's input: here U+FFFF, U+0000 and a lone surrogate.
    answer = {
        "data": {"createTodo": None},
        "errors": [
            {
                "path": ["createTodo"],
                "errorType": "Unauthorized",
                "message": "name 'a\uffffb\u0000c\ud800d' is not allowed for this caller",
            }
        ],
    }
    sb.appsync.faults.answer_next(1, json.dumps(answer))
    body = kit.create(key="reason-with-bad-characters")
    sb.send_messages([body])
    _, response = kit.invoke(sb)
    assert response == {"batchItemFailures": []}
    dead_body, failure = only_dead_letter(sb)
    assert dead_body == body
    assert failure["errorType"] == "Unauthorized"
    assert "name 'a\ufffdb\ufffdc\ufffdd' is not allowed" in failure["reason"]
    assert failure["idempotencyKey"] == "reason-with-bad-characters"
