"""Credentials under Lambda's real conditions, and the two walls people hit, each diagnosed."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from sandbox.fixture import Sandbox
from sandbox.lambda_runtime import LambdaContext
from worker.dead_letters import read_failure
from worker.handler import MutationFailed, get_runtime, lambda_handler


def test_refresh_in_the_middle_of_a_concurrent_batch_signs_nothing_invalid(
    sb: Sandbox, container: Callable[..., None], kit: Any
) -> None:
    settings = kit.settings
    sb.sts.reset()
    sb.appsync.stats.reset()
    sb.sts.set_credential_lifetime(3, role_arn=settings.mutator_role_arn)  # account-B sessions live 3 s
    try:
        container(MAX_CONCURRENCY="5")
        sb.appsync.faults.set_latency(100)
        keys = [f"refresh-{i}" for i in range(150)]  # 150 x 100 ms / 5 in flight = ~3 s: spans a refresh
        sb.send_messages([kit.create(key=k) for k in keys])
        stats = sb.drain_queue(lambda_handler, batch_size=150)
        assert stats.failures_reported == 0 and stats.whole_batch_failures == 0
        assert set(keys) <= kit.table_ids(sb)
        calls = sb.sts.assume_role_calls
        assert len(calls) >= 2, "the batch outlived one credential lifetime, so credentials were refreshed"
        assert all(c.caller_arn == sb.execution_role_session_arn for c in calls), (
            "always assumed from the base session"
        )
        outcomes = sb.appsync.stats.by_outcome
        assert outcomes.get("signature", 0) == 0  # no request signed with parts of two credential sets
        assert outcomes.get("unrecognized_client", 0) == 0
    finally:
        sb.sts.set_credential_lifetime(None)
        sb.appsync.faults.clear()


def test_expired_credentials_are_refreshed_once_and_the_message_applied(
    sb: Sandbox, container: Callable[..., None], kit: Any
) -> None:
    container()
    sb.send_messages([kit.create(key="before-expiry")])
    kit.invoke(sb)
    runtime = get_runtime()
    calls_before = runtime.credentials.assume_role_calls
    sb.sts.expire_all(keep_role_arns=[kit.settings.execution_role_arn])  # AppSync now says: token expired
    sb.send_messages([kit.create(key="after-expiry")])
    _, response = kit.invoke(sb)
    assert response == {"batchItemFailures": []}
    assert "after-expiry" in kit.table_ids(sb)
    assert runtime.credentials.assume_role_calls == calls_before + 1


def test_sts_throttling_is_retried(sb: Sandbox, container: Callable[..., None], kit: Any) -> None:
    container()
    sb.sts.throttle_next(2)  # botocore's standard retry mode absorbs these
    sb.send_messages([kit.create(key="sts-throttled")])
    _, response = kit.invoke(sb)
    assert response == {"batchItemFailures": []}
    assert "sts-throttled" in kit.table_ids(sb)


def test_trust_policy_pinning_another_session_name_is_diagnosed(
    sb: Sandbox, container: Callable[..., None], kit: Any
) -> None:
    from project_settings.policies import mutator_trust_policy

    settings = kit.settings
    other = settings.with_changes(mutator_role={"session_name": "someone-elses-session"})
    sb.set_trust_policy(mutator_trust_policy(other))
    sb.purge_dlq()
    try:
        container()
        [message_id] = sb.send_messages([kit.create(key="wrong-session")])
        _, response = kit.invoke(sb)
        assert response == {"batchItemFailures": []}  # dead-lettered with the reason, not retried in vain
        [letter] = [
            m
            for m in sb.dlq_messages()
            if read_failure(m["MessageAttributes"])["sourceMessageId"] == message_id
        ]
        failure = read_failure(letter["MessageAttributes"])
        assert failure["errorType"] == "AssumeRoleDenied"
        assert (
            f"User: {sb.execution_role_session_arn} is not authorized to perform: sts:AssumeRole on resource: "
            f"{settings.mutator_role_arn}"
        ) in failure["reason"]
        assert (
            f"sts:RoleSessionName to exactly '{settings.mutator_role.session_name}'" in failure["diagnosis"]
        )
        assert "wrong-session" not in kit.table_ids(sb)
    finally:
        sb.set_trust_policy(mutator_trust_policy(settings))


def test_long_term_environment_keys_are_reported_at_cold_start(
    sb: Sandbox, container: Callable[..., None], kit: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    keys = sb.create_user_keys("developer-with-keys")
    container(AWS_SESSION_TOKEN="", **keys)
    get_runtime()
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    [report] = [line for line in lines if line["event"] == "base_credentials"]
    assert report["access_key_kind"] == "long-term (AKIA)"
    assert "shadow the execution role" in report["warning"]
    # And the wall it causes is named: the trust policy does not admit an IAM user.
    sb.send_messages([kit.create(key="shadowed")])
    kit.invoke(sb)
    assert "shadowed" not in kit.table_ids(sb)


def test_eventbridge_permanent_failure_is_dead_lettered_and_transient_raises(
    sb: Sandbox, container: Callable[..., None], kit: Any
) -> None:
    container(MAX_ATTEMPTS="2")
    sb.purge_dlq()
    bad = sb.eventbridge_event({"mutation": "createTodo"})  # no input: permanent
    result = lambda_handler(bad, LambdaContext(timeout_ms=30_000))
    assert result["status"] == "dead_lettered" and result["errorType"] == "InvalidEnvelope"
    [letter] = sb.dlq_messages()
    failure = read_failure(letter["MessageAttributes"])
    assert failure["sourceMessageId"] == bad["id"]
    assert failure["source"] == f"eventbridge:{kit.settings.worker.eventbridge_source}"
    sb.appsync.faults.fail_next(2, status=503)
    with pytest.raises(MutationFailed, match="HTTP 503"):
        lambda_handler(
            sb.eventbridge_event(json.loads(kit.create(key="eb-retry"))), LambdaContext(timeout_ms=30_000)
        )
    # Lambda's asynchronous retry delivers the same event again: now it applies.
    result = lambda_handler(
        sb.eventbridge_event(json.loads(kit.create(key="eb-retry"))), LambdaContext(timeout_ms=30_000)
    )
    assert result["status"] == "applied"


def test_unrecognised_event_is_refused_with_a_clear_error(container: Callable[..., None]) -> None:
    from worker.handler import EventShapeError

    with pytest.raises(EventShapeError, match="expected SQS records, an EventBridge event"):
        lambda_handler({"hello": "world"}, LambdaContext())
