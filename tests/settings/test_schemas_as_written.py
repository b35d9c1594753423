"""The way in: schemas as Amplify projects write them.

- the starter schema's global rule puts models without @auth in sandbox mode (IAM callers refused;
  transformer 1.8.4 output): init warns, naming the fix;
- @manyToMany join models have mutations; the join model takes the @auth rules of the models it joins
  (checked on transformer 1.8.4: createUserChatroom admits admin roles when either side has @auth);
- transformer v1 directives are refused with Amplify's migration pointer; a duplicate `input AMPLIFY` is refused;
- custom mutations are named as such.
"""

from __future__ import annotations

import shutil
import tomllib
from pathlib import Path
from typing import Any

import pytest

from mutation_cli.main import main
from project_settings.model import DEFAULT_PATH
from project_settings.schema import SchemaError, parse_gen1_schema, schema_warnings

FIXTURES = Path(__file__).resolve().parent / "fixtures"
STARTER = """
# This "input" configures a global authorization rule to enable public access to
# all models in this schema. Learn more about authorization rules here: https://docs.amplify.aws/cli/graphql/authorization-rules
input AMPLIFY { globalAuthRule: AuthRule = { allow: public } } # FOR TESTING ONLY!

type Todo @model {
  id: ID!
  name: String!
  description: String
}

type Note @model @auth(rules: [{ allow: owner }, { allow: private, provider: iam }]) {
  id: ID!
  text: String
}

type User @model {
  id: ID!
  chats: [Chatroom] @manyToMany(relationName: "UserChatroom")
  tags: [Tag] @manyToMany(relationName: "UserTag")
}

type Chatroom @model @auth(rules: [{ allow: private, provider: iam }]) {
  id: ID!
  users: [User] @manyToMany(relationName: "UserChatroom")
}

type Tag @model {
  id: ID!
  users: [User] @manyToMany(relationName: "UserTag")
}

type Mutation {
  sendEmail(to: String!): String @function(name: "sendEmail-${env}")
  echo(text: String): String
}
"""


def test_starter_rule_puts_models_without_auth_in_sandbox_mode() -> None:
    schema = parse_gen1_schema(STARTER, "schema.graphql")
    assert schema.sandbox_mode_models == ("Todo", "User", "Tag", "UserTag")
    assert "Note" not in schema.sandbox_mode_models and "Chatroom" not in schema.sandbox_mode_models
    assert schema.refused_for_iam(["createTodo", "updateNote", "createUserChatroom", "deleteUserTag"]) == {
        "createTodo": "Todo",
        "deleteUserTag": "UserTag",
    }
    # without the global rule nothing is in sandbox mode (models without @auth take the API's default)
    plain = parse_gen1_schema(STARTER.replace("input AMPLIFY", "input NOTAMPLIFY"), "schema.graphql")
    assert plain.sandbox_mode_models == ()


def test_a_lower_case_relation_name_is_capitalised_as_amplify_names_the_type() -> None:
    """Rnad95/MomToBe: relationName "userBlogs" compiles to type UserBlogs with createUserBlogs."""
    schema = parse_gen1_schema(
        'type Mother @model { id: ID! blogs: [Blog] @manyToMany(relationName: "userBlogs") }\n'
        'type Blog @model { id: ID! mothers: [Mother] @manyToMany(relationName: "userBlogs") }',
        "schema.graphql",
    )
    assert "UserBlogs" in schema.models and "createUserBlogs" in schema.mutations
    assert "createuserBlogs" not in schema.mutations


def test_many_to_many_join_models_have_mutations() -> None:
    schema = parse_gen1_schema(STARTER, "schema.graphql")
    for join in ("UserChatroom", "UserTag"):
        assert join in schema.models
        assert {f"create{join}", f"update{join}", f"delete{join}"} <= set(schema.mutations)
    assert schema.model_of("createUserChatroom") == "UserChatroom"


def test_custom_mutations_say_what_backs_them() -> None:
    schema = parse_gen1_schema(STARTER, "schema.graphql")
    assert schema.custom_backing == {"sendEmail": "@function", "echo": "a custom resolver"}
    assert schema.model_of("sendEmail") is None
    warnings = schema_warnings(schema, ["createNote", "sendEmail"])
    assert len(warnings) == 1 and "sendEmail is a custom mutation (@function)" in warnings[0]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            'type Post @model @key(name: "byBlog", fields: ["blogID"]) { id: ID! blogID: ID! }',
            "using @key directives from an older version",
        ),
        (
            'type Post @model { id: ID! comments: [Comment] @connection(keyName: "byPost", fields: ["id"]) }',
            "using @connection directives",
        ),
        (
            "input AMPLIFY { globalAuthRule: AuthRule = { allow: public } }\n"
            "input AMPLIFY { globalAuthRule: AuthRule = { allow: public } }\ntype T @model { id: ID! }",
            'There can be only one type named "AMPLIFY"',
        ),
        ("type T @model { id: ID! ", "not valid GraphQL"),
    ],
)
def test_schemas_amplify_refuses_are_refused_with_its_words(text: str, expected: str) -> None:
    with pytest.raises(SchemaError, match=expected):
        parse_gen1_schema(text, "schema.graphql")


@pytest.mark.parametrize(
    "rule",
    [
        "{ allow: private }",  # the CLI accepts only allow: public ...
        "{ provider: apiKey, allow: public }",  # ... as the default's first field
    ],
)
def test_a_global_rule_the_cli_refuses_is_refused_with_its_words(rule: str) -> None:
    text = f"input AMPLIFY {{ globalAuthRule: AuthRule = {rule} }}\ntype Todo @model {{ id: ID! }}"
    with pytest.raises(SchemaError, match="There was a problem with your auth configuration"):
        parse_gen1_schema(text, "schema.graphql")


