"""Account A: function, execution role (least privilege), queues, event source mapping, rule, alarms, logs."""

from __future__ import annotations

from typing import Any

from aws_cdk import assertions

from infra.extract import (
    execution_role_policies_from,
    resources_of_type,
    worker_environment_from,
    worker_function_properties,
)
from infra.policy_checks import wildcard_findings
from infra.synth import Synthesized
from project_settings import Settings
from project_settings.policies import execution_role_assume_policy
from worker.config import WorkerConfig

DLQ_URL = "https://sqs.us-east-1.amazonaws.com/111111111111/appsync-mutations-dlq"
DLQ_ARN = "arn:aws:sqs:us-east-1:111111111111:appsync-mutations-dlq"
QUEUE_ARN = "arn:aws:sqs:us-east-1:111111111111:appsync-mutations"
EVENTS_DLQ_ARN = "arn:aws:sqs:us-east-1:111111111111:appsync-mutation-worker-events-dlq"
LOG_GROUP_ARN = "arn:aws:logs:us-east-1:111111111111:log-group:/aws/lambda/appsync-mutation-worker:*"


def _queue(template: dict[str, Any], name: str) -> dict[str, Any]:
    [props] = [
        r["Properties"]
        for r in resources_of_type(template, "AWS::SQS::Queue").values()
        if r["Properties"]["QueueName"] == name
    ]
    return dict(props)


def test_function_runtime_handler_and_sizes(assert_a: assertions.Template, settings: Settings) -> None:
    assert_a.resource_count_is("AWS::Lambda::Function", 1)
    assert_a.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "FunctionName": "appsync-mutation-worker",
            "Runtime": "python3.12",
            "Handler": "worker.handler.lambda_handler",
            "MemorySize": settings.worker.memory_mb,
            "Timeout": settings.worker.function_timeout_seconds,
        },
    )


def test_environment_is_the_settings_environment_with_the_dlq_url(
    template_a: dict[str, Any], settings: Settings
) -> None:
    raw = worker_function_properties(template_a)["Environment"]["Variables"]
    [dlq_id] = [
        lid
        for lid, r in resources_of_type(template_a, "AWS::SQS::Queue").items()
        if r["Properties"]["QueueName"] == "appsync-mutations-dlq"
    ]
    assert raw["DEAD_LETTER_QUEUE_URL"] == {"Ref": dlq_id}
    env = worker_environment_from(template_a, settings)
    assert env == settings.worker_environment(dead_letter_queue_url=DLQ_URL)
    config = WorkerConfig.from_environ(env)
    assert config.session_name == settings.mutator_role.session_name
    assert config.role_arn == settings.mutator_role_arn
    assert config.max_receive_count == settings.worker.max_receive_count
    sandbox_url = "http://127.0.0.1:4566/111111111111/appsync-mutations-dlq"
    assert (
        worker_environment_from(template_a, settings, dead_letter_queue_url=sandbox_url)[
            "DEAD_LETTER_QUEUE_URL"
        ]
        == sandbox_url
    )


def test_execution_role_has_the_fixed_name_and_lambda_trust(
    assert_a: assertions.Template, settings: Settings
) -> None:
    assert_a.resource_count_is("AWS::IAM::Role", 1)
    assert_a.has_resource_properties(
        "AWS::IAM::Role",
        {
            "RoleName": settings.worker.execution_role_name,
            "AssumeRolePolicyDocument": {
                "Statement": [
                    {
                        "Action": "sts:AssumeRole",
                        "Effect": "Allow",
                        "Principal": {"Service": "lambda.amazonaws.com"},
                    }
                ],
                "Version": "2012-10-17",
            },
        },
    )
    role = next(iter(resources_of_type(assert_a.to_json(), "AWS::IAM::Role").values()))["Properties"]
    assert "ManagedPolicyArns" not in role


