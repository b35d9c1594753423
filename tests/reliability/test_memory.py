"""Memory is bounded by the worker, not by the input: anyone who can write to the queue must not be able to
grow a container past its memory size with messages that are refused anyway.

Feeds many distinct large GraphQL documents through the SQS handler (too large, off the allow-list, or
malformed: all refused before any network call) and reports the container's RSS before and after
(build/memory-report.json). Once each distinct ~185 KB document kept ~18 MB in the parse cache: 30 of them took a
container from ~140 MB to ~680 MB.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

from benchmarks.container import ContainerProcess
from sandbox.fixture import Sandbox
from sandbox.lambda_runtime import LambdaContext
from worker import envelope
from worker.dead_letters import read_failure

REPORT = Path("build/memory-report.json")


def _document(kind: str, size: int) -> str:
    """A distinct mutation document of about ``size`` bytes."""
    tag = uuid.uuid4().hex
    fields = " ".join(f"f{tag}{i}" for i in range(size // 40))
    if kind == "not-allowed":
        return f"mutation M($input: CreateNoteInput!) {{ createNote(input: $input) {{ id {fields} }} }}"
    if kind == "two-fields":
        return f"mutation M {{ createTodo(input: {{}}) {{ id {fields} }} deleteTodo(input: {{}}) {{ id }} }}"
    return f"mutation M($input: CreateTodoInput!) {{ createTodo(input: $input) {{ id {fields} }}"  # unclosed


def _invoke(sb: Sandbox, container: ContainerProcess) -> Any:
    event = sb.sqs_event(max_messages=10)
    response = container(event, LambdaContext(timeout_ms=60_000))
    sb.apply_batch_response(event, response)
    return response


def test_distinct_large_refused_documents_do_not_grow_memory(sb: Sandbox) -> None:
    """The container runs in its own process (as on Lambda), so its RSS is the worker's alone."""
    container = ContainerProcess("worker.handler:lambda_handler", sb.lambda_environment())
    try:
        _measure(sb, container)
    finally:
        container.close()


def _measure(sb: Sandbox, container: ContainerProcess) -> None:
    sb.send_messages([json.dumps({"mutation": "createTodo", "input": {"name": "warm"}})])
    assert _invoke(sb, container) == {"batchItemFailures": []}  # cold start done: credentials, pool
    batches = [
        ("oversized", 185_000),  # over the document limit: refused before parsing
        ("not-allowed", 60_000),  # parsed, refused by the allow-list, never cached
        ("two-fields", 60_000),
        ("malformed", 60_000),
    ]
    rss_before = container.last_rss_mb  # the container's resident set after its last invocation
    assert rss_before > 0, "the container reported no resident set (no /proc/self/status?)"
    sent = 0
    ids: list[str] = []
    for kind, size in batches:
        for _ in range(3):  # 30 distinct documents of each kind, ten per invocation
            bodies = [
                json.dumps({"query": _document("not-allowed" if kind == "oversized" else kind, size)})
                for _ in range(10)
            ]
            ids += sb.send_messages(bodies)
            sent += len(bodies)
            response = _invoke(sb, container)
            assert response == {"batchItemFailures": []}
    rss_after = container.last_rss_mb

    reasons = {
        failure["sourceMessageId"]: failure["errorType"]
        for failure in (read_failure(m.get("MessageAttributes", {})) for m in sb.dlq_messages(limit=200))
        if failure.get("sourceMessageId") in set(ids)
    }
    assert len(reasons) == sent  # every one is in the DLQ with its reason: nothing lost
    assert set(reasons.values()) <= {"InvalidEnvelope", "MutationNotAllowed"}

    growth = rss_after - rss_before
    REPORT.parent.mkdir(exist_ok=True)
    REPORT.write_text(
        json.dumps(
            {
                "documents": sent,
                "kinds": [f"{kind} ~{size} bytes x30" for kind, size in batches],
                "rss_before_mb": round(rss_before, 1),
                "rss_after_mb": round(rss_after, 1),
                "growth_mb": round(growth, 1),
            },
            indent=2,
        )
    )
    print(f"RSS {rss_before:.1f} MB -> {rss_after:.1f} MB after {sent} distinct refused documents")
    assert growth < 64, f"RSS grew {growth:.1f} MB for {sent} refused documents"


def test_the_document_cache_is_bounded_by_bytes() -> None:
    cache = envelope.DocumentCache(max_bytes=10_000)
    from graphql import parse

    document = parse("mutation { a }", no_location=True)
    for i in range(1000):
        cache.put(f"mutation {{ a{i} }} # {'x' * 100}", document)
        assert cache.size_bytes <= 10_000
    assert 0 < len(cache) < 100
    cache.put("x" * 5_000, document)  # larger than an eighth of the budget: never kept
    assert cache.get("x" * 5_000) is None
