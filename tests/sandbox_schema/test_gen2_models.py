"""Gen 2 models compiled as deployed, and Gen 2 custom mutations named as not served.

The sandbox used to rewrite every Gen 2 model to ``@auth(rules: [{allow: private, provider: iam}])``: the
``owner`` field of ``allow.owner()`` (when not declared) and the secondary indexes were gone, so an envelope that
works on AWS (``createNote(...) { id owner }``) failed locally with ``Cannot query field "owner"``. Now each model
keeps its own rules, keys and relationships, compiled in Gen 2's IAM-access mode.

The fixture is a real deployment's ``amplify_outputs.json``: sinnchan/todo
``frontend/lib/infra/api/amplify/gen/config/develop/amplify_outputs.dart`` at commit 76f8973684af966e9f2d1b81d434a2866ac5da8b
(the JSON inside its raw string, verbatim: ``Task`` with ``allow.ownerDefinedIn('owner')`` and the secondary index
``byOwnerDatetime``/``tasksByOwnerDatetime``). ``extended()`` adds, in the same shapes, what that file lacks and
is written here, not observed: ``Note`` with ``allow.owner()`` and no declared ``owner`` field, a ``Task.note``
relationship without references the sandbox cannot restate (left out, and said so), ``Post``/``Comment``
related by ``references`` (the shape of aws-amplify/amplify-js
``packages/api-graphql/__tests__/fixtures/modeled/amplifyconfiguration.js``), and the custom mutation
``createTaskWithLimit`` declared in the same repository's ``backend/amplify/data/resource.ts`` (the shape of
``queries`` in a Gen 2 ``amplify_outputs.json`` such as 1001-Galela-Amiel/-ai-recipe-generator's).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from project_settings import Settings, load_settings
from sandbox.appsync.models import introspection_schema
from sandbox.cli import describe, started
from tests.amplify_backend.test_schema_compile import signed_post

FIXTURE = Path(__file__).with_name("fixtures") / "sinnchan-todo-develop.amplify_outputs.json"
MUTATIONS = ("createTask", "createNote", "createPost", "createComment", "createTaskWithLimit")
OWNER_RULE = {
    "provider": "userPools",
    "ownerField": "owner",
    "allow": "owner",
    "identityClaim": "cognito:username",
    "operations": ["create", "update", "delete", "read"],
}


def _field(name: str, kind: Any, required: bool = False, **extra: Any) -> dict[str, Any]:
    return {"name": name, "isArray": False, "type": kind, "isRequired": required, "attributes": [], **extra}


def _model(name: str, fields: list[dict[str, Any]], rules: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "name": name,
        "fields": {f["name"]: f for f in fields},
        "syncable": True,
        "pluralName": f"{name}s",
        "attributes": [{"type": "model", "properties": {}}, {"type": "auth", "properties": {"rules": rules}}],
        "primaryKeyInfo": {"isCustomPrimaryKey": False, "primaryKeyFieldName": "id", "sortKeyFieldNames": []},
    }


def extended(outputs: dict[str, Any]) -> dict[str, Any]:
    """The real file plus the constructed models and custom mutation described in the module docstring."""
    result = copy.deepcopy(outputs)
    introspection = result["data"]["model_introspection"]
    models = introspection["models"]
    models["Note"] = _model("Note", [_field("id", "ID", True), _field("text", "String")], [OWNER_RULE])
    comments = _field("comments", {"model": "Comment"}, isArrayNullable=True)
    comments.update(isArray=True, association={"connectionType": "HAS_MANY", "associatedWith": ["postId"]})
    models["Post"] = _model(
        "Post",
        [_field("id", "ID", True), _field("title", "String"), comments],
        [
            {
                "allow": "groups",
                "groups": ["Admins"],
                "provider": "userPools",
                "groupClaim": "cognito:groups",
            },
            {"allow": "public", "provider": "iam", "operations": ["read"]},
        ],
    )
    post = _field(
        "post", {"model": "Post"}, association={"connectionType": "BELONGS_TO", "targetNames": ["postId"]}
    )
    models["Comment"] = _model(
        "Comment",
        [_field("id", "ID", True), _field("postId", "ID"), _field("body", "String"), post],
        [{"allow": "private", "provider": "iam"}],
    )
    # A Gen 1-style implicit relationship (no references the related model declares): not restated.
    models["Task"]["fields"]["note"] = _field(
        "note", {"model": "Note"}, association={"connectionType": "HAS_ONE", "associatedWith": ["taskNoteId"]}
    )
    arguments = [_field("id", "ID", True), _field("title", "String", True), _field("datetime", "AWSDateTime")]
    introspection["mutations"] = {
        "createTaskWithLimit": {
            **_field("createTaskWithLimit", {"model": "Task"}),
            "arguments": {a["name"]: a for a in arguments},
        }
    }
    return result


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    app = tmp_path_factory.mktemp("gen2-app")
    outputs = extended(json.loads(FIXTURE.read_text(encoding="utf-8")))
    (app / "amplify_outputs.json").write_text(json.dumps(outputs, indent=2), encoding="utf-8")
    return load_settings().with_changes(
        amplify={"generation": 2, "project_dir": app}, appsync={"allowed_mutations": MUTATIONS}
    )


@pytest.fixture(scope="module")
def running(
    project: Settings, amplify_node_modules: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Any]:
    env_file = tmp_path_factory.mktemp("build") / "sandbox.env"
    with started(project, backend="amplify", env_file=env_file) as handle:
        yield handle


def test_the_real_file_keeps_its_owner_rule_and_index() -> None:
    """No Node needed: what introspection_schema makes of the real file."""
    outputs = json.loads(FIXTURE.read_text(encoding="utf-8"))
    schema = introspection_schema(outputs["data"]["model_introspection"])
    assert (
        'type Task @model @auth(rules: [{allow: owner, provider: userPools, ownerField: "owner", '
        'identityClaim: "cognito:username", operations: [create, update, delete, read]}])' in schema.text
    )
    assert (
        'owner: String @index(name: "byOwnerDatetime", sortKeyFields: ["datetime"], '
        'queryField: "tasksByOwnerDatetime")' in schema.text
    )
    assert schema.custom_operations == () and schema.notes == ()


def test_gen2_models_compile_with_their_rules_keys_and_relationships(running: Any) -> None:
    sb = running.sandbox
    assert running.backend == "amplify" and sb.generation == 2
    assert "amplify_outputs.json (data.model_introspection)" in running.schema_source
    api = sb.settings.appsync.api_id
    assert sb.table_names == {m: f"{m}-{api}-NONE" for m in ("Task", "Note", "Post", "Comment")}
    task = sb.client("dynamodb", "B").describe_table(TableName=sb.table_names["Task"])["Table"]
    (index,) = task["GlobalSecondaryIndexes"]
    assert index["IndexName"] == "byOwnerDatetime"
    assert [k["AttributeName"] for k in index["KeySchema"]] == ["owner", "datetime"]
    comment = sb.client("dynamodb", "B").describe_table(TableName=sb.table_names["Comment"])["Table"]
    assert [i["IndexName"] for i in comment.get("GlobalSecondaryIndexes", [])] == ["gsi-Post.comments"]


def test_owner_fields_are_compiled_as_on_aws(running: Any, project: Settings) -> None:
    """The owner field is in the compiled schema again (it used to be ``Cannot query field "owner"``).

    As on AWS, the create input accepts ``owner`` exactly when the project declared the field (``Task``, from
    the real file): for ``allow.owner()`` without a declared field (``Note``) the transformer adds ``owner`` to
    the type and to the filter/condition inputs only (graphql-auth-transformer 1.8.4,
    lib/graphql-auth-transformer.js:185-218 and addFieldsToObject at :636-645), and Gen 2's data-schema does not
    declare it (``calculateAuth``'s ``authFields`` are only checked against declared fields).
    """
    sb = running.sandbox
    status, answer = signed_post(
        sb,
        project,
        'mutation { createTask(input: {id: "t-1", title: "a", datetime: "2026-12-01T10:00:00.000Z", '
        'done: false, owner: "user-1"}) { id owner } }',
    )
    assert (status, answer) == (200, {"data": {"createTask": {"id": "t-1", "owner": "user-1"}}})
    assert [(i["id"], i["owner"]) for i in sb.table_items("Task")] == [("t-1", "user-1")]

    status, answer = signed_post(
        sb, project, 'mutation { createNote(input: {id: "n-1", text: "hi"}) { id text owner } }'
    )
    assert (status, answer) == (200, {"data": {"createNote": {"id": "n-1", "text": "hi", "owner": None}}})
    status, answer = signed_post(
        sb, project, 'mutation { createNote(input: {id: "n-2", owner: "user-1"}) { id } }'
    )
    assert answer["errors"][0]["message"] == 'Field "owner" is not defined by type "CreateNoteInput".'


def test_relationships_and_group_rules_compile(running: Any, project: Settings) -> None:
    sb = running.sandbox
    status, answer = signed_post(
        sb, project, 'mutation { createPost(input: {id: "p-1", title: "t"}) { id } }'
    )
    assert (status, answer) == (200, {"data": {"createPost": {"id": "p-1"}}})
    status, answer = signed_post(
        sb,
        project,
        'mutation { createComment(input: {id: "c-1", postId: "p-1", body: "b"}) { id post { id title } } }',
    )
    assert (status, answer) == (
        200,
        {"data": {"createComment": {"id": "c-1", "post": {"id": "p-1", "title": "t"}}}},
    )


def test_a_relationship_it_cannot_restate_is_named(running: Any) -> None:
    (note,) = [n for n in running.notes if n.startswith("Task.note:")]
    assert "left out" in note
    assert f"note: {note}" in describe(running, None)


def test_a_custom_mutation_is_named_at_start_and_refused_with_why(running: Any, project: Settings) -> None:
    assert [u.name for u in running.unserved] == ["Mutation.createTaskWithLimit"]
    (note,) = [n for n in running.notes if "createTaskWithLimit" in n]
    assert "Gen 2 custom mutation" in note and "not served by the sandbox" in note
    assert f"note: {note}" in describe(running, None)
    status, answer = signed_post(
        running.sandbox, project, 'mutation { createTaskWithLimit(id: "t-2", title: "b") { id } }'
    )
    assert status == 200
    (error,) = answer["errors"]
    assert error["errorType"] == "SandboxUnservedField"
    assert error["message"].startswith(
        "Mutation.createTaskWithLimit is not served by the sandbox: a Gen 2 custom"
    )
    assert "Cannot query field" not in error["message"]
