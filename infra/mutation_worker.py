"""``MutationWorker``: the worker in account A as a construct for any CDK app (Python).

Function, execution role, source queue (or yours), the worker's DLQ, an EventBridge rule on a dedicated bus (or
yours) with its own DLQ, alarms (with your SNS topic as alarm and OK action), a dashboard. Plain props; nothing
here reads the settings file (``infra.worker_stack`` does, for this project's own app).

Only the producers you name can make the worker write; the worker checks the same names itself:
- ``sqs_senders``: the source queue's policy denies ``sqs:SendMessage`` to every principal whose
  ``aws:PrincipalArn`` is not one of them (``ArnNotLike``: ``*`` within a name). An explicit deny binds every
  principal of the account, administrators included, but only for sending: the queue's policy itself stays
  editable (``sqs:SetQueueAttributes``), so nobody is locked out of the queue. Lambda's event source mapping
  receives and deletes (not denied); SQS moving a message to the DLQ after ``maxReceiveCount`` is SQS's own move,
  and the worker writes dead letters to its DLQ, which this policy does not touch. ``replay redrive`` sends to
  the source queue as the operator: name the operator's role among the senders. With no sender named, nobody
  may send. A queue you pass in (``source_queue``) gets the same statement when you name senders (an imported
  queue cannot: its policy is yours).
- ``event_accounts`` / ``event_sources``: the rule lives on a dedicated bus (``<function>-bus``) whose policy
  lets the named foreign accounts put events (the bus's own account needs no grant: its principals' IAM decides),
  and the rule's pattern pins ``account`` and ``source``: an event sent by any other account, or with another
  source, matches nothing. No account named: no bus and no rule.
- The function's resource policy admits only the rule (``events.amazonaws.com`` with the rule's ARN as
  ``SourceArn``); the queue mapping needs none. ``direct_invocation`` (default off) only tells the worker to apply
  directly invoked envelopes: Lambda does not say who invoked, so keep ``lambda:InvokeFunction`` on this function
  out of identity policies.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_destinations as destinations
from aws_cdk import aws_lambda_event_sources as lambda_event_sources
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from project_settings.policies import assume_policy_document
from worker import metrics as worker_metrics
from worker.config import (
    DEFAULT_DIRECT_INVOCATION,
    DEFAULT_MAX_CONCURRENCY,
    DEFAULT_REQUEST_TIMEOUT_SECONDS,
    ENV_DEAD_LETTER_QUEUE_URL,
    ENV_SOURCE_QUEUE_ARN,
    WorkerConfig,
)
from worker.names import ACCOUNT_RE, EVENT_SOURCE_RE, PRODUCER_PRINCIPAL_ARN_RE

from .nag import acknowledge

HANDLER = "worker.handler.lambda_handler"
RUNTIME = lambda_.Runtime.PYTHON_3_12
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
#: The alias the event sources invoke when SnapStart is on (SnapStart applies to published versions only).
SNAPSTART_ALIAS = "live"
ARCHITECTURES = {"arm64": lambda_.Architecture.ARM_64, "x86_64": lambda_.Architecture.X86_64}
#: Lambda's application log filter by the worker's LOG_LEVEL. Never above INFO: Lambda files a JSON line without
#: a "level" (the EMF metric lines) as INFO, so a WARN filter would drop every metric; structlog filters the rest.
_APPLICATION_LOG_LEVEL = {"DEBUG": lambda_.ApplicationLogLevel.DEBUG}

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


@dataclass(frozen=True)
class QueueNames:
    """Names for the queues the construct creates when you pass none in (FIFO when ``source`` ends in .fifo)."""

    source: str
    dead_letter: str
    events_dead_letter: str


def _check_producers(senders: Sequence[str], accounts: Sequence[str], sources: Sequence[str]) -> None:
    """The worker's and the settings' own rules, at synth: ``*`` or a malformed name never reaches a policy."""
    problems = [
        f"sqs_senders: {a!r} is not an IAM role or user ARN"
        for a in senders
        if not PRODUCER_PRINCIPAL_ARN_RE.fullmatch(a)
    ]
    problems += [
        f"event_accounts: {a!r} is not a 12-digit account id" for a in accounts if not ACCOUNT_RE.fullmatch(a)
    ]
    problems += [
        f"event_sources: {s!r} is not an EventBridge source"
        for s in sources
        if not EVENT_SOURCE_RE.fullmatch(s)
    ]
    if problems:
        raise ValueError("producers refused: " + "; ".join(problems))


def _senders_only(queue: sqs.IQueue, senders: Sequence[str]) -> iam.PolicyStatement:
    """Deny ``sqs:SendMessage`` (which also governs SendMessageBatch) to every principal not named."""
    return iam.PolicyStatement(
        sid="OnlyNamedProducersSend",
        effect=iam.Effect.DENY,
        principals=[iam.AnyPrincipal()],
        actions=["sqs:SendMessage"],
        resources=[queue.queue_arn],
        conditions={"ArnNotLike": {"aws:PrincipalArn": list(senders)}} if senders else None,
    )


class MutationWorker(Construct):
    """The worker in account A. Everything it needs from account B is ``mutator_role_arn`` and the session name.

    Pass ``source_queue`` to consume a queue you already have (its redrive policy is yours: give its
    ``max_receive_count``), ``dead_letter_queue`` for the worker's own DLQ, ``event_bus`` for a bus other than the
    dedicated one (a rule is made when ``event_source``/``event_sources`` and ``event_accounts`` are given),
    ``alarm_topic`` for alarm and OK actions. ``sqs_senders``, ``event_accounts``, ``event_sources`` and
    ``direct_invocation`` name the producers (module docstring).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        function_name: str,
        execution_role_name: str,
        mutator_role_arn: str,
        session_name: str,
        appsync_url: str,
        allowed_mutations: Sequence[str],
        code: lambda_.Code,
        region: str | None = None,
        external_id: str | None = None,
        session_seconds: int = 3600,
        queue_names: QueueNames | None = None,
        source_queue: sqs.IQueue | None = None,
        dead_letter_queue: sqs.IQueue | None = None,
        events_dead_letter_queue: sqs.IQueue | None = None,
        fifo: bool = False,
        max_receive_count: int = 5,
        batch_size: int = 10,
        batching_window_seconds: int = 0,
        sqs_max_concurrency: int = 5,
        event_bus: events.IEventBus | None = None,
        event_source: str | None = None,
        event_detail_types: Sequence[str] = ("AppSyncMutation",),
        sqs_senders: Sequence[str] | None = None,
        event_accounts: Sequence[str] = (),
        event_sources: Sequence[str] | None = None,
        direct_invocation: bool = DEFAULT_DIRECT_INVOCATION,
        alarm_topic: sns.ITopic | None = None,
        reserved_concurrency: int | None = 10,
        memory_mb: int = 512,
        timeout_seconds: int = 60,
        request_timeout_seconds: float = DEFAULT_REQUEST_TIMEOUT_SECONDS,
        max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
        architecture: str = "arm64",
        tracing: bool = False,
        snapstart: bool = False,
        log_level: str = "INFO",
        log_retention_days: int = 30,
        source_queue_age_alarm_seconds: int = 1800,
    ) -> None:
        super().__init__(scope, construct_id)
        if architecture not in ARCHITECTURES:
            raise ValueError(f"architecture={architecture!r} must be one of {', '.join(ARCHITECTURES)}")
        if reserved_concurrency is not None and reserved_concurrency < sqs_max_concurrency:
            raise ValueError(
                f"reserved_concurrency={reserved_concurrency} is below sqs_max_concurrency={sqs_max_concurrency}:"
                " the SQS event source would be throttled by the function's own reservation"
            )
        sources = (
            list(event_sources) if event_sources is not None else ([event_source] if event_source else [])
        )
        _check_producers(sqs_senders or (), event_accounts, sources)
        stack = cdk.Stack.of(self)
        signing_region = region or stack.region
        names = queue_names or QueueNames(
            source=f"{function_name}-queue" + (".fifo" if fifo else ""),
            dead_letter=f"{function_name}-dlq" + (".fifo" if fifo else ""),
            events_dead_letter=f"{function_name}-events-dlq",
        )
        self.alarm_topic = alarm_topic
        self.alarms: list[cloudwatch.Alarm] = []

        self.dead_letter_queue = dead_letter_queue or self._queue(
            "DeadLetterQueue", names.dead_letter, fifo=fifo, retained=True, retention_period=DLQ_RETENTION
        )
        if source_queue is None:
            self.queue: sqs.IQueue = self._queue(
                "Queue",
                names.source,
                fifo=fifo,
                visibility_timeout=cdk.Duration.seconds(6 * timeout_seconds + batching_window_seconds),
                dead_letter_queue=sqs.DeadLetterQueue(
                    queue=self.dead_letter_queue, max_receive_count=max_receive_count
                ),
            )
            sqs_senders = sqs_senders or ()  # a queue of ours: nobody named, nobody sends
        else:
            self.queue = source_queue
            if dead_letter_queue is None:
                acknowledge(
                    self.dead_letter_queue,
                    "AwsSolutions-SQS3",
                    "This queue is itself a dead-letter queue: the worker sends its permanent failures here with "
                    "the reason; the source queue passed in has its own redrive policy, so cdk-nag cannot see it.",
                )
        if sqs_senders is not None:
            self.queue.add_to_resource_policy(_senders_only(self.queue, sqs_senders))
        self.events_dead_letter_queue = events_dead_letter_queue or self._queue(
            "EventsDeadLetterQueue",
            names.events_dead_letter,
            fifo=False,
            retained=True,
            retention_period=DLQ_RETENTION,
        )
        if events_dead_letter_queue is None:
            acknowledge(
                self.events_dead_letter_queue,
                "AwsSolutions-SQS3",
                "This queue is itself a dead-letter queue (EventBridge target DLQ and the function's async "
                "on-failure destination); cdk-nag only recognises DLQs named in another queue's redrive policy.",
            )
        self.log_group = logs.LogGroup(
            self,
            "WorkerLogs",
            log_group_name=f"/aws/lambda/{function_name}",
            retention=log_retention(log_retention_days),
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )
        self.role = iam.Role(
            self,
            "ExecutionRole",
            role_name=execution_role_name,
            description="Execution role of the AppSync mutation worker",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            inline_policies={
                "AssumeMutatorRole": iam.PolicyDocument.from_json(assume_policy_document(mutator_role_arn)),
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
        config = WorkerConfig(
            appsync_url=appsync_url,
            role_arn=mutator_role_arn,
            session_name=session_name,
            region=signing_region,
            allowed_mutations=frozenset(allowed_mutations),
            external_id=external_id,
            session_seconds=session_seconds,
            request_timeout=request_timeout_seconds,
            max_concurrency=max_concurrency,
            max_receive_count=max_receive_count,
            log_level=log_level.upper(),
            event_accounts=frozenset(event_accounts),
            event_sources=frozenset(sources),
            direct_invocation=direct_invocation,
        )
        environment = config.to_environ()
        WorkerConfig.from_environ(environment)  # the function's own cold-start validation, at synth
        environment[ENV_DEAD_LETTER_QUEUE_URL] = self.dead_letter_queue.queue_url
        environment[ENV_SOURCE_QUEUE_ARN] = self.queue.queue_arn  # records from any other queue are refused
        self.function = lambda_.Function(
            self,
            "WorkerFunction",
            function_name=function_name,
            description="Sends IAM-signed AppSync mutations to account B",
            runtime=RUNTIME,
            architecture=ARCHITECTURES[architecture],
            handler=HANDLER,
            code=code,
            memory_size=memory_mb,
            timeout=cdk.Duration.seconds(timeout_seconds),
            role=self.role,
            log_group=self.log_group,
            logging_format=lambda_.LoggingFormat.JSON,
            application_log_level_v2=_APPLICATION_LOG_LEVEL.get(
                log_level.upper(), lambda_.ApplicationLogLevel.INFO
            ),
            system_log_level_v2=lambda_.SystemLogLevel.INFO,
            reserved_concurrent_executions=reserved_concurrency,
            tracing=lambda_.Tracing.ACTIVE if tracing else lambda_.Tracing.DISABLED,
            snap_start=lambda_.SnapStartConf.ON_PUBLISHED_VERSIONS if snapstart else None,
            environment=environment,
        )
        acknowledge(
            self.function,
            "AwsSolutions-L1",
            "Python 3.12 is the runtime the worker package is built and tested for (make package pins it).",
        )
        if tracing:
            acknowledge(
                self.role,
                "AwsSolutions-IAM5[Resource::*]",
                "X-Ray's PutTraceSegments and PutTelemetryRecords (added by active tracing) support no "
                "resource-level permissions: Resource * is the only form IAM accepts for them.",
            )
        #: What the event sources invoke: the ``live`` alias of the published version with SnapStart, else $LATEST.
        self.alias: lambda_.Alias | None = None
        self.target: lambda_.IFunction = self.function
        if snapstart:
            self.alias = lambda_.Alias(
                self, "LiveAlias", alias_name=SNAPSTART_ALIAS, version=self.function.current_version
            )
            self.target = self.alias
        self.event_source_mapping_source = lambda_event_sources.SqsEventSource(
            self.queue,
            batch_size=batch_size,
            max_batching_window=(
                cdk.Duration.seconds(batching_window_seconds) if batching_window_seconds else None
            ),
            report_batch_item_failures=True,
            max_concurrency=sqs_max_concurrency,
        )
        self.target.add_event_source(self.event_source_mapping_source)
        self.target.configure_async_invoke(
            retry_attempts=ASYNC_RETRIES,
            max_event_age=ASYNC_MAX_AGE,
            on_failure=destinations.SqsDestination(self.events_dead_letter_queue),
        )
        self.rule: events.Rule | None = None
        self.event_bus: events.IEventBus | None = event_bus
        if sources and event_accounts:
            if self.event_bus is None:
                self.event_bus = self._producer_bus(f"{function_name}-bus", event_accounts)
            self.rule = events.Rule(
                self,
                "MutationEvents",
                rule_name=f"{function_name}-events",
                description="EventBridge events that carry a mutation envelope in their detail",
                event_bus=self.event_bus,
                event_pattern=events.EventPattern(
                    source=sources, detail_type=list(event_detail_types), account=list(event_accounts)
                ),
                targets=[
                    targets.LambdaFunction(
                        self.target,
                        dead_letter_queue=self.events_dead_letter_queue,
                        retry_attempts=EVENT_DELIVERY_RETRIES,
                        max_event_age=EVENT_MAX_AGE,
                    )
                ],
            )
        self._function_alarms()
        self._alarm(
            "SourceQueueAgeAlarm",
            self.queue.metric_approximate_age_of_oldest_message(
                period=cdk.Duration.minutes(5), statistic="Maximum"
            ),
            threshold=source_queue_age_alarm_seconds,
            description=f"A message has waited {source_queue_age_alarm_seconds} s or more on the source queue: "
            "the worker is behind, throttled or failing",
        )
        self._alarm(
            "RefusedProducersAlarm",
            self.worker_metric(worker_metrics.REFUSED),
            threshold=1,
            description="The worker refused a record from a producer the settings do not name (another queue, "
            "account or source, or a direct invocation): misconfiguration or someone trying; record_refused in "
            "the function's logs names the producer",
        )
        for alarm_id, queue in (
            ("DeadLetterQueue", self.dead_letter_queue),
            ("EventsDeadLetterQueue", self.events_dead_letter_queue),
        ):
            self._dead_letter_alarms(alarm_id, queue)
        self.dashboard = self._dashboard(function_name)
        self._drop_redundant_role_dependency()

    # --- resources ---------------------------------------------------------------------------------------
    def _producer_bus(self, name: str, accounts: Sequence[str]) -> events.EventBus:
        """A bus of the worker's own: only the named accounts may put events on it (the rule pins them too)."""
        bus = events.EventBus(self, "MutationBus", event_bus_name=name)
        own = cdk.Stack.of(self).account
        foreign = sorted(a for a in accounts if a != own)
        if foreign:
            bus.add_to_resource_policy(
                iam.PolicyStatement(
                    sid="NamedProducerAccounts",
                    principals=[iam.AccountPrincipal(account) for account in foreign],
                    actions=["events:PutEvents"],
                    resources=[bus.event_bus_arn],
                )
            )
        return bus

    def _queue(
        self, construct_id: str, name: str, *, fifo: bool, retained: bool = False, **props: object
    ) -> sqs.Queue:
        return sqs.Queue(
            self,
            construct_id,
            queue_name=name,
            fifo=fifo or None,
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            # Dead letters outlive the stack: deleting or replacing it must not delete them.
            removal_policy=cdk.RemovalPolicy.RETAIN if retained else None,
            **props,  # type: ignore[arg-type]
        )

    def _drop_redundant_role_dependency(self) -> None:
        """Keep only DependsOn the role's default policy: the role itself is ordered by ``Role: GetAtt``.

        CDK lists both; cfn-lint flags the redundant one (W3005).
        """
        function_resource = self.function.node.default_child
        default_policy = self.role.node.try_find_child("DefaultPolicy")
        assert isinstance(function_resource, cdk.CfnResource) and isinstance(default_policy, iam.Policy)
        policy_resource = default_policy.node.default_child
        assert isinstance(policy_resource, cdk.CfnResource)
        function_resource.add_override("DependsOn", [cdk.Stack.of(self).get_logical_id(policy_resource)])

    # --- alarms ------------------------------------------------------------------------------------------
    def _alarm(
        self, construct_id: str, metric: cloudwatch.Metric, *, threshold: float, description: str
    ) -> cloudwatch.Alarm:
        alarm = metric.create_alarm(
            self,
            construct_id,
            alarm_description=description,
            threshold=threshold,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        if self.alarm_topic is not None:
            action = cloudwatch_actions.SnsAction(self.alarm_topic)
            alarm.add_alarm_action(action)
            alarm.add_ok_action(action)
        self.alarms.append(alarm)
        return alarm

    def _function_alarms(self) -> None:
        period = cdk.Duration.minutes(5)
        self._alarm(
            "FunctionErrorsAlarm",
            self.function.metric_errors(period=period, statistic="Sum"),
            threshold=1,
            description="The worker raised: an EventBridge event left for Lambda's retry, an unrecognised event "
            "or a broken environment (see the function's logs)",
        )
        self._alarm(
            "FunctionThrottlesAlarm",
            self.function.metric_throttles(period=period, statistic="Sum"),
            threshold=1,
            description="Invocations were throttled (reserved concurrency reached, or the account's limit)",
        )

    def _dead_letter_alarms(self, construct_id: str, queue: sqs.IQueue) -> None:
        """Any dead letter alarms at once; one left unhandled for a day alarms again."""
        period = cdk.Duration.minutes(1)
        self._alarm(
            f"{construct_id}DepthAlarm",
            queue.metric_approximate_number_of_messages_visible(period=period, statistic="Maximum"),
            threshold=1,
            description=f"Messages are waiting in {queue.node.id}: inspect and redrive them",
        )
        self._alarm(
            f"{construct_id}AgeAlarm",
            queue.metric_approximate_age_of_oldest_message(period=period, statistic="Maximum"),
            threshold=DLQ_AGE_ALARM_SECONDS,
            description=f"A message in {queue.node.id} has been left unhandled for a day",
        )

    # --- dashboard ---------------------------------------------------------------------------------------
    def worker_metric(self, name: str, statistic: str = "Sum", **dimensions: str) -> cloudwatch.Metric:
        """One of the worker's EMF metrics (``worker.metrics``), for this function."""
        return cloudwatch.Metric(
            namespace=worker_metrics.NAMESPACE,
            metric_name=name,
            dimensions_map={worker_metrics.FUNCTION_DIMENSION: self.function.function_name, **dimensions},
            statistic=statistic,
            period=cdk.Duration.minutes(5),
        )

    def _dashboard(self, function_name: str) -> cloudwatch.Dashboard:
        m = worker_metrics
        dashboard = cloudwatch.Dashboard(self, "Dashboard", dashboard_name=f"{function_name}-worker")
        dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Outcomes",
                left=[
                    self.worker_metric(name)
                    for name in (
                        m.APPLIED,
                        m.ALREADY_APPLIED,
                        m.SUPERSEDED,
                        m.DEAD_LETTERED,
                        m.LEFT_FOR_RETRY,
                        m.REFUSED,
                    )
                ],
                width=12,
            ),
            cloudwatch.GraphWidget(
                title="Attempts, retries, AssumeRole calls",
                left=[self.worker_metric(name) for name in (m.ATTEMPTS, m.RETRIES, m.ASSUME_ROLE_CALLS)],
                width=12,
            ),
        )
        dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="AppSync latency (ms, per record sent)",
                left=[
                    self.worker_metric(m.APPSYNC_LATENCY, statistic)
                    for statistic in ("p50", "p90", "Maximum")
                ],
                width=12,
            ),
            cloudwatch.GraphWidget(
                title="Function",
                left=[
                    self.function.metric_invocations(statistic="Sum"),
                    self.function.metric_errors(statistic="Sum"),
                    self.function.metric_throttles(statistic="Sum"),
                ],
                right=[self.function.metric_duration(statistic="p90")],
                width=12,
            ),
        )
        dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Queues: oldest message (s)",
                left=[
                    q.metric_approximate_age_of_oldest_message(statistic="Maximum")
                    for q in (self.queue, self.dead_letter_queue, self.events_dead_letter_queue)
                ],
                width=12,
            ),
            cloudwatch.AlarmStatusWidget(title="Alarms", alarms=list(self.alarms), width=12),
        )
        return dashboard
