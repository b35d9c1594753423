"""One clean process per client of the CPU bench (``benchmarks.cpu``): what a Lambda container holds, no more.

``python -m benchmarks.cpu_child MODULE:HANDLER`` loads a Lambda handler (the worker's public
``worker.handler:lambda_handler``, or ``benchmarks.peer_handler:lambda_handler``); ``python -m benchmarks.cpu_child
floor URL CONCURRENCY`` the bare aiohttp client. Only the standard library is imported here, the handler brings the
rest (the sandbox and moto never: every answer names the packages of interest the process holds). Standard output
is /dev/null: the handler's log lines are formatted and written as on Lambda, and dropped there. The protocol runs
on a copy of the original standard output.

One JSON command per line on stdin, one JSON answer per line back. ``{"items": [...]}`` runs the items one after
another (each a JSON text: an event for a handler; a batch of ``{"headers", "body"}`` requests, bodies base64, for
the floor), each decoded and prepared with the clocks stopped. ``cpu`` is ``time.process_time()`` (the whole
process, every thread) summed over the items' calls, ``walls`` each call's wall time, ``failures`` the records or
requests that failed, ``rss_mb`` the resident set after the last. With ``"profile": true``, cProfile runs over
the calls on the CPU clock (``time.process_time``: an idle wait for the stand-in's answer costs nothing) and the
answer adds its functions aggregated by tottime.
"""

from __future__ import annotations

import asyncio
import base64
import importlib
import json
import os
import sys
import time
import uuid
from typing import IO, Any

from benchmarks.common import rss_mb

#: Lambda's own limit: a context that will not run out during a bench run.
TIMEOUT_MS = 900_000
#: Packages whose presence in the child the answers report (the sandbox and moto must never be there).
WATCHED = ("sandbox", "moto", "worker", "gql", "graphql", "botocore", "boto3", "aiohttp", "structlog")
TOP = 10
#: aiohttp's default headers the floor leaves out: it sends the worker's own (Host and Content-Length stay).
SKIP_AUTO_HEADERS = ("Accept", "Accept-Encoding", "User-Agent", "Content-Type")


class Context:
    """What the worker reads of Lambda's context object."""

    function_name = "bench"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:111111111111:function:bench"

    def __init__(self) -> None:
        self.aws_request_id = str(uuid.uuid4())
        self._deadline = 0.0

    def start(self) -> None:
        self._deadline = time.monotonic() + TIMEOUT_MS / 1000.0

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


class HandlerClient:
    """A Lambda handler (``module:function``) called with SQS events."""

    def __init__(self, path: str) -> None:
        module, _, name = path.partition(":")
        self.handler = getattr(importlib.import_module(module), name)
        self.module = module

    def prepare(self, event: dict[str, Any]) -> tuple[dict[str, Any], Context]:
        return event, Context()

    def count(self, item: tuple[dict[str, Any], Context]) -> int:
        return len(item[0]["Records"])

    def __call__(self, item: tuple[dict[str, Any], Context]) -> int:
        event, context = item
        context.start()
        try:
            response = self.handler(event, context)
        except Exception:  # Lambda: the whole batch failed
            return len(event["Records"])
        if not isinstance(response, dict):
            return len(event["Records"])
        return len(response.get("batchItemFailures") or ())

    def close(self) -> None:
        reset = getattr(sys.modules.get(self.module), "reset_runtime", None)
        if reset is not None:  # the worker: close its connection pool (no "Unclosed client session" at exit)
            reset()


class FloorClient:
    """The floor: a bare aiohttp ``ClientSession`` POST of ready-made requests (body and headers as given), a batch
    at a time under ``asyncio.gather`` and an ``asyncio.Semaphore(concurrency)``, one session and one event loop
    for the process's life (connector limit ``concurrency``), none of aiohttp's default headers but Host and
    Content-Length. Nothing is signed, parsed or logged: the answer's bytes are read and its status and an
    ``"errors"`` key looked for."""

    def __init__(self, url: str, concurrency: int) -> None:
        import aiohttp

        self.url = url
        self.concurrency = concurrency
        self.loop = asyncio.new_event_loop()

        async def connect() -> aiohttp.ClientSession:
            # only the headers given go out (no Accept, Accept-Encoding or User-Agent of aiohttp's own)
            return aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=concurrency), skip_auto_headers=SKIP_AUTO_HEADERS
            )

        self.session = self.loop.run_until_complete(connect())

    def prepare(self, batch: list[dict[str, Any]]) -> list[tuple[dict[str, str], bytes]]:
        return [(request["headers"], base64.b64decode(request["body"])) for request in batch]

    def count(self, item: list[tuple[dict[str, str], bytes]]) -> int:
        return len(item)

    def __call__(self, item: list[tuple[dict[str, str], bytes]]) -> int:
        return self.loop.run_until_complete(self._batch(item))

    async def _batch(self, batch: list[tuple[dict[str, str], bytes]]) -> int:
        semaphore = asyncio.Semaphore(self.concurrency)
        session, url = self.session, self.url

        async def one(headers: dict[str, str], body: bytes) -> bool:
            async with semaphore, session.post(url, data=body, headers=headers) as response:
                answer = await response.read()
                return response.status != 200 or b'"errors"' in answer

        return sum(await asyncio.gather(*(one(headers, body) for headers, body in batch)))

    def close(self) -> None:
        self.loop.run_until_complete(self.session.close())
        self.loop.close()


