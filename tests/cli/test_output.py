"""Terminal rendering: a progress bar and tables on a TTY, plain greppable lines otherwise (no sandbox)."""

from __future__ import annotations

import io

from mutation_cli.doctor import Check
from mutation_cli.output import ProgressReporter, print_checklist, print_summary
from mutation_cli.records import DeadLetterRecord
from mutation_cli.replay import FAILED, REPLAYED, Outcome


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def outcomes() -> list[Outcome]:
    ok = Outcome(DeadLetterRecord("m-1", "{}"), REPLAYED, "createTodo")
    bad = Outcome(
        DeadLetterRecord("m-2", "{}"), FAILED, "createTodo", "Unauthorized", "Not Authorized", "list the ARN"
    )
    return [ok, bad]


def test_plain_lines_when_piped() -> None:
    stream = io.StringIO()
    with ProgressReporter(2, "replaying", stream) as progress:
        for outcome in outcomes():
            progress.outcome(outcome)
    print_summary(outcomes(), skipped=3, stream=stream)
    text = stream.getvalue()
    assert "[1/2] replayed" in text and "[2/2] failed" in text
    assert "summary: replayed=1 failed=1 skipped=3" in text
    assert "fix: list the ARN" in text


def test_progress_bar_and_tables_on_a_terminal() -> None:
    stream = Terminal()
    with ProgressReporter(2, "replaying", stream) as progress:
        for outcome in outcomes():
            progress.outcome(outcome)
    print_summary(outcomes(), skipped=0, stream=stream)
    text = stream.getvalue()
    assert "replaying" in text and "2/2" in text  # rich's bar with its M/N column
    assert "[1/2]" not in text
    assert "failed again" in text and "Not Authorized" in text


def test_checklist_marks() -> None:
    stream = io.StringIO()
    print_checklist(
        [
            Check("base credentials", "ok", "provider 'env'"),
            Check("assume account-B role", "failed", "AccessDenied", "pin the session name"),
            Check("signed request", "skipped", "not checked"),
        ],
        stream,
    )
    assert stream.getvalue().splitlines() == [
        "✓ base credentials: provider 'env'",
        "✗ assume account-B role: AccessDenied",
        "    fix: pin the session name",
        "– signed request: not checked",  # noqa: RUF001
    ]


def test_a_replay_line_names_the_message_the_producer_sent() -> None:
    """The demo's batch table shows the source message ids; the DLQ copies have ids of their own."""
    record = DeadLetterRecord("dlq-copy-1", "{}", failure={"sourceMessageId": "sent-by-producer-1"})
    stream = io.StringIO()
    with ProgressReporter(1, "replaying", stream) as progress:
        progress.outcome(Outcome(record, REPLAYED, "createTodo"))
    assert "[1/1] replayed         dlq-copy-1  createTodo  (sent as sent-by-producer-1)" in stream.getvalue()
