"""One moto server, one DynamoDB table and one AppSync stand-in for the whole module set.

Requests are signed for real: botocore's ``SigV4Auth`` over an ``AWSRequest``, sent with ``requests`` (sync
tests) or gql's ``AIOHTTPTransport`` with ``AppSyncIAMAuthentication`` (async tests). Identities are keys this
file generates, behind a small ``IdentityResolver`` with per-caller allowed field ARNs.
"""

from __future__ import annotations

import fnmatch
import json
import secrets
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from sandbox.identity import CallerIdentity

ACCOUNT_B = "222222222222"
REGION = "us-east-1"
API_ID = "sandboxapi0000000000000000"
ROLE = "AppSyncMutationWorker"
SESSION = "appsync-mutation-worker"
ENV = "sandbox"
FIELD_ARN = f"arn:aws:appsync:{REGION}:{ACCOUNT_B}:apis/{API_ID}/types/*/fields/*"


class Identities:
    """A minimal ``IdentityResolver``: issued keys, and the field ARN patterns each caller may use."""

    def __init__(self) -> None:
        self.keys: dict[str, CallerIdentity] = {}
        self.allowed: dict[str, list[str]] = {}

    def issue(
        self,
        role: str = ROLE,
        session: str = SESSION,
        *,
        allow: tuple[str, ...] = (FIELD_ARN,),
        expires_in: timedelta | None = timedelta(hours=1),
        long_term_user: str | None = None,
    ) -> CallerIdentity:
        if long_term_user:
            key, token, expiration = "AKIA" + secrets.token_hex(8).upper(), None, None
            arn, role_arn = f"arn:aws:iam::{ACCOUNT_B}:user/{long_term_user}", None
        else:
            key, token = "ASIA" + secrets.token_hex(8).upper(), secrets.token_urlsafe(48)
            expiration = datetime.now(UTC) + expires_in if expires_in is not None else None
            arn = f"arn:aws:sts::{ACCOUNT_B}:assumed-role/{role}/{session}"
            role_arn = f"arn:aws:iam::{ACCOUNT_B}:role/{role}"
        identity = CallerIdentity(key, secrets.token_urlsafe(30), token, expiration, arn, ACCOUNT_B, role_arn)
        self.keys[key] = identity
        self.allowed[key] = list(allow)
        return identity

    def lookup(self, access_key_id: str) -> CallerIdentity | None:
        return self.keys.get(access_key_id)

    def is_allowed(self, caller: CallerIdentity, action: str, resource: str) -> bool:
        patterns = self.allowed.get(caller.access_key_id, [])
        return action == "appsync:GraphQL" and any(fnmatch.fnmatchcase(resource, p) for p in patterns)


@dataclass
class Reply:
    status: int
    body: Any
    headers: Any

    @property
    def error(self) -> dict[str, Any]:
        return dict(self.body["errors"][0])


def credentials_of(identity: CallerIdentity, **changes: str | None) -> Credentials:
    values: dict[str, Any] = {
        "access_key": identity.access_key_id,
        "secret_key": identity.secret_access_key,
        "token": identity.session_token,
    }
    values.update(changes)
    return Credentials(**values)


def sign(
    url: str,
    body: bytes,
    credentials: Credentials,
    *,
    region: str = REGION,
    service: str = "appsync",
    host: str | None = None,
) -> dict[str, str]:
    """Headers botocore's SigV4 signer produces for a POST of ``body`` to ``url`` (signed for ``host``)."""
    request = AWSRequest(method="POST", url=url, data=body, headers={"content-type": "application/json"})
    if host is not None:
        request.headers["host"] = host
    SigV4Auth(credentials, service, region).add_auth(request)
    return dict(request.headers.items())


