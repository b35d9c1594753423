"""``make bench``: the worker against its limit and against the naive baseline, from one run (issue 7).

Everything runs in the local sandbox (moto + the AppSync stand-in, in this process, on 127.0.0.1) with the
stand-in's added latency (default 25 ms). Targets are reported against, never asserted. Writes a table to the
terminal and every figure, with the machine it ran on, to ``bench-results.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

TARGET_LIMIT_SHARE = 0.8
TARGET_VS_NAIVE = 8.0
TARGET_READY_MS = 350.0
TARGET_RSS_MB = 100.0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--latency-ms", type=float, default=25.0, help="stand-in's added latency (25)")
    parser.add_argument("--invocations", type=int, default=20, help="timed worker invocations, batch 10")
    parser.add_argument("--invocations-100", type=int, default=5, help="timed worker invocations, batch 100")
    parser.add_argument("--naive-invocations", type=int, default=5, help="timed naive invocations, batch 10")
    parser.add_argument("--naive-invocations-100", type=int, default=1, help="timed naive, batch 100")
    parser.add_argument("--overhead-invocations", type=int, default=20, help="batches of 10 at latency 0")
    parser.add_argument("--ceiling-requests", type=int, default=400, help="requests per sandbox-ceiling run")
    parser.add_argument("--cold-samples", type=int, default=7, help="fresh processes per cold-start figure")
    parser.add_argument("--component-rounds", type=int, default=2000)
    parser.add_argument("--skip-package", action="store_true", help="no Lambda-like package measurement")
    parser.add_argument(
        "--stand-in-dynamodb",
        choices=("auto", "in-process", "client"),
        default="auto",
        help="how the stand-in reaches DynamoDB (client = the slow HTTP path, for comparison)",
    )
    parser.add_argument("--output", default="bench-results.json")
    return parser.parse_args(argv)


def machine() -> dict[str, Any]:
    return {
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def run(args: argparse.Namespace, progress: Any = print) -> dict[str, Any]:
    from benchmarks import ceiling, cold_start, overhead, throughput
    from project_settings import load_settings
    from sandbox.appsync import server as stand_in_server
    from sandbox.fixture import Sandbox

    settings = load_settings()
    concurrency = settings.worker.max_concurrency
    latency = args.latency_ms
    results: dict[str, Any] = {
        "machine": machine(),
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "settings": {"latency_ms": latency, "max_concurrency": concurrency},
        "targets": {
            "batch10_share_of_limit": TARGET_LIMIT_SHARE,
            "batch10_vs_naive": TARGET_VS_NAIVE,
            "assume_role_per_container_per_credential_lifetime": 1,
            "cold_start_ready_ms": TARGET_READY_MS,
            "peak_rss_mb": TARGET_RSS_MB,
        },
    }
    limit = concurrency / (latency / 1000.0) if latency > 0 else None
    results["limit_mutations_per_second"] = round(limit, 1) if limit else None

    original_init = stand_in_server.AppSyncStandIn.__init__

    def init(self: Any, *a: Any, **k: Any) -> None:
        k.setdefault("dynamodb_path", args.stand_in_dynamodb)
        original_init(self, *a, **k)

    stand_in_server.AppSyncStandIn.__init__ = init  # type: ignore[method-assign]
    try:
        sb = Sandbox.start(settings)
    finally:
        stand_in_server.AppSyncStandIn.__init__ = original_init  # type: ignore[method-assign]
    try:
        results["sandbox"] = {"stand_in_dynamodb_path": sb.appsync.dynamodb_path}
        time.sleep(2.1)  # custom-roles.json was just written: let the stand-in's mtime cache settle
        sb.appsync.faults.set_latency(latency)
        runs: dict[str, Any] = {}
        for name, batch, count in (
            ("worker_batch10", 10, args.invocations),
            ("worker_batch100", 100, args.invocations_100),
        ):
            progress(f"  {name}: {count} warm invocations at {latency:g} ms ...")
            runs[name] = throughput.worker_run(sb, batch_size=batch, invocations=count).as_dict()
        for name, batch, count in (
            ("naive_batch10", 10, args.naive_invocations),
            ("naive_batch100", 100, args.naive_invocations_100),
        ):
            progress(f"  {name}: {count} invocations at {latency:g} ms ...")
            runs[name] = throughput.naive_run(sb, batch_size=batch, invocations=count).as_dict()
        results["throughput"] = runs

        progress("  sandbox ceiling (pre-signed minimal client) ...")
        with contextlib.redirect_stdout(io.StringIO()):  # its "assumed_role" log line
            credentials = _mutator_credentials(sb)
        results["sandbox_ceiling"] = {
            "at_latency": ceiling.measure_ceiling(
                sb.appsync_url,
                credentials,
                sb.region,
                requests=args.ceiling_requests,
                concurrency=concurrency,
            ),
        }
        sb.appsync.faults.set_latency(0)
        results["sandbox_ceiling"]["at_latency_0"] = ceiling.measure_ceiling(
            sb.appsync_url, credentials, sb.region, requests=args.ceiling_requests, concurrency=concurrency
        )

        progress("  per-mutation overhead at latency 0 ...")
        at_zero = throughput.worker_run(sb, batch_size=10, invocations=args.overhead_invocations).as_dict()
        results["overhead"] = {
            "method": "CPU time of the handler's thread per mutation, batches of 10 through the SQS handler at "
            "added latency 0 (stand-in and moto run on other threads and are not counted); plus the steps "
            "in isolation with the worker's real objects",
            "through_handler_cpu_us": at_zero["handler_cpu_us_per_mutation"],
            "through_handler_wall_us": round(at_zero["seconds"] / at_zero["mutations_timed"] * 1e6, 1)
            if at_zero["mutations_timed"]
            else None,
            "latency0_run": at_zero,
            "components_us": overhead.components(args.component_rounds),
        }
        results["sandbox"]["stand_in_stats"] = sb.appsync.stats.snapshot()
    finally:
        sb.stop()

    progress("  cold start (dev venv) ...")
    cold: dict[str, Any] = {"dev_venv": cold_start.measure(args.cold_samples)}
    if not args.skip_package:
        from benchmarks import package

        progress("  cold start (Lambda-like package dir) ...")
        built = package.build()
        cold["lambda_package"] = {
            **cold_start.measure(args.cold_samples, path=str(built["path"]), isolated=True),
            "package": built,
        }
    results["cold_start"] = cold
    results["summary"] = summarize(results)
    return results


def _mutator_credentials(sb: Any) -> Any:
    """The account-B role's credentials, assumed from the execution role like the worker does."""
    from worker.credentials import AssumedRoleCredentials

    credentials = AssumedRoleCredentials.assuming(
        sb.lambda_client("sts"),
        role_arn=sb.settings.mutator_role_arn,
        session_name=sb.settings.mutator_role.session_name,
        duration_seconds=sb.settings.mutator_role.session_seconds,
    )
    return credentials.get_frozen_credentials()


