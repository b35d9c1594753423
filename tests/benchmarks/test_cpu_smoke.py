"""The CPU section (``--only-cpu``) runs on a tiny size and writes every figure (nothing timed: targets are
reported, never asserted)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks import run as bench

pytestmark = pytest.mark.slow

CLIENTS = ("worker", "floor", "peer")


def test_only_cpu_writes_its_figures(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    output = tmp_path / "bench-results.json"
    argv = [
        "--only-cpu",
        "--latency-ms=1",
        "--cpu-points=2x4",
        "--cpu-mutations=8",
        "--cpu-warm-up=4",
        "--cpu-rss-mutations=20",
        "--cpu-rss-every=10",
        "--cpu-rss-point=2x10",
        "--cpu-profile-mutations=8",
        "--cpu-rounds=2",
        f"--output={output}",
    ]
    assert bench.main(argv) == 0
    results = json.loads(output.read_text())
    assert "cold_start" not in results and "limit" not in results  # the CPU section alone
    cpu = results["cpu"]
    (point,) = cpu["points"]
    assert (point["concurrency"], point["batch"]) == (2, 4)
    for client in CLIENTS:
        figures = point[client]
        assert figures["mutations"] == 8 and figures["failures"] == 0, client
        assert figures["cpu_us_per_mutation"] > 0, client
        assert not {"sandbox", "moto"} & set(figures["packages_loaded"]), client
    assert point["floor"]["packages_loaded"] == ["aiohttp"]  # the floor holds nothing but its HTTP client
    assert point["floor_sends_the_worker_headers"]
    assert point["stand_in_refused"] == 0
    assert point["worker_vs_floor"] and point["peer_vs_worker"] and point["worker_wall_bound_ms"]
    # each ratio is the median of the two rounds' own (the mean of two)
    rounds = point["worker_vs_floor_rounds"]
    assert len(rounds) == 2 and point["worker_vs_floor"] == round(sum(rounds) / 2, 2)
    assert len(point["peer_vs_worker_rounds"]) == 2
    placement = cpu["cpu_placement"]
    assert isinstance(placement, str) or not set(placement["stand_in"]) & set(placement["clients"])
    assert [s["mutations"] for s in cpu["rss"]["rss_mb"]] == [10, 20]
    top = cpu["profile"]["top"]
    assert len(top) == 10 and all(t["where"] and 0 < t["share"] <= 1 for t in top)
    assert results["summary"]["cpu"]["points"]["c2_b4"]["worker_vs_floor"] == point["worker_vs_floor"]
    table = capsys.readouterr().out
    for label in (
        "worker/floor",
        "peer/worker",
        "RSS after every 10 of 20",
        "top ten by tottime",
        "ratios by round",
    ):
        assert label in table