def post(url: str, body: bytes, headers: dict[str, str], timeout: float = 10.0) -> Reply:
    response = requests.post(url, data=body, headers=headers, timeout=timeout)
    try:
        payload: Any = response.json()
    except ValueError:
        payload = response.text
    return Reply(response.status_code, payload, response.headers)


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture(scope="session")
def dynamodb(moto_endpoint: str) -> Any:
    client = boto3.client(
        "dynamodb",
        endpoint_url=moto_endpoint,
        region_name=REGION,
        aws_access_key_id="AKIAIOSFODNN7EXAMPLE",  # moto: account B is the key's account via default
        aws_secret_access_key="secret",
    )
    client.create_table(
        TableName=f"Todo-{API_ID}-{ENV}",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return client


@pytest.fixture(scope="session")
def identities() -> Identities:
    return Identities()


@pytest.fixture(scope="session")
def roles_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("amplify") / "custom-roles.json"


@pytest.fixture(scope="session")
def appsync_server(identities: Identities, dynamodb: Any, roles_file: Path) -> Iterator[Any]:
    from sandbox.appsync import AppSyncStandIn

    stand_in = AppSyncStandIn(
        identities=identities,
        dynamodb_client=dynamodb,
        table_name=f"Todo-{API_ID}-{ENV}",
        api_id=API_ID,
        region=REGION,
        account_id=ACCOUNT_B,
        custom_roles_path=roles_file,
        cli_behaviour="verbatim",
        env_name=ENV,
    )
    stand_in.start()
    try:
        yield stand_in
    finally:
        stand_in.stop()


@pytest.fixture
def appsync(appsync_server: Any, roles_file: Path) -> Iterator[Any]:
    """The shared stand-in, healthy, with fresh stats, the worker's session admitted, verbatim CLI."""
    appsync_server.faults.clear()
    appsync_server.stats.reset()
    appsync_server.cli_behaviour = "verbatim"
    appsync_server.clock_offset = timedelta(0)
    write_roles(roles_file, [f"arn:aws:sts::{ACCOUNT_B}:assumed-role/{ROLE}/{SESSION}"])
    yield appsync_server
    appsync_server.faults.clear()


def write_roles(path: Path, entries: list[str] | str | None) -> None:
    if entries is None:
        path.unlink(missing_ok=True)
    else:
        path.write_text(json.dumps({"adminRoleNames": entries}), encoding="utf-8")


@pytest.fixture
def caller(identities: Identities) -> CallerIdentity:
    return identities.issue()


class Client:
    """Signed GraphQL POSTs for one caller (``requests`` + botocore SigV4)."""

    def __init__(self, url: str, identity: CallerIdentity) -> None:
        self.url = url
        self.identity = identity

    def gql(self, query: str, variables: dict[str, Any] | None = None, **extra: Any) -> Reply:
        payload: dict[str, Any] = {"query": query, **extra}
        if variables is not None:
            payload["variables"] = variables
        return self.raw(json.dumps(payload).encode())

    def raw(self, body: bytes, timeout: float = 10.0) -> Reply:
        return post(self.url, body, sign(self.url, body, credentials_of(self.identity)), timeout)


@pytest.fixture
def client(appsync: Any, caller: CallerIdentity) -> Client:
    return Client(appsync.url, caller)


CREATE = """mutation Create($input: CreateTodoInput!, $condition: ModelTodoConditionInput) {
  createTodo(input: $input, condition: $condition) { id name description done createdAt updatedAt __typename }
}"""
UPDATE = """mutation Update($input: UpdateTodoInput!, $condition: ModelTodoConditionInput) {
  updateTodo(input: $input, condition: $condition) { id name description done updatedAt }
}"""
DELETE = "mutation Delete($input: DeleteTodoInput!) { deleteTodo(input: $input) { id name } }"
GET = "query Get($id: ID!) { getTodo(id: $id) { id name done } }"


def new_id() -> str:
    return "todo-" + secrets.token_hex(6)


@pytest.fixture(scope="session")
def kit() -> Any:
    """This module's helpers (importlib mode: test modules cannot import conftest)."""
    return sys.modules[__name__]
