"""Account A for this project's own app: the ``MutationWorker`` construct, every prop read from the settings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from constructs import Construct

from infra.mutation_worker import MutationWorker, QueueNames, log_retention
from infra.names import events_dead_letter_queue_name
from project_settings import Settings
from worker.config import ENV_DEAD_LETTER_QUEUE_URL

__all__ = ["WorkerStack", "function_environment", "log_retention", "visibility_timeout_seconds"]

#: Construct id of the worker inside the stack; logical ids below keep their pre-construct values.
WORKER_ID = "Worker"
#: Logical ids the stateful, fixed-name resources had before the construct existed: an already deployed stack
#: keeps its queues, role, log group and function in place instead of trying to re-create them under the same
#: names (which CloudFormation refuses).
STABLE_LOGICAL_IDS = {
    "DeadLetterQueue": "DeadLetterQueue9F481546",
    "Queue": "Queue4A7E3555",
    "EventsDeadLetterQueue": "EventsDeadLetterQueue404572C7",
    "WorkerLogs": "WorkerLogsC1193B08",
    "ExecutionRole": "ExecutionRole605A040B",
    "WorkerFunction": "WorkerFunctionACE6A4B0",
    "MutationEvents": "MutationEventsF7257992",
}


def visibility_timeout_seconds(settings: Settings) -> int:
    """At least 6x the function timeout (AWS guidance for SQS event sources) plus the batching window."""
    return 6 * settings.worker.function_timeout_seconds + settings.worker.batching_window_seconds


def function_environment(settings: Settings, dead_letter_queue_url: str) -> dict[str, str]:
    """The worker's environment: validated by the worker's own parser, with the DLQ URL as a CDK token."""
    env = settings.worker_environment()
    env[ENV_DEAD_LETTER_QUEUE_URL] = dead_letter_queue_url
    return env


def worker_from_settings(
    scope: Construct, construct_id: str, settings: Settings, *, code: lambda_.Code
) -> MutationWorker:
    worker = settings.worker
    topic = (
        sns.Topic.from_topic_arn(scope, "AlarmTopic", worker.alarm_topic_arn)
        if worker.alarm_topic_arn
        else None
    )
    return MutationWorker(
        scope,
        construct_id,
        function_name=worker.function_name,
        execution_role_name=worker.execution_role_name,
        mutator_role_arn=settings.mutator_role_arn,
        session_name=settings.mutator_role.session_name,
        external_id=settings.mutator_role.external_id,
        session_seconds=settings.mutator_role.session_seconds,
        appsync_url=settings.appsync.url,
        region=settings.accounts.region,
        allowed_mutations=settings.appsync.allowed_mutations,
        code=code,
        queue_names=QueueNames(
            source=worker.queue_name,
            dead_letter=worker.dead_letter_queue_name,
            events_dead_letter=events_dead_letter_queue_name(settings),
        ),
        fifo=worker.fifo,
        max_receive_count=worker.max_receive_count,
        batch_size=worker.batch_size,
        batching_window_seconds=worker.batching_window_seconds,
        sqs_max_concurrency=worker.max_function_concurrency,
        event_source=worker.eventbridge_source,
        event_detail_types=[worker.eventbridge_detail_type],
        sqs_senders=settings.producers.sqs_senders,
        event_accounts=settings.producers.eventbridge_accounts,
        event_sources=settings.producers.eventbridge_sources,
        direct_invocation=settings.producers.direct_invocation,
        alarm_topic=topic,
        reserved_concurrency=worker.reserved_concurrency,
        memory_mb=worker.memory_mb,
        timeout_seconds=worker.function_timeout_seconds,
        request_timeout_seconds=worker.request_timeout_seconds,
        max_concurrency=worker.max_concurrency,
        architecture=worker.architecture,
        tracing=worker.tracing,
        snapstart=worker.snapstart,
        log_level=worker.log_level,
        log_retention_days=worker.log_retention_days,
    )


class WorkerStack(cdk.Stack):
    """Everything in account A; the only cross-account link is the mutator role ARN from the settings."""

    def __init__(
        self, scope: Construct, construct_id: str, *, settings: Settings, code_dir: Path, **kwargs: Any
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.worker = worker_from_settings(
            self, WORKER_ID, settings, code=lambda_.Code.from_asset(str(code_dir))
        )
        for child_id, logical_id in STABLE_LOGICAL_IDS.items():
            child = self.worker.node.try_find_child(child_id)
            if child is not None and isinstance(child.node.default_child, cdk.CfnResource):
                child.node.default_child.override_logical_id(logical_id)
        self.queue = self.worker.queue
        self.dead_letter_queue = self.worker.dead_letter_queue
        self.events_dead_letter_queue = self.worker.events_dead_letter_queue
        self.function = self.worker.function
        self.role = self.worker.role
        cdk.CfnOutput(self, "QueueUrl", value=self.queue.queue_url)
        cdk.CfnOutput(self, "DeadLetterQueueUrl", value=self.dead_letter_queue.queue_url)
        cdk.CfnOutput(self, "ExecutionRoleArn", value=self.role.role_arn)
        if self.worker.alias is not None:
            cdk.CfnOutput(self, "LiveAliasArn", value=self.worker.alias.function_arn)