def _ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 2) if a and b else None


def summarize(results: dict[str, Any]) -> dict[str, Any]:
    runs = results["throughput"]
    limit = results["limit_mutations_per_second"]
    w10, w100 = (
        runs["worker_batch10"]["mutations_per_second"],
        runs["worker_batch100"]["mutations_per_second"],
    )
    n10, n100 = runs["naive_batch10"]["mutations_per_second"], runs["naive_batch100"]["mutations_per_second"]
    sandbox_ceiling = results["sandbox_ceiling"]["at_latency"]["per_second"]
    cold = results["cold_start"]
    package = cold.get("lambda_package") or cold["dev_venv"]
    return {
        "worker_batch10_per_second": w10,
        "worker_batch100_per_second": w100,
        "naive_batch10_per_second": n10,
        "naive_batch100_per_second": n100,
        "batch10_share_of_limit": _ratio(w10, limit),
        "batch100_share_of_limit": _ratio(w100, limit),
        "batch10_share_of_sandbox_ceiling": _ratio(w10, sandbox_ceiling),
        "sandbox_ceiling_share_of_limit": _ratio(sandbox_ceiling, limit),
        "sandbox_limited": bool(limit and sandbox_ceiling and sandbox_ceiling < TARGET_LIMIT_SHARE * limit),
        "batch10_vs_naive": _ratio(w10, n10),
        "batch100_vs_naive": _ratio(w100, n100),
        "worker_assume_role_per_container": max(
            runs["worker_batch10"]["assume_role_calls"], runs["worker_batch100"]["assume_role_calls"]
        ),
        "lambda_package_ready_ms": package["ready_ms_median"],
        "lambda_package_peak_rss_mb": package["peak_rss_mb_max"],
        "lambda_package_cli_only_modules": package["cli_only_modules_imported"],
    }


def _verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("met" if ok else "NOT met")


