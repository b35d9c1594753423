"""``make bench``: the worker against its limit and against the naive baseline, from one run (issues 7, 14).

Two harnesses, one run:

1. The limit points (``benchmarks.harness``): the fast AppSync stand-in in its own process (SigV4 checked against
   a fixed key table, resolver-like answers, fixed added latency), the worker in its own container process, at
   MAX_CONCURRENCY 10, 50 and 100 and latencies 25 and 100 ms, each next to the harness's own ceiling at that
   point (a minimal pre-signed client) and the naive baseline; then 10,000 mutations at latency 0 in one warm
   container (CPU per mutation, resident memory after each invocation).
2. The sandbox (moto + the sandbox's AppSync stand-in, in this process, on 127.0.0.1): the full path with real
   SQS and AssumeRole, batches of 10 and 100, at ``--latency-ms`` (default 25 ms).

3. CPU per mutation (``benchmarks.cpu``): the worker beside the floor (a bare aiohttp POST of the same
   requests) and a careful gql peer, each in its own clean process against the fast stand-in, at (MAX_CONCURRENCY,
   batch) (10, 10), (50, 100), (100, 100); RSS over 10,000 mutations in one warm container; the worker's top-ten
   profile. ``--only-cpu`` runs this section alone, ``--skip-cpu`` leaves it out.

Cold start (import + runtime construction) is measured in the dev venv and in a Lambda-like package. Targets are
reported against, never asserted. Writes a table to the terminal and every figure, with the machine it ran on,
to ``bench-results.json``.
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

from benchmarks.common import columns, verdict

TARGET_LIMIT_SHARE = 0.8  # sandbox, batch 10
TARGET_VS_NAIVE = 8.0
#: Share of MAX_CONCURRENCY / latency at 25 ms, by concurrency (other points are reported only).
TARGET_POINT_SHARE = {10: 0.95, 50: 0.95, 100: 0.9}
TARGET_POINT_LATENCY_MS = 25.0
TARGET_CPU_US = 150.0
TARGET_READY_MS = 200.0  # the Lambda-like package
TARGET_RSS_MB = 80.0  # after 10,000 mutations in one warm container


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
        "--skip-sandbox", action="store_true", help="only the limit points, soak and cold start"
    )
    parser.add_argument(
        "--skip-limit", action="store_true", help="no fast-stand-in runs (limit points, soak)"
    )
    parser.add_argument(
        "--limit-concurrency", default="10,50,100", help="MAX_CONCURRENCY of the limit points (10,50,100)"
    )
    parser.add_argument("--limit-latencies", default="25,100", help="added latencies of the limit points, ms")
    parser.add_argument("--limit-rounds", type=int, default=20, help="mutations per lane per invocation (20)")
    parser.add_argument("--limit-invocations", type=int, default=3, help="timed invocations per point (3)")
    parser.add_argument("--naive-records", type=int, default=10, help="records per naive invocation (10)")
    parser.add_argument("--soak-mutations", type=int, default=10_000, help="mutations in the soak (10000)")
    parser.add_argument("--soak-batch", type=int, default=1000, help="records per soak invocation (1000)")
    parser.add_argument(
        "--stand-in-dynamodb",
        choices=("auto", "in-process", "client"),
        default="auto",
        help="how the stand-in reaches DynamoDB (client = the slow HTTP path, for comparison)",
    )
    cpu = parser.add_argument_group("CPU per mutation (worker, floor, peer; benchmarks/cpu.py)")
    cpu.add_argument(
        "--only-cpu", action="store_true", help="run only the CPU section (a few minutes at most)"
    )
    cpu.add_argument("--skip-cpu", action="store_true", help="leave the CPU section out")
    cpu.add_argument(
        "--cpu-points", default="10x10,50x100,100x100", help="MAX_CONCURRENCYxbatch, comma-separated"
    )
    cpu.add_argument("--cpu-mutations", type=int, default=2000, help="timed mutations per client and point")
    cpu.add_argument(
        "--cpu-rounds",
        type=int,
        default=3,
        help="worker/floor/peer in turn this many times; medians, ratios paired by round (3)",
    )
    cpu.add_argument("--cpu-warm-up", type=int, default=500, help="untimed mutations first, per child (500)")
    cpu.add_argument("--cpu-rss-mutations", type=int, default=10_000, help="mutations in the RSS run (10000)")
    cpu.add_argument(
        "--cpu-rss-every", type=int, default=1000, help="RSS read after every N mutations (1000)"
    )
    cpu.add_argument("--cpu-rss-point", default="100x100", help="MAX_CONCURRENCYxbatch of the RSS run")
    cpu.add_argument("--cpu-profile-mutations", type=int, default=1000, help="mutations profiled (1000)")
    parser.add_argument("--output", default="bench-results.json")
    args = parser.parse_args(argv)
    if args.only_cpu and args.skip_cpu:
        parser.error("--only-cpu and --skip-cpu exclude each other")
    return args


def machine() -> dict[str, Any]:
    return {
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def _numbers(text: str) -> tuple[Any, ...]:
    return tuple(float(x) if "." in x else int(x) for x in text.split(",") if x.strip())


def run(args: argparse.Namespace, progress: Any = print) -> dict[str, Any]:
    from benchmarks import cold_start
    from project_settings import load_settings

    settings = load_settings()
    concurrency = settings.worker.max_concurrency
    latency = args.latency_ms
    results: dict[str, Any] = {
        "machine": machine(),
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "settings": {"latency_ms": latency, "max_concurrency": concurrency},
        "targets": {
            "point_share_of_limit_at_25ms": {str(k): v for k, v in TARGET_POINT_SHARE.items()},
            "harness_ceiling_share_of_limit": 0.97,
            "cpu_us_per_mutation": TARGET_CPU_US,
            "lambda_package_ready_ms": TARGET_READY_MS,
            "rss_mb_after_10000_mutations": TARGET_RSS_MB,
            "sandbox_batch10_share_of_limit": TARGET_LIMIT_SHARE,
            "sandbox_batch10_vs_naive": TARGET_VS_NAIVE,
            "assume_role_per_container_per_credential_lifetime": 1,
        },
    }
    limit = concurrency / (latency / 1000.0) if latency > 0 else None
    results["limit_mutations_per_second"] = round(limit, 1) if limit else None

    if not args.skip_cpu:
        _cpu_run(args, settings, results, progress)
    if args.only_cpu:
        results["summary"] = summarize(results)
        return results
    if not args.skip_limit:
        from benchmarks import harness

        progress("  limit points on the fast stand-in (own process) ...")
        results["limit"] = harness.run(
            settings,
            concurrencies=_numbers(args.limit_concurrency),
            latencies_ms=_numbers(args.limit_latencies),
            rounds=args.limit_rounds,
            invocations=args.limit_invocations,
            naive_records=args.naive_records,
            soak_mutations=args.soak_mutations,
            soak_batch=args.soak_batch,
            progress=progress,
        )
    if not args.skip_sandbox:
        _sandbox_runs(args, settings, results, progress)

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


def _cpu_run(args: argparse.Namespace, settings: Any, results: dict[str, Any], progress: Any) -> None:
    from benchmarks import cpu

    progress("  CPU per mutation: worker, floor and peer on the fast stand-in (own processes) ...")
    (rss_point,) = cpu.parse_points(args.cpu_rss_point)
    results["cpu"] = cpu.run(
        settings,
        points=cpu.parse_points(args.cpu_points),
        mutations=args.cpu_mutations,
        warm_up=args.cpu_warm_up,
        latency_ms=args.latency_ms,
        rss_point=rss_point,
        rss_mutations=args.cpu_rss_mutations,
        rss_every=args.cpu_rss_every,
        profile_mutations=args.cpu_profile_mutations,
        rounds=args.cpu_rounds,
        progress=progress,
    )


def _sandbox_runs(args: argparse.Namespace, settings: Any, results: dict[str, Any], progress: Any) -> None:
    """The full path: moto SQS and STS, the sandbox's stand-in (GraphQL execution, DynamoDB), in this process."""
    from benchmarks import ceiling, overhead, throughput
    from sandbox.appsync import server as stand_in_server
    from sandbox.fixture import Sandbox

    concurrency = settings.worker.max_concurrency
    latency = args.latency_ms

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
    summary: dict[str, Any] = {}
    if "cpu" in results:
        summary["cpu"] = results["cpu"]["summary"]
    if "cold_start" not in results:  # --only-cpu
        return summary
    limit_run = results.get("limit")
    if limit_run is not None:
        points = {}
        for point in limit_run["points"]:
            key = f"c{point['concurrency']}_{point['latency_ms']:g}ms"
            target = TARGET_POINT_SHARE.get(point["concurrency"])
            if point["latency_ms"] != TARGET_POINT_LATENCY_MS:
                target = None
            share = point["worker_share_of_limit"]
            points[key] = {
                "worker_per_second": point["worker"]["per_second"],
                "worker_share_of_limit": share,
                "ceiling_share_of_limit": point["ceiling_share_of_limit"],
                "harness_bound": point["harness_bound"],
                "worker_share_of_ceiling": _ratio(
                    point["worker"]["per_second"], point["ceiling"]["per_second"]
                ),
                "naive_per_second": point["naive"]["per_second"],
                "worker_vs_naive": _ratio(point["worker"]["per_second"], point["naive"]["per_second"]),
                "target_share": target,
                "target_met": None if target is None or share is None else share >= target,
            }
        soak = limit_run["soak"]
        summary.update(
            points=points,
            cpu_us_per_mutation=soak["cpu_us_per_mutation"],
            cpu_target_met=soak["cpu_us_per_mutation"] is not None
            and soak["cpu_us_per_mutation"] <= TARGET_CPU_US,
            rss_mb_after_soak=soak["rss_mb_final"],
            rss_target_met=soak["rss_mb_final"] <= TARGET_RSS_MB,
            soak_mutations=soak["mutations"],
        )
    if "throughput" in results:
        runs = results["throughput"]
        limit = results["limit_mutations_per_second"]
        w10, w100 = (
            runs["worker_batch10"]["mutations_per_second"],
            runs["worker_batch100"]["mutations_per_second"],
        )
        n10, n100 = (
            runs["naive_batch10"]["mutations_per_second"],
            runs["naive_batch100"]["mutations_per_second"],
        )
        sandbox_ceiling = results["sandbox_ceiling"]["at_latency"]["per_second"]
        summary.update(
            worker_batch10_per_second=w10,
            worker_batch100_per_second=w100,
            naive_batch10_per_second=n10,
            naive_batch100_per_second=n100,
            batch10_share_of_limit=_ratio(w10, limit),
            batch100_share_of_limit=_ratio(w100, limit),
            batch10_share_of_sandbox_ceiling=_ratio(w10, sandbox_ceiling),
            sandbox_ceiling_share_of_limit=_ratio(sandbox_ceiling, limit),
            sandbox_limited=bool(limit and sandbox_ceiling and sandbox_ceiling < TARGET_LIMIT_SHARE * limit),
            batch10_vs_naive=_ratio(w10, n10),
            batch100_vs_naive=_ratio(w100, n100),
            worker_assume_role_per_container=max(
                runs["worker_batch10"]["assume_role_calls"], runs["worker_batch100"]["assume_role_calls"]
            ),
        )
    package = results["cold_start"].get("lambda_package")
    if package is None:  # --skip-package: no Lambda-package figures (never the dev venv's under their name)
        summary.update(
            lambda_package_ready_ms=None,
            lambda_package_ready_target_met=None,
            lambda_package_peak_rss_mb=None,
            lambda_package_cli_only_modules=None,
            lambda_package_other_modules=None,
        )
        return summary
    summary.update(
        lambda_package_ready_ms=package["ready_ms_median"],
        lambda_package_ready_target_met=package["ready_ms_median"] <= TARGET_READY_MS,
        lambda_package_peak_rss_mb=package["peak_rss_mb_max"],
        lambda_package_cli_only_modules=package["cli_only_modules_imported"],
        lambda_package_other_modules=package["other_modules_imported"],
    )
    return summary


