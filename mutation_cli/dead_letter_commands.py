"""``replay list | export | replay | redrive``: what the DLQ (or an exported file) holds, and getting it applied.

Nothing is lost: a DLQ message is deleted only after its mutation was applied (or already applied) or after it
was sent to the source queue; everything else this command received is made visible again before it exits,
and if it dies instead, SQS shows the messages again when the hold (visibility timeout) ends.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import IO, Any

from mutation_cli import errors as exits
from mutation_cli.config import CliContext
from mutation_cli.dlq import DeadLetterQueue, Held, resolve_queue_url
from mutation_cli.errors import UsageError
from mutation_cli.output import ProgressReporter, print_records, print_summary
from mutation_cli.records import DeadLetterRecord, read_jsonl, write_jsonl
from mutation_cli.replay import FAILED, REPLAYED, Outcome, Replayer, dry_run
from mutation_cli.selection import Selection, parse_when
from mutation_cli.session import base_session
from worker.batch import ORIGIN_MESSAGE_ID_ATTRIBUTE

REDRIVEN = "redriven"
LIST_HOLD_SECONDS = 30


def selection_from(args: argparse.Namespace) -> Selection:
    if args.limit is not None and args.limit < 1:
        raise UsageError("--limit must be at least 1")
    return Selection(
        operations=frozenset(args.operation or ()),
        error_types=frozenset(args.error_type or ()),
        message_ids=frozenset(args.message_id or ()),
        since=parse_when(args.since) if args.since else None,
        until=parse_when(args.until) if args.until else None,
        limit=args.limit,
    )


class DeadLetterCommand:
    def __init__(self, args: argparse.Namespace, ctx: CliContext, out: IO[str] | None = None) -> None:
        self.args, self.ctx, self.config = args, ctx, ctx.config
        self.out = out or sys.stdout
        self.selection = selection_from(args)
        self._session: Any = None

    # --- sources -------------------------------------------------------------------------------------------
    @property
    def session(self) -> Any:
        if self._session is None:
            self._session = base_session(self.args.via_role_arn, self.args.via_session_name)
        return self._session

    def sqs(self) -> Any:
        return self.session.create_client("sqs", region_name=self.config.region)

    def dead_letter_queue(self) -> DeadLetterQueue:
        sqs = self.sqs()
        name = self.args.queue or self.config.dead_letter_queue_url
        if not name and self.ctx.settings is not None:
            name = self.ctx.settings.worker.dead_letter_queue_name
        if not name:
            raise UsageError("no dead-letter queue: pass --queue URL-or-name (or set DEAD_LETTER_QUEUE_URL)")
        return DeadLetterQueue(sqs, resolve_queue_url(sqs, name))

    def from_file(self) -> tuple[list[DeadLetterRecord], int]:
        records = read_jsonl(self.args.file)
        selected = [r for r in records if self.selection.matches(r)]
        if self.selection.limit is not None:
            selected = selected[: self.selection.limit]
        return selected, len(records) - len(selected)

    # --- commands ------------------------------------------------------------------------------------------
    def list_records(self) -> int:
        records, _ = self._peek()
        if self.args.json:
            for record in records:
                print(json.dumps(_row(record)), file=self.out)
        else:
            print_records(records, self.out)
        return exits.OK

    def export_records(self) -> int:
        records, _ = self._peek()
        if self.args.out in (None, "-"):
            write_jsonl(self.out, records)
        else:
            with open(self.args.out, "w", encoding="utf-8") as handle:
                count = write_jsonl(handle, records)
            print(f"exported {count} dead letter(s) to {self.args.out}", file=sys.stderr)
        return exits.OK

    def _peek(self) -> tuple[list[DeadLetterRecord], int]:
        if self.args.file:
            return self.from_file()
        dlq = self.dead_letter_queue()
        held = dlq.hold(self.selection.matches, hold_seconds=LIST_HOLD_SECONDS, limit=self.selection.limit)
        dlq.release(held.selected + held.others)
        return held.selected, len(held.others)

    def replay(self) -> int:
        if self.args.file:
            records, skipped = self.from_file()
            return self._replay(records, skipped, dlq=None)
        dlq = self.dead_letter_queue()
        held = dlq.hold(
            self.selection.matches, hold_seconds=self.args.hold_seconds, limit=self.selection.limit
        )
        try:
            dlq.release(held.others)
            return self._replay(held.selected, len(held.others), dlq=dlq)
        finally:
            dlq.release(held.selected)  # every message not confirmed (deleted) is visible again

    def _replay(self, records: list[DeadLetterRecord], skipped: int, dlq: DeadLetterQueue | None) -> int:
        if self.args.dry_run:
            outcomes = dry_run(records, self.config.allowed_mutations)
            for outcome in outcomes if not self.args.json else ():
                detail = f"  {outcome.error_type}: {outcome.reason}" if outcome.status == FAILED else ""
                print(
                    f"{outcome.status:<16} {outcome.record.message_id}  {outcome.operation or '-'}{detail}",
                    file=self.out,
                )
            return self._finish(outcomes, skipped, interrupted=False)
        from mutation_cli.runtime import worker_runtime

        runtime = worker_runtime(self.config, self.session, verbose=self.args.verbose)
        quiet = bool(self.args.json)
        with ProgressReporter(len(records), "replaying", self.out, quiet=quiet) as progress:
            replayer = Replayer(
                runtime,
                concurrency=self.args.concurrency or self.config.max_concurrency,
                confirm=dlq.delete if dlq is not None else None,
                on_outcome=progress.outcome,
            )
            try:
                replayer.run(records)
            except KeyboardInterrupt:
                self._write_failed(records, replayer.outcomes)
                self._finish(replayer.outcomes, skipped, interrupted=True)
                return exits.INTERRUPTED
            finally:
                runtime.close()
        self._write_failed(records, replayer.outcomes)
        return self._finish(replayer.outcomes, skipped, interrupted=False)

    def redrive(self) -> int:
        dlq = self.dead_letter_queue() if not self.args.file else None
        if dlq is None:
            raise UsageError("redrive moves messages from the DLQ; with --file use `replay replay --file`")
        target = self._source_queue_url(dlq.sqs)
        held: Held = dlq.hold(
            self.selection.matches, hold_seconds=self.args.hold_seconds, limit=self.selection.limit
        )
        outcomes: list[Outcome] = []
        try:
            dlq.release(held.others)
            with ProgressReporter(
                len(held.selected), "redriving", self.out, quiet=bool(self.args.json)
            ) as progress:
                for record in held.selected:
                    outcome = self._redrive_one(dlq, target, record)
                    outcomes.append(outcome)
                    progress.outcome(outcome)
        except KeyboardInterrupt:
            self._finish(outcomes, len(held.others), interrupted=True)
            return exits.INTERRUPTED
        finally:
            dlq.release(held.selected)
        return self._finish(outcomes, len(held.others), interrupted=False)

    # --- helpers -------------------------------------------------------------------------------------------
    def _redrive_one(self, dlq: DeadLetterQueue, target: str, record: DeadLetterRecord) -> Outcome:
        from botocore.exceptions import BotoCoreError, ClientError

        if self.args.dry_run:
            return Outcome(record, "would_redrive", record.operation)
        params: dict[str, Any] = {"QueueUrl": target, "MessageBody": record.body}
        attributes = {
            name: {k: v for k, v in value.items() if k in ("DataType", "StringValue", "BinaryValue")}
            for name, value in record.attributes.items()
        }
        # The redriven copy gets a new message id; a create without an id keeps the one it was given.
        attributes[ORIGIN_MESSAGE_ID_ATTRIBUTE] = {
            "DataType": "String",
            "StringValue": record.message_identity,
        }
        if attributes:
            params["MessageAttributes"] = attributes
        if target.endswith(".fifo"):
            params["MessageGroupId"] = record.group_id or "redrive"
            # Deterministic: a re-run after a crash between send and delete is deduplicated by SQS.
            params["MessageDeduplicationId"] = (record.deduplication_id or record.message_id)[:128]
        try:
            dlq.sqs.send_message(**params)
        except (ClientError, BotoCoreError) as exc:
            return Outcome(record, FAILED, record.operation, "SendFailed", f"SendMessage to {target}: {exc}")
        try:
            dlq.delete(record)
        except (ClientError, BotoCoreError) as exc:
            return Outcome(
                record,
                FAILED,
                record.operation,
                "DeleteFailed",
                f"sent to the source queue, but removing it from the DLQ failed ({exc}); it may run twice "
                "(idempotency keys make creates safe)",
            )
        return Outcome(record, REDRIVEN, record.operation)

    def _source_queue_url(self, sqs: Any) -> str:
        name = self.args.to_queue
        if not name and self.ctx.settings is not None:
            name = self.ctx.settings.worker.queue_name
        if not name:
            raise UsageError("no source queue: pass --to-queue URL-or-name")
        return resolve_queue_url(sqs, name)

    def _write_failed(self, records: list[DeadLetterRecord], outcomes: list[Outcome]) -> None:
        """From a file: failures and never-finished records go to --failed-out, so nothing is lost."""
        if not self.args.file or not self.args.failed_out:
            return
        done = {id(o.record) for o in outcomes if o.status != FAILED}
        reasons = {id(o.record): o for o in outcomes if o.status == FAILED}
        remaining = [r for r in records if id(r) not in done]
        for record in remaining:
            outcome = reasons.get(id(record))
            if outcome is not None:
                record.failure = {
                    **record.failure,
                    "reason": outcome.reason or "",
                    "errorType": outcome.error_type or "",
                    **({"diagnosis": outcome.diagnosis} if outcome.diagnosis else {}),
                }
        with open(self.args.failed_out, "w", encoding="utf-8") as handle:
            write_jsonl(handle, remaining)
        print(f"{len(remaining)} not replayed: written to {self.args.failed_out}", file=sys.stderr)

    def _finish(self, outcomes: list[Outcome], skipped: int, *, interrupted: bool) -> int:
        if self.args.json:
            counts: dict[str, int] = {}
            for o in outcomes:
                counts[o.status] = counts.get(o.status, 0) + 1
            counts["skipped"] = skipped
            print(
                json.dumps(
                    {
                        "interrupted": interrupted,
                        "counts": counts,
                        "messages": [o.to_json() for o in outcomes],
                    }
                ),
                file=self.out,
            )
        else:
            print_summary(outcomes, skipped, self.out, interrupted=interrupted)
        if interrupted:
            return exits.INTERRUPTED
        return exits.FAILED if any(o.status == FAILED for o in outcomes) else exits.OK


def _row(record: DeadLetterRecord) -> dict[str, Any]:
    return {
        "messageId": record.message_id,
        "failedAt": record.failure.get("at") or record.sent_at,
        "firstReceivedAt": record.failure.get("firstReceivedAt"),
        "receiveCount": record.receive_count,
        "operation": record.operation,
        "idempotencyKey": record.failure.get("idempotencyKey"),
        "errorType": record.failure.get("errorType"),
        "reason": record.failure.get("reason"),
        "diagnosis": record.failure.get("diagnosis"),
    }


__all__ = ["REPLAYED", "DeadLetterCommand"]
