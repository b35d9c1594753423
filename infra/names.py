"""Names the stacks derive from the settings that the settings model does not already provide."""

from __future__ import annotations

from project_settings import Settings

#: Construct ids of the two stacks inside the CDK app (also the artifact names in ``cdk.out``).
WORKER_STACK_ID = "AccountAWorker"
MUTATOR_STACK_ID = "AccountBMutatorRole"
#: Logical ids looked up in the synthesized templates by the extraction helpers.
MUTATOR_ROLE_ID = "MutatorRole"
MUTATOR_POLICY_NAME = "AllowedMutationFields"
OPERATOR_ROLE_ID = "OperatorRole"
OPERATOR_POLICY_NAME = "OperatorMutationFields"
FUNCTION_ID = "WorkerFunction"


def worker_stack_name(settings: Settings) -> str:
    return f"{settings.worker.function_name}-worker"


def mutator_stack_name(settings: Settings) -> str:
    return f"{settings.worker.function_name}-mutator-role"


def events_dead_letter_queue_name(settings: Settings) -> str:
    """EventBridge and Lambda async failures land here; EventBridge DLQs must be standard queues."""
    return f"{settings.worker.function_name}-events-dlq"


def log_group_name(settings: Settings) -> str:
    return f"/aws/lambda/{settings.worker.function_name}"