def render_limit(results: dict[str, Any]) -> list[str]:
    limit_run = results["limit"]
    summary = results["summary"]
    header = (
        "MAX_CONC",
        "latency",
        "limit/s",
        "harness ceiling/s",
        "worker/s",
        "worker x limit",
        "target",
        "naive/s",
        "worker/naive",
    )
    rows: list[tuple[str, ...]] = [header]
    for point in limit_run["points"]:
        key = f"c{point['concurrency']}_{point['latency_ms']:g}ms"
        s = summary["points"][key]
        ceiling_text = f"{point['ceiling']['per_second']} ({point['ceiling_share_of_limit']:.2f}x)"
        if point["harness_bound"]:
            ceiling_text += " HARNESS-BOUND"
        target = s["target_share"]
        rows.append(
            (
                str(point["concurrency"]),
                f"{point['latency_ms']:g} ms",
                f"{point['limit_per_second']:g}",
                ceiling_text,
                str(point["worker"]["per_second"]),
                f"{point['worker_share_of_limit']:.2f}x" if point["worker_share_of_limit"] else "n/a",
                f">= {target}: {verdict(s['target_met'])}" if target is not None else "-",
                str(point["naive"]["per_second"]),
                f"{s['worker_vs_naive']}x",
            )
        )
    soak = limit_run["soak"]
    lines = [
        "Limit points: fast AppSync stand-in in its own process (SigV4 checked, resolver answer, fixed latency), "
        "worker in its own container process",
        "",
        *columns(rows),
        "",
        f"harness ceiling: a minimal pre-signed client at the same point; below "
        f"{limit_run['ceiling_share_required']}x the limit the point is HARNESS-BOUND (the worker's figure there "
        "is bounded by the harness). naive: sequential, so the same at every MAX_CONCURRENCY.",
        "",
        f"worker CPU per mutation (µs), latency 0        {soak['cpu_us_per_mutation']:>8}  container process CPU / "
        f"mutations over {soak['mutations']:,} (batches of {soak['batch_size']}, MAX_CONCURRENCY "
        f"{soak['concurrency']}); target <= {TARGET_CPU_US:g}: {verdict(summary['cpu_target_met'])}",
        f"RSS after {soak['mutations']:,} mutations, one warm container (MB)  {soak['rss_mb_final']:>6}  "
        f"after warm-up {soak['rss_mb_after_warm_up']}, growth over the second half "
        f"{soak['rss_mb_growth_second_half']}; target <= {TARGET_RSS_MB:g}: {verdict(summary['rss_target_met'])}",
        f"worker AssumeRole calls on the fast stand-in          {limit_run['worker_assume_role_calls']:>3}  for "
        f"{limit_run['worker_containers']} warm containers and "
        f"{sum(p['worker']['mutations'] for p in limit_run['points']) + soak['mutations']:,} timed mutations "
        "(target: one per container)",
    ]
    return lines


