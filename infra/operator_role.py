"""``OperatorRole``: the role in account B that people assume for ``send``/``replay``/``doctor``.

Its trust admits account A's root only under ``ArnLike aws:PrincipalArn`` = the named principals, and only with
a source identity (``sts:SourceIdentity``, which persists through role chaining and shows in CloudTrail); its
policy allows ``appsync:GraphQL`` on its own allow-list. The worker's execution role's trust is never widened
for people. The documents are ``project_settings.policies``' own, written into a ``CfnRole`` verbatim.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import aws_iam as iam
from constructs import Construct

from infra.mutator_role import api_account_of, role_identity_policy
from project_settings.policies import (
    operator_trust_policy_document,
)
from worker.names import ACCOUNT_RE, FIELD_NAME_RE, PRODUCER_PRINCIPAL_ARN_RE, ROLE_NAME_RE

#: People's sessions: one hour at most (they re-assume when it ends).
MAX_SESSION_SECONDS = 3600
#: Name of the role's one inline policy.
POLICY_NAME = "OperatorMutationFields"
#: Logical id of the role resource.
ROLE_ID = "OperatorRole"


def _check_props(
    *, role_name: str, worker_account: str, principals: Sequence[str], allowed_mutations: Sequence[str]
) -> None:
    problems: list[str] = []
    if not isinstance(role_name, str) or not ROLE_NAME_RE.fullmatch(role_name):
        problems.append(f"role_name={role_name!r} is not an IAM role name")
    if not isinstance(worker_account, str) or not ACCOUNT_RE.fullmatch(worker_account):
        problems.append(f"worker_account={worker_account!r} is not a 12-digit account id")
    if isinstance(principals, str) or not principals:
        problems.append("principals must be a non-empty list of role or user ARNs in account A")
    else:
        for arn in principals:
            match = PRODUCER_PRINCIPAL_ARN_RE.fullmatch(arn) if isinstance(arn, str) else None
            if match is None or match["account"] != worker_account:
                problems.append(
                    f"principal {arn!r} is not a role or user ARN of account {worker_account} (* only within the "
                    "name, after its first character)"
                )
    if isinstance(allowed_mutations, str) or not allowed_mutations:
        problems.append("allowed_mutations must be a non-empty list of mutation field names")
    else:
        bad = [f for f in allowed_mutations if not isinstance(f, str) or not FIELD_NAME_RE.fullmatch(f)]
        if bad:
            problems.append(f"allowed_mutations has names that are not GraphQL field names: {bad!r}")
    if problems:
        raise ValueError("OperatorRole refused: " + "; ".join(problems))


class OperatorRole(Construct):
    """The operators' role: named principals of account A with a source identity; ``appsync:GraphQL`` on its
    own fields (and ``iam:SimulatePrincipalPolicy`` on itself, for ``doctor``)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        role_name: str,
        worker_account: str,
        principals: Sequence[str],
        api_arn: str,
        allowed_mutations: Sequence[str],
        partition: str = "aws",
        version_reads: Sequence[str] = (),
    ) -> None:
        super().__init__(scope, construct_id)
        _check_props(
            role_name=role_name,
            worker_account=worker_account,
            principals=principals,
            allowed_mutations=allowed_mutations,
        )
        self.trust_policy = operator_trust_policy_document(
            worker_account=worker_account, principals=principals
        )
        self.identity_policy = role_identity_policy(
            api_arn, role_name, allowed_mutations, version_reads, partition
        )
        self.role = iam.CfnRole(
            self,
            ROLE_ID,
            role_name=role_name,
            description="Assumed by named operators (with a source identity) to send AppSync mutations by hand",
            assume_role_policy_document=self.trust_policy,
            max_session_duration=MAX_SESSION_SECONDS,
            policies=[
                iam.CfnRole.PolicyProperty(policy_name=POLICY_NAME, policy_document=self.identity_policy)
            ],
        )
        self.role_arn = self.role.attr_arn
        #: Every operator session's caller ARN starts with this (what custom-roles.json lists).
        self.assumed_role_prefix = f"arn:{partition}:sts::{api_account_of(api_arn)}:assumed-role/{role_name}"
