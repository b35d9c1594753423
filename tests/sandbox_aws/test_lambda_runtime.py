"""What Lambda gives the worker, as the sandbox builds it from real SQS calls: SQS and EventBridge events, the
context, and the event source mapping's treatment of a (partial) batch response, with redrive to the DLQ."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from project_settings import Settings
from sandbox.fixture import Sandbox
from sandbox.lambda_runtime import LambdaContext, eventbridge_event, failed_ids

RECORD_KEYS = {
    "messageId",
    "receiptHandle",
    "body",
    "attributes",
    "messageAttributes",
    "md5OfBody",
    "eventSource",
    "eventSourceARN",
    "awsRegion",
}
SUCCESS: dict[str, Any] = {"batchItemFailures": []}


def empty_queues(sb: Sandbox) -> None:
    sb.drain_queue(lambda event, context: SUCCESS)
    sb.purge_dlq()


def failures(*ids: str) -> dict[str, Any]:
    return {"batchItemFailures": [{"itemIdentifier": i} for i in ids]}


class TestStandardQueue:
    @pytest.fixture(scope="class")
    @classmethod
    def sb(cls, settings: Settings) -> Iterator[Sandbox]:
        with Sandbox.start(settings) as sandbox:
            yield sandbox

    @pytest.fixture(autouse=True)
    def clean(self, sb: Sandbox) -> Iterator[None]:
        empty_queues(sb)
        yield
        empty_queues(sb)

    def test_sqs_event_has_lambdas_shape(self, sb: Sandbox, settings: Settings) -> None:
        sqs = sb.client("sqs", "A")
        sent = sqs.send_message(
            QueueUrl=sb.queue_url,
            MessageBody='{"mutation": "createTodo"}',
            MessageAttributes={
                "trace": {"DataType": "String", "StringValue": "abc"},
                "count": {"DataType": "Number", "StringValue": "3"},
                "blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01raw"},
            },
        )
        event = sb.sqs_event()
        assert set(event) == {"Records"}
        [record] = event["Records"]
        assert set(record) == RECORD_KEYS
        assert record["messageId"] == sent["MessageId"]
        assert record["body"] == '{"mutation": "createTodo"}'
        assert (
            record["md5OfBody"]
            == sent["MD5OfMessageBody"]
            == hashlib.md5(record["body"].encode()).hexdigest()
        )
        assert record["eventSource"] == "aws:sqs"
        assert record["eventSourceARN"] == sb.queue_arn
        assert sb.queue_arn == f"arn:aws:sqs:{sb.region}:{sb.account_a}:{settings.worker.queue_name}"
        assert record["awsRegion"] == sb.region
        attributes = record["attributes"]
        assert set(attributes) == {
            "ApproximateReceiveCount",
            "SentTimestamp",
            "SenderId",
            "ApproximateFirstReceiveTimestamp",
        }
        assert attributes["ApproximateReceiveCount"] == "1"
        assert all(isinstance(v, str) for v in attributes.values())
        assert (
            attributes["SentTimestamp"].isdigit() and attributes["ApproximateFirstReceiveTimestamp"].isdigit()
        )
        assert record["messageAttributes"] == {
            "trace": {
                "stringValue": "abc",
                "stringListValues": [],
                "binaryListValues": [],
                "dataType": "String",
            },
            "count": {
                "stringValue": "3",
                "stringListValues": [],
                "binaryListValues": [],
                "dataType": "Number",
            },
            "blob": {
                "binaryValue": base64.b64encode(b"\x00\x01raw").decode(),
                "stringListValues": [],
                "binaryListValues": [],
                "dataType": "Binary",
            },
        }
        json.dumps(event)  # what Lambda passes is JSON
        sb.apply_batch_response(event, SUCCESS)

    def test_partial_batch_response_deletes_successes_and_releases_failures(self, sb: Sandbox) -> None:
        ids = sb.send_messages(["one", "two", "three"])
        event = sb.sqs_event()
        assert sorted(r["messageId"] for r in event["Records"]) == sorted(ids)
        assert sb.apply_batch_response(event, failures(ids[1])) == {ids[1]}
        again = sb.sqs_event()  # visible again at once, received a second time
        assert [(r["messageId"], r["body"]) for r in again["Records"]] == [(ids[1], "two")]
        assert again["Records"][0]["attributes"]["ApproximateReceiveCount"] == "2"
        assert sb.apply_batch_response(again, SUCCESS) == set()
        assert sb.queue_depth() == 0

    @pytest.mark.parametrize(
        "response",
        [
            RuntimeError("handler crashed"),
            {"batchItemFailures": [{"itemIdentifier": "not-a-message-id"}]},
            {"batchItemFailures": [{"itemIdentifier": ""}]},
            {"batchItemFailures": [{"itemIdentifier": None}]},
            {"batchItemFailures": [{"id": "wrong key name"}]},
            {"batchItemFailures": "everything"},
            "not an object",
        ],
        ids=["exception", "unknown-id", "empty-id", "null-id", "bad-key", "not-a-list", "not-an-object"],
    )
    def test_whole_batch_fails(self, sb: Sandbox, response: Any) -> None:
        ids = sb.send_messages(["a", "b"])
        event = sb.sqs_event()
        assert sb.apply_batch_response(event, response) == set(ids)
        again = sb.sqs_event()
        assert sorted(r["messageId"] for r in again["Records"]) == sorted(ids)
        assert {r["attributes"]["ApproximateReceiveCount"] for r in again["Records"]} == {"2"}
        sb.apply_batch_response(again, SUCCESS)

    def test_an_unknown_id_next_to_a_known_one_fails_the_whole_batch(self, sb: Sandbox) -> None:
        ids = sb.send_messages(["a", "b"])
        event = sb.sqs_event()
        assert sb.apply_batch_response(event, failures(ids[0], str(uuid.uuid4()))) == set(ids)

    @pytest.mark.parametrize(
        "response", [None, {}, {"batchItemFailures": None}, {"batchItemFailures": []}], ids=repr
    )
    def test_complete_success(self, sb: Sandbox, response: Any) -> None:
        sb.send_messages(["a", "b"])
        event = sb.sqs_event()
        assert sb.apply_batch_response(event, response) == set()
        assert sb.queue_depth() == 0

    def test_failed_ids_without_sqs(self) -> None:
        event = {"Records": [{"messageId": "m1"}, {"messageId": "m2"}]}
        assert failed_ids(event, failures("m2")) == {"m2"}
        assert failed_ids(event, failures("m2", "m2")) == {"m2"}
        assert failed_ids(event, failures("m3")) == {"m1", "m2"}
        assert failed_ids(event, ValueError()) == {"m1", "m2"}

    def test_redrive_to_the_dlq_after_max_receive_count(self, sb: Sandbox, settings: Settings) -> None:
        [message_id] = sb.send_messages(['{"poison": true}'])
        receive_counts: list[str] = []

        def always_fails(event: dict[str, Any], context: Any) -> dict[str, Any]:
            assert context.function_name == settings.worker.function_name
            receive_counts.extend(r["attributes"]["ApproximateReceiveCount"] for r in event["Records"])
            return failures(*(r["messageId"] for r in event["Records"]))

        stats = sb.drain_queue(always_fails, max_rounds=50)
        limit = settings.worker.max_receive_count
        assert receive_counts == [str(n) for n in range(1, limit + 1)]
        assert (stats.invocations, stats.records, stats.failures_reported) == (limit, limit, limit)
        assert stats.whole_batch_failures == 0
        assert sb.queue_depth() == 0
        [dead] = sb.dlq_messages()
        assert dead["MessageId"] == message_id
        assert dead["Body"] == '{"poison": true}'
        assert sb.queue_depth(sb.dlq_url) == 1

    def test_drain_counts_whole_batch_failures(self, sb: Sandbox, settings: Settings) -> None:
        sb.send_messages(["x"])
        calls = []

        def crashes_once(event: dict[str, Any], context: Any) -> dict[str, Any]:
            calls.append(len(event["Records"]))
            if len(calls) == 1:
                raise RuntimeError("cold start failed")
            return SUCCESS

        stats = sb.drain_queue(crashes_once)
        assert calls == [1, 1]
        assert (stats.invocations, stats.whole_batch_failures, stats.failures_reported) == (2, 1, 1)
        assert sb.queue_depth() == 0 and sb.dlq_messages() == []

    def test_eventbridge_event_envelope(self, sb: Sandbox, settings: Settings) -> None:
        detail = {"mutation": "createTodo", "input": {"name": "x"}}
        event = sb.eventbridge_event(detail)
        assert set(event) == {
            "version",
            "id",
            "detail-type",
            "source",
            "account",
            "time",
            "region",
            "resources",
            "detail",
        }
        assert event["version"] == "0"
        assert uuid.UUID(event["id"])
        assert event["detail-type"] == settings.worker.eventbridge_detail_type
        assert event["source"] == settings.worker.eventbridge_source
        assert (event["account"], event["region"]) == (sb.account_a, sb.region)
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", event["time"])
        assert event["resources"] == []
        assert event["detail"] == detail
        other = eventbridge_event(detail, source="s", detail_type="d", account="1", region="r")
        assert other["id"] != event["id"]


def test_lambda_context() -> None:
    context = LambdaContext(
        function_name="fn", timeout_ms=60_000, region="eu-west-1", account_id="111111111111"
    )
    assert context.invoked_function_arn == "arn:aws:lambda:eu-west-1:111111111111:function:fn"
    assert uuid.UUID(context.aws_request_id)
    assert context.aws_request_id != LambdaContext().aws_request_id
    first = context.get_remaining_time_in_millis()
    assert 0 < first <= 60_000
    time.sleep(0.02)
    second = context.get_remaining_time_in_millis()
    assert second < first
    assert LambdaContext(timeout_ms=1000, started=time.monotonic() - 5).get_remaining_time_in_millis() == 0


class TestFifoQueue:
    @pytest.fixture(scope="class")
    @classmethod
    def fifo_settings(cls, settings: Settings) -> Settings:
        return settings.with_changes(
            worker={"fifo": True, "queue_name": "q.fifo", "dead_letter_queue_name": "dlq.fifo"}
        )

    @pytest.fixture(scope="class")
    @classmethod
    def sb(cls, fifo_settings: Settings) -> Iterator[Sandbox]:
        with Sandbox.start(fifo_settings) as sandbox:
            yield sandbox

    def test_fifo_queues_are_created(self, sb: Sandbox, fifo_settings: Settings) -> None:
        sqs = sb.client("sqs", "A")
        assert sb.queue_url.endswith("/q.fifo") and sb.dlq_url.endswith("/dlq.fifo")
        source = sqs.get_queue_attributes(QueueUrl=sb.queue_url, AttributeNames=["All"])["Attributes"]
        dlq = sqs.get_queue_attributes(QueueUrl=sb.dlq_url, AttributeNames=["All"])["Attributes"]
        assert source["FifoQueue"] == dlq["FifoQueue"] == "true"
        assert json.loads(source["RedrivePolicy"]) == {
            "deadLetterTargetArn": sb.dlq_arn,
            "maxReceiveCount": fifo_settings.worker.max_receive_count,
        }

    def test_order_is_kept_within_a_group(self, sb: Sandbox) -> None:
        sent: dict[str, list[str]] = {"g1": [], "g2": []}
        for i in range(4):
            for group in ("g1", "g2"):
                body = f"{group}-{i}"
                sb.send_messages([body], group_id=group)
                sent[group].append(body)
        received: list[dict[str, Any]] = []
        for _ in range(10):
            event = sb.sqs_event()
            if not event["Records"]:
                break
            received.extend(event["Records"])
            sb.apply_batch_response(event, SUCCESS)
        for group, bodies in sent.items():
            records = [r for r in received if r["attributes"]["MessageGroupId"] == group]
            assert [r["body"] for r in records] == bodies
            assert all(r["attributes"]["SequenceNumber"].isdigit() for r in records)
        assert all("MessageDeduplicationId" in r["attributes"] for r in received)
        assert sb.queue_depth() == 0

    def test_a_failed_record_comes_back_before_the_rest_of_its_group(self, sb: Sandbox) -> None:
        ids = sb.send_messages(["first", "second", "third"], group_id="g")
        event = sb.sqs_event(max_messages=1)
        assert [r["messageId"] for r in event["Records"]] == ids[:1]
        assert sb.apply_batch_response(event, failures(ids[0])) == {ids[0]}
        bodies: list[str] = []

        def in_order(event: dict[str, Any], context: Any) -> dict[str, Any]:
            bodies.extend(r["body"] for r in event["Records"])
            return SUCCESS

        stats = sb.drain_queue(in_order)
        assert bodies == ["first", "second", "third"]
        assert stats.failures_reported == 0
