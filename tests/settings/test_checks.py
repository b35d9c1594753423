"""The sandbox-values warning, the schema check, and the in-place settings editor."""

from __future__ import annotations

import shutil
import tomllib
from pathlib import Path
from typing import Any

import pytest

from project_settings import load_settings
from project_settings.checks import sandbox_warning, schema_problems, settings_warnings
from project_settings.model import DEFAULT_PATH
from project_settings.schema import SchemaError, parse_gen1_schema, read_gen1_schema
from project_settings.toml_edit import set_values

FIXTURES = Path(__file__).resolve().parent / "fixtures"
REAL = {"accounts": {"worker": "123456789012", "api": "444455556666"}}


def test_the_shipped_settings_are_flagged_as_the_sandboxs() -> None:
    settings = load_settings()
    warning = sandbox_warning(settings)
    assert warning is not None and warning.startswith("WARNING:")
    assert "111111111111" in warning and "222222222222" in warning and "sandboxapi0000000000000000" in warning
    assert "appsync-mutations init --from-amplify" in warning


ORDER_KEY = {"Order": ("orderNumber", "placedAt")}


def test_real_values_are_not_flagged() -> None:
    settings = load_settings().with_changes(**REAL, appsync={"api_id": "q7wz3kxhfbdnlmc2r5tuvy4e6a"})
    assert sandbox_warning(settings) is None
    half = load_settings().with_changes(accounts={"worker": "123456789012"})
    assert "accounts.api = '222222222222'" in (sandbox_warning(half) or "")


def test_allowed_mutations_are_checked_against_the_gen1_schema(tmp_path: Path) -> None:
    shutil.copytree(FIXTURES / "gen1", tmp_path / "shop")
    base = load_settings().with_changes(
        amplify={"project_dir": tmp_path / "shop", "api_name": "shopapi"},
        appsync={"model_keys": ORDER_KEY},  # the fixture's Order model is keyed by orderNumber + placedAt
    )
    assert (
        schema_problems(base.with_changes(appsync={"allowed_mutations": ("createOrder", "recordAudit")}))
        == []
    )
    (problem,) = schema_problems(base)  # the shipped createTodo/updateTodo/deleteTodo
    assert "createTodo, updateTodo, deleteTodo" in problem and "schema.graphql does not define" in problem
    # schema/ folder instead of schema.graphql: all files together
    api = tmp_path / "shop" / "amplify" / "backend" / "api" / "shopapi"
    (api / "schema").mkdir()
    (api / "schema.graphql").rename(api / "schema" / "orders.graphql")
    (api / "schema" / "todo.graphql").write_text("type Todo @model { id: ID! }\n")
    assert schema_problems(base) == []
    # no schema at hand: nothing to say
    assert schema_problems(base.with_changes(amplify={"project_dir": tmp_path / "none"})) == []


def test_allowed_mutations_are_checked_against_gen2_introspection(tmp_path: Path) -> None:
    shutil.copytree(FIXTURES / "gen2", tmp_path / "app")
    base = load_settings().with_changes(
        amplify={"project_dir": tmp_path / "app", "generation": 2}, appsync={"model_keys": ORDER_KEY}
    )
    assert schema_problems(base) == []  # Todo is a model there
    (problem,) = schema_problems(base.with_changes(appsync={"allowed_mutations": ("createInvoice",)}))
    assert "data.model_introspection" in problem and "addUserToGroup" in problem


def test_a_broken_schema_is_reported_not_raised(tmp_path: Path) -> None:
    api = tmp_path / "amplify" / "backend" / "api" / "x"
    api.mkdir(parents=True)
    (api / "schema.graphql").write_text("type Broken @model {")
    settings = load_settings().with_changes(amplify={"project_dir": tmp_path, "api_name": "x"})
    (problem,) = schema_problems(settings)
    assert "could not be checked" in problem and "not valid GraphQL" in problem
    with pytest.raises(SchemaError):
        read_gen1_schema(api)


def test_model_mutation_names_follow_the_model_directive() -> None:
    schema = parse_gen1_schema(
        'type A @model { id: ID! }\ntype B @model(mutations: {create: "makeB", update: null}) { id: ID! }\n'
        "type C @model(mutations: null) { id: ID! }\ntype D { id: ID! }\n"
        "extend type Mutation { custom: Boolean }\n",
        "inline",
    )
    assert schema.models == ("A", "B", "C")
    assert schema.mutations == ("createA", "updateA", "deleteA", "makeB", "custom")


def test_synth_and_the_generator_print_the_warning(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    import infra.app

    monkeypatch.setattr(infra.app, "synth", lambda settings, outdir: tmp_path)
    assert infra.app.main([]) == 0
    assert "WARNING:" in capsys.readouterr().err
    real = tmp_path / "settings.toml"
    text = set_values(
        DEFAULT_PATH.read_text(),
        {
            ("accounts", "worker"): "123456789012",
            ("accounts", "api"): "444455556666",
            ("appsync", "api_id"): "q7wz3kxhfbdnlmc2r5tuvy4e6a",
            (
                "appsync",
                "url",
            ): "https://k3vh5ojtxbeqdm2ayrfsiwcu7n.appsync-api.us-east-1.amazonaws.com/graphql",
        },
    )
    real.write_text(text)
    assert settings_warnings(load_settings(real)) == []
    assert infra.app.main(["--settings", str(real)]) == 0
    assert "WARNING" not in capsys.readouterr().err


def test_set_values_keeps_comments_and_layout() -> None:
    text = '# head\n[a]\nx = "v#1"   # note\nlist = [\n  "p",  # first\n  "q",\n] # after\n\n[a.b]\ny = 1\n'
    changed = set_values(text, {("a", "x"): "new", ("a", "list"): ["z"], ("a", "added"): True, ("c", "k"): 2})
    assert changed.splitlines() == [
        "# head",
        "[a]",
        'x = "new"   # note',
        'list = ["z"] # after',
        "added = true",
        "",
        "[a.b]",
        "y = 1",
        "",
        "[c]",
        "k = 2",
    ]
    assert tomllib.loads(changed)["a"]["b"] == {"y": 1}


def test_set_values_on_the_shipped_file_changes_only_those_lines() -> None:
    text = DEFAULT_PATH.read_text()
    changed = set_values(text, {("accounts", "api"): "444455556666", ("worker.eventbridge", "source"): "s"})
    before, after = text.splitlines(), changed.splitlines()
    assert len(before) == len(after)
    differing: list[Any] = [(b, a) for b, a in zip(before, after, strict=True) if b != a]
    assert [a for _, a in differing] == [
        'api = "444455556666"            # account B: the Amplify app, its AppSync API and data',
        'source = "s"',
    ]
