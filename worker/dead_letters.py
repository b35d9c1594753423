"""Put a message that will never succeed into the dead-letter queue, with the reason attached.

SQS's own redrive (after maxReceiveCount) moves a message without saying why. So the worker sends permanent
failures, and transient ones on their last allowed delivery, to the DLQ itself, with the reason in message
attributes, and only then lets the source queue delete them. If that send fails, the record is reported failed
and stays on the source queue: nothing is lost either way. The body is kept byte for byte, so a replay sends
exactly what the producer sent.

Attributes (all String; ``replay list`` reads them back): ``failure.reason``, ``failure.errorType``,
``failure.retryable`` (the worker's verdict, ``true``/``false``: what ``replay`` and ``redrive`` go by),
``failure.diagnosis``, ``failure.operation``, ``failure.idempotencyKey``, ``failure.sourceMessageId``,
``failure.producer`` (who asked: ``sqs:<SenderId>``, ``eventbridge:<account>/<source>`` or ``direct[...]``, see
``worker.producers``) and ``failure.context``, one JSON object holding ``at`` (ISO-8601), ``firstReceivedAt``,
``receiveCount`` and ``source`` (queue ARN or ``eventbridge:<source>``). SQS accepts at most 10 attributes on a
message (SQS developer guide, "Amazon SQS message quotas"): one per fact would be 12, and SQS would refuse the
letter. ``read_failure`` unpacks the context, so readers see the same keys as before.

Fitting the attributes to SQS's rules
-------------------------------------
SQS counts attributes toward a message's size: the body's UTF-8 bytes plus, for every attribute, the UTF-8
bytes of its name, its data type and its value (``message_size``). The limit is the queue's
``MaximumMessageSize``: at most ``SQS_MAX_MESSAGE_BYTES`` (1 MiB, also the default for new queues), and a queue
may be set lower (down to 1 KiB; many older queues still say 262,144). SQS also refuses any character outside
``#x9 | #xA | #xD | #x20-#xD7FF | #xE000-#xFFFD | #x10000-#x10FFFF`` in bodies and attribute values (U+0000,
most C0 controls, lone surrogates, U+FFFE, U+FFFF). A rejected send would leave the message to the queue's
redrive, without its reason, so ``fit_attributes`` makes the attributes fit around the body, which it never
changes:

1. every refused character becomes U+FFFD, and every value is cut to ``MAX_VALUE_BYTES``, ending
   ``…[truncated]``;
2. while the message is still too large, what matters least goes first (``_SHEDDING``): diagnosis (the
   longest; the worker's log has it), then operation, idempotencyKey and the context (the body, the DLQ
   message's SentTimestamp and the DLQ's source queue tell them again); then the
   reason is cut to 256 bytes; then producer (the worker's log has it) and sourceMessageId go; then the reason and the error type are cut down to
   ``MIN_VALUE_BYTES``;
3. ``failure.reason``, ``failure.errorType`` and ``failure.retryable`` (a few bytes) always stay. When even those cannot fit next to the body (a body
   within about 150 bytes of the limit), or the body itself holds a refused character, nothing is sent:
   ``DeadLetterTooLarge`` / ``DeadLetterUnsendable`` says so, the record is reported failed and stays on the
   source queue, and the worker's log carries the reason the DLQ could not.

The publisher cannot see the DLQ's ``MaximumMessageSize`` (that would take ``sqs:GetQueueAttributes``): it fits
to ``SQS_MAX_MESSAGE_BYTES`` and, when SQS answers "Message must be shorter than N bytes", fits to N, sends once
more and keeps N for the container's lifetime.
"""

from __future__ import annotations

import asyncio
import json
import re
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
PRODUCER = "failure.producer"
RETRYABLE = "failure.retryable"
#: One attribute for the bookkeeping facts (at, firstReceivedAt, receiveCount, source): SQS allows 10 attributes.
CONTEXT = "failure.context"
_CONTEXT_KEYS = {
    FAILED_AT: "at",
    FIRST_RECEIVED_AT: "firstReceivedAt",
    RECEIVE_COUNT: "receiveCount",
    SOURCE: "source",
}
#: SQS's limit on a message's attributes (SQS developer guide, "Amazon SQS message quotas").
SQS_MAX_ATTRIBUTES = 10

