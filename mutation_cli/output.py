"""Terminal output: a rich progress bar and tables on a terminal, plain greppable lines otherwise."""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from types import TracebackType
from typing import IO, Any

from mutation_cli.dlq import Remainder
from mutation_cli.records import DeadLetterRecord
from mutation_cli.replay import (
    ALREADY,
    BLOCKED,
    FAILED,
    HOLD_LOST,
    NOT_DONE,
    REDRIVEN,
    REPLAYED,
    SKIPPED,
    SKIPPED_PERMANENT,
    SUPERSEDED,
    WOULD_REDRIVE,
    WOULD_REPLAY,
    Outcome,
)

#: Every summary shows these counts in this order (``failed`` always, the others when not zero), then ``left``
#: for a run on the DLQ.
SUMMARY_ORDER = (
    REPLAYED,
    ALREADY,
    SUPERSEDED,
    WOULD_REPLAY,
    REDRIVEN,
    WOULD_REDRIVE,
    FAILED,
    BLOCKED,
    HOLD_LOST,
    SKIPPED_PERMANENT,
    SKIPPED,
)
#: Outcomes listed one by one under the counts, with their reason.
_LISTED = (*sorted(NOT_DONE), SKIPPED_PERMANENT)


def is_tty(stream: IO[str]) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


class ProgressReporter(AbstractContextManager["ProgressReporter"]):
    """One line per finished message when piped; a progress bar (failures printed above it) on a TTY."""

    def __init__(self, total: int, label: str, stream: IO[str] | None = None, quiet: bool = False) -> None:
        self.stream = stream or sys.stdout
        self.total, self.label, self.quiet = total, label, quiet
        self.done = 0
        self._progress: Any = None
        self._task: Any = None

    def __enter__(self) -> ProgressReporter:
        if self.total:
            self._start()
        return self

    def add(self, count: int) -> None:
        """``count`` more messages to go (a DLQ run learns its total round by round)."""
        self.total += count
        if self._progress is None:
            self._start()
        elif self._task is not None:
            self._progress.update(self._task, total=self.total)

    def _start(self) -> None:
        if is_tty(self.stream) and not self.quiet and self._progress is None:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self._progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=Console(file=self.stream),
            )
            self._progress.start()
            self._task = self._progress.add_task(self.label, total=self.total)

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._progress is not None:
            self._progress.stop()

    def advance(self, status: str, message_id: str, operation: str | None, detail: str = "") -> None:
        self.done += 1
        line = f"{status:<16} {message_id}  {operation or '-'}" + (f"  {detail}" if detail else "")
        if self._progress is not None:
            if status in _LISTED:
                self._progress.console.print(line, markup=False, highlight=False)
            self._progress.advance(self._task)
        elif not self.quiet:
            print(f"[{self.done}/{self.total}] {line}", file=self.stream, flush=True)

    def outcome(self, outcome: Outcome) -> None:
        detail = f"{outcome.error_type}: {outcome.reason}" if outcome.status in _LISTED else ""
        # The DLQ copy has a message id of its own: name the message the producer sent, as the worker logged it.
        source = outcome.record.failure.get("sourceMessageId")
        if source and source != outcome.record.message_id:
            detail = f"(sent as {source})" + (f"  {detail}" if detail else "")
        self.advance(outcome.status, outcome.record.message_id, outcome.operation, detail)


