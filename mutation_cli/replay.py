"""Send dead letters' mutations again through the worker's own client, confirming each success.

Not ``BatchProcessor.process_item``: that would dead-letter a failure again. Here a failure simply stays
where it is (the DLQ, or the ``--failed-out`` file) with its new reason; a success is *confirmed* (deleted from
the DLQ) only after AppSync applied it or reported it already applied. An interruption cancels what is in
flight and confirms nothing more.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mutation_cli.records import DeadLetterRecord
from worker.envelope import parse_envelope
from worker.errors import MutationError
from worker.outcomes import Status

REPLAYED = "replayed"
ALREADY = Status.ALREADY_APPLIED.value
FAILED = Status.FAILED.value
SKIPPED = "skipped"
WOULD_REPLAY = "would_replay"


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
        if self.status == FAILED:
            data.update(errorType=self.error_type, reason=self.reason, diagnosis=self.diagnosis)
        return data


def dry_run(records: list[DeadLetterRecord], allowed: frozenset[str]) -> list[Outcome]:
    """Validate each envelope as the worker would; nothing is sent, nothing confirmed."""
    outcomes = []
    for record in records:
        try:
            request = parse_envelope(record.body, allowed)
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
        on_outcome: Callable[[Outcome], None] = lambda outcome: None,
    ) -> None:
        self.runtime = runtime
        self.concurrency = max(1, concurrency)
        self.confirm = confirm
        self.on_outcome = on_outcome
        self.outcomes: list[Outcome] = []

    def run(self, records: list[DeadLetterRecord]) -> list[Outcome]:
        """Outcomes in completion order; on interruption the finished ones stay in ``self.outcomes``."""
        loop = self.runtime.loop
        limit = asyncio.Semaphore(self.concurrency)

        async def one(record: DeadLetterRecord) -> None:
            async with limit:
                outcome = await self._replay(record)
            self.outcomes.append(outcome)
            self.on_outcome(outcome)

        tasks = [loop.create_task(one(record)) for record in records]
        try:
            loop.run_until_complete(asyncio.gather(*tasks))
        except BaseException:
            for task in tasks:
                task.cancel()
            loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
            raise
        return self.outcomes

    async def _replay(self, record: DeadLetterRecord) -> Outcome:
        operation = record.operation
        try:
            config = self.runtime.config
            request = parse_envelope(
                record.body,
                config.allowed_mutations,
                message_id=record.message_identity if config.create_ids_from_message else None,
            )
            operation = request.field
            # The message was tried before: a delete that finds the item gone was applied by that try.
            result = await self.runtime.client.send(request, redelivered=True)
        except MutationError as error:
            return Outcome.failed(record, error, operation)
        except Exception as error:  # a bug or an unexpected fault: keep the message, say what happened
            return Outcome(record, FAILED, operation, "UnexpectedError", f"{type(error).__name__}: {error}")
        status = ALREADY if result.status is Status.ALREADY_APPLIED else REPLAYED
        if self.confirm is not None:
            try:
                await asyncio.get_running_loop().run_in_executor(None, self.confirm, record)
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
