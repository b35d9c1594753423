"""The three pieces that must agree (trust policy, worker session name, custom-roles.json entry) come from one
settings file: synthesize both stacks, build the sandbox's roles from the synthesized documents themselves, run the
worker with the synthesized environment against a custom-roles.json generated from the same settings; then change
the session name in exactly one place and show the failure and the diagnosis that results.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import pytest

from amplify_custom_roles import generate
from infra.extract import mutator_identity_policy_from, mutator_trust_policy_from, worker_environment_from
from infra.synth import Synthesized, synthesize
from project_settings import Settings, load_settings
from sandbox.fixture import Sandbox
from sandbox.lambda_runtime import LambdaContext
from worker.dead_letters import read_failure
from worker.handler import lambda_handler

SETTINGS = load_settings()
OTHER_SESSION = "renamed-session"


@pytest.fixture(scope="module")
def synthesized() -> Synthesized:
    return synthesize(SETTINGS, package_dir=None)


@pytest.fixture(scope="module")
def sb(synthesized: Synthesized) -> Iterator[Sandbox]:
    account_b = synthesized.account_b
    with Sandbox.start(
        SETTINGS,
        trust_policy=mutator_trust_policy_from(account_b),
        mutator_identity_policy_document=mutator_identity_policy_from(account_b),
        create_custom_roles=False,
    ) as sandbox:
        yield sandbox


def in_sandbox_project(settings: Settings, sb: Sandbox) -> Settings:
    return replace(settings, amplify=replace(settings.amplify, project_dir=sb.project_dir))


def generate_fresh(settings: Settings, sb: Sandbox) -> None:
    """custom-roles.json exactly as the generator writes it from ``settings`` (no earlier file to merge)."""
    sb.custom_roles_path.unlink(missing_ok=True)
    generate(in_sandbox_project(settings, sb), create_dirs=True)


def deployed_environment(synthesized: Synthesized, sb: Sandbox) -> dict[str, str]:
    """The function's environment exactly as synthesized; only the endpoint is the sandbox's stand-in."""
    env = worker_environment_from(synthesized.account_a, SETTINGS, dead_letter_queue_url=sb.dlq_url)
    env["APPSYNC_URL"] = sb.appsync_url
    return env


def run_one(
    sb: Sandbox, container: Callable[..., None], env: dict[str, str], key: str
) -> dict[str, str] | None:
    """Start a container with ``env``, process one create; its DLQ failure attributes, or None if applied."""
    container(**env)
    [message_id] = sb.send_messages(
        [json.dumps({"mutation": "createTodo", "input": {"name": key}, "idempotencyKey": key})]
    )
    event = sb.sqs_event()
    response = lambda_handler(event, LambdaContext(timeout_ms=30_000))
    sb.apply_batch_response(event, response)
    assert response == {"batchItemFailures": []}
    if key in {item["id"] for item in sb.table_items()}:
        return None
    letters = [read_failure(m["MessageAttributes"]) for m in sb.dlq_messages()]
    [failure] = [f for f in letters if f.get("sourceMessageId") == message_id]
    return failure


def test_synthesized_documents_and_generated_entry_agree(
    synthesized: Synthesized, sb: Sandbox, container: Callable[..., None]
) -> None:
    generate_fresh(SETTINGS, sb)
    env = deployed_environment(synthesized, sb)
    assert env["MUTATOR_SESSION_NAME"] == SETTINGS.mutator_role.session_name
    trust = mutator_trust_policy_from(synthesized.account_b)
    assert (
        trust["Statement"][0]["Condition"]["StringEquals"]["sts:RoleSessionName"]
        == env["MUTATOR_SESSION_NAME"]
    )
    assert json.loads(sb.custom_roles_path.read_text())["adminRoleNames"] == [SETTINGS.assumed_role_arn]
    assert run_one(sb, container, env, "aligned") is None
    assert sb.appsync.stats.by_caller.get(SETTINGS.assumed_role_arn, 0) >= 1


def test_session_renamed_only_in_the_worker_environment(
    synthesized: Synthesized, sb: Sandbox, container: Callable[..., None]
) -> None:
    generate_fresh(SETTINGS, sb)
    env = {**deployed_environment(synthesized, sb), "MUTATOR_SESSION_NAME": OTHER_SESSION}
    failure = run_one(sb, container, env, "renamed-in-worker")
    assert failure is not None
    assert failure["errorType"] == "AssumeRoleDenied"
    assert failure["reason"] == (
        f"AccessDenied: User: {sb.execution_role_session_arn} is not authorized to perform: sts:AssumeRole "
        f"on resource: {SETTINGS.mutator_role_arn}"
    )
    assert (
        f"pin sts:RoleSessionName to exactly '{OTHER_SESSION}', the name this worker uses"
        in failure["diagnosis"]
    )


def test_session_renamed_only_in_the_trust_policy(
    synthesized: Synthesized, sb: Sandbox, container: Callable[..., None]
) -> None:
    from project_settings.policies import mutator_trust_policy

    generate_fresh(SETTINGS, sb)
    renamed = SETTINGS.with_changes(mutator_role={"session_name": OTHER_SESSION})
    sb.set_trust_policy(
        mutator_trust_policy(renamed)
    )  # what the B stack would hold if synthesized from `renamed`
    try:
        failure = run_one(sb, container, deployed_environment(synthesized, sb), "renamed-in-trust")
    finally:
        sb.set_trust_policy(mutator_trust_policy_from(synthesized.account_b))
    assert failure is not None and failure["errorType"] == "AssumeRoleDenied"
    assert f"'{SETTINGS.mutator_role.session_name}', the name this worker uses" in failure["diagnosis"]


def test_session_renamed_only_in_custom_roles(
    synthesized: Synthesized, sb: Sandbox, container: Callable[..., None]
) -> None:
    renamed = SETTINGS.with_changes(mutator_role={"session_name": OTHER_SESSION})
    generate_fresh(renamed, sb)
    failure = run_one(sb, container, deployed_environment(synthesized, sb), "renamed-in-custom-roles")
    assert failure is not None
    assert failure["errorType"] == "Unauthorized"
    assert failure["reason"] == "Not Authorized to access createTodo on type Mutation"
    assert f"custom-roles.json must list '{SETTINGS.assumed_role_arn}'" in failure["diagnosis"]
    sb.custom_roles_path.unlink()


def test_the_environment_carries_no_secret(synthesized: Synthesized, sb: Sandbox) -> None:
    env: dict[str, Any] = deployed_environment(synthesized, sb)
    assert not any(
        name.startswith("AWS_") for name in env
    )  # Lambda supplies the credentials, not the template
