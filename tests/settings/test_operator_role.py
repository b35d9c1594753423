"""``[operator_role]``: off by default, principals checked as the trust policy compares them."""

from __future__ import annotations

import tomllib
from typing import Any

import pytest

from project_settings import SettingsError, load_settings, parse_settings
from project_settings.model import DEFAULT_PATH
from project_settings.policies import operator_identity_policy, operator_trust_policy

RAW = tomllib.loads(DEFAULT_PATH.read_text(encoding="utf-8"))


def _with(**operator: Any) -> Any:
    return parse_settings({**RAW, "operator_role": operator})


def test_off_by_default() -> None:
    settings = load_settings()
    assert not settings.operator_role.enabled
    assert settings.operator_role.name == "AppSyncMutationOperator"
    assert settings.operator_role.allowed_mutations == settings.appsync.allowed_mutations


def test_named_principals_and_their_documents() -> None:
    settings = _with(principals=["arn:aws:iam::111111111111:role/oncall-*"], allowed_mutations=["updateTodo"])
    assert settings.operator_role.enabled
    assert settings.operator_role_arn == "arn:aws:iam::222222222222:role/AppSyncMutationOperator"
    statement = operator_trust_policy(settings)["Statement"][0]
    assert statement["Principal"] == {"AWS": "arn:aws:iam::111111111111:root"}
    assert statement["Condition"] == {
        "ArnLike": {"aws:PrincipalArn": ["arn:aws:iam::111111111111:role/oncall-*"]},
        "Null": {"sts:SourceIdentity": "false"},
    }
    assert statement["Action"] == ["sts:AssumeRole", "sts:SetSourceIdentity"]
    fields = operator_identity_policy(settings)["Statement"][0]["Resource"]
    assert [f.rsplit("/", 1)[-1] for f in fields] == ["updateTodo"]


@pytest.mark.parametrize(
    ("operator", "problem"),
    [
        ({"principals": ["*"]}, "is not an IAM role or user ARN"),
        ({"principals": ["arn:aws:iam::111111111111:role/*"]}, "is not an IAM role or user ARN"),
        ({"principals": ["arn:aws:iam::333333333333:role/ops"]}, "is not in account A"),
        ({"name": "AppSyncMutationWorker", "principals": []}, "is the worker's role"),
        (
            {"principals": ["arn:aws:iam::111111111111:role/ops"], "allowed_mutations": ["a b"]},
            "not a GraphQL",
        ),
        ({"principal": ["arn:aws:iam::111111111111:role/ops"]}, "unknown key operator_role.principal"),
    ],
)
def test_refusals(operator: dict[str, Any], problem: str) -> None:
    with pytest.raises(SettingsError) as caught:
        _with(**operator)
    assert any(problem in p for p in caught.value.problems), caught.value.problems
