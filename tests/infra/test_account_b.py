"""Account B: the mutator role trusts one principal with a pinned session and may call the allowed fields only."""

from __future__ import annotations

from typing import Any

from aws_cdk import assertions

from infra.extract import mutator_identity_policy_from, mutator_trust_policy_from
from infra.policy_checks import wildcard_findings
from infra.synth import Synthesized
from project_settings import Settings
from project_settings.policies import mutator_identity_policy, mutator_trust_policy


def test_account_b_holds_only_the_mutator_role(template_b: dict[str, Any]) -> None:
    assert [r["Type"] for r in template_b["Resources"].values()] == ["AWS::IAM::Role"]


def test_trust_policy_is_exactly_the_shared_definition(
    template_b: dict[str, Any], settings: Settings
) -> None:
    assert mutator_trust_policy_from(template_b) == mutator_trust_policy(settings)
    assert mutator_trust_policy_from(template_b) == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "WorkerExecutionRoleWithPinnedSession",
                "Effect": "Allow",
                "Principal": {"AWS": "arn:aws:iam::111111111111:root"},
                "Action": "sts:AssumeRole",
                "Condition": {
                    "ArnEquals": {
                        "aws:PrincipalArn": "arn:aws:iam::111111111111:role/appsync-mutation-worker-exec"
                    },
                    "StringEquals": {"sts:RoleSessionName": "appsync-mutation-worker"},
                },
            }
        ],
    }


def test_role_name_and_one_hour_sessions(assert_b: assertions.Template, settings: Settings) -> None:
    assert_b.has_resource_properties(
        "AWS::IAM::Role", {"RoleName": settings.mutator_role.name, "MaxSessionDuration": 3600}
    )


def test_identity_policy_is_graphql_on_the_allowed_mutation_fields_only(
    template_b: dict[str, Any], settings: Settings
) -> None:
    policy = mutator_identity_policy_from(template_b)
    assert policy == mutator_identity_policy(settings)
    statement, simulate = policy["Statement"]
    assert statement["Effect"] == "Allow"
    assert statement["Action"] == "appsync:GraphQL"
    assert statement["Resource"] == [
        f"arn:aws:appsync:us-east-1:222222222222:apis/sandboxapi0000000000000000/types/Mutation/fields/{field}"
        for field in ("createTodo", "updateTodo", "deleteTodo")
    ]
    # doctor checks every allowed field with the role's own credentials: simulating this role only
    assert simulate == {
        "Sid": "DoctorSimulatesThisPolicy",
        "Effect": "Allow",
        "Action": "iam:SimulatePrincipalPolicy",
        "Resource": settings.mutator_role_arn,
    }
    role = next(iter(template_b["Resources"].values()))["Properties"]
    assert len(role["Policies"]) == 1 and "ManagedPolicyArns" not in role


def test_no_wildcard_and_no_unconditional_root_trust_on_the_b_role(template_b: dict[str, Any]) -> None:
    assert wildcard_findings(mutator_identity_policy_from(template_b)) == []
    for statement in mutator_trust_policy_from(template_b)["Statement"]:
        principals = statement["Principal"]["AWS"]
        principals = principals if isinstance(principals, list) else [principals]
        assert "*" not in principals
        if any(p.endswith(":root") for p in principals):
            assert statement["Condition"]["ArnEquals"]["aws:PrincipalArn"].startswith("arn:aws:iam::")
            assert "sts:RoleSessionName" in statement["Condition"]["StringEquals"]


def test_external_id_is_required_when_set(
    fifo_synthesized: Synthesized, fifo_settings: Settings, external_id: str
) -> None:
    trust = mutator_trust_policy_from(fifo_synthesized.account_b)
    assert trust == mutator_trust_policy(fifo_settings)
    assert trust["Statement"][0]["Condition"]["StringEquals"] == {
        "sts:RoleSessionName": "appsync-mutation-worker",
        "sts:ExternalId": external_id,
    }


def test_account_b_needs_no_bootstrap(template_b: dict[str, Any]) -> None:
    """Bootstrapless: no BootstrapVersion parameter, so the Amplify account is deployable as is."""
    assert "BootstrapVersion" not in template_b.get("Parameters", {})
