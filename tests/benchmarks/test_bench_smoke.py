"""The benchmark runs on a tiny size and produces every figure (no timing assertions: targets are reported)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks import run as bench

pytestmark = pytest.mark.slow

FIGURES = (
    "worker_batch10_per_second",
    "worker_batch100_per_second",
    "naive_batch10_per_second",
    "naive_batch100_per_second",
    "batch10_share_of_limit",
    "batch10_vs_naive",
    "batch100_vs_naive",
    "worker_assume_role_per_container",
)
#: Not measured under --skip-package: they must say so (None), not carry the dev venv's figures.
PACKAGE_FIGURES = ("lambda_package_ready_ms", "lambda_package_peak_rss_mb", "lambda_package_ready_target_met")


def test_bench_produces_every_figure(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    output = tmp_path / "bench-results.json"
    argv = [
        "--invocations=1",
        "--invocations-100=1",
        "--naive-invocations=1",
        "--naive-invocations-100=1",
        "--overhead-invocations=1",
        "--ceiling-requests=30",
        "--cold-samples=1",
        "--component-rounds=20",
        "--limit-concurrency=2",
        "--limit-latencies=5",
        "--limit-rounds=2",
        "--limit-invocations=1",
        "--naive-records=2",
        "--soak-mutations=20",
        "--soak-batch=10",
        "--skip-cpu",  # tests/benchmarks/test_cpu_smoke.py runs that section
        "--skip-package",  # the package build needs pip and a network or wheel cache: `make bench` covers it
        f"--output={output}",
    ]
    assert bench.main(argv) == 0
    results = json.loads(output.read_text())
    for key in ("cpu_count", "python", "platform"):
        assert results["machine"][key]
    for figure in FIGURES:
        assert results["summary"][figure] is not None, figure
    for figure in PACKAGE_FIGURES:
        assert results["summary"][figure] is None, figure
    assert "lambda_package" not in results["cold_start"]
    runs = results["throughput"]
    assert runs["worker_batch10"]["mutations_timed"] == 10
    assert runs["worker_batch100"]["mutations_timed"] == 100
    assert all(run["failures_reported"] == 0 for run in runs.values())
    assert runs["worker_batch10"]["assume_role_calls"] == 1  # one container, one credential lifetime
    assert runs["naive_batch10"]["assume_role_calls"] == 2  # warm-up + the timed invocation
    assert results["overhead"]["through_handler_cpu_us"] > 0
    assert results["overhead"]["components_us"]["sign_us"] > 0
    assert results["sandbox_ceiling"]["at_latency"]["failures"] == 0
    assert results["cold_start"]["dev_venv"]["ready_ms_median"] > 0
    limit_run = results["limit"]
    (point,) = limit_run["points"]
    assert point["concurrency"] == 2 and point["latency_ms"] == 5
    assert point["ceiling"]["failures"] == 0 and point["ceiling"]["per_second"] > 0
    assert point["worker"]["mutations"] == 4 and point["worker"]["failures_reported"] == 0
    assert point["naive"]["failures_reported"] == 0
    assert limit_run["soak"]["mutations"] == 20 and limit_run["soak"]["failures_reported"] == 0
    assert limit_run["soak"]["cpu_us_per_mutation"] > 0 and limit_run["soak"]["rss_mb_final"] > 0
    assert limit_run["worker_assume_role_calls"] == limit_run["worker_containers"]
    assert limit_run["stand_in"]["stats"]["refused"] == 0
    table = capsys.readouterr().out
    for label in (
        "limit",
        "harness ceiling",
        "worker CPU per mutation",
        "RSS after 20 mutations",
        "sandbox ceiling",
        "worker / naive",
        "AssumeRole per 1,000",
        "cold start",
        "peak RSS",
    ):
        assert label in table
