"""IAM policy documents derived from the settings: the single definition used by infra/ and the sandbox.

The account-B trust policy trusts account A's root *only* under ``ArnEquals aws:PrincipalArn`` = the
worker's execution role, so it survives a re-created execution role (a role-ARN principal would be turned
into a unique id and silently break) and needs no deploy order between the accounts; it also pins the role
session name (and the external id when one is set).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from project_settings.model import Settings

PolicyDocument = dict[str, Any]


def mutator_trust_policy(settings: Settings) -> PolicyDocument:
    return trust_policy_document(
        worker_account=settings.accounts.worker,
        execution_role_arn=settings.execution_role_arn,
        session_name=settings.mutator_role.session_name,
        external_id=settings.mutator_role.external_id,
    )


def trust_policy_document(
    *, worker_account: str, execution_role_arn: str, session_name: str, external_id: str | None = None
) -> PolicyDocument:
    """The mutator role's trust policy from plain values (the ``MutatorRole`` construct's props)."""
    conditions: dict[str, dict[str, str]] = {
        "ArnEquals": {"aws:PrincipalArn": execution_role_arn},
        "StringEquals": {"sts:RoleSessionName": session_name},
    }
    if external_id:
        conditions["StringEquals"]["sts:ExternalId"] = external_id
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "WorkerExecutionRoleWithPinnedSession",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{worker_account}:root"},
                "Action": "sts:AssumeRole",
                "Condition": conditions,
            }
        ],
    }


def mutator_identity_policy(settings: Settings) -> PolicyDocument:
    """``appsync:GraphQL`` on the allowed mutation fields only (and simulating this policy, for ``doctor``)."""
    return identity_policy_document(
        settings.mutation_field_arns(),
        role_arn=settings.mutator_role_arn,
        read_arns=settings.read_field_arns(),
    )


def operator_trust_policy(settings: Settings) -> PolicyDocument:
    """The operator role's trust: only the named principals, only with a source identity."""
    return operator_trust_policy_document(
        worker_account=settings.accounts.worker, principals=settings.operator_role.principals
    )


def operator_trust_policy_document(*, worker_account: str, principals: Sequence[str]) -> PolicyDocument:
    """Account A's root only under ``ArnLike aws:PrincipalArn`` = ``principals``; ``sts:SetSourceIdentity``
    is granted with ``sts:AssumeRole`` and a source identity is required (``Null sts:SourceIdentity false``),
    so every operator session carries the person's name into CloudTrail, and it persists through chaining."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "NamedOperatorsWithSourceIdentity",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{worker_account}:root"},
                "Action": ["sts:AssumeRole", "sts:SetSourceIdentity"],
                "Condition": {
                    "ArnLike": {"aws:PrincipalArn": list(principals)},
                    "Null": {"sts:SourceIdentity": "false"},
                },
            }
        ],
    }


def operator_identity_policy(settings: Settings) -> PolicyDocument:
    """``appsync:GraphQL`` on the operator role's own allow-list (and simulating itself, for ``doctor``)."""
    return identity_policy_document(
        settings.operator_field_arns(),
        role_arn=settings.operator_role_arn,
        read_arns=settings.read_field_arns(),
    )


def mutation_field_arns(api_arn: str, fields: Sequence[str]) -> list[str]:
    """``appsync:GraphQL`` resources of ``fields`` on the API ``arn:aws:appsync:<region>:<account>:apis/<id>``."""
    return [f"{api_arn}/types/Mutation/fields/{f}" for f in fields]


def read_field_arns(api_arn: str, models: Sequence[str]) -> list[str]:
    """``appsync:GraphQL`` resources of ``get<Model>`` for ``models`` (``appsync.version_reads``)."""
    return [f"{api_arn}/types/Query/fields/get{m}" for m in models]


def identity_policy_document(
    field_arns: Sequence[str], role_arn: str | None = None, read_arns: Sequence[str] = ()
) -> PolicyDocument:
    """``appsync:GraphQL`` on exactly these field ARNs.

    With ``role_arn`` (the role this policy is attached to), also ``iam:SimulatePrincipalPolicy`` on that role
    only: ``doctor`` can then check every allowed field against the deployed policy with the role's own
    credentials. It reveals nothing but this role's own permissions, and grants no action on AppSync or data.
    """
    statements: list[dict[str, Any]] = [
        {
            "Sid": "AllowedMutationFields",
            "Effect": "Allow",
            "Action": "appsync:GraphQL",
            "Resource": list(field_arns),
        }
    ]
    if read_arns:  # appsync.version_reads: a refused versioned write's record is read back
        statements.append(
            {
                "Sid": "VersionReadBack",
                "Effect": "Allow",
                "Action": "appsync:GraphQL",
                "Resource": list(read_arns),
            }
        )
    if role_arn is not None:
        statements.append(
            {
                "Sid": "DoctorSimulatesThisPolicy",
                "Effect": "Allow",
                "Action": "iam:SimulatePrincipalPolicy",
                "Resource": role_arn,
            }
        )
    return {"Version": "2012-10-17", "Statement": statements}


def execution_role_trust_policy() -> PolicyDocument:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }


def execution_role_assume_policy(settings: Settings) -> PolicyDocument:
    """The worker may assume the one mutator role in account B, nothing else."""
    return assume_policy_document(settings.mutator_role_arn)


def assume_policy_document(mutator_role_arn: str) -> PolicyDocument:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AssumeMutatorRole",
                "Effect": "Allow",
                "Action": "sts:AssumeRole",
                "Resource": mutator_role_arn,
            }
        ],
    }
