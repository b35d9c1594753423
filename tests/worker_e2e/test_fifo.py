"""FIFO queues: order kept within a message group; after a failure the group's later records are not sent."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from project_settings import load_settings
from sandbox.fixture import Sandbox

FIFO_SETTINGS = load_settings().with_changes(
    worker={
        "fifo": True,
        "queue_name": "appsync-mutations.fifo",
        "dead_letter_queue_name": "appsync-mutations-dlq.fifo",
    }
)


@pytest.fixture(scope="module")
def sb() -> Iterator[Sandbox]:
    with Sandbox.start(FIFO_SETTINGS) as sandbox:
        yield sandbox


def test_groups_run_in_parallel_and_each_keeps_its_order(
    sb: Sandbox, container: Callable[..., None], kit: Any
) -> None:
    container(MAX_CONCURRENCY="4")
    sb.appsync.faults.set_latency(20, jitter_ms=20)  # uneven latency would reorder anything sent concurrently
    ids_a = sb.send_messages([kit.create(key=f"a-{i}") for i in range(4)], group_id="A")
    ids_b = sb.send_messages([kit.create(key=f"b-{i}") for i in range(3)], group_id="B")
    sb.appsync.stats.reset()
    event, response = kit.invoke(sb)
    assert sorted(r["messageId"] for r in event["Records"]) == sorted(ids_a + ids_b)
    assert response == {"batchItemFailures": []}
    order = [m.item_id for m in sb.appsync.stats.mutations]
    assert [i for i in order if i.startswith("a-")] == [f"a-{i}" for i in range(4)]
    assert [i for i in order if i.startswith("b-")] == [f"b-{i}" for i in range(3)]


def test_failed_record_blocks_the_rest_of_its_group(
    sb: Sandbox, container: Callable[..., None], kit: Any
) -> None:
    container(MAX_ATTEMPTS="1", MAX_CONCURRENCY="1")
    ids = sb.send_messages([kit.create(key=f"g-{i}") for i in range(4)], group_id="G")
    sb.appsync.stats.reset()
    sb.appsync.faults.fail_next(1, status=503)  # hits g-0's only attempt
    _event, response = kit.invoke(sb)
    assert response == {"batchItemFailures": [{"itemIdentifier": i} for i in ids]}
    assert sb.appsync.stats.mutations == []  # g-1..g-3 were never sent
    _, response = kit.invoke(sb)  # redelivered in order, now healthy
    assert response == {"batchItemFailures": []}
    assert [m.item_id for m in sb.appsync.stats.mutations] == [f"g-{i}" for i in range(4)]
