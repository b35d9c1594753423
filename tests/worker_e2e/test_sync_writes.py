"""End to end: upsert and versioned writes through SQS, the Lambda handler, real STS and SigV4, on both
backends (the stand-in, and Amplify's own resolvers compiled by transformer 1.8.4 with conditions patched as
README "Amplify's own resolvers" says).

The stand-in serves only its ``Todo`` schema, so there the version is kept in ``description`` (a String) as an
ISO-8601 time; on Amplify's resolvers a schema of our own gives ``Item.rev: Int`` and an ``Order`` keyed by
``orderNumber`` + ``placedAt`` (``@primaryKey``) whose version is ``changedAt: AWSDateTime``. The settings name
the models in ``[appsync] version_reads``, so the mutator role's policy (built from the settings, as infra builds it)
allows ``Query.get<Model>``, what the read-back needs; one case takes that away and shows a refusal is then never
reported superseded.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

from project_settings import Settings, load_settings
from project_settings.policies import mutator_identity_policy
from sandbox.fixture import Sandbox
from sandbox.lambda_runtime import collect_metrics
from tests.support import dead_letters, invoke

SCHEMA = """
type Item @model @auth(rules: [{ allow: private, provider: iam }]) {
  id: ID!
  name: String
  rev: Int
}

type Order @model @auth(rules: [{ allow: private, provider: iam }]) {
  orderNumber: String! @primaryKey(sortKeyFields: ["placedAt"])
  placedAt: AWSDateTime!
  total: Float
  changedAt: AWSDateTime
}
"""
MUTATIONS = ["createItem", "updateItem", "deleteItem", "createOrder", "updateOrder"]
ROOT = Path(__file__).resolve().parents[2]
PLACED_AT = "2026-12-01T10:00:00.000Z"


@dataclass(frozen=True)
class Model:
    """One backend's model for these cases: its name, its version field, and versions of the field's type."""

    name: str
    field: str
    as_time: bool
    other: str  # a second field to write

    def version(self, n: int) -> int | str:
        return f"2026-12-03T10:00:{n:02d}.000Z" if self.as_time else n


STAND_IN = Model("Todo", "description", True, "name")
AMPLIFY = Model("Item", "rev", False, "name")


def _project(root: Path) -> Path:
    api = root / "sync" / "amplify" / "backend" / "api" / "syncapi"
    api.mkdir(parents=True)
    (api / "schema.graphql").write_text(SCHEMA, encoding="utf-8")
    text = (ROOT / "settings.toml").read_text(encoding="utf-8")
    text = text.replace('project_dir = "."', f'project_dir = "{(root / "sync").as_posix()}"')
    text = text.replace('api_name = "todoapi"', 'api_name = "syncapi"')
    text = text.replace(
        'allowed_mutations = ["createTodo", "updateTodo", "deleteTodo"]',
        f"allowed_mutations = {json.dumps(MUTATIONS)}",
    )
    text += '\n[appsync.model_keys]\nOrder = ["orderNumber", "placedAt"]\n'
    path = root / "settings.toml"
    path.write_text(text, encoding="utf-8")
    return path


def reading(settings: Settings, *models: str) -> Settings:
    """The settings with ``[appsync] version_reads`` naming ``models``: the mutator role's policy (built by the
    sandbox from the settings, as infra builds it) then allows ``Query.get<Model>`` for the read-back."""
    return replace(settings, appsync=replace(settings.appsync, version_reads=models))


pytestmark = pytest.mark.both_backends


@pytest.fixture(scope="module")
def sb(
    backend: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Sandbox]:
    if backend == "stand-in":
        with Sandbox.start(reading(load_settings(), "Todo")) as sandbox:
            yield sandbox
        return
    modules = request.getfixturevalue("amplify_node_modules")
    from sandbox.amplify_backend import amplify_appsync

    settings = reading(load_settings(_project(tmp_path_factory.mktemp("sync"))), "Item", "Order")
    with (
        Sandbox.start(settings, schema=SCHEMA) as sandbox,
        amplify_appsync(sandbox, modules),
    ):
        yield sandbox


@pytest.fixture
def model(backend: str) -> Model:
    return STAND_IN if backend == "stand-in" else AMPLIFY


def _key() -> str:
    return f"s-{uuid.uuid4().hex[:10]}"


def _record(sb: Sandbox, model: Model, record_id: str) -> dict[str, Any] | None:
    return next((i for i in sb.table_items(model.name) if i.get("id") == record_id), None)


def _upsert(model: Model, record_id: str, n: int, label: str | None = None) -> str:
    return json.dumps(
        {
            "mutation": f"create{model.name}",
            "input": {"id": record_id, model.other: label or f"v{n}"},
            "upsert": True,
            "version": {"field": model.field, "value": model.version(n)},
        }
    )


def _versioned(model: Model, verb: str, record_id: str, n: int, **input: Any) -> str:
    return json.dumps(
        {
            "mutation": f"{verb}{model.name}",
            "input": {"id": record_id, **input},
            "version": {"field": model.field, "value": model.version(n)},
        }
    )


def test_an_upsert_creates_then_updates(
    sb: Sandbox, container: Callable[..., None], model: Model, capsys: Any
) -> None:
    record_id = _key()
    sb.send_messages([_upsert(model, record_id, 1)])
    _, first = invoke(sb)
    sb.send_messages([_upsert(model, record_id, 2)])
    _, second = invoke(sb)
    assert first == second == {"batchItemFailures": []}
    stored = _record(sb, model, record_id) or {}
    assert stored[model.other] == "v2" and stored[model.field] == model.version(2)
    logged = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"record_done"' in line]
    assert [(line["outcome"], line.get("upsert")) for line in logged] == [
        ("applied", "created"),
        ("applied", "updated"),
    ]


def test_stale_events_are_superseded_not_retried_not_dead_lettered(
    sb: Sandbox, container: Callable[..., None], model: Model
) -> None:
    record_id = _key()
    sb.send_messages([_upsert(model, record_id, 5, "newest")])
    invoke(sb)
    before = sb.appsync.stats.requests
    ids = sb.send_messages(
        [
            _upsert(model, record_id, 3, "older upsert"),
            _versioned(model, "update", record_id, 4, **{model.other: "older update"}),
            _versioned(model, "delete", record_id, 5),  # not newer: equal
            _upsert(model, record_id, 5, "newest"),  # a redelivery of the applied event
        ]
    )
    with collect_metrics() as metrics:
        _, response = invoke(sb)
    assert response == {"batchItemFailures": []}
    assert not dead_letters(sb, ids)
    assert metrics.totals()["Superseded"] == 4 and metrics.totals()["DeadLettered"] == 0
    stored = _record(sb, model, record_id) or {}
    assert stored[model.other] == "newest" and stored[model.field] == model.version(5)
    # each was refused, then read back once (two refusals for an upsert: its create, then its update)
    assert sb.appsync.stats.requests - before == 3 + 2 + 2 + 3
    assert metrics.totals()["Attempts"] == 10  # every request counted, the read-backs included


def test_in_one_batch_a_records_events_apply_in_version_order(
    sb: Sandbox, container: Callable[..., None], model: Model
) -> None:
    record_id = _key()
    ids = sb.send_messages([_upsert(model, record_id, n) for n in (3, 1, 2, 3, 1)])
    _, response = invoke(sb)
    assert response == {"batchItemFailures": []} and not dead_letters(sb, ids)
    stored = _record(sb, model, record_id) or {}
    assert stored[model.other] == "v3" and stored[model.field] == model.version(3)


def test_newer_deletes_apply_and_missing_records_are_told_truly(
    sb: Sandbox, container: Callable[..., None], model: Model
) -> None:
    record_id = _key()
    sb.send_messages([_upsert(model, record_id, 1)])
    invoke(sb)
    missing = _key()
    ids = sb.send_messages(
        [
            _versioned(model, "delete", record_id, 2),
            _versioned(model, "update", missing, 2, **{model.other: "x"}),
        ]
    )
    _, response = invoke(sb)
    assert response == {"batchItemFailures": []}
    assert _record(sb, model, record_id) is None
    letters = dead_letters(sb, ids)
    assert list(letters) == [ids[1]]
    assert letters[ids[1]]["errorType"] == "RecordNotFound"
    assert f"there is no {model.name} with id {missing!r}" in letters[ids[1]]["reason"]
    # the delete again (a redelivery): read back, the record is gone: already applied, not dead-lettered
    again = sb.send_messages([_versioned(model, "delete", record_id, 2)])
    with collect_metrics() as metrics:
        _, response = invoke(sb)
    assert response == {"batchItemFailures": []} and not dead_letters(sb, again)
    assert metrics.totals()["AlreadyApplied"] == 1


def test_without_the_read_permission_a_refusal_is_never_called_superseded(
    sb: Sandbox, container: Callable[..., None], model: Model
) -> None:
    record_id = _key()
    sb.send_messages([_upsert(model, record_id, 5)])
    invoke(sb)
    iam = sb.client("iam", "B")
    role = sb.settings.mutator_role.name
    without = reading(sb.settings)  # no version_reads: the policy the settings gave before version reads
    iam.put_role_policy(
        RoleName=role,
        PolicyName="appsync-mutations",
        PolicyDocument=json.dumps(mutator_identity_policy(without)),
    )
    try:
        [stale] = sb.send_messages([_versioned(model, "update", record_id, 4, **{model.other: "stale"})])
        _, response = invoke(sb)
    finally:
        iam.put_role_policy(
            RoleName=role,
            PolicyName="appsync-mutations",
            PolicyDocument=json.dumps(mutator_identity_policy(sb.settings)),
        )
    assert response == {"batchItemFailures": []}
    letter = dead_letters(sb, [stale])[stale]
    assert letter["errorType"] == "VersionUnproven"
    assert "is this event's or newer (superseded), or there is no such record" in letter["reason"]
    assert f"back with get{model.name} failed (IAMDenied" in letter["reason"]
    assert f"types/Query/fields/get{model.name}" in letter["diagnosis"]
    assert (_record(sb, model, record_id) or {})[model.field] == model.version(5)


def test_a_custom_key_upserts_by_time(sb: Sandbox, container: Callable[..., None], model: Model) -> None:
    if model is STAND_IN:
        pytest.skip("the stand-in serves only the Todo schema: custom keys run on Amplify's resolvers")
    number = _key()
    key = {"orderNumber": number, "placedAt": PLACED_AT}

    def order(total: float, changed: str) -> str:
        return json.dumps(
            {
                "mutation": "createOrder",
                "input": {**key, "total": total},
                "upsert": True,
                "version": {"field": "changedAt", "value": changed},
            }
        )

    ids = sb.send_messages([order(2.0, "2026-12-03T11:00:00+01:00"), order(1.0, "2026-12-03T09:59:59.999Z")])
    _, response = invoke(sb)
    sb.send_messages([order(3.0, "2026-12-03T10:00:00.001Z")])
    _, later = invoke(sb)
    assert response == later == {"batchItemFailures": []} and not dead_letters(sb, ids)
    [stored] = [i for i in sb.table_items("Order") if i["orderNumber"] == number]
    assert stored["total"] == 3.0 and stored["changedAt"] == "2026-12-03T10:00:00.001Z"
    # a stale one later: refused, read back with getOrder(orderNumber:, placedAt:), superseded
    stale = sb.send_messages([order(0.5, "2026-12-03T10:00:00.000Z")])
    with collect_metrics() as metrics:
        _, response = invoke(sb)
    assert response == {"batchItemFailures": []} and not dead_letters(sb, stale)
    assert metrics.totals()["Superseded"] == 1
    [stored] = [i for i in sb.table_items("Order") if i["orderNumber"] == number]
    assert stored["total"] == 3.0


def test_an_upsert_applied_then_timed_out_is_one_record_and_a_success(
    sb: Sandbox, container: Callable[..., None], model: Model
) -> None:
    container(REQUEST_TIMEOUT_SECONDS="1", MAX_ATTEMPTS="4")
    plain, versioned = _key(), _key()
    for record_id, body in (
        (
            plain,
            json.dumps(
                {
                    "mutation": f"create{model.name}",
                    "input": {"id": plain, model.other: "once"},
                    "upsert": True,
                }
            ),
        ),
        (versioned, _upsert(model, versioned, 7)),
    ):
        sb.appsync.faults.stall_after_apply_next(1, seconds=2.0)  # created, but answered too late
        ids = sb.send_messages([body])
        _, response = invoke(sb)
        assert response == {"batchItemFailures": []} and not dead_letters(sb, ids)
        assert [i["id"] for i in sb.table_items(model.name) if i.get("id") == record_id] == [record_id]
    # the retry's create met the key condition: the plain one was updated with the same input, the versioned one
    # found its own version stored (superseded): either way one record holding the message's input
    assert (_record(sb, model, plain) or {})[model.other] == "once"
    assert (_record(sb, model, versioned) or {})[model.field] == model.version(7)