def print_summary(
    outcomes: Sequence[Outcome],
    skipped: int,
    stream: IO[str] | None = None,
    interrupted: bool = False,
    remainder: Remainder | None = None,
) -> None:
    """Counts per outcome (and ``left`` on the DLQ), then every message not done or skipped as permanent with its
    reason and diagnosis, then why messages were left."""
    out = stream or sys.stdout
    counts = Counter(o.status for o in outcomes)
    counts[SKIPPED] += skipped
    listed = [o for o in outcomes if o.status in _LISTED]
    notes = remainder.explain() if remainder is not None else []
    if any(o.status == SKIPPED_PERMANENT for o in listed):
        notes.append(
            "  skipped_permanent: the worker would fail these again at once; fix them and `replay replay` them, "
            "or pass --include-permanent"
        )
    if is_tty(out):
        from rich.console import Console
        from rich.table import Table

        console = Console(file=out)
        table = Table(title="interrupted: partial summary" if interrupted else "summary")
        table.add_column("outcome")
        table.add_column("messages", justify="right")
        for status in SUMMARY_ORDER:
            if counts[status] or status == FAILED:
                table.add_row(status.replace("_", " "), str(counts[status]))
        if remainder is not None:
            table.add_row("left", str(remainder.left))
        console.print(table)
        if listed:
            detail = Table(title="failed again, blocked or skipped")
            for column in ("message id", "outcome", "operation", "error type", "reason / fix"):
                detail.add_column(column, overflow="fold")
            for o in listed:
                text = o.reason or ""
                if o.diagnosis:
                    text += f"\nfix: {o.diagnosis}"
                detail.add_row(
                    o.record.message_id,
                    o.status.replace("_", " "),
                    o.operation or "-",
                    o.error_type or "-",
                    text,
                )
            console.print(detail)
        for note in notes:
            console.print(note.strip(), markup=False, highlight=False)
        return
    head = "interrupted: partial summary" if interrupted else "summary"
    parts = [f"{status}={counts[status]}" for status in SUMMARY_ORDER if counts[status] or status == FAILED]
    if remainder is not None:
        parts.append(f"left={remainder.left}")
    print(f"{head}: " + " ".join(parts), file=out)
    for o in listed:
        print(f"  {o.status} {o.record.message_id} {o.operation or '-'} {o.error_type}: {o.reason}", file=out)
        if o.diagnosis:
            print(f"    fix: {o.diagnosis}", file=out)
    for note in notes:
        print(note, file=out)


def print_records(records: Iterable[DeadLetterRecord], stream: IO[str] | None = None) -> int:
    """``replay list``: one row per dead letter."""
    out = stream or sys.stdout
    rows = [
        (
            r.message_id,
            r.format,
            r.failure.get("at") or r.sent_at or "-",
            str(r.receive_count),
            r.operation or "-",
            r.failure.get("idempotencyKey") or "-",
            r.failure.get("errorType") or "-",
            r.failure.get("reason") or "(no failure.* attributes: moved by SQS redrive policy?)",
            r.failure.get("diagnosis") or "-",
        )
        for r in records
    ]
    headers = (
        "message id",
        "format",
        "failed at",
        "receives",
        "operation",
        "idempotency key",
        "error type",
        "reason",
        "fix",
    )
    if is_tty(out):
        from rich.console import Console
        from rich.table import Table

        table = Table(title=f"{len(rows)} dead letter(s)")
        for header in headers:
            table.add_column(header, overflow="fold")
        for row in rows:
            table.add_row(*row)
        Console(file=out).print(table)
    else:
        print("\t".join(headers), file=out)
        for row in rows:
            print("\t".join(row), file=out)
    return len(rows)


_MARKS = {"ok": ("✓", "green"), "failed": ("✗", "red"), "skipped": ("–", "dim")}  # noqa: RUF001 (the checklist mark for "skipped")


def print_checklist(checks: Sequence[Any], stream: IO[str] | None = None) -> None:
    """``doctor``: one line per link (ok, failed, skipped), the fix under a broken one, notes under any."""
    out = stream or sys.stdout
    console: Any = None
    if is_tty(out):
        from rich.console import Console

        console = Console(file=out, highlight=False)
    for check in checks:
        mark, colour = _MARKS[check.status]
        lines = [f"{mark} {check.name}: {check.detail}"]
        if check.fix and check.status == "failed":
            lines.append(f"    fix: {check.fix}")
        lines.extend(f"    note: {note}" for note in check.notes)
        for number, line in enumerate(lines):
            if console is not None:
                console.print(line, style=colour if number == 0 else None, markup=False)
            else:
                print(line, file=out)
