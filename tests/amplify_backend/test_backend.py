"""The Amplify backend itself: its SigV4 front, what it deploys, and the simulator defect it patches."""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from project_settings import load_settings
from sandbox.fixture import Sandbox

SETTINGS = load_settings()


@pytest.fixture(scope="module")
def modules(amplify_node_modules: Path) -> Path:
    return amplify_node_modules  # tests/conftest.py: skipped without Node, failed under CI=true


@pytest.fixture(scope="module")
def sb() -> Iterator[Sandbox]:
    with Sandbox.start(SETTINGS) as sandbox:
        yield sandbox


def _signed_post(
    sb: Sandbox, url: str, query: str, variables: dict[str, Any] | None = None
) -> tuple[int, Any]:
    """A request signed like the worker's: the account-B role assumed from the Lambda container's session."""
    import boto3
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest

    sts = sb.lambda_client("sts")
    creds = sts.assume_role(
        RoleArn=SETTINGS.mutator_role_arn, RoleSessionName=SETTINGS.mutator_role.session_name
    )["Credentials"]
    frozen = boto3.Session(
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
    ).get_credentials()
    body = json.dumps({"query": query, "variables": variables or {}})
    request = AWSRequest("POST", url, data=body, headers={"content-type": "application/json"})
    SigV4Auth(frozen, "appsync", sb.region).add_auth(request)
    return _post(url, body.encode(), dict(request.headers.items()))


def _node_children() -> set[int]:
    """This process's children running ``serve.js`` (Amplify's resolvers), as the OS lists them in /proc: a stopped
    backend's Node process has exited and been reaped, so it is gone from the list."""
    found: set[int] = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])  # after "pid (comm)": state, ppid
            command = (stat.parent / "cmdline").read_bytes()
        except (OSError, ValueError, IndexError):  # exited while we looked
            continue
        if parent == os.getpid() and b"serve.js" in command:
            found.add(int(stat.parent.name))
    return found


def _post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(
            urllib.request.Request(url, body, headers, method="POST"), timeout=30
        ) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


UPDATE = "mutation U($input: UpdateTodoInput!, $c: ModelTodoConditionInput) { updateTodo(input: $input, condition: $c) { id name } }"


def test_the_front_verifies_signatures_and_the_resolvers_see_the_caller(sb: Sandbox, modules: Path) -> None:
    from sandbox.amplify_backend import amplify_appsync

    before = _node_children()
    with amplify_appsync(sb, modules) as backend:
        node = _node_children() - before
        assert len(node) == 1, node  # the backend's own Node process
        assert backend.versions == {"transformer": "1.8.4", "simulator": "2.16.20"}
        assert backend.deployed_admin_roles == [SETTINGS.assumed_role_arn]
        assert backend.url is not None and backend.url.startswith("http://127.0.0.1:")
        status, answer = _post(
            backend.url, b'{"query": "query { __typename }"}', {"content-type": "application/json"}
        )
        assert (status, answer["errors"][0]["errorType"]) == (401, "UnauthorizedException")
        status, answer = _signed_post(
            sb, backend.url, 'mutation { createTodo(input: {id: "front-1", name: "a"}) { id } }'
        )
        assert (status, answer) == (200, {"data": {"createTodo": {"id": "front-1"}}})
        assert backend.stats.by_caller == {SETTINGS.assumed_role_arn: 1}
        # A forged caller header is not a signature: the front replaces Authorization with its own.
        forged = {"content-type": "application/json", "authorization": "AWS4-HMAC-SHA256 SandboxCaller=e30="}
        status, _ = _post(backend.url, b'{"query": "query { __typename }"}', forged)
        assert status in (400, 403)
    assert backend.url is None and not node & _node_children()  # its Node process has exited


def test_the_simulator_drops_condition_values_unless_patched(sb: Sandbox, modules: Path) -> None:
    """aws-amplify/amplify-category-api#1450: every ``condition`` fails on the unpatched simulator."""
    from sandbox.amplify_backend import amplify_appsync

    created = 'mutation { createTodo(input: {id: "cond-1", name: "a"}) { id } }'
    with amplify_appsync(sb, modules, patch_condition_values=False) as backend:
        assert _signed_post(sb, backend.url or "", created)[0] == 200
        _, answer = _signed_post(
            sb,
            backend.url or "",
            UPDATE,
            {"input": {"id": "cond-1", "name": "b"}, "c": {"name": {"eq": "a"}}},
        )
        assert answer["data"] == {"updateTodo": None}
        # DynamoDB says ValidationException (the issue); moto fails to parse the unbound ":name_eq" instead
        assert answer["errors"][0]["errorType"].startswith("DynamoDB:"), answer
        assert any(i["id"] == "cond-1" and i["name"] == "a" for i in sb.table_items())  # unchanged
    with amplify_appsync(sb, modules) as backend:  # patched (the default)
        _, answer = _signed_post(
            sb,
            backend.url or "",
            UPDATE,
            {"input": {"id": "cond-1", "name": "b"}, "c": {"name": {"eq": "a"}}},
        )
        assert answer == {"data": {"updateTodo": {"id": "cond-1", "name": "b"}}}


def test_without_auto_push_the_deployed_resolvers_keep_what_was_pushed(sb: Sandbox, modules: Path) -> None:
    from sandbox.amplify_backend import amplify_appsync

    sb.write_custom_roles([SETTINGS.mutator_role_arn])  # what was deployed: the IAM role ARN
    with amplify_appsync(sb, modules, auto_push=False) as backend:
        sb.write_custom_roles([SETTINGS.assumed_role_arn])  # fixed locally, never pushed
        query = 'mutation { createTodo(input: {id: "push-1", name: "a"}) { id } }'
        _, answer = _signed_post(sb, backend.url or "", query)
        assert answer["errors"][0]["errorType"] == "Unauthorized"
        assert backend.push() == [SETTINGS.assumed_role_arn]  # amplify push
        _, answer = _signed_post(sb, backend.url or "", query)
        assert answer == {"data": {"createTodo": {"id": "push-1"}}}
    sb.write_custom_roles([SETTINGS.assumed_role_arn])
