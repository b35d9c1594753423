"""``[appsync] version_reads``: the get queries a refused versioned write is read back with."""

from __future__ import annotations

import tomllib
from typing import Any

import pytest

from project_settings.model import DEFAULT_PATH, SettingsError, parse_settings
from project_settings.policies import mutator_identity_policy


def _raw(**appsync: Any) -> dict[str, Any]:
    raw = tomllib.loads(DEFAULT_PATH.read_text(encoding="utf-8"))
    raw["appsync"].update(appsync)
    return raw


def test_by_default_the_role_reads_nothing() -> None:
    policy = mutator_identity_policy(parse_settings(_raw(), base_dir=DEFAULT_PATH.parent))
    assert not any("types/Query/" in r for s in policy["Statement"] for r in _resources(s))


def test_named_models_get_their_get_query_and_nothing_else() -> None:
    settings = parse_settings(_raw(version_reads=["Todo"]), base_dir=DEFAULT_PATH.parent)
    assert settings.appsync.version_reads == ("Todo",)
    [read] = [s for s in mutator_identity_policy(settings)["Statement"] if s.get("Sid") == "VersionReadBack"]
    assert read["Action"] == "appsync:GraphQL"
    assert read["Resource"] == [f"{settings.appsync_api_arn}/types/Query/fields/getTodo"]


@pytest.mark.parametrize(
    ("models", "problem"),
    [(["todo"], "is not a model name"), (["Order"], "has no create/update/deleteOrder")],
)
def test_a_model_that_cannot_be_one_of_ours_is_refused(models: list[str], problem: str) -> None:
    with pytest.raises(SettingsError, match=problem):
        parse_settings(_raw(version_reads=models), base_dir=DEFAULT_PATH.parent)


def _resources(statement: dict[str, Any]) -> list[str]:
    resource = statement.get("Resource", [])
    return [resource] if isinstance(resource, str) else list(resource)
