"""Account B for this project's own app: the ``MutatorRole`` construct, props read from the settings."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from constructs import Construct

from infra.mutator_role import MAX_SESSION_SECONDS, MutatorRole
from infra.names import MUTATOR_ROLE_ID, OPERATOR_ROLE_ID
from infra.operator_role import OperatorRole
from project_settings import Settings

__all__ = ["MAX_SESSION_SECONDS", "MutatorRoleStack"]


class MutatorRoleStack(cdk.Stack):
    """The mutator role in account B: trusted by the worker's execution role with a pinned session only."""

    def __init__(self, scope: Construct, construct_id: str, *, settings: Settings, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.mutator = MutatorRole(
            self,
            MUTATOR_ROLE_ID,
            role_name=settings.mutator_role.name,
            session_name=settings.mutator_role.session_name,
            worker_account=settings.accounts.worker,
            execution_role_name=settings.worker.execution_role_name,
            api_arn=settings.appsync_api_arn,
            allowed_mutations=settings.appsync.allowed_mutations,
            external_id=settings.mutator_role.external_id,
            version_reads=settings.appsync.version_reads,
        )
        self.role = self.mutator.role
        self.role.override_logical_id(MUTATOR_ROLE_ID)  # the id the deployed stack has had all along
        cdk.CfnOutput(self, "MutatorRoleArn", value=self.role.attr_arn)
        cdk.CfnOutput(self, "AssumedRoleArn", value=settings.assumed_role_arn)
        self.operator: OperatorRole | None = None
        operator = settings.operator_role
        # people get their own role; the execution role's trust stays narrow
        if operator.enabled:
            self.operator = OperatorRole(
                self,
                OPERATOR_ROLE_ID,
                role_name=operator.name,
                worker_account=settings.accounts.worker,
                principals=operator.principals,
                api_arn=settings.appsync_api_arn,
                allowed_mutations=operator.allowed_mutations,
                version_reads=settings.appsync.version_reads,
            )
            self.operator.role.override_logical_id(OPERATOR_ROLE_ID)
            cdk.CfnOutput(self, "OperatorRoleArn", value=self.operator.role.attr_arn)
