"""``replay list | export | replay | redrive``: what the DLQ (or an exported file) holds, and getting it applied.

Nothing is lost: a DLQ message is deleted only after its mutation was applied (or already applied) or after it
was sent to the source queue, and only while this command still holds it; everything else this command received
is made visible again before it exits, and if it dies instead, SQS shows the messages again when the hold
(visibility timeout) ends. A run goes on until its selection is exhausted or ``--limit`` is reached, and says
how many messages it left behind (and why) when it stopped for any other reason; then the exit code is 1.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import IO, Any

from mutation_cli import errors as exits
from mutation_cli.config import CliContext
from mutation_cli.dlq import (
    MAX_HOLD_SECONDS,
    DeadLetterQueue,
    HoldKeeper,
    HoldLost,
    Remainder,
    resolve_queue_url,
)
from mutation_cli.errors import UsageError
from mutation_cli.output import ProgressReporter, print_records, print_summary
from mutation_cli.records import DeadLetterRecord, LetterWriter, open_private, read_jsonl, write_jsonl
from mutation_cli.replay import (
    FAILED,
    NOT_DONE,
    REDRIVEN,
    REPLAYED,
    SKIPPED_PERMANENT,
    WOULD_REDRIVE,
    Outcome,
    Replayer,
    blocked,
    dry_run,
    hold_lost,
    in_groups,
)
from mutation_cli.selection import Selection, parse_when
from mutation_cli.session import base_session
from worker.origin import origin_attributes

LIST_HOLD_SECONDS = 30

Report = Callable[[Outcome], None]


def redrive_deduplication_id(record: DeadLetterRecord) -> str:
    """A FIFO redrive's deduplication id: new (the original one may still be inside SQS's 5-minute
    deduplication window, where the resend would be dropped without an error), and derived from the DLQ
    message, so a re-run after a crash between send and delete is deduplicated by SQS instead of sent twice."""
    return f"redrive:{record.message_id}"[:128]


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
        hold = getattr(args, "hold_seconds", None)
        if hold is not None and not 1 <= hold <= MAX_HOLD_SECONDS:
            raise UsageError(f"--hold-seconds must be 1-{MAX_HOLD_SECONDS}")
        if not hasattr(args, "include_permanent"):
            args.include_permanent = False
        self._session: Any = None
        self._runtime: Any = None

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
        return DeadLetterQueue(sqs, resolve_queue_url(sqs, name), self.letter_writer())

    def letter_writer(self) -> LetterWriter | None:
        """The worker's own ``SenderId``: its execution role's id (``iam:GetRole``) and Lambda's
        session name, the function's name. Without the settings nothing can be checked, and that is said."""
        settings = self.ctx.settings
        if settings is None:
            print(
                "warning: no settings file: letters are not checked for the worker's SenderId, so failure.* "
                "attributes are shown as any sender wrote them",
                file=sys.stderr,
            )
            return None
        worker = settings.worker
        try:
            iam = self.session.create_client("iam", region_name=self.config.region)
            role_id = str(iam.get_role(RoleName=worker.execution_role_name)["Role"]["RoleId"])
        except Exception as exc:
            print(
                f"warning: cannot read the execution role {worker.execution_role_name} (iam:GetRole: "
                f"{type(exc).__name__}); letters are checked by SenderId form and session name only",
                file=sys.stderr,
            )
            return LetterWriter(session_name=worker.function_name)
        return LetterWriter(session_name=worker.function_name, role_id=role_id)

    def from_file(self) -> tuple[list[DeadLetterRecord], int]:
        records = read_jsonl(self.args.file)
        selected = [r for r in records if self.selection.matches(r)]
        if self.selection.limit is not None:
            selected = selected[: self.selection.limit]
        return selected, len(records) - len(selected)

    # --- commands ------------------------------------------------------------------------------------------
    def list_records(self) -> int:
        records, _, remainder = self._peek()
        if self.args.json:
            for record in records:
                print(json.dumps(_row(record)), file=self.out)
        else:
            print_records(records, self.out)
        return self._peek_exit(remainder)

    def export_records(self) -> int:
        records, _, remainder = self._peek()
        if self.args.out in (None, "-"):
            write_jsonl(self.out, records)
        else:
            with open_private(self.args.out) as handle:  # 0600: bodies and reasons
                count = write_jsonl(handle, records)
            print(f"exported {count} dead letter(s) to {self.args.out}", file=sys.stderr)
        return self._peek_exit(remainder)

    def _peek(self) -> tuple[list[DeadLetterRecord], int, Remainder | None]:
        if self.args.file:
            records, skipped = self.from_file()
            return records, skipped, None
        dlq = self.dead_letter_queue()
        held = dlq.hold(self.selection.matches, hold_seconds=LIST_HOLD_SECONDS, limit=self.selection.limit)
        dlq.release(held.beyond)  # not examined: counted as left
        try:
            remainder = Remainder.measure(
                dlq,
                held_here=len(held.selected) + len(held.others),
                limit=self.selection.limit,
                selected=len(held.selected),
            )
        finally:
            dlq.release(held.selected + held.others)
        return held.selected, len(held.others), remainder

    def _peek_exit(self, remainder: Remainder | None) -> int:
        if remainder is None:
            return exits.OK
        for line in remainder.explain():
            print(line.strip(), file=sys.stderr)
        return exits.FAILED if remainder.incomplete else exits.OK

    def replay(self) -> int:
        if self.args.file:
            records, skipped = self.from_file()
            return self._replay_file(records, skipped)
        return self._drain(self.dead_letter_queue(), self._replay_round, "replaying")

    def redrive(self) -> int:
        dlq = self.dead_letter_queue() if not self.args.file else None
        if dlq is None:
            raise UsageError("redrive moves messages from the DLQ; with --file use `replay replay --file`")
        target = self._source_queue_url(dlq.sqs)

        def redrive_round(records: list[DeadLetterRecord], keeper: HoldKeeper, report: Report) -> None:
            for members in in_groups(records):  # one group after another; in a group, in receive order
                for index, record in enumerate(members):
                    outcome = self._redrive_one(dlq, keeper, target, record)
                    report(outcome)
                    if outcome.status in NOT_DONE:
                        for later in members[index + 1 :]:
                            report(blocked(later, outcome))
                        break

        return self._drain(dlq, redrive_round, "redriving")

    # --- the DLQ, round by round ---------------------------------------------------------------------------
    def _drain(
        self,
        dlq: DeadLetterQueue,
        work: Callable[[list[DeadLetterRecord], HoldKeeper, Report], None],
        label: str,
    ) -> int:
        """Hold what SQS shows, work on the selected, and again, until a round brings nothing new (a FIFO
        group's later messages only show once its earlier ones are deleted) or ``--limit`` is reached; then
        count what is left, and release every message still held."""
        hold_seconds = self.args.hold_seconds
        limit = self.selection.limit
        outcomes: list[Outcome] = []
        seen: set[str] = set()
        skipped = selected = 0
        remainder: Remainder | None = None
        interrupted = False
        progress = ProgressReporter(0, label, self.out, quiet=bool(self.args.json))

        def report(outcome: Outcome) -> None:
            outcomes.append(outcome)
            progress.outcome(outcome)

        try:
            with HoldKeeper(dlq, hold_seconds) as keeper, progress:
                try:
                    while limit is None or selected < limit:
                        held = dlq.hold(
                            self.selection.matches,
                            hold_seconds=hold_seconds,
                            limit=None if limit is None else limit - selected,
                            seen=seen,
                            keeper=keeper,
                        )
                        skipped += len(held.others)
                        dlq.release(held.beyond)  # not examined (--limit reached): counted as left
                        for record in held.beyond:
                            keeper.drop(record)
                        if not held.selected:
                            break
                        selected += len(held.selected)
                        progress.add(len(held.selected))
                        work(held.selected, keeper, report)
                    remainder = Remainder.measure(
                        dlq, held_here=len(keeper.owned()), limit=limit, selected=selected
                    )
                except KeyboardInterrupt:
                    interrupted = True
                finally:
                    dlq.release(keeper.owned())  # never a message whose hold was lost: it may be another's
        finally:
            if self._runtime is not None:
                self._runtime.close()
                self._runtime = None
        return self._finish(outcomes, skipped, interrupted=interrupted, remainder=remainder)

    def _replay_round(self, records: list[DeadLetterRecord], keeper: HoldKeeper, report: Report) -> None:
        if self.args.dry_run:
            for outcome in dry_run(records, self.config.allowed_mutations, self.config.model_keys):
                report(outcome)
            return
        replayer = Replayer(
            self._worker_runtime(),
            concurrency=self.args.concurrency or self.config.max_concurrency,
            confirm=lambda record: keeper.dlq.delete(record, keeper),
            owns=keeper.owns,
            on_outcome=report,
        )
        replayer.run(records)

    def _worker_runtime(self) -> Any:
        if self._runtime is None:
            from mutation_cli.runtime import worker_runtime

            self._runtime = worker_runtime(self.config, self.session, verbose=self.args.verbose)
        return self._runtime

    # --- a file written by export ----------------------------------------------------------------------------
    def _replay_file(self, records: list[DeadLetterRecord], skipped: int) -> int:
        if self.args.dry_run:
            outcomes = dry_run(records, self.config.allowed_mutations, self.config.model_keys)
            with ProgressReporter(
                len(outcomes), "checking", self.out, quiet=bool(self.args.json)
            ) as progress:
                for outcome in outcomes:
                    progress.outcome(outcome)
            return self._finish(outcomes, skipped, interrupted=False)
        runtime = self._worker_runtime()
        quiet = bool(self.args.json)
        with ProgressReporter(len(records), "replaying", self.out, quiet=quiet) as progress:
            replayer = Replayer(
                runtime,
                concurrency=self.args.concurrency or self.config.max_concurrency,
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
                self._runtime = None
        self._write_failed(records, replayer.outcomes)
        return self._finish(replayer.outcomes, skipped, interrupted=False)

    # --- helpers -------------------------------------------------------------------------------------------
    def _permanent(self, record: DeadLetterRecord) -> Outcome | None:
        """Why the worker would fail this message again at once, if it would: its envelope is refused now, or
        the worker's recorded error type is a permanent one (its error class is no ``TransientError``)."""
        from worker.envelope import parse_envelope
        from worker.errors import MutationError

        try:
            parse_envelope(record.body, self.config.allowed_mutations, model_keys=self.config.model_keys)
        except MutationError as error:
            return Outcome(record, SKIPPED_PERMANENT, record.operation, error.error_type, error.reason)
        if record.permanent:
            return Outcome(
                record,
                SKIPPED_PERMANENT,
                record.operation,
                record.failure.get("errorType"),
                record.failure.get("reason") or "",
                record.failure.get("diagnosis"),
            )
        return None

    def _redrive_one(
        self, dlq: DeadLetterQueue, keeper: HoldKeeper, target: str, record: DeadLetterRecord
    ) -> Outcome:
        from botocore.exceptions import BotoCoreError, ClientError

        if not self.args.include_permanent:
            permanent = self._permanent(record)
            if permanent is not None:
                return permanent
        if self.args.dry_run:
            return Outcome(record, WOULD_REDRIVE, record.operation)
        if not keeper.owns(record):
            return hold_lost(record, record.operation, sent=False, what="")
        params: dict[str, Any] = {"QueueUrl": target, "MessageBody": record.body}
        attributes = {
            name: {k: v for k, v in value.items() if k in ("DataType", "StringValue", "BinaryValue")}
            for name, value in record.attributes.items()
        }
        # The redriven copy gets a new message id; a create without an id keeps the one it was given.
        attributes.update(origin_attributes(record.message_identity, record.body))
        if attributes:
            params["MessageAttributes"] = attributes
        if target.endswith(".fifo"):
            params["MessageGroupId"] = record.group_id or "redrive"
            params["MessageDeduplicationId"] = redrive_deduplication_id(record)
        try:
            dlq.sqs.send_message(**params)
        except (ClientError, BotoCoreError) as exc:
            return Outcome(record, FAILED, record.operation, "SendFailed", f"SendMessage to {target}: {exc}")
        try:
            dlq.delete(record, keeper)
        except HoldLost:
            return hold_lost(record, record.operation, sent=True, what="sent to the source queue")
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
        done = {id(o.record) for o in outcomes if o.status not in NOT_DONE}
        reasons = {id(o.record): o for o in outcomes if o.status in NOT_DONE}
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
        with open_private(self.args.failed_out) as handle:  # 0600: bodies and reasons
            write_jsonl(handle, remaining)
        print(f"{len(remaining)} not replayed: written to {self.args.failed_out}", file=sys.stderr)

    def _finish(
        self,
        outcomes: list[Outcome],
        skipped: int,
        *,
        interrupted: bool,
        remainder: Remainder | None = None,
    ) -> int:
        if self.args.json:
            counts: dict[str, int] = {}
            for o in outcomes:
                counts[o.status] = counts.get(o.status, 0) + 1
            counts["skipped"] = skipped
            result: dict[str, Any] = {"interrupted": interrupted}
            if remainder is not None:
                counts["left"] = remainder.left
                result["left"] = remainder.to_json()
            result.update(counts=counts, messages=[o.to_json() for o in outcomes])
            print(json.dumps(result), file=self.out)
        else:
            print_summary(outcomes, skipped, self.out, interrupted=interrupted, remainder=remainder)
        if interrupted:
            return exits.INTERRUPTED
        incomplete = remainder is not None and remainder.incomplete
        return exits.FAILED if incomplete or any(o.status in NOT_DONE for o in outcomes) else exits.OK


def _row(record: DeadLetterRecord) -> dict[str, Any]:
    return {
        "messageId": record.message_id,
        "format": record.format,  # the worker's own letter, an EventBridge rule's DLQ event, a Lambda async record
        "failedAt": record.failure.get("at") or record.sent_at,
        "firstReceivedAt": record.failure.get("firstReceivedAt"),
        "receiveCount": record.receive_count,
        "operation": record.operation,
        "idempotencyKey": record.failure.get("idempotencyKey"),
        "errorType": record.failure.get("errorType"),
        "reason": record.failure.get("reason"),
        "diagnosis": record.failure.get("diagnosis"),
        "permanent": record.permanent,
    }


__all__ = ["REPLAYED", "DeadLetterCommand"]
