"""Account B: the role the worker assumes, written from the one definition in ``project_settings.policies``.

The documents go into a ``CfnRole`` verbatim (no L2 principal rewriting), so the template holds exactly the
trust and identity policies the sandbox and the alignment test use.
"""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from constructs import Construct

from infra.names import MUTATOR_POLICY_NAME, MUTATOR_ROLE_ID
from project_settings import Settings
from project_settings.policies import mutator_identity_policy, mutator_trust_policy

#: Chained from the Lambda execution role's session: AWS caps such sessions at one hour.
MAX_SESSION_SECONDS = 3600


class MutatorRoleStack(cdk.Stack):
    """The mutator role in account B: trusted by the worker's execution role with a pinned session only."""

    def __init__(self, scope: Construct, construct_id: str, *, settings: Settings, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.role = iam.CfnRole(
            self,
            MUTATOR_ROLE_ID,
            role_name=settings.mutator_role.name,
            description=(
                f"Assumed by {settings.execution_role_arn} with session "
                f"{settings.mutator_role.session_name} to send AppSync mutations"
            ),
            assume_role_policy_document=mutator_trust_policy(settings),
            max_session_duration=MAX_SESSION_SECONDS,
            policies=[
                iam.CfnRole.PolicyProperty(
                    policy_name=MUTATOR_POLICY_NAME, policy_document=mutator_identity_policy(settings)
                )
            ],
        )
        cdk.CfnOutput(self, "MutatorRoleArn", value=self.role.attr_arn)
        cdk.CfnOutput(self, "AssumedRoleArn", value=settings.assumed_role_arn)