def test_execution_role_permissions_are_exactly_these(template_a: dict[str, Any], settings: Settings) -> None:
    policies = execution_role_policies_from(template_a, settings)
    granted = sorted(
        (action, resource)
        for document in policies.values()
        for statement in document["Statement"]
        for action in _as_list(statement["Action"])
        for resource in _as_list(statement["Resource"])
        if statement["Effect"] == "Allow"
    )
    assert granted == sorted(
        [
            ("sts:AssumeRole", settings.mutator_role_arn),
            ("sqs:SendMessage", DLQ_ARN),
            ("logs:CreateLogStream", LOG_GROUP_ARN),
            ("logs:PutLogEvents", LOG_GROUP_ARN),
            # the event source mapping polls the source queue
            *[
                (a, QUEUE_ARN)
                for a in (
                    "sqs:ReceiveMessage",
                    "sqs:ChangeMessageVisibility",
                    "sqs:GetQueueUrl",
                    "sqs:DeleteMessage",
                    "sqs:GetQueueAttributes",
                )
            ],
            # the async on-failure destination (EventBridge invocations that still fail after retries)
            *[(a, EVENTS_DLQ_ARN) for a in ("sqs:SendMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl")],
        ]
    )
    assert policies["AssumeMutatorRole"] == execution_role_assume_policy(settings)
    for name, document in policies.items():
        # The only "*": the log streams of the function's own log group (CreateLogStream/PutLogEvents need them).
        allowed = [f"WriteOwnLogGroup: resource {LOG_GROUP_ARN}"] if name == "Logs" else []
        assert wildcard_findings(document) == allowed, name


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_source_queue_redrive_visibility_and_encryption(
    template_a: dict[str, Any], settings: Settings
) -> None:
    queue = _queue(template_a, "appsync-mutations")
    assert queue["VisibilityTimeout"] >= 6 * settings.worker.function_timeout_seconds
    assert queue["SqsManagedSseEnabled"] is True
    assert queue["RedrivePolicy"]["maxReceiveCount"] == settings.worker.max_receive_count
    dlq_id = queue["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
    assert template_a["Resources"][dlq_id]["Properties"]["QueueName"] == "appsync-mutations-dlq"
    assert "FifoQueue" not in queue


def test_every_queue_is_encrypted_and_refuses_plain_http(template_a: dict[str, Any]) -> None:
    queues = resources_of_type(template_a, "AWS::SQS::Queue")
    assert len(queues) == 3
    policies = resources_of_type(template_a, "AWS::SQS::QueuePolicy").values()
    for logical_id, queue in queues.items():
        assert queue["Properties"]["SqsManagedSseEnabled"] is True
        denies = [
            s
            for p in policies
            if {"Ref": logical_id} in p["Properties"]["Queues"]
            for s in p["Properties"]["PolicyDocument"]["Statement"]
            if s["Effect"] == "Deny"
        ]
        assert denies and denies[0]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_dead_letter_queues_keep_messages_fourteen_days(template_a: dict[str, Any]) -> None:
    for name in ("appsync-mutations-dlq", "appsync-mutation-worker-events-dlq"):
        assert _queue(template_a, name)["MessageRetentionPeriod"] == 14 * 24 * 3600


def test_event_source_mapping(assert_a: assertions.Template, settings: Settings) -> None:
    assert_a.resource_count_is("AWS::Lambda::EventSourceMapping", 1)
    assert_a.has_resource_properties(
        "AWS::Lambda::EventSourceMapping",
        {
            "BatchSize": settings.worker.batch_size,
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
            "ScalingConfig": {"MaximumConcurrency": settings.worker.max_function_concurrency},
            "MaximumBatchingWindowInSeconds": assertions.Match.absent(),
        },
    )


def test_eventbridge_rule_targets_the_function_with_its_own_dlq_and_retries(
    template_a: dict[str, Any],
) -> None:
    [rule] = resources_of_type(template_a, "AWS::Events::Rule").values()
    props = rule["Properties"]
    assert props["EventPattern"] == {
        "source": ["com.example.orders"],
        "detail-type": ["AppSyncMutation"],
        "account": ["111111111111"],  # the producers' accounts (settings [producers]), pinned
    }
    [target] = props["Targets"]
    function_id = next(iter(resources_of_type(template_a, "AWS::Lambda::Function")))
    assert target["Arn"] == {"Fn::GetAtt": [function_id, "Arn"]}
    events_dlq_id = target["DeadLetterConfig"]["Arn"]["Fn::GetAtt"][0]
    assert (
        template_a["Resources"][events_dlq_id]["Properties"]["QueueName"]
        == "appsync-mutation-worker-events-dlq"
    )
    assert target["RetryPolicy"] == {"MaximumRetryAttempts": 8, "MaximumEventAgeInSeconds": 7200}
    [invoke_config] = resources_of_type(template_a, "AWS::Lambda::EventInvokeConfig").values()
    assert invoke_config["Properties"]["DestinationConfig"]["OnFailure"]["Destination"] == {
        "Fn::GetAtt": [events_dlq_id, "Arn"]
    }
    assert invoke_config["Properties"]["MaximumRetryAttempts"] == 2
    [permission] = resources_of_type(template_a, "AWS::Lambda::Permission").values()
    assert permission["Properties"]["Principal"] == "events.amazonaws.com"
    [rule_id] = resources_of_type(template_a, "AWS::Events::Rule")
    assert permission["Properties"]["SourceArn"] == {"Fn::GetAtt": [rule_id, "Arn"]}  # the rule, nothing else


def test_alarms_on_depth_and_age_of_both_dead_letter_queues(template_a: dict[str, Any]) -> None:
    names = {
        lid: r["Properties"]["QueueName"]
        for lid, r in resources_of_type(template_a, "AWS::SQS::Queue").items()
    }
    watched = set()
    for alarm in resources_of_type(template_a, "AWS::CloudWatch::Alarm").values():
        props = alarm["Properties"]
        if props["Namespace"] != "AWS/SQS":
            continue
        [dimension] = props["Dimensions"]
        queue_id = dimension["Value"]["Fn::GetAtt"][0]
        watched.add((names[queue_id], props["MetricName"]))
        assert props["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
        assert props["TreatMissingData"] == "notBreaching"
        if props["MetricName"] == "ApproximateNumberOfMessagesVisible":
            assert props["Threshold"] == 1
        elif names[queue_id] != "appsync-mutations":
            assert props["Threshold"] == 24 * 3600
    assert watched == {
        (queue, metric)
        for queue in ("appsync-mutations-dlq", "appsync-mutation-worker-events-dlq")
        for metric in ("ApproximateNumberOfMessagesVisible", "ApproximateAgeOfOldestMessage")
    } | {("appsync-mutations", "ApproximateAgeOfOldestMessage")}


def test_log_group_retention_and_function_logs_there(template_a: dict[str, Any], settings: Settings) -> None:
    [(log_id, log_group)] = resources_of_type(template_a, "AWS::Logs::LogGroup").items()
    assert log_group["Properties"] == {
        "LogGroupName": "/aws/lambda/appsync-mutation-worker",
        "RetentionInDays": settings.worker.log_retention_days,
    }
    assert log_group["DeletionPolicy"] == "Retain"
    assert worker_function_properties(template_a)["LoggingConfig"] == {
        "LogGroup": {"Ref": log_id},
        "LogFormat": "JSON",
        "ApplicationLogLevel": "INFO",
        "SystemLogLevel": "INFO",
    }


def test_fifo_settings_make_fifo_queues(fifo_synthesized: Synthesized) -> None:
    template = fifo_synthesized.account_a
    for name in ("appsync-mutations.fifo", "appsync-mutations-dlq.fifo"):
        assert _queue(template, name)["FifoQueue"] is True
    assert "FifoQueue" not in _queue(template, "appsync-mutation-worker-events-dlq")
