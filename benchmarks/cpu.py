"""CPU per mutation beside its floor and a careful peer, side by side in one run (``--only-cpu`` alone).

Processes: this one drives and is never measured; the fast AppSync stand-in (``benchmarks.standin``: its own
process, every request's SigV4 checked, ``--latency-ms`` of added latency, 25 ms by default); and one fresh child
per measurement (``benchmarks.cpu_child``: only what a Lambda container holds, never the sandbox or moto; its
stdout, where the handler's INFO lines go, is /dev/null, so every line is still formatted and written as in
production). CPU is the child's ``time.process_time()`` (every thread) over the timed invocations only, after an
untimed warm-up (cold start, AssumeRole, connections), divided by the mutations. A child decodes each event just
before its invocation, with the clocks stopped, so it holds one at a time as a Lambda container does.

At each point (MAX_CONCURRENCY, batch), (10, 10), (50, 100) and (100, 100) by default, in this order:

1. **The worker**: the public ``worker.handler.lambda_handler``, its environment as ``benchmarks.harness`` builds it
   (MAX_CONCURRENCY the point's, INFO logging, STS answered by the stand-in), SQS events in Lambda's shape
   (``harness.sqs_event``). The stand-in keeps every request the worker sends (headers and body, from the start
   of its warm-up).
2. **The floor**: a bare aiohttp ``ClientSession`` POST per mutation, the same batches under the same
   concurrency, replaying the worker's own requests: its bodies and the headers it sent, its signatures included
   (Host and Content-Length are aiohttp's own; none of aiohttp's other default headers are added, and the
   stand-in's copy of the floor's first request is compared with the worker's). Nothing is signed, parsed (beyond
   reading the answer's bytes and its status) or logged in that process, and the stand-in checks every signature
   as it did for the worker: nothing is skipped on its side. So the replay must fall inside the stand-in's
   5-minute signing window: it runs right after the worker's run (the oldest signature is seconds old at the
   default sizes, and reported), and a stale one would show as failures in the floor's figures.
3. **The peer**: ``benchmarks.peer_handler`` (gql's ``AIOHTTPTransport`` with ``AppSyncIAMAuthentication``,
   ``asyncio.gather`` under a semaphore, one JSON line per record), fed the same events as the worker.

Then, in fresh worker children: resident memory after every ``--cpu-rss-every`` mutations over
``--cpu-rss-mutations`` in one warm container, and a cProfile of the worker (on the CPU clock) over a separate run
at the first point: the top ten functions by tottime, with file:line and share of the profiled total.

With ``--cpu-rounds`` (3 by default) the three run in turn that many times, each time in fresh children; each
client's figures are its median round's (every round's CPU per mutation is kept), and each ratio is the median of
the rounds' own ratios: a round's worker, floor and peer run back to back, so what drifts between rounds (this
kind of VM's speed moves by a fifth over minutes) cancels out. The stand-in runs on a CPU of its own and every
measured process on the others (``placement``), where the platform allows.

Reported against, never asserted: the worker within 1.3x the floor, the peer at least 2x the worker, the worker at
0.9x of the limit (MAX_CONCURRENCY / latency) at (10, 10); at every point the worker's mean invocation wall time
against latency + batch x CPU per mutation (one round trip plus the batch's CPU on one core; sends overlap the
wait for the first answers, so a wall time can come in a little under it), and against ceil(batch /
MAX_CONCURRENCY) latencies + batch x CPU (a batch larger than the concurrency needs that many round trips).
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks import harness
from benchmarks.common import columns, verdict
from benchmarks.standin import StandInProcess

ROOT = Path(__file__).resolve().parent.parent
WORKER = "worker.handler:lambda_handler"
PEER = "benchmarks.peer_handler:lambda_handler"
TARGET_VS_FLOOR = 1.3  # worker CPU per mutation / floor's, at most
TARGET_PEER_VS_WORKER = 2.0  # peer CPU per mutation / worker's, at least
TARGET_SHARE = 0.9  # of MAX_CONCURRENCY / latency, at the first point (10, 10)
TARGET_SHARE_POINT = (10, 10)
#: Headers of the worker's requests the floor leaves to aiohttp (it writes its own).
DROPPED = ("host", "content-length")
#: RSS growth over the soak's second half under which memory is called flat (allocator noise, a few pages).
FLAT_MB = 1.0


class ChildError(RuntimeError):
    pass


def placement() -> dict[str, list[int]] | None:
    """Where each process runs: the stand-in on a CPU of its own, this process and every measured child (they
    inherit it) on the others. AppSync answers from another machine and a Lambda function's vCPU is its own; on a
    shared CPU the stand-in preempts the client it answers (about one involuntary context switch per mutation
    here) and its work lands in the client's cache, so both add noise that is not the client's. None (no pinning)
    on a single CPU or where the platform cannot pin."""
    if not hasattr(os, "sched_setaffinity"):
        return None
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        return None
    return {"stand_in": cpus[-1:], "clients": cpus[:-1]}


class Child:
    """One measured process: ``python -m benchmarks.cpu_child ARGS`` with ``environment`` as its AWS environment."""

    def __init__(self, args: list[str], environment: dict[str, str] | None = None) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(environment or {})
        env["PYTHONPATH"] = os.pathsep.join(filter(None, (str(ROOT), env.get("PYTHONPATH"))))
        self._process = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.cpu_child", *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            cwd=ROOT,
            text=True,
            bufsize=1,
        )

    def run(self, items: list[Any], **options: Any) -> dict[str, Any]:
        assert self._process.stdin is not None and self._process.stdout is not None
        texts = [json.dumps(item) for item in items]  # decoded one at a time in the child
        self._process.stdin.write(json.dumps({"items": texts, **options}) + "\n")
        line = self._process.stdout.readline()
        if not line:
            raise ChildError(f"the child process exited (code {self._process.wait()})")
        answer: dict[str, Any] = json.loads(line)
        if "error" in answer:
            raise ChildError(answer["error"])
        return answer

    def close(self) -> None:
        if self._process.stdin is not None:
            self._process.stdin.close()
        try:
            self._process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()

    def __enter__(self) -> Child:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def parse_points(text: str) -> list[tuple[int, int]]:
    """``"10x10,50x100"`` -> [(10, 10), (50, 100)]: (MAX_CONCURRENCY, batch)."""
    points = []
    for part in text.split(","):
        if part.strip():
            concurrency, _, batch = part.strip().partition("x")
            points.append((int(concurrency), int(batch)))
    return points


def events(mutations: int, batch: int, tag: str) -> list[dict[str, Any]]:
    """``mutations`` createTodo records (rounded up to whole batches) as SQS events of ``batch`` records."""
    return [harness.sqs_event(batch, f"{tag}-{i}") for i in range(max(1, math.ceil(mutations / batch)))]


def summarize_run(answer: dict[str, Any], concurrency: int, latency_ms: float) -> dict[str, Any]:
    mutations, walls = answer["mutations"], answer["walls"]
    seconds = sum(walls)
    limit = harness.limit(concurrency, latency_ms)
    per_second = mutations / seconds if seconds else None
    ordered = sorted(walls)
    return {
        "mutations": mutations,
        "invocations": answer["invocations"],
        "cpu_seconds": round(answer["cpu"], 4),
        "cpu_us_per_mutation": round(answer["cpu"] / mutations * 1e6, 1) if mutations else None,
        "seconds": round(seconds, 4),
        "per_second": round(per_second, 1) if per_second else None,
        "share_of_limit": round(per_second / limit, 3) if per_second and limit else None,
        "invocation_ms_mean": round(seconds / len(walls) * 1000, 2) if walls else None,
        "invocation_ms_median": round(ordered[len(ordered) // 2] * 1000, 2) if ordered else None,
        "failures": answer["failures"],
        "rss_mb_after": answer["rss_mb"],
        "packages_loaded": answer["packages"],
    }


def _ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 2) if a and b else None


def floor_batches(
    captured: list[tuple[dict[str, str], bytes]], mutations: int, batch: int, offset: int
) -> list[list[dict[str, Any]]]:
    """``mutations`` of the worker's captured requests from ``offset`` on (cycled if it sent fewer), in batches."""
    import base64

    if not captured:
        raise ChildError("the stand-in kept none of the worker's requests: nothing for the floor to replay")
    requests = []
    for index in range(offset, offset + mutations):
        headers, body = captured[index % len(captured)]
        kept = {k: v for k, v in headers.items() if k not in DROPPED}
        requests.append({"headers": kept, "body": base64.b64encode(body).decode()})
    return [requests[i : i + batch] for i in range(0, len(requests), batch)]


