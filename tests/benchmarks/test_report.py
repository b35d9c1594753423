"""``python -m benchmarks.report`` rewrites only the figures sections, from small report fixtures (no run)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from benchmarks import report
from benchmarks import run as bench_run

#: bench-results.json as ``make bench`` writes it, cut down to one limit point and the dev venv's cold start,
#: plus a section the benchmark's own table does not know (it must be rendered anyway).
BENCH: dict[str, Any] = {
    "machine": {
        "cpu_count": 2,
        "python": "3.11.7",
        "implementation": "CPython",
        "platform": "Linux-test",
        "machine": "x86_64",
        "load_average_at_start": [2.0, 1.5, 1.0],
    },
    "started_at": "2026-12-03T10:00:00Z",
    "settings": {"latency_ms": 25.0, "max_concurrency": 10},
    "targets": {"cpu_us_per_mutation": 150.0},
    "limit_mutations_per_second": 400.0,
    "limit": {
        "ceiling_share_required": 0.97,
        "points": [
            {
                "concurrency": 10,
                "latency_ms": 25.0,
                "limit_per_second": 400.0,
                "ceiling": {"per_second": 381.9},
                "ceiling_share_of_limit": 0.955,
                "harness_bound": True,
                "worker": {"per_second": 330.9, "mutations": 600},
                "worker_share_of_limit": 0.827,
                "naive": {"per_second": 33.6},
            }
        ],
        "soak": {
            "cpu_us_per_mutation": 703.2,
            "rss_mb_final": 63.4,
            "rss_mb_after_warm_up": 61.5,
            "rss_mb_growth_second_half": 0.5,
            "mutations": 10000,
            "batch_size": 1000,
            "concurrency": 10,
        },
        "worker_assume_role_calls": 2,
        "worker_containers": 2,
    },
    "cold_start": {
        "dev_venv": {
            "ready_ms_median": 474.3,
            "import_ms_median": 362.3,
            "samples": 7,
            "peak_rss_mb_max": 60.1,
            "cli_only_modules_imported": [],
            "other_modules_imported": [],
        }
    },
    "cpu_per_mutation": {"method": "perf counters | per step", "steps_us": {"sign": 11.2, "log_line": 40.5}},
}

SOAK: dict[str, Any] = {
    "runs": {
        "fast": {
            "size": "fast",
            "sent": 300,
            "applied": 288,
            "dead_lettered": 12,
            "unaccounted": 0,
            "retries": 47,
            "duplicates_suppressed": 4,
            "accounting": {
                "bad_applied": 0,
                "good_dead_lettered": 0,
                "keys_written_more_than_once": 0,
                "dead_letter_reasons": {"InvalidEnvelope": 8, "MutationNotAllowed": 4},
                "problems": [],
            },
            "run": {"invocations": 40, "seconds": 19.2},
            "stand_in": {"requests": 333, "by_outcome": {"ok": 300, "fault_429": 16, "reset": 3}},
            "sts": {"assume_role_by_worker": 3, "refused": 4},
        }
    }
}

PERFORMANCE = """# Performance

Prose stays.

<!-- figures:begin bench -->
old table
<!-- figures:end bench -->

More prose.
"""

RELIABILITY = """# Reliability

<!-- figures:begin soak -->
old soak
<!-- figures:end soak -->

<!-- figures:begin memory -->
old memory
<!-- figures:end memory -->

<!-- figures:begin outcome-properties -->
old outcomes
<!-- figures:end outcome-properties -->

