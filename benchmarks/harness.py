"""The worker against the physical limit ``MAX_CONCURRENCY / latency``, on the fast stand-in.

Three processes: this one (drives, never on the measured path), the stand-in (``benchmarks.standin``: SigV4
checked, resolver-like answers, fixed latency) and one Lambda container per configuration
(``benchmarks.container``: the real ``worker.handler.lambda_handler``, its own interpreter). SQS events are
built here in Lambda's shape (no moto on this path); STS AssumeRole is answered by the stand-in, so the worker's
credential path runs unchanged (one AssumeRole per container).

- ``ceiling``: the stand-in's own capacity at a point, with a minimal client (raw asyncio HTTP/1.1 over
  ``concurrency`` keep-alive connections, every request signed with botocore before the clock starts). A point
  whose ceiling is below ``CEILING_SHARE`` of the limit is harness-bound: the worker's figure there says more
  about the harness than about the worker.
- ``worker_point`` / ``naive_point``: throughput through the handler (the container's own clock) of batches of
  ``ROUNDS x concurrency`` records (so every lane runs ``ROUNDS`` mutations), after one untimed warm-up.
- ``soak``: 10,000 mutations at latency 0 in one warm container: CPU per mutation (container process CPU /
  mutations) and resident memory after each invocation (flat, not growing).
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import Any

from benchmarks.container import ContainerProcess
from benchmarks.standin import REGION, StandInProcess, frozen_credentials
from sandbox.lambda_runtime import LambdaContext

#: The harness must reach this share of the limit at a point, or the point is reported harness-bound.
CEILING_SHARE = 0.97
QUEUE_ARN = "arn:aws:sqs:us-east-1:111111111111:bench-mutations"


def limit(concurrency: int, latency_ms: float) -> float | None:
    return concurrency / (latency_ms / 1000.0) if latency_ms > 0 else None


def environment(settings: Any, stand_in: StandInProcess, concurrency: int | None = None) -> dict[str, str]:
    """A Lambda container's environment pointed at the stand-in (AppSync and STS), without a DLQ."""
    overrides: dict[str, Any] = {
        "appsync_url": stand_in.url,
        "region": REGION,
        "dead_letter_queue_url": None,
        "source_queue_arn": QUEUE_ARN,  # the records below come from it (others are refused)
    }
    if concurrency is not None:
        overrides["max_concurrency"] = concurrency
    return {
        "AWS_ACCESS_KEY_ID": "ASIABENCHEXECUTION01",
        "AWS_SECRET_ACCESS_KEY": "bench-execution-role-secret",
        "AWS_SESSION_TOKEN": "bench-execution-role-token",
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_LAMBDA_FUNCTION_NAME": settings.worker.function_name,
        "AWS_ENDPOINT_URL": stand_in.endpoint,
        "AWS_EC2_METADATA_DISABLED": "true",
        **settings.worker_environment(**overrides),
    }


def sqs_event(count: int, tag: str) -> dict[str, Any]:
    """``count`` createTodo records as Lambda's SQS event source delivers them."""
    now = str(int(time.time() * 1000))
    records = []
    for index in range(count):
        body = json.dumps(
            {
                "mutation": "createTodo",
                "input": {"name": f"{tag}-{index}"},
                "idempotencyKey": uuid.uuid4().hex,
            }
        )
        records.append(
            {
                "messageId": str(uuid.uuid4()),
                "receiptHandle": f"handle-{tag}-{index}",
                "body": body,
                "attributes": {
                    "ApproximateReceiveCount": "1",
                    "SentTimestamp": now,
                    "ApproximateFirstReceiveTimestamp": now,
                },
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": QUEUE_ARN,
                "awsRegion": REGION,
            }
        )
    return {"Records": records}


def invoke(container: ContainerProcess, count: int, tag: str) -> dict[str, Any]:
    event = sqs_event(count, tag)
    response = container(event, LambdaContext(function_name="bench", timeout_ms=900_000))
    failed = len(response.get("batchItemFailures", [])) if isinstance(response, dict) else count
    return {
        "records": count,
        "failed": failed,
        "wall": container.last_wall,
        "cpu": container.last_cpu,
        "rss_mb": container.last_rss_mb,
    }