#: The largest message SQS accepts, body and attributes together (UTF-8 bytes); a queue's MaximumMessageSize
#: may be lower, and the publisher learns it from SQS's refusal.
SQS_MAX_MESSAGE_BYTES = 1_048_576
#: No attribute value is longer than this (UTF-8 bytes, marker included): the worker's log has the full text.
MAX_VALUE_BYTES = 1024
#: The reason and the error type are never cut shorter than this; below it the letter is ``DeadLetterTooLarge``.
MIN_VALUE_BYTES = 64
TRUNCATED = "…[truncated]"
_DATA_TYPE = "String"
_REFUSED = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_LIMIT_NAMED = re.compile(r"Message must be shorter than (\d+) bytes")
#: What to give up, in order, while the message is too large: drop the attribute (``None``), or cut it to what
#: fits but not below the given number of bytes.
_SHEDDING: tuple[tuple[str, int | None], ...] = (
    (DIAGNOSIS, None),
    (OPERATION, None),
    (IDEMPOTENCY_KEY, None),
    (CONTEXT, None),
    (REASON, 256),
    (PRODUCER, None),
    (SOURCE_MESSAGE_ID, None),
    (REASON, MIN_VALUE_BYTES),
    (ERROR_TYPE, MIN_VALUE_BYTES),
)


class DeadLetterUnsendable(Exception):
    """SQS would refuse this dead letter whatever its attributes; it is not sent (the body is never changed)."""


class DeadLetterTooLarge(DeadLetterUnsendable):
    """The body leaves no room for even a shortened ``failure.reason`` and ``failure.errorType``."""

    def __init__(self, body_bytes: int, needed_bytes: int, max_message_bytes: int) -> None:
        self.body_bytes, self.needed_bytes, self.max_message_bytes = (
            body_bytes,
            needed_bytes,
            max_message_bytes,
        )
        super().__init__(
            f"dead letter too large for the DLQ: the body is {body_bytes} bytes and failure.reason with "
            f"failure.errorType need {needed_bytes} more, over the queue's limit of {max_message_bytes} bytes; "
            "not sent (the record stays on the source queue, and its redrive policy moves it without the reason)"
        )


def utf8_size(text: str) -> int:
    """Bytes on the wire, as SQS counts them (a lone surrogate, which SQS refuses anyway, counts 3)."""
    return len(text.encode("utf-8", "surrogatepass"))


def sqs_safe(text: str) -> str:
    """``text`` with every character SQS refuses in an attribute value replaced by U+FFFD."""
    return _REFUSED.sub("\ufffd", text)


def truncate(text: str, max_bytes: int) -> str:
    """``text`` cut to ``max_bytes`` UTF-8 bytes (``max_bytes`` > the marker's), marked, never mid-character."""
    if utf8_size(text) <= max_bytes:
        return text
    kept = text.encode("utf-8", "surrogatepass")[: max_bytes - utf8_size(TRUNCATED)]
    return kept.decode("utf-8", "ignore") + TRUNCATED


def message_size(body: str, attributes: Mapping[str, Mapping[str, str]]) -> int:
    """A message's size the way SQS counts it: body, plus each attribute's name, data type and value."""
    return utf8_size(body) + sum(
        utf8_size(name) + utf8_size(value.get("DataType", "")) + utf8_size(value.get("StringValue", ""))
        for name, value in attributes.items()
    )


def fit_attributes(
    values: Mapping[str, str | None], body: str, max_message_bytes: int = SQS_MAX_MESSAGE_BYTES
) -> dict[str, dict[str, str]]:
    """SQS String attributes for ``values`` (empty ones left out) that SQS accepts next to ``body``.

    The rules and their order are in the module docstring. Raises ``DeadLetterUnsendable`` when the body itself
    holds a character SQS refuses, ``DeadLetterTooLarge`` when even the shortest reason does not fit.
    """
    refused = _REFUSED.search(body)
    if refused:
        raise DeadLetterUnsendable(
            f"dead letter not sent: the body holds U+{ord(refused.group()):04X} at character {refused.start()}, "
            "which SQS refuses in a message body (and the body is kept byte for byte)"
        )
    fitted = {name: truncate(sqs_safe(value), MAX_VALUE_BYTES) for name, value in values.items() if value}
    fitted.setdefault(REASON, "(no reason recorded)")
    fitted.setdefault(ERROR_TYPE, "Unknown")
    room = max_message_bytes - utf8_size(body)
    for name, floor in _SHEDDING:
        if _attributes_size(fitted) <= room:
            break
        if floor is None:
            fitted.pop(name, None)
        else:
            fitted[name] = _cut_to_fit(fitted, name, room, floor)
    if _attributes_size(fitted) > room:
        raise DeadLetterTooLarge(utf8_size(body), _attributes_size(fitted), max_message_bytes)
    return {name: {"DataType": _DATA_TYPE, "StringValue": value} for name, value in fitted.items()}


def _attributes_size(values: Mapping[str, str]) -> int:
    return sum(utf8_size(name) + len(_DATA_TYPE) + utf8_size(value) for name, value in values.items())


