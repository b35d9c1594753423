"""The worker end to end in the sandbox: real STS with enforced trust, real SigV4 checked by the stand-in.

Each test gets a fresh "container" (``container`` in tests/conftest.py) whose environment is exactly what Lambda
would give it; these helpers build messages and invoke it the way the event source mapping does.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from project_settings import Settings, load_settings
from sandbox.fixture import Sandbox
from sandbox.lambda_runtime import LambdaContext
from worker.handler import lambda_handler

SETTINGS: Settings = load_settings()


def _create(name: str | None = None, key: str | None = None, **extra: Any) -> str:
    envelope: dict[str, Any] = {
        "mutation": "createTodo",
        "input": {"name": name or f"todo-{uuid.uuid4().hex[:8]}"},
        "idempotencyKey": key or uuid.uuid4().hex,
        **extra,
    }
    return json.dumps(envelope)


def _invoke(
    sb: Sandbox, *, max_messages: int = 10, timeout_ms: int = 60_000
) -> tuple[dict[str, Any], dict[str, Any]]:
    """One Lambda invocation the way the event source mapping makes it, and its response applied to SQS."""
    event = sb.sqs_event(max_messages=max_messages)
    response = lambda_handler(
        event, LambdaContext(function_name=SETTINGS.worker.function_name, timeout_ms=timeout_ms)
    )
    sb.apply_batch_response(event, response)
    return event, response


def _table_ids(sb: Sandbox) -> set[str]:
    return {item["id"] for item in sb.table_items()}


class Kit:
    """Helpers for the tests (in importlib mode test modules cannot import this conftest)."""

    settings = SETTINGS
    create = staticmethod(_create)
    invoke = staticmethod(_invoke)
    table_ids = staticmethod(_table_ids)


@pytest.fixture
def kit() -> type[Kit]:
    return Kit