def timed_run(container: ContainerProcess, batch: int, invocations: int, tag: str) -> dict[str, Any]:
    """``invocations`` timed invocations of ``batch`` records (after the container's warm-up elsewhere)."""
    runs = [invoke(container, batch, f"{tag}-{i}") for i in range(invocations)]
    mutations = sum(r["records"] for r in runs)
    seconds = sum(r["wall"] for r in runs)
    cpu = sum(r["cpu"] for r in runs)
    return {
        "batch_size": batch,
        "invocations": invocations,
        "mutations": mutations,
        "seconds": round(seconds, 4),
        "per_second": round(mutations / seconds, 1) if seconds else None,
        "cpu_us_per_mutation": round(cpu / mutations * 1e6, 1) if mutations else None,
        "failures_reported": sum(r["failed"] for r in runs),
        "rss_mb_after": runs[-1]["rss_mb"] if runs else None,
    }


# --- the minimal pre-signed client -------------------------------------------------------------------------
def presigned(url: str, count: int) -> list[bytes]:
    """``count`` complete HTTP/1.1 requests (distinct createTodo bodies), signed now with botocore."""
    from urllib.parse import urlsplit

    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest

    credentials = frozen_credentials()
    parts = urlsplit(url)
    host = parts.netloc
    query = "mutation CreateTodo($input: CreateTodoInput!) { createTodo(input: $input) { id } }"
    wire = []
    for _ in range(count):
        body = json.dumps({"query": query, "variables": {"input": {"id": uuid.uuid4().hex, "name": "c"}}})
        request = AWSRequest(
            method="POST", url=url, data=body.encode(), headers={"content-type": "application/json"}
        )
        SigV4Auth(credentials, "appsync", REGION).add_auth(request)
        headers = "".join(f"{k}: {v}\r\n" for k, v in request.headers.items())
        wire.append(
            f"POST {parts.path} HTTP/1.1\r\nHost: {host}\r\nContent-Length: {len(body)}\r\n{headers}\r\n".encode()
            + body.encode()
        )
    return wire


class _Lane(asyncio.Protocol):
    """One keep-alive connection sending its requests one after another."""

    def __init__(self, results: dict[str, int]) -> None:
        self.results = results
        self.requests: list[bytes] = []
        self.done: asyncio.Future[None] | None = None
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def start(self, requests: list[bytes]) -> asyncio.Future[None]:
        self.requests = requests
        self.done = asyncio.get_running_loop().create_future()
        self._send_next()
        return self.done

    def _send_next(self) -> None:
        assert self.done is not None and self.transport is not None
        if not self.requests:
            if not self.done.done():
                self.done.set_result(None)
            return
        self.transport.write(self.requests.pop())

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            return
        head = self.buffer[:end]
        marker = head.lower().find(b"content-length:")
        length = int(head[marker + 15 :].split(b"\r\n", 1)[0]) if marker >= 0 else 0
        if len(self.buffer) < end + 4 + length:
            return
        body = self.buffer[end + 4 : end + 4 + length]
        self.buffer = self.buffer[end + 4 + length :]
        ok = head.startswith(b"HTTP/1.1 200") and b'"errors"' not in body
        self.results["ok" if ok else "failed"] += 1
        self._send_next()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.done is not None and not self.done.done():
            self.done.set_exception(ConnectionError(f"lane lost its connection: {exc}"))


def ceiling(stand_in: StandInProcess, concurrency: int, requests: int) -> dict[str, Any]:
    """Requests per second the stand-in answers with ``concurrency`` in flight (connections opened first)."""
    wire = presigned(stand_in.url, requests + concurrency)
    return asyncio.run(_drive(stand_in.port, wire, concurrency))


async def _drive(port: int, wire: list[bytes], concurrency: int) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    results = {"ok": 0, "failed": 0}
    lanes: list[_Lane] = []
    for _ in range(concurrency):
        _, lane = await loop.create_connection(lambda: _Lane(results), "127.0.0.1", port)
        lanes.append(lane)
    # one request per connection before the clock: the ceiling is about requests, not TCP handshakes
    await asyncio.gather(*(lane.start([wire.pop()]) for lane in lanes))
    results["ok"] = results["failed"] = 0
    measured = len(wire)
    shares = [wire[index::concurrency] for index in range(concurrency)]
    started = time.perf_counter()
    await asyncio.gather(*(lane.start(share) for lane, share in zip(lanes, shares, strict=True)))
    seconds = time.perf_counter() - started
    for lane in lanes:
        if lane.transport is not None:
            lane.transport.close()
    return {
        "requests": measured,
        "concurrency": concurrency,
        "seconds": round(seconds, 4),
        "per_second": round(measured / seconds, 1) if seconds > 0 else None,
        "failures": results["failed"],
    }


