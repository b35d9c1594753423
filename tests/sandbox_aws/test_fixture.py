"""The Sandbox fixture: clean lifecycle, and both accounts created exactly from the settings' documents."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from botocore.exceptions import ClientError

from project_settings import Settings
from project_settings.policies import (
    execution_role_assume_policy,
    execution_role_trust_policy,
    mutator_identity_policy,
    mutator_trust_policy,
)
from sandbox.fixture import Sandbox

SANDBOX_THREADS = ("sandbox-", "appsync-stand-in")


_BASELINE: set[threading.Thread] = set()


@pytest.fixture(autouse=True)
def _baseline() -> None:
    """Server threads other test folders keep for their whole session are not this test's."""
    _BASELINE.clear()
    _BASELINE.update(threading.enumerate())


def sandbox_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith(SANDBOX_THREADS) and t not in _BASELINE]


def refuses_connections(url: str) -> bool:
    parts = urlsplit(url)
    assert parts.hostname == "127.0.0.1" and parts.port
    try:
        with socket.create_connection((parts.hostname, parts.port), timeout=2):
            return False
    except OSError:
        return True


def test_start_and_stop_twice_in_one_process(settings: Settings) -> None:
    assert sandbox_threads() == []
    seen: list[tuple[str, str, Path]] = []
    for round_ in range(2):
        with Sandbox.start(settings) as sb:
            assert sandbox_threads(), "the sandbox's servers run in named threads"
            assert not refuses_connections(sb.endpoint_url)
            assert not refuses_connections(sb.appsync_url)
            iam = sb.client("iam", "A")
            users = [u["UserName"] for u in iam.list_users()["Users"]]
            assert users == [], "moto's state was reset between sandboxes"
            sb.create_user_keys(f"left-behind-{round_}")
            assert sb.queue_depth() == 0
            sb.send_messages(["left behind"])
            seen.append((sb.endpoint_url, sb.appsync_url, sb.project_dir))
        assert sandbox_threads() == []
        assert refuses_connections(seen[-1][0])
        assert refuses_connections(seen[-1][1])
        assert not seen[-1][2].exists()
    sb.stop()  # stopping again is harmless
    assert sandbox_threads() == []


def test_a_failed_start_leaves_nothing_behind(settings: Settings) -> None:
    broken = settings.with_changes(worker={"fifo": True})  # FIFO queue names must end in .fifo
    with pytest.raises(ClientError, match=r"must end in \.fifo"):
        Sandbox.start(broken)
    assert sandbox_threads() == []


def test_documents_passed_to_start_replace_the_defaults(settings: Settings) -> None:
    trust = mutator_trust_policy(settings.with_changes(mutator_role={"session_name": "another-session"}))
    identity = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "appsync:GraphQL", "Resource": "*"}],
    }
    with Sandbox.start(
        settings,
        trust_policy=trust,
        mutator_identity_policy_document=identity,
        custom_roles_entries=["SomeRole"],
        visibility_timeout=7,
    ) as sb:
        name = settings.mutator_role.name
        assert as_dict(role(sb, "B", name)["AssumeRolePolicyDocument"]) == trust
        assert {k: as_dict(v) for k, v in inline_policies(sb, "B", name).items()} == {
            "appsync-mutations": identity
        }
        assert json.loads(sb.custom_roles_path.read_text()) == {"adminRoleNames": ["SomeRole"]}
        attributes = sb.client("sqs", "A").get_queue_attributes(
            QueueUrl=sb.queue_url, AttributeNames=["VisibilityTimeout"]
        )["Attributes"]
        assert attributes["VisibilityTimeout"] == "7"
    with Sandbox.start(settings, create_custom_roles=False) as sb:
        assert not sb.custom_roles_path.exists()


def role(sb: Sandbox, account: str, name: str) -> dict[str, Any]:
    return sb.client("iam", account).get_role(RoleName=name)["Role"]


def inline_policies(sb: Sandbox, account: str, name: str) -> dict[str, Any]:
    iam = sb.client("iam", account)
    return {
        policy: iam.get_role_policy(RoleName=name, PolicyName=policy)["PolicyDocument"]
        for policy in iam.list_role_policies(RoleName=name)["PolicyNames"]
    }


def as_dict(document: Any) -> Any:
    return json.loads(document) if isinstance(document, str) else document


