"""Infra names the producers: the synthesized account-A template shows each policy.

- The source queue's policy denies ``sqs:SendMessage`` to every principal whose ``aws:PrincipalArn`` is not a
  named sender; with none named, to everyone. Nothing else is denied (the queue stays administrable).
- The rule lives on a dedicated bus whose policy admits only the named foreign accounts, and pins ``account``.
- The function's resource policy admits only the rule; with no account named there is no bus, rule or permission.
- The worker's environment names the same queue, accounts and sources; ``*`` never reaches a policy.
"""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_lambda as lambda_

from infra.extract import resources_of_type, worker_environment_from
from infra.intrinsics import Resolver
from infra.mutation_worker import MutationWorker
from infra.synth import Synthesized, synthesize
from project_settings import Settings

FOREIGN = "333333333333"


def _send_denies(template: dict[str, Any], queue_name: str) -> list[dict[str, Any]]:
    [queue_id] = [
        lid
        for lid, r in resources_of_type(template, "AWS::SQS::Queue").items()
        if r["Properties"].get("QueueName") == queue_name
    ]
    return [
        statement
        for policy in resources_of_type(template, "AWS::SQS::QueuePolicy").values()
        if {"Ref": queue_id} in policy["Properties"]["Queues"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if statement["Effect"] == "Deny" and statement.get("Action") == "sqs:SendMessage"
    ]


@pytest.fixture(scope="module")
def cross_account(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    changed = settings.with_changes(
        producers={
            "eventbridge_accounts": (settings.accounts.worker, FOREIGN),
            "eventbridge_sources": ("com.example.orders", "com.example.refunds"),
            "sqs_senders": (),
        }
    )
    return synthesize(
        changed, outdir=tmp_path_factory.mktemp("synth-producers") / "cdk.out", package_dir=None
    )


def test_only_the_named_senders_may_send_to_the_source_queue(
    template_a: dict[str, Any], settings: Settings
) -> None:
    [deny] = _send_denies(template_a, settings.worker.queue_name)
    assert deny["Principal"] == {"AWS": "*"}
    assert deny["Condition"] == {"ArnNotLike": {"aws:PrincipalArn": list(settings.producers.sqs_senders)}}
    resolved = Resolver(template_a, settings.accounts.worker, settings.accounts.region).resolve(
        deny["Resource"]
    )
    assert resolved == settings.source_queue_arn
    # the dead-letter queues are not the producers' door: the worker (and SQS's redrive) write there
    assert _send_denies(template_a, settings.worker.dead_letter_queue_name) == []


def test_no_sender_named_means_nobody_sends(cross_account: Synthesized, settings: Settings) -> None:
    [deny] = _send_denies(cross_account.account_a, settings.worker.queue_name)
    assert "Condition" not in deny and deny["Principal"] == {"AWS": "*"}


def test_the_rule_is_on_a_dedicated_bus_that_admits_only_named_accounts(
    template_a: dict[str, Any], cross_account: Synthesized, settings: Settings
) -> None:
    # own account only: the bus has no policy (its own principals' IAM decides), the rule pins the account
    [(bus_id, bus)] = resources_of_type(template_a, "AWS::Events::EventBus").items()
    assert bus["Properties"]["Name"] == f"{settings.worker.function_name}-bus"
    assert resources_of_type(template_a, "AWS::Events::EventBusPolicy") == {}
    [rule] = resources_of_type(template_a, "AWS::Events::Rule").values()
    assert rule["Properties"]["EventBusName"] == {"Ref": bus_id}
    # a foreign account named: the bus's policy lets that account, and only it, put events
    template = cross_account.account_a
    [(bus_id, _bus)] = resources_of_type(template, "AWS::Events::EventBus").items()
    policies = [p["Properties"] for p in resources_of_type(template, "AWS::Events::EventBusPolicy").values()]
    statements = [p["Statement"] for p in policies]
    assert len(statements) == 1
    [statement] = statements
    assert statement["Effect"] == "Allow" and statement["Action"] == "events:PutEvents"
    resolver = Resolver(template, settings.accounts.worker, settings.accounts.region)
    assert resolver.resolve(statement["Principal"]) == {"AWS": f"arn:aws:iam::{FOREIGN}:root"}
    assert resolver.resolve(statement["Resource"]) == (
        f"arn:aws:events:{settings.accounts.region}:{settings.accounts.worker}:event-bus/"
        f"{settings.worker.function_name}-bus"
    )
    [rule] = resources_of_type(template, "AWS::Events::Rule").values()
    pattern = rule["Properties"]["EventPattern"]
    assert pattern["account"] == [settings.accounts.worker, FOREIGN]
    assert pattern["source"] == ["com.example.orders", "com.example.refunds"]
    env = worker_environment_from(template, settings)
    assert env["EVENT_ACCOUNTS"] == ",".join(sorted([settings.accounts.worker, FOREIGN]))
    assert env["EVENT_SOURCES"] == "com.example.orders,com.example.refunds"
    assert env["SOURCE_QUEUE_ARN"] == settings.source_queue_arn and env["DIRECT_INVOCATION"] == "false"


def test_the_function_admits_only_the_rule(template_a: dict[str, Any]) -> None:
    [permission] = resources_of_type(template_a, "AWS::Lambda::Permission").values()
    [rule_id] = resources_of_type(template_a, "AWS::Events::Rule")
    assert permission["Properties"]["Principal"] == "events.amazonaws.com"
    assert permission["Properties"]["SourceArn"] == {"Fn::GetAtt": [rule_id, "Arn"]}


def _worker(**producers: Any) -> cdk.Stack:
    app = cdk.App(analytics_reporting=False)
    stack = cdk.Stack(app, "S", env=cdk.Environment(account="111111111111", region="eu-west-1"))
    MutationWorker(
        stack,
        "W",
        function_name="w",
        execution_role_name="w-exec",
        mutator_role_arn="arn:aws:iam::222222222222:role/M",
        session_name="pinned",
        appsync_url="https://abc.appsync-api.eu-west-1.amazonaws.com/graphql",
        allowed_mutations=["createTodo"],
        code=lambda_.Code.from_inline("x"),
        **producers,
    )
    return stack


def test_no_account_named_means_no_bus_no_rule_no_permission() -> None:
    template = cdk.assertions.Template.from_stack(_worker(event_source="com.example.orders")).to_json()
    for kind in ("AWS::Events::EventBus", "AWS::Events::Rule", "AWS::Lambda::Permission"):
        assert resources_of_type(template, kind) == {}, kind


@pytest.mark.parametrize(
    "producers",
    [
        {"sqs_senders": ["*"]},
        {"sqs_senders": ["arn:aws:iam::111111111111:role/*"]},
        {"sqs_senders": ["arn:aws:iam::111111111111:root"]},
        {"event_accounts": ["*"], "event_source": "com.example.orders"},
        {"event_accounts": ["111111111111"], "event_sources": ["com.example.*"]},
        {"event_accounts": ["111111111111"], "event_sources": ["aws.s3"]},
    ],
)
def test_a_wildcard_producer_never_reaches_a_policy(producers: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="producers refused"):
        _worker(**producers)
