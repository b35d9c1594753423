"""The events DLQ's two formats: an EventBridge rule's DLQ holds the event itself, Lambda's
asynchronous on-failure destination holds an invocation record with ``requestPayload``. ``replay list`` says
which format each message had; ``replay replay`` sends the envelope inside, keeping the record id the worker
gave a create without one (the event id, or the async request id)."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from mutation_cli.records import DeadLetterRecord
from sandbox.lambda_runtime import eventbridge_event

EVENTS_DLQ = "appsync-mutation-worker-events-dlq"


@pytest.fixture
def events_dlq(kit: Any) -> str:
    url = str(kit.sqs.create_queue(QueueName=EVENTS_DLQ)["QueueUrl"])
    kit.empty(url)
    return url


def _event(kit: Any, envelope: dict[str, Any]) -> dict[str, Any]:
    s = kit.settings
    return eventbridge_event(
        envelope,
        source=s.worker.eventbridge_source,
        detail_type=s.worker.eventbridge_detail_type,
        account=s.accounts.worker,
        region=s.accounts.region,
    )


def put_rule_dlq_message(kit: Any, url: str, event: dict[str, Any]) -> str:
    """What EventBridge sends its rule's DLQ: the event, with the error in message attributes."""
    attributes = {
        "RULE_ARN": "arn:aws:events:us-east-1:111111111111:rule/appsync-mutation-worker-events",
        "TARGET_ARN": "arn:aws:lambda:us-east-1:111111111111:function:appsync-mutation-worker",
        "ERROR_CODE": "SDK_CLIENT_ERROR",
        "ERROR_MESSAGE": "Lambda returned TooManyRequestsException",
    }
    response = kit.sqs.send_message(
        QueueUrl=url,
        MessageBody=json.dumps(event),
        MessageAttributes={k: {"DataType": "String", "StringValue": v} for k, v in attributes.items()},
    )
    return str(response["MessageId"])


def put_async_record(kit: Any, url: str, payload: Any, request_id: str) -> str:
    """What Lambda's asynchronous on-failure destination receives after the last retry."""
    record = {
        "version": "1.0",
        "timestamp": "2026-11-30T10:00:00.000Z",
        "requestContext": {
            "requestId": request_id,
            "functionArn": "arn:aws:lambda:us-east-1:111111111111:function:appsync-mutation-worker:$LATEST",
            "condition": "RetriesExhausted",
            "approximateInvokeCount": 3,
        },
        "requestPayload": payload,
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "responsePayload": {
            "errorMessage": "Throttled: HTTP 429",
            "errorType": "MutationFailed",
            "stackTrace": [],
        },
    }
    return str(kit.sqs.send_message(QueueUrl=url, MessageBody=json.dumps(record))["MessageId"])


def _no_id_create(name: str) -> dict[str, Any]:
    """A create with neither idempotencyKey nor input.id: the worker gave it the message's id as record id."""
    return {"mutation": "createTodo", "input": {"name": name}, "fields": ["id", "name"]}


def test_list_says_which_format_each_message_had(cli: Any, kit: Any, events_dlq: str) -> None:
    rule_event = _event(kit, _no_id_create("from the rule DLQ"))
    rule_id = put_rule_dlq_message(kit, events_dlq, rule_event)
    async_id = put_async_record(kit, events_dlq, _event(kit, _no_id_create("from Lambda")), "req-1")
    result = cli("replay", "list", "--json", "--queue", EVENTS_DLQ)
    assert result.code == 0, result.err
    rows = {row["messageId"]: row for row in result.json_lines()}
    assert (rows[rule_id]["format"], rows[async_id]["format"]) == ("eventbridge-rule", "lambda-async")
    assert rows[rule_id]["reason"].startswith("[eventbridge-rule] EventBridge could not deliver the event")
    assert "SDK_CLIENT_ERROR: Lambda returned TooManyRequestsException" in rows[rule_id]["reason"]
    assert rows[async_id]["reason"].startswith(
        "[lambda-async] Lambda gave up on the asynchronous invocation after 3 attempt(s) (RetriesExhausted): "
        "MutationFailed: Throttled: HTTP 429"
    )
    assert rows[rule_id]["operation"] == rows[async_id]["operation"] == "createTodo"
    assert rows[rule_id]["permanent"] is False and rows[async_id]["permanent"] is False
    table = cli("replay", "list", "--queue", EVENTS_DLQ)
    assert "[eventbridge-rule]" in table.out and "[lambda-async]" in table.out
    header, *lines = table.out.splitlines()
    assert header.split("\t")[1] == "format"
    assert {line.split("\t")[1] for line in lines} == {"eventbridge-rule", "lambda-async"}
    assert kit.visible(events_dlq) == 2  # listing removes nothing


def test_replay_sends_the_envelope_inside_with_the_worker_s_record_id(
    cli: Any, kit: Any, events_dlq: str
) -> None:
    rule_event = _event(kit, _no_id_create("rule"))
    async_event = _event(kit, _no_id_create("async event"))
    direct_request = f"req-{uuid.uuid4().hex[:8]}"
    put_rule_dlq_message(kit, events_dlq, rule_event)
    put_async_record(kit, events_dlq, async_event, "req-of-the-event")
    put_async_record(kit, events_dlq, _no_id_create("async direct"), direct_request)  # a direct async invoke
    result = cli("replay", "replay", "--json", "--queue", EVENTS_DLQ)
    assert result.code == 0, result.out + result.err
    assert result.json()["counts"]["replayed"] == 3
    # the ids the worker would have given these creates: the event ids and the direct invocation's request id
    assert {rule_event["id"], async_event["id"], direct_request} <= kit.table_ids()
    assert kit.count(events_dlq) == 0
    # replayed again (dead-lettered twice): the same records, already applied, not second ones
    put_rule_dlq_message(kit, events_dlq, rule_event)
    again = cli("replay", "replay", "--json", "--queue", EVENTS_DLQ)
    assert again.code == 0 and again.json()["messages"][0]["status"] == "already_applied"


def test_export_keeps_the_original_message_and_reads_back_the_same(kit: Any) -> None:
    event = _event(kit, {"mutation": "updateTodo", "input": {"id": "t1", "name": "x"}})
    message = {"MessageId": "m-1", "Body": json.dumps(event), "MessageAttributes": {}, "Attributes": {}}
    record = DeadLetterRecord.from_sqs(message)
    assert record.format == "eventbridge-rule"
    assert json.loads(record.body) == event["detail"]
    assert record.message_identity == event["id"]
    exported = record.to_json()
    assert json.loads(exported["originalBody"]) == event
    back = DeadLetterRecord.from_json(exported, "line 1")
    assert (back.body, back.failure, back.original_body) == (
        record.body,
        record.failure,
        record.original_body,
    )
    # a hand-written file holding the raw event as its body is recognised too
    raw = DeadLetterRecord.from_json({"messageId": "m-2", "body": json.dumps(event)}, "line 2")
    assert raw.format == "eventbridge-rule" and json.loads(raw.body) == event["detail"]
    # the worker's own dead letters and SQS-redriven envelopes are left as they are
    plain = DeadLetterRecord.from_json({"messageId": "m-3", "body": json.dumps(event["detail"])}, "line 3")
    assert plain.format == "worker" and plain.original_body is None
