"""The operator role: created in account B only when principals are named, from the settings'
own documents; cdk-nag, cfn-lint and parliament stay clean; the worker's role is not widened."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import parliament
import pytest
from cfnlint.api import ManualArgs, lint_file

from infra.extract import (
    mutator_identity_policy_from,
    mutator_trust_policy_from,
    operator_identity_policy_from,
    operator_role_properties,
    operator_trust_policy_from,
)
from infra.names import MUTATOR_STACK_ID
from infra.operator_role import OperatorRole
from infra.synth import Synthesized, synthesize
from project_settings import Settings
from project_settings.policies import (
    mutator_identity_policy,
    mutator_trust_policy,
    operator_identity_policy,
    operator_trust_policy,
)

PRINCIPALS = ("arn:aws:iam::111111111111:role/oncall-*", "arn:aws:iam::111111111111:user/alice")


@pytest.fixture(scope="module")
def operator_settings(settings: Settings) -> Settings:
    return settings.with_changes(
        operator_role={"principals": PRINCIPALS, "allowed_mutations": ("updateTodo",)}
    )


@pytest.fixture(scope="module")
def operator_synth(operator_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    return synthesize(
        operator_settings, outdir=tmp_path_factory.mktemp("synth-operator") / "cdk.out", package_dir=None
    )


def test_no_principals_no_operator_role(template_b: dict[str, Any]) -> None:
    assert operator_role_properties(template_b) is None


def test_documents_are_exactly_the_settings(operator_synth: Synthesized, operator_settings: Settings) -> None:
    template = operator_synth.account_b
    assert operator_trust_policy_from(template) == operator_trust_policy(operator_settings)
    assert operator_identity_policy_from(template) == operator_identity_policy(operator_settings)
    assert operator_trust_policy_from(template) == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "NamedOperatorsWithSourceIdentity",
                "Effect": "Allow",
                "Principal": {"AWS": "arn:aws:iam::111111111111:root"},
                "Action": ["sts:AssumeRole", "sts:SetSourceIdentity"],
                "Condition": {
                    "ArnLike": {"aws:PrincipalArn": list(PRINCIPALS)},
                    "Null": {"sts:SourceIdentity": "false"},
                },
            }
        ],
    }
    fields = operator_identity_policy_from(template)["Statement"][0]["Resource"]
    assert [f.rsplit("/", 1)[-1] for f in fields] == ["updateTodo"]
    properties = operator_role_properties(template)
    assert properties is not None
    assert properties["RoleName"] == "AppSyncMutationOperator" and properties["MaxSessionDuration"] == 3600


def test_the_worker_role_is_not_widened(operator_synth: Synthesized, operator_settings: Settings) -> None:
    template = operator_synth.account_b
    assert mutator_trust_policy_from(template) == mutator_trust_policy(operator_settings)
    assert mutator_identity_policy_from(template) == mutator_identity_policy(operator_settings)
    trust = json.dumps(mutator_trust_policy_from(template))
    assert "alice" not in trust and "oncall" not in trust


def test_cdk_nag_and_cfn_lint_are_clean(operator_synth: Synthesized, operator_settings: Settings) -> None:
    assert operator_synth.assembly_dir is not None
    report = json.loads((operator_synth.assembly_dir / "validation-report.json").read_text())
    assert [v["ruleName"] for p in report["pluginReports"] for v in p.get("violations", [])] == []
    matches = lint_file(
        Path(operator_synth.assembly_dir) / f"{MUTATOR_STACK_ID}.template.json",
        config=ManualArgs(regions=[operator_settings.accounts.region]),
    )
    assert [str(m) for m in matches] == []


def _parliament(document: dict[str, Any]) -> list[str]:
    return [f"{f.issue}: {f.detail}" for f in parliament.analyze_policy_string(json.dumps(document)).findings]


def test_parliament_finds_nothing(operator_synth: Synthesized, operator_settings: Settings) -> None:
    template = operator_synth.account_b
    trust = operator_trust_policy_from(template)
    as_resource = {
        **trust,
        "Statement": [{**s, "Resource": operator_settings.operator_role_arn} for s in trust["Statement"]],
    }
    assert _parliament(as_resource) == []
    assert _parliament(operator_identity_policy_from(template)) == []


@pytest.mark.parametrize(
    "principals",
    [
        (),
        ("*",),
        ("arn:aws:iam::111111111111:role/*",),
        ("arn:aws:iam::333333333333:role/oncall",),
    ],
)
def test_the_construct_refuses_wide_or_foreign_principals(principals: tuple[str, ...]) -> None:
    stack = cdk.Stack(cdk.App(), "S")
    with pytest.raises(ValueError, match="OperatorRole refused"):
        OperatorRole(
            stack,
            "Op",
            role_name="Ops",
            worker_account="111111111111",
            principals=principals,
            api_arn="arn:aws:appsync:us-east-1:222222222222:apis/sandboxapi0000000000000000",
            allowed_mutations=["createTodo"],
        )
