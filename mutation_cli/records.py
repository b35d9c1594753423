"""One dead letter as the operator commands see it, whether received from the DLQ or read from a file.

The JSON Lines format ``replay export`` writes (and ``--file`` / ``--failed-out`` use), one object a line::

    {"messageId": "...", "body": "<original body, byte for byte>", "failure": {"reason": "...",
     "errorType": "...", "at": "...", ...}, "receiveCount": 2, "sentAt": "2026-...Z",
     "groupId": null, "deduplicationId": null, "attributes": {...}}

``failure`` holds the worker's ``failure.*`` message attributes with the prefix removed; ``attributes``
any other (producer) message attributes, kept for ``redrive``.

The events DLQ holds two other formats, recognised on reading (``failure.format`` says which; ``list`` shows it
at the start of the reason): an EventBridge rule's DLQ holds the **event itself** (``eventbridge-rule``, the
reason in the ``ERROR_CODE``/``ERROR_MESSAGE`` attributes), Lambda's asynchronous on-failure destination holds an
**invocation record** with ``requestPayload`` (``lambda-async``). For both, ``body`` is the envelope inside (the
event's ``detail``), ``originalBody`` keeps the message as it was, and ``failure.sourceMessageId`` is the event id
(or the async request id) the worker gave a create without an id, so a replay is still that one record.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from mutation_cli.errors import UsageError
from worker.dead_letters import ATTRIBUTE_PREFIX, read_failure
from worker.errors import MutationError
from worker.judge import error_class, letter_is_permanent
from worker.origin import origin_message_id

#: SQS's ``SenderId`` prefix of a role session (``<RoleId>:<session>``): what the worker's Lambda sends as.
ROLE_ID_PREFIX = "AROA"


@dataclass(frozen=True)
class LetterWriter:
    """Who writes the worker's dead letters, as SQS records it (``SenderId``): the execution role's session
    named after the function (Lambda's own session name). ``role_id`` (``AROA...``, from ``iam:GetRole``) pins the
    role; without it only the form and the session name are checked (``verified`` says which)."""

    session_name: str
    role_id: str | None = None

    @property
    def verified(self) -> bool:
        return self.role_id is not None

    def wrote(self, sender_id: Any) -> bool:
        if not isinstance(sender_id, str) or not sender_id:
            return False
        if self.role_id is not None:
            return sender_id == f"{self.role_id}:{self.session_name}"
        return sender_id.startswith(ROLE_ID_PREFIX) and sender_id.endswith(f":{self.session_name}")


def untrusted_reason(sender_id: Any) -> str:
    return (
        f"[untrusted] failure.* attributes not written by the worker (SenderId {sender_id or 'missing'}): "
        "ignored; this message came from another sender (a producer's own attributes, or a hand-made letter)"
    )


@dataclass
class DeadLetterRecord:
    message_id: str
    body: str
    failure: dict[str, str] = field(default_factory=dict)
    receive_count: int = 0  # SQS ApproximateReceiveCount of the DLQ message (rises with every list)
    sent_at: str | None = None  # when the message entered the DLQ
    group_id: str | None = None
    deduplication_id: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)  # non-failure message attributes
    receipt_handle: str | None = field(default=None, repr=False)  # only for messages held from the DLQ
    #: While held from the DLQ: when the hold surely ends (``time.monotonic()``; counted from when the receive
    #: or the last extension was *requested*), and whether it was lost (then it is never deleted nor counted).
    held_until: float | None = field(default=None, repr=False, compare=False)
    hold_lost: bool = field(default=False, repr=False, compare=False)
    #: The DLQ message's own body when ``body`` is the envelope unwrapped from an events-DLQ format.
    original_body: str | None = None

    @property
    def format(self) -> str:
        """``worker`` (the worker's own DLQ, or SQS redrive), ``eventbridge-rule`` or ``lambda-async``."""
        return self.failure.get("format") or WORKER_FORMAT

    @property
    def failed_at(self) -> datetime | None:
        """When the worker gave up (``failure.at``), else when the message reached the DLQ."""
        return parse_time(self.failure.get("at")) or parse_time(self.sent_at)

    @property
    def message_identity(self) -> str:
        """The identity the worker gave a create without an id (its record id), so a replay or redrive of it
        is still that one record: the key it recorded, else the message it came from (SQS keeps the
        message id when its own redrive moves a message)."""
        return (
            self.failure.get("idempotencyKey")
            or origin_message_id(self.attributes, self.body)  # a redriven copy SQS's own redrive moved here
            or self.failure.get("sourceMessageId")
            or self.message_id
        )

    @property
    def error_class(self) -> type[MutationError] | None:
        """The worker's error class for ``failure.errorType`` (None: no error type, or one no class names)."""
        return error_class(self.failure.get("errorType"))

    @property
    def permanent(self) -> bool:
        """The worker judged this failure permanent (``worker.judge.letter_is_permanent``)."""
        return letter_is_permanent(self.failure)

    @property
    def operation(self) -> str | None:
        if self.failure.get("operation"):
            return self.failure["operation"]
        try:
            data = json.loads(self.body)
        except ValueError:
            return None
        name = data.get("mutation") if isinstance(data, dict) else None
        return name if isinstance(name, str) else None

    @classmethod
    def from_sqs(cls, message: Mapping[str, Any], writer: LetterWriter | None = None) -> DeadLetterRecord:
        """``writer``: the worker's own ``SenderId``. ``failure.*`` attributes count only on a message it sent:
        on any other they are dropped and the reason says so, so a producer's message carrying them passes
        neither as a verdict nor as a record identity (``sourceMessageId``, ``idempotencyKey``)."""
        attributes = message.get("Attributes") or {}
        all_attributes = message.get("MessageAttributes") or {}
        sent = attributes.get("SentTimestamp")
        failure = read_failure(all_attributes)
        sender = attributes.get("SenderId")
        if failure and writer is not None and not writer.wrote(sender):
            failure = {"reason": untrusted_reason(sender)}
        record = cls(
            message_id=str(message["MessageId"]),
            body=str(message.get("Body", "")),
            failure=failure,
            receive_count=int(attributes.get("ApproximateReceiveCount", 0) or 0),
            sent_at=_iso_from_millis(sent) if sent else None,
            group_id=attributes.get("MessageGroupId"),
            deduplication_id=attributes.get("MessageDeduplicationId"),
            attributes={k: v for k, v in all_attributes.items() if not k.startswith(ATTRIBUTE_PREFIX)},
            receipt_handle=message.get("ReceiptHandle"),
        )
        return _unwrapped(record)

    def to_json(self) -> dict[str, Any]:
        data = {
            "messageId": self.message_id,
            "body": self.body,
            "failure": self.failure,
            "receiveCount": self.receive_count,
            "sentAt": self.sent_at,
            "groupId": self.group_id,
            "deduplicationId": self.deduplication_id,
            "attributes": self.attributes,
        }
        if self.original_body is not None:
            data["originalBody"] = self.original_body
        return data

    @classmethod
    def from_json(cls, data: Any, where: str) -> DeadLetterRecord:
        if not isinstance(data, dict):
            raise UsageError(f"{where}: expected a JSON object")
        body = data.get("body")
        if isinstance(body, dict):  # a hand-written file may hold the envelope itself
            body = json.dumps(body, separators=(",", ":"))
        if not isinstance(body, str):
            raise UsageError(f"{where}: 'body' must be the message body (a string or an envelope object)")
        failure = data.get("failure") or {}
        if not isinstance(failure, dict):
            raise UsageError(f"{where}: 'failure' must be an object")
        original = data.get("originalBody")
        record = cls(
            message_id=str(data.get("messageId") or where),
            body=body,
            failure={str(k): str(v) for k, v in failure.items()},
            receive_count=int(data.get("receiveCount") or 0),
            sent_at=data.get("sentAt"),
            group_id=data.get("groupId"),
            deduplication_id=data.get("deduplicationId"),
            attributes=dict(data.get("attributes") or {}),
            original_body=original if isinstance(original, str) else None,
        )
        return record if record.original_body is not None else _unwrapped(record)


WORKER_FORMAT = "worker"
EVENTBRIDGE_FORMAT = "eventbridge-rule"
LAMBDA_ASYNC_FORMAT = "lambda-async"
#: Message attributes EventBridge puts on what its rule's DLQ receives.
_EVENTBRIDGE_ATTRIBUTES = ("RULE_ARN", "TARGET_ARN", "ERROR_CODE", "ERROR_MESSAGE")


def _is_event(value: Any) -> bool:
    return isinstance(value, dict) and {"detail-type", "source", "detail"} <= set(value)


def _envelope_of(event: dict[str, Any]) -> str:
    detail = event["detail"]
    return detail if isinstance(detail, str) else json.dumps(detail, separators=(",", ":"))


def _attribute(attributes: Mapping[str, Any], name: str) -> str:
    value = attributes.get(name)
    if isinstance(value, Mapping):
        value = value.get("StringValue", value.get("stringValue"))
    return str(value) if value is not None else ""


def _unwrapped(record: DeadLetterRecord) -> DeadLetterRecord:
    """The record with the envelope inside an events-DLQ message as its body (unchanged for the worker's own)."""
    if record.failure.get("reason") or not record.body.startswith("{"):
        return record  # the worker's own dead letter (or not JSON): replayed as it is
    try:
        data = json.loads(record.body)
    except ValueError:
        return record
    if _is_event(data):
        code = _attribute(record.attributes, "ERROR_CODE")
        message = _attribute(record.attributes, "ERROR_MESSAGE")
        why = f"{code}: {message}" if code or message else "no ERROR_CODE attribute"
        failure = {
            "format": EVENTBRIDGE_FORMAT,
            "reason": f"[{EVENTBRIDGE_FORMAT}] EventBridge could not deliver the event to the function ({why}); "
            "replay sends the event's detail",
            "sourceMessageId": str(data.get("id") or record.message_id),
            "source": f"eventbridge:{data.get('source', '')}",
        }
        if isinstance(data.get("time"), str):
            failure["firstReceivedAt"] = data["time"]
        attributes = {k: v for k, v in record.attributes.items() if k not in _EVENTBRIDGE_ATTRIBUTES}
        return _replace_body(record, _envelope_of(data), failure, attributes)
    if isinstance(data, dict) and "requestPayload" in data and isinstance(data.get("requestContext"), dict):
        context, payload = data["requestContext"], data["requestPayload"]
        response = data.get("responsePayload")
        if not isinstance(response, dict):
            response = {}
        error = ": ".join(str(response[k]) for k in ("errorType", "errorMessage") if response.get(k))
        failure = {
            "format": LAMBDA_ASYNC_FORMAT,
            "reason": f"[{LAMBDA_ASYNC_FORMAT}] Lambda gave up on the asynchronous invocation after "
            f"{context.get('approximateInvokeCount', '?')} attempt(s) ({context.get('condition', '?')})"
            + (f": {error}" if error else "")
            + "; replay sends "
            + ("the event's detail" if _is_event(payload) else "the payload"),
            "source": f"eventbridge:{payload['source']}" if _is_event(payload) else "direct",
        }
        if isinstance(data.get("timestamp"), str):
            failure["at"] = data["timestamp"]
        # the identity the worker gave a create without an id: the event id, or Lambda's request id
        identity = payload.get("id") if _is_event(payload) else context.get("requestId")
        if identity:
            failure["sourceMessageId"] = str(identity)
        envelope = _envelope_of(payload) if _is_event(payload) else json.dumps(payload, separators=(",", ":"))
        return _replace_body(record, envelope, failure, dict(record.attributes))
    return record


def _replace_body(
    record: DeadLetterRecord, envelope: str, failure: dict[str, str], attributes: dict[str, Any]
) -> DeadLetterRecord:
    from dataclasses import replace

    return replace(
        record,
        body=envelope,
        failure={**failure, **record.failure},
        attributes=attributes,
        original_body=record.body,
    )


def read_jsonl(path: str) -> list[DeadLetterRecord]:
    """Every record of an exported file; a malformed line is a usage error naming the line."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None
    records = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except ValueError as exc:
            raise UsageError(f"{path}:{number}: not JSON: {exc}") from None
        records.append(DeadLetterRecord.from_json(data, f"{path}:{number}"))
    return records


#: Dead-letter files hold message bodies (producers' inputs) and reasons: readable by their owner only.
PRIVATE_FILE_MODE = 0o600


def open_private(path: str | os.PathLike[str]) -> IO[str]:
    """``path`` opened for writing (truncated), mode 0600 whether it is new or not; a symlink is refused (a
    planted link must not redirect the bodies elsewhere)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0)
    try:
        descriptor = os.open(path, flags, PRIVATE_FILE_MODE)
    except OSError as exc:
        raise UsageError(f"cannot write {os.fspath(path)}: {exc.strerror or exc}") from None
    try:
        os.fchmod(descriptor, PRIVATE_FILE_MODE)  # an existing file keeps its mode through O_CREAT otherwise
        return os.fdopen(descriptor, "w", encoding="utf-8")
    except BaseException:
        os.close(descriptor)
        raise


def write_jsonl(stream: IO[str], records: Iterator[DeadLetterRecord] | list[DeadLetterRecord]) -> int:
    count = 0
    for record in records:
        stream.write(json.dumps(record.to_json(), ensure_ascii=False, separators=(",", ":")) + "\n")
        count += 1
    stream.flush()
    return count


def parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _iso_from_millis(value: Any) -> str | None:
    try:
        return datetime.fromtimestamp(int(value) / 1000, UTC).isoformat(timespec="seconds")
    except (TypeError, ValueError):
        return None
