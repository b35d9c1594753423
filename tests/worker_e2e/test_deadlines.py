"""Every invocation ends inside its deadline, whatever AppSync, STS or SQS do, and reports what it did not finish
as failed (left for redelivery), never as a success.

"Black holes" are listeners on 127.0.0.1 that accept connections and never answer: the worst an endpoint can do.
"""

from __future__ import annotations

import json
import socket
import threading
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from sandbox.fixture import Sandbox
from sandbox.lambda_runtime import LambdaContext
from worker.handler import lambda_handler


class BlackHole:
    """Accepts every connection and never sends a byte; closing it ends every accepted connection."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._accepted: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self._listener.accept()
            except OSError:
                return
            self._accepted.append(connection)

    @property
    def connections(self) -> int:
        return len(self._accepted)

    def close(self) -> None:
        self._listener.close()
        for connection in self._accepted:
            connection.close()
        self._thread.join(timeout=5)


@pytest.fixture(autouse=True)
def empty_source_queue(sb: Sandbox) -> None:
    """Tests here leave their messages on the queue on purpose (that is the point); start each one empty."""
    sqs = sb.client("sqs", "A")
    while messages := sqs.receive_message(QueueUrl=sb.queue_url, MaxNumberOfMessages=10).get("Messages"):
        for message in messages:
            sqs.delete_message(QueueUrl=sb.queue_url, ReceiptHandle=message["ReceiptHandle"])


@pytest.fixture
def black_hole() -> Iterator[BlackHole]:
    hole = BlackHole()
    yield hole
    hole.close()


def _creates(count: int) -> list[str]:
    return [
        json.dumps({"mutation": "createTodo", "input": {"name": "x"}, "idempotencyKey": uuid.uuid4().hex})
        for _ in range(count)
    ]


def _invoke_with_deadline(sb: Sandbox, timeout_ms: int) -> tuple[dict[str, Any], Any, LambdaContext]:
    event = sb.sqs_event(max_messages=10)
    context = LambdaContext(timeout_ms=timeout_ms)
    try:
        response: Any = lambda_handler(event, context)
    except Exception as exc:  # Lambda: the whole batch fails
        response = exc
    sb.apply_batch_response(event, response)
    return event, response, context


def _all_failed(event: dict[str, Any], response: Any) -> bool:
    """Every record is reported failed (left for redelivery), and the response is a partial batch response."""
    assert isinstance(response, dict), response
    reported = [item["itemIdentifier"] for item in response["batchItemFailures"]]
    assert sorted(reported) == sorted(r["messageId"] for r in event["Records"]), response
    return True


def test_a_slow_answer_is_cut_to_the_time_left(sb: Sandbox, container: Callable[..., None]) -> None:
    """2.5 s left, AppSync answers in 5 s: the first attempt is capped by the time left, not by the 10 s timeout."""
    container(REQUEST_TIMEOUT_SECONDS="10")
    sb.appsync.faults.slow_all(5.0)
    sb.send_messages(_creates(3))
    event, response, context = _invoke_with_deadline(sb, 2500)
    assert context.get_remaining_time_in_millis() > 0, "returned after the Lambda deadline"
    assert _all_failed(event, response)
    assert sb.queue_depth() == 3  # nothing lost: all three come back


def test_a_black_holed_appsync_endpoint(
    sb: Sandbox, container: Callable[..., None], black_hole: BlackHole
) -> None:
    container(APPSYNC_URL=f"{black_hole.url}/graphql", REQUEST_TIMEOUT_SECONDS="30")
    sb.send_messages(_creates(2))
    event, response, context = _invoke_with_deadline(sb, 2000)
    assert context.get_remaining_time_in_millis() > 0
    assert _all_failed(event, response)
    assert black_hole.connections >= 1  # it did reach the endpoint


def test_a_black_holed_sts_endpoint(
    sb: Sandbox, container: Callable[..., None], black_hole: BlackHole
) -> None:
    container(AWS_ENDPOINT_URL_STS=black_hole.url)
    sb.send_messages(_creates(5))
    event, response, context = _invoke_with_deadline(sb, 2000)
    assert context.get_remaining_time_in_millis() > 0
    assert _all_failed(event, response)
    assert black_hole.connections == 1  # one AssumeRole in flight for the whole batch, not one per record


def test_a_black_holed_dead_letter_queue(
    sb: Sandbox, container: Callable[..., None], black_hole: BlackHole
) -> None:
    """A permanent failure whose DLQ send never answers stays on the source queue (redelivered), in time."""
    container(AWS_ENDPOINT_URL_SQS=black_hole.url)
    sb.send_messages([json.dumps({"mutation": "createNote", "input": {"name": "off the allow-list"}})])
    event, response, context = _invoke_with_deadline(sb, 2000)
    assert context.get_remaining_time_in_millis() > 0
    assert _all_failed(event, response)
    assert sb.queue_depth() == 1 and sb.dlq_messages() == []
    assert black_hole.connections >= 1


def test_sts_throttling_for_the_whole_invocation_is_a_few_calls_not_one_per_record(
    sb: Sandbox, container: Callable[..., None]
) -> None:
    container(MAX_ATTEMPTS="20")
    sb.sts.throttle_next(100_000)
    sb.send_messages(_creates(10))
    event, response, context = _invoke_with_deadline(sb, 6000)
    assert context.get_remaining_time_in_millis() > 0
    assert _all_failed(event, response)
    assert sb.dlq_messages() == []  # throttling is transient: nothing dead-lettered
    requests = len(sb.sts.refused_calls)
    # one call in flight with a shared backoff: 8-9 requests here (2 botocore attempts a call); it was one call
    # per record and attempt, serialised on the event loop, past the deadline
    assert 1 <= requests <= 12, f"{requests} AssumeRole requests for one 10-record batch"
