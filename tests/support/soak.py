"""Soak: thousands of mutation messages through the real SQS path while the sandbox injects faults.

Messages go onto the sandbox's source queue (its real redrive policy: ``maxReceiveCount`` from settings.toml,
the worker's DLQ behind it) and are drained like the event source mapping does (``Sandbox.drain_queue`` with
``worker.handler.lambda_handler``), in phases that each switch on one kind of fault:

- HTTP 429 and 5xx answers (seeded-random rates and "next N"), connection resets,
- slow responses past the client's timeout (``REQUEST_TIMEOUT_SECONDS=1``), and "applied, then stalled" answers
  (the first attempt succeeded but its answer came too late: the retry must count as already applied),
- STS throttling while a new container (cold start) assumes the account-B role,
- every account-B credential expiring mid-run (the execution role's sessions are kept, as on Lambda),

and a share of permanently bad messages (invalid JSON, wrong JSON types, unknown envelope keys, a mutation off
the allow-list, a GraphQL validation error from the API).

The accounting (``Accounting``) must close exactly; see ``Accounting.problems`` for the precise rules.

Run the full size with ``make soak`` (``pytest -m soak``); ``python -m tests.support.soak --messages N`` runs it
outside pytest and prints the same figures.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import random
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

#: Overrides of the Lambda environment for the soak: a short client timeout so "slow" faults time out.
SOAK_ENVIRONMENT = {"REQUEST_TIMEOUT_SECONDS": "1", "MAX_ATTEMPTS": "5", "MAX_CONCURRENCY": "10"}
FAST_MESSAGES = 300
FULL_MESSAGES = 5000
#: One message in ``BAD_EVERY`` is permanently bad (cycling through ``BAD_KINDS``).
BAD_EVERY = 25
BAD_KINDS = ("invalid_json", "wrong_type", "unknown_key", "not_allowed", "validation")
REPORT_PATH = Path("build") / "soak-report.json"

StartContainer = Callable[..., None]


# --- messages ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SentMessage:
    kind: str  # "good" or one of BAD_KINDS
    key: str  # the idempotency key (= record id for the good creates); unique per message
    body: str

    @property
    def good(self) -> bool:
        return self.kind == "good"


def build_messages(count: int, run_id: str, seed: int = 7) -> list[SentMessage]:
    """``count`` messages: mostly good creates (named and document form), one in ``BAD_EVERY`` bad."""
    rng = random.Random(seed)
    messages = []
    for index in range(count):
        key = f"{run_id}-{index:05d}"
        if index % BAD_EVERY == BAD_EVERY - 1:
            kind = BAD_KINDS[(index // BAD_EVERY) % len(BAD_KINDS)]
            messages.append(SentMessage(kind, key, _bad_body(kind, key)))
            continue
        name = f"soak todo {index} " + "x" * rng.randrange(0, 64)
        if index % 3 == 0:
            body = {
                "query": "mutation Create($input: CreateTodoInput!) { createTodo(input: $input) { id name } }",
                "variables": {"input": {"name": name, "done": bool(index % 2)}},
                "operationName": "Create",
                "idempotencyKey": key,
            }
        else:
            body = {
                "mutation": "createTodo",
                "input": {"name": name, "description": f"message {index}"},
                "fields": ["id", "name", "createdAt"],
                "idempotencyKey": key,
            }
        messages.append(SentMessage("good", key, json.dumps(body)))
    return messages


def _bad_body(kind: str, key: str) -> str:
    if kind == "invalid_json":
        return '{"mutation": "createTodo", "input": {"name": "truncated' + key
    if kind == "wrong_type":
        return json.dumps({"mutation": "createTodo", "input": ["not", "an", "object"], "idempotencyKey": key})
    if kind == "unknown_key":
        return json.dumps(
            {"mutation": "createTodo", "input": {"name": "x"}, "idempotencyKey": key, "priority": "high"}
        )
    if kind == "not_allowed":
        return json.dumps({"mutation": "createAuditEntry", "input": {"name": "x"}, "idempotencyKey": key})
    if kind == "validation":  # passes the envelope checks, refused by the API: FieldUndefined
        return json.dumps(
            {
                "mutation": "createTodo",
                "input": {"name": "x"},
                "fields": ["id", "noSuchField"],
                "idempotencyKey": key,
            }
        )
    raise ValueError(kind)


# --- fault phases -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Phase:
    name: str
    apply: Callable[[Any, StartContainer], None]


def _clean(sb: Any, start: StartContainer) -> None:
    pass


def _http_429(sb: Any, start: StartContainer) -> None:
    sb.appsync.faults.fail_rate(0.2, status=429, seed=429)


def _http_5xx(sb: Any, start: StartContainer) -> None:
    faults = sb.appsync.faults
    faults.fail_next(3, status=502)
    faults.fail_next(3, status=503)
    faults.fail_rate(0.1, status=500, seed=500)


def _resets(sb: Any, start: StartContainer) -> None:
    sb.appsync.faults.reset_next(2)
    sb.appsync.faults.reset_rate(0.1, seed=104)


def _slow(sb: Any, start: StartContainer) -> None:
    # Past the 1 s client timeout: the client gives up and retries; the stand-in then finds the connection
    # gone and applies nothing.
    sb.appsync.faults.slow_next(4, seconds=1.5)


def _stalled(sb: Any, start: StartContainer) -> None:
    # Applied at once, answered after the client timeout: the retry meets its own first attempt's item
    # (ConditionalCheckFailed on the idempotency key) and counts as already applied.
    sb.appsync.faults.stall_after_apply_next(4, seconds=1.5)


def _sts_throttled_cold_start(refusals: int) -> Callable[[Any, StartContainer], None]:
    """A new container while STS throttles. The worker's STS client makes 4 attempts per call (botocore
    standard mode, ``max_attempts=3`` retries): 4 refusals fail the cold start's credential prefetch; 8 also
    fail the first record's AssumeRole (a transient ``CredentialsUnavailable``, retried); then STS recovers.
    botocore's backoff between attempts makes this the slowest phase, so the fast soak uses 4."""

    def apply(sb: Any, start: StartContainer) -> None:
        sb.sts.throttle_next(refusals)
        start(**SOAK_ENVIRONMENT)

    return apply