def test_the_snake_case_spelling_turns_sandbox_mode_on_too() -> None:
    text = "input AMPLIFY { global_auth_rule: AuthRule = { allow: public } }\ntype Todo @model { id: ID! }"
    assert parse_gen1_schema(text, "schema.graphql").sandbox_mode_models == ("Todo",)
    other = "input AMPLIFY { version: Int = 1 }\ntype Todo @model { id: ID! }"  # no rule: not sandbox mode
    assert parse_gen1_schema(other, "schema.graphql").sandbox_mode_models == ()


def test_a_renamed_model_mutation_still_belongs_to_its_model() -> None:
    text = (
        "input AMPLIFY { globalAuthRule: AuthRule = { allow: public } }\n"
        'type AuditEntry @model(mutations: { create: "recordAudit" }) { id: ID! }'
    )
    schema = parse_gen1_schema(text, "schema.graphql")
    assert schema.model_of("recordAudit") == "AuditEntry"
    assert schema.refused_for_iam(["recordAudit"]) == {"recordAudit": "AuditEntry"}
    assert "recordAudit" not in schema.custom_backing


def test_v1_refusal_points_at_the_migration_guide() -> None:
    with pytest.raises(SchemaError, match=r"docs\.amplify\.aws/cli/migration/transformer-migration"):
        parse_gen1_schema("type A @model @versioned { id: ID! }", "schema.graphql")


@pytest.fixture
def project(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Any:
    shutil.copytree(FIXTURES / "gen1", tmp_path / "shop")
    schema = tmp_path / "shop" / "amplify" / "backend" / "api" / "shopapi" / "schema.graphql"
    settings = tmp_path / "settings.toml"
    settings.write_text(DEFAULT_PATH.read_text(encoding="utf-8"), encoding="utf-8")

    class Project:
        root = tmp_path / "shop"

        @staticmethod
        def write_schema(text: str) -> None:
            schema.write_text(text, encoding="utf-8")

        @staticmethod
        def init(*args: str) -> tuple[int, str, str]:
            code = main(
                [
                    "init",
                    "--settings",
                    str(settings),
                    "--no-input",
                    "--from-amplify",
                    str(tmp_path / "shop"),
                    *args,
                ]
            )
            out, err = capsys.readouterr()
            return code, out, err

        @staticmethod
        def raw() -> dict[str, Any]:
            return tomllib.loads(settings.read_text(encoding="utf-8"))

    return Project


def test_init_warns_for_each_allowed_mutation_on_a_sandbox_mode_model(project: Any) -> None:
    project.write_schema(STARTER)
    code, _, err = project.init(
        "--worker-account", "123456789012", "--mutations", "createTodo,createNote,createUserTag"
    )
    assert code == 0
    assert err.count("warning: ") == 2
    assert "createTodo writes Todo, which has no @auth rule of its own" in err
    assert "createUserTag writes UserTag" in err
    assert "`@auth(rules: [{ allow: public }])` to `type Todo @model`" in err
    assert "createNote" not in err


def test_init_accepts_join_model_mutations(project: Any) -> None:
    project.write_schema(STARTER)
    code, _, err = project.init("--mutations", "createUserChatroom,deleteUserChatroom")
    assert code == 0, err
    assert project.raw()["appsync"]["allowed_mutations"] == ["createUserChatroom", "deleteUserChatroom"]


def test_init_refuses_a_v1_schema_with_the_migration_pointer(project: Any) -> None:
    project.write_schema('type Post @model @key(fields: ["id"]) { id: ID! }')
    before = project.raw()
    code, _, err = project.init("--mutations", "createPost")
    assert code == 2
    assert "older version of the GraphQL Transformer" in err and "transformer-migration" in err
    assert "Traceback" not in err
    assert project.raw() == before  # nothing written


def test_identity_fields_of_auth_rules_are_found() -> None:
    """Owner fields (ownerField, default owner) and groupsField: what an admin writer could forge."""
    schema = parse_gen1_schema(
        'type Post @model @auth(rules: [{ allow: owner }, { allow: groups, groupsField: "editors" }]) '
        "{ id: ID! editors: [String] }\n"
        'type Doc @model @auth(rules: [{ allow: owner, ownerField: "author", identityClaim: "sub" }, '
        "{ allow: private, provider: iam }]) { id: ID! author: String }\n"
        "type Open @model @auth(rules: [{ allow: public }]) { id: ID! }",
        "schema.graphql",
    )
    assert dict(schema.protected_fields) == {"Post": ("owner", "editors"), "Doc": ("author",)}


def test_join_model_names_are_graphql_names_and_may_not_clash() -> None:
    schema = parse_gen1_schema(
        'type A @model { id: ID! bs: [B] @manyToMany(relationName: "a-bs") }\n'
        'type B @model { id: ID! as: [A] @manyToMany(relationName: "a-bs") }',
        "schema.graphql",
    )
    assert "createAbs" in schema.mutations and "createA-bs" not in schema.mutations
    with pytest.raises(SchemaError, match=r"relation name 'Post' .* already exists as a type"):
        parse_gen1_schema(
            'type Post @model { id: ID! tags: [Tag] @manyToMany(relationName: "post") }\n'
            'type Tag @model { id: ID! posts: [Post] @manyToMany(relationName: "post") }',
            "schema.graphql",
        )
