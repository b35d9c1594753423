"""The account-B role's IAM policies: no findings from parliament, no "*" action or resource, and no root
trust without a condition naming one principal.

Checked twice: on the documents ``project_settings/policies.py`` defines (what the sandbox and infra use), and
on the templates ``infra.synth.synthesize`` produces (what CloudFormation would deploy; skipped with the
reason when infra/ or Node.js is not available).

parliament lints identity policies; a trust policy has no Resource, so it is also linted as the equivalent
identity statement (the role's ARN as Resource, the Principal dropped), which checks its action and condition
keys; the principal rules are checked here directly.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
from collections.abc import Iterator, Mapping
from typing import Any

import pytest
from parliament import analyze_policy_string

from project_settings import load_settings
from project_settings.policies import (
    execution_role_assume_policy,
    mutator_identity_policy,
    mutator_trust_policy,
)

SETTINGS = load_settings()
PRINCIPAL_CONDITION_KEYS = {"aws:principalarn", "aws:sourcearn", "aws:principalorgid", "sts:externalid"}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def parliament_findings(document: Mapping[str, Any], community: bool = True) -> list[str]:
    policy = analyze_policy_string(json.dumps(document), include_community_auditors=community)
    return [f"{f.issue}: {f.detail} {f.location}" for f in policy.findings]


def star_problems(document: Mapping[str, Any]) -> list[str]:
    """Any wildcard in an Allow's Action or Resource, or NotAction/NotResource (an inverted wildcard)."""
    problems = []
    for statement in _list(document["Statement"]):
        if statement.get("Effect") != "Allow":
            continue
        for key in ("NotAction", "NotResource", "NotPrincipal"):
            if key in statement:
                problems.append(f"{statement.get('Sid')}: uses {key}")
        for key in ("Action", "Resource"):
            for value in _list(statement.get(key, [])):
                if not isinstance(value, str) or "*" in value or "?" in value:
                    problems.append(f"{statement.get('Sid')}: {key} {value!r}")
    return problems


def trust_problems(document: Mapping[str, Any]) -> list[str]:
    """A trusted account root (or "*") must come with a condition that names one principal."""
    problems = []
    for statement in _list(document["Statement"]):
        if statement.get("Effect") != "Allow":
            continue
        principal = statement.get("Principal")
        if principal == "*" or not isinstance(principal, Mapping):
            problems.append(f"{statement.get('Sid')}: principal {principal!r}")
            continue
        conditions = statement.get("Condition", {})
        keys = {key.lower() for block in conditions.values() for key in block}
        for arn in _list(principal.get("AWS", [])):
            wide = arn == "*" or str(arn).endswith(":root") or str(arn).isdigit()
            if wide and not keys & PRINCIPAL_CONDITION_KEYS:
                problems.append(f"{statement.get('Sid')}: trusts {arn} without a principal condition")
        for operator, block in conditions.items():
            for key, value in block.items():
                if key.lower() == "aws:principalarn" and (
                    operator not in ("ArnEquals", "StringEquals") or "*" in str(value)
                ):
                    problems.append(f"{statement.get('Sid')}: {operator} {key} {value!r} is not exact")
        if "sts:rolesessionname" not in keys:
            problems.append(f"{statement.get('Sid')}: the session name is not pinned")
    return problems


def trust_as_identity(document: Mapping[str, Any], role_arn: str) -> dict[str, Any]:
    equivalent = copy.deepcopy(dict(document))
    for statement in _list(equivalent["Statement"]):
        statement.pop("Principal", None)
        statement["Resource"] = role_arn
    return equivalent


def check_role(trust: Mapping[str, Any], identity: Mapping[str, Any], role_arn: str) -> None:
    assert parliament_findings(identity) == []
    assert star_problems(identity) == []
    # community auditors flag every sts:AssumeRole as CREDENTIALS_EXPOSURE: that is the trust policy's purpose
    assert parliament_findings(trust_as_identity(trust, role_arn), community=False) == []
    assert trust_problems(trust) == []


# --- the documents in project_settings/policies.py ----------------------------------------------------------
def test_mutator_role_documents_from_settings() -> None:
    check_role(mutator_trust_policy(SETTINGS), mutator_identity_policy(SETTINGS), SETTINGS.mutator_role_arn)
    resources = _list(mutator_identity_policy(SETTINGS)["Statement"][0]["Resource"])
    assert resources == SETTINGS.mutation_field_arns()


def test_mutator_role_documents_with_an_external_id() -> None:
    settings = SETTINGS.with_changes(mutator_role={"external_id": "partner-7f3a"})
    trust = mutator_trust_policy(settings)
    check_role(trust, mutator_identity_policy(settings), settings.mutator_role_arn)
    assert trust["Statement"][0]["Condition"]["StringEquals"]["sts:ExternalId"] == "partner-7f3a"


def test_execution_role_may_assume_only_the_mutator_role() -> None:
    document = execution_role_assume_policy(SETTINGS)
    assert parliament_findings(document, community=False) == []
    assert star_problems(document) == []
    assert [s["Resource"] for s in document["Statement"]] == [SETTINGS.mutator_role_arn]


def test_the_checks_catch_the_anti_patterns() -> None:
    """The checks themselves: each known-bad document is reported."""
    bad_identity = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "appsync:*", "Resource": "*"}],
    }
    assert parliament_findings(bad_identity) and star_problems(bad_identity)
    root_trust = mutator_trust_policy(SETTINGS)
    del root_trust["Statement"][0]["Condition"]
    assert any("without a principal condition" in p for p in trust_problems(root_trust))
    wildcard = mutator_trust_policy(SETTINGS)
    wildcard["Statement"][0]["Condition"]["ArnEquals"]["aws:PrincipalArn"] = (
        "arn:aws:iam::111111111111:role/*"
    )
    assert any("is not exact" in p for p in trust_problems(wildcard))
    assert trust_problems({"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "sts:AssumeRole"}]})


# --- the synthesized templates ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def account_b_template() -> Iterator[dict[str, Any]]:
    try:
        from infra.synth import synthesize
    except ImportError as exc:
        pytest.skip(f"infra/ is not importable yet ({exc}): only the settings documents were checked")
    if shutil.which("node") is None:
        pytest.skip(
            "Node.js is not installed: CDK cannot synthesize; only the settings documents were checked"
        )
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    _account_a, account_b = synthesize(SETTINGS, package_dir=None)
    yield account_b


def test_synthesized_mutator_role(account_b_template: dict[str, Any]) -> None:
    from infra.extract import mutator_identity_policy_from, mutator_trust_policy_from, resources_of_type

    trust = mutator_trust_policy_from(account_b_template)
    identity = mutator_identity_policy_from(account_b_template)
    check_role(trust, identity, SETTINGS.mutator_role_arn)
    assert trust == mutator_trust_policy(SETTINGS)  # what is deployed is what was checked above
    # every IAM policy document anywhere in account B's template: no wildcard, no finding
    documents = []
    for resource in account_b_template["Resources"].values():
        properties = resource.get("Properties", {})
        documents += [p["PolicyDocument"] for p in properties.get("Policies", [])]
        if "PolicyDocument" in properties:
            documents.append(properties["PolicyDocument"])
        assert not properties.get("ManagedPolicyArns"), "no managed policy on the account-B role"
    assert documents
    for document in documents:
        assert star_problems(document) == [] and parliament_findings(document) == []
    assert len(resources_of_type(account_b_template, "AWS::IAM::Role")) == 1
