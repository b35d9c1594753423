"""worker.metrics: the EMF documents of one invocation, their shape and what they never contain."""

from __future__ import annotations

import io
import json
import time

from worker import metrics
from worker.batch import RecordOutcome
from worker.errors import EnvelopeError, MutationError, TransientError
from worker.outcomes import Status


def _outcomes() -> list[RecordOutcome]:
    return [
        RecordOutcome("1", Status.APPLIED, None, "createTodo", attempts=1, send_ms=12.5),
        RecordOutcome("2", Status.APPLIED, None, "createTodo", attempts=3, send_ms=40.0),
        RecordOutcome("3", Status.ALREADY_APPLIED, None, "createTodo", attempts=1, send_ms=9.0),
        RecordOutcome("4", Status.DEAD_LETTERED, EnvelopeError("input 'secret' is bad")),
        RecordOutcome("5", Status.DEAD_LETTERED, EnvelopeError("x")),
        RecordOutcome(
            "6", Status.DEAD_LETTERED, MutationError("x", error_type="HTTP403"), attempts=1, send_ms=5.0
        ),
        RecordOutcome("7", Status.FAILED, TransientError("503"), attempts=2, send_ms=30.0),
        RecordOutcome("8", Status.NOT_ATTEMPTED),
        RecordOutcome("9", Status.REFUSED),
        RecordOutcome("10", Status.SUPERSEDED, attempts=0),
    ]


def test_summary_counts_and_one_line_per_dead_letter_type() -> None:
    summary, *by_type = metrics.invocation_documents(
        _outcomes(), assume_role_calls=1, function="fn", timestamp_ms=1700000000000
    )
    assert {k: v for k, v in summary.items() if k != "_aws"} == {
        "FunctionName": "fn",
        "Records": 10,
        "Applied": 2,
        "AlreadyApplied": 1,
        "Superseded": 1,
        "DeadLettered": 3,
        "LeftForRetry": 2,
        "Refused": 1,
        "Attempts": 8,
        "Retries": 3,
        "AssumeRoleCalls": 1,
        "AppSyncLatency": [12.5, 40.0, 9.0, 5.0, 30.0],
    }
    [directive] = summary["_aws"]["CloudWatchMetrics"]
    assert summary["_aws"]["Timestamp"] == 1700000000000
    assert directive["Namespace"] == "AppSyncMutationWorker"
    assert directive["Dimensions"] == [["FunctionName"]]
    assert {m["Name"]: m["Unit"] for m in directive["Metrics"]}["AppSyncLatency"] == "Milliseconds"
    # every declared metric and dimension is a root key (what CloudWatch requires)
    for document in (summary, *by_type):
        [d] = document["_aws"]["CloudWatchMetrics"]
        assert all(m["Name"] in document for m in d["Metrics"])
        assert all(key in document for key in d["Dimensions"][0])
    assert [(d["ErrorType"], d["DeadLettered"]) for d in by_type] == [("HTTP403", 1), ("InvalidEnvelope", 2)]
    assert all(
        d["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["FunctionName", "ErrorType"]] for d in by_type
    )


def test_no_reason_or_value_and_odd_error_types_become_other() -> None:
    outcomes = [
        RecordOutcome(
            "a", Status.DEAD_LETTERED, MutationError("the value secret-42", error_type="weird type {x}")
        ),
        *[
            RecordOutcome(str(i), Status.DEAD_LETTERED, MutationError("x", error_type=f"T{i}"))
            for i in range(20)
        ],
    ]
    documents = metrics.invocation_documents(outcomes, assume_role_calls=0, function="fn")
    text = json.dumps(documents)
    assert "secret-42" not in text and "weird" not in text
    assert len(documents) == 1 + metrics.MAX_ERROR_TYPES
    assert documents[1]["ErrorType"] == "Other"


def test_no_latency_metric_when_nothing_was_sent_and_emit_writes_one_line_each() -> None:
    documents = metrics.invocation_documents(
        [RecordOutcome("1", Status.DEAD_LETTERED, EnvelopeError("x"))],
        assume_role_calls=0,
        function="fn",
    )
    assert "AppSyncLatency" not in documents[0]
    assert abs(documents[0]["_aws"]["Timestamp"] - time.time() * 1000) < 60_000
    out = io.StringIO()
    metrics.emit(documents, out)
    lines = out.getvalue().splitlines()
    assert len(lines) == 2 and all(metrics.is_emf(line) for line in lines)
    assert not metrics.is_emf('{"event": "record_done"}')


def test_function_name_comes_from_lambda_s_environment() -> None:
    assert metrics.function_name({"AWS_LAMBDA_FUNCTION_NAME": "shop"}) == "shop"
    assert metrics.function_name({}) == "local"
