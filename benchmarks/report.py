"""``python -m benchmarks.report`` (``make docs-figures``): the figures in the docs, written from the runs' reports.

Each figures section of a doc sits between ``<!-- figures:begin NAME -->`` and ``<!-- figures:end NAME -->``
and is rewritten from one JSON report:

- ``bench``: ``bench-results.json`` (``make bench``) -> docs/performance.md;
- ``soak``: ``build/soak-report.json`` (``make soak``: the full run; ``make test``: the fast run);
- ``memory``: ``build/memory-report.json`` (``tests/reliability/test_memory.py``);
- ``outcome-properties``: ``build/outcome-properties.json`` (``tests/reliability/test_outcome_properties.py``);
- ``bad-input``: ``build/bad-input-cases.json`` (``tests/reliability/test_bad_input.py``);

the last four -> docs/reliability.md.

A report that is absent is named and its section is left as it is; so is one that cannot be read. Top-level
sections of ``bench-results.json`` that the benchmark's own table (``benchmarks.run.render``) does not draw on
are rendered as a table of their figures, so a new measurement reaches the docs without a change here.
``--check`` writes nothing and exits 1 when a doc is not what its reports say.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

#: Top-level keys of bench-results.json that ``benchmarks.run.render`` shows (or that only hold its inputs).
BENCH_TABLE_KEYS = frozenset(
    {
        "machine",
        "started_at",
        "settings",
        "targets",
        "limit_mutations_per_second",
        "limit",
        "sandbox",
        "throughput",
        "sandbox_ceiling",
        "overhead",
        "cold_start",
        "summary",
    }
)
#: A generic section shows at most this many figures; the rest stay in the report.
MAX_ROWS = 40
#: Longer text values (method descriptions, module lists) are cut in a table cell.
MAX_CELL = 160

Renderer = Callable[[Any, str], str]


@dataclass(frozen=True)
class Section:
    name: str  # the marker's name: <!-- figures:begin NAME -->
    doc: str  # relative to the project root
    report: str  # relative to the project root (or overridden on the command line)
    written_by: str  # what to run when the report is absent
    render: Renderer


# --- helpers ---------------------------------------------------------------------------------------------
def _cell(value: Any) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    text = str(value).replace("\n", " ").replace("|", "\\|")
    return text if len(text) <= MAX_CELL else text[: MAX_CELL - 1] + "…"


def _get(data: Any, *path: str) -> Any:
    """``data[path[0]][path[1]]...``, or None when any step is missing."""
    for key in path:
        if not isinstance(data, Mapping) or key not in data:
            return None
        data = data[key]
    return data


def _counts(counts: Any) -> str:
    """``{"A": 3, "B": 1}`` -> ``3 A, 1 B`` (largest first)."""
    if not isinstance(counts, Mapping) or not counts:
        return "none"
    ordered = sorted(counts.items(), key=lambda item: (-item[1] if isinstance(item[1], int) else 0, item[0]))
    return ", ".join(f"{_cell(count)} {name}" for name, count in ordered)


def flatten(value: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Every leaf figure of a JSON value, named by its path (``a.b``, ``points[0].x``)."""
    if isinstance(value, Mapping):
        if not value:
            yield prefix, "{}"
        for key, item in value.items():
            yield from flatten(item, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(value, list) and value and all(isinstance(item, Mapping | list) for item in value):
        for index, item in enumerate(value):
            yield from flatten(item, f"{prefix}[{index}]")
    elif isinstance(value, list):
        yield prefix, ", ".join(_cell(item) for item in value) or "none"
    else:
        yield prefix, value


def figures_table(value: Any, report: str) -> list[str]:
    """A two-column markdown table of every figure in ``value`` (at most ``MAX_ROWS``)."""
    rows = list(flatten(value))
    lines = ["| figure | value |", "|---|---|"]
    lines += [f"| `{_cell(name) or '(value)'}` | {_cell(figure)} |" for name, figure in rows[:MAX_ROWS]]
    if len(rows) > MAX_ROWS:
        lines.append(f"| … | {len(rows) - MAX_ROWS} more figures in `{report}` |")
    return lines


# --- bench-results.json ----------------------------------------------------------------------------------
def bench_table(results: Mapping[str, Any]) -> str | None:
    """The table ``make bench`` prints, or None when this report's shape is not the one it reads."""
    from benchmarks import run

    try:
        return run.render(dict(results))
    except (KeyError, TypeError, ValueError, IndexError, AttributeError):
        return None


def _table_shows(results: Mapping[str, Any], key: str, table: str) -> bool:
    """Whether the benchmark's table draws on ``key`` (it changes, or cannot be drawn, without it)."""
    return bench_table({name: value for name, value in results.items() if name != key}) != table


def render_bench(results: Any, report: str) -> str:
    if not isinstance(results, Mapping):
        raise ValueError("not a JSON object")
    machine = _get(results, "machine") or {}
    lines = [
        f"Generated by `python -m benchmarks.report` from `{report}` (`make bench` started "
        f"{_cell(_get(results, 'started_at'))}, {_cell(_get(machine, 'cpu_count'))} CPUs, "
        f"{_cell(_get(machine, 'platform'))}).",
        "",
    ]
    table = bench_table(results)
    if table is not None:
        lines += ["```text", table, "```"]
    else:
        lines += [
            "The benchmark's table cannot be drawn from this report (another version of `benchmarks/run.py` "
            "wrote it); its summary:",
            "",
            *figures_table(_get(results, "summary") or {}, report),
        ]
    for key, value in results.items():
        if key in BENCH_TABLE_KEYS or (table is not None and _table_shows(results, key, table)):
            continue
        lines += ["", f"**`{key}`** (not in the table above)", "", *figures_table(value, report)]
    return "\n".join(lines)


# --- build/soak-report.json ------------------------------------------------------------------------------
def _soak_column(run: Mapping[str, Any]) -> dict[str, str]:
    books = _get(run, "accounting") or {}
    outcomes = _get(run, "stand_in", "by_outcome") or {}
    faults = {name: count for name, count in outcomes.items() if name != "ok"}
    closes = (
        run.get("sent") is not None
        and run.get("sent") == (run.get("applied") or 0) + (run.get("dead_lettered") or 0)
        and run.get("unaccounted") == 0
        and not books.get("problems")
    )
    return {
        "messages sent": _cell(run.get("sent")),
        "applied (distinct keys in account B's table)": _cell(run.get("applied")),
        "dead-lettered, each with `failure.reason`": f"{_cell(run.get('dead_lettered'))} "
        f"({_counts(books.get('dead_letter_reasons'))})",
        "unaccounted": _cell(run.get("unaccounted")),
        "books close (sent = applied + dead-lettered, no problem found)": _cell(closes),
        "bad messages applied / good messages dead-lettered": f"{_cell(books.get('bad_applied'))} / "
        f"{_cell(books.get('good_dead_lettered'))}",
        "keys written more than once in account B": _cell(books.get("keys_written_more_than_once")),
        "retries (transient attempts)": _cell(run.get("retries")),
        "duplicates suppressed (already applied)": _cell(run.get("duplicates_suppressed")),
        "AppSync requests": _cell(_get(run, "stand_in", "requests")),
        "faults and refusals injected, by outcome": _counts(faults),
        "AssumeRole calls by the worker (refused by throttling)": f"{_cell(_get(run, 'sts', 'assume_role_by_worker'))}"
        f" ({_cell(_get(run, 'sts', 'refused'))})",
        "invocations": _cell(_get(run, "run", "invocations")),
        "time (s)": _cell(_get(run, "run", "seconds")),
    }


def render_soak(report_data: Any, report: str) -> str:
    runs = _get(report_data, "runs")
    if not isinstance(runs, Mapping) or not runs:
        raise ValueError('no "runs" in the report')
    order = {"full": 0, "fast": 1}
    names = sorted(runs, key=lambda name: (order.get(name, 2), name))
    columns = {name: _soak_column(runs[name]) for name in names}
    header = [f"{name} ({_cell(_get(runs[name], 'sent'))})" for name in names]
    lines = [
        f"Generated by `python -m benchmarks.report` from `{report}` (the last run of each size).",
        "",
        "| | " + " | ".join(header) + " |",
        "|---|" + "---|" * len(names),
    ]
    for label in columns[names[0]]:
        lines.append(f"| {label} | " + " | ".join(columns[name][label] for name in names) + " |")
    return "\n".join(lines)


# --- the other reliability reports -----------------------------------------------------------------------
def render_memory(data: Any, report: str) -> str:
    if not isinstance(data, Mapping) or "rss_before_mb" not in data:
        raise ValueError("no rss_before_mb in the report")
    kinds = ", ".join(str(kind) for kind in data.get("kinds", [])) or "n/a"
    return (
        f"Last run (`{report}`): {_cell(data.get('documents'))} distinct documents, all refused ({kinds}), took "
        f"the container's RSS from {_cell(data.get('rss_before_mb'))} MB to {_cell(data.get('rss_after_mb'))} MB "
        f"(growth {_cell(data.get('growth_mb'))} MB)."
    )


def render_outcome_properties(data: Any, report: str) -> str:
    if not isinstance(data, Mapping) or not data:
        raise ValueError("no outcome counts in the report")
    groups: dict[str, dict[str, int]] = {}
    for key, count in data.items():
        outcome, _, detail = str(key).partition(":")
        groups.setdefault(outcome, {})[detail] = groups.get(outcome, {}).get(detail, 0) + int(count)
    parts = []
    for outcome, details in sorted(groups.items(), key=lambda item: (-sum(item[1].values()), item[0])):
        total = sum(details.values())
        named = {detail: count for detail, count in details.items() if detail}
        parts.append(f"{total:,} {outcome.replace('_', '-')}" + (f" ({_counts(named)})" if named else ""))
    total = sum(sum(details.values()) for details in groups.values())
    return f"Last run (`{report}`): {total:,} examples: " + ", ".join(parts) + "."


def render_bad_input(data: Any, report: str) -> str:
    if not isinstance(data, Mapping) or "total" not in data:
        raise ValueError("no total in the report")
    by_property = ", ".join(
        f"{name} {_cell(count)}" for name, count in (data.get("by_property") or {}).items()
    )
    return (
        f"Last run (`{report}`): {_cell(data.get('total'))} cases; error types: {_counts(data.get('errors'))}. "
        f"By property: {by_property or 'n/a'}."
    )


SECTIONS: tuple[Section, ...] = (
    Section("bench", "docs/performance.md", "bench-results.json", "make bench", render_bench),
    Section(
        "soak",
        "docs/reliability.md",
        "build/soak-report.json",
        "make soak, or make test for the fast run",
        render_soak,
    ),
    Section("memory", "docs/reliability.md", "build/memory-report.json", "make test", render_memory),
    Section(
        "outcome-properties",
        "docs/reliability.md",
        "build/outcome-properties.json",
        "make test",
        render_outcome_properties,
    ),
    Section("bad-input", "docs/reliability.md", "build/bad-input-cases.json", "make test", render_bad_input),
)


# --- rewriting the docs ----------------------------------------------------------------------------------
def _markers(name: str) -> re.Pattern[str]:
    return re.compile(
        rf"(<!-- figures:begin {re.escape(name)} -->\n)(.*?)(<!-- figures:end {re.escape(name)} -->)", re.S
    )


def replace_section(text: str, name: str, body: str) -> str | None:
    """``text`` with section ``name`` holding ``body``; None when the doc has no such markers."""
    pattern = _markers(name)
    if pattern.search(text) is None:
        return None
    return pattern.sub(lambda match: f"{match[1]}{body.rstrip()}\n{match[3]}", text, count=1)


def update(
    root: Path, reports: Mapping[str, Path] | None = None, *, check: bool = False, out: Any = print
) -> int:
    """Rewrite every section whose report is there; 0 when done (or, with ``check``, when nothing would
    change), 1 when a report is unreadable, a doc lacks a section's markers, or ``check`` found a stale doc."""
    overrides = reports or {}
    docs: dict[str, str] = {}
    status = 0
    for section in SECTIONS:
        doc_path = root / section.doc
        if section.doc not in docs:
            docs[section.doc] = doc_path.read_text(encoding="utf-8")
        report_path = overrides.get(section.name) or root / section.report
        shown = _shown(report_path, root)
        where = f"{section.doc} [{section.name}]"
        if not report_path.exists():
            out(f"{where}: {shown} is absent (run {section.written_by}); section left unchanged")
            continue
        try:
            body = section.render(json.loads(report_path.read_text(encoding="utf-8")), shown)
        except (ValueError, OSError) as exc:
            out(f"{where}: {shown} cannot be read ({exc}); section left unchanged")
            status = 1
            continue
        new = replace_section(docs[section.doc], section.name, body)
        if new is None:
            out(
                f"{where}: no <!-- figures:begin {section.name} --> ... <!-- figures:end {section.name} --> markers"
            )
            status = 1
            continue
        if new == docs[section.doc]:
            out(f"{where}: up to date with {shown}")
            continue
        docs[section.doc] = new
        if check:
            out(f"{where}: stale: `python -m benchmarks.report` would rewrite it from {shown}")
            status = 1
        else:
            out(f"{where}: rewritten from {shown}")
    if not check:
        for doc, text in docs.items():
            path = root / doc
            if path.read_text(encoding="utf-8") != text:
                path.write_text(text, encoding="utf-8")
    return status


def _shown(path: Path, root: Path) -> str:
    try:
        return str(path.resolve().relative_to(root.resolve()))
    except ValueError:
        return str(path)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.report",
        description="Rewrite the figures sections of docs/performance.md and docs/reliability.md from "
        "bench-results.json and the reports in build/; an absent report leaves its section unchanged.",
    )
    parser.add_argument(
        "--root", type=Path, default=ROOT, help="project root holding docs/ (default: this one)"
    )
    parser.add_argument(
        "--bench", type=Path, help="bench-results.json to read (default: <root>/bench-results.json)"
    )
    parser.add_argument(
        "--soak", type=Path, help="soak report to read (default: <root>/build/soak-report.json)"
    )
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 when a doc is stale")
    args = parser.parse_args(argv)
    reports = {name: path for name, path in (("bench", args.bench), ("soak", args.soak)) if path is not None}
    return update(args.root, reports, check=args.check)


if __name__ == "__main__":
    sys.exit(main())