def run(client: Any, command: dict[str, Any]) -> dict[str, Any]:
    """Each item, a JSON text, is decoded just before its turn with the clocks stopped: the process holds one
    event at a time, as a Lambda container does (thousands of decoded records held at once would make every
    garbage collection in the timed window dearer than on Lambda)."""
    walls: list[float] = []
    failures = done = 0
    cpu = 0.0
    profile = None
    if command.get("profile"):
        import cProfile

        profile = cProfile.Profile(time.process_time)
    for text in command["items"]:
        item = client.prepare(json.loads(text))
        count = client.count(item)
        if profile is not None:
            profile.enable()
        cpu0, started = time.process_time(), time.perf_counter()
        failures += client(item)
        wall, cpu1 = time.perf_counter(), time.process_time()
        if profile is not None:
            profile.disable()
        walls.append(wall - started)
        cpu += cpu1 - cpu0
        done += count
    answer: dict[str, Any] = {
        "mutations": done,
        "invocations": len(walls),
        "cpu": cpu,
        "walls": walls,
        "failures": failures,
        "rss_mb": round(rss_mb(), 2),
        "packages": sorted({name.partition(".")[0] for name in sys.modules} & set(WATCHED)),
    }
    if profile is not None:
        answer["profile"] = top_functions(profile)
    return answer


def _short(path: str) -> str:
    """A file name without its install prefix: ``aiohttp/client.py``, ``worker/batch.py``, ``asyncio/events.py``."""
    if path == "~" or path.startswith("<"):
        return path
    for prefix in sorted((p for p in sys.path if p), key=len, reverse=True):
        if path.startswith(prefix.rstrip("/") + "/"):
            return path[len(prefix.rstrip("/")) + 1 :]
    return path


def top_functions(profile: Any, count: int = TOP) -> dict[str, Any]:
    """The profile's functions by own time (tottime), the top ``count`` with file:line and share of the total, and
    the total's share per top-level package (built-ins, C functions, apart)."""
    import pstats

    stats = pstats.Stats(profile).stats  # type: ignore[attr-defined]
    rows = []
    packages: dict[str, float] = {}
    for (file, line, name), (_cc, calls, tottime, cumtime, _callers) in stats.items():
        where = _short(file)
        package = "(built-in)" if where == "~" else where.partition("/")[0].removesuffix(".py")
        packages[package] = packages.get(package, 0.0) + tottime
        rows.append((tottime, calls, cumtime, name, where, line))
    total = sum(r[0] for r in rows) or 1e-12
    rows.sort(key=lambda r: r[0], reverse=True)
    return {
        "clock": "time.process_time",
        "total_seconds": round(total, 4),
        "functions": len(rows),
        "top": [
            {
                "function": name,
                "where": where if where == "~" else f"{where}:{line}",
                "tottime_s": round(tottime, 4),
                "share": round(tottime / total, 4),
                "calls": calls,
                "cumtime_s": round(cumtime, 4),
            }
            for tottime, calls, cumtime, name, where, line in rows[:count]
        ],
        "by_package": {
            name: round(seconds / total, 4)
            for name, seconds in sorted(packages.items(), key=lambda kv: kv[1], reverse=True)
        },
    }


def serve(argv: list[str]) -> None:
    protocol: IO[str] = os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1)
    sys.stdout = open(os.devnull, "w")  # noqa: SIM115 (the container's lifetime; log lines end here)
    client: Any = FloorClient(argv[1], int(argv[2])) if argv[0] == "floor" else HandlerClient(argv[0])
    try:
        for line in sys.stdin:
            command, line = json.loads(line), ""  # the command's text is not kept while it runs
            try:
                answer = run(client, command)
            except Exception as exc:  # the parent reports it; the process stays up for the next command
                answer = {"error": f"{type(exc).__name__}: {exc}"}
            protocol.write(json.dumps(answer) + "\n")
    finally:
        client.close()


if __name__ == "__main__":
    serve(sys.argv[1:])
