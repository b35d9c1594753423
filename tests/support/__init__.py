"""Helpers the tests share: messages, one invocation the way the event source mapping makes it, and what
account B and the DLQ hold. One definition each (``from tests.support import ...``)."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from sandbox.fixture import Sandbox
from sandbox.lambda_runtime import LambdaContext
from worker.dead_letters import read_failure


def create_body(name: str | None = None, key: str | None = None, **extra: Any) -> str:
    """A ``createTodo`` envelope with an idempotency key (a fresh one unless given)."""
    envelope: dict[str, Any] = {
        "mutation": "createTodo",
        "input": {"name": name or f"todo-{uuid.uuid4().hex[:8]}"},
        "idempotencyKey": key or uuid.uuid4().hex,
        **extra,
    }
    return json.dumps(envelope)


def create_bodies(prefix: str, count: int) -> list[str]:
    """``count`` creates keyed ``<prefix>-0`` ... ``<prefix>-<count-1>``."""
    return [create_body(name="x", key=f"{prefix}-{i}") for i in range(count)]


def invoke(
    sb: Sandbox,
    *,
    max_messages: int = 10,
    timeout_ms: int = 60_000,
    handler: Callable[..., Any] | None = None,
) -> tuple[dict[str, Any], Any]:
    """One invocation as the event source mapping makes it (an exception fails the whole batch), applied to SQS."""
    from worker.handler import lambda_handler

    event = sb.sqs_event(max_messages=max_messages)
    context = LambdaContext(function_name=sb.settings.worker.function_name, timeout_ms=timeout_ms)
    try:
        response: Any = (handler or lambda_handler)(event, context)
    except Exception as exc:  # Lambda: the whole batch failed
        response = exc
    sb.apply_batch_response(event, response)
    return event, response


def drain(sb: Sandbox, max_rounds: int = 20) -> None:
    """Invoke until the source queue is empty; no invocation may fail as a whole."""
    from worker.handler import lambda_handler

    stats = sb.drain_queue(lambda_handler, batch_size=10, max_rounds=max_rounds)
    assert stats.whole_batch_failures == 0


def dead_letters(sb: Sandbox, source_ids: Iterable[str] | None = None) -> dict[str, dict[str, str]]:
    """DLQ messages by the source message they came from: their ``failure.*`` attributes and ``body``."""
    wanted = set(source_ids) if source_ids is not None else None
    found = {}
    for message in sb.dlq_messages():
        failure = read_failure(message.get("MessageAttributes", {}))
        source = failure.get("sourceMessageId", message["MessageId"])
        if wanted is None or source in wanted:
            found[source] = {**failure, "body": message["Body"]}
    return found


def table_ids(sb: Sandbox) -> set[str]:
    return {str(item["id"]) for item in sb.table_items()}


def wait_for(predicate: Callable[[], Any], what: str = "the condition", limit: float = 10.0) -> None:
    """Poll ``predicate`` until it is true, or fail naming ``what`` after ``limit`` seconds."""
    deadline = time.monotonic() + limit
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {limit} s waiting for {what}")
        time.sleep(0.02)
