"""Amplify Gen 2 end to end: no custom-roles.json anywhere, the IAM policy is the only gate.

Under ``amplify.generation = 2`` the sandbox writes no custom-roles.json, names the table ``Todo-<apiId>-NONE`` as
Gen 2 does, and its API applies Gen 2's rule: the stand-in admits every IAM principal AppSync's IAM check let
through (no admin-role check); Amplify's backend compiles the schema with the transformer's own IAM-access mode
(``synthParameters.enableIamAccess``, what ``defineData`` sets), so its generated VTL decides the same way.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import pytest

from project_settings import load_settings
from project_settings.policies import mutator_identity_policy
from sandbox.fixture import Sandbox
from tests import support

GEN2 = load_settings().with_changes(amplify={"generation": 2})


pytestmark = pytest.mark.both_backends


@pytest.fixture(scope="module")
def sb(backend: str, request: pytest.FixtureRequest) -> Iterator[Sandbox]:
    modules = request.getfixturevalue("amplify_node_modules") if backend == "amplify" else None
    with Sandbox.start(GEN2) as sandbox:
        if modules is None:
            yield sandbox
            return
        from sandbox.amplify_backend import amplify_appsync

        with amplify_appsync(sandbox, modules) as backend:
            assert backend.enable_iam_access
            yield sandbox


@pytest.fixture
def container(sb: Sandbox, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The Lambda's environment, fresh worker state; no custom-roles.json is written (Gen 2 has none)."""
    from worker.handler import reset_runtime

    reset_runtime()
    sb.appsync.faults.clear()
    sb.sts.reset()
    sb.purge_dlq()
    if sb.custom_roles_path.exists():
        sb.custom_roles_path.unlink()
    environment = sb.lambda_environment()
    for name in list(os.environ):
        if name.startswith("AWS_") or name in environment:
            monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    yield
    reset_runtime()
    sb.client("iam", "B").put_role_policy(
        RoleName=GEN2.mutator_role.name,
        PolicyName="appsync-mutations",
        PolicyDocument=json.dumps(mutator_identity_policy(GEN2)),
    )


def test_the_sandbox_is_gen2(sb: Sandbox) -> None:
    assert sb.generation == 2
    assert sb.table_name == f"Todo-{GEN2.appsync.api_id}-NONE"
    assert not sb.custom_roles_path.exists()
    api = sb.appsync  # the stand-in applies Gen 2's rule; Amplify's backend compiles in IAM-access mode
    assert getattr(api, "generation", None) == 2 or getattr(api, "enable_iam_access", False)


def test_mutations_are_applied_with_no_custom_roles_json(sb: Sandbox, container: None) -> None:
    keys = [f"gen2-{i}" for i in range(3)]
    sb.send_messages([support.create_body(name=f"n-{k}", key=k) for k in keys])
    support.drain(sb)
    assert not sb.custom_roles_path.exists()
    items = {item["name"]: item for item in sb.table_items()}
    assert {f"n-{k}" for k in keys} <= set(items)
    assert sb.dlq_messages() == []
    target = items["n-gen2-0"]["id"]
    sb.send_messages([json.dumps({"mutation": "updateTodo", "input": {"id": target, "done": True}})])
    support.drain(sb)
    assert next(i for i in sb.table_items() if i["id"] == target)["done"] is True
    assert sb.dlq_messages() == []


def test_a_custom_roles_entry_for_another_role_changes_nothing(sb: Sandbox, container: None) -> None:
    """Gen 2 has no allow-list: a file that admits someone else (Gen 1 would refuse us) is not consulted."""
    sb.write_custom_roles(["arn:aws:sts::999999999999:assumed-role/SomeoneElse/x"])
    try:
        sb.send_messages([support.create_body(name="despite-file", key="gen2-file")])
        support.drain(sb)
    finally:
        sb.custom_roles_path.unlink()
    assert "despite-file" in {item["name"] for item in sb.table_items()}
    assert sb.dlq_messages() == []


def test_a_field_the_role_policy_does_not_grant_is_refused_by_iam(sb: Sandbox, container: None) -> None:
    """The role loses appsync:GraphQL on deleteTodo: AppSync's IAM check refuses it; nothing is deleted."""
    sb.send_messages([support.create_body(name="keep-me", key="gen2-keep")])
    support.drain(sb)
    keep = next(i for i in sb.table_items() if i["name"] == "keep-me")["id"]
    policy = mutator_identity_policy(
        GEN2.with_changes(appsync={"allowed_mutations": ("createTodo", "updateTodo")})
    )
    sb.client("iam", "B").put_role_policy(
        RoleName=GEN2.mutator_role.name, PolicyName="appsync-mutations", PolicyDocument=json.dumps(policy)
    )
    (source,) = sb.send_messages([json.dumps({"mutation": "deleteTodo", "input": {"id": keep}})])
    support.drain(sb)
    letters: dict[str, Any] = support.dead_letters(sb, [source])
    assert letters[source]["errorType"] == "IAMDenied", letters
    assert keep in support.table_ids(sb)
