"""Operations defaults: alarms that reach a person, retained DLQs, concurrency, architecture,
tracing, JSON logs, and what ``make synth`` says about the alarm topic and the Lambda package."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cfnlint.api import ManualArgs, lint_file

import infra.app
from infra.extract import execution_role_policies_from, resources_of_type, worker_function_properties
from infra.names import WORKER_STACK_ID
from infra.packaging import PACKAGE_MANIFEST, package_problems
from infra.synth import Synthesized, synthesize
from project_settings import Settings

TOPIC_ARN = "arn:aws:sns:us-east-1:111111111111:worker-alarms"


@pytest.fixture(scope="module")
def ops_settings(settings: Settings) -> Settings:
    return settings.with_changes(
        worker={
            "alarm_topic_arn": TOPIC_ARN,
            "tracing": True,
            "snapstart": True,
            "architecture": "x86_64",
            "reserved_concurrency": 25,
            "memory_mb": 1024,
            "log_level": "WARNING",
        }
    )


@pytest.fixture(scope="module")
def ops_synthesized(ops_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    return synthesize(ops_settings, outdir=tmp_path_factory.mktemp("ops") / "cdk.out", package_dir=None)


def _alarms(template: dict[str, Any]) -> list[dict[str, Any]]:
    return [r["Properties"] for r in resources_of_type(template, "AWS::CloudWatch::Alarm").values()]


def _watched(template: dict[str, Any]) -> set[tuple[str, str, str]]:
    """(namespace, metric, the queue name or function name the alarm is on)."""
    names = {
        lid: r["Properties"].get("QueueName") or r["Properties"].get("FunctionName")
        for lid, r in template["Resources"].items()
        if r["Type"] in ("AWS::SQS::Queue", "AWS::Lambda::Function")
    }
    found = set()
    for props in _alarms(template):
        [dimension] = props["Dimensions"]
        value = dimension["Value"]
        target = value.get("Fn::GetAtt", [None])[0] or value.get("Ref")
        found.add((props["Namespace"], props["MetricName"], names[target]))
    return found


def test_alarms_cover_function_errors_throttles_source_age_and_both_dlqs(template_a: dict[str, Any]) -> None:
    assert _watched(template_a) == {
        ("AWS/Lambda", "Errors", "appsync-mutation-worker"),
        ("AWS/Lambda", "Throttles", "appsync-mutation-worker"),
        ("AWS/SQS", "ApproximateAgeOfOldestMessage", "appsync-mutations"),
        ("AWS/SQS", "ApproximateNumberOfMessagesVisible", "appsync-mutations-dlq"),
        ("AWS/SQS", "ApproximateAgeOfOldestMessage", "appsync-mutations-dlq"),
        ("AWS/SQS", "ApproximateNumberOfMessagesVisible", "appsync-mutation-worker-events-dlq"),
        ("AWS/SQS", "ApproximateAgeOfOldestMessage", "appsync-mutation-worker-events-dlq"),
        ("AppSyncMutationWorker", "Refused", "appsync-mutation-worker"),  # an unnamed producer tried
    }


def test_without_a_topic_alarms_have_no_actions(template_a: dict[str, Any]) -> None:
    for props in _alarms(template_a):
        assert "AlarmActions" not in props and "OKActions" not in props


def test_with_a_topic_every_alarm_notifies_it_on_alarm_and_ok(ops_synthesized: Synthesized) -> None:
    alarms = _alarms(ops_synthesized.account_a)
    assert len(alarms) == 8
    for props in alarms:
        assert props["AlarmActions"] == [TOPIC_ARN]
        assert props["OKActions"] == [TOPIC_ARN]


def test_dead_letter_queues_are_retained_on_delete_and_replace(template_a: dict[str, Any]) -> None:
    policies = {
        r["Properties"]["QueueName"]: (r.get("DeletionPolicy"), r.get("UpdateReplacePolicy"))
        for r in resources_of_type(template_a, "AWS::SQS::Queue").values()
    }
    assert policies["appsync-mutations-dlq"] == ("Retain", "Retain")
    assert policies["appsync-mutation-worker-events-dlq"] == ("Retain", "Retain")


def test_defaults_arm64_reserved_concurrency_json_logs_no_tracing(
    template_a: dict[str, Any], settings: Settings
) -> None:
    props = worker_function_properties(template_a)
    assert props["Architectures"] == ["arm64"]
    assert props["ReservedConcurrentExecutions"] == settings.worker.reserved_concurrency == 10
    assert props["LoggingConfig"]["LogFormat"] == "JSON"
    assert props["LoggingConfig"]["ApplicationLogLevel"] == "INFO"
    assert props.get("TracingConfig", {"Mode": "PassThrough"})["Mode"] == "PassThrough"
    # the SQS path is bounded inside the reservation, leaving room for EventBridge invocations
    [mapping] = resources_of_type(template_a, "AWS::Lambda::EventSourceMapping").values()
    assert (
        mapping["Properties"]["ScalingConfig"]["MaximumConcurrency"] < props["ReservedConcurrentExecutions"]
    )


def test_options_x86_tracing_memory_and_log_level(
    ops_synthesized: Synthesized, ops_settings: Settings
) -> None:
    props = worker_function_properties(ops_synthesized.account_a)
    assert props["Architectures"] == ["x86_64"]
    assert props["TracingConfig"] == {"Mode": "Active"}
    assert props["ReservedConcurrentExecutions"] == 25
    assert props["MemorySize"] == 1024
    # WARNING for structlog (LOG_LEVEL), but Lambda's filter stays at INFO: the EMF lines have no level
    assert props["Environment"]["Variables"]["LOG_LEVEL"] == "WARNING"
    assert props["LoggingConfig"]["ApplicationLogLevel"] == "INFO"
    # tracing adds exactly X-Ray's two actions (resource * is all IAM accepts for them), acknowledged with a reason
    granted = {
        (action, statement["Resource"])
        for document in execution_role_policies_from(ops_synthesized.account_a, ops_settings).values()
        for statement in document["Statement"]
        for action in (
            statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        )
        if action.startswith("xray:")
    }
    assert granted == {("xray:PutTraceSegments", "*"), ("xray:PutTelemetryRecords", "*")}


def test_the_options_variant_passes_cdk_nag_and_cfn_lint(
    ops_synthesized: Synthesized, settings: Settings
) -> None:
    assert ops_synthesized.assembly_dir is not None
    report = json.loads((ops_synthesized.assembly_dir / "validation-report.json").read_text())
    assert [v for p in report["pluginReports"] for v in p.get("violations", [])] == []
    matches = lint_file(
        ops_synthesized.assembly_dir / f"{WORKER_STACK_ID}.template.json",
        config=ManualArgs(regions=[settings.accounts.region]),
    )
    assert [str(m) for m in matches] == []


def test_reserved_concurrency_below_the_sqs_bound_is_refused(settings: Settings) -> None:
    from project_settings.model import SettingsError, parse_settings

    raw = {
        "accounts": {"worker": "111111111111", "api": "222222222222", "region": "us-east-1"},
        "mutator_role": {"name": "R", "session_name": "sess"},
        "appsync": {
            "api_id": "sandboxapi0000000000000000",
            "url": "https://sandboxhost000000000000000.appsync-api.us-east-1.amazonaws.com/graphql",
            "allowed_mutations": ["createTodo"],
        },
        "amplify": {"api_name": "todoapi"},
        "worker": {
            "function_name": "f",
            "execution_role_name": "e",
            "queue_name": "q",
            "dead_letter_queue_name": "d",
            "max_function_concurrency": 5,
            "reserved_concurrency": 3,
            "architecture": "sparc",
            "alarm_topic_arn": "not-an-arn",
        },
    }
    with pytest.raises(SettingsError) as raised:
        parse_settings(raw)
    problems = "\n".join(raised.value.problems)
    assert "worker.reserved_concurrency=3 must be at least worker.max_function_concurrency=5" in problems
    assert "worker.architecture='sparc' must be one of arm64, x86_64" in problems
    assert "worker.alarm_topic_arn='not-an-arn' is not an SNS topic ARN" in problems


def test_make_synth_warns_without_topic_and_without_a_built_package(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setattr(infra.app, "DEFAULT_PACKAGE_DIR", tmp_path / "not-built")
    monkeypatch.setattr(infra.app, "synth", lambda settings, outdir: tmp_path)
    assert infra.app.main([]) == 0
    err = capsys.readouterr().err
    assert "warning: worker.alarm_topic_arn is empty: the alarms" in err
    assert "holds no built Lambda package: the function's asset is worker/ alone, without httptools" in err
    assert "run `make package` before deploying" in err


def test_make_synth_refuses_a_package_built_for_the_other_architecture(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    built = tmp_path / "lambda"
    for name in ("worker", "httptools"):
        (built / name).mkdir(parents=True)
        (built / name / "__init__.py").write_text("")
    (built / PACKAGE_MANIFEST).write_text(json.dumps({"architecture": "x86_64", "python": "3.12"}))
    real_synth = infra.app.synth
    monkeypatch.setattr(infra.app, "DEFAULT_PACKAGE_DIR", built)
    monkeypatch.setattr(infra.app, "synth", lambda settings, outdir: pytest.fail("must not synthesize"))
    assert infra.app.main([]) == 2
    assert "was built for x86_64 but worker.architecture is arm64" in capsys.readouterr().err
    assert package_problems("x86_64", built) == ([], None)
    with pytest.raises(ValueError, match="built for x86_64"):
        real_synth(infra.app.load_settings(), str(tmp_path / "out"), built)


def test_snapstart_publishes_a_version_and_the_event_sources_invoke_its_alias(
    ops_synthesized: Synthesized,
) -> None:
    template = ops_synthesized.account_a
    [(function_id, function)] = resources_of_type(template, "AWS::Lambda::Function").items()
    assert function["Properties"]["SnapStart"] == {"ApplyOn": "PublishedVersions"}
    [(version_id, version)] = resources_of_type(template, "AWS::Lambda::Version").items()
    assert version["Properties"]["FunctionName"] == {"Ref": function_id}
    [(alias_id, alias)] = resources_of_type(template, "AWS::Lambda::Alias").items()
    assert alias["Properties"]["Name"] == "live"
    assert alias["Properties"]["FunctionVersion"] == {"Fn::GetAtt": [version_id, "Version"]}
    # SnapStart applies to published versions only: SQS, EventBridge and the async config all use the alias
    [mapping] = resources_of_type(template, "AWS::Lambda::EventSourceMapping").values()
    mapped = json.dumps(mapping["Properties"]["FunctionName"])  # <function name>:live, built from the alias
    assert alias_id in mapped and '":live"' in mapped
    [rule] = resources_of_type(template, "AWS::Events::Rule").values()
    assert rule["Properties"]["Targets"][0]["Arn"] == {"Ref": alias_id}
    [invoke_config] = resources_of_type(template, "AWS::Lambda::EventInvokeConfig").values()
    assert alias_id in json.dumps(invoke_config["Properties"]["Qualifier"])  # the alias's qualifier
    [permission] = resources_of_type(template, "AWS::Lambda::Permission").values()
    assert alias_id in json.dumps(permission["Properties"]["FunctionName"])


def test_without_snapstart_nothing_is_published(template_a: dict[str, Any]) -> None:
    assert "SnapStart" not in worker_function_properties(template_a)
    assert resources_of_type(template_a, "AWS::Lambda::Alias") == {}
    assert resources_of_type(template_a, "AWS::Lambda::Version") == {}
