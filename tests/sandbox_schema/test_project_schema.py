"""``make sandbox`` for a project's own schema: Todo, an ``Order`` keyed by ``orderNumber`` + ``placedAt`` with a
``@hasMany`` of ``LineItem``. The sandbox builds every model's table in account B as Amplify names and keys it,
writes an environment file, and with only that file ``appsync-mutations doctor`` passes and ``send`` applies
mutations (the CLI run as a subprocess, the way a user runs it after ``set -a; . build/sandbox.env; set +a``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from project_settings import Settings, load_settings
from sandbox.cli import CUSTOM_ROLES_VARIABLE, started
from tests.sandbox_schema.project import cli, sourced, write_project


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, Path]:
    settings_path = write_project(tmp_path_factory.mktemp("project"))
    return load_settings(settings_path), settings_path


@pytest.fixture(scope="module")
def running(
    project: tuple[Settings, Path], amplify_node_modules: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Any]:
    settings, _ = project
    env_file = tmp_path_factory.mktemp("build") / "sandbox.env"
    with started(settings, backend="amplify", env_file=env_file) as handle:
        yield handle
    assert not env_file.exists(), "the environment file is removed when the sandbox stops"


def test_every_model_table_is_created_as_amplify_names_and_keys_it(running: Any) -> None:
    sb = running.sandbox
    assert running.backend == "amplify"
    assert "schema.graphql" in running.schema_source
    api = sb.settings.appsync.api_id
    assert sb.table_names == {m: f"{m}-{api}-sandbox" for m in ("Todo", "Order", "LineItem")}
    dynamodb = sb.client("dynamodb", "B")
    order = dynamodb.describe_table(TableName=sb.table_names["Order"])["Table"]
    assert order["KeySchema"] == [
        {"AttributeName": "orderNumber", "KeyType": "HASH"},
        {"AttributeName": "placedAt", "KeyType": "RANGE"},
    ]
    todo = dynamodb.describe_table(TableName=sb.table_names["Todo"])["Table"]
    assert todo["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]
    items = dynamodb.describe_table(TableName=sb.table_names["LineItem"])["Table"]
    (index,) = items["GlobalSecondaryIndexes"]  # the @hasMany connection, as the transformer defines it
    assert index["IndexName"] == "gsi-Order.items"
    assert [k["KeyType"] for k in index["KeySchema"]] == ["HASH", "RANGE"]
    compiled = {t["model"]: t for t in sb.appsync.tables}
    assert compiled["Order"]["KeySchema"] == order["KeySchema"]


def test_the_environment_file_makes_doctor_pass(running: Any, project: tuple[Settings, Path]) -> None:
    environment = sourced(running.env_file)
    assert environment["APPSYNC_URL"] == running.sandbox.appsync_url
    assert environment[CUSTOM_ROLES_VARIABLE] == str(running.sandbox.custom_roles_path)
    assert oct(running.env_file.stat().st_mode & 0o777) == "0o600"  # it holds (sandbox) credentials
    done = cli(environment, "doctor", "--json", "--probe", "--settings", str(project[1]))
    result = json.loads(done.stdout)
    assert done.returncode == 0, done.stdout + done.stderr
    assert result["ok"] is True
    statuses = {c["name"]: c["status"] for c in result["checks"]}
    assert statuses["custom-roles.json"] == "ok"
    assert statuses["authorization probe"] == "ok"
    configuration = result["checks"][0]
    assert not [n for n in configuration["notes"] if "WARNING" in n], (
        "no sandbox-ids warning against the sandbox"
    )


def test_send_applies_mutations_on_every_model(running: Any, project: tuple[Settings, Path]) -> None:
    environment = sourced(running.env_file)
    settings_flag = ("--settings", str(project[1]))
    todo = {"mutation": "createTodo", "input": {"name": "rehearsed"}, "idempotencyKey": "sandbox-todo-1"}
    done = cli(environment, "send", *settings_flag, stdin=json.dumps(todo))
    assert done.returncode == 0, done.stdout + done.stderr
    again = cli(environment, "send", *settings_flag, stdin=json.dumps(todo))
    assert again.returncode == 0 and "already applied" in again.stdout + again.stderr
    order = {
        "mutation": "createOrder",
        "input": {"orderNumber": "A-100", "placedAt": "2026-03-01T10:00:00.000Z", "total": 12.5},
        "fields": ["orderNumber", "placedAt"],
    }
    done = cli(environment, "send", *settings_flag, stdin=json.dumps(order))
    assert done.returncode == 0, done.stdout + done.stderr
    sb = running.sandbox
    assert [i["name"] for i in sb.table_items("Todo")] == ["rehearsed"]
    (stored,) = sb.table_items("Order")
    assert (stored["orderNumber"], stored["placedAt"], float(stored["total"])) == (
        "A-100",
        "2026-03-01T10:00:00.000Z",
        12.5,
    )
    update = {
        "mutation": "updateOrder",
        "input": {"orderNumber": "A-100", "placedAt": "2026-03-01T10:00:00.000Z", "customer": "ada"},
        "fields": ["orderNumber", "customer"],
    }
    done = cli(environment, "send", *settings_flag, stdin=json.dumps(update))
    assert done.returncode == 0, done.stdout + done.stderr
    assert sb.table_items("Order")[0]["customer"] == "ada"
