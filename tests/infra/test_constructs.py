"""The constructs inside someone else's CDK app: an existing queue, topic and event bus passed in,
cdk-nag and cfn-lint clean, the same policy documents as this project's own stacks, and no ``infra`` clash."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_events as events
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from cfnlint.api import ManualArgs, lint_file

from infra.extract import mutator_identity_policy_from, mutator_trust_policy_from, resources_of_type
from infra.mutation_worker import MutationWorker
from infra.mutator_role import MutatorRole
from infra.nag import add_checks
from infra.packaging import PROJECT_ROOT
from project_settings import Settings

SHOP_ACCOUNT = "333333333333"
API_ACCOUNT = "444444444444"
TOPIC_ARN = f"arn:aws:sns:eu-west-1:{SHOP_ACCOUNT}:shop-ops"
ROLE_ARN = f"arn:aws:iam::{API_ACCOUNT}:role/ShopMutator"
API_ARN = f"arn:aws:appsync:eu-west-1:{API_ACCOUNT}:apis/abcdefghijklmnopqrstuvwxyz"


@pytest.fixture(scope="module")
def foreign(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A shop's own app: its queue (with its own DLQ), its alarm topic, its bus; our two constructs in it."""
    outdir = tmp_path_factory.mktemp("foreign")
    code_dir = outdir / "code"
    (code_dir / "worker").mkdir(parents=True)
    (code_dir / "worker" / "__init__.py").write_text("")
    app = cdk.App(outdir=str(outdir / "cdk.out"), analytics_reporting=False)
    shop = cdk.Stack(app, "ShopOrders", env=cdk.Environment(account=SHOP_ACCOUNT, region="eu-west-1"))
    orders_dlq = sqs.Queue(shop, "OrdersDlq", enforce_ssl=True, encryption=sqs.QueueEncryption.SQS_MANAGED)
    cdk.Validations.of(orders_dlq).acknowledge(
        cdk.Acknowledgment(id="AwsSolutions-SQS3", reason="the shop's own dead-letter queue for its orders")
    )
    orders = sqs.Queue(
        shop,
        "Orders",
        enforce_ssl=True,
        encryption=sqs.QueueEncryption.SQS_MANAGED,
        visibility_timeout=cdk.Duration.seconds(360),
        dead_letter_queue=sqs.DeadLetterQueue(queue=orders_dlq, max_receive_count=3),
    )
    topic = sns.Topic.from_topic_arn(shop, "Ops", TOPIC_ARN)
    bus = events.EventBus(shop, "ShopBus", event_bus_name="shop")
    worker = MutationWorker(
        shop,
        "Mutations",
        function_name="shop-mutations",
        execution_role_name="shop-mutations-exec",
        mutator_role_arn=ROLE_ARN,
        session_name="shop-worker",
        appsync_url="https://abcdefghijklmnopqrstuvwxyz.appsync-api.eu-west-1.amazonaws.com/graphql",
        allowed_mutations=["createOrder", "updateOrder"],
        code=lambda_.Code.from_asset(str(code_dir)),
        source_queue=orders,
        max_receive_count=3,
        event_bus=bus,
        event_source="shop.orders",
        event_accounts=[SHOP_ACCOUNT],
        sqs_senders=[f"arn:aws:iam::{SHOP_ACCOUNT}:role/shop-orders-*"],
        alarm_topic=topic,
        reserved_concurrency=20,
        sqs_max_concurrency=10,
        architecture="arm64",
        tracing=True,
    )
    api = cdk.Stack(
        app,
        "ShopApi",
        env=cdk.Environment(account=API_ACCOUNT, region="eu-west-1"),
        synthesizer=cdk.BootstraplessSynthesizer(),
    )
    role = MutatorRole(
        api,
        "WorkerRole",
        role_name="ShopMutator",
        session_name="shop-worker",
        worker_account=SHOP_ACCOUNT,
        execution_role_name="shop-mutations-exec",
        api_arn=API_ARN,
        allowed_mutations=["createOrder", "updateOrder"],
    )
    add_checks(app)
    assembly = app.synth()
    directory = Path(assembly.directory)
    return {
        "dir": directory,
        "shop": json.loads((directory / "ShopOrders.template.json").read_text()),
        "api": json.loads((directory / "ShopApi.template.json").read_text()),
        "worker": worker,
        "role": role,
        "shop_stack": shop,
        "orders": orders,
    }


def test_cdk_nag_and_cfn_lint_are_clean_in_a_foreign_app(foreign: dict[str, Any]) -> None:
    report = json.loads((foreign["dir"] / "validation-report.json").read_text())
    assert [v["ruleName"] for p in report["pluginReports"] for v in p.get("violations", [])] == []
    for name in ("ShopOrders", "ShopApi"):
        matches = lint_file(
            foreign["dir"] / f"{name}.template.json", config=ManualArgs(regions=["eu-west-1"])
        )
        assert [str(m) for m in matches] == [], name