def _credential_expiry(sb: Any, start: StartContainer) -> None:
    sb.sts.expire_all(keep_role_arns=keep_on_expiry(sb))


def phases(sts_refusals: int = 8) -> tuple[Phase, ...]:
    return (
        Phase("clean", _clean),
        Phase("http_429", _http_429),
        Phase("http_5xx", _http_5xx),
        Phase("connection_resets", _resets),
        Phase("slow_past_timeout", _slow),
        Phase("applied_then_stalled_past_timeout", _stalled),
        Phase("sts_throttled_cold_start", _sts_throttled_cold_start(sts_refusals)),
        Phase("credential_expiry", _credential_expiry),
    )


def keep_on_expiry(sb: Any) -> list[str]:
    """Sessions that ``expire_all`` must leave alone: the execution role's (the Lambda container's base
    credentials, renewed by Lambda itself) and the sandbox's own admin sessions."""
    from sandbox.fixture import ADMIN_ROLE

    return [
        sb.settings.execution_role_arn,
        *(f"arn:aws:iam::{account}:role/{ADMIN_ROLE}" for account in (sb.account_a, sb.account_b)),
    ]


# --- the run ----------------------------------------------------------------------------------------------
@dataclass
class RunFigures:
    rounds: int = 0
    invocations: int = 0
    records_delivered: int = 0
    redeliveries_reported: int = 0
    whole_batch_failures: int = 0
    assume_role_by_worker: int = 0
    assume_role_refused: int = 0
    phases: Counter[str] = field(default_factory=Counter)
    phase_seconds: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0


