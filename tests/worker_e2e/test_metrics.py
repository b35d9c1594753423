"""EMF metrics of a batch in the sandbox: each figure checked against what happened there."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from typing import Any

from mutation_cli.records import read_failure
from sandbox.fixture import Sandbox
from sandbox.lambda_runtime import collect_metrics


def test_a_batch_s_metrics_match_what_happened(sb: Sandbox, container: Callable[..., None], kit: Any) -> None:
    create, invoke, table_ids = kit.create, kit.invoke, kit.table_ids
    # the duplicate's record exists before the batch: a create whose key is its id counts as already applied
    container()
    sb.send_messages([create(key="metrics-dup")])
    invoke(sb)
    container(MAX_CONCURRENCY="1", MAX_ATTEMPTS="2")  # a fresh container: it assumes the role once
    sb.purge_dlq()
    sb.sts.reset()
    sb.appsync.stats.reset()
    before = table_ids(sb)
    secret_name = "metrics-secret-input-value"
    sb.send_messages(
        [
            create(key="metrics-a", name=secret_name),
            create(key="metrics-b"),
            create(key="metrics-dup"),
            "{not json",
            json.dumps({"query": "mutation { deleteEverything { ok } }"}),
        ]
    )
    sb.appsync.faults.fail_next(2, status=503)  # the first record sent: both its attempts fail
    with collect_metrics() as metrics:
        event, response = invoke(sb)
    assert len(event["Records"]) == 5

    totals = metrics.totals()
    left = len(response["batchItemFailures"])
    dead = [read_failure(m.get("MessageAttributes", {})) for m in sb.dlq_messages()]
    applied = len(table_ids(sb) - before)
    assert left == 1 and applied == 1 and len(dead) == 2  # what happened
    assert totals["Records"] == 5
    assert totals["Applied"] == applied
    assert totals["AlreadyApplied"] == 1
    assert totals["DeadLettered"] == len(dead)
    assert metrics.dead_lettered_by_type() == dict(Counter(f["errorType"] for f in dead))
    assert metrics.dead_lettered_by_type() == {"InvalidEnvelope": 1, "MutationNotAllowed": 1}
    assert totals["LeftForRetry"] == left
    assert totals["Attempts"] == sb.appsync.stats.requests == 4  # 2 for the one left, 1 each for two
    assert totals["Retries"] == 1
    assert totals["AssumeRoleCalls"] == len(sb.sts.assume_role_calls) == 1
    latencies = metrics.values("AppSyncLatency")
    assert len(latencies) == 3 and all(v > 0 for v in latencies)  # one per record sent (refused ones are not)

    # one summary line and one per error type, each for this function, with nothing from the messages in it
    assert len(metrics.documents) == 3
    text = "\n".join(json.dumps(d) for d in metrics.documents)
    for leaked in (secret_name, "metrics-a", "deleteEverything", "not json", *sb.issued_secrets()):
        assert leaked not in text
    assert {d["FunctionName"] for d in metrics.documents} == {kit.settings.worker.function_name}

    # a warm invocation with the credentials cached: no AssumeRole counted; the record left for retry and a
    # new one are applied
    sb.send_messages([create(key="metrics-warm")])
    with collect_metrics() as warm:
        invoke(sb)
    assert warm.totals()["AssumeRoleCalls"] == 0 == len(sb.sts.assume_role_calls) - 1
    assert warm.totals()["Applied"] == 2 == len(table_ids(sb) - before) - 1


def test_an_eventbridge_event_and_a_direct_invocation_emit_their_line(
    sb: Sandbox, container: Callable[..., None], kit: Any
) -> None:
    from sandbox.lambda_runtime import LambdaContext
    from worker.handler import lambda_handler

    container()
    envelope = json.loads(kit.create(key="metrics-direct"))
    with collect_metrics() as metrics:
        lambda_handler(sb.eventbridge_event(json.loads(kit.create(key="metrics-event"))), LambdaContext())
        lambda_handler(envelope, LambdaContext())
    assert len(metrics.documents) == 2
    assert metrics.totals() | {"AppSyncLatency": 0} == {
        "Records": 2,
        "Applied": 2,
        "AlreadyApplied": 0,
        "Superseded": 0,
        "DeadLettered": 0,
        "LeftForRetry": 0,
        "Refused": 0,
        "Attempts": 2,
        "Retries": 0,
        "AssumeRoleCalls": 1,
        "AppSyncLatency": 0,
    }
