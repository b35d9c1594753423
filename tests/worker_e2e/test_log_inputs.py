"""Logs at INFO carry no mutation input values and no unbounded string; a worker bug is logged with its
traceback, left for redelivery, and dead-lettered with its reason on the last delivery."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from sandbox.fixture import Sandbox
from tests.support import dead_letters

SENTINEL = "SENTINEL-INPUT-VALUE-7f3a"


def _log_lines(text: str) -> list[dict[str, Any]]:
    lines = []
    for line in text.splitlines():
        if line.startswith("{"):
            try:
                lines.append(json.loads(line))
            except ValueError:
                continue
    return lines


@pytest.mark.parametrize(
    "envelope",
    [
        # a value of the wrong type: AppSync's (and graphql-core's) coercion message quotes it
        {"mutation": "createTodo", "input": {"name": "x", "done": SENTINEL}},
        {"mutation": "updateTodo", "input": {"id": "u-1", "done": [SENTINEL, 12345678]}},
        # a literal in the document: validation messages quote the argument
        {"query": f'mutation {{ createTodo(input: {{name: "x", done: "{SENTINEL}"}}) {{ id }} }}'},
    ],
    ids=["variable", "nested-variable", "literal"],
)
def test_input_values_never_reach_info_logs(
    sb: Sandbox, container: Callable[..., None], kit: Any, capsys: pytest.CaptureFixture[str], envelope: Any
) -> None:
    container(LOG_LEVEL="INFO")
    [message_id] = sb.send_messages([json.dumps(envelope)])
    capsys.readouterr()
    _, response = kit.invoke(sb)
    out = capsys.readouterr().out
    assert response == {"batchItemFailures": []}
    lines = _log_lines(out)
    [dead] = [line for line in lines if line.get("event") == "record_dead_lettered"]
    assert (
        dead["message_id"] == message_id and dead["request_id"] and dead["invocation"]
    )  # context bound once
    attempts = [line for line in lines if line.get("event") == "mutation_attempt"]
    assert all(line["message_id"] == message_id for line in attempts)
    leaking = [line["event"] for line in lines if SENTINEL in json.dumps(line)]
    assert leaking == [], f"input value in log lines: {leaking}"
    assert (
        SENTINEL in dead_letters(sb)[message_id]["reason"]
    )  # the DLQ keeps the whole reason (it has the body)


def test_echoed_strings_are_capped(
    sb: Sandbox, container: Callable[..., None], kit: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    huge = "k" * 200_000
    bodies = [
        json.dumps({"mutation": "createTodo", "input": {"name": "x"}, huge: 1}),  # an unknown key
        json.dumps({"mutation": "create" + "X" * 100_000, "input": {}}),  # a name off the allow-list
        json.dumps({"query": "mutation { " + "a" * 60_000}),  # a syntax error quoting a long token
        json.dumps({"mutation": "createTodo", "input": {"name": "x"}, "version": huge}),
    ]
    ids = sb.send_messages(bodies)
    capsys.readouterr()
    _, response = kit.invoke(sb)
    out = capsys.readouterr().out
    assert response == {"batchItemFailures": []}
    longest = max(len(line) for line in out.splitlines())
    assert longest < 4000, f"a log line of {longest} characters"
    for message_id in ids:
        assert len(dead_letters(sb)[message_id]["reason"]) <= 1100


def test_a_worker_bug_is_redelivered_then_dead_lettered_with_its_traceback(
    sb: Sandbox,
    container: Callable[..., None],
    kit: Any,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Fault injection: the envelope parser raises what no code path expects."""
    import worker.batch

    def broken(*_: Any, **__: Any) -> Any:
        raise RuntimeError("boom: a bug")

    container(MAX_RECEIVE_COUNT="2")
    monkeypatch.setattr(worker.batch, "parse_envelope", broken)
    key = f"bug-{uuid.uuid4().hex[:8]}"
    [message_id] = sb.send_messages([kit.create(key=key)])
    capsys.readouterr()
    _, first = kit.invoke(sb)
    assert first == {"batchItemFailures": [{"itemIdentifier": message_id}]}  # transient: redelivered
    lines = _log_lines(capsys.readouterr().out)
    crashed = [line for line in lines if line.get("event") == "record_crashed"]
    assert crashed and "Traceback" in crashed[0]["exception"] and "boom: a bug" in crashed[0]["exception"]
    failed = [line for line in lines if line.get("event") == "record_failed"]
    assert failed[0]["error_type"] == "WorkerBug" and failed[0]["outcome"] == "retry_later"

    _, second = kit.invoke(sb)  # the last allowed delivery: into the DLQ with the reason
    assert second == {"batchItemFailures": []}
    letter = dead_letters(sb)[message_id]
    assert letter["errorType"] == "WorkerBug" and "boom: a bug" in letter["reason"]


def test_every_write_names_its_producer_and_its_record_without_input_values(
    sb: Sandbox, container: Callable[..., None], kit: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """From account B's record to the producer that asked, with no input value at INFO."""
    import hashlib

    container(LOG_LEVEL="INFO")
    key = f"who-{uuid.uuid4().hex[:8]}"
    by_input = f"{SENTINEL}-{uuid.uuid4().hex[:6]}"  # an id the input chose: an input value, digested
    [by_key, by_id] = sb.send_messages(
        [
            json.dumps({"mutation": "createTodo", "input": {"name": "k"}, "idempotencyKey": key}),
            json.dumps({"mutation": "createTodo", "input": {"id": by_input, "name": "i"}}),
        ]
    )
    capsys.readouterr()
    _, response = kit.invoke(sb)
    assert response == {"batchItemFailures": []}
    done = {
        line["message_id"]: line
        for line in _log_lines(capsys.readouterr().out)
        if line.get("event") == "record_done"
    }
    assert done[by_key]["record_id"] == key and done[by_key]["producer"].startswith("sqs:")
    assert done[by_id]["record_digest"] == hashlib.sha256(by_input.encode()).hexdigest()[:16]
    assert SENTINEL not in json.dumps(done[by_id])