def point(
    settings: Any,
    stand_in: StandInProcess,
    concurrency: int,
    batch: int,
    *,
    mutations: int,
    warm_up: int,
    latency_ms: float,
    rounds: int,
    progress: Any,
) -> dict[str, Any]:
    """The worker, the floor and the peer at one point, ``rounds`` times in turn (fresh children each time); each
    client's figures are those of its median round by CPU per mutation."""
    warm = events(warm_up, batch, f"warm-c{concurrency}-b{batch}")
    timed = events(mutations, batch, f"c{concurrency}-b{batch}")
    warm_count = sum(len(e["Records"]) for e in warm)
    timed_count = sum(len(e["Records"]) for e in timed)
    environment = harness.environment(settings, stand_in, concurrency)
    refused_before = stand_in.stats()["refused"]
    measured: dict[str, list[dict[str, Any]]] = {"worker": [], "floor": [], "peer": []}
    wire: dict[str, list[str]] = {}
    oldest_signature_s = 0.0
    for round_ in range(rounds):
        label = f"concurrency {concurrency}, batch {batch}" + (f", round {round_ + 1}" if rounds > 1 else "")
        progress(f"  cpu: worker, {label}, {timed_count} mutations ...")
        stand_in.capture(warm_count + timed_count)
        capture_started = time.monotonic()
        with Child([WORKER], environment) as child:
            child.run(warm)
            measured["worker"].append(summarize_run(child.run(timed), concurrency, latency_ms))
        captured = stand_in.captured()

        progress(f"  cpu: floor (bare aiohttp replaying the worker's requests), {label} ...")
        stand_in.capture(1)  # the floor's first request, to compare its headers with the worker's
        with Child(["floor", stand_in.url, str(concurrency)]) as child:
            child.run(floor_batches(captured, warm_count, batch, 0))
            answer = child.run(floor_batches(captured, timed_count, batch, warm_count))
            measured["floor"].append(summarize_run(answer, concurrency, latency_ms))
        oldest_signature_s = max(oldest_signature_s, time.monotonic() - capture_started)
        floor_first = stand_in.captured()
        stand_in.capture(0)
        wire = {
            "worker": sorted(captured[0][0]) if captured else [],
            "floor": sorted(floor_first[0][0]) if floor_first else [],
        }

        progress(f"  cpu: peer (gql + AppSyncIAMAuthentication), {label} ...")
        with Child([PEER], environment) as child:
            child.run(warm)
            measured["peer"].append(summarize_run(child.run(timed), concurrency, latency_ms))

    runs = {who: _median_round(results) for who, results in measured.items()}
    worker_cpu = runs["worker"]["cpu_us_per_mutation"]
    bound_ms = latency_ms + batch * worker_cpu / 1000.0 if worker_cpu else None
    # a batch larger than MAX_CONCURRENCY takes ceil(batch / concurrency) round trips however fast the CPU
    waves_ms = math.ceil(batch / concurrency) * latency_ms
    waves_bound_ms = waves_ms + batch * worker_cpu / 1000.0 if worker_cpu else None
    return {
        "concurrency": concurrency,
        "batch": batch,
        "latency_ms": latency_ms,
        "limit_per_second": harness.limit(concurrency, latency_ms),
        "warm_up_mutations": warm_count,
        "rounds": rounds,
        "worker_requests_captured": len(captured),
        "wire_header_names": wire,
        "floor_sends_the_worker_headers": bool(wire["worker"]) and wire["worker"] == wire["floor"],
        "oldest_replayed_signature_s": round(oldest_signature_s, 1),
        "stand_in_refused": stand_in.stats()["refused"] - refused_before,
        **runs,
        # each round's worker and floor ran one after the other: the median of the rounds' own ratios cancels
        # what drifts between rounds (this VM's speed moves by a fifth over minutes); with one round it is the
        # plain ratio
        "worker_vs_floor": _paired(measured["worker"], measured["floor"]),
        "worker_vs_floor_rounds": _per_round(measured["worker"], measured["floor"]),
        "worker_vs_floor_of_medians": _ratio(worker_cpu, runs["floor"]["cpu_us_per_mutation"]),
        "peer_vs_worker": _paired(measured["peer"], measured["worker"]),
        "peer_vs_worker_rounds": _per_round(measured["peer"], measured["worker"]),
        "peer_vs_worker_of_medians": _ratio(runs["peer"]["cpu_us_per_mutation"], worker_cpu),
        # the ceiling for one invocation: one latency plus the batch's CPU on one core (sends overlap the
        # wait for the first answers, so a wall time can come in a little under it)
        "worker_wall_bound_ms": round(bound_ms, 2) if bound_ms else None,
        "worker_wall_vs_bound": _ratio(runs["worker"]["invocation_ms_mean"], bound_ms),
        "latency_rounds_ms": waves_ms,
        "worker_wall_waves_bound_ms": round(waves_bound_ms, 2) if waves_bound_ms else None,
        "worker_wall_vs_waves_bound": _ratio(runs["worker"]["invocation_ms_mean"], waves_bound_ms),
    }