def _cut_to_fit(values: Mapping[str, str], name: str, room: int, floor: int) -> str:
    """``values[name]`` cut to what leaves the others room, but never below ``floor`` bytes."""
    others = _attributes_size(values) - utf8_size(values[name])
    return truncate(values[name], max(floor, room - others))


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
    producer: str | None = None
    #: The worker's verdict: whether trying again could apply it (a transient failure on its last delivery).
    retryable: bool | None = None

    def message_attributes(
        self, now: datetime | None = None, max_message_bytes: int = SQS_MAX_MESSAGE_BYTES
    ) -> dict[str, dict[str, str]]:
        """The ``failure.*`` attributes, fitted next to the body (see ``fit_attributes``)."""
        context = {
            "at": (now or datetime.now(UTC)).isoformat(timespec="seconds"),
            "firstReceivedAt": self.first_received_at,
            "receiveCount": str(self.receive_count),
            "source": self.source,
        }
        values = {
            REASON: self.reason,
            ERROR_TYPE: self.error_type,
            RETRYABLE: None if self.retryable is None else ("true" if self.retryable else "false"),
            DIAGNOSIS: self.diagnosis,
            OPERATION: self.operation,
            IDEMPOTENCY_KEY: self.idempotency_key,
            SOURCE_MESSAGE_ID: self.source_message_id,
            PRODUCER: self.producer,
            CONTEXT: json.dumps({k: v for k, v in context.items() if v}, separators=(",", ":")),
        }
        return fit_attributes(values, self.body, max_message_bytes)


def read_failure(message_attributes: Mapping[str, Any]) -> dict[str, str]:
    """The ``failure.*`` attributes of a received DLQ message (boto3 or Lambda shape), prefix removed."""
    found: dict[str, str] = {}
    for name, value in message_attributes.items():
        if name.startswith(ATTRIBUTE_PREFIX) and isinstance(value, Mapping):
            text = value.get("StringValue", value.get("stringValue"))
            if isinstance(text, str):
                found[name[len(ATTRIBUTE_PREFIX) :]] = text
    packed = found.pop(CONTEXT[len(ATTRIBUTE_PREFIX) :], None)
    if packed is not None:  # the bookkeeping facts, as separate keys again (an older letter has them so)
        try:
            context = json.loads(packed)
        except ValueError:
            context = None
        if isinstance(context, dict):
            for key, value in context.items():
                if key in _CONTEXT_KEYS.values() and isinstance(value, str):
                    found.setdefault(key, value)
    return found


class DeadLetterPublisher:
    """Sends to the DLQ with the execution role's credentials; the SQS client is made on first use only.

    ``max_message_bytes`` starts at SQS's ceiling and drops to the DLQ's own ``MaximumMessageSize`` the first
    time SQS names a smaller one.
    """

    def __init__(
        self,
        queue_url: str,
        client_factory: Callable[[], Any],
        max_message_bytes: int = SQS_MAX_MESSAGE_BYTES,
    ) -> None:
        self.queue_url = queue_url
        self._client_factory = client_factory
        self._client: Any = None
        self.fifo = queue_url.endswith(".fifo")
        self.max_message_bytes = max_message_bytes

    def _sqs(self) -> Any:
        if self._client is None:
            self._client = self._client_factory()
        return self._client

    def publish_sync(self, letter: DeadLetter) -> str:
        try:
            return self._send(letter)
        except Exception as exc:
            limit = limit_named_by(exc)
            if limit is None or limit >= self.max_message_bytes:
                raise
            self.max_message_bytes = limit  # this DLQ's MaximumMessageSize: later letters fit to it directly
            return self._send(letter)

    def _send(self, letter: DeadLetter) -> str:
        params: dict[str, Any] = {
            "QueueUrl": self.queue_url,
            "MessageBody": letter.body,
            "MessageAttributes": letter.message_attributes(max_message_bytes=self.max_message_bytes),
        }
        if self.fifo:
            params["MessageGroupId"] = letter.group_id or "dead-letters"
            params["MessageDeduplicationId"] = letter.source_message_id[:128]
        response = self._sqs().send_message(**params)
        return str(response["MessageId"])

    async def publish(self, letter: DeadLetter) -> str:
        return await asyncio.get_running_loop().run_in_executor(None, self.publish_sync, letter)


def limit_named_by(error: BaseException) -> int | None:
    """The size limit in SQS's "Message must be shorter than N bytes" refusal (a botocore ClientError), if any."""
    response = getattr(error, "response", None)
    details = response.get("Error") if isinstance(response, Mapping) else None
    if not isinstance(details, Mapping) or details.get("Code") != "InvalidParameterValue":
        return None
    match = _LIMIT_NAMED.search(str(details.get("Message", "")))
    return int(match.group(1)) if match else None
