"""Account A: the worker function, its execution role, queues, EventBridge rule, alarms and logs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_destinations as destinations
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.nag import acknowledge
from infra.names import FUNCTION_ID, events_dead_letter_queue_name, log_group_name
from project_settings import Settings
from project_settings.policies import execution_role_assume_policy
from worker.config import ENV_DEAD_LETTER_QUEUE_URL

HANDLER = "worker.handler.lambda_handler"
RUNTIME = lambda_.Runtime.PYTHON_3_12
ARCHITECTURE = lambda_.Architecture.X86_64
#: Dead letters wait for a human: keep them as long as SQS allows.
DLQ_RETENTION = cdk.Duration.days(14)
#: A dead letter nobody handled for a day re-alarms, leaving 13 days to redrive it before SQS drops it.
DLQ_AGE_ALARM_SECONDS = 24 * 3600
#: EventBridge -> Lambda delivery (throttling, permission) retries; its failures go to the events DLQ.
EVENT_DELIVERY_RETRIES = 8
EVENT_MAX_AGE = cdk.Duration.hours(2)
#: Lambda's own retries of an asynchronous (EventBridge) invocation that raised: a transient failure.
ASYNC_RETRIES = 2
ASYNC_MAX_AGE = cdk.Duration.hours(1)

_RETENTION = {
    1: logs.RetentionDays.ONE_DAY,
    3: logs.RetentionDays.THREE_DAYS,
    5: logs.RetentionDays.FIVE_DAYS,
    7: logs.RetentionDays.ONE_WEEK,
    14: logs.RetentionDays.TWO_WEEKS,
    30: logs.RetentionDays.ONE_MONTH,
    60: logs.RetentionDays.TWO_MONTHS,
    90: logs.RetentionDays.THREE_MONTHS,
    120: logs.RetentionDays.FOUR_MONTHS,
    150: logs.RetentionDays.FIVE_MONTHS,
    180: logs.RetentionDays.SIX_MONTHS,
    365: logs.RetentionDays.ONE_YEAR,
    400: logs.RetentionDays.THIRTEEN_MONTHS,
    545: logs.RetentionDays.EIGHTEEN_MONTHS,
    731: logs.RetentionDays.TWO_YEARS,
    1096: logs.RetentionDays.THREE_YEARS,
    1827: logs.RetentionDays.FIVE_YEARS,
    2192: logs.RetentionDays.SIX_YEARS,
    2557: logs.RetentionDays.SEVEN_YEARS,
    2922: logs.RetentionDays.EIGHT_YEARS,
    3288: logs.RetentionDays.NINE_YEARS,
    3653: logs.RetentionDays.TEN_YEARS,
}


def log_retention(days: int) -> logs.RetentionDays:
    """CloudWatch Logs accepts only certain retention periods; refuse others at synth, not at deploy."""
    try:
        return _RETENTION[days]
    except KeyError:
        allowed = ", ".join(str(d) for d in _RETENTION)
        raise ValueError(
            f"worker.log_retention_days={days} is not a CloudWatch Logs retention period; use one of {allowed}"
        ) from None


def visibility_timeout_seconds(settings: Settings) -> int:
    """At least 6x the function timeout (AWS guidance for SQS event sources) plus the batching window."""
    return 6 * settings.worker.function_timeout_seconds + settings.worker.batching_window_seconds


def function_environment(settings: Settings, dead_letter_queue_url: str) -> dict[str, str]:
    """The worker's environment: validated by the worker's own parser, with the DLQ URL as a CDK token.

    ``settings.worker_environment`` cannot validate an unresolved token, so the rest is validated without the
    URL and the URL (a ``Ref`` to the queue) is added afterwards.
    """
    env = settings.worker_environment()
    env[ENV_DEAD_LETTER_QUEUE_URL] = dead_letter_queue_url
    return env


class WorkerStack(cdk.Stack):
    """Everything in account A; the only cross-account link is the mutator role ARN from the settings."""

    def __init__(
        self, scope: Construct, construct_id: str, *, settings: Settings, code_dir: Path, **kwargs: Any
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        worker = settings.worker
        self.dead_letter_queue = self._queue(
            "DeadLetterQueue", worker.dead_letter_queue_name, fifo=worker.fifo, retention_period=DLQ_RETENTION
        )
        self.queue = self._queue(
            "Queue",
            worker.queue_name,
            fifo=worker.fifo,
            visibility_timeout=cdk.Duration.seconds(visibility_timeout_seconds(settings)),
            dead_letter_queue=sqs.DeadLetterQueue(
                queue=self.dead_letter_queue, max_receive_count=worker.max_receive_count
            ),
        )
        self.events_dead_letter_queue = self._queue(
            "EventsDeadLetterQueue",
            events_dead_letter_queue_name(settings),
            fifo=False,
            retention_period=DLQ_RETENTION,
        )
        acknowledge(
            self.events_dead_letter_queue,
            "AwsSolutions-SQS3",
            "This queue is itself a dead-letter queue (EventBridge target DLQ and the function's async on-failure "
            "destination); cdk-nag only recognises DLQs named in another queue's redrive policy.",
        )
        self.log_group = logs.LogGroup(
            self,
            "WorkerLogs",
            log_group_name=log_group_name(settings),
            retention=log_retention(worker.log_retention_days),
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )
        self.role = self._execution_role(settings)
        self.function = lambda_.Function(
            self,
            FUNCTION_ID,
            function_name=worker.function_name,
            description="Sends IAM-signed AppSync mutations to account B",
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            handler=HANDLER,
            code=lambda_.Code.from_asset(str(code_dir)),
            memory_size=worker.memory_mb,
            timeout=cdk.Duration.seconds(worker.function_timeout_seconds),
            role=self.role,
            log_group=self.log_group,
            environment=function_environment(settings, self.dead_letter_queue.queue_url),
        )
        acknowledge(
            self.function,
            "AwsSolutions-L1",
            "Python 3.12 is the runtime the worker package is built and tested for (make package pins it).",
        )
        self.function.add_event_source(
            event_sources.SqsEventSource(
                self.queue,
                batch_size=worker.batch_size,
                max_batching_window=(
                    cdk.Duration.seconds(worker.batching_window_seconds)
                    if worker.batching_window_seconds
                    else None
                ),
                report_batch_item_failures=True,
                max_concurrency=worker.max_function_concurrency,
            )
        )
        self.function.configure_async_invoke(
            retry_attempts=ASYNC_RETRIES,
            max_event_age=ASYNC_MAX_AGE,
            on_failure=destinations.SqsDestination(self.events_dead_letter_queue),
        )
        self.rule = events.Rule(
            self,
            "MutationEvents",
            rule_name=f"{worker.function_name}-events",
            description="EventBridge events that carry a mutation envelope in their detail",
            event_pattern=events.EventPattern(
                source=[worker.eventbridge_source], detail_type=[worker.eventbridge_detail_type]
            ),
            targets=[
                targets.LambdaFunction(
                    self.function,
                    dead_letter_queue=self.events_dead_letter_queue,
                    retry_attempts=EVENT_DELIVERY_RETRIES,
                    max_event_age=EVENT_MAX_AGE,
                )
            ],
        )
        for construct_id, queue in (
            ("DeadLetterQueue", self.dead_letter_queue),
            ("EventsDeadLetterQueue", self.events_dead_letter_queue),
        ):
            self._dead_letter_alarms(construct_id, queue)
        self._drop_redundant_role_dependency()
        cdk.CfnOutput(self, "QueueUrl", value=self.queue.queue_url)
        cdk.CfnOutput(self, "DeadLetterQueueUrl", value=self.dead_letter_queue.queue_url)
        cdk.CfnOutput(self, "ExecutionRoleArn", value=self.role.role_arn)

    def _drop_redundant_role_dependency(self) -> None:
        """Keep only DependsOn the role's default policy: the role itself is ordered by ``Role: GetAtt``.

        CDK lists both; cfn-lint flags the redundant one (W3005).
        """
        function_resource = self.function.node.default_child
        default_policy = self.role.node.try_find_child("DefaultPolicy")
        assert isinstance(function_resource, cdk.CfnResource) and isinstance(default_policy, iam.Policy)
        policy_resource = default_policy.node.default_child
        assert isinstance(policy_resource, cdk.CfnResource)
        function_resource.add_override("DependsOn", [self.get_logical_id(policy_resource)])

    def _queue(self, construct_id: str, name: str, *, fifo: bool, **props: Any) -> sqs.Queue:
        queue = sqs.Queue(
            self,
            construct_id,
            queue_name=name,
            fifo=fifo or None,
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            **props,
        )
        return queue

    def _execution_role(self, settings: Settings) -> iam.Role:
        """Fixed name: the account-B trust policy names this role's ARN in ``aws:PrincipalArn``."""
        role = iam.Role(
            self,
            "ExecutionRole",
            role_name=settings.worker.execution_role_name,
            description="Execution role of the AppSync mutation worker",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            inline_policies={
                "AssumeMutatorRole": iam.PolicyDocument.from_json(execution_role_assume_policy(settings)),
                "DeadLetters": iam.PolicyDocument(
                    statements=[
                        iam.PolicyStatement(
                            sid="SendDeadLetters",
                            actions=["sqs:SendMessage"],
                            resources=[self.dead_letter_queue.queue_arn],
                        )
                    ]
                ),
                "Logs": iam.PolicyDocument(
                    statements=[
                        iam.PolicyStatement(
                            sid="WriteOwnLogGroup",
                            actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                            resources=[self.log_group.log_group_arn],
                        )
                    ]
                ),
            },
        )
        return role

    def _dead_letter_alarms(self, construct_id: str, queue: sqs.Queue) -> None:
        """Any dead letter alarms at once; one left unhandled for a day alarms again."""
        period = cdk.Duration.minutes(1)
        queue.metric_approximate_number_of_messages_visible(period=period, statistic="Maximum").create_alarm(
            self,
            f"{construct_id}DepthAlarm",
            alarm_description=f"Messages are waiting in {queue.node.id}: inspect and redrive them",
            threshold=1,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        queue.metric_approximate_age_of_oldest_message(period=period, statistic="Maximum").create_alarm(
            self,
            f"{construct_id}AgeAlarm",
            alarm_description=f"A message in {queue.node.id} has been left unhandled for a day",
            threshold=DLQ_AGE_ALARM_SECONDS,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
