"""cdk-nag (AwsSolutions), cfn-lint and parliament on what was actually synthesized."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import parliament
import pytest
from aws_cdk import aws_sqs as sqs
from cfnlint.api import ManualArgs, lint_file

from infra.extract import (
    execution_role_policies_from,
    execution_role_trust_policy_from,
    mutator_identity_policy_from,
    mutator_trust_policy_from,
    resolver_for_account_a,
    resources_of_type,
)
from infra.nag import add_checks
from infra.names import MUTATOR_STACK_ID, WORKER_STACK_ID
from project_settings import Settings


def test_cdk_nag_reports_no_unacknowledged_finding(assembly_dir: Path) -> None:
    report = json.loads((assembly_dir / "validation-report.json").read_text())
    failures = [
        (violation["ruleName"], [c["constructPath"] for c in violation.get("violatingConstructs", [])])
        for plugin in report["pluginReports"]
        for violation in plugin.get("violations", [])
    ]
    assert failures == []


def test_every_acknowledgement_carries_a_reason(assembly_dir: Path) -> None:
    acknowledged: dict[str, str] = {}
    for stack_id in (WORKER_STACK_ID, MUTATOR_STACK_ID):
        metadata = json.loads((assembly_dir / f"{stack_id}.metadata.json").read_text())
        for path, entries in metadata.items():
            for entry in entries:
                if entry["type"] == "aws:cdk:acknowledged-rules":
                    for rule, reason in entry["data"].items():
                        acknowledged[f"{path} {rule}"] = reason
    assert sorted(acknowledged) == [
        "/AccountAWorker/Worker/EventsDeadLetterQueue Annotation::AwsSolutions-SQS3",
        "/AccountAWorker/Worker/WorkerFunction Annotation::AwsSolutions-L1",
    ]
    assert all(len(reason) > 40 for reason in acknowledged.values())


def test_cdk_nag_is_wired_to_fail_the_synth(tmp_path: Path) -> None:
    """The same wiring on a queue without a DLQ or TLS policy: the synth must fail, not just warn."""
    app = cdk.App(outdir=str(tmp_path))
    stack = cdk.Stack(app, "Unsafe")
    sqs.Queue(stack, "Plain")
    add_checks(app)
    with pytest.raises(RuntimeError, match="ValidationFailed"):
        app.synth()
    report = json.loads((tmp_path / "validation-report.json").read_text())
    rules = {v["ruleName"] for p in report["pluginReports"] for v in p["violations"]}
    assert {"AwsSolutions-SQS3", "AwsSolutions-SQS4"} <= rules


@pytest.mark.parametrize("stack_id", [WORKER_STACK_ID, MUTATOR_STACK_ID])
def test_cfn_lint_is_clean(assembly_dir: Path, settings: Settings, stack_id: str) -> None:
    matches = lint_file(
        assembly_dir / f"{stack_id}.template.json", config=ManualArgs(regions=[settings.accounts.region])
    )
    assert [str(m) for m in matches] == []


def _parliament(document: dict[str, Any]) -> list[str]:
    policy = parliament.analyze_policy_string(json.dumps(document))
    return [f"{f.issue}: {f.detail}" for f in policy.findings]


def _as_resource_policy(trust_policy: dict[str, Any], role_arn: str) -> dict[str, Any]:
    """A trust policy is the role's resource policy; parliament wants the Resource spelled out."""
    return {**trust_policy, "Statement": [{**s, "Resource": role_arn} for s in trust_policy["Statement"]]}


def test_parliament_finds_nothing_in_the_identity_policies(
    template_a: dict[str, Any], template_b: dict[str, Any], settings: Settings
) -> None:
    documents = dict(execution_role_policies_from(template_a, settings))
    documents["mutator identity"] = mutator_identity_policy_from(template_b)
    assert len(documents) >= 4
    assert {name: _parliament(doc) for name, doc in documents.items()} == {name: [] for name in documents}


def test_parliament_finds_nothing_in_the_trust_and_queue_policies(
    template_a: dict[str, Any], template_b: dict[str, Any], settings: Settings
) -> None:
    documents = {
        "mutator trust": _as_resource_policy(
            mutator_trust_policy_from(template_b), settings.mutator_role_arn
        ),
        "execution trust": _as_resource_policy(
            execution_role_trust_policy_from(template_a), settings.execution_role_arn
        ),
    }
    resolver = resolver_for_account_a(template_a, settings)
    for logical_id, policy in resources_of_type(template_a, "AWS::SQS::QueuePolicy").items():
        documents[logical_id] = resolver.resolve(policy["Properties"]["PolicyDocument"])
    assert {name: _parliament(doc) for name, doc in documents.items()} == {name: [] for name in documents}


def test_parliament_would_catch_a_bad_condition_key(template_b: dict[str, Any], settings: Settings) -> None:
    """Control: the trust-policy check is live (sts:RoleSessionName passes because it is a real key)."""
    trust = mutator_trust_policy_from(template_b)
    trust["Statement"][0]["Condition"]["StringEquals"] = {"sts:SessionNameTypo": "x"}
    assert any(
        "UNKNOWN_CONDITION_FOR_ACTION" in f
        for f in _parliament(_as_resource_policy(trust, settings.mutator_role_arn))
    )
