"""Process a batch of SQS records: bounded concurrency, FIFO order per message group, one outcome per record.

Every record ends in exactly one of four states, and only ``failed`` is reported to SQS as a batch item
failure (so it is redelivered, and moved to the DLQ by the redrive policy after maxReceiveCount):
- ``applied`` / ``already_applied``: the effect exists in account B;
- ``superseded``: a versioned write whose record holds its version or a newer one (read back): a success;
- ``dead_lettered``: will never succeed (or this was its last allowed delivery); it is in our DLQ with the
  reason attached, so the source queue may delete it;
- ``failed``: transient, or the DLQ send itself failed: left for redelivery.

FIFO queues: records of one message group run one after another in order; after a record of a group is
``failed``, the group's later records are reported failed without being sent (SQS redelivers them in order).
Standard queues: a record's versioned writes run one after another, oldest version first (``worker.ordering``).

Deadline: every record is finished, or cancelled and reported ``failed``, by the deadline the handler gives
(the Lambda deadline less a safety margin): a record never outlives the invocation, and an unfinished one is
never reported as a success.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence
from contextvars import Token
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from worker.client import MutationClient
from worker.dead_letters import DeadLetter, DeadLetterPublisher
from worker.envelope import MutationRequest, input_values, parse_envelope
from worker.errors import MutationError, OutOfTimeError, ProducerRefusedError, WorkerBugError, capped
from worker.judge import GAVE_UP
from worker.logs import bind, bound_logger, masked, unbind
from worker.ordering import version_chains
from worker.origin import origin_message_id
from worker.outcomes import Status
from worker.rights import ProducerRule, check_rights

APPLIED = Status.APPLIED
ALREADY_APPLIED = Status.ALREADY_APPLIED
DEAD_LETTERED = Status.DEAD_LETTERED
FAILED = Status.FAILED
NOT_ATTEMPTED = Status.NOT_ATTEMPTED
REFUSED = Status.REFUSED

#: After cancelling what is unfinished at the deadline, wait at most this long for the cancellations to land.
_CANCEL_GRACE = 0.05


@dataclass(frozen=True)
class RecordOutcome:
    record_id: str
    status: Status
    error: MutationError | None = None
    operation: str | None = None
    #: Sends made to AppSync for this record in this invocation, and how long they took in all (the metrics).
    attempts: int = 0
    send_ms: float | None = None

    @property
    def reported_failed(self) -> bool:
        return self.status.redelivered


@dataclass(frozen=True)
class WorkItem:
    """One message, whatever carried it (an SQS record, an EventBridge event, a direct invocation)."""

    record_id: str
    body: str | Mapping[str, Any]
    source: str
    receive_count: int = 1
    group_id: str | None = None
    first_received_at: str | None = None
    #: SQS's ApproximateFirstReceiveTimestamp as delivered (epoch ms): formatted only for a dead letter.
    first_received_ms: Any = None
    #: The message's identity across retries and redeliveries (SQS message id, EventBridge event id): a
    #: create without an id of its own gets it as its record id. None: no stable identity.
    message_id: str | None = None
    #: Who asked (``worker.producers``): on every log line about the record and on its dead letter.
    producer: str = "unknown"


class BatchProcessor:
    def __init__(
        self,
        client: MutationClient,
        *,
        allowed_fields: frozenset[str],
        max_concurrency: int,
        dead_letters: DeadLetterPublisher | None = None,
        max_receive_count: int | None = None,
        create_ids_from_message: bool = True,
        model_keys: Mapping[str, tuple[str, ...]] | None = None,
        protected_fields: Mapping[str, tuple[str, ...]] | None = None,
        producer_rules: Sequence[ProducerRule] = (),
    ) -> None:
        self.client = client
        self.allowed_fields = allowed_fields
        self.max_concurrency = max_concurrency
        self.dead_letters = dead_letters
        self.max_receive_count = max_receive_count
        self.create_ids_from_message = create_ids_from_message
        self.model_keys = dict(model_keys or {})
        self.protected_fields = dict(protected_fields or {})
        self.producer_rules = tuple(producer_rules)
        self._log = bound_logger("worker.batch")

    async def process(
        self, items: Sequence[WorkItem], *, fifo: bool = False, deadline: float | None = None
    ) -> list[RecordOutcome]:
        """Outcomes in the order of ``items``, all of them by ``deadline`` (``time.monotonic()``)."""
        log = self._log
        limit = asyncio.Semaphore(self.max_concurrency)
        outcomes: list[RecordOutcome | None] = [None] * len(items)

        async def one(index: int) -> None:
            if len(chains) <= self.max_concurrency:  # every chain runs at once anyway: no semaphore to take
                outcomes[index] = await self._process_or_crash(items[index], deadline)
                return
            async with limit:
                outcomes[index] = await self._process_or_crash(items[index], deadline)

        async def run_group(indexes: list[int]) -> None:
            async with limit:
                for position, index in enumerate(indexes):
                    outcome = await self._process_or_crash(items[index], deadline)
                    outcomes[index] = outcome
                    if outcome.reported_failed:
                        for later in indexes[position + 1 :]:
                            outcomes[later] = RecordOutcome(items[later].record_id, NOT_ATTEMPTED)
                            log.info(
                                "record_not_attempted",
                                message_id=items[later].record_id,
                                group_id=items[later].group_id,
                                after_failed=items[index].record_id,
                            )
                        return

        chains: list[list[int]] = []
        if fifo:
            groups: dict[str | None, list[int]] = {}
            for index, item in enumerate(items):
                groups.setdefault(item.group_id, []).append(index)
            await _run_until(deadline, [run_group(indexes) for indexes in groups.values()])
        else:
            # One record's versioned events one after another, oldest first; the rest concurrently.
            async def run_chain(indexes: list[int]) -> None:
                for index in indexes:
                    await one(index)

            chains = version_chains(items, self._parse)
            await _run_until(
                deadline, [one(chain[0]) if len(chain) == 1 else run_chain(chain) for chain in chains]
            )

        unfinished = [index for index, outcome in enumerate(outcomes) if outcome is None]
        if unfinished:
            log.warning(
                "deadline_reached",
                unfinished=len(unfinished),
                detail="records not finished before the invocation's deadline are left for redelivery",
            )
        for index in unfinished:
            error = OutOfTimeError("the invocation's deadline came before this record finished")
            outcomes[index] = RecordOutcome(items[index].record_id, FAILED, error)
        return [outcome for outcome in outcomes if outcome is not None]

    async def _process_or_crash(self, item: WorkItem, deadline: float | None) -> RecordOutcome:
        """``process_item``, and a failure of its own failure path (a log sink that broke, say) reported as
        what it is, a worker bug left for redelivery: never mistaken for the deadline, never lost. (Binds and
        awaits ``_process_item`` itself: one coroutine less per record than calling ``process_item``.)"""
        token = _bind_record(item)
        try:
            return await self._process_item(item, deadline)
        except Exception as exc:
            bug = WorkerBugError(f"worker bug while reporting this record: {type(exc).__name__}: {exc}")
            return RecordOutcome(item.record_id, FAILED, bug)
        finally:
            unbind(token)

    async def process_item(self, item: WorkItem, *, deadline: float | None = None) -> RecordOutcome:
        # bound for this task only (bind/unbind directly: contextlib's generator-based ``bound`` costs as much again)
        token = _bind_record(item)
        try:
            return await self._process_item(item, deadline)
        finally:
            unbind(token)

    def _parse(self, item: WorkItem) -> MutationRequest:
        """The envelope, and what its producer may write (``worker.rights``): refused before any send."""
        message_id = item.message_id if self.create_ids_from_message else None
        request = parse_envelope(
            item.body, self.allowed_fields, message_id=message_id, model_keys=self.model_keys
        )
        check_rights(request, item.producer, self.producer_rules, self.protected_fields)
        return request

    def refuse(self, item: WorkItem, reason: str) -> RecordOutcome:
        """A record from a producer the configuration does not name: nothing parsed, sent or dead-lettered."""
        error = ProducerRefusedError(reason)
        self._log.error(
            "record_refused",
            message_id=item.record_id,
            producer=item.producer,
            source=item.source,
            outcome=REFUSED,
            error_type=error.error_type,
            reason=error.reason,
        )
        return RecordOutcome(item.record_id, REFUSED, error)

    async def _process_item(self, item: WorkItem, deadline: float | None) -> RecordOutcome:
        log = self._log
        started = time.perf_counter()
        request: MutationRequest | None = None
        sent: float | None = None
        try:
            message_id = item.message_id if self.create_ids_from_message else None
            request = parse_envelope(
                item.body, self.allowed_fields, message_id=message_id, model_keys=self.model_keys
            )
            check_rights(request, item.producer, self.producer_rules, self.protected_fields)
            sent = time.perf_counter()
            result = await self.client.send(request, deadline=deadline, redelivered=item.receive_count > 1)
        except MutationError as error:
            outcome = await self._handle_failure(item, request, error, started, deadline)
            return replace(outcome, attempts=error.attempts, send_ms=_sent_ms(sent, error.attempts))
        except Exception as unexpected:  # a bug must not fail the other records of the batch
            log.exception("record_crashed", error_type=type(unexpected).__name__)
            bug = WorkerBugError(f"worker bug: {type(unexpected).__name__}: {unexpected}")
            return await self._handle_failure(item, request, bug, started, deadline)
        log.info(
            "record_done",
            operation=result.field,
            outcome=result.status,
            attempts=result.attempts,
            duration_ms=_ms_since(started),
            **({"upsert": result.upsert} if result.upsert else {}),
            **_record_fields(request),
        )
        send_ms = _sent_ms(sent, result.attempts)
        return RecordOutcome(item.record_id, result.status, None, result.field, result.attempts, send_ms)

    async def _handle_failure(
        self,
        item: WorkItem,
        request: MutationRequest | None,
        error: MutationError,
        started: float,
        deadline: float | None = None,
    ) -> RecordOutcome:
        log = self._log
        operation = request.field if request else None
        last_delivery = self.max_receive_count is not None and item.receive_count >= self.max_receive_count
        fields = {
            "operation": operation,
            "error_type": error.error_type,
            "reason": masked(error.reason, input_values(request)) if request else error.reason,
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
        reason = error.reason if not error.retryable else f"{GAVE_UP} {item.receive_count}: {error.reason}"
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
            first_received_at=item.first_received_at or _iso_from_millis(item.first_received_ms),
            group_id=item.group_id,
            producer=item.producer,
            retryable=error.retryable,
        )
        timeout = None if deadline is None else deadline - time.monotonic()
        try:
            if timeout is not None and timeout <= 0:
                raise TimeoutError("no time left in this invocation for the DLQ send")
            dlq_message_id = await asyncio.wait_for(self.dead_letters.publish(letter), timeout)
        except Exception as exc:  # stays on the source queue; SQS redelivers it
            detail = "no answer within the time left" if isinstance(exc, TimeoutError) else str(exc)
            log.error(
                "dead_letter_failed", **fields, dlq_error=f"{type(exc).__name__}: {capped(detail, 300)}"
            )
            return RecordOutcome(item.record_id, FAILED, error, operation)
        log.error("record_dead_lettered", outcome=DEAD_LETTERED, dlq_message_id=dlq_message_id, **fields)
        return RecordOutcome(item.record_id, DEAD_LETTERED, error, operation)


async def _run_until(deadline: float | None, coroutines: list[Any]) -> None:
    """Run ``coroutines`` concurrently; at ``deadline`` cancel whatever has not finished."""
    tasks = [asyncio.ensure_future(coroutine) for coroutine in coroutines]
    if not tasks:
        return
    timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
    _, pending = await asyncio.wait(tasks, timeout=timeout)
    for task in pending:
        task.cancel()
    if pending:
        await asyncio.wait(pending, timeout=_CANCEL_GRACE)
    for task in tasks:
        if task.done() and not task.cancelled():
            task.exception()  # already reported per record; retrieved so asyncio does not warn


def _record_fields(request: MutationRequest) -> dict[str, str]:
    """Which record the write touched, for finding who asked from account B: the id when the
    producer chose it as such (its idempotency key or its message's id), else a digest of the record's key, so no
    input value (an id can be an e-mail address) reaches an INFO line."""
    record = request.record_id
    if record is None:
        return {}
    if request.id_source in ("idempotencyKey", "message"):
        return {"record_id": record}
    import hashlib

    return {"record_digest": hashlib.sha256(record.encode()).hexdigest()[:16]}


def _bind_record(item: WorkItem) -> Token[Mapping[str, Any]]:
    """Every line about this record (in the batch, in the client) carries its id and its producer; ``unbind`` the
    token when the record is done."""
    return bind(message_id=item.record_id, receive_count=item.receive_count, producer=item.producer)


def sqs_work_item(record: Mapping[str, Any], producer: str = "sqs") -> WorkItem:
    attributes = record.get("attributes") or {}
    message_id = str(record["messageId"])
    body = str(record.get("body", ""))
    origin_id = origin_message_id(record.get("messageAttributes") or {}, body)
    return WorkItem(
        record_id=message_id,
        body=body,
        source=str(record.get("eventSourceARN", "sqs")),
        receive_count=_int(attributes.get("ApproximateReceiveCount"), 1),
        group_id=attributes.get("MessageGroupId"),
        first_received_ms=attributes.get("ApproximateFirstReceiveTimestamp"),
        message_id=origin_id or message_id,
        producer=producer,
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


def _sent_ms(sent: float | None, attempts: int) -> float | None:
    """How long the record's sends took (None when nothing was sent)."""
    return _ms_since(sent) if sent is not None and attempts > 0 else None


def _ms_since(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)
