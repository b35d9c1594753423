"""The GraphQL side: Todo resolvers on DynamoDB, AppSync-shaped validation errors, IAM and Amplify's admin rule."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

import pytest

CONDITIONAL = re.compile(
    r"^The conditional request failed \(Service: DynamoDb, Status Code: 400, Request ID: \S+\)$"
)
ISO_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


# --- resolvers ---------------------------------------------------------------------------------------------
def test_create_keeps_the_client_id_and_stores_what_amplify_stores(
    appsync: Any, client: Any, kit: Any, dynamodb: Any
) -> None:
    todo_id = kit.new_id()
    reply = client.gql(kit.CREATE, {"input": {"id": todo_id, "name": "milk", "done": False}})
    assert reply.status == 200 and "errors" not in reply.body
    todo = reply.body["data"]["createTodo"]
    assert todo["id"] == todo_id and todo["name"] == "milk" and todo["done"] is False
    assert todo["__typename"] == "Todo"
    assert ISO_Z.match(todo["createdAt"]) and todo["createdAt"] == todo["updatedAt"]
    stored = dynamodb.get_item(TableName=f"Todo-{kit.API_ID}-{kit.ENV}", Key={"id": {"S": todo_id}})["Item"]
    assert stored["__typename"] == {"S": "Todo"} and stored["name"] == {"S": "milk"}
    assert [(m.field, m.item_id, m.caller_arn) for m in appsync.stats.mutations] == [
        ("createTodo", todo_id, client.identity.arn)
    ]


def test_create_without_id_generates_a_uuid(client: Any, kit: Any) -> None:
    todo = client.gql(kit.CREATE, {"input": {"name": "no id"}}).body["data"]["createTodo"]
    assert str(uuid.UUID(todo["id"])) == todo["id"]


def test_create_on_an_existing_id_is_a_conditional_check_failure(client: Any, kit: Any) -> None:
    variables = {"input": {"id": kit.new_id(), "name": "once"}}
    assert "errors" not in client.gql(kit.CREATE, variables).body
    reply = client.gql(kit.CREATE, variables)
    assert reply.status == 200
    assert reply.body["data"] == {"createTodo": None}
    (error,) = reply.body["errors"]
    assert error["errorType"] == "DynamoDB:ConditionalCheckFailedException"
    assert CONDITIONAL.match(error["message"]), error["message"]
    assert error["path"] == ["createTodo"] and error["data"] is None and error["errorInfo"] is None
    assert error["locations"] == [{"line": 2, "column": 3, "sourceName": None}]


def test_update_changes_fields_and_requires_the_item(client: Any, kit: Any) -> None:
    todo_id = kit.new_id()
    created = client.gql(kit.CREATE, {"input": {"id": todo_id, "name": "old"}}).body["data"]["createTodo"]
    updated = client.gql(kit.UPDATE, {"input": {"id": todo_id, "name": "new", "done": True}}).body["data"]
    assert updated["updateTodo"]["name"] == "new" and updated["updateTodo"]["done"] is True
    assert updated["updateTodo"]["updatedAt"] >= created["updatedAt"]
    missing = client.gql(kit.UPDATE, {"input": {"id": kit.new_id(), "name": "x"}})
    assert missing.body["data"] == {"updateTodo": None}
    assert missing.error["errorType"] == "DynamoDB:ConditionalCheckFailedException"


def test_update_with_a_condition_that_does_not_hold(client: Any, kit: Any) -> None:
    todo_id = kit.new_id()
    client.gql(kit.CREATE, {"input": {"id": todo_id, "name": "a", "done": True}})
    refused = client.gql(
        kit.UPDATE, {"input": {"id": todo_id, "name": "b"}, "condition": {"done": {"eq": False}}}
    )
    assert refused.error["errorType"] == "DynamoDB:ConditionalCheckFailedException"
    held = client.gql(
        kit.UPDATE, {"input": {"id": todo_id, "name": "b"}, "condition": {"done": {"eq": True}}}
    )
    assert held.body["data"]["updateTodo"]["name"] == "b"


def test_delete_returns_the_deleted_item_then_get_finds_nothing(client: Any, kit: Any) -> None:
    todo_id = kit.new_id()
    client.gql(kit.CREATE, {"input": {"id": todo_id, "name": "gone soon"}})
    assert client.gql(kit.GET, {"id": todo_id}).body == {
        "data": {"getTodo": {"id": todo_id, "name": "gone soon", "done": None}}
    }
    deleted = client.gql(kit.DELETE, {"input": {"id": todo_id}}).body
    assert deleted == {"data": {"deleteTodo": {"id": todo_id, "name": "gone soon"}}}
    assert client.gql(kit.GET, {"id": todo_id}).body == {"data": {"getTodo": None}}
    again = client.gql(kit.DELETE, {"input": {"id": todo_id}})
    assert again.error["errorType"] == "DynamoDB:ConditionalCheckFailedException"


def test_list_todos_with_a_filter(client: Any, kit: Any) -> None:
    marker = kit.new_id()
    for n in range(3):
        client.gql(kit.CREATE, {"input": {"id": f"{marker}-{n}", "name": marker, "done": n == 1}})
    query = "query L($f: ModelTodoFilterInput) { listTodos(filter: $f) { items { id done } nextToken } }"
    reply = client.gql(query, {"f": {"name": {"eq": marker}, "done": {"eq": True}}})
    assert reply.body["data"]["listTodos"]["items"] == [{"id": f"{marker}-1", "done": True}]


def test_typename_and_aliases(client: Any) -> None:
    reply = client.gql("mutation { t: __typename }")
    assert reply.body == {"data": {"t": "Mutation"}}


# --- request and document errors ------------------------------------------------------------------------
def test_undefined_field_is_a_validation_error_in_appsync_words(client: Any) -> None:
    reply = client.gql("mutation {\n  bogus\n}")
    assert reply.status == 200
    assert reply.body == {
        "data": None,
        "errors": [
            {
                "path": None,
                "locations": [{"line": 2, "column": 3, "sourceName": None}],
                "message": "Validation error of type FieldUndefined: Field 'bogus' in type 'Mutation' is undefined @ 'bogus'",
            }
        ],
    }


def test_nested_undefined_field_names_its_path(client: Any) -> None:
    reply = client.gql('mutation { createTodo(input: {name: "x"}) { id owner } }')
    assert reply.error["message"] == (
        "Validation error of type FieldUndefined: Field 'owner' in type 'Todo' is undefined @ 'createTodo/owner'"
    )


def test_missing_required_argument(client: Any) -> None:
    reply = client.gql("mutation { createTodo { id } }")
    assert reply.error["message"] == (
        "Validation error of type MissingFieldArgument: Missing field argument input @ 'createTodo'"
    )


def test_variable_of_the_wrong_type(client: Any) -> None:
    reply = client.gql("mutation M($input: String!) { createTodo(input: $input) { id } }", {"input": "x"})
    assert reply.error["message"] == (
        "Validation error of type VariableTypeMismatch: Variable type 'String!' doesn't match expected type "
        "'CreateTodoInput!' @ 'createTodo'"
    )


def test_variable_missing_a_required_input_field(client: Any, kit: Any) -> None:
    reply = client.gql(kit.CREATE, {"input": {"description": "no name"}})
    assert reply.status == 200 and reply.body["data"] is None
    assert reply.error["message"] == "Variable 'input' has coerced Null value for NonNull type 'String!'"
    missing = client.gql(kit.CREATE, {})
    assert (
        missing.error["message"]
        == "Variable 'input' has coerced Null value for NonNull type 'CreateTodoInput!'"
    )


def test_variable_with_an_unknown_input_field(client: Any, kit: Any) -> None:
    reply = client.gql(kit.CREATE, {"input": {"name": "x", "owner": "me"}})
    assert reply.error["message"] == (
        "The variables input contains a field that is not defined for input object type 'CreateTodoInput' "
    )


def test_syntax_error(client: Any) -> None:
    reply = client.gql("mutation { createTodo(")
    assert reply.status == 200 and reply.body["data"] is None
    assert reply.error["message"].startswith("Invalid Syntax : offending token")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "Request body is empty."),
        (b"{not json", "Unable to parse GraphQL query."),
        (b"{}", "Unable to parse GraphQL query."),
    ],
    ids=["empty", "not-json", "no-query"],
)
def test_malformed_body(client: Any, body: bytes, message: str) -> None:
    reply = client.raw(body)
    assert reply.status == 400
    assert reply.body == {"errors": [{"errorType": "MalformedHttpRequestException", "message": message}]}


def test_several_operations_need_an_operation_name(client: Any) -> None:
    document = "query A { __typename } query B { __typename }"
    reply = client.gql(document)
    assert reply.status == 400 and reply.error["errorType"] == "BadRequestException"
    assert client.gql(document, operationName="B").body == {"data": {"__typename": "Query"}}


def test_subscriptions_over_post_are_refused(client: Any) -> None:
    reply = client.gql("subscription { onCreateTodo { id } }")
    assert reply.status == 200 and reply.body["data"] is None
    assert reply.error["errorType"] == "UnsupportedOperation"


# --- IAM policy on fields ---------------------------------------------------------------------------------------
def test_iam_policy_without_the_field_is_denied(appsync: Any, identities: Any, kit: Any) -> None:
    only_create = (
        f"arn:aws:appsync:{kit.REGION}:{kit.ACCOUNT_B}:apis/{kit.API_ID}/types/Mutation/fields/createTodo"
    )
    narrow = kit.Client(appsync.url, identities.issue(allow=(only_create,)))
    assert "errors" not in narrow.gql(kit.CREATE, {"input": {"name": "allowed"}}).body
    reply = narrow.gql(kit.DELETE, {"input": {"id": "whatever"}})
    assert (reply.status, reply.body) == (
        401,
        {"errors": [{"errorType": "UnauthorizedException", "message": "Permission denied"}]},
    )
    assert reply.headers["x-amzn-ErrorType"].startswith("UnauthorizedException")
    assert narrow.gql(kit.GET, {"id": "x"}).status == 401


# --- Amplify's admin-role rule ---------------------------------------------------------------------------------
def _unauthorized(reply: Any, field: str = "createTodo") -> None:
    assert reply.status == 200
    assert reply.body == {
        "data": {field: None},
        "errors": [
            {
                "path": [field],
                "data": None,
                "errorType": "Unauthorized",
                "errorInfo": None,
                "locations": [{"line": 2, "column": 3, "sourceName": None}],
                "message": f"Not Authorized to access {field} on type Mutation",
            }
        ],
    }


ASSUMED = "arn:aws:sts::222222222222:assumed-role/AppSyncMutationWorker/appsync-mutation-worker"


@pytest.mark.parametrize(
    ("behaviour", "entries", "admitted"),
    [
        ("verbatim", [ASSUMED], True),
        ("normalize", [ASSUMED], True),
        ("verbatim", ["arn:aws:iam::222222222222:role/AppSyncMutationWorker"], False),
        ("normalize", ["arn:aws:iam::222222222222:role/AppSyncMutationWorker"], False),
        ("verbatim", "AppSyncMutationWorker", True),
        ("verbatim", ["arn:aws:sts::222222222222:assumed-role/AppSyncMutationWorker/other-session"], False),
        ("verbatim", ["AppSyncMutationWorker/${env}"], False),
        ("verbatim", [], False),
        ("verbatim", None, False),
    ],
    ids=[
        "verbatim-assumed-arn",
        "normalize-assumed-arn",
        "verbatim-iam-role-arn",
        "normalize-iam-role-arn",
        "verbatim-bare-name-string",
        "verbatim-other-session",
        "verbatim-env-substituted",
        "empty-list",
        "no-file",
    ],
)
def test_admin_rule(
    appsync: Any, client: Any, kit: Any, roles_file: Any, behaviour: str, entries: Any, admitted: bool
) -> None:
    appsync.cli_behaviour = behaviour
    kit.write_roles(roles_file, entries)
    reply = client.gql(kit.CREATE, {"input": {"name": "admin?"}})
    if admitted:
        assert "errors" not in reply.body, reply.body
    else:
        _unauthorized(reply)


@pytest.mark.parametrize("behaviour", ["verbatim", "normalize"])
def test_entry_without_session_also_admits_longer_role_names(
    appsync: Any, identities: Any, kit: Any, roles_file: Any, behaviour: str
) -> None:
    """Amplify's resolvers test ``$ctx.identity.userArn.contains($adminRole)``: ``.../assumed-role/Mutator`` alone admits ``MutatorAdmin`` too (a substring test)."""
    kit.write_roles(roles_file, ["arn:aws:sts::222222222222:assumed-role/AppSyncMutationWorker"])
    appsync.cli_behaviour = behaviour
    longer = kit.Client(appsync.url, identities.issue(role="AppSyncMutationWorkerAdmin"))
    assert "errors" not in longer.gql(kit.CREATE, {"input": {"name": "x"}}).body
    stranger = kit.Client(appsync.url, identities.issue(role="OtherRole"))
    _unauthorized(stranger.gql(kit.CREATE, {"input": {"name": "x"}}))


def test_custom_roles_file_changes_apply_to_the_next_request(client: Any, kit: Any, roles_file: Any) -> None:
    kit.write_roles(roles_file, ["nobody"])
    _unauthorized(client.gql(kit.CREATE, {"input": {"name": "x"}}))
    kit.write_roles(roles_file, [ASSUMED])
    assert "errors" not in client.gql(kit.CREATE, {"input": {"name": "x"}}).body
    roles_file.write_text(json.dumps({"adminRoleNames": ["nobodx"]}))  # same size, same instant
    _unauthorized(client.gql(kit.CREATE, {"input": {"name": "x"}}))


def test_refused_mutation_writes_nothing(
    appsync: Any, client: Any, kit: Any, roles_file: Any, dynamodb: Any
) -> None:
    kit.write_roles(roles_file, None)
    todo_id = kit.new_id()
    _unauthorized(client.gql(kit.CREATE, {"input": {"id": todo_id, "name": "x"}}))
    assert "Item" not in dynamodb.get_item(
        TableName=f"Todo-{kit.API_ID}-{kit.ENV}", Key={"id": {"S": todo_id}}
    )
    assert appsync.stats.mutations == []
    assert appsync.stats.by_outcome == {"unauthorized": 1}