class TestCreatedFromSettings:
    """One sandbox for these tests; it only exists while this class runs."""

    @pytest.fixture(scope="class")
    @classmethod
    def sb(cls, settings: Settings) -> Iterator[Sandbox]:
        with Sandbox.start(settings) as sandbox:
            yield sandbox

    def test_account_a_resources_match_the_settings(self, sb: Sandbox, settings: Settings) -> None:
        name = settings.worker.execution_role_name
        exec_role = role(sb, "A", name)
        assert exec_role["Arn"] == settings.execution_role_arn == f"arn:aws:iam::{sb.account_a}:role/{name}"
        assert as_dict(exec_role["AssumeRolePolicyDocument"]) == execution_role_trust_policy()
        policies = {k: as_dict(v) for k, v in inline_policies(sb, "A", name).items()}
        assert policies["assume-mutator-role"] == execution_role_assume_policy(settings)
        assert policies["dead-letters"]["Statement"] == [
            {"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": sb.dlq_arn}
        ]
        assert set(policies) == {"assume-mutator-role", "dead-letters"}

        sqs = sb.client("sqs", "A")
        assert sb.queue_url == sqs.get_queue_url(QueueName=settings.worker.queue_name)["QueueUrl"]
        assert sb.dlq_url == sqs.get_queue_url(QueueName=settings.worker.dead_letter_queue_name)["QueueUrl"]
        attributes = sqs.get_queue_attributes(QueueUrl=sb.queue_url, AttributeNames=["All"])["Attributes"]
        redrive = json.loads(attributes["RedrivePolicy"])
        assert redrive["deadLetterTargetArn"] == sb.dlq_arn
        assert int(redrive["maxReceiveCount"]) == settings.worker.max_receive_count
        assert attributes["VisibilityTimeout"] == "30"
        assert attributes["QueueArn"] == sb.queue_arn
        assert sb.queue_arn.split(":")[4] == sb.dlq_arn.split(":")[4] == sb.account_a
        dlq = sqs.get_queue_attributes(QueueUrl=sb.dlq_url, AttributeNames=["All"])["Attributes"]
        assert "RedrivePolicy" not in dlq and "FifoQueue" not in dlq

    def test_account_b_resources_match_the_settings(self, sb: Sandbox, settings: Settings) -> None:
        name = settings.mutator_role.name
        mutator = role(sb, "B", name)
        assert mutator["Arn"] == settings.mutator_role_arn == f"arn:aws:iam::{sb.account_b}:role/{name}"
        assert as_dict(mutator["AssumeRolePolicyDocument"]) == mutator_trust_policy(settings)
        assert mutator["MaxSessionDuration"] == 3600
        policies = {k: as_dict(v) for k, v in inline_policies(sb, "B", name).items()}
        assert policies == {"appsync-mutations": mutator_identity_policy(settings)}

        table = sb.client("dynamodb", "B").describe_table(TableName=sb.table_name)["Table"]
        assert sb.table_name == f"Todo-{settings.appsync.api_id}-sandbox"
        assert table["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]
        assert table["TableArn"].split(":")[4] == sb.account_b
        with pytest.raises(ClientError, match="ResourceNotFound"):
            sb.client("dynamodb", "A").describe_table(TableName=sb.table_name)

        entries = json.loads(sb.custom_roles_path.read_text())
        assert entries == {"adminRoleNames": [settings.assumed_role_arn]}
        assert sb.custom_roles_path.parts[-4:] == (
            "backend",
            "api",
            settings.amplify.api_name,
            "custom-roles.json",
        )

    def test_lambda_environment(self, sb: Sandbox, settings: Settings) -> None:
        env = sb.lambda_environment()
        assert env["AWS_ACCESS_KEY_ID"].startswith("ASIA")
        assert env["AWS_ENDPOINT_URL"] == sb.endpoint_url
        assert env["AWS_REGION"] == env["AWS_DEFAULT_REGION"] == settings.accounts.region
        assert env["AWS_LAMBDA_FUNCTION_NAME"] == settings.worker.function_name
        assert env["MUTATOR_ROLE_ARN"] == settings.mutator_role_arn
        assert env["MUTATOR_SESSION_NAME"] == settings.mutator_role.session_name
        assert env["APPSYNC_URL"] == sb.appsync_url
        assert env["DEAD_LETTER_QUEUE_URL"] == sb.dlq_url
        identity = sb.identities.lookup(env["AWS_ACCESS_KEY_ID"])
        assert identity is not None
        assert identity.arn == sb.execution_role_session_arn
        assert identity.role_arn == settings.execution_role_arn
        assert identity.session_token == env["AWS_SESSION_TOKEN"]

    def test_issued_secrets(self, sb: Sandbox) -> None:
        env = sb.lambda_environment()
        secrets = sb.issued_secrets()
        assert env["AWS_SECRET_ACCESS_KEY"] in secrets
        assert env["AWS_SESSION_TOKEN"] in secrets
        assert env["AWS_ACCESS_KEY_ID"] not in secrets  # key ids are not secret
        keys = sb.create_user_keys("secret-holder")
        assert keys["AWS_SECRET_ACCESS_KEY"] in sb.issued_secrets()
        assert all(len(s) >= 16 for s in secrets)
