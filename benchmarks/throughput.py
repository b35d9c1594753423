"""Worker and naive baseline through the SQS handler, in the sandbox, with the stand-in's added latency.

Each run is one "Lambda container": the process environment is exactly ``sb.lambda_environment()`` and the
worker's container state is reset first. Messages go through the real (moto) SQS queue: sent, received as a
Lambda SQS event, handled, and the partial batch response applied. Only the handler call is timed; the first
invocation of a container (the cold one: AssumeRole, connection pool) is a warm-up and is not timed.
STS AssumeRole calls are counted by the sandbox's STS gate over the whole container life, warm-up included.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from benchmarks.container import ContainerProcess
from sandbox.fixture import Sandbox
from sandbox.lambda_runtime import LambdaContext

#: "process": the handler runs in a child process (its own interpreter lock, as on Lambda); "thread": in this
#: process, sharing the lock with the sandbox (the sum of both is measured).
ISOLATION = os.environ.get("BENCH_ISOLATION", "process")

Handler = Callable[[dict[str, Any], Any], Any]


@dataclass
class RunResult:
    name: str
    batch_size: int
    invocations: int = 0  # timed ones
    mutations: int = 0  # records in timed invocations
    seconds: float = 0.0  # summed handler wall time of timed invocations
    cpu_seconds: float = 0.0  # handler thread CPU time of timed invocations
    failures_reported: int = 0
    messages_total: int = 0  # including the warm-up invocation
    assume_role_calls: int = 0
    invocation_ms: list[float] = field(default_factory=list)

    @property
    def per_second(self) -> float:
        return self.mutations / self.seconds if self.seconds else 0.0

    def as_dict(self) -> dict[str, Any]:
        ordered = sorted(self.invocation_ms)
        return {
            "batch_size": self.batch_size,
            "invocations_timed": self.invocations,
            "mutations_timed": self.mutations,
            "seconds": round(self.seconds, 4),
            "mutations_per_second": round(self.per_second, 1),
            "invocation_ms_median": round(ordered[len(ordered) // 2], 1) if ordered else None,
            "handler_cpu_us_per_mutation": round(self.cpu_seconds / self.mutations * 1e6, 1)
            if self.mutations
            else None,
            "failures_reported": self.failures_reported,
            "messages_total": self.messages_total,
            "assume_role_calls": self.assume_role_calls,
            "assume_role_calls_per_1000_messages": round(
                self.assume_role_calls * 1000 / self.messages_total, 2
            )
            if self.messages_total
            else None,
        }


@contextlib.contextmanager
def lambda_container(environment: dict[str, str]) -> Iterator[None]:
    """The process environment of a Lambda container (what conftest's ``container`` fixture does)."""
    saved = dict(os.environ)
    for name in list(os.environ):
        if name.startswith("AWS_") or name in environment:
            del os.environ[name]
    os.environ.update(environment)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def create_bodies(count: int, tag: str) -> list[str]:
    return [
        json.dumps(
            {
                "mutation": "createTodo",
                "input": {"name": f"{tag}-{index}"},
                "idempotencyKey": uuid.uuid4().hex,
            }
        )
        for index in range(count)
    ]


def enqueue(sb: Sandbox, bodies: list[str]) -> None:
    """SendMessageBatch, ten at a time (the fixture's ``send_messages`` sends one by one)."""
    sqs = sb.client("sqs", "A")
    for start in range(0, len(bodies), 10):
        entries = [{"Id": str(i), "MessageBody": b} for i, b in enumerate(bodies[start : start + 10])]
        answer = sqs.send_message_batch(QueueUrl=sb.queue_url, Entries=entries)
        if answer.get("Failed"):
            raise RuntimeError(f"SendMessageBatch failed: {answer['Failed']}")


def run_handler(
    sb: Sandbox,
    handler: Handler,
    *,
    name: str,
    batch_size: int,
    invocations: int,
    reset: Callable[[], None] | None = None,
) -> RunResult:
    """One container: a warm-up invocation, then ``invocations`` timed ones of ``batch_size`` records."""
    result = RunResult(name, batch_size)
    calls_before = len(sb.sts.assume_role_calls)
    if reset is not None:
        reset()
    sink = io.StringIO()
    for index in range(invocations + 1):
        enqueue(sb, create_bodies(batch_size, f"{name}-{batch_size}-{index}"))
        event = sb.sqs_event(max_messages=batch_size)
        records = len(event["Records"])
        context = LambdaContext(function_name=sb.settings.worker.function_name, timeout_ms=60_000)
        with contextlib.redirect_stdout(sink):  # JSON log lines: CloudWatch's job, not the terminal's
            cpu0, wall0 = time.thread_time(), time.perf_counter()
            response = handler(event, context)
            wall, cpu = time.perf_counter() - wall0, time.thread_time() - cpu0
        if isinstance(handler, ContainerProcess):  # the container's own clock, without the pipe
            wall, cpu = handler.last_wall, handler.last_cpu
        sink.seek(0)
        sink.truncate()
        failed = sb.apply_batch_response(event, response)
        result.messages_total += records
        if index == 0:
            continue  # the container's first invocation: not warm
        result.invocations += 1
        result.mutations += records
        result.seconds += wall
        result.cpu_seconds += cpu
        result.failures_reported += len(failed)
        result.invocation_ms.append(wall * 1000)
    result.assume_role_calls = len(sb.sts.assume_role_calls) - calls_before
    _drain_leftovers(sb)
    return result


def _drain_leftovers(sb: Sandbox) -> None:
    """Anything a failed record left on the queue must not leak into the next run's batches."""
    sqs = sb.client("sqs", "A")
    for _ in range(100):
        batch = sqs.receive_message(QueueUrl=sb.queue_url, MaxNumberOfMessages=10).get("Messages", [])
        if not batch:
            return
        for message in batch:
            sqs.delete_message(QueueUrl=sb.queue_url, ReceiptHandle=message["ReceiptHandle"])


def worker_run(sb: Sandbox, *, batch_size: int, invocations: int, **overrides: str) -> RunResult:
    environment = {**sb.lambda_environment(), **overrides}
    if ISOLATION == "process":
        return _in_container(
            sb, "worker.handler:lambda_handler", environment, "worker", batch_size, invocations
        )
    from worker import handler as worker_handler

    with lambda_container(environment):
        try:
            return run_handler(
                sb,
                worker_handler.lambda_handler,
                name="worker",
                batch_size=batch_size,
                invocations=invocations,
                reset=worker_handler.reset_runtime,
            )
        finally:
            worker_handler.reset_runtime()


def naive_run(sb: Sandbox, *, batch_size: int, invocations: int) -> RunResult:
    environment = sb.lambda_environment()
    if ISOLATION == "process":
        return _in_container(
            sb, "benchmarks.naive_handler:lambda_handler", environment, "naive", batch_size, invocations
        )
    from benchmarks import naive_handler

    with lambda_container(environment):
        return run_handler(
            sb, naive_handler.lambda_handler, name="naive", batch_size=batch_size, invocations=invocations
        )


def _in_container(
    sb: Sandbox, handler_path: str, environment: dict[str, str], name: str, batch_size: int, invocations: int
) -> RunResult:
    container = ContainerProcess(handler_path, environment)
    try:
        return run_handler(sb, container, name=name, batch_size=batch_size, invocations=invocations)
    finally:
        container.close()
