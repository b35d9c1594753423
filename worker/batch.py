"""Process a batch of SQS records: bounded concurrency, FIFO order per message group, one outcome per record.

Every record ends in exactly one of four states, and only ``failed`` is reported to SQS as a batch item
failure (so it is redelivered, and moved to the DLQ by the redrive policy after maxReceiveCount):
- ``applied`` / ``already_applied``: the effect exists in account B;
- ``dead_lettered``: will never succeed (or this was its last allowed delivery); it is in our DLQ with the
  reason attached, so the source queue may delete it;
- ``failed``: transient, or the DLQ send itself failed: left for redelivery.

FIFO queues: records of one message group run one after another in order; after a record of a group is
``failed``, the group's later records are reported failed without being sent (SQS redelivers them in order).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import structlog

from worker.client import MutationClient
from worker.dead_letters import DeadLetter, DeadLetterPublisher
from worker.envelope import MutationRequest, parse_envelope
from worker.errors import MutationError, PermanentError

APPLIED = "applied"
ALREADY_APPLIED = "already_applied"
DEAD_LETTERED = "dead_lettered"
FAILED = "failed"
NOT_ATTEMPTED = "failed_not_attempted"  # FIFO: an earlier record of the group failed


@dataclass(frozen=True)
class RecordOutcome:
    record_id: str
    status: str
    error: MutationError | None = None
    operation: str | None = None

    @property
    def reported_failed(self) -> bool:
        return self.status in (FAILED, NOT_ATTEMPTED)


@dataclass(frozen=True)
class WorkItem:
    """One message, whatever carried it (an SQS record, an EventBridge event, a direct invocation)."""

    record_id: str
    body: str | Mapping[str, Any]
    source: str
    receive_count: int = 1
    group_id: str | None = None
    first_received_at: str | None = None


class BatchProcessor:
    def __init__(
        self,
        client: MutationClient,
        *,
        allowed_fields: frozenset[str],
        max_concurrency: int,
        dead_letters: DeadLetterPublisher | None = None,
        max_receive_count: int | None = None,
    ) -> None:
        self.client = client
        self.allowed_fields = allowed_fields
        self.max_concurrency = max_concurrency
        self.dead_letters = dead_letters
        self.max_receive_count = max_receive_count
        self._log = structlog.get_logger("worker.batch")

    async def process(
        self, items: Sequence[WorkItem], *, fifo: bool = False, deadline: float | None = None, log: Any = None
    ) -> list[RecordOutcome]:
        """Outcomes in the order of ``items``."""
        log = log or self._log
        limit = asyncio.Semaphore(self.max_concurrency)
        if not fifo:

            async def one(item: WorkItem) -> RecordOutcome:
                async with limit:
                    return await self.process_item(item, deadline=deadline, log=log)

            return list(await asyncio.gather(*(one(item) for item in items)))

        groups: dict[str | None, list[int]] = {}
        for index, item in enumerate(items):
            groups.setdefault(item.group_id, []).append(index)
        outcomes: list[RecordOutcome | None] = [None] * len(items)

        async def run_group(indexes: list[int]) -> None:
            async with limit:
                blocked: str | None = None
                for index in indexes:
                    item = items[index]
                    if blocked is not None:
                        outcomes[index] = RecordOutcome(item.record_id, NOT_ATTEMPTED)
                        log.info(
                            "record_not_attempted",
                            message_id=item.record_id,
                            group_id=item.group_id,
                            after_failed=blocked,
                        )
                        continue
                    outcome = await self.process_item(item, deadline=deadline, log=log)
                    outcomes[index] = outcome
                    if outcome.reported_failed:
                        blocked = item.record_id

        await asyncio.gather(*(run_group(indexes) for indexes in groups.values()))
        return [outcome for outcome in outcomes if outcome is not None]

    async def process_item(
        self, item: WorkItem, *, deadline: float | None = None, log: Any = None
    ) -> RecordOutcome:
        log = (log or self._log).bind(message_id=item.record_id, receive_count=item.receive_count)
        started = time.perf_counter()
        request: MutationRequest | None = None
        try:
            request = parse_envelope(item.body, self.allowed_fields)
            result = await self.client.send(
                request, deadline=deadline, redelivered=item.receive_count > 1, log=log
            )
        except MutationError as error:
            return await self._handle_failure(item, request, error, log, started)
        except Exception as unexpected:  # a bug must not fail the other records of the batch
            log.exception("record_crashed", error_type=type(unexpected).__name__)
            bug = PermanentError(
                f"worker bug: {type(unexpected).__name__}: {unexpected}", error_type="WorkerBug"
            )
            return RecordOutcome(item.record_id, FAILED, bug, request.field if request else None)
        log.info(
            "record_done",
            operation=result.field,
            outcome=result.status,
            attempts=result.attempts,
            duration_ms=_ms_since(started),
        )
        return RecordOutcome(item.record_id, result.status, None, result.field)

    async def _handle_failure(
        self, item: WorkItem, request: MutationRequest | None, error: MutationError, log: Any, started: float
    ) -> RecordOutcome:
        operation = request.field if request else None
        last_delivery = self.max_receive_count is not None and item.receive_count >= self.max_receive_count
        fields = {
            "operation": operation,
            "error_type": error.error_type,
            "reason": error.reason,
            "diagnosis": error.diagnosis,
            "attempts": error.attempts,
            "duration_ms": _ms_since(started),
        }
        if error.retryable and not last_delivery:
            log.warning("record_failed", outcome="retry_later", **fields)
            return RecordOutcome(item.record_id, FAILED, error, operation)
        if self.dead_letters is None:
            log.error(
                "record_failed",
                outcome="permanent" if not error.retryable else "exhausted",
                **fields,
                note="no DEAD_LETTER_QUEUE_URL: left to the queue's redrive policy, without the reason",
            )
            return RecordOutcome(item.record_id, FAILED, error, operation)
        reason = (
            error.reason
            if not error.retryable
            else f"gave up after delivery {item.receive_count}: {error.reason}"
        )
        letter = DeadLetter(
            body=item.body if isinstance(item.body, str) else _json(item.body),
            reason=reason,
            error_type=error.error_type,
            diagnosis=error.diagnosis,
            operation=operation,
            idempotency_key=request.idempotency_key if request else None,
            source_message_id=item.record_id,
            source=item.source,
            receive_count=item.receive_count,
            first_received_at=item.first_received_at,
            group_id=item.group_id,
        )
        try:
            dlq_message_id = await self.dead_letters.publish(letter)
        except Exception as exc:  # stays on the source queue; SQS redelivers it
            log.error("dead_letter_failed", **fields, dlq_error=f"{type(exc).__name__}: {exc}")
            return RecordOutcome(item.record_id, FAILED, error, operation)
        log.error("record_dead_lettered", outcome=DEAD_LETTERED, dlq_message_id=dlq_message_id, **fields)
        return RecordOutcome(item.record_id, DEAD_LETTERED, error, operation)


def sqs_work_item(record: Mapping[str, Any]) -> WorkItem:
    attributes = record.get("attributes") or {}
    first = attributes.get("ApproximateFirstReceiveTimestamp")
    return WorkItem(
        record_id=str(record["messageId"]),
        body=str(record.get("body", "")),
        source=str(record.get("eventSourceARN", "sqs")),
        receive_count=_int(attributes.get("ApproximateReceiveCount"), 1),
        group_id=attributes.get("MessageGroupId"),
        first_received_at=_iso_from_millis(first),
    )


def _int(value: Any, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _iso_from_millis(value: Any) -> str | None:
    millis = _int(value, -1)
    if millis < 0:
        return None
    return datetime.fromtimestamp(millis / 1000, UTC).isoformat(timespec="seconds")


def _json(value: Mapping[str, Any]) -> str:
    import json

    return json.dumps(value, separators=(",", ":"), default=str)


def _ms_since(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)