def drive(
    sb: Any,
    start: StartContainer,
    messages: list[SentMessage],
    *,
    batch_size: int = 10,
    rounds_per_phase: int | None = None,
    max_seconds: float = 1800.0,
    sts_refusals: int = 8,
    wave: int = 300,
) -> tuple[dict[str, SentMessage], RunFigures]:
    """Send the messages in waves of ``wave``; drain each wave phase by phase until the queue is empty
    (bounded in rounds and time)."""
    from worker.handler import lambda_handler

    sb.appsync.faults.clear()
    sb.appsync.stats.reset()
    sb.sts.reset()
    sb.purge_dlq()
    if sb.queue_depth() != 0:
        raise RuntimeError("the source queue must be empty before a soak")
    start(**SOAK_ENVIRONMENT)

    schedule = phases(sts_refusals)
    per_phase = rounds_per_phase or max(2, min(wave, len(messages)) // (batch_size * len(schedule)))
    # Every record needs at most maxReceiveCount deliveries; rounds that find nothing visible are cheap.
    max_rounds = (len(messages) // batch_size + 1) * (sb.settings.worker.max_receive_count + 1) + 200
    figures = RunFigures()
    sent: dict[str, SentMessage] = {}
    started = time.monotonic()
    phase_index = 0
    # In waves: moto's ReceiveMessage walks the whole queue, so a queue thousands deep makes every poll slow;
    # the fault phases keep cycling across waves.
    for offset in range(0, len(messages), wave):
        chunk = messages[offset : offset + wave]
        for message_id, message in zip(sb.send_messages([m.body for m in chunk]), chunk, strict=True):
            sent[message_id] = message
        while figures.rounds < max_rounds and time.monotonic() - started < max_seconds:
            phase = schedule[phase_index % len(schedule)]
            sb.appsync.faults.clear()
            phase.apply(sb, start)
            figures.phases[phase.name] += 1
            phase_started = time.monotonic()
            stats = sb.drain_queue(lambda_handler, batch_size=batch_size, max_rounds=per_phase)
            elapsed = round(time.monotonic() - phase_started, 2)
            figures.phase_seconds[phase.name] = figures.phase_seconds.get(phase.name, 0.0) + elapsed
            figures.rounds += per_phase
            figures.invocations += stats.invocations
            figures.records_delivered += stats.records
            figures.redeliveries_reported += stats.failures_reported
            figures.whole_batch_failures += stats.whole_batch_failures
            phase_index += 1
            if sb.queue_depth() == 0:
                break
    sb.appsync.faults.clear()
    figures.assume_role_by_worker = len(sb.sts.assume_role_calls)
    figures.assume_role_refused = len(sb.sts.refused_calls)
    sb.sts.reset()
    if sb.queue_depth() != 0:  # finish without faults, still bounded, so the accounting can be checked
        stats = sb.drain_queue(lambda_handler, batch_size=batch_size, max_rounds=max_rounds)
        figures.invocations += stats.invocations
        figures.records_delivered += stats.records
        figures.redeliveries_reported += stats.failures_reported
    figures.seconds = round(time.monotonic() - started, 1)
    return sent, figures


def read_dead_letters(sb: Any, limit: int) -> list[dict[str, Any]]:
    """Every DLQ message (made visible again afterwards)."""
    return list(sb.dlq_messages(limit=limit))


# --- accounting -------------------------------------------------------------------------------------------
@dataclass
class Accounting:
    """Who ended where. Definitions (message = one ``SendMessage`` on the source queue):

    - *applied*: its idempotency key is an item id in account B's table (one item per key by construction);
    - *dead-lettered*: a DLQ message whose ``failure.sourceMessageId`` is its message id and which carries a
      non-empty ``failure.reason``;
    - *applied and dead-lettered* (``overlap``): only acceptable for a good message given up on its last
      delivery after a transient failure whose earlier attempt had in fact been applied; it is counted once,
      as applied (a replay would find it already applied). A bad message may never be applied.

    The books close when ``sent == applied + (dead_lettered - overlap)`` and ``unaccounted == 0``.
    """

    sent: int
    good: int
    bad: int
    applied: int
    dead_lettered: int
    overlap: int
    unaccounted: int
    bad_dead_lettered: int
    bad_applied: int
    good_dead_lettered: int
    dead_letters_without_reason: int
    dead_letters_unknown_source: int
    dead_letters_duplicated: int
    items_not_sent: int
    keys_written_more_than_once: int
    queue_depth_after: int
    dead_letter_reasons: dict[str, int]
    problems: list[str]


def account(sb: Any, sent: Mapping[str, SentMessage]) -> Accounting:
    from worker.dead_letters import read_failure

    by_key = {m.key: mid for mid, m in sent.items()}
    table_keys = {str(item["id"]) for item in sb.table_items() if str(item["id"]) in by_key}
    run_prefix = next(iter(sent.values())).key.rsplit("-", 1)[0] if sent else ""
    stray_items = [
        item["id"]
        for item in sb.table_items()
        if str(item["id"]).startswith(run_prefix + "-") and item["id"] not in by_key
    ]
    applied_ids = {by_key[key] for key in table_keys}

    letters = read_dead_letters(sb, limit=len(sent) + 100)
    dlq_sources: Counter[str] = Counter()
    without_reason = unknown_source = 0
    reasons: Counter[str] = Counter()
    overlap_not_transient = []
    for letter in letters:
        failure = read_failure(letter.get("MessageAttributes", {}))
        source = failure.get("sourceMessageId", "")
        if not failure.get("reason"):
            without_reason += 1
        if source not in sent:
            unknown_source += 1
            continue
        dlq_sources[source] += 1
        reasons[failure.get("errorType", "?")] += 1
        if letter["Body"] != sent[source].body:
            overlap_not_transient.append(f"{source}: DLQ body differs from the sent body")
        if source in applied_ids and not failure.get("reason", "").startswith("gave up after delivery"):
            overlap_not_transient.append(
                f"{source}: applied, yet dead-lettered as {failure.get('errorType')}"
            )
    dlq_ids = set(dlq_sources)
    overlap = applied_ids & dlq_ids
    unaccounted = set(sent) - applied_ids - dlq_ids
    bad_ids = {mid for mid, m in sent.items() if not m.good}

    # Exactly one effect per key: the stand-in records every successful (non-conditional-failure) write.
    writes = Counter(m.item_id for m in sb.appsync.stats.mutations if m.item_id in by_key)
    twice = sorted(key for key, n in writes.items() if n > 1)

    figures = Accounting(
        sent=len(sent),
        good=len(sent) - len(bad_ids),
        bad=len(bad_ids),
        applied=len(applied_ids),
        dead_lettered=len(dlq_ids),
        overlap=len(overlap),
        unaccounted=len(unaccounted),
        bad_dead_lettered=len(bad_ids & dlq_ids),
        bad_applied=len(bad_ids & applied_ids),
        good_dead_lettered=len(dlq_ids - bad_ids),
        dead_letters_without_reason=without_reason,
        dead_letters_unknown_source=unknown_source,
        dead_letters_duplicated=sum(1 for n in dlq_sources.values() if n > 1),
        items_not_sent=len(stray_items),
        keys_written_more_than_once=len(twice),
        queue_depth_after=sb.queue_depth(),
        dead_letter_reasons=dict(reasons),
        problems=[],
    )
    problems = figures.problems
    if figures.sent != figures.applied + figures.dead_lettered - figures.overlap:
        problems.append(
            f"sent {figures.sent} != applied {figures.applied} + dead-lettered only "
            f"{figures.dead_lettered - figures.overlap}"
        )
    if unaccounted:
        sample = sorted(unaccounted)[:5]
        problems.append(f"{len(unaccounted)} messages neither applied nor dead-lettered, e.g. {sample}")
    if figures.bad_dead_lettered != figures.bad:
        problems.append(f"only {figures.bad_dead_lettered} of {figures.bad} bad messages are in the DLQ")
    if figures.bad_applied:
        problems.append(f"{figures.bad_applied} bad messages were applied")
    if without_reason:
        problems.append(
            f"{without_reason} DLQ messages carry no failure.reason (moved by redrive, unexplained)"
        )
    if unknown_source:
        problems.append(f"{unknown_source} DLQ messages name no message of this run")
    if figures.dead_letters_duplicated:
        problems.append(f"{figures.dead_letters_duplicated} messages are in the DLQ more than once")
    if stray_items:
        problems.append(f"{len(stray_items)} items in account B were never sent: {stray_items[:5]}")
    if twice:
        problems.append(f"{len(twice)} keys were written more than once in account B: {twice[:5]}")
    if figures.queue_depth_after:
        problems.append(f"{figures.queue_depth_after} messages are still on the source queue")
    problems.extend(overlap_not_transient[:10])
    return figures


# --- logs -------------------------------------------------------------------------------------------------
def parse_log_lines(text: str) -> list[dict[str, Any]]:
    """The worker's JSON log lines in captured output (anything else is skipped)."""
    lines = []
    for line in text.splitlines():
        if line.startswith("{"):
            with contextlib.suppress(ValueError):
                entry = json.loads(line)
                if isinstance(entry, dict) and "event" in entry:
                    lines.append(entry)
    return lines


def log_figures(lines: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    counts: Counter[str] = Counter()
    for line in lines:
        event = line.get("event")
        if event == "mutation_attempt" and line.get("outcome") == "transient":
            counts["retries"] += 1  # a transient attempt: retried in place or left for redelivery
        elif event == "mutation_already_applied":
            counts["duplicates_suppressed"] += 1
        elif event == "record_done" and line.get("outcome") == "applied":
            counts["records_applied"] += 1
        elif event == "record_failed" and line.get("outcome") == "retry_later":
            counts["left_for_redelivery"] += 1
        elif event == "credential_refresh_failed":
            counts["credential_refresh_failed"] += 1
        elif event == "credentials_unavailable":
            counts["credentials_unavailable"] += 1
        elif event == "assumed_role":
            counts["assume_role"] += 1
    return {
        key: counts.get(key, 0)
        for key in (
            "retries",
            "duplicates_suppressed",
            "records_applied",
            "left_for_redelivery",
            "credentials_unavailable",
            "credential_refresh_failed",
            "assume_role",
        )
    }


def leaked_secrets(text: str, secrets: Iterable[str]) -> list[str]:
    """Descriptions (never the values) of secrets and signature material found in ``text``."""
    hits = [f"a secret of {len(s)} characters" for s in secrets if s and len(s) >= 16 and s in text]
    for marker in ("Signature=", "X-Amz-Security-Token", "AWS4-HMAC-SHA256 Credential="):
        if marker in text:
            hits.append(f"the marker {marker!r}")
    return hits


# --- report -----------------------------------------------------------------------------------------------
def report(
    sb: Any, sent: Mapping[str, SentMessage], run: RunFigures, log_text: str, *, size: str
) -> dict[str, Any]:
    books = account(sb, sent)
    logs = log_figures(parse_log_lines(log_text))
    stand_in = sb.appsync.stats.snapshot()
    return {
        "size": size,
        "sent": books.sent,
        "applied": books.applied,
        "dead_lettered": books.dead_lettered - books.overlap,
        "unaccounted": books.unaccounted,
        "retries": logs["retries"],
        "duplicates_suppressed": logs["duplicates_suppressed"],
        "accounting": asdict(books),
        "logs": logs,
        "run": {**asdict(run), "phases": dict(run.phases), "phase_seconds": dict(run.phase_seconds)},
        "stand_in": {
            "requests": stand_in["requests"],
            "by_status": {str(k): v for k, v in sorted(stand_in["by_status"].items())},
            "by_outcome": dict(sorted(stand_in["by_outcome"].items())),
            "mutations_executed": stand_in["mutations"],
        },
        "sts": {"assume_role_by_worker": run.assume_role_by_worker, "refused": run.assume_role_refused},
    }


def figure_lines(result: Mapping[str, Any]) -> list[str]:
    books = result["accounting"]
    stand_in = result["stand_in"]
    faults = {k: v for k, v in stand_in["by_outcome"].items() if k not in ("ok",)}
    return [
        f"soak ({result['size']}): {result['run']['seconds']} s, {result['run']['invocations']} invocations, "
        f"{stand_in['requests']} AppSync requests, faults/refusals by outcome {faults}",
        f"soak figures: sent={result['sent']} applied={result['applied']} "
        f"dead_lettered={result['dead_lettered']} unaccounted={result['unaccounted']} "
        f"retries={result['retries']} duplicates_suppressed={result['duplicates_suppressed']}",
        f"soak detail: good={books['good']} bad={books['bad']} bad_dead_lettered={books['bad_dead_lettered']} "
        f"bad_applied={books['bad_applied']} good_dead_lettered={books['good_dead_lettered']} "
        f"applied_and_dead_lettered={books['overlap']} "
        f"redeliveries={result['run']['redeliveries_reported']} dlq_reasons={books['dead_letter_reasons']}",
    ]


def write_report(result: Mapping[str, Any], path: Path | None = None) -> Path:
    target = path or Path(os.environ.get("SOAK_REPORT", str(REPORT_PATH)))
    if not target.is_absolute():
        target = Path(__file__).resolve().parent.parent / target
    target.parent.mkdir(parents=True, exist_ok=True)
    runs: dict[str, Any] = {}
    if target.exists():  # keep the other size's figures: {"runs": {"fast": {...}, "full": {...}}}
        with contextlib.suppress(ValueError, OSError):
            existing = json.loads(target.read_text())
            if isinstance(existing, dict) and isinstance(existing.get("runs"), dict):
                runs.update(existing["runs"])
    runs[str(result["size"])] = dict(result)
    data = {"runs": runs}
    target.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    return target


# --- command line -----------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=FULL_MESSAGES)
    parser.add_argument("--settings", default=None)
    args = parser.parse_args(argv)

    from project_settings import load_settings
    from sandbox.fixture import Sandbox
    from worker.handler import reset_runtime

    saved = dict(os.environ)

    def start(**overrides: str) -> None:
        reset_runtime()
        environment = {**sb.lambda_environment(), **overrides}
        for name in list(os.environ):
            if name.startswith("AWS_"):
                del os.environ[name]
        os.environ.update(environment)

    settings = load_settings(args.settings)
    logs = io.StringIO()
    with Sandbox.start(settings) as sb:
        try:
            messages = build_messages(args.messages, run_id=f"soak{int(time.time())}")
            with contextlib.redirect_stdout(logs):
                sent, run = drive(sb, start, messages)
            size = "full" if args.messages >= FULL_MESSAGES else "fast"
            result = report(sb, sent, run, logs.getvalue(), size=size)
            leaks = leaked_secrets(logs.getvalue(), sb.issued_secrets())
        finally:
            reset_runtime()
            os.environ.clear()
            os.environ.update(saved)
    path = write_report(result)
    problems = result["accounting"]["problems"] + [f"log leak: {leak}" for leak in leaks]
    for problem in problems:
        print(f"PROBLEM: {problem}")
    print(f"report: {path}")
    for line in figure_lines(result):
        print(line)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
