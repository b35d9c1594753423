"""Models as they really are: primary keys read from the schema, carried by the settings into the worker."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from project_settings.schema import introspection_schema, parse_gen1_schema
from worker.config import ConfigError, WorkerConfig

FIXTURES = Path(__file__).resolve().parent / "fixtures"
ENV = {
    "APPSYNC_URL": "https://abc.appsync-api.eu-west-1.amazonaws.com/graphql",
    "MUTATOR_ROLE_ARN": "arn:aws:iam::222222222222:role/Mutator",
    "MUTATOR_SESSION_NAME": "pinned-session",
    "ALLOWED_MUTATIONS": "createOrder",
}


def test_gen1_primary_keys_come_from_primary_key_directives() -> None:
    schema = parse_gen1_schema(
        (FIXTURES / "gen1/amplify/backend/api/shopapi/schema.graphql").read_text(), "schema.graphql"
    )
    assert schema.keys["Order"] == ("orderNumber", "placedAt")
    assert all(key != ("id",) for key in schema.keys.values())  # id-keyed models are the default


def test_a_single_field_key_and_no_sort_key() -> None:
    schema = parse_gen1_schema(
        "type Customer @model { email: String! @primaryKey name: String }\ntype Todo @model { id: ID! }", "s"
    )
    assert dict(schema.keys) == {"Customer": ("email",)}


def test_gen2_primary_keys_come_from_model_introspection() -> None:
    outputs = json.loads((FIXTURES / "gen2/amplify_outputs.json").read_text())
    schema = introspection_schema(outputs, "amplify_outputs.json")
    assert schema is not None and schema.keys["Order"] == ("orderNumber", "placedAt")


def test_the_worker_reads_model_keys_and_round_trips_them() -> None:
    config = WorkerConfig.from_environ({**ENV, "MODEL_KEYS": "Order:orderNumber,placedAt; Customer:email"})
    assert dict(config.model_keys) == {"Order": ("orderNumber", "placedAt"), "Customer": ("email",)}
    assert WorkerConfig.from_environ(config.to_environ()).model_keys == config.model_keys


@pytest.mark.parametrize("bad", ["Order", "Order:", "Order:order-number", "1Order:x", "Order:a,,b;:x"])
def test_a_malformed_model_keys_value_fails_the_cold_start(bad: str) -> None:
    with pytest.raises(ConfigError, match="MODEL_KEYS"):
        WorkerConfig.from_environ({**ENV, "MODEL_KEYS": bad})


def test_settings_whose_model_keys_disagree_with_the_schema_are_warned_about(tmp_path: Path) -> None:
    import shutil

    from project_settings import load_settings
    from project_settings.checks import schema_problems

    shutil.copytree(FIXTURES / "gen1", tmp_path / "shop")
    settings = load_settings().with_changes(
        amplify={"project_dir": tmp_path / "shop", "api_name": "shopapi"},
        appsync={"allowed_mutations": ("createOrder",)},
    )
    assert any(
        "appsync.model_keys does not match" in p and "Order = ['orderNumber', 'placedAt']" in p
        for p in schema_problems(settings)
    )
    fixed = settings.with_changes(appsync={"model_keys": {"Order": ("orderNumber", "placedAt")}})
    assert not any("model_keys" in p for p in schema_problems(fixed))
    assert fixed.worker_environment()["MODEL_KEYS"] == "Order:orderNumber,placedAt"


def test_the_function_timeout_leaves_room_for_a_whole_send_of_a_create_without_a_record() -> None:
    import tomllib

    from project_settings import SettingsError, parse_settings

    raw = tomllib.loads(Path("settings.toml").read_text())
    raw["worker"]["function_timeout_seconds"] = 13  # request timeout 10 + 2 s to dead-letter + 1 s margin
    assert parse_settings(raw).worker.function_timeout_seconds == 13
    raw["worker"]["function_timeout_seconds"] = 11
    with pytest.raises(
        SettingsError, match=r"function_timeout_seconds must be at least request_timeout_seconds \+ 3"
    ):
        parse_settings(raw)