def _per_round(numerators: list[dict[str, Any]], denominators: list[dict[str, Any]]) -> list[float | None]:
    return [
        _ratio(a["cpu_us_per_mutation"], b["cpu_us_per_mutation"])
        for a, b in zip(numerators, denominators, strict=True)
    ]


def _paired(numerators: list[dict[str, Any]], denominators: list[dict[str, Any]]) -> float | None:
    """The median of the rounds' own ratios (a round's two clients ran back to back)."""
    ratios = sorted(r for r in _per_round(numerators, denominators) if r is not None)
    if not ratios:
        return None
    middle = len(ratios) // 2
    return ratios[middle] if len(ratios) % 2 else round((ratios[middle - 1] + ratios[middle]) / 2, 2)


def _median_round(results: list[dict[str, Any]]) -> dict[str, Any]:
    ordered = sorted(results, key=lambda r: r["cpu_us_per_mutation"] or 0.0)
    median = dict(ordered[(len(ordered) - 1) // 2])
    median["rounds_cpu_us_per_mutation"] = [r["cpu_us_per_mutation"] for r in results]
    median["failures"] = sum(r["failures"] for r in results)
    return median


def rss_soak(
    settings: Any,
    stand_in: StandInProcess,
    concurrency: int,
    batch: int,
    *,
    mutations: int,
    every: int,
    warm_up: int,
) -> dict[str, Any]:
    """Resident memory after every ``every`` mutations over ``mutations`` in one warm worker container (one command
    per ``every`` mutations: the child never holds more of the run's events than that)."""
    series: list[dict[str, Any]] = []
    cpu = 0.0
    done = failures = 0
    with Child([WORKER], harness.environment(settings, stand_in, concurrency)) as child:
        warmed = child.run(events(warm_up, batch, "rss-warm"))
        while done < mutations:
            answer = child.run(events(min(every, mutations - done), batch, f"rss-{done}"))
            done += answer["mutations"]
            cpu += answer["cpu"]
            failures += answer["failures"]
            series.append({"mutations": done, "rss_mb": answer["rss_mb"]})
    values = [s["rss_mb"] for s in series]
    half = values[len(values) // 2 - 1] if len(values) >= 2 else values[0] if values else 0.0
    growth_second_half = round(values[-1] - half, 2) if values else None
    return {
        "concurrency": concurrency,
        "batch": batch,
        "mutations": done,
        "every": every,
        "rss_mb_after_warm_up": warmed["rss_mb"],
        "rss_mb": series,
        "growth_mb": round(values[-1] - values[0], 2) if values else None,
        "growth_mb_second_half": growth_second_half,
        "flat": growth_second_half is not None and growth_second_half <= FLAT_MB,
        "flat_means": f"at most {FLAT_MB:g} MB of growth over the second half",
        "cpu_us_per_mutation": round(cpu / done * 1e6, 1) if done else None,
        "failures": failures,
    }


def profile_worker(
    settings: Any,
    stand_in: StandInProcess,
    concurrency: int,
    batch: int,
    *,
    mutations: int,
    warm_up: int,
) -> dict[str, Any]:
    """cProfile (CPU clock) of a separate worker run in a fresh child: the top ten functions by tottime."""
    with Child([WORKER], harness.environment(settings, stand_in, concurrency)) as child:
        child.run(events(warm_up, batch, "profile-warm"))
        answer = child.run(events(mutations, batch, "profile"), profile=True)
    return {
        "concurrency": concurrency,
        "batch": batch,
        "mutations": answer["mutations"],
        "failures": answer["failures"],
        **answer["profile"],
    }


def run(
    settings: Any,
    *,
    points: list[tuple[int, int]],
    mutations: int,
    warm_up: int,
    latency_ms: float,
    rss_point: tuple[int, int],
    rss_mutations: int,
    rss_every: int,
    profile_mutations: int,
    rounds: int = 1,
    progress: Any = print,
) -> dict[str, Any]:
    started = time.perf_counter()
    load_before = [round(x, 2) for x in os.getloadavg()]
    cpus = placement()
    own_cpus = os.sched_getaffinity(0) if cpus else None
    stand_in = StandInProcess(latency_ms, cpus=set(cpus["stand_in"]) if cpus else None)
    try:
        if cpus:
            os.sched_setaffinity(0, cpus["clients"])
        results: dict[str, Any] = {
            "method": (
                "CPU per mutation: time.process_time() of a fresh child process (every thread) over the timed "
                "invocations only, after an untimed warm-up, / mutations. Worker: worker.handler.lambda_handler, "
                "SQS events in Lambda's shape, INFO lines formatted and written to /dev/null. Floor: bare aiohttp "
                "ClientSession POSTs replaying the worker's own signed requests (bodies and headers) under the "
                "same concurrency and batches, answers read as bytes, no signing, parsing or logging; the "
                "stand-in checks their signatures as it did the worker's. Peer: benchmarks/peer_handler.py "
                "(gql AIOHTTPTransport + AppSyncIAMAuthentication, gather under a semaphore, one JSON line per "
                "record), the same events. Stand-in: benchmarks/standin.py in its own process."
            ),
            "latency_ms": latency_ms,
            "cpu_placement": cpus or "not pinned (one CPU, or the platform cannot pin)",
            "mutations_per_point": mutations,
            "rounds": rounds,
            "warm_up_mutations": warm_up,
            "load_average_before": load_before,
            "targets": {
                "worker_vs_floor_at_most": TARGET_VS_FLOOR,
                "peer_vs_worker_at_least": TARGET_PEER_VS_WORKER,
                "share_of_limit_at_least": TARGET_SHARE,
                "share_of_limit_point": list(TARGET_SHARE_POINT),
                "rss": "flat",
            },
            "points": [
                point(
                    settings,
                    stand_in,
                    concurrency,
                    batch,
                    mutations=mutations,
                    warm_up=warm_up,
                    latency_ms=latency_ms,
                    rounds=rounds,
                    progress=progress,
                )
                for concurrency, batch in points
            ],
        }
        progress(f"  cpu: worker RSS over {rss_mutations} mutations in one warm container ...")
        results["rss"] = rss_soak(
            settings,
            stand_in,
            *rss_point,
            mutations=rss_mutations,
            every=rss_every,
            warm_up=warm_up,
        )
        first = points[0]
        progress(f"  cpu: worker profile (cProfile), concurrency {first[0]}, batch {first[1]} ...")
        results["profile"] = profile_worker(
            settings, stand_in, *first, mutations=profile_mutations, warm_up=warm_up
        )
        results["stand_in"] = {"stats": stand_in.stats(), "cpu_seconds": round(stand_in.cpu_seconds(), 2)}
    finally:
        stand_in.close()
        if own_cpus:
            os.sched_setaffinity(0, own_cpus)
    results["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    results["seconds"] = round(time.perf_counter() - started, 1)
    results["summary"] = summarize(results)
    return results


def summarize(results: dict[str, Any]) -> dict[str, Any]:
    """The headline figures and their targets (met or not; never asserted)."""
    summary: dict[str, Any] = {"points": {}}
    for p in results["points"]:
        key = f"c{p['concurrency']}_b{p['batch']}"
        vs_floor, peer_vs = p["worker_vs_floor"], p["peer_vs_worker"]
        entry = {
            "floor_cpu_us": p["floor"]["cpu_us_per_mutation"],
            "worker_cpu_us": p["worker"]["cpu_us_per_mutation"],
            "peer_cpu_us": p["peer"]["cpu_us_per_mutation"],
            "worker_vs_floor": vs_floor,
            "worker_vs_floor_target_met": None if vs_floor is None else vs_floor <= TARGET_VS_FLOOR,
            "peer_vs_worker": peer_vs,
            "peer_vs_worker_target_met": None if peer_vs is None else peer_vs >= TARGET_PEER_VS_WORKER,
            "worker_share_of_limit": p["worker"]["share_of_limit"],
            "floor_share_of_limit": p["floor"]["share_of_limit"],
            "peer_share_of_limit": p["peer"]["share_of_limit"],
            "worker_invocation_ms": p["worker"]["invocation_ms_mean"],
            "worker_wall_bound_ms": p["worker_wall_bound_ms"],
            "failures": p["worker"]["failures"] + p["floor"]["failures"] + p["peer"]["failures"],
        }
        if (p["concurrency"], p["batch"]) == TARGET_SHARE_POINT:
            share = p["worker"]["share_of_limit"]
            entry["share_target_met"] = None if share is None else share >= TARGET_SHARE
        summary["points"][key] = entry
    summary["rss_flat"] = results["rss"]["flat"]
    summary["rss_mb_final"] = results["rss"]["rss_mb"][-1]["rss_mb"] if results["rss"]["rss_mb"] else None
    summary["profile_top"] = [
        f"{t['share']:.1%} {t['where']} {t['function']}" for t in results["profile"]["top"]
    ]
    return summary


def placed(cpus: Any) -> str:
    if not isinstance(cpus, dict):
        return f"CPUs: {cpus}"
    return (
        f"CPUs: the stand-in on CPU {', '.join(map(str, cpus['stand_in']))}, every measured client on CPU "
        f"{', '.join(map(str, cpus['clients']))} (AppSync is another machine; a shared CPU preempts the client)"
    )


def render(results: dict[str, Any]) -> list[str]:
    summary = results["summary"]["points"]
    latency = results["latency_ms"]
    rows: list[tuple[str, ...]] = [
        (
            "MAX_CONC",
            "batch",
            "floor µs",
            "worker µs",
            "worker/floor",
            "peer µs",
            "peer/worker",
            "worker x limit",
            "floor x limit",
            "peer x limit",
            "invocation ms",
            "latency + B x CPU ms",
            "waves x latency + B x CPU ms",
        )
    ]
    for p in results["points"]:
        s = summary[f"c{p['concurrency']}_b{p['batch']}"]
        share = p["worker"]["share_of_limit"]
        share_text = f"{share:.2f}x" if share is not None else "n/a"
        if "share_target_met" in s:
            share_text += f" (>= {TARGET_SHARE}: {verdict(s['share_target_met'])})"
        floor_share, peer_share = p["floor"]["share_of_limit"], p["peer"]["share_of_limit"]
        rows.append(
            (
                str(p["concurrency"]),
                str(p["batch"]),
                str(p["floor"]["cpu_us_per_mutation"]),
                str(p["worker"]["cpu_us_per_mutation"]),
                f"{p['worker_vs_floor']}x (<= {TARGET_VS_FLOOR}: {verdict(s['worker_vs_floor_target_met'])})",
                str(p["peer"]["cpu_us_per_mutation"]),
                f"{p['peer_vs_worker']}x (>= {TARGET_PEER_VS_WORKER:g}: {verdict(s['peer_vs_worker_target_met'])})",
                share_text,
                f"{floor_share:.2f}x" if floor_share is not None else "n/a",
                f"{peer_share:.2f}x" if peer_share is not None else "n/a",
                str(p["worker"]["invocation_ms_mean"]),
                f"{p['worker_wall_bound_ms']} ({p['worker_wall_vs_bound']}x)",
                f"{p.get('worker_wall_waves_bound_ms')} ({p.get('worker_wall_vs_waves_bound')}x)",
            )
        )
    failures = [
        f"{who} {p[who]['failures']} at c{p['concurrency']}/b{p['batch']}"
        for p in results["points"]
        for who in ("floor", "worker", "peer")
        if p[who]["failures"]
    ]
    rss = results["rss"]
    profile = results["profile"]
    first = results["points"][0]
    profiled_us = (
        round(profile["total_seconds"] / profile["mutations"] * 1e6) if profile["mutations"] else None
    )
    lines = [
        f"CPU per mutation (process CPU, every thread / mutations): {results['mutations_per_point']:,} timed "
        f"mutations per client and point after {results['warm_up_mutations']:,} untimed, each client in its own "
        f"clean process; fast stand-in at {latency:g} ms in its own process"
        + (
            f"; median of {results['rounds']} rounds, each ratio the median of the rounds' own (a round's clients "
            "run back to back)"
            if results["rounds"] > 1
            else ""
        ),
        "",
        *columns(rows),
        "",
        "floor: bare aiohttp POSTs replaying the worker's own signed requests (no signing, parsing or logging); "
        "peer: gql AIOHTTPTransport + AppSyncIAMAuthentication, gather under a semaphore, one JSON line per record. "
        "invocation ms: the worker's mean; against one latency plus batch x its CPU per mutation, and against "
        "ceil(batch / MAX_CONCURRENCY) latencies (the round trips a batch larger than the concurrency needs) plus "
        "batch x CPU.",
        placed(results["cpu_placement"]),
        *(
            [
                "ratios by round: "
                + "; ".join(
                    f"c{p['concurrency']}/b{p['batch']} worker/floor "
                    f"{' '.join(f'{r}x' for r in p['worker_vs_floor_rounds'])}, peer/worker "
                    f"{' '.join(f'{r}x' for r in p['peer_vs_worker_rounds'])}"
                    for p in results["points"]
                )
            ]
            if results["rounds"] > 1
            else []
        ),
        f"worker processes held: {', '.join(first['worker']['packages_loaded'])}; floor: "
        f"{', '.join(first['floor']['packages_loaded'])}; peer: {', '.join(first['peer']['packages_loaded'])}",
        "failures: "
        + ("; ".join(failures) if failures else "none")
        + f"; stand-in refused {sum(p['stand_in_refused'] for p in results['points'])}; the floor sent the "
        + (
            "worker's header names"
            if all(p["floor_sends_the_worker_headers"] for p in results["points"])
            else "OTHER header names than the worker (see wire_header_names)"
        )
        + f", signatures at most {max(p['oldest_replayed_signature_s'] for p in results['points'])} s old",
        "",
        f"worker RSS after every {rss['every']:,} of {rss['mutations']:,} mutations, one warm container "
        f"(c{rss['concurrency']}/b{rss['batch']}), MB: "
        + " ".join(f"{s['rss_mb']:.1f}" for s in rss["rss_mb"]),
        f"  {'flat' if rss['flat'] else 'GROWING'} (second half {rss['growth_mb_second_half']:+} MB, whole run "
        f"{rss['growth_mb']:+} MB; after warm-up {rss['rss_mb_after_warm_up']:.1f} MB); CPU there "
        f"{rss['cpu_us_per_mutation']} µs per mutation",
        "",
        f"worker profile: cProfile on the CPU clock, c{profile['concurrency']}/b{profile['batch']}, "
        f"{profile['mutations']:,} mutations after a warm-up, {profile['total_seconds']} s profiled "
        f"({profiled_us} µs per mutation with cProfile's own cost, which weighs most on functions called "
        f"often; {first['worker']['cpu_us_per_mutation']} µs unprofiled); top ten by tottime (share, seconds, "
        "calls):",
        *(
            f"  {t['share']:6.1%}  {t['tottime_s']:7.3f} s  {t['calls']:>8}  {t['where']}  {t['function']}"
            for t in profile["top"]
        ),
        "  by package: "
        + ", ".join(f"{name} {share:.0%}" for name, share in list(profile["by_package"].items())[:8]),
    ]
    return lines
