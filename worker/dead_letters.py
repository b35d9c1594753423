"""Put a message that will never succeed into the dead-letter queue, with the reason attached.

SQS's own redrive (after maxReceiveCount) moves a message without saying why. So the worker sends permanent
failures, and transient ones on their last allowed delivery, to the DLQ itself, with the reason in message
attributes, and only then lets the source queue delete them. If that send fails, the record is reported failed
and stays on the source queue: nothing is lost either way. The body is kept byte for byte, so a replay sends
exactly what the producer sent.

Attributes (all String; ``replay list`` reads them back):
``failure.reason``, ``failure.errorType``, ``failure.diagnosis``, ``failure.operation``,
``failure.idempotencyKey``, ``failure.at`` (ISO-8601), ``failure.firstReceivedAt``, ``failure.receiveCount``,
``failure.sourceMessageId``, ``failure.source`` (queue ARN or ``eventbridge:<source>``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

ATTRIBUTE_PREFIX = "failure."
REASON = "failure.reason"
ERROR_TYPE = "failure.errorType"
DIAGNOSIS = "failure.diagnosis"
OPERATION = "failure.operation"
IDEMPOTENCY_KEY = "failure.idempotencyKey"
FAILED_AT = "failure.at"
FIRST_RECEIVED_AT = "failure.firstReceivedAt"
RECEIVE_COUNT = "failure.receiveCount"
SOURCE_MESSAGE_ID = "failure.sourceMessageId"
SOURCE = "failure.source"
_MAX_ATTRIBUTE = 1024


@dataclass(frozen=True)
class DeadLetter:
    body: str
    reason: str
    error_type: str
    source_message_id: str
    source: str
    receive_count: int = 1
    diagnosis: str | None = None
    operation: str | None = None
    idempotency_key: str | None = None
    first_received_at: str | None = None
    group_id: str | None = None

    def message_attributes(self, now: datetime | None = None) -> dict[str, dict[str, str]]:
        values = {
            REASON: self.reason,
            ERROR_TYPE: self.error_type,
            DIAGNOSIS: self.diagnosis,
            OPERATION: self.operation,
            IDEMPOTENCY_KEY: self.idempotency_key,
            FAILED_AT: (now or datetime.now(UTC)).isoformat(timespec="seconds"),
            FIRST_RECEIVED_AT: self.first_received_at,
            RECEIVE_COUNT: str(self.receive_count),
            SOURCE_MESSAGE_ID: self.source_message_id,
            SOURCE: self.source,
        }
        return {
            name: {"DataType": "String", "StringValue": value[:_MAX_ATTRIBUTE]}
            for name, value in values.items()
            if value
        }


def read_failure(message_attributes: Mapping[str, Any]) -> dict[str, str]:
    """The ``failure.*`` attributes of a received DLQ message (boto3 or Lambda shape), prefix removed."""
    found: dict[str, str] = {}
    for name, value in message_attributes.items():
        if name.startswith(ATTRIBUTE_PREFIX) and isinstance(value, Mapping):
            text = value.get("StringValue", value.get("stringValue"))
            if isinstance(text, str):
                found[name[len(ATTRIBUTE_PREFIX) :]] = text
    return found


class DeadLetterPublisher:
    """Sends to the DLQ with the execution role's credentials; the SQS client is made on first use only."""

    def __init__(self, queue_url: str, client_factory: Callable[[], Any]) -> None:
        self.queue_url = queue_url
        self._client_factory = client_factory
        self._client: Any = None
        self.fifo = queue_url.endswith(".fifo")

    def _sqs(self) -> Any:
        if self._client is None:
            self._client = self._client_factory()
        return self._client

    def publish_sync(self, letter: DeadLetter) -> str:
        params: dict[str, Any] = {
            "QueueUrl": self.queue_url,
            "MessageBody": letter.body,
            "MessageAttributes": letter.message_attributes(),
        }
        if self.fifo:
            params["MessageGroupId"] = letter.group_id or "dead-letters"
            params["MessageDeduplicationId"] = letter.source_message_id[:128]
        response = self._sqs().send_message(**params)
        return str(response["MessageId"])

    async def publish(self, letter: DeadLetter) -> str:
        return await asyncio.get_running_loop().run_in_executor(None, self.publish_sync, letter)
