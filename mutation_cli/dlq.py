"""Reading the dead-letter queue without losing anything, and without two commands working on one message.

SQS has no peek: a message is seen by receiving it, which hides it for the visibility timeout and raises its
ApproximateReceiveCount. So a command *holds* what it receives (a visibility timeout long enough for its work)
and, when done, deletes only what it confirmed and makes everything else visible again at once. If the
process dies instead, the held messages reappear by themselves when the timeout ends: nothing is lost.

A hold is kept, not hoped for: a ``HoldKeeper`` thread extends the visibility of every message still held
(``ChangeMessageVisibility``) every third of ``--hold-seconds``, so a replay slower than its hold keeps its
messages and a second replay cannot receive them. Each message knows until when its hold surely lasts
(counted from when the receive or the extension was *requested*); a message whose extension SQS refused, or
whose deadline passed first, has lost its hold for good: another consumer may have it, so it is never deleted,
never counted as done, and never made visible by this command.

FIFO queues hand out a message group's messages in order and none of the group's later ones while earlier
ones are in flight, so a command works in rounds: receive what SQS shows, work on it, delete what succeeded,
and receive again, until a round brings nothing new.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from mutation_cli.errors import UsageError
from mutation_cli.records import DeadLetterRecord, LetterWriter

MAX_HOLD_SECONDS = 43_200  # SQS's longest visibility timeout


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


class HoldLost(Exception):
    """The message's hold ended (or SQS refused to extend it): it may be another consumer's now."""


@dataclass
class Held:
    """Messages received and hidden by this command; each must end deleted or released."""

    selected: list[DeadLetterRecord] = field(default_factory=list)
    others: list[DeadLetterRecord] = field(default_factory=list)  # received, not selected
    beyond: list[DeadLetterRecord] = field(default_factory=list)  # received after the limit was reached


@dataclass(frozen=True)
class QueueCounts:
    visible: int  # ApproximateNumberOfMessages: not received by anyone now
    in_flight: int  # ApproximateNumberOfMessagesNotVisible: held by this command or another consumer


class HoldKeeper:
    """Heartbeat for every message this command holds; ``owns`` says whether a message is still this command's."""

    def __init__(self, dlq: DeadLetterQueue, hold_seconds: int) -> None:
        self.dlq = dlq
        self.hold_seconds = hold_seconds
        self.interval = max(0.2, hold_seconds / 3)
        # A hold this close to its end is treated as ended: a delete sent now might arrive after it.
        self.margin = min(1.0, hold_seconds / 10)
        self._held: dict[str, DeadLetterRecord] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.extensions = 0  # ChangeMessageVisibility entries sent by the heartbeat (for tests and reports)

    def __enter__(self) -> HoldKeeper:
        self._thread = threading.Thread(target=self._beat, name="dlq-hold-keeper", daemon=True)
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def keep(self, record: DeadLetterRecord) -> None:
        with self._lock:
            self._held[record.message_id] = record

    def drop(self, record: DeadLetterRecord) -> None:
        with self._lock:
            self._held.pop(record.message_id, None)

    def owned(self) -> list[DeadLetterRecord]:
        """Every message still held by this command (lost ones excluded)."""
        with self._lock:
            return [r for r in self._held.values() if self._owns(r)]

    def owns(self, record: DeadLetterRecord) -> bool:
        with self._lock:
            return self._owns(record)

    def _owns(self, record: DeadLetterRecord) -> bool:
        if record.hold_lost or record.held_until is None or record.receipt_handle is None:
            return False
        if time.monotonic() + self.margin >= record.held_until:
            self._lose(record)
            return False
        return True

    def _lose(self, record: DeadLetterRecord) -> None:
        record.hold_lost = True
        self._held.pop(record.message_id, None)

    def extend(self) -> None:
        """One heartbeat: every owned message hidden for ``hold_seconds`` more."""
        records = self.owned()
        for start in range(0, len(records), 10):
            chunk = records[start : start + 10]
            entries = [
                {"Id": str(i), "ReceiptHandle": r.receipt_handle, "VisibilityTimeout": self.hold_seconds}
                for i, r in enumerate(chunk)
            ]
            requested = time.monotonic()
            try:
                response = self.dlq.sqs.change_message_visibility_batch(
                    QueueUrl=self.dlq.url, Entries=entries
                )
            except (ClientError, BotoCoreError):
                continue  # tried again next beat; meanwhile each message's deadline decides
            self.extensions += len(entries)
            refused = {f.get("Id") for f in response.get("Failed", [])}
            with self._lock:
                for i, record in enumerate(chunk):
                    if record.hold_lost or record.receipt_handle is None:
                        continue
                    if (
                        str(i) in refused
                        or record.held_until is None
                        or requested + self.margin >= record.held_until
                    ):
                        self._lose(record)  # refused, or it had lapsed before we asked: not ours any more
                    else:
                        record.held_until = requested + self.hold_seconds

    def _beat(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.extend()
            except Exception:  # never let the heartbeat die silently; deadlines still protect every message
                continue


class DeadLetterQueue:
    def __init__(self, sqs: Any, url: str, writer: LetterWriter | None = None) -> None:
        self.sqs = sqs
        self.url = url
        #: The worker's own SenderId: ``failure.*`` counts only on its letters (None: not checked).
        self.writer = writer

    @property
    def fifo(self) -> bool:
        return self.url.endswith(".fifo")

    def hold(
        self,
        want: Callable[[DeadLetterRecord], bool],
        *,
        hold_seconds: int,
        limit: int | None = None,
        seen: set[str] | None = None,
        keeper: HoldKeeper | None = None,
    ) -> Held:
        """Receive until the queue shows nothing new (or ``limit`` are selected); keep them hidden.

        ``seen`` (message ids) is shared across rounds: a message is received as new at most once per command.
        """
        held = Held()
        seen = set() if seen is None else seen
        confirming = False
        try:
            while limit is None or len(held.selected) < limit:
                requested = time.monotonic()
                messages = self.sqs.receive_message(
                    QueueUrl=self.url,
                    MaxNumberOfMessages=10,
                    VisibilityTimeout=hold_seconds,
                    # A long poll asks every SQS server (a short one samples): one empty long poll is an answer.
                    WaitTimeSeconds=1 if confirming else 0,
                    AttributeNames=["All"],
                    MessageAttributeNames=["All"],
                ).get("Messages", [])
                fresh = [m for m in messages if m["MessageId"] not in seen]
                if not fresh:
                    # FIFO: a group stays locked while we hold its messages; what is visible there is unreachable.
                    if messages or confirming or self.counts().visible == 0:
                        break
                    confirming = True
                    continue
                confirming = False
                for message in fresh:
                    seen.add(message["MessageId"])
                    record = DeadLetterRecord.from_sqs(message, self.writer)
                    record.held_until = requested + hold_seconds
                    if keeper is not None:
                        keeper.keep(record)
                    if limit is not None and len(held.selected) >= limit:
                        held.beyond.append(record)
                    else:
                        (held.selected if want(record) else held.others).append(record)
        except BaseException:
            mine = held.selected + held.others + held.beyond
            self.release(r for r in mine if keeper is None or keeper.owns(r))
            raise
        return held

    def release(self, records: Iterable[DeadLetterRecord]) -> int:
        """Make held messages visible again now; returns how many SQS refused (they reappear later)."""
        pending = [r for r in records if r.receipt_handle and not r.hold_lost]
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

    def delete(self, record: DeadLetterRecord, keeper: HoldKeeper | None = None) -> None:
        """Remove a confirmed message; with a keeper, only while its hold lasts (else ``HoldLost``)."""
        if keeper is not None and not keeper.owns(record):
            raise HoldLost(record.message_id)
        self.sqs.delete_message(QueueUrl=self.url, ReceiptHandle=record.receipt_handle)
        record.receipt_handle = None
        if keeper is not None:
            keeper.drop(record)

    def counts(self) -> QueueCounts:
        attributes = self.sqs.get_queue_attributes(
            QueueUrl=self.url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return QueueCounts(
            int(attributes.get("ApproximateNumberOfMessages", 0)),
            int(attributes.get("ApproximateNumberOfMessagesNotVisible", 0)),
        )


@dataclass
class Remainder:
    """What a run left in the DLQ besides its outcomes, counted before it released its holds."""

    unreached: int = 0  # visible: never received by this run
    elsewhere: int = 0  # in flight, but not held by this run: another consumer (replay, list...) holds them
    limit_reached: bool = False
    fifo: bool = False

    @classmethod
    def measure(cls, dlq: DeadLetterQueue, *, held_here: int, limit: int | None, selected: int) -> Remainder:
        counts = dlq.counts()
        return cls(
            unreached=counts.visible,
            elsewhere=max(0, counts.in_flight - held_here),
            limit_reached=limit is not None and selected >= limit,
            fifo=dlq.fifo,
        )

    @property
    def left(self) -> int:
        return self.unreached + self.elsewhere

    @property
    def incomplete(self) -> bool:
        """Stopped before the selection was exhausted, and not because of ``--limit``."""
        return self.left > 0 and not self.limit_reached

    def to_json(self) -> dict[str, Any]:
        return {
            "unreached": self.unreached,
            "heldElsewhere": self.elsewhere,
            "limitReached": self.limit_reached,
        }

    def explain(self) -> list[str]:
        lines = []
        if self.limit_reached and self.left:
            lines.append(f"  left {self.left}: not examined, --limit reached")
        elif self.unreached:
            why = (
                "a FIFO message group shows its later messages only once its earlier ones are deleted, and this "
                "run kept some (failed, blocked, skipped, not selected, or a dry run)"
                if self.fifo
                else "they arrived or became visible during the run"
            )
            lines.append(f"  left {self.unreached} in the DLQ, not reached: {why}; run again")
        if self.elsewhere and not self.limit_reached:
            lines.append(
                f"  left {self.elsewhere} in the DLQ, held by another consumer (another replay, list or export?): "
                "not touched; run again when it is done"
            )
        return lines
