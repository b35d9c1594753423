"""The sandbox compiles a project's schema as the Amplify CLI would, so it is not kinder than AWS.

One schema as projects write it (the ``amplify add api`` starter's global ``allow: public`` rule, a model with
and one without ``@auth``, ``@searchable``, ``@function``/``@http``/``@predictions`` fields), compiled once for
the module and called through the sandbox's SigV4 front with the worker's admin role:

- sandbox mode is derived from the schema as the CLI derives it (``schemaHasSandboxModeEnabled``): the model
  without ``@auth`` refuses the admin role (Unauthorized), the model with ``@auth`` admits it;
- the fields the sandbox cannot serve are left out and named, and a request to one says why.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from project_settings import Settings, load_settings
from sandbox.fixture import Sandbox

SCHEMA = """
input AMPLIFY { globalAuthRule: AuthRule = { allow: public } } # FOR TESTING ONLY!

type Todo @model {
  id: ID!
  name: String!
}

type Note @model @auth(rules: [{ allow: public }]) {
  id: ID!
  text: String
}

type Post @model @searchable @auth(rules: [{ allow: private, provider: iam }]) {
  id: ID!
  title: String
  summary: String @function(name: "summarize-${env}")
}

type Query {
  translate(text: String): String @predictions(actions: [translateText])
  weather(city: String): String @http(url: "https://example.com/weather")
}

type Mutation {
  notifyOwner(id: ID!): String @function(name: "notify-${env}")
}
"""
MUTATIONS = ("createTodo", "createNote", "createPost", "notifyOwner")
SETTINGS = load_settings().with_changes(appsync={"allowed_mutations": MUTATIONS})


@pytest.fixture(scope="module")
def sb(amplify_node_modules: Path) -> Iterator[Sandbox]:
    from sandbox.amplify_backend import amplify_appsync

    with Sandbox.start(SETTINGS, schema=SCHEMA) as sandbox, amplify_appsync(sandbox, amplify_node_modules):
        yield sandbox


def signed_post(sb: Sandbox, settings: Settings, query: str) -> tuple[int, Any]:
    """A request signed like the worker's: the account-B role assumed from the Lambda container's session."""
    import boto3
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest

    creds = sb.lambda_client("sts").assume_role(
        RoleArn=settings.mutator_role_arn, RoleSessionName=settings.mutator_role.session_name
    )["Credentials"]
    frozen = boto3.Session(
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
    ).get_credentials()
    url = sb.appsync_url
    body = json.dumps({"query": query})
    request = AWSRequest("POST", url, data=body, headers={"content-type": "application/json"})
    SigV4Auth(frozen, "appsync", sb.region).add_auth(request)
    try:
        with urllib.request.urlopen(
            urllib.request.Request(url, body.encode(), dict(request.headers.items()), method="POST"),
            timeout=30,
        ) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_the_global_public_rule_compiles_in_sandbox_mode_with_an_api_key(sb: Sandbox) -> None:
    backend = sb.appsync
    assert backend.sandbox_mode is True
    assert "API_KEY" in backend.providers
    assert backend.deployed_admin_roles == [SETTINGS.assumed_role_arn]  # custom-roles.json was pushed
    assert backend.sandbox_mode_models == ["Todo"]  # Note and Post have their own @auth
    # The transformer's own words for the step that decides Todo (without sandbox mode: "Sandbox Mode Disabled").
    assert backend.post_auth["Mutation.createTodo"] == "Sandbox Mode Enabled, IAM Access Disabled"
    assert any("(here: Todo)" in note and "admin roles included" in note for note in backend.notes)


def test_an_admin_role_is_refused_on_a_model_without_auth_and_admitted_on_one_with_auth(sb: Sandbox) -> None:
    """Todo compiles to "Sandbox Mode Enabled, IAM Access Disabled"; Note's own @auth admits Amplify admin roles."""
    status, answer = signed_post(sb, SETTINGS, 'mutation { createTodo(input: {name: "x"}) { id } }')
    assert status == 200
    assert answer["data"] == {"createTodo": None}
    assert answer["errors"][0]["errorType"] == "Unauthorized", answer
    assert answer["errors"][0]["message"] == "Not Authorized to access createTodo on type Mutation"
    assert sb.table_items("Todo") == []

    status, answer = signed_post(
        sb, SETTINGS, 'mutation { createNote(input: {id: "n-1", text: "y"}) { id } }'
    )
    assert (status, answer) == (200, {"data": {"createNote": {"id": "n-1"}}})
    assert [i["text"] for i in sb.table_items("Note")] == ["y"]


def test_fields_the_sandbox_cannot_serve_are_left_out_and_named(sb: Sandbox) -> None:
    unserved = {u.name: u for u in sb.appsync.unserved}
    assert set(unserved) == {
        "Post.summary",
        "Query.searchPosts",
        "Query.translate",
        "Query.weather",
        "Mutation.notifyOwner",
    }
    assert unserved["Mutation.notifyOwner"].directive == "function"
    assert unserved["Mutation.notifyOwner"].action == "field left out"
    assert "notify-${env}" in unserved["Mutation.notifyOwner"].reason
    assert unserved["Query.searchPosts"].action == "directive dropped"
    assert any(n.startswith("Mutation.notifyOwner is not served by the sandbox") for n in sb.appsync.notes)
    # The model itself is served (without its @function field).
    status, answer = signed_post(
        sb, SETTINGS, 'mutation { createPost(input: {id: "p-1", title: "t"}) { id } }'
    )
    assert (status, answer) == (200, {"data": {"createPost": {"id": "p-1"}}})


def test_a_request_to_an_unserved_mutation_says_why(sb: Sandbox) -> None:
    status, answer = signed_post(sb, SETTINGS, 'mutation { notifyOwner(id: "p-1") }')
    assert status == 200
    (error,) = answer["errors"]
    assert error["errorType"] == "SandboxUnservedField"
    assert error["path"] == ["notifyOwner"]
    assert error["message"].startswith("Mutation.notifyOwner is not served by the sandbox: @function(name:")
    assert "Cannot query field" not in error["message"]


def test_a_nested_unserved_field_says_why_too(sb: Sandbox) -> None:
    """``Post.summary`` (``@function``) in a selection set: the validation error names the reason."""
    query = 'mutation { createPost(input: {id: "p-2", title: "t"}) { id summary } }'
    _, answer = signed_post(sb, SETTINGS, query)
    (error,) = answer["errors"]
    assert error["message"].startswith("Post.summary is not served by the sandbox: @function(name:"), answer
    assert error["message"].endswith('(the simulator says: Cannot query field "summary" on type "Post".)')
    assert "path" not in error or error["path"] is None  # still a document refusal: nothing ran
    assert "p-2" not in {i["id"] for i in sb.table_items("Post")}
