"""Upsert and versioned writes, through the real ``MutationClient`` and ``BatchProcessor``.

AppSync is ``tests.support.amplify_table`` on 127.0.0.1: Amplify's key conditions and condition inputs over a
dict (checked against the real resolvers in tests/worker_e2e/test_sync_writes.py). What is proven here: what each
case is reported as, that ``superseded`` is only ever said after the stored version was read back and found
this event's or newer, and (hypothesis) that any interleaving and duplication of one record's versioned upserts,
in any batches, leaves the record at its newest event with nothing dead-lettered.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support import clients
from tests.support.amplify_table import AmplifyTable, holds, serving
from worker.batch import BatchProcessor, WorkItem
from worker.client import MutationClient, RetryPolicy
from worker.envelope import parse_envelope
from worker.errors import ConditionalCheckFailedError, EnvelopeError, NotAllowedError
from worker.ordering import version_chains
from worker.outcomes import Status
from worker.versioning import RecordNotFoundError, VersionUnprovenError, canonical_time

ALLOWED = frozenset({"createTodo", "updateTodo", "deleteTodo", "createOrder", "updateOrder"})
KEYS = {"Order": ("orderNumber", "placedAt")}
T0 = "2026-12-03T10:00:00.000Z"
T1 = "2026-12-03T10:00:01.000Z"


def make_client(url: str) -> MutationClient:
    return clients.mutation_client(url, ALLOWED, RetryPolicy(max_attempts=3, base_delay=0.01))


@pytest.fixture
async def amplify() -> AsyncIterator[tuple[AmplifyTable, MutationClient]]:
    async with serving(AmplifyTable(keys=dict(KEYS))) as table:
        client = make_client(table.url)
        yield table, client
        await client.close()


def todo(mutation: str, input: dict[str, Any], **extra: Any) -> Any:
    return parse_envelope({"mutation": mutation, "input": input, **extra}, ALLOWED, model_keys=KEYS)


def upsert(todo_id: str, name: str, version: Any = None, **extra: Any) -> Any:
    envelope: dict[str, Any] = {"upsert": True, **extra}
    if version is not None:
        envelope["version"] = {"field": "rev", "value": version}
    return todo("createTodo", {"id": todo_id, "name": name}, **envelope)


# --- the envelope ------------------------------------------------------------------------------------------------
def test_an_upsert_needs_the_update_on_the_allow_list_and_names_it() -> None:
    with pytest.raises(
        NotAllowedError, match=r"upsert needs both createTodo and updateTodo.*'updateTodo' is not"
    ):
        parse_envelope(
            {"mutation": "createTodo", "input": {"id": "a"}, "upsert": True}, frozenset({"createTodo"})
        )


@pytest.mark.parametrize(
    ("envelope", "expected"),
    [
        ({"mutation": "updateTodo", "input": {"id": "a"}, "upsert": True}, "upsert: only on a create"),
        ({"mutation": "createTodo", "input": {"id": "a"}, "upsert": "yes"}, "upsert: expected true or false"),
        ({"mutation": "createTodo", "input": {"name": "n"}, "upsert": True}, "upsert needs the record's key"),
        (
            {"query": 'mutation { createTodo(input: {id: "a"}) { id } }', "upsert": True},
            "upsert: only with the 'mutation' form",
        ),
        (
            {"mutation": "createTodo", "input": {"id": "a"}, "version": {"field": "rev", "value": 1}},
            "a create applies once",
        ),
        (
            {"mutation": "updateTodo", "input": {"id": "a"}, "version": {"field": "id", "value": 1}},
            "part of Todo's primary key",
        ),
        (
            {
                "mutation": "updateTodo",
                "input": {"id": "a", "rev": 2},
                "version": {"field": "rev", "value": 1},
            },
            "differs from version.value",
        ),
        ({"mutation": "updateTodo", "input": {"id": "a"}, "version": {"field": "rev"}}, "version: expected"),
        (
            {"mutation": "updateTodo", "input": {"id": "a"}, "version": {"field": "rev", "value": True}},
            "number",
        ),
        ({"mutation": "updateTodo", "input": {"id": "a"}, "version": 2}, "version: expected 1"),
        (
            {
                "mutation": "updateTodo",
                "input": {"id": "a"},
                "version": {"field": "rev", "value": "yesterday"},
            },
            "ISO-8601",
        ),
        (
            {
                "mutation": "updateTodo",
                "input": {"id": "a"},
                "version": {"field": "rev", "value": "2026-12-03T10:00:00"},
            },
            "no offset",
        ),
        (
            {
                "mutation": "updateTodo",
                "input": {"id": "a"},
                "version": {"field": "rev", "value": "2026-12-03T10:00:00.0005Z"},
            },
            "below the millisecond",
        ),
    ],
)
def test_what_is_refused_before_sending(envelope: dict[str, Any], expected: str) -> None:
    with pytest.raises(EnvelopeError, match=expected):
        parse_envelope(envelope, ALLOWED, message_id="m-1", model_keys=KEYS)


def test_times_are_written_in_one_canonical_form() -> None:
    assert canonical_time("2026-12-03T11:00:00+01:00") == "2026-12-03T10:00:00.000Z"
    assert canonical_time("2026-12-03T10:00:00.5Z") == "2026-12-03T10:00:00.500Z"


def test_the_version_condition_is_merged_with_the_envelopes_own_and_written_into_the_field() -> None:
    own = {"done": {"eq": False}}
    request = todo("updateTodo", {"id": "a"}, condition=own, version={"field": "rev", "value": 3})
    version_condition = {"or": [{"rev": {"attributeExists": False}}, {"rev": {"lt": 3}}]}
    assert request.variables == {
        "input": {"id": "a", "rev": 3},
        "condition": {"and": [own, version_condition]},
    }
    assert "condition: $condition" in request.query and request.has_condition
    alone = todo("deleteTodo", {"id": "a"}, version={"field": "rev", "value": 3})
    assert alone.variables == {
        "input": {"id": "a"},
        "condition": version_condition,
    }  # a delete writes nothing
    up = upsert("a", "n", 3, condition=own)
    assert up.variables == {"input": {"id": "a", "name": "n", "rev": 3}} and "condition" not in up.query
    assert up.upsert_update is not None and up.upsert_update.field == "updateTodo"
    assert up.upsert_update.variables["condition"] == {"and": [own, version_condition]}


# --- upsert ------------------------------------------------------------------------------------------------------
async def test_an_upsert_creates_then_updates_and_says_which(amplify: Any) -> None:
    table, client = amplify
    first = await client.send(upsert("u1", "one"))
    second = await client.send(upsert("u1", "two"))
    assert (first.status, first.upsert, second.status, second.upsert) == (
        Status.APPLIED,
        "created",
        Status.APPLIED,
        "updated",
    )
    assert table.get("Todo", id="u1")["name"] == "two"
    assert [w[0] for w in table.writes] == ["createTodo", "updateTodo"]


async def test_an_upsert_of_a_custom_key(amplify: Any) -> None:
    table, client = amplify
    key = {"orderNumber": "O-1", "placedAt": T0}
    for total in (1, 2):
        request = parse_envelope(
            {"mutation": "createOrder", "input": {**key, "total": total}, "upsert": True},
            ALLOWED,
            model_keys=KEYS,
        )
        result = await client.send(request)
        assert result.status is Status.APPLIED
    assert result.upsert == "updated" and table.get("Order", **key)["total"] == 2


async def test_a_redelivered_versioned_upsert_changes_nothing(amplify: Any) -> None:
    table, client = amplify
    assert (await client.send(upsert("r1", "v1", 1))).upsert == "created"
    again = await client.send(upsert("r1", "v1", 1), redelivered=True)
    assert again.status is Status.SUPERSEDED  # the stored version is this event's own
    assert again.upsert is None  # neither created nor updated
    assert len(table.writes) == 1


# --- versioned writes --------------------------------------------------------------------------------------------
async def test_a_stale_update_never_overwrites_a_newer_one(amplify: Any) -> None:
    table, client = amplify
    await client.send(upsert("s1", "new", T1))
    stale = await client.send(
        todo("updateTodo", {"id": "s1", "name": "old"}, version={"field": "rev", "value": T0})
    )
    assert stale.status is Status.SUPERSEDED and stale.status.is_success and not stale.status.redelivered
    assert stale.attempts == 2  # the refused update and the read-back
    assert table.get("Todo", id="s1") == {"id": "s1", "name": "new", "rev": T1}
    assert table.requests[-1]["query"] == 'query WorkerVersionRead { getTodo(id: "s1") { rev } }'
    newer = await client.send(
        todo(
            "updateTodo",
            {"id": "s1", "name": "newest"},
            version={"field": "rev", "value": "2026-12-03T11:00:00Z"},
        )
    )
    assert newer.status is Status.APPLIED
    assert table.get("Todo", id="s1")["rev"] == "2026-12-03T11:00:00.000Z"


async def test_a_versioned_update_of_no_record_says_so(amplify: Any) -> None:
    _, client = amplify
    with pytest.raises(RecordNotFoundError, match=r"there is no Todo with id 'nope'.*upsert"):
        await client.send(todo("updateTodo", {"id": "nope"}, version={"field": "rev", "value": 1}))


async def test_versioned_deletes(amplify: Any) -> None:
    table, client = amplify
    await client.send(upsert("d1", "x", 5))
    stale = await client.send(todo("deleteTodo", {"id": "d1"}, version={"field": "rev", "value": 4}))
    assert stale.status is Status.SUPERSEDED and table.get("Todo", id="d1") is not None
    deleted = await client.send(todo("deleteTodo", {"id": "d1"}, version={"field": "rev", "value": 6}))
    assert deleted.status is Status.APPLIED and table.get("Todo", id="d1") is None
    gone = await client.send(todo("deleteTodo", {"id": "d1"}, version={"field": "rev", "value": 6}))
    assert gone.status is Status.ALREADY_APPLIED  # read back: no record, the delete's effect


@pytest.mark.parametrize("deny", ["iam", "resolver"])
async def test_an_unreadable_version_is_never_guessed(amplify: Any, deny: str) -> None:
    table, client = amplify
    await client.send(upsert("g1", "x", 5))
    table.deny_reads = deny
    with pytest.raises(VersionUnprovenError) as caught:
        await client.send(todo("updateTodo", {"id": "g1"}, version={"field": "rev", "value": 4}))
    reason = caught.value.reason
    assert "the stored rev is this event's or newer (superseded), or there is no such record" in reason
    assert "reading the stored rev back with getTodo failed" in reason and "cannot tell which" in reason
    assert "types/Query/fields/getTodo" in (caught.value.diagnosis or "")
    assert not caught.value.retryable


async def test_a_stored_version_of_another_type_is_not_compared(amplify: Any) -> None:
    _, client = amplify
    await client.send(upsert("t1", "x", 5))
    with pytest.raises(
        VersionUnprovenError, match="the stored rev is a number and this event's version a time"
    ):
        await client.send(todo("updateTodo", {"id": "t1"}, version={"field": "rev", "value": T0}))


async def test_a_time_stored_in_another_form_is_not_taken_as_proof(amplify: Any) -> None:
    table, client = amplify
    await client.send(upsert("f1", "x", T0))
    table.get("Todo", id="f1")["rev"] = (
        "2026-12-03T10:00:00Z"  # by someone else; as text it sorts after .500Z
    )
    with pytest.raises(VersionUnprovenError, match="not written in the canonical form"):
        await client.send(
            todo("updateTodo", {"id": "f1"}, version={"field": "rev", "value": "2026-12-03T10:00:00.5Z"})
        )


async def test_the_envelopes_own_condition_is_told_apart_by_the_read_back(amplify: Any) -> None:
    _, client = amplify
    await client.send(upsert("c1", "x", 1))
    own = {"name": {"eq": "something else"}}
    with pytest.raises(
        ConditionalCheckFailedError, match=r"older than this event's or absent.*own condition is false"
    ):
        await client.send(
            todo("updateTodo", {"id": "c1"}, condition=own, version={"field": "rev", "value": 2})
        )
    stale = await client.send(
        todo("updateTodo", {"id": "c1"}, condition=own, version={"field": "rev", "value": 1})
    )
    assert stale.status is Status.SUPERSEDED


def test_the_model_of_conditions_is_dynamodbs() -> None:
    version = {"or": [{"rev": {"attributeExists": False}}, {"rev": {"lt": 2}}]}
    assert holds(version, None) and holds(version, {"rev": 1}) and not holds(version, {"rev": 2})
    assert not holds(version, {"rev": "1"})  # another type: false, as in DynamoDB


# --- one batch -----------------------------------------------------------------------------------------------------
class Letters:
    def __init__(self) -> None:
        self.letters: list[Any] = []

    async def publish(self, letter: Any) -> str:
        self.letters.append(letter)
        return f"dlq-{len(self.letters)}"


def item(n: int, body: dict[str, Any]) -> WorkItem:
    return WorkItem(record_id=f"m{n}", body=json.dumps(body), source="sqs", message_id=f"m{n}")


def versioned_upsert(todo_id: str, version: int) -> dict[str, Any]:
    return {
        "mutation": "createTodo",
        "input": {"id": todo_id, "name": f"v{version}"},
        "upsert": True,
        "version": {"field": "rev", "value": version},
    }


def test_a_records_versioned_events_are_chained_oldest_first() -> None:
    items = [
        item(0, versioned_upsert("a", 3)),
        item(1, {"mutation": "createTodo", "input": {"name": "plain"}}),
        item(2, versioned_upsert("b", 1)),
        item(3, versioned_upsert("a", 1)),
        item(4, {"mutation": "deleteTodo", "input": {"id": "a"}, "version": {"field": "rev", "value": 2}}),
    ]
    chains = version_chains(items, lambda i: parse_envelope(i.body, ALLOWED, message_id=i.record_id))
    assert chains == [[3, 4, 0], [1], [2]]


async def test_in_one_batch_a_records_events_apply_in_version_order(amplify: Any) -> None:
    table, client = amplify
    table.jitter = 0.02  # concurrent sends would interleave
    letters = Letters()
    processor = BatchProcessor(client, allowed_fields=ALLOWED, max_concurrency=10, dead_letters=letters)  # type: ignore[arg-type]
    items = [item(n, versioned_upsert("o1", v)) for n, v in enumerate([3, 1, 2])]
    outcomes = await processor.process(items)
    assert [o.status for o in outcomes] == [Status.APPLIED] * 3
    assert [w[1]["rev"] for w in table.writes] == [1, 2, 3]  # oldest first, each applied
    assert table.get("Todo", id="o1")["name"] == "v3" and not letters.letters


# --- the property --------------------------------------------------------------------------------------------------
@st.composite
def deliveries(draw: st.DrawFn) -> tuple[list[list[int]], bool]:
    """Versions 1..n of one record, each delivered at least once, in any order, split into batches."""
    n = draw(st.integers(min_value=1, max_value=5))
    sends = list(range(1, n + 1)) + draw(st.lists(st.integers(min_value=1, max_value=n), max_size=5))
    order = draw(st.permutations(sends))
    cuts = sorted(draw(st.sets(st.integers(min_value=1, max_value=max(1, len(order) - 1)), max_size=3)))
    batches = [list(order[a:b]) for a, b in zip([0, *cuts], [*cuts, len(order)], strict=True) if order[a:b]]
    return batches, draw(st.booleans())


def _as_version(v: int, as_time: bool) -> int | str:
    return f"2026-12-03T10:00:{v:02d}.000Z" if as_time else v


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(deliveries())
def test_any_interleaving_and_duplication_ends_at_the_newest_event(
    case: tuple[list[list[int]], bool],
) -> None:
    batches, as_time = case

    async def run() -> None:
        async with serving(AmplifyTable(jitter=0.003)) as table:
            client = make_client(table.url)
            letters = Letters()
            processor = BatchProcessor(
                client, allowed_fields=ALLOWED, max_concurrency=10, dead_letters=letters
            )  # type: ignore[arg-type]
            count = 0
            try:
                for batch in batches:
                    items = []
                    for v in batch:
                        body = versioned_upsert("p", 0)
                        body["input"]["name"] = f"v{v}"
                        body["version"]["value"] = _as_version(v, as_time)
                        items.append(item(count, body))
                        count += 1
                    # A batch is one invocation; two batches may also run at once (two containers).
                    outcomes = await processor.process(items)
                    assert all(o.status.is_success for o in outcomes), [(o.status, o.error) for o in outcomes]
            finally:
                await client.close()
            newest = max(v for batch in batches for v in batch)
            assert table.get("Todo", id="p") == {
                "id": "p",
                "name": f"v{newest}",
                "rev": _as_version(newest, as_time),
            }
            assert not letters.letters

    asyncio.run(run())


@settings(max_examples=30, deadline=None)
@given(deliveries())
def test_concurrent_invocations_end_at_the_newest_event_too(case: tuple[list[list[int]], bool]) -> None:
    """Every batch at once (one container each): no ordering within a record, only the version condition."""
    batches, as_time = case

    async def run() -> None:
        async with serving(AmplifyTable(jitter=0.003)) as table:
            clients = [make_client(table.url) for _ in batches]
            letters = Letters()
            try:
                jobs = []
                count = 0
                for client, batch in zip(clients, batches, strict=True):
                    items = []
                    for v in batch:
                        body = versioned_upsert("p", 0)
                        body["input"]["name"] = f"v{v}"
                        body["version"]["value"] = _as_version(v, as_time)
                        items.append(item(count, body))
                        count += 1
                    processor = BatchProcessor(
                        client, allowed_fields=ALLOWED, max_concurrency=10, dead_letters=letters
                    )  # type: ignore[arg-type]
                    jobs.append(processor.process(items))
                results = await asyncio.gather(*jobs)
            finally:
                for client in clients:
                    await client.close()
            outcomes = [o for result in results for o in result]
            assert all(o.status.is_success for o in outcomes), [(o.status, o.error) for o in outcomes]
            newest = max(v for batch in batches for v in batch)
            assert table.get("Todo", id="p") == {
                "id": "p",
                "name": f"v{newest}",
                "rev": _as_version(newest, as_time),
            }
            assert not letters.letters

    asyncio.run(run())


@settings(max_examples=40, deadline=None)
@given(deliveries(), st.lists(st.booleans(), min_size=5, max_size=5))
def test_once_the_record_exists_versioned_updates_and_upserts_mixed_end_at_the_newest(
    case: tuple[list[list[int]], bool], as_update: list[bool]
) -> None:
    """The record is created first (version 0); then each version is an update or an upsert (a redelivery is the
    same message, so the same kind), in any interleaving and duplication, in sequential or concurrent batches."""
    batches, as_time = case

    def body(v: int) -> dict[str, Any]:
        envelope = versioned_upsert("p", 0)
        envelope["input"]["name"] = f"v{v}"
        envelope["version"]["value"] = _as_version(v, as_time)
        if v and as_update[v - 1]:
            envelope["mutation"] = "updateTodo"
            del envelope["upsert"]
        return envelope

    async def run() -> None:
        async with serving(AmplifyTable(jitter=0.003)) as table:
            clients = [make_client(table.url) for _ in range(len(batches) + 1)]
            letters = Letters()
            try:
                seed = BatchProcessor(
                    clients[0], allowed_fields=ALLOWED, max_concurrency=10, dead_letters=letters
                )  # type: ignore[arg-type]
                assert [o.status for o in await seed.process([item(0, body(0))])] == [Status.APPLIED]
                jobs, count = [], 1
                for client, batch in zip(clients[1:], batches, strict=True):
                    items = [item(count + i, body(v)) for i, v in enumerate(batch)]
                    count += len(items)
                    processor = BatchProcessor(
                        client, allowed_fields=ALLOWED, max_concurrency=10, dead_letters=letters
                    )  # type: ignore[arg-type]
                    jobs.append(processor.process(items))
                results = await asyncio.gather(*jobs)
            finally:
                for client in clients:
                    await client.close()
            outcomes = [o for result in results for o in result]
            assert all(o.status.is_success for o in outcomes), [(o.status, o.error) for o in outcomes]
            newest = max(v for batch in batches for v in batch)
            assert table.get("Todo", id="p") == {
                "id": "p",
                "name": f"v{newest}",
                "rev": _as_version(newest, as_time),
            }
            assert not letters.letters

    asyncio.run(run())
