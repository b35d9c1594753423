"""Per-mutation client overhead, two ways.

1. ``through_handler`` (the headline figure): with the stand-in's added latency at 0, warm container, batches of
   10 through the SQS handler, the CPU time of the handler's thread per mutation (``time.thread_time``): the
   event loop, envelope parsing, gql request building, SigV4 signing, aiohttp send/receive, classification,
   retry bookkeeping and the JSON log lines. The stand-in and moto run on other threads of the same process, so
   their work is not in this figure (and time spent waiting for the GIL or the network is not CPU time).
2. ``components``: the same steps in isolation with the worker's real objects, each timed over many rounds:
   envelope parsing, the request body (one JSON dump), SigV4 signing with a frozen credential set
   (``worker.transport.sign``), and the judgement of a success and of a conditional
   check failure answer.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any


def _per_call_us(function: Callable[[], Any], rounds: int) -> float:
    function()  # warm caches
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        for _ in range(rounds):
            function()
        best = min(best, (time.perf_counter() - started) / rounds)
    return round(best * 1e6, 1)


def components(rounds: int = 2000) -> dict[str, float]:
    from botocore.credentials import ReadOnlyCredentials

    from worker import transport
    from worker.envelope import parse_envelope
    from worker.http11 import HttpAnswer
    from worker.judge import judge

    allowed = frozenset({"createTodo", "updateTodo", "deleteTodo"})
    body = json.dumps({"mutation": "createTodo", "input": {"name": "Buy milk"}, "idempotencyKey": "order-42"})
    request = parse_envelope(body, allowed)

    frozen = ReadOnlyCredentials("ASIAEXAMPLEEXAMPLE00", "secret-" * 6, "token-" * 60)
    host = "abcdefghijklmnopqrstuvwxyz.appsync-api.us-east-1.amazonaws.com"

    def serialize() -> bytes:
        return transport.payload(request.query, request.variables, request.operation_name)

    signed_body = serialize()
    ok = json.dumps({"data": {"createTodo": {"id": "order-42"}}}).encode()
    conflict = json.dumps(
        {
            "data": {"createTodo": None},
            "errors": [
                {
                    "path": ["createTodo"],
                    "data": None,
                    "errorType": "DynamoDB:ConditionalCheckFailedException",
                    "errorInfo": None,
                    "locations": [{"line": 1, "column": 50, "sourceName": None}],
                    "message": "The conditional request failed (Service: DynamoDb, Status Code: 400)",
                }
            ],
        }
    ).encode()
    figures = {
        "envelope_us": _per_call_us(lambda: parse_envelope(body, allowed), rounds),
        "serialize_us": _per_call_us(serialize, rounds),
        "sign_us": _per_call_us(lambda: transport.sign(frozen, host, "us-east-1", signed_body), rounds),
        "classify_ok_us": _per_call_us(lambda: judge(request, HttpAnswer(200, "", ok)), rounds),
        "classify_conflict_us": _per_call_us(lambda: judge(request, HttpAnswer(200, "", conflict)), rounds),
    }
    figures["total_us"] = round(
        figures["envelope_us"] + figures["serialize_us"] + figures["sign_us"] + figures["classify_ok_us"], 1
    )
    return figures
