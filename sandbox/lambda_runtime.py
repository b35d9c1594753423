"""What AWS Lambda gives the worker: a context, SQS and EventBridge events, and the event source mapping's
treatment of a partial batch response.

Difference from the real event source mapping, on purpose: a failed record is made visible again at once
(``ChangeMessageVisibility`` to 0) instead of after the queue's visibility timeout, so tests and the demo do
not wait; receive counts, redrive to the DLQ after maxReceiveCount and deletes behave as on AWS.
"""

from __future__ import annotations

import base64
import hashlib
import json
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, redirect_stdout
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TextIO

from worker.metrics import is_emf


@dataclass
class LambdaContext:
    function_name: str = "appsync-mutation-worker"
    timeout_ms: int = 60_000
    memory_limit_in_mb: int = 512
    region: str = "us-east-1"
    account_id: str = "111111111111"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    started: float = field(default_factory=time.monotonic)

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{self.region}:{self.account_id}:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int(self.timeout_ms - (time.monotonic() - self.started) * 1000))


def sqs_record(message: Mapping[str, Any], queue_arn: str, region: str) -> dict[str, Any]:
    """A Lambda SQS record from a ``ReceiveMessage`` message (AttributeNames and MessageAttributeNames All)."""
    attributes = dict(message.get("Attributes", {}))
    wanted = (
        "ApproximateReceiveCount",
        "SentTimestamp",
        "SenderId",
        "ApproximateFirstReceiveTimestamp",
        "MessageGroupId",
        "MessageDeduplicationId",
        "SequenceNumber",
    )
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": {k: attributes[k] for k in wanted if k in attributes},
        "messageAttributes": {
            name: _message_attribute(value) for name, value in message.get("MessageAttributes", {}).items()
        },
        "md5OfBody": hashlib.md5(message["Body"].encode()).hexdigest(),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }


def _message_attribute(value: Mapping[str, Any]) -> dict[str, Any]:
    """Lambda's shape: ``stringValue`` for String/Number types, ``binaryValue`` (base64) for Binary ones."""
    attribute: dict[str, Any] = {}
    if "StringValue" in value:
        attribute["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        raw = value["BinaryValue"]
        attribute["binaryValue"] = base64.b64encode(raw if isinstance(raw, bytes) else raw.encode()).decode()
    return {
        **attribute,
        "stringListValues": [],
        "binaryListValues": [],
        "dataType": value.get("DataType", "String"),
    }


def eventbridge_event(
    detail: Any, *, source: str, detail_type: str, account: str, region: str
) -> dict[str, Any]:
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": detail_type,
        "source": source,
        "account": account,
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [],
        "detail": detail,
    }


@dataclass
class DrainStats:
    invocations: int = 0
    records: int = 0
    failures_reported: int = 0
    whole_batch_failures: int = 0
    seconds: float = 0.0


def failed_ids(event: Mapping[str, Any], response: Any) -> set[str]:
    """Which records the event source mapping treats as failed, given the handler's answer."""
    ids = {r["messageId"] for r in event["Records"]}
    if response is None:
        return set()  # a null response is a complete success, as Lambda documents
    if isinstance(response, BaseException) or not isinstance(response, Mapping):
        return ids
    items = response.get("batchItemFailures")
    if items is None:
        return set()  # no partial batch response: the whole batch succeeded
    if not isinstance(items, list):
        return ids
    reported = set()
    for item in items:
        identifier = item.get("itemIdentifier") if isinstance(item, Mapping) else None
        if not identifier or identifier not in ids:
            return ids  # an unknown or empty id fails the whole batch, as Lambda does
        reported.add(identifier)
    return reported


Handler = Callable[[dict[str, Any], Any], Any]


def json_body(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


class MetricsCollector:
    """What CloudWatch Logs does with the function's stdout: keeps every EMF line as a metrics document.

    Installed as ``sys.stdout`` by :func:`collect_metrics`; other lines pass through to the previous stdout.
    """

    def __init__(self, passthrough: TextIO | None, *, echo_metrics: bool = False) -> None:
        self.documents: list[dict[str, Any]] = []
        self._passthrough = passthrough
        self._echo = echo_metrics
        self._pending = ""

    def write(self, text: str) -> int:
        self._pending += text
        *lines, self._pending = self._pending.split("\n")
        for line in lines:
            if is_emf(line):
                self.documents.append(json.loads(line))
                if not self._echo:
                    continue
            if self._passthrough is not None:
                self._passthrough.write(line + "\n")
        return len(text)

    def flush(self) -> None:
        if self._passthrough is not None:
            self._passthrough.flush()

    def totals(self, dimensions: Mapping[str, str] | None = None) -> dict[str, float]:
        """Sum of every metric over the collected documents whose dimension set is exactly ``dimensions``'s keys
        (default: the function-name-only documents); a list of values (latency) counts its values' sum."""
        wanted = dict(dimensions or {})
        result: dict[str, float] = {}
        for document in self.documents:
            [directive] = document["_aws"]["CloudWatchMetrics"]
            [dimension_set] = directive["Dimensions"]
            if set(dimension_set) != {"FunctionName", *wanted}:
                continue
            if any(document.get(k) != v for k, v in wanted.items()):
                continue
            for metric in directive["Metrics"]:
                value = document[metric["Name"]]
                result[metric["Name"]] = result.get(metric["Name"], 0) + (
                    sum(value) if isinstance(value, list) else value
                )
        return result

    def values(self, name: str) -> list[float]:
        """Every value of one metric (e.g. each record's AppSync latency)."""
        found: list[float] = []
        for document in self.documents:
            value = document.get(name)
            if value is not None and any(
                m["Name"] == name for d in document["_aws"]["CloudWatchMetrics"] for m in d["Metrics"]
            ):
                found.extend(value if isinstance(value, list) else [value])
        return found

    def dead_lettered_by_type(self) -> dict[str, float]:
        return {
            str(d["ErrorType"]): d["DeadLettered"]
            for d in self.documents
            if "ErrorType" in d["_aws"]["CloudWatchMetrics"][0]["Dimensions"][0]
        }


@contextmanager
def collect_metrics(*, echo_metrics: bool = False) -> Iterator[MetricsCollector]:
    """Collect the worker's EMF lines written to stdout while the block runs (other output passes through)."""
    collector = MetricsCollector(sys.stdout, echo_metrics=echo_metrics)
    with redirect_stdout(collector):
        yield collector
