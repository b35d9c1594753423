"""Reading the dead-letter queue without losing anything.

SQS has no peek: a message is seen by receiving it, which hides it for the visibility timeout and raises its
ApproximateReceiveCount. So a command *holds* what it receives (a visibility timeout long enough for its work)
and, when done, deletes only what it confirmed and makes everything else visible again at once. If the
process dies instead, the held messages reappear by themselves when the timeout ends: nothing is lost.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from mutation_cli.errors import UsageError
from mutation_cli.records import DeadLetterRecord

_EMPTY_CONFIRMATIONS = 3  # short polls sample SQS servers: confirm "empty" before believing it


def resolve_queue_url(sqs: Any, url_or_name: str) -> str:
    if url_or_name.startswith(("https://", "http://")):
        return url_or_name
    try:
        return str(sqs.get_queue_url(QueueName=url_or_name)["QueueUrl"])
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        raise UsageError(
            f"queue {url_or_name!r} not found ({code}); pass --queue with its URL or name"
        ) from None


@dataclass
class Held:
    """Messages received and hidden by this command; each must end deleted or released."""

    selected: list[DeadLetterRecord] = field(default_factory=list)
    others: list[DeadLetterRecord] = field(default_factory=list)  # received, not selected


class DeadLetterQueue:
    def __init__(self, sqs: Any, url: str) -> None:
        self.sqs = sqs
        self.url = url

    @property
    def fifo(self) -> bool:
        return self.url.endswith(".fifo")

    def hold(
        self, want: Callable[[DeadLetterRecord], bool], *, hold_seconds: int, limit: int | None = None
    ) -> Held:
        """Receive until the queue shows nothing new (or ``limit`` are selected); keep them hidden."""
        held = Held()
        seen: set[str] = set()
        empty_polls = 0
        try:
            while limit is None or len(held.selected) < limit:
                messages = self.sqs.receive_message(
                    QueueUrl=self.url,
                    MaxNumberOfMessages=10,
                    VisibilityTimeout=hold_seconds,
                    WaitTimeSeconds=0 if empty_polls == 0 else 1,
                    AttributeNames=["All"],
                    MessageAttributeNames=["All"],
                ).get("Messages", [])
                fresh = [m for m in messages if m["MessageId"] not in seen]
                if not fresh:
                    # A FIFO group stays locked while we hold its messages: nothing new means done.
                    if messages or self._visible() == 0 or empty_polls >= _EMPTY_CONFIRMATIONS:
                        break
                    empty_polls += 1
                    continue
                for message in fresh:
                    seen.add(message["MessageId"])
                    record = DeadLetterRecord.from_sqs(message)
                    full = limit is not None and len(held.selected) >= limit
                    (held.others if full or not want(record) else held.selected).append(record)
        except BaseException:
            self.release(held.selected + held.others)
            raise
        return held

    def release(self, records: Iterable[DeadLetterRecord]) -> int:
        """Make held messages visible again now; returns how many SQS refused (they reappear later)."""
        pending = [r for r in records if r.receipt_handle]
        refused = 0
        for start in range(0, len(pending), 10):
            chunk = pending[start : start + 10]
            entries = [
                {"Id": str(i), "ReceiptHandle": r.receipt_handle, "VisibilityTimeout": 0}
                for i, r in enumerate(chunk)
            ]
            try:
                response = self.sqs.change_message_visibility_batch(QueueUrl=self.url, Entries=entries)
                refused += len(response.get("Failed", []))
            except ClientError:
                refused += len(chunk)
        return refused

    def delete(self, record: DeadLetterRecord) -> None:
        self.sqs.delete_message(QueueUrl=self.url, ReceiptHandle=record.receipt_handle)
        record.receipt_handle = None

    def _visible(self) -> int:
        attributes = self.sqs.get_queue_attributes(
            QueueUrl=self.url, AttributeNames=["ApproximateNumberOfMessages"]
        )["Attributes"]
        return int(attributes.get("ApproximateNumberOfMessages", 0))
