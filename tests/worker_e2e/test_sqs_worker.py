"""SQS path end to end: partial batch responses, retries, permanent failures with reasons, warm reuse."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from sandbox.fixture import Sandbox
from tests.support import dead_letters
from worker.handler import get_runtime


@pytest.mark.both_backends
def test_batch_is_applied_with_one_assume_role_from_the_execution_role(
    sb: Sandbox, container: Callable[..., None], kit: Any
) -> None:
    SETTINGS, create, invoke, table_ids = kit.settings, kit.create, kit.invoke, kit.table_ids
    sb.sts.reset()
    keys = [f"ok-{i}" for i in range(10)]
    sb.send_messages([create(key=k) for k in keys])
    event, response = invoke(sb)
    assert len(event["Records"]) == 10
    assert response == {"batchItemFailures": []}
    assert set(keys) <= table_ids(sb)
    calls = sb.sts.assume_role_calls
    assert len(calls) == 1
    assert calls[0].role_arn == SETTINGS.mutator_role_arn
    assert calls[0].session_name == SETTINGS.mutator_role.session_name
    assert calls[0].caller_arn.startswith(
        f"arn:aws:sts::{SETTINGS.accounts.worker}:assumed-role/{SETTINGS.worker.execution_role_name}/"
    )
    callers = sb.appsync.stats.by_caller
    assert set(callers) == {SETTINGS.assumed_role_arn}


def test_warm_container_reuses_credentials_loop_and_connections(
    sb: Sandbox, container: Callable[..., None], kit: Any
) -> None:
    _SETTINGS, create, invoke, table_ids = kit.settings, kit.create, kit.invoke, kit.table_ids
    sb.sts.reset()
    for round_ in range(3):
        sb.send_messages([create(key=f"warm-{round_}-{i}") for i in range(3)])
        _, response = invoke(sb)
        assert response == {"batchItemFailures": []}
    runtime = get_runtime()
    assert runtime.invocations == 3
    assert not runtime.loop.is_closed()
    assert len(sb.sts.assume_role_calls) == 1  # one AssumeRole for the container's credential lifetime
    assert {f"warm-{r}-{i}" for r in range(3) for i in range(3)} <= table_ids(sb)


def test_transient_faults_are_retried_until_applied(
    sb: Sandbox, container: Callable[..., None], kit: Any
) -> None:
    _SETTINGS, create, invoke, table_ids = kit.settings, kit.create, kit.invoke, kit.table_ids
    container(REQUEST_TIMEOUT_SECONDS="1", MAX_CONCURRENCY="1", MAX_ATTEMPTS="8")
    faults = sb.appsync.faults
    faults.fail_next(2, status=429)
    faults.fail_next(1, status=503)
    faults.fail_next(1, status=500)
    faults.reset_next(1)
    faults.slow_next(1, seconds=2.0)  # slower than the 1 s client timeout
    keys = [f"transient-{i}" for i in range(3)]
    sb.send_messages([create(key=k) for k in keys])
    _, response = invoke(sb)
    assert response == {"batchItemFailures": []}
    assert set(keys) <= table_ids(sb)
    by_status = sb.appsync.stats.by_status
    assert by_status.get(429, 0) >= 2 and by_status.get(503, 0) >= 1


@pytest.mark.both_backends
def test_timeout_after_apply_is_one_effect(sb: Sandbox, container: Callable[..., None], kit: Any) -> None:
    _SETTINGS, create, invoke, _table_ids = kit.settings, kit.create, kit.invoke, kit.table_ids
    container(REQUEST_TIMEOUT_SECONDS="1")
    sb.appsync.faults.stall_after_apply_next(1, seconds=2.0)
    sb.send_messages([create(key="stalled-once")])
    _, response = invoke(sb)
    assert response == {"batchItemFailures": []}
    assert [i for i in sb.table_items() if i["id"] == "stalled-once"]
    executed = [m for m in sb.appsync.stats.mutations if m.item_id == "stalled-once"]
    assert len(executed) == 1  # the retry met the condition; no second write


@pytest.mark.both_backends
def test_exhausted_transient_failure_is_left_for_redelivery(
    sb: Sandbox, container: Callable[..., None], kit: Any
) -> None:
    _SETTINGS, create, invoke, table_ids = kit.settings, kit.create, kit.invoke, kit.table_ids
    container(MAX_CONCURRENCY="1", MAX_ATTEMPTS="2")
    sb.appsync.faults.fail_next(2, status=503)
    sb.send_messages([create(key="partial-a"), create(key="partial-b")])
    event, response = invoke(sb)
    first = event["Records"][0]["messageId"]
    assert response == {"batchItemFailures": [{"itemIdentifier": first}]}
    # Redelivered and applied on the next invocation.
    _, response = invoke(sb)
    assert response == {"batchItemFailures": []}
    assert {"partial-a", "partial-b"} <= table_ids(sb)


@pytest.mark.both_backends
def test_permanent_failures_go_to_the_dlq_with_their_reason(
    sb: Sandbox, container: Callable[..., None], kit: Any
) -> None:
    _SETTINGS, create, invoke, table_ids = kit.settings, kit.create, kit.invoke, kit.table_ids
    sb.purge_dlq()
    bodies = {
        "invalid": "{not json",
        "not-allowed": json.dumps({"query": "mutation { deleteEverything { ok } }"}),
        "validation": json.dumps({"query": 'mutation { createTodo(input: {nam: "x"}) { id } }'}),
        "good": create(key="perm-good"),
    }
    ids = dict(zip(bodies, sb.send_messages(list(bodies.values())), strict=True))
    _, response = invoke(sb)
    assert response == {"batchItemFailures": []}  # nothing left for redelivery: dead-lettered with reasons
    assert "perm-good" in table_ids(sb)
    failures = dead_letters(sb)
    assert set(failures) == {ids["invalid"], ids["not-allowed"], ids["validation"]}
    assert failures[ids["invalid"]]["errorType"] == "InvalidEnvelope"
    assert "not JSON" in failures[ids["invalid"]]["reason"]
    assert failures[ids["invalid"]]["body"] == "{not json"  # byte for byte
    assert failures[ids["not-allowed"]]["errorType"] == "MutationNotAllowed"
    assert failures[ids["validation"]]["errorType"] == "ValidationError"
    assert "nam" in failures[ids["validation"]]["reason"]
    # Nothing that was refused before sending reached the endpoint.
    assert all(m.field != "deleteEverything" for m in sb.appsync.stats.mutations)


# Not both_backends: it asserts AppSync's message text; its both-backend form is
# test_both_backends.py::test_the_iam_role_arn_entry_is_unauthorized_until_fixed.
def test_custom_roles_with_the_iam_role_arn_is_diagnosed(
    sb: Sandbox, container: Callable[..., None], kit: Any
) -> None:
    SETTINGS, create, invoke, table_ids = kit.settings, kit.create, kit.invoke, kit.table_ids
    sb.purge_dlq()
    sb.write_custom_roles([SETTINGS.mutator_role_arn])  # the common mistake: never matches
    [message_id] = sb.send_messages([create(key="denied-by-resolver")])
    _, response = invoke(sb)
    assert response == {"batchItemFailures": []}
    failure = dead_letters(sb)[message_id]
    assert failure["errorType"] == "Unauthorized"
    assert failure["reason"] == "Not Authorized to access createTodo on type Mutation"
    assert SETTINGS.assumed_role_arn in failure["diagnosis"]
    assert "make custom-roles" in failure["diagnosis"]
    assert "denied-by-resolver" not in table_ids(sb)


@pytest.mark.both_backends
def test_duplicate_deliveries_are_one_effect(sb: Sandbox, container: Callable[..., None], kit: Any) -> None:
    _SETTINGS, create, invoke, _table_ids = kit.settings, kit.create, kit.invoke, kit.table_ids
    body = create(key="dup-1")
    sb.send_messages([body, body, body])  # concurrently in one batch
    _, response = invoke(sb)
    assert response == {"batchItemFailures": []}
    sb.send_messages([body])  # and again later
    _, response = invoke(sb)
    assert response == {"batchItemFailures": []}
    assert len([m for m in sb.appsync.stats.mutations if m.item_id == "dup-1"]) == 1
    assert len([i for i in sb.table_items() if i["id"] == "dup-1"]) == 1


@pytest.mark.both_backends
def test_eventbridge_event_becomes_one_mutation(
    sb: Sandbox, container: Callable[..., None], kit: Any
) -> None:
    _SETTINGS, create, _invoke, table_ids = kit.settings, kit.create, kit.invoke, kit.table_ids
    from sandbox.lambda_runtime import LambdaContext
    from worker.handler import lambda_handler

    event = sb.eventbridge_event(json.loads(create(key="from-eventbridge")))
    result = lambda_handler(event, LambdaContext(function_name="f", timeout_ms=30_000))
    assert result["status"] == "applied"
    assert "from-eventbridge" in table_ids(sb)


@pytest.mark.both_backends
def test_direct_invocation_returns_the_outcome(sb: Sandbox, container: Callable[..., None], kit: Any) -> None:
    from sandbox.lambda_runtime import LambdaContext
    from worker.handler import lambda_handler

    result = lambda_handler(json.loads(kit.create(key="direct-1")), LambdaContext(timeout_ms=30_000))
    assert result == {"status": "applied", "operation": "createTodo"}
    again = lambda_handler(json.loads(kit.create(key="direct-1")), LambdaContext(timeout_ms=30_000))
    assert again["status"] == "already_applied"
    refused = lambda_handler({"mutation": "createTodo", "input": []}, LambdaContext(timeout_ms=30_000))
    assert refused["errorType"] == "InvalidEnvelope" and "input: expected a JSON object" in refused["reason"]
