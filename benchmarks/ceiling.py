"""The stand-in's own capacity: how many signed createTodo requests per second the sandbox can answer.

A minimal client (aiohttp, every request signed before the clock starts) keeps ``concurrency`` requests in
flight against the AppSync stand-in. At the benchmark's added latency this is the *sandbox ceiling*: no
worker, however fast, can go above it in this sandbox; at latency 0 with more requests in flight it is the
stand-in's raw capacity (SigV4 check, IAM check, GraphQL execution, DynamoDB write: all in this process).
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import Any

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import ReadOnlyCredentials

CREATE = "mutation M($input: CreateTodoInput!) { createTodo(input: $input) { id } }"


def presigned_creates(url: str, credentials: ReadOnlyCredentials, region: str, count: int) -> list[Any]:
    """``count`` (body, headers) pairs, each a distinct createTodo, signed now (valid for 5 minutes)."""
    requests = []
    for _ in range(count):
        body = json.dumps(
            {"query": CREATE, "variables": {"input": {"id": uuid.uuid4().hex, "name": "ceiling"}}}
        ).encode()
        request = AWSRequest(method="POST", url=url, data=body, headers={"content-type": "application/json"})
        SigV4Auth(credentials, "appsync", region).add_auth(request)
        requests.append((body, dict(request.headers.items())))
    return requests


def measure_ceiling(
    url: str, credentials: ReadOnlyCredentials, region: str, *, requests: int, concurrency: int
) -> dict[str, Any]:
    """Requests per second with ``concurrency`` in flight; every answer must be HTTP 200 without errors."""
    prepared = presigned_creates(url, credentials, region, requests)
    return asyncio.run(_drive(url, prepared, concurrency))


async def _drive(url: str, prepared: list[Any], concurrency: int) -> dict[str, Any]:
    import aiohttp

    failures = 0
    pending = list(reversed(prepared))
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def one(body: bytes, headers: dict[str, str]) -> None:
            nonlocal failures
            async with session.post(url, data=body, headers=headers) as response:
                answer = await response.read()
                if response.status != 200 or b'"errors"' in answer:
                    failures += 1

        async def lane() -> None:
            while pending:
                body, headers = pending.pop()
                await one(body, headers)

        # open the connections first: the ceiling is about requests, not TCP handshakes
        warm = [pending.pop() for _ in range(min(concurrency, len(pending)))]
        await asyncio.gather(*(one(b, h) for b, h in warm))
        measured = len(pending)
        started = time.perf_counter()
        await asyncio.gather(*(lane() for _ in range(concurrency)))
        seconds = time.perf_counter() - started
    return {
        "requests": measured,
        "concurrency": concurrency,
        "seconds": round(seconds, 4),
        "per_second": round(measured / seconds, 1) if seconds > 0 else None,
        "failures": failures,
    }