<!-- figures:begin bad-input -->
old bad input
<!-- figures:end bad-input -->
"""


def _project(tmp_path: Path) -> Path:
    (tmp_path / "docs").mkdir()
    (tmp_path / "build").mkdir()
    (tmp_path / "docs" / "performance.md").write_text(PERFORMANCE)
    (tmp_path / "docs" / "reliability.md").write_text(RELIABILITY)
    return tmp_path


def _section(text: str, name: str) -> str:
    return text.split(f"<!-- figures:begin {name} -->\n", 1)[1].split(f"<!-- figures:end {name} -->", 1)[0]


def test_sections_are_rewritten_from_the_reports_and_absent_ones_left(tmp_path: Path) -> None:
    root = _project(tmp_path)
    (root / "bench-results.json").write_text(json.dumps({**BENCH, "summary": bench_run.summarize(BENCH)}))
    (root / "build" / "soak-report.json").write_text(json.dumps(SOAK))
    (root / "build" / "memory-report.json").write_text(
        json.dumps(
            {"documents": 120, "kinds": ["oversized x30"], "rss_before_mb": 57.3, "rss_after_mb": 98.5}
        )
    )
    said: list[str] = []

    assert report.update(root, out=said.append) == 0

    performance = (root / "docs" / "performance.md").read_text()
    assert performance.startswith("# Performance\n\nProse stays.\n") and performance.endswith("More prose.\n")
    bench = _section(performance, "bench")
    assert "old table" not in bench
    assert (
        "2026-12-03T10:00:00Z" in bench and "330.9" in bench and "HARNESS-BOUND" in bench
    )  # the bench table
    # a section the table does not know is rendered figure by figure, its pipes escaped
    assert "`cpu_per_mutation`" in bench and "| `steps_us.log_line` | 40.5 |" in bench
    assert "perf counters \\| per step" in bench

    reliability = (root / "docs" / "reliability.md").read_text()
    soak = _section(reliability, "soak")
    assert "| | fast (300) |" in soak
    assert "| applied (distinct keys in account B's table) | 288 |" in soak
    assert "12 (8 InvalidEnvelope, 4 MutationNotAllowed)" in soak and "16 fault_429, 3 reset" in soak
    assert "| books close (sent = applied + dead-lettered, no problem found) | yes |" in soak
    assert "from 57.3 MB to 98.5 MB" in _section(reliability, "memory")
    # absent reports: named, their sections unchanged
    assert _section(reliability, "outcome-properties") == "old outcomes\n"
    assert _section(reliability, "bad-input") == "old bad input\n"
    assert any("outcome-properties.json is absent" in line for line in said)

    # idempotent, and --check agrees
    assert report.update(root, out=said.append) == 0
    assert (root / "docs" / "performance.md").read_text() == performance
    assert report.main(["--root", str(root), "--check"]) == 0


def test_check_finds_a_stale_doc_and_writes_nothing(tmp_path: Path) -> None:
    root = _project(tmp_path)
    (root / "build" / "outcome-properties.json").write_text(
        json.dumps(
            {"success": 15, "redelivered": 9, "dead_lettered:NoEffect": 7, "dead_lettered:InvalidEnvelope": 2}
        )
    )
    said: list[str] = []
    assert report.update(root, check=True, out=said.append) == 1
    assert "old outcomes" in (root / "docs" / "reliability.md").read_text()
    assert report.update(root, out=said.append) == 0
    outcomes = _section((root / "docs" / "reliability.md").read_text(), "outcome-properties")
    assert (
        "33 examples: 15 success, 9 dead-lettered (7 NoEffect, 2 InvalidEnvelope), 9 redelivered" in outcomes
    )


def test_an_unreadable_report_or_missing_markers_fail_and_change_nothing(tmp_path: Path) -> None:
    root = _project(tmp_path)
    (root / "bench-results.json").write_text("{not json")
    (root / "docs" / "reliability.md").write_text("# Reliability\n\nno markers\n")
    (root / "build" / "memory-report.json").write_text(json.dumps({"rss_before_mb": 1, "rss_after_mb": 2}))
    said: list[str] = []
    assert report.update(root, out=said.append) == 1
    assert (root / "docs" / "performance.md").read_text() == PERFORMANCE
    assert (root / "docs" / "reliability.md").read_text() == "# Reliability\n\nno markers\n"
    assert any("bench-results.json cannot be read" in line for line in said)
    assert any("no <!-- figures:begin memory -->" in line for line in said)


def test_a_bench_report_of_another_shape_falls_back_to_its_summary(tmp_path: Path) -> None:
    root = _project(tmp_path)
    (root / "bench-results.json").write_text(json.dumps({"summary": {"cpu_us_per_mutation": 512.0}}))
    assert report.update(root, out=lambda _: None) == 0
    bench = _section((root / "docs" / "performance.md").read_text(), "bench")
    assert "| `cpu_us_per_mutation` | 512.0 |" in bench


def test_a_section_the_table_draws_on_is_not_repeated(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A new section that ``benchmarks.run.render`` learned to show appears once, in the table."""

    def table(results: Any) -> str:
        return f"table: cpu {results['cpu']['us']}" if "cpu" in results else "table"

    monkeypatch.setattr(report, "bench_table", table)
    root = _project(tmp_path)
    (root / "bench-results.json").write_text(json.dumps({"cpu": {"us": 212.5}, "new_section": {"x": 1}}))
    assert report.update(root, out=lambda _: None) == 0
    bench = _section((root / "docs" / "performance.md").read_text(), "bench")
    assert "table: cpu 212.5" in bench and "`cpu`" not in bench
    assert "**`new_section`**" in bench and "| `x` | 1 |" in bench
