"""Send dead letters' mutations again through the worker's own client, confirming each success.

Not ``BatchProcessor.process_item``: that would dead-letter a failure again. Here a failure simply stays
where it is (the DLQ, or the ``--failed-out`` file) with its new reason; a success is *confirmed* (deleted from
the DLQ) only after AppSync applied it or reported it already applied, and only while this command still holds
it. An interruption cancels what is in flight and confirms nothing more.

Order: records of one FIFO message group run one after another, in the order SQS gave them; after one of them
fails (or loses its hold) the group's later records are not sent (``blocked``), so nothing of a group is ever
applied ahead of an earlier message of it. Records without a group run concurrently.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from mutation_cli.dlq import HoldLost
from mutation_cli.records import DeadLetterRecord
from worker.envelope import parse_envelope
from worker.errors import MutationError
from worker.outcomes import Status

REPLAYED = "replayed"
ALREADY = Status.ALREADY_APPLIED.value
#: A versioned write whose record already holds its version or a newer one (read back): done, confirmed.
SUPERSEDED = Status.SUPERSEDED.value
FAILED = Status.FAILED.value
SKIPPED = "skipped"
WOULD_REPLAY = "would_replay"
#: Not sent: an earlier message of its FIFO group failed, so sending it would break the group's order.
BLOCKED = "blocked"
#: Its hold on the DLQ ended before it could be confirmed: not deleted, not counted as done.
HOLD_LOST = "hold_lost"
REDRIVEN = "redriven"
WOULD_REDRIVE = "would_redrive"
#: Not redriven: the worker would fail it again at once (a permanent error type, or an envelope it refuses).
SKIPPED_PERMANENT = "skipped_permanent"
#: Statuses that leave the message in the DLQ (or the --failed-out file) and make the exit code 1.
NOT_DONE = frozenset({FAILED, BLOCKED, HOLD_LOST})


@dataclass
class Outcome:
    record: DeadLetterRecord
    status: str
    operation: str | None = None
    error_type: str | None = None
    reason: str | None = None
    diagnosis: str | None = None

    @classmethod
    def failed(cls, record: DeadLetterRecord, error: MutationError, operation: str | None) -> Outcome:
        return cls(record, FAILED, operation, error.error_type, error.reason, error.diagnosis)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "messageId": self.record.message_id,
            "status": self.status,
            "operation": self.operation or self.record.operation,
        }
        if self.status in NOT_DONE or self.reason:
            data.update(errorType=self.error_type, reason=self.reason, diagnosis=self.diagnosis)
        return data


def hold_lost(record: DeadLetterRecord, operation: str | None, *, sent: bool, what: str) -> Outcome:
    if sent:
        reason = (
            f"{what}, but the DLQ message's hold ended before it was deleted: another consumer may have "
            "received it, so it is left in the DLQ and not counted (raise --hold-seconds)"
        )
    else:
        reason = "not sent: the DLQ message's hold ended first (another consumer may have it); raise --hold-seconds"
    return Outcome(record, HOLD_LOST, operation, "HoldLost", reason)


def blocked(record: DeadLetterRecord, before: Outcome) -> Outcome:
    return Outcome(
        record,
        BLOCKED,
        record.operation,
        "Blocked",
        f"not sent: {before.record.message_id}, earlier in FIFO group {record.group_id!r}, was not done "
        f"({before.status}); the group's order is kept",
    )


def in_groups(records: list[DeadLetterRecord]) -> list[list[DeadLetterRecord]]:
    """FIFO message groups in receive order; a record without a group is a group of its own."""
    groups: dict[object, list[DeadLetterRecord]] = {}
    for record in records:
        key: object = record.group_id if record.group_id is not None else object()
        groups.setdefault(key, []).append(record)
    return list(groups.values())


def dry_run(
    records: list[DeadLetterRecord],
    allowed: frozenset[str],
    model_keys: Mapping[str, tuple[str, ...]] | None = None,
) -> list[Outcome]:
    """Validate each envelope as the worker would; nothing is sent, nothing confirmed."""
    outcomes = []
    for record in records:
        try:
            request = parse_envelope(record.body, allowed, model_keys=model_keys)
        except MutationError as error:
            outcomes.append(Outcome.failed(record, error, record.operation))
            continue
        outcomes.append(Outcome(record, WOULD_REPLAY, request.field))
    return outcomes


class Replayer:
    def __init__(
        self,
        runtime: Any,  # worker.runtime.WorkerRuntime
        *,
        concurrency: int,
        confirm: Callable[[DeadLetterRecord], None] | None = None,
        owns: Callable[[DeadLetterRecord], bool] | None = None,
        on_outcome: Callable[[Outcome], None] = lambda outcome: None,
    ) -> None:
        self.runtime = runtime
        self.concurrency = max(1, concurrency)
        self.confirm = confirm  # raises HoldLost when the message is no longer this command's
        self.owns = owns  # whether the DLQ message is still held by this command (checked before sending)
        self.on_outcome = on_outcome
        self.outcomes: list[Outcome] = []

    def run(self, records: list[DeadLetterRecord]) -> list[Outcome]:
        """Outcomes in completion order; on interruption the finished ones stay in ``self.outcomes``."""
        loop = self.runtime.loop
        limit = asyncio.Semaphore(self.concurrency)

        def report(outcome: Outcome) -> None:
            self.outcomes.append(outcome)
            self.on_outcome(outcome)

        async def group(members: list[DeadLetterRecord]) -> None:
            for index, record in enumerate(members):
                async with limit:
                    outcome = await self._replay(record)
                report(outcome)
                if outcome.status in NOT_DONE:
                    for later in members[index + 1 :]:
                        report(blocked(later, outcome))
                    return

        tasks = [loop.create_task(group(members)) for members in in_groups(records)]
        gathered = asyncio.gather(*tasks)
        try:
            loop.run_until_complete(gathered)
        except BaseException:
            for task in tasks:
                task.cancel()
            loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
            if gathered.done() and not gathered.cancelled():
                gathered.exception()  # retrieved: no "_GatheringFuture exception was never retrieved" on Ctrl-C
            raise
        return self.outcomes

    async def _replay(self, record: DeadLetterRecord) -> Outcome:
        operation = record.operation
        if self.owns is not None and not self.owns(record):
            return hold_lost(record, operation, sent=False, what="")
        try:
            config = self.runtime.config
            request = parse_envelope(
                record.body,
                config.allowed_mutations,
                message_id=record.message_identity if config.create_ids_from_message else None,
                model_keys=config.model_keys,
            )
            operation = request.field
            # The message was tried before: a delete that finds the item gone was applied by that try.
            result = await self.runtime.client.send(request, redelivered=True)
        except MutationError as error:
            return Outcome.failed(record, error, operation)
        except Exception as error:  # a bug or an unexpected fault: keep the message, say what happened
            return Outcome(record, FAILED, operation, "UnexpectedError", f"{type(error).__name__}: {error}")
        status = {Status.ALREADY_APPLIED: ALREADY, Status.SUPERSEDED: SUPERSEDED}.get(result.status, REPLAYED)
        if self.confirm is not None:
            try:
                await asyncio.get_running_loop().run_in_executor(None, self.confirm, record)
            except HoldLost:
                return hold_lost(record, operation, sent=True, what=status.replace("_", " "))
            except Exception as error:
                return Outcome(
                    record,
                    FAILED,
                    operation,
                    "DeleteFailed",
                    f"{status.replace('_', ' ')}, but removing it from the DLQ failed "
                    f"({type(error).__name__}: {error}); replaying it again is reported as already applied "
                    "for creates",
                )
        return Outcome(record, status, operation)
