"""The operator role, probed in the two-account sandbox: only named principals, only with a
source identity, only its own allow-list; the worker's role admits no person; send as operator applies."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from mutation_cli.main import main
from project_settings import Settings, load_settings
from project_settings.model import DEFAULT_PATH
from sandbox.aws.policy import Decision, Principal, RequestContext, trust_allows
from sandbox.fixture import Sandbox

NO_RETRIES = Config(retries={"total_max_attempts": 1, "mode": "standard"})
A = "111111111111"
ALICE = f"arn:aws:iam::{A}:user/alice"
CAROL = f"arn:aws:iam::{A}:user/carol"  # named, but her own policy lacks sts:SetSourceIdentity
OPERATOR_ALLOWED = ("createTodo", "updateTodo")  # not deleteTodo, which the worker may send


@pytest.fixture(scope="module")
def settings_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("operator") / "settings.toml"
    path.write_text(
        DEFAULT_PATH.read_text(encoding="utf-8")
        + "\n[operator_role]\n"
        + f"principals = {json.dumps([ALICE, CAROL])}\n"
        + f"allowed_mutations = {json.dumps(list(OPERATOR_ALLOWED))}\n",
        encoding="utf-8",
    )
    return path


@pytest.fixture(scope="module")
def settings(settings_file: Path) -> Settings:
    return load_settings(settings_file)


@pytest.fixture(scope="module")
def sb(settings: Settings) -> Iterator[Sandbox]:
    with Sandbox.start(settings) as sandbox:
        yield sandbox


def _user(sb: Sandbox, name: str, actions: list[str], resource: str) -> dict[str, str]:
    keys = sb.create_user_keys(name)
    policy = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": actions, "Resource": resource}],
    }
    sb.client("iam", "A").put_user_policy(
        UserName=name, PolicyName="assume", PolicyDocument=json.dumps(policy)
    )
    return keys


@pytest.fixture(scope="module")
def people(sb: Sandbox, settings: Settings) -> dict[str, dict[str, str]]:
    both = ["sts:AssumeRole", "sts:SetSourceIdentity"]
    return {
        "alice": _user(sb, "alice", both, "*"),
        "bob": _user(sb, "bob", both, "*"),  # not named in [operator_role] principals
        "carol": _user(sb, "carol", ["sts:AssumeRole"], "*"),
    }


def _sts(sb: Sandbox, keys: dict[str, str]) -> Any:
    return boto3.client(
        "sts",
        region_name=sb.region,
        endpoint_url=sb.endpoint_url,
        config=NO_RETRIES,
        aws_access_key_id=keys["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=keys["AWS_SECRET_ACCESS_KEY"],
    )


def _refusal(call: Any) -> str:
    with pytest.raises(ClientError) as caught:
        call()
    error = caught.value.response["Error"]
    return f"{error['Code']}: {error['Message']}"


def test_the_null_condition_requires_a_source_identity() -> None:
    trust = {
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{A}:root"},
                "Action": "sts:AssumeRole",
                "Condition": {"Null": {"sts:SourceIdentity": "false"}},
            }
        ]
    }
    who = Principal(ALICE, A, ALICE)
    without = RequestContext("sts:AssumeRole", "arn:aws:iam::222222222222:role/R", {})
    with_one = RequestContext("sts:AssumeRole", without.resource, {"sts:SourceIdentity": "alice"})
    assert trust_allows(trust, who, without) is Decision.IMPLICIT_DENY
    assert trust_allows(trust, who, with_one) is Decision.ALLOW


def test_a_named_operator_with_a_source_identity_is_admitted(
    sb: Sandbox, settings: Settings, people: dict[str, dict[str, str]]
) -> None:
    answer = _sts(sb, people["alice"]).assume_role(
        RoleArn=settings.operator_role_arn, RoleSessionName="operator-alice", SourceIdentity="alice"
    )
    assert answer["AssumedRoleUser"]["Arn"] == f"{settings.operator_assumed_role_prefix}/operator-alice"
    assert sb.sts.assume_role_calls[-1].source_identity == "alice"


def test_without_a_source_identity_it_is_refused(
    sb: Sandbox, settings: Settings, people: dict[str, dict[str, str]]
) -> None:
    message = _refusal(
        lambda: _sts(sb, people["alice"]).assume_role(
            RoleArn=settings.operator_role_arn, RoleSessionName="operator-alice"
        )
    )
    assert message == (
        f"AccessDenied: User: {ALICE} is not authorized to perform: sts:AssumeRole on resource: "
        f"{settings.operator_role_arn}"
    )


def test_a_principal_not_named_is_refused(
    sb: Sandbox, settings: Settings, people: dict[str, dict[str, str]]
) -> None:
    message = _refusal(
        lambda: _sts(sb, people["bob"]).assume_role(
            RoleArn=settings.operator_role_arn, RoleSessionName="operator-bob", SourceIdentity="bob"
        )
    )
    assert message.startswith("AccessDenied: User: arn:aws:iam::111111111111:user/bob is not authorized")


def test_setting_a_source_identity_needs_its_own_grant(
    sb: Sandbox, settings: Settings, people: dict[str, dict[str, str]]
) -> None:
    message = _refusal(
        lambda: _sts(sb, people["carol"]).assume_role(
            RoleArn=settings.operator_role_arn, RoleSessionName="operator-carol", SourceIdentity="carol"
        )
    )
    assert message == (
        f"AccessDenied: User: {CAROL} is not authorized to perform: sts:SetSourceIdentity on resource: "
        f"{settings.operator_role_arn}"
    )


def test_the_worker_role_admits_no_operator(
    sb: Sandbox, settings: Settings, people: dict[str, dict[str, str]]
) -> None:
    """The execution role's trust is not widened: the worker's role still admits only its pinned session."""
    sts = _sts(sb, people["alice"])
    for extra in ({}, {"SourceIdentity": "alice"}):
        message = _refusal(
            lambda extra=extra: sts.assume_role(
                RoleArn=settings.mutator_role_arn, RoleSessionName=settings.mutator_role.session_name, **extra
            )
        )
        assert message.startswith(f"AccessDenied: User: {ALICE} is not authorized to perform: sts:AssumeRole")
    role = sb.client("iam", "B").get_role(RoleName=settings.mutator_role.name)["Role"]
    trust = json.dumps(role["AssumeRolePolicyDocument"])
    assert "alice" not in trust and "SourceIdentity" not in trust


@pytest.fixture
def as_alice(
    sb: Sandbox, people: dict[str, dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> pytest.MonkeyPatch:
    """This process's environment: the worker's configuration, but alice's own keys (no execution role)."""
    environment = sb.lambda_environment()
    for name in list(os.environ):
        if name.startswith("AWS_") or name in environment:
            monkeypatch.delenv(name)
    for name, value in environment.items():
        if name not in (
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_SESSION_TOKEN",
            "AWS_LAMBDA_FUNCTION_NAME",
        ):
            monkeypatch.setenv(name, value)
    for name, value in people["alice"].items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("APPSYNC_MUTATIONS_CUSTOM_ROLES", str(sb.custom_roles_path))
    return monkeypatch


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_send_as_operator_applies_a_mutation(
    sb: Sandbox, settings_file: Path, settings: Settings, as_alice: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    envelope = sb.project_dir / "op.json"
    envelope.write_text(json.dumps({"mutation": "createTodo", "input": {"id": "op-1", "name": "by alice"}}))
    sb.sts.reset()
    code, out, err = _run(
        capsys, "send", "--as-operator", "--settings", str(settings_file), "--file", str(envelope), "--json"
    )
    assert code == 0, err
    assert json.loads(out)["status"] == "applied"
    (call,) = sb.sts.assume_role_calls
    assert (call.role_arn, call.session_name, call.source_identity) == (
        settings.operator_role_arn,
        "operator-alice",
        "alice",
    )
    item = sb.client("dynamodb", "B").get_item(TableName=sb.table_name, Key={"id": {"S": "op-1"}})
    assert item["Item"]["name"] == {"S": "by alice"}


def test_send_as_operator_refuses_a_field_off_its_allow_list(
    sb: Sandbox, settings_file: Path, as_alice: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    envelope = sb.project_dir / "del.json"
    envelope.write_text(json.dumps({"mutation": "deleteTodo", "input": {"id": "op-1"}}))
    sb.sts.reset()
    code, _, err = _run(
        capsys, "send", "--as-operator", "--settings", str(settings_file), "--file", str(envelope)
    )
    assert code == 2 and "deleteTodo" in err
    assert sb.sts.assume_role_calls == []  # refused before any network call


def test_the_operator_role_cannot_send_outside_its_allow_list(
    sb: Sandbox, settings: Settings, people: dict[str, dict[str, str]]
) -> None:
    """Hostile: operator credentials signing a field off its allow-list by hand; IAM refuses it."""
    from dataclasses import replace

    import botocore.session

    from mutation_cli.config import CliContext
    from mutation_cli.operator import operator_context, set_source_identity
    from mutation_cli.send import FAILED, send_request, validate
    from mutation_cli.signed_http import SignedGraphQL
    from worker.runtime import account_b_credentials

    config = settings.worker_config(appsync_url=sb.appsync_url)
    ctx = operator_context(CliContext(config, settings, "test"), "alice")
    session = botocore.session.Session()
    session.set_credentials(people["alice"]["AWS_ACCESS_KEY_ID"], people["alice"]["AWS_SECRET_ACCESS_KEY"])
    session.set_config_variable("region", sb.region)
    os.environ.setdefault("AWS_ENDPOINT_URL", sb.endpoint_url)
    wide = replace(ctx.config, allowed_mutations=frozenset({"deleteTodo", *OPERATOR_ALLOWED}))
    set_source_identity(session, wide.role_arn, "alice")
    credentials = account_b_credentials(wide, session)
    http = SignedGraphQL(wide, credentials)
    try:
        request = validate({"mutation": "deleteTodo", "input": {"id": "op-1"}}, wide.allowed_mutations)
        outcome = send_request(http, request)
    finally:
        http.close()
    assert outcome.status == FAILED and outcome.error is not None
    assert outcome.error.error_type in ("IAMDenied", "Unauthorized"), outcome.error
    assert sb.client("dynamodb", "B").get_item(TableName=sb.table_name, Key={"id": {"S": "op-1"}}).get("Item")


def test_doctor_as_operator_passes_every_link(
    sb: Sandbox, settings_file: Path, as_alice: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _run(capsys, "doctor", "--as-operator", "--settings", str(settings_file), "--json")
    result = json.loads(out)
    assert code == 0, json.dumps(result, indent=1)
    checks = {c["name"]: c for c in result["checks"]}
    assert "source identity 'alice'" in checks["assume account-B role"]["detail"]
    assert any("requires sts:SourceIdentity" in n for n in checks["assume account-B role"]["notes"])
    assert checks["custom-roles.json"]["status"] == "ok"


def test_without_an_operator_role_the_command_says_how_to_enable_it(
    sb: Sandbox, as_alice: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = _run(
        capsys, "send", "--as-operator", "--query", "mutation { createTodo(input: {}) { id } }"
    )
    assert code == 2 and "[operator_role] principals" in err


def test_replay_as_operator_applies_an_exported_letter(
    sb: Sandbox, settings_file: Path, settings: Settings, as_alice: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """``replay replay --file --as-operator``: the worker's client, but the operator role and its allow-list."""
    letters = sb.project_dir / "letters.jsonl"
    rows = [
        {
            "messageId": "m-ok",
            "body": json.dumps({"mutation": "createTodo", "input": {"id": "op-2", "name": "r"}}),
        },
        {"messageId": "m-off", "body": json.dumps({"mutation": "deleteTodo", "input": {"id": "op-2"}})},
    ]
    letters.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    sb.sts.reset()
    code, out, _ = _run(
        capsys,
        "replay",
        "replay",
        "--as-operator",
        "--settings",
        str(settings_file),
        "--file",
        str(letters),
        "--json",
    )
    assert code == 1  # the deleteTodo letter is off the operator role's allow-list
    assert {(c.role_arn, c.source_identity) for c in sb.sts.assume_role_calls} == {
        (settings.operator_role_arn, "alice")
    }
    table = sb.client("dynamodb", "B")
    assert table.get_item(TableName=sb.table_name, Key={"id": {"S": "op-2"}}).get(
        "Item"
    )  # applied, not deleted
    assert "m-off" in out and "MutationNotAllowed" in out


def test_a_trust_without_set_source_identity_refuses_one(
    sb: Sandbox, settings: Settings, people: dict[str, dict[str, str]]
) -> None:
    """The gate asks the trust policy for sts:SetSourceIdentity too, as AWS does."""
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{A}:root"},
                "Action": "sts:AssumeRole",
                "Condition": {"ArnEquals": {"aws:PrincipalArn": ALICE}},
            }
        ],
    }
    iam = sb.client("iam", "B")
    arn = iam.create_role(RoleName="NoSourceIdentity", AssumeRolePolicyDocument=json.dumps(trust))["Role"][
        "Arn"
    ]
    sts = _sts(sb, people["alice"])
    assert sts.assume_role(RoleArn=arn, RoleSessionName="plain")["AssumedRoleUser"]["Arn"].endswith("/plain")
    message = _refusal(
        lambda: sts.assume_role(RoleArn=arn, RoleSessionName="with-identity", SourceIdentity="alice")
    )
    assert (
        message
        == f"AccessDenied: User: {ALICE} is not authorized to perform: sts:SetSourceIdentity on resource: {arn}"
    )


def test_doctor_as_an_unnamed_principal_names_the_broken_link(
    sb: Sandbox,
    settings_file: Path,
    people: dict[str, dict[str, str]],
    as_alice: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name, value in people["bob"].items():
        as_alice.setenv(name, value)
    code, out, _ = _run(capsys, "doctor", "--as-operator", "--settings", str(settings_file), "--json")
    result = json.loads(out)
    assert code == 1 and result["firstBroken"] == "base identity"
    broken = next(c for c in result["checks"] if c["name"] == "base identity")
    assert "user/bob" in broken["detail"] and "admits only" in broken["detail"]
