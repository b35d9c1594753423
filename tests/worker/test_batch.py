"""``BatchProcessor``: the concurrency bound, FIFO order per group, dead-letter decisions and the deadline.

The client here is scripted (what AppSync would have answered is not the point); envelopes, outcomes, dead
letters and the deadline are the real ones.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any

import pytest

from worker.batch import BatchProcessor, WorkItem, sqs_work_item
from worker.client import SendResult
from worker.dead_letters import DeadLetter
from worker.envelope import MutationRequest
from worker.errors import NotAllowedError, ServerError
from worker.outcomes import Status

ALLOWED = frozenset({"createTodo", "updateTodo", "deleteTodo"})


class ScriptedClient:
    """Answers each send after ``delay`` with what ``script(request)`` says (a SendResult or an error)."""

    def __init__(self, script: Callable[[MutationRequest], Any] | None = None, delay: float = 0.01) -> None:
        self.script = script or (lambda request: None)
        self.delay = delay
        self.in_flight = 0
        self.most_in_flight = 0
        self.sent: list[MutationRequest] = []

    async def send(
        self, request: MutationRequest, *, deadline: float | None = None, redelivered: bool = False
    ) -> Any:
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            await asyncio.sleep(self.delay)
            self.sent.append(request)
            answer = self.script(request)
            if isinstance(answer, BaseException):
                raise answer
            return answer or SendResult(Status.APPLIED, request.field, {"id": "x"}, 1)
        finally:
            self.in_flight -= 1


class RecordingDLQ:
    def __init__(self, fail: BaseException | None = None, delay: float = 0.0) -> None:
        self.letters: list[DeadLetter] = []
        self.fail, self.delay = fail, delay

    async def publish(self, letter: DeadLetter) -> str:
        await asyncio.sleep(self.delay)
        if self.fail is not None:
            raise self.fail
        self.letters.append(letter)
        return f"dlq-{len(self.letters)}"


def _item(n: int, *, group: str | None = None, receive_count: int = 1, name: str = "createTodo") -> WorkItem:
    body = json.dumps({"mutation": name, "input": {"name": f"n{n}"}, "idempotencyKey": f"k{n}"})
    return WorkItem(f"m{n}", body, "sqs", receive_count=receive_count, group_id=group, message_id=f"m{n}")


def _processor(client: Any, dlq: Any = None, **kwargs: Any) -> BatchProcessor:
    return BatchProcessor(client, allowed_fields=ALLOWED, max_concurrency=3, dead_letters=dlq, **kwargs)


async def test_concurrency_is_bounded_and_outcomes_keep_the_order_of_the_batch() -> None:
    client = ScriptedClient(delay=0.02)
    items = [_item(n) for n in range(10)]
    outcomes = await _processor(client).process(items)
    assert [o.record_id for o in outcomes] == [i.record_id for i in items]
    assert {o.status for o in outcomes} == {Status.APPLIED}
    assert client.most_in_flight == 3


async def test_fifo_groups_run_in_order_and_a_failure_stops_the_rest_of_its_group() -> None:
    def script(request: MutationRequest) -> Any:
        return ServerError("HTTP 503") if request.idempotency_key == "k1" else None

    client = ScriptedClient(script)
    items = [
        _item(0, group="a"),
        _item(1, group="a"),
        _item(2, group="a"),
        _item(3, group="b"),
        _item(4, group="b"),
    ]
    outcomes = await _processor(client).process(items, fifo=True)
    by_id = {o.record_id: o.status for o in outcomes}
    assert by_id == {
        "m0": Status.APPLIED,
        "m1": Status.FAILED,
        "m2": Status.NOT_ATTEMPTED,  # never sent: SQS redelivers it after m1, in order
        "m3": Status.APPLIED,
        "m4": Status.APPLIED,
    }
    keys = [r.idempotency_key for r in client.sent]
    assert keys.index("k0") < keys.index("k1") and "k2" not in keys
    assert keys.index("k3") < keys.index("k4")


async def test_permanent_failures_are_dead_lettered_with_their_reason() -> None:
    dlq = RecordingDLQ()
    items = [_item(0, name="createNote")]  # off the allow-list: refused before any send
    client = ScriptedClient()
    [outcome] = await _processor(client, dlq).process(items)
    assert outcome.status is Status.DEAD_LETTERED and isinstance(outcome.error, NotAllowedError)
    assert client.sent == []
    [letter] = dlq.letters
    assert letter.body == items[0].body and letter.error_type == "MutationNotAllowed"
    assert "allow-list" in letter.reason and letter.source_message_id == "m0"


async def test_transient_failures_are_redelivered_until_the_last_delivery() -> None:
    dlq = RecordingDLQ()
    client = ScriptedClient(lambda request: ServerError("HTTP 503"))
    processor = _processor(client, dlq, max_receive_count=3)
    [early] = await processor.process([_item(0, receive_count=2)])
    assert early.status is Status.FAILED and dlq.letters == []
    [last] = await processor.process([_item(0, receive_count=3)])
    assert last.status is Status.DEAD_LETTERED
    assert dlq.letters[0].reason.startswith("gave up after delivery 3: ")


@pytest.mark.parametrize(
    "dlq", [None, RecordingDLQ(fail=RuntimeError("SQS said no"))], ids=["no-dlq", "dlq-fails"]
)
async def test_without_a_working_dlq_a_permanent_failure_stays_on_the_queue(dlq: Any) -> None:
    [outcome] = await _processor(ScriptedClient(), dlq).process([_item(0, name="createNote")])
    assert outcome.status is Status.FAILED  # redelivered; SQS's redrive moves it in the end


async def test_a_dlq_send_that_never_answers_is_given_up_at_the_deadline() -> None:
    dlq = RecordingDLQ(delay=30)
    started = time.monotonic()
    [outcome] = await _processor(ScriptedClient(), dlq).process(
        [_item(0, name="createNote")], deadline=time.monotonic() + 0.3
    )
    assert outcome.status is Status.FAILED
    assert time.monotonic() - started < 5  # nowhere near the DLQ's 30 s


async def test_records_unfinished_at_the_deadline_are_failed_never_successes() -> None:
    client = ScriptedClient(delay=30)
    outcomes = await _processor(client).process([_item(n) for n in range(5)], deadline=time.monotonic() + 0.2)
    assert {o.status for o in outcomes} == {Status.FAILED}
    assert all(o.error is not None and o.error.error_type == "OutOfTime" for o in outcomes)


async def test_an_unexpected_exception_is_a_transient_worker_bug() -> None:
    dlq = RecordingDLQ()
    client = ScriptedClient(lambda request: KeyError("surprise"))
    processor = _processor(client, dlq, max_receive_count=2)
    [first] = await processor.process([_item(0)])
    assert first.status is Status.FAILED and first.error is not None
    assert first.error.error_type == "WorkerBug" and first.error.retryable
    [last] = await processor.process([_item(0, receive_count=2)])
    assert last.status is Status.DEAD_LETTERED and "KeyError" in dlq.letters[0].reason


async def test_a_create_without_an_id_gets_the_message_id_unless_opted_out() -> None:
    body = json.dumps({"mutation": "createTodo", "input": {"name": "no id"}})
    item = WorkItem("m9", body, "sqs", message_id="msg-9")
    client = ScriptedClient()
    await _processor(client).process([item])
    assert client.sent[-1].record_id == "msg-9" and client.sent[-1].id_source == "message"
    await _processor(client, create_ids_from_message=False).process([item])
    assert client.sent[-1].record_id is None and not client.sent[-1].is_idempotent


def test_sqs_records_carry_their_identity_and_a_redriven_copy_keeps_its_origin() -> None:
    from worker.origin import origin_attributes

    lambda_shape = {
        name: {"stringValue": value["StringValue"], "dataType": "String"}
        for name, value in origin_attributes("first-id", "{}").items()
    }
    record: dict[str, Any] = {
        "messageId": "new-id",
        "body": "{}",
        "eventSource": "aws:sqs",
        "attributes": {"ApproximateReceiveCount": "2", "MessageGroupId": "g"},
        "messageAttributes": lambda_shape,
    }
    item = sqs_work_item(record)
    assert (item.record_id, item.message_id, item.receive_count, item.group_id) == (
        "new-id",
        "first-id",
        2,
        "g",
    )
    assert (
        sqs_work_item({**record, "body": '{"other": 1}'}).message_id == "new-id"
    )  # another body: not its origin
    del record["messageAttributes"]
    assert sqs_work_item(record).message_id == "new-id"


async def test_a_failure_of_the_failure_path_is_a_worker_bug_not_the_deadline() -> None:
    """A log sink that broke (here: a closed stream) must not turn the record into an unexplained 'out of time'."""
    import io

    from worker.logs import configure_logging

    closed = io.StringIO()
    closed.close()
    configure_logging("INFO", stream=closed)
    try:
        [outcome] = await _processor(ScriptedClient(lambda request: ServerError("HTTP 503"))).process(
            [_item(0)]
        )
    finally:
        configure_logging("INFO")
    assert outcome.status is Status.FAILED and outcome.error is not None
    assert outcome.error.error_type == "WorkerBug" and "closed file" in outcome.error.reason
