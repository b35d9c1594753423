"""IAM policy documents derived from the settings: the single definition used by infra/ and the sandbox.

The account-B trust policy trusts account A's root *only* under ``ArnEquals aws:PrincipalArn`` = the
worker's execution role, so it survives a re-created execution role (a role-ARN principal would be turned
into a unique id and silently break) and needs no deploy order between the accounts; it also pins the role
session name (and the external id when one is set).
"""

from __future__ import annotations

from typing import Any

from project_settings.model import Settings

PolicyDocument = dict[str, Any]


def mutator_trust_policy(settings: Settings) -> PolicyDocument:
    conditions: dict[str, dict[str, str]] = {
        "ArnEquals": {"aws:PrincipalArn": settings.execution_role_arn},
        "StringEquals": {"sts:RoleSessionName": settings.mutator_role.session_name},
    }
    if settings.mutator_role.external_id:
        conditions["StringEquals"]["sts:ExternalId"] = settings.mutator_role.external_id
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "WorkerExecutionRoleWithPinnedSession",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{settings.accounts.worker}:root"},
                "Action": "sts:AssumeRole",
                "Condition": conditions,
            }
        ],
    }


def mutator_identity_policy(settings: Settings) -> PolicyDocument:
    """``appsync:GraphQL`` on the allowed mutation fields only."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AllowedMutationFields",
                "Effect": "Allow",
                "Action": "appsync:GraphQL",
                "Resource": settings.mutation_field_arns(),
            }
        ],
    }


def execution_role_trust_policy() -> PolicyDocument:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }


def execution_role_assume_policy(settings: Settings) -> PolicyDocument:
    """The worker may assume the one mutator role in account B, nothing else."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AssumeMutatorRole",
                "Effect": "Allow",
                "Action": "sts:AssumeRole",
                "Resource": settings.mutator_role_arn,
            }
        ],
    }
