"""Read back, from synthesized templates, what the sandbox and the alignment test need.

The documents returned are the ones CloudFormation would deploy (intrinsics resolved from the fixed names),
so a sandbox role created from them is the deployed role, not a re-derivation from the settings.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from infra.intrinsics import Resolver
from infra.names import MUTATOR_POLICY_NAME, MUTATOR_ROLE_ID, OPERATOR_POLICY_NAME, OPERATOR_ROLE_ID
from project_settings import Settings
from worker.config import ENV_DEAD_LETTER_QUEUE_URL

Template = Mapping[str, Any]
PolicyDocument = dict[str, Any]


def resources_of_type(template: Template, kind: str) -> dict[str, Mapping[str, Any]]:
    """Logical id -> resource, for every resource of one CloudFormation type."""
    return {lid: res for lid, res in template.get("Resources", {}).items() if res.get("Type") == kind}


def only_resource(template: Template, kind: str) -> tuple[str, Mapping[str, Any]]:
    found = resources_of_type(template, kind)
    if len(found) != 1:
        raise LookupError(f"expected exactly one {kind} in the template, found {sorted(found)}")
    return next(iter(found.items()))


def mutator_role_properties(account_b_template: Template) -> Mapping[str, Any]:
    resources = account_b_template.get("Resources", {})
    if MUTATOR_ROLE_ID in resources and OPERATOR_ROLE_ID in resources:  # this app's stack with both roles
        return resources[MUTATOR_ROLE_ID]["Properties"]
    return only_resource(account_b_template, "AWS::IAM::Role")[1]["Properties"]


def operator_role_properties(account_b_template: Template) -> Mapping[str, Any] | None:
    """The operator role's properties, or None when the stack has none."""
    resource = account_b_template.get("Resources", {}).get(OPERATOR_ROLE_ID)
    return resource["Properties"] if resource is not None else None


def operator_trust_policy_from(account_b_template: Template) -> PolicyDocument:
    properties = operator_role_properties(account_b_template)
    if properties is None:
        raise LookupError("the account-B template has no operator role")
    return dict(properties["AssumeRolePolicyDocument"])


def operator_identity_policy_from(account_b_template: Template) -> PolicyDocument:
    properties = operator_role_properties(account_b_template)
    for policy in (properties or {}).get("Policies", []):
        if policy["PolicyName"] == OPERATOR_POLICY_NAME:
            return dict(policy["PolicyDocument"])
    raise LookupError(f"the account-B template has no operator policy named {OPERATOR_POLICY_NAME!r}")


def mutator_trust_policy_from(account_b_template: Template) -> PolicyDocument:
    """The B role's trust policy exactly as synthesized (it holds no CloudFormation tokens)."""
    return dict(mutator_role_properties(account_b_template)["AssumeRolePolicyDocument"])


def mutator_identity_policy_from(account_b_template: Template) -> PolicyDocument:
    """The B role's ``appsync:GraphQL`` policy exactly as synthesized."""
    for policy in mutator_role_properties(account_b_template).get("Policies", []):
        if policy["PolicyName"] == MUTATOR_POLICY_NAME:
            return dict(policy["PolicyDocument"])
    raise LookupError(f"the mutator role has no inline policy named {MUTATOR_POLICY_NAME!r}")


def mutator_role_name_from(account_b_template: Template) -> str:
    return str(mutator_role_properties(account_b_template)["RoleName"])


def resolver_for_account_a(
    account_a_template: Template, settings: Settings, refs: Mapping[str, str] | None = None
) -> Resolver:
    return Resolver(
        account_a_template, settings.accounts.worker, settings.accounts.region, refs=dict(refs or {})
    )


def worker_function_properties(account_a_template: Template) -> Mapping[str, Any]:
    return only_resource(account_a_template, "AWS::Lambda::Function")[1]["Properties"]


def worker_environment_from(
    account_a_template: Template, settings: Settings, *, dead_letter_queue_url: str | None = None
) -> dict[str, str]:
    """The function's environment with tokens resolved.

    ``DEAD_LETTER_QUEUE_URL`` is a ``Ref`` to the DLQ in the template: resolved to the URL SQS will give the
    queue in account A, or to ``dead_letter_queue_url`` (e.g. the sandbox's queue) when given.
    """
    variables = worker_function_properties(account_a_template)["Environment"]["Variables"]
    refs: dict[str, str] = {}
    dlq_token = variables.get(ENV_DEAD_LETTER_QUEUE_URL)
    if dead_letter_queue_url is not None and isinstance(dlq_token, Mapping) and "Ref" in dlq_token:
        refs[dlq_token["Ref"]] = dead_letter_queue_url
    resolved = resolver_for_account_a(account_a_template, settings, refs).resolve(variables)
    return {str(k): str(v) for k, v in resolved.items()}


def execution_role_policies_from(
    account_a_template: Template, settings: Settings
) -> dict[str, PolicyDocument]:
    """Every identity policy attached to the worker's execution role (inline and CDK's default policy), resolved.

    Keys are policy names; the values are ready for IAM (or the sandbox's moto IAM).
    """
    role_id, role = only_resource(account_a_template, "AWS::IAM::Role")
    resolver = resolver_for_account_a(account_a_template, settings)
    documents: dict[str, PolicyDocument] = {
        policy["PolicyName"]: resolver.resolve(policy["PolicyDocument"])
        for policy in role["Properties"].get("Policies", [])
    }
    for policy in resources_of_type(account_a_template, "AWS::IAM::Policy").values():
        props = policy["Properties"]
        if {"Ref": role_id} in props.get("Roles", []):
            documents[props["PolicyName"]] = resolver.resolve(props["PolicyDocument"])
    return documents


def execution_role_trust_policy_from(account_a_template: Template) -> PolicyDocument:
    return dict(
        only_resource(account_a_template, "AWS::IAM::Role")[1]["Properties"]["AssumeRolePolicyDocument"]
    )


def function_code_asset(assembly_dir: Path, account_a_template: Template) -> Path:
    """The staged directory in the cloud assembly that becomes the function's zip (matched by S3 key)."""
    key = worker_function_properties(account_a_template)["Code"]["S3Key"]
    for manifest in assembly_dir.glob("*.assets.json"):
        for entry in json.loads(manifest.read_text(encoding="utf-8")).get("files", {}).values():
            if any(d.get("objectKey") == key for d in entry.get("destinations", {}).values()):
                return assembly_dir / entry["source"]["path"]
    raise LookupError(f"no asset in {assembly_dir} is uploaded as {key}")
