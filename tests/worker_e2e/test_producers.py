"""Only the producers the settings name make the worker write, and every write says who asked (§3).

Hostile probes, each sent twice, against the sandbox with the settings' own producers (``settings.toml``
``[producers]``: direct invocation off); each must leave account B's table, the AppSync stand-in and the DLQ
untouched, say why in a ``record_refused`` log line naming the producer, and count ``Refused`` in the metrics:
- a direct invocation when ``DIRECT_INVOCATION`` is not true;
- an SQS record whose ``eventSourceARN`` is another queue (alone, and in a batch next to a genuine record);
- an EventBridge event from an account, or with a source, the settings do not name.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from sandbox.fixture import Sandbox
from sandbox.lambda_runtime import LambdaContext, collect_metrics, eventbridge_event
from tests.support import dead_letters
from tests.support.soak import parse_log_lines
from worker.handler import lambda_handler

FOREIGN_QUEUE = "arn:aws:sqs:us-east-1:999999999999:someone-elses-queue"
FOREIGN_ACCOUNT = "999999999999"


def _empty_queue(sb: Sandbox) -> None:
    event = sb.sqs_event(max_messages=100)
    sb.apply_batch_response(event, {"batchItemFailures": []})


def _writes(sb: Sandbox) -> int:
    return sum(sb.appsync.stats.by_caller.values())


def _refused_lines(out: str) -> list[dict[str, Any]]:
    return [line for line in parse_log_lines(out) if line.get("event") == "record_refused"]


def test_a_direct_invocation_is_refused_by_default(
    sb: Sandbox, container: Callable[..., None], kit: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    assert kit.settings.producers.direct_invocation is False  # the default the settings file keeps
    container(DIRECT_INVOCATION="false")
    sb.purge_dlq()
    before, writes = kit.table_ids(sb), _writes(sb)
    envelope = json.loads(kit.create(key="direct-probe"))
    capsys.readouterr()
    with collect_metrics() as metrics:
        results = [lambda_handler(envelope, LambdaContext(timeout_ms=30_000)) for _ in range(2)]
    out = capsys.readouterr().out
    for result in results:
        assert result["status"] == "refused"
        assert result["errorType"] == "ProducerRefused"
        assert "DIRECT_INVOCATION" in result["reason"]
    assert kit.table_ids(sb) == before and _writes(sb) == writes
    assert "direct-probe" not in kit.table_ids(sb)
    assert sb.dlq_messages() == []
    lines = _refused_lines(out)
    assert len(lines) == 2 and all(line["producer"] == "direct" for line in lines)
    assert envelope["input"]["name"] not in out  # no input value in the log
    assert metrics.totals()["Refused"] == 2 and metrics.totals()["Applied"] == 0


def test_direct_invocation_named_in_the_settings_is_applied_and_labelled(
    sb: Sandbox, container: Callable[..., None], kit: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    container(DIRECT_INVOCATION="true")
    capsys.readouterr()
    result = lambda_handler(json.loads(kit.create(key="direct-named")), LambdaContext(timeout_ms=30_000))
    assert result["status"] == "applied"
    done = [line for line in parse_log_lines(capsys.readouterr().out) if line.get("event") == "record_done"]
    assert [line["producer"] for line in done] == ["direct"]


def test_an_sqs_record_from_another_queue_is_refused_and_left_to_its_own_queue(
    sb: Sandbox, container: Callable[..., None], kit: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    container()
    sb.purge_dlq()
    before, writes = kit.table_ids(sb), _writes(sb)
    sb.send_messages([kit.create(key="foreign-queue"), kit.create(key="own-queue")])
    event = sb.sqs_event()
    [foreign] = [r for r in event["Records"] if "foreign-queue" in r["body"]]
    foreign["eventSourceARN"] = FOREIGN_QUEUE
    capsys.readouterr()
    with collect_metrics() as metrics:
        first = lambda_handler(event, LambdaContext(timeout_ms=30_000))
        again = lambda_handler(
            {"Records": [foreign]}, LambdaContext(timeout_ms=30_000)
        )  # the same, redelivered
    out = capsys.readouterr().out
    assert first == {"batchItemFailures": [{"itemIdentifier": foreign["messageId"]}]}
    assert again == {"batchItemFailures": [{"itemIdentifier": foreign["messageId"]}]}
    assert kit.table_ids(sb) - before == {
        "own-queue"
    }  # the genuine record is applied, the foreign one is not
    assert _writes(sb) == writes + 1
    assert sb.dlq_messages() == []  # a foreign record is never made one of our letters
    lines = _refused_lines(out)
    assert len(lines) == 2
    assert all(FOREIGN_QUEUE in line["reason"] and "SOURCE_QUEUE_ARN" in line["reason"] for line in lines)
    assert all(
        line["producer"].startswith("sqs:") and line["message_id"] == foreign["messageId"] for line in lines
    )
    assert metrics.totals()["Refused"] == 2 and metrics.totals()["Applied"] == 1
    sb.apply_batch_response(
        event, {"batchItemFailures": []}
    )  # the foreign record is not the sandbox's to keep


def test_no_source_queue_configured_refuses_every_sqs_record(
    sb: Sandbox, container: Callable[..., None], kit: Any
) -> None:
    container(SOURCE_QUEUE_ARN="")
    _empty_queue(sb)
    before = kit.table_ids(sb)
    sb.send_messages([kit.create(key="no-queue-named")])
    event = sb.sqs_event()
    response = lambda_handler(event, LambdaContext(timeout_ms=30_000))
    assert response == {"batchItemFailures": [{"itemIdentifier": event["Records"][0]["messageId"]}]}
    assert kit.table_ids(sb) == before
    container()
    sb.apply_batch_response(event, response)
    kit.invoke(sb)  # with the queue named again it is applied: nothing was lost
    assert "no-queue-named" in kit.table_ids(sb)


@pytest.mark.parametrize(
    ("account", "source", "named"),
    [(FOREIGN_ACCOUNT, None, "EVENT_ACCOUNTS"), (None, "com.attacker.orders", "EVENT_SOURCES")],
)
def test_an_eventbridge_event_from_an_unnamed_account_or_source_is_refused(
    sb: Sandbox,
    container: Callable[..., None],
    kit: Any,
    capsys: pytest.CaptureFixture[str],
    account: str | None,
    source: str | None,
    named: str,
) -> None:
    container()
    sb.purge_dlq()
    before, writes = kit.table_ids(sb), _writes(sb)
    key = f"eb-probe-{named}"
    event = eventbridge_event(
        json.loads(kit.create(key=key)),
        source=source or kit.settings.worker.eventbridge_source,
        detail_type=kit.settings.worker.eventbridge_detail_type,
        account=account or kit.settings.accounts.worker,
        region=sb.region,
    )
    capsys.readouterr()
    with collect_metrics() as metrics:
        results = [lambda_handler(event, LambdaContext(timeout_ms=30_000)) for _ in range(2)]  # never raises
    out = capsys.readouterr().out
    assert [r["status"] for r in results] == ["refused", "refused"]
    assert all(named in r["reason"] for r in results)
    assert kit.table_ids(sb) == before and _writes(sb) == writes and sb.dlq_messages() == []
    lines = _refused_lines(out)
    assert len(lines) == 2
    assert lines[0]["producer"] == f"eventbridge:{event['account']}/{event['source']}"
    assert metrics.totals()["Refused"] == 2


def test_every_record_line_and_dead_letter_names_its_producer(
    sb: Sandbox, container: Callable[..., None], kit: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    container()
    sb.purge_dlq()
    _empty_queue(sb)
    [bad_id] = sb.send_messages([json.dumps({"mutation": "dropTables", "input": {}})])
    sb.send_messages([kit.create(key="labelled")])
    capsys.readouterr()
    event, _ = kit.invoke(sb)
    out = capsys.readouterr().out
    senders = {r["messageId"]: r["attributes"]["SenderId"] for r in event["Records"]}
    assert all(senders.values())
    per_record = [line for line in parse_log_lines(out) if line.get("message_id") in senders]
    assert per_record and all(line["producer"] == f"sqs:{senders[line['message_id']]}" for line in per_record)
    letter = dead_letters(sb, [bad_id])[bad_id]
    assert letter["producer"] == f"sqs:{senders[bad_id]}"
    # SQS records who sent what (the sandbox as SQS does): the producer is not the worker, which wrote the letter
    [dlq_message] = [
        m for m in sb.dlq_messages() if m["Body"] == json.dumps({"mutation": "dropTables", "input": {}})
    ][:1]
    writer = dlq_message["Attributes"]["SenderId"]
    assert writer.startswith("AROA") and writer.endswith(f":{kit.settings.worker.function_name}")
    assert senders[bad_id] != writer
    eb = sb.eventbridge_event({"mutation": "dropTables", "input": {}})
    lambda_handler(eb, LambdaContext(timeout_ms=30_000))
    [eb_letter] = [v for k, v in dead_letters(sb).items() if k == eb["id"]]
    assert (
        eb_letter["producer"]
        == f"eventbridge:{kit.settings.accounts.worker}/{kit.settings.worker.eventbridge_source}"
    )
