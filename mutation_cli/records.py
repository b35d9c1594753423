"""One dead letter as the operator commands see it, whether received from the DLQ or read from a file.

The JSON Lines format ``replay export`` writes (and ``--file`` / ``--failed-out`` use), one object a line::

    {"messageId": "...", "body": "<original body, byte for byte>", "failure": {"reason": "...",
     "errorType": "...", "at": "...", ...}, "receiveCount": 2, "sentAt": "2026-...Z",
     "groupId": null, "deduplicationId": null, "attributes": {...}}

``failure`` holds the worker's ``failure.*`` message attributes with the prefix removed; ``attributes``
any other (producer) message attributes, kept for ``redrive``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from mutation_cli.errors import UsageError
from worker.dead_letters import ATTRIBUTE_PREFIX, read_failure
from worker.errors import MutationError, TransientError


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

    @property
    def failed_at(self) -> datetime | None:
        """When the worker gave up (``failure.at``), else when the message reached the DLQ."""
        return parse_time(self.failure.get("at")) or parse_time(self.sent_at)

    @property
    def message_identity(self) -> str:
        """The identity the worker gave a create without an id (its record id), so a replay or redrive of it
        is still that one record: the key it recorded, else the message it came from (SQS keeps the
        message id when its own redrive moves a message)."""
        return self.failure.get("idempotencyKey") or self.failure.get("sourceMessageId") or self.message_id

    @property
    def error_class(self) -> type[MutationError] | None:
        """The worker's error class for ``failure.errorType`` (None: no error type, or one no class names)."""
        return error_class(self.failure.get("errorType"))

    @property
    def permanent(self) -> bool:
        """The worker judged this failure permanent: its error class is not a ``TransientError``. Unknown or
        missing error types (SQS's own redrive sets none) are not called permanent."""
        cls = self.error_class
        return cls is not None and not issubclass(cls, TransientError)

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
    def from_sqs(cls, message: Mapping[str, Any]) -> DeadLetterRecord:
        attributes = message.get("Attributes") or {}
        all_attributes = message.get("MessageAttributes") or {}
        sent = attributes.get("SentTimestamp")
        return cls(
            message_id=str(message["MessageId"]),
            body=str(message.get("Body", "")),
            failure=read_failure(all_attributes),
            receive_count=int(attributes.get("ApproximateReceiveCount", 0) or 0),
            sent_at=_iso_from_millis(sent) if sent else None,
            group_id=attributes.get("MessageGroupId"),
            deduplication_id=attributes.get("MessageDeduplicationId"),
            attributes={k: v for k, v in all_attributes.items() if not k.startswith(ATTRIBUTE_PREFIX)},
            receipt_handle=message.get("ReceiptHandle"),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "messageId": self.message_id,
            "body": self.body,
            "failure": self.failure,
            "receiveCount": self.receive_count,
            "sentAt": self.sent_at,
            "groupId": self.group_id,
            "deduplicationId": self.deduplication_id,
            "attributes": self.attributes,
        }

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
        return cls(
            message_id=str(data.get("messageId") or where),
            body=body,
            failure={str(k): str(v) for k, v in failure.items()},
            receive_count=int(data.get("receiveCount") or 0),
            sent_at=data.get("sentAt"),
            group_id=data.get("groupId"),
            deduplication_id=data.get("deduplicationId"),
            attributes=dict(data.get("attributes") or {}),
        )


def error_class(error_type: str | None) -> type[MutationError] | None:
    """The worker's ``MutationError`` subclass whose ``error_type`` is this one, found by walking the classes
    (worker/errors.py is the one place that says which error types are transient)."""
    if not error_type:
        return None
    return _error_classes().get(error_type)


def _error_classes() -> dict[str, type[MutationError]]:
    found: dict[str, type[MutationError]] = {}
    pending: list[type[MutationError]] = [MutationError]
    while pending:
        cls = pending.pop()
        found.setdefault(cls.error_type, cls)  # a subclass inheriting its parent's type keeps the parent's
        pending.extend(cls.__subclasses__())
    return found


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