def render(results: dict[str, Any]) -> str:
    runs = results["throughput"]
    s = results["summary"]
    limit = results["limit_mutations_per_second"]
    latency = results["settings"]["latency_ms"]
    conc = results["settings"]["max_concurrency"]
    ceiling_run = results["sandbox_ceiling"]
    rows: list[tuple[str, str, str]] = []

    def add(label: str, value: Any, note: str = "") -> None:
        rows.append((label, "" if value is None else str(value), note))

    limit_text = f"{limit:g}/s (concurrency {conc} / {latency:g} ms)" if limit else "n/a at latency 0"
    add("limit (MAX_CONCURRENCY / latency)", limit_text)
    add(
        "sandbox ceiling (stand-in, minimal client)",
        f"{ceiling_run['at_latency']['per_second']}/s",
        f"{_ratio(ceiling_run['at_latency']['per_second'], limit)} x limit; at 0 ms: "
        f"{ceiling_run['at_latency_0']['per_second']}/s; DynamoDB path: {results['sandbox']['stand_in_dynamodb_path']}",
    )
    for batch in (10, 100):
        worker, naive = runs[f"worker_batch{batch}"], runs[f"naive_batch{batch}"]
        share = s[f"batch{batch}_share_of_limit"]
        note = f"{share} x limit"
        if batch == 10:
            note += f" (target >= {TARGET_LIMIT_SHARE}: {_verdict(share is not None and share >= TARGET_LIMIT_SHARE)})"
            note += f"; {s['batch10_share_of_sandbox_ceiling']} x sandbox ceiling"
        add(f"worker, batch {batch} (mutations/s)", worker["mutations_per_second"], note)
        add(f"naive,  batch {batch} (mutations/s)", naive["mutations_per_second"])
        vs = s[f"batch{batch}_vs_naive"]
        vs_note = (
            f"target >= {TARGET_VS_NAIVE}: {_verdict(vs is not None and vs >= TARGET_VS_NAIVE)}"
            if batch == 10
            else ""
        )
        add(f"worker / naive, batch {batch}", f"{vs}x", vs_note)
    for batch in (10, 100):
        worker, naive = runs[f"worker_batch{batch}"], runs[f"naive_batch{batch}"]
        add(
            f"AssumeRole per 1,000 msgs, batch {batch}",
            f"worker {worker['assume_role_calls_per_1000_messages']} / naive {naive['assume_role_calls_per_1000_messages']}",
            f"worker: {worker['assume_role_calls']} call(s) for {worker['messages_total']} msgs in one container "
            f"(target 1: {_verdict(worker['assume_role_calls'] == 1)}); naive: one per invocation",
        )
    overhead = results["overhead"]
    parts = overhead["components_us"]
    add(
        "client overhead per mutation (µs)",
        overhead["through_handler_cpu_us"],
        "handler-thread CPU through the SQS handler at latency 0",
    )
    add(
        "  of which, in isolation (µs)",
        parts["total_us"],
        f"envelope {parts['envelope_us']} + serialize {parts['serialize_us']} + sign {parts['sign_us']} "
        f"+ classify {parts['classify_ok_us']}",
    )
    for key, label in (("dev_venv", "dev venv"), ("lambda_package", "Lambda-like package")):
        cold = results["cold_start"].get(key)
        if cold is None:
            continue
        add(
            f"cold start, {label} (ms)",
            cold["ready_ms_median"],
            f"import {cold['import_ms_median']} ms; median of {cold['samples']}; target <= {TARGET_READY_MS:g}: "
            f"{_verdict(cold['ready_ms_median'] <= TARGET_READY_MS)}",
        )
        add(
            f"peak RSS, {label} (MB)",
            cold["peak_rss_mb_max"],
            f"target <= {TARGET_RSS_MB:g}: {_verdict(cold['peak_rss_mb_max'] <= TARGET_RSS_MB)}",
        )
        add(
            f"CLI-only modules imported, {label}",
            ", ".join(cold["cli_only_modules_imported"]) or "none",
        )
    widths = [max(len(r[i]) for r in rows) for i in range(2)]
    lines = [
        f"make bench: latency {latency:g} ms, MAX_CONCURRENCY {conc}, "
        f"{results['machine']['cpu_count']} CPUs, Python {results['machine']['python']}",
        "",
    ]
    lines += [f"{a.ljust(widths[0])}  {b.rjust(widths[1])}  {c}".rstrip() for a, b, c in rows]
    if s["sandbox_limited"]:
        lines += [
            "",
            f"NOTE: the sandbox itself tops out at {s['sandbox_ceiling_share_of_limit']} x the limit at this latency "
            "(the stand-in and moto share one process and its GIL, on the same 2 cores as the worker's "
            "container process): the worker's share of the limit is bounded by the sandbox, not only by the worker.",
        ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    print("make bench: measuring (this takes about a minute) ...", file=sys.stderr)
    results = run(args, progress=lambda text: print(text, file=sys.stderr))
    Path(args.output).write_text(json.dumps(results, indent=2, default=str) + "\n", encoding="utf-8")
    print(render(results))
    print(f"\nevery figure: {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