def test_the_worker_consumes_the_existing_queue_and_creates_no_source_queue(foreign: dict[str, Any]) -> None:
    shop = foreign["shop"]
    orders_id = foreign["shop_stack"].get_logical_id(foreign["orders"].node.default_child)
    [mapping] = resources_of_type(shop, "AWS::Lambda::EventSourceMapping").values()
    assert mapping["Properties"]["EventSourceArn"] == {"Fn::GetAtt": [orders_id, "Arn"]}
    assert mapping["Properties"]["ScalingConfig"] == {"MaximumConcurrency": 10}
    # the shop's two queues plus the worker's own DLQ and events DLQ; no source queue of ours
    names = sorted(
        str(r["Properties"].get("QueueName")) for r in resources_of_type(shop, "AWS::SQS::Queue").values()
    )
    assert names == ["None", "None", "shop-mutations-dlq", "shop-mutations-events-dlq"]
    [function] = resources_of_type(shop, "AWS::Lambda::Function").values()
    env = function["Properties"]["Environment"]["Variables"]
    assert env["MAX_RECEIVE_COUNT"] == "3"
    assert env["MUTATOR_ROLE_ARN"] == ROLE_ARN and env["MUTATOR_SESSION_NAME"] == "shop-worker"
    assert env["ALLOWED_MUTATIONS"] == "createOrder,updateOrder"
    assert function["Properties"]["ReservedConcurrentExecutions"] == 20


def test_every_alarm_notifies_the_existing_topic(foreign: dict[str, Any]) -> None:
    alarms = [r["Properties"] for r in resources_of_type(foreign["shop"], "AWS::CloudWatch::Alarm").values()]
    assert len(alarms) == 8
    assert all(a["AlarmActions"] == [TOPIC_ARN] and a["OKActions"] == [TOPIC_ARN] for a in alarms)
    # the source-queue age alarm is on the shop's queue
    orders_id = foreign["shop_stack"].get_logical_id(foreign["orders"].node.default_child)
    assert any(
        a["MetricName"] == "ApproximateAgeOfOldestMessage"
        and a["Dimensions"][0]["Value"] == {"Fn::GetAtt": [orders_id, "QueueName"]}
        for a in alarms
    )


def test_the_rule_is_on_the_given_bus(foreign: dict[str, Any]) -> None:
    [rule] = resources_of_type(foreign["shop"], "AWS::Events::Rule").values()
    [bus_id] = resources_of_type(foreign["shop"], "AWS::Events::EventBus")
    assert rule["Properties"]["EventBusName"] == {"Ref": bus_id}
    assert rule["Properties"]["EventPattern"]["source"] == ["shop.orders"]


def test_a_dashboard_shows_the_worker_metrics_of_this_function(foreign: dict[str, Any]) -> None:
    [dashboard] = resources_of_type(foreign["shop"], "AWS::CloudWatch::Dashboard").values()
    body = json.dumps(dashboard["Properties"]["DashboardBody"])
    for name in (
        "Applied",
        "AlreadyApplied",
        "Superseded",
        "DeadLettered",
        "LeftForRetry",
        "Refused",
        "Retries",
        "AppSyncLatency",
        "AssumeRoleCalls",
    ):
        assert f'\\"AppSyncMutationWorker\\",\\"{name}\\",\\"FunctionName\\"' in body, name


def test_the_role_construct_writes_the_same_documents_as_the_settings_stack(
    foreign: dict[str, Any], template_b: dict[str, Any], settings: Settings
) -> None:
    trust = mutator_trust_policy_from(foreign["api"])
    statement = trust["Statement"][0]
    assert statement["Principal"] == {"AWS": f"arn:aws:iam::{SHOP_ACCOUNT}:root"}
    assert statement["Condition"] == {
        "ArnEquals": {"aws:PrincipalArn": f"arn:aws:iam::{SHOP_ACCOUNT}:role/shop-mutations-exec"},
        "StringEquals": {"sts:RoleSessionName": "shop-worker"},
    }
    assert mutator_identity_policy_from(foreign["api"])["Statement"][0]["Resource"] == [
        f"{API_ARN}/types/Mutation/fields/createOrder",
        f"{API_ARN}/types/Mutation/fields/updateOrder",
    ]
    assert (
        foreign["role"].assumed_role_arn == f"arn:aws:sts::{API_ACCOUNT}:assumed-role/ShopMutator/shop-worker"
    )
    # the project's own stack is the same construct: same shape, its own values
    own = mutator_trust_policy_from(template_b)["Statement"][0]
    assert own["Sid"] == statement["Sid"] and set(own["Condition"]) == set(statement["Condition"])


def test_an_app_with_its_own_infra_package_loads_the_constructs_under_another_name(tmp_path: Path) -> None:
    """The README's recipe: the app's ``infra`` stays first on sys.path; ours is loaded as ``appsync_mutation_infra``."""
    app_dir = tmp_path / "shop-app"
    (app_dir / "infra").mkdir(parents=True)
    (app_dir / "infra" / "__init__.py").write_text("SHOP = True\n")
    script = textwrap.dedent(
        f"""
        import sys
        sys.path.insert(0, {str(app_dir)!r})
        import infra  # the shop's own package
        assert infra.SHOP

        import importlib.util
        from pathlib import Path
        import worker  # installed with this project, next to its infra/ directory

        root = Path(worker.__file__).resolve().parent.parent / "infra"
        spec = importlib.util.spec_from_file_location(
            "appsync_mutation_infra", root / "__init__.py", submodule_search_locations=[str(root)]
        )
        module = importlib.util.module_from_spec(spec)
        sys.modules["appsync_mutation_infra"] = module
        spec.loader.exec_module(module)

        from appsync_mutation_infra.mutation_worker import MutationWorker
        from appsync_mutation_infra.mutator_role import MutatorRole
        assert infra.SHOP and sys.modules["infra"] is infra
        print(MutationWorker.__module__, MutatorRole.__module__)
        """
    )
    env = {**os.environ, "PYTHONPATH": "", "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"}
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=app_dir, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "appsync_mutation_infra.mutation_worker",
        "appsync_mutation_infra.mutator_role",
    ]
    assert (PROJECT_ROOT / "infra" / "mutation_worker.py").is_file()