def render(results: dict[str, Any]) -> str:
    s = results["summary"]
    latency = results["settings"]["latency_ms"]
    conc = results["settings"]["max_concurrency"]
    lines = [
        f"make bench: {results['machine']['cpu_count']} CPUs, Python {results['machine']['python']}, load "
        f"average at start {results['machine']['load_average_at_start']}",
        "",
    ]
    if "cpu" in results:
        from benchmarks import cpu

        lines += [*cpu.render(results["cpu"]), ""]
    if "limit" in results:
        lines += [*render_limit(results), ""]
    rows: list[tuple[str, str, str]] = []

    def add(label: str, value: Any, note: str = "") -> None:
        rows.append((label, "" if value is None else str(value), note))

    if "throughput" in results:
        runs = results["throughput"]
        limit = results["limit_mutations_per_second"]
        ceiling_run = results["sandbox_ceiling"]
        limit_text = f"{limit:g}/s (concurrency {conc} / {latency:g} ms)" if limit else "n/a at latency 0"
        add("sandbox: limit (MAX_CONCURRENCY / latency)", limit_text)
        add(
            "sandbox ceiling (stand-in, minimal client)",
            f"{ceiling_run['at_latency']['per_second']}/s",
            f"{_ratio(ceiling_run['at_latency']['per_second'], limit)} x limit; at 0 ms: "
            f"{ceiling_run['at_latency_0']['per_second']}/s; DynamoDB path: "
            f"{results['sandbox']['stand_in_dynamodb_path']}",
        )
        for batch in (10, 100):
            worker, naive = runs[f"worker_batch{batch}"], runs[f"naive_batch{batch}"]
            share = s[f"batch{batch}_share_of_limit"]
            note = f"{share} x limit"
            if batch == 10:
                note += f"; {s['batch10_share_of_sandbox_ceiling']} x sandbox ceiling"
            add(f"worker, batch {batch} (mutations/s)", worker["mutations_per_second"], note)
            add(f"naive,  batch {batch} (mutations/s)", naive["mutations_per_second"])
            add(f"worker / naive, batch {batch}", f"{s[f'batch{batch}_vs_naive']}x")
        for batch in (10, 100):
            worker, naive = runs[f"worker_batch{batch}"], runs[f"naive_batch{batch}"]
            add(
                f"AssumeRole per 1,000 msgs, batch {batch}",
                f"worker {worker['assume_role_calls_per_1000_messages']} / naive "
                f"{naive['assume_role_calls_per_1000_messages']}",
                f"worker: {worker['assume_role_calls']} call(s) for {worker['messages_total']} msgs in one "
                f"container (target 1: {verdict(worker['assume_role_calls'] == 1)}); naive: one per invocation",
            )
        overhead = results["overhead"]
        parts = overhead["components_us"]
        add(
            "client overhead per mutation (µs)",
            overhead["through_handler_cpu_us"],
            "container process CPU through the SQS handler at latency 0 (sandbox, batches of 10)",
        )
        add(
            "  of which, in isolation (µs)",
            parts["total_us"],
            ", ".join(f"{k.removesuffix('_us')} {v}" for k, v in parts.items() if k != "total_us"),
        )
    for key, label in (("dev_venv", "dev venv"), ("lambda_package", "Lambda-like package")):
        cold = results.get("cold_start", {}).get(key)
        if cold is None:
            continue
        target = (
            f"; target <= {TARGET_READY_MS:g}: {verdict(cold['ready_ms_median'] <= TARGET_READY_MS)}"
            if key == "lambda_package"
            else ""
        )
        add(
            f"cold start, {label} (ms)",
            cold["ready_ms_median"],
            f"import {cold['import_ms_median']} ms; median of {cold['samples']}{target}",
        )
        add(f"peak RSS at cold start, {label} (MB)", cold["peak_rss_mb_max"])
        add(f"CLI-only modules imported, {label}", ", ".join(cold["cli_only_modules_imported"]) or "none")
        add(f"other modules imported, {label}", ", ".join(cold["other_modules_imported"]) or "none")
    if rows:
        widths = [max(len(r[i]) for r in rows) for i in range(2)]
        lines += [f"{a.ljust(widths[0])}  {b.rjust(widths[1])}  {c}".rstrip() for a, b, c in rows]
    if s.get("sandbox_limited"):
        lines += [
            "",
            f"NOTE: the sandbox itself tops out at {s['sandbox_ceiling_share_of_limit']} x the limit at this latency "
            "(the stand-in and moto share one process and its GIL, on the same cores as the worker's "
            "container process): the limit points above are the worker's figures.",
        ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    print("make bench: measuring (this takes a few minutes) ...", file=sys.stderr)
    results = run(args, progress=lambda text: print(text, file=sys.stderr))
    Path(args.output).write_text(json.dumps(results, indent=2, default=str) + "\n", encoding="utf-8")
    print(render(results))
    print(f"\nevery figure: {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