# --- the runs ----------------------------------------------------------------------------------------------
def run(
    settings: Any,
    *,
    concurrencies: tuple[int, ...],
    latencies_ms: tuple[float, ...],
    rounds: int,
    invocations: int,
    naive_records: int,
    soak_mutations: int,
    soak_batch: int,
    progress: Any = print,
) -> dict[str, Any]:
    stand_in = StandInProcess()
    try:
        points: list[dict[str, Any]] = []
        for concurrency in concurrencies:
            container = ContainerProcess(
                "worker.handler:lambda_handler", environment(settings, stand_in, concurrency)
            )
            try:
                stand_in.set_latency(0)
                invoke(container, concurrency, f"warm-{concurrency}")  # cold start, AssumeRole, connections
                for latency in latencies_ms:
                    stand_in.set_latency(latency)
                    batch = rounds * concurrency
                    progress(f"  limit point: concurrency {concurrency}, {latency:g} ms (batch {batch}) ...")
                    ceiling_run = ceiling(stand_in, concurrency, batch)
                    worker = timed_run(container, batch, invocations, f"w{concurrency}-{latency:g}")
                    point_limit = limit(concurrency, latency)
                    share = (ceiling_run["per_second"] or 0) / point_limit if point_limit else None
                    points.append(
                        {
                            "concurrency": concurrency,
                            "latency_ms": latency,
                            "limit_per_second": point_limit,
                            "ceiling": ceiling_run,
                            "ceiling_share_of_limit": round(share, 3) if share is not None else None,
                            "harness_bound": share is not None and share < CEILING_SHARE,
                            "worker": worker,
                            "worker_share_of_limit": round(worker["per_second"] / point_limit, 3)
                            if point_limit and worker["per_second"]
                            else None,
                        }
                    )
            finally:
                container.close()
        worker_assume_role = stand_in.stats()["assume_role"]
        naive = ContainerProcess("benchmarks.naive_handler:lambda_handler", environment(settings, stand_in))
        try:
            stand_in.set_latency(0)
            invoke(naive, 2, "naive-warm")
            naive_by_latency = {}
            for latency in latencies_ms:
                stand_in.set_latency(latency)
                progress(f"  naive baseline at {latency:g} ms ...")
                naive_by_latency[latency] = timed_run(naive, naive_records, 2, f"naive-{latency:g}")
        finally:
            naive.close()
        for point in points:  # sequential: the same at every concurrency; measured once per latency
            point["naive"] = naive_by_latency[point["latency_ms"]]
        progress(f"  soak: {soak_mutations} mutations at latency 0 in one warm container ...")
        stand_in.set_latency(0)
        before_soak = stand_in.stats()["assume_role"]
        soak_result = soak(settings, stand_in, soak_mutations, soak_batch)
        worker_assume_role += stand_in.stats()["assume_role"] - before_soak
        return {
            "stand_in": {"stats": stand_in.stats(), "cpu_seconds": round(stand_in.cpu_seconds(), 2)},
            "ceiling_share_required": CEILING_SHARE,
            "points": points,
            "soak": soak_result,
            "worker_assume_role_calls": worker_assume_role,
            "worker_containers": len(concurrencies) + 1,
        }
    finally:
        stand_in.close()


def soak(settings: Any, stand_in: StandInProcess, mutations: int, batch: int) -> dict[str, Any]:
    """CPU per mutation and memory over ``mutations`` in one warm container, at the default concurrency."""
    container = ContainerProcess("worker.handler:lambda_handler", environment(settings, stand_in))
    try:
        warm = invoke(container, batch, "soak-warm")
        rss = [round(warm["rss_mb"], 1)]
        cpu = seconds = 0.0
        done = failed = 0
        while done < mutations:
            count = min(batch, mutations - done)
            answer = invoke(container, count, f"soak-{done}")
            done += count
            failed += answer["failed"]
            cpu += answer["cpu"]
            seconds += answer["wall"]
            rss.append(round(answer["rss_mb"], 1))
    finally:
        container.close()
    return {
        "mutations": done,
        "batch_size": batch,
        "concurrency": settings.worker.max_concurrency,
        "cpu_us_per_mutation": round(cpu / done * 1e6, 1) if done else None,
        "per_second": round(done / seconds, 1) if seconds else None,
        "failures_reported": failed,
        "rss_mb_after_warm_up": rss[0],
        "rss_mb_after_each_invocation": rss[1:],
        "rss_mb_final": rss[-1],
        "rss_mb_growth_second_half": round(rss[-1] - rss[len(rss) // 2], 1),
    }
