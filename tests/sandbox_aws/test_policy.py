"""The sandbox's IAM policy evaluator, rule by rule, against AWS's documented evaluation logic."""

from __future__ import annotations

import json
from typing import Any

import pytest

from sandbox.aws.policy import Decision, Principal, RequestContext, evaluate, principal_matches, trust_allows

A = "111111111111"
B = "222222222222"
EXEC_ROLE = f"arn:aws:iam::{A}:role/exec"
EXEC_SESSION = f"arn:aws:sts::{A}:assumed-role/exec/fn"
MUTATOR = f"arn:aws:iam::{B}:role/Mutator"
FIELD = f"arn:aws:appsync:us-east-1:{B}:apis/api1/types/Mutation/fields/createTodo"


def statement(effect: str = "Allow", **parts: Any) -> dict[str, Any]:
    return {"Effect": effect, **parts}


def doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def ctx(action: str = "appsync:GraphQL", resource: str = FIELD, **keys: str) -> RequestContext:
    return RequestContext(action, resource, keys)


def session(role: str = "exec", name: str = "fn", account: str = A) -> Principal:
    return Principal(
        f"arn:aws:sts::{account}:assumed-role/{role}/{name}", account, f"arn:aws:iam::{account}:role/{role}"
    )


# --- Effect ----------------------------------------------------------------------------------------------
def test_allow_deny_and_implicit_deny() -> None:
    allow = doc(statement(Action="appsync:GraphQL", Resource=FIELD))
    deny = doc(statement("Deny", Action="appsync:GraphQL", Resource=FIELD))
    other = doc(statement(Action="sqs:SendMessage", Resource="*"))
    assert evaluate([allow], ctx()) is Decision.ALLOW
    assert evaluate([deny], ctx()) is Decision.DENY
    assert evaluate([other], ctx()) is Decision.IMPLICIT_DENY
    assert evaluate([], ctx()) is Decision.IMPLICIT_DENY
    assert evaluate([doc()], ctx()) is Decision.IMPLICIT_DENY


def test_explicit_deny_wins_whatever_the_order() -> None:
    allow = statement(Action="*", Resource="*")
    deny = statement("Deny", Action="appsync:GraphQL", Resource=FIELD)
    assert evaluate([doc(allow, deny)], ctx()) is Decision.DENY
    assert evaluate([doc(deny, allow)], ctx()) is Decision.DENY
    assert evaluate([doc(allow), doc(deny)], ctx()) is Decision.DENY
    assert evaluate([doc(deny), doc(allow)], ctx()) is Decision.DENY


def test_documents_may_be_json_strings_and_a_single_statement_object() -> None:
    single = {"Version": "2012-10-17", "Statement": statement(Action="appsync:GraphQL", Resource=FIELD)}
    assert evaluate([json.dumps(single)], ctx()) is Decision.ALLOW


def test_unknown_effect_allows_nothing() -> None:
    assert evaluate([doc(statement("allow", Action="*", Resource="*"))], ctx()) is Decision.IMPLICIT_DENY


# --- Action / NotAction ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("pattern", "action", "matches"),
    [
        ("appsync:GraphQL", "appsync:GraphQL", True),
        ("AppSync:graphql", "appsync:GraphQL", True),  # actions are case-insensitive
        ("appsync:*", "appsync:GraphQL", True),
        ("appsync:Graph*", "APPSYNC:GRAPHQL", True),
        ("appsync:Graph?L", "appsync:GraphQL", True),
        ("appsync:Graph?", "appsync:GraphQL", False),
        ("*", "sts:AssumeRole", True),
        ("sts:*", "appsync:GraphQL", False),
        (["sqs:SendMessage", "appsync:GraphQL"], "appsync:GraphQL", True),
        (["sqs:SendMessage", "sts:AssumeRole"], "appsync:GraphQL", False),
    ],
)
def test_action_wildcards_case_insensitive(pattern: Any, action: str, matches: bool) -> None:
    decision = evaluate([doc(statement(Action=pattern, Resource="*"))], ctx(action=action))
    assert decision is (Decision.ALLOW if matches else Decision.IMPLICIT_DENY)


def test_not_action_matches_every_other_action() -> None:
    policy = doc(statement(NotAction=["iam:*", "STS:AssumeRole"], Resource="*"))
    assert evaluate([policy], ctx(action="appsync:GraphQL")) is Decision.ALLOW
    assert evaluate([policy], ctx(action="sts:assumerole")) is Decision.IMPLICIT_DENY
    assert evaluate([policy], ctx(action="iam:PutRolePolicy")) is Decision.IMPLICIT_DENY
    deny_all_but = doc(
        statement(Action="*", Resource="*"), statement("Deny", NotAction="sqs:*", Resource="*")
    )
    assert evaluate([deny_all_but], ctx(action="sqs:SendMessage")) is Decision.ALLOW
    assert evaluate([deny_all_but], ctx(action="appsync:GraphQL")) is Decision.DENY


def test_statement_without_action_matches_nothing() -> None:
    assert evaluate([doc(statement(Resource="*"))], ctx()) is Decision.IMPLICIT_DENY


# --- Resource / NotResource ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("pattern", "matches"),
    [
        (FIELD, True),
        ("*", True),
        (f"arn:aws:appsync:us-east-1:{B}:apis/api1/types/Mutation/fields/*", True),
        (f"arn:aws:appsync:*:{B}:apis/*/types/Mutation/fields/create*", True),
        (f"arn:aws:appsync:us-east-1:{B}:apis/api1/types/Mutation/fields/createTod?", True),
        (f"arn:aws:appsync:us-east-1:{B}:apis/api1/types/Mutation/fields/updateTodo", False),
        (
            f"arn:aws:appsync:us-east-1:{B}:apis/api1/types/Mutation/fields/CreateTodo",
            False,
        ),  # case-sensitive
        (f"arn:aws:appsync:us-east-1:{B}:apis/API1/types/Mutation/fields/*", False),
        (f"arn:aws:appsync:us-east-1:{A}:apis/api1/types/Mutation/fields/*", False),
    ],
)
def test_resource_wildcards_case_sensitive(pattern: str, matches: bool) -> None:
    decision = evaluate([doc(statement(Action="appsync:GraphQL", Resource=pattern))], ctx())
    assert decision is (Decision.ALLOW if matches else Decision.IMPLICIT_DENY)


def test_not_resource() -> None:
    policy = doc(statement(Action="appsync:GraphQL", NotResource=["*/fields/delete*"]))
    assert evaluate([policy], ctx()) is Decision.ALLOW
    assert (
        evaluate([policy], ctx(resource=FIELD.replace("createTodo", "deleteTodo"))) is Decision.IMPLICIT_DENY
    )
    assert evaluate([policy], ctx(resource=FIELD.replace("createTodo", "DeleteTodo"))) is Decision.ALLOW


def test_statement_without_resource_matches_nothing_in_an_identity_policy() -> None:
    assert evaluate([doc(statement(Action="*"))], ctx()) is Decision.IMPLICIT_DENY


def test_iam_wildcards_are_only_star_and_question_mark() -> None:
    # IAM has no character classes: "[" in a pattern is a literal character.
    bracketed = "arn:aws:s3:::bucket/[abc]"
    policy = doc(statement(Action="s3:GetObject", Resource="arn:aws:s3:::bucket/[abc]"))
    assert evaluate([policy], ctx("s3:GetObject", bracketed)) is Decision.ALLOW
    assert evaluate([policy], ctx("s3:GetObject", "arn:aws:s3:::bucket/a")) is Decision.IMPLICIT_DENY


# --- Principal -----------------------------------------------------------------------------------------------
def test_role_arn_principal_matches_every_session_of_that_role_only() -> None:
    spec = {"AWS": EXEC_ROLE}
    assert principal_matches(spec, session("exec", "fn"))
    assert principal_matches(spec, session("exec", "another-session"))
    assert principal_matches({"AWS": f"arn:aws:iam::{A}:role/service-role/exec"}, session("exec"))  # path
    assert not principal_matches(spec, session("exec-other"))
    assert not principal_matches(spec, session("exe"))
    assert not principal_matches(spec, session("exec", account=B))
    user = Principal(f"arn:aws:iam::{A}:user/exec", A, f"arn:aws:iam::{A}:user/exec")
    assert not principal_matches(spec, user)


def test_account_id_and_root_arn_match_any_principal_of_that_account() -> None:
    user = Principal(f"arn:aws:iam::{A}:user/dev", A, f"arn:aws:iam::{A}:user/dev")
    root = Principal(f"arn:aws:iam::{A}:root", A, f"arn:aws:iam::{A}:root")
    for spec in (
        {"AWS": A},
        {"AWS": f"arn:aws:iam::{A}:root"},
        {"AWS": ["333333333333", f"arn:aws:iam::{A}:root"]},
    ):
        assert principal_matches(spec, session("exec"))
        assert principal_matches(spec, session("anything-else"))
        assert principal_matches(spec, user)
        assert principal_matches(spec, root)
        assert not principal_matches(spec, session("exec", account=B))
    assert not principal_matches({"AWS": "11111111111"}, session("exec"))  # not an account id


def test_star_principals() -> None:
    service = Principal("lambda.amazonaws.com", None, None, service="lambda.amazonaws.com")
    assert principal_matches("*", session())
    assert principal_matches("*", service)
    assert principal_matches({"AWS": "*"}, session())
    assert not principal_matches({"AWS": "*"}, service)


def test_service_principal() -> None:
    service = Principal("lambda.amazonaws.com", None, None, service="lambda.amazonaws.com")
    spec = {"Service": "lambda.amazonaws.com"}
    assert principal_matches(spec, service)
    assert principal_matches({"Service": ["ec2.amazonaws.com", "lambda.amazonaws.com"]}, service)
    assert not principal_matches({"Service": "ec2.amazonaws.com"}, service)
    assert not principal_matches(spec, session())
    assert not principal_matches({"AWS": "lambda.amazonaws.com"}, service)


def test_exact_session_and_user_arn_principals() -> None:
    assert principal_matches({"AWS": EXEC_SESSION}, session("exec", "fn"))
    assert not principal_matches({"AWS": EXEC_SESSION}, session("exec", "other"))
    user = Principal(f"arn:aws:iam::{A}:user/dev", A, f"arn:aws:iam::{A}:user/dev")
    assert principal_matches({"AWS": f"arn:aws:iam::{A}:user/dev"}, user)
    assert not principal_matches({"AWS": f"arn:aws:iam::{A}:user/dev2"}, user)


def test_missing_or_malformed_principal_matches_nothing() -> None:
    assert not principal_matches(None, session())
    assert not principal_matches("arn:aws:iam::111111111111:root", session())
    assert not principal_matches(["*"], session())


def test_trust_policy_evaluation() -> None:
    trust = doc(
        statement(
            Principal={"AWS": f"arn:aws:iam::{A}:root"},
            Action="sts:AssumeRole",
            Condition={
                "ArnEquals": {"aws:PrincipalArn": EXEC_ROLE},
                "StringEquals": {"sts:RoleSessionName": "pinned"},
            },
        )
    )

    def decide(principal: Principal, session_name: str, action: str = "sts:AssumeRole") -> Decision:
        keys = {"sts:RoleSessionName": session_name}
        if principal.principal_arn:
            keys["aws:PrincipalArn"] = principal.principal_arn
        return trust_allows(trust, principal, RequestContext(action, MUTATOR, keys))

    assert decide(session("exec"), "pinned") is Decision.ALLOW
    assert decide(session("exec"), "other") is Decision.IMPLICIT_DENY
    assert decide(session("other-role"), "pinned") is Decision.IMPLICIT_DENY
    assert decide(session("exec", account=B), "pinned") is Decision.IMPLICIT_DENY
    assert decide(session("exec"), "pinned", action="sts:TagSession") is Decision.IMPLICIT_DENY

    with_deny = doc(
        *trust["Statement"],
        statement("Deny", Principal={"AWS": EXEC_ROLE}, Action="sts:*"),
    )
    context = RequestContext(
        "sts:AssumeRole", MUTATOR, {"sts:RoleSessionName": "pinned", "aws:PrincipalArn": EXEC_ROLE}
    )
    assert trust_allows(with_deny, session("exec"), context) is Decision.DENY
    assert trust_allows(json.dumps(trust), session("exec"), context) is Decision.ALLOW


# --- Conditions ------------------------------------------------------------------------------------------------
def allowed_when(condition: dict[str, Any], **keys: str) -> bool:
    policy = doc(statement(Action="*", Resource="*", Condition=condition))
    return evaluate([policy], ctx(**keys)) is Decision.ALLOW


def test_string_equals_and_not_equals() -> None:
    cond = {"StringEquals": {"sts:RoleSessionName": "pinned"}}
    assert allowed_when(cond, **{"sts:RoleSessionName": "pinned"})
    assert not allowed_when(cond, **{"sts:RoleSessionName": "Pinned"})  # case-sensitive values
    assert allowed_when(
        {"StringEquals": {"sts:RoleSessionName": ["a", "pinned"]}}, **{"sts:RoleSessionName": "pinned"}
    )
    assert allowed_when(
        {"StringEquals": {"STS:rolesessionname": "pinned"}}, **{"sts:RoleSessionName": "pinned"}
    )
    neg = {"StringNotEquals": {"sts:RoleSessionName": ["a", "b"]}}
    assert allowed_when(neg, **{"sts:RoleSessionName": "c"})
    assert not allowed_when(neg, **{"sts:RoleSessionName": "b"})
    ignore_case = {"StringEqualsIgnoreCase": {"sts:RoleSessionName": "PINNED"}}
    assert allowed_when(ignore_case, **{"sts:RoleSessionName": "pinned"})


def test_string_like() -> None:
    cond = {"StringLike": {"sts:RoleSessionName": "worker-*"}}
    assert allowed_when(cond, **{"sts:RoleSessionName": "worker-1"})
    assert not allowed_when(cond, **{"sts:RoleSessionName": "Worker-1"})
    assert allowed_when({"StringLike": {"sts:RoleSessionName": "w?"}}, **{"sts:RoleSessionName": "w1"})
    assert not allowed_when({"StringLike": {"sts:RoleSessionName": "w?"}}, **{"sts:RoleSessionName": "w12"})
    assert not allowed_when(
        {"StringNotLike": {"sts:RoleSessionName": "worker-*"}}, **{"sts:RoleSessionName": "worker-1"}
    )


def test_arn_equals_and_arn_like() -> None:
    assert allowed_when({"ArnEquals": {"aws:PrincipalArn": EXEC_ROLE}}, **{"aws:PrincipalArn": EXEC_ROLE})
    assert not allowed_when(
        {"ArnEquals": {"aws:PrincipalArn": EXEC_ROLE}}, **{"aws:PrincipalArn": EXEC_ROLE + "-other"}
    )
    like = {"ArnLike": {"aws:PrincipalArn": f"arn:aws:iam::{A}:role/exec*"}}
    assert allowed_when(like, **{"aws:PrincipalArn": EXEC_ROLE})
    assert not allowed_when(like, **{"aws:PrincipalArn": f"arn:aws:iam::{B}:role/exec"})
    assert allowed_when(
        {"ArnNotEquals": {"aws:PrincipalArn": EXEC_ROLE}}, **{"aws:PrincipalArn": f"arn:aws:iam::{A}:role/x"}
    )
    assert not allowed_when(
        {"ArnNotLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/*"}}, **{"aws:PrincipalArn": EXEC_ROLE}
    )


def test_bool_and_null() -> None:
    assert allowed_when({"Bool": {"aws:SecureTransport": "true"}}, **{"aws:SecureTransport": "true"})
    assert allowed_when({"Bool": {"aws:SecureTransport": True}}, **{"aws:SecureTransport": "True"})
    assert not allowed_when({"Bool": {"aws:SecureTransport": "true"}}, **{"aws:SecureTransport": "false"})
    assert allowed_when({"Null": {"sts:ExternalId": "true"}})
    assert not allowed_when({"Null": {"sts:ExternalId": "true"}}, **{"sts:ExternalId": "x"})
    assert allowed_when({"Null": {"sts:ExternalId": "false"}}, **{"sts:ExternalId": "x"})
    assert not allowed_when({"Null": {"sts:ExternalId": "false"}})


@pytest.mark.parametrize(
    ("operator", "holds_when_missing"),
    [
        ("StringEquals", False),
        ("StringLike", False),
        ("ArnEquals", False),
        ("ArnLike", False),
        ("Bool", False),
        ("StringNotEquals", True),
        ("StringNotLike", True),
        ("ArnNotEquals", True),
        ("ArnNotLike", True),
        ("StringEqualsIfExists", True),
        ("ArnLikeIfExists", True),
        ("BoolIfExists", True),
        ("StringNotEqualsIfExists", True),
    ],
)
def test_missing_key(operator: str, holds_when_missing: bool) -> None:
    assert allowed_when({operator: {"sts:ExternalId": "value"}}) is holds_when_missing


def test_if_exists_still_tests_a_present_key() -> None:
    cond = {"StringEqualsIfExists": {"sts:ExternalId": "right"}}
    assert allowed_when(cond, **{"sts:ExternalId": "right"})
    assert not allowed_when(cond, **{"sts:ExternalId": "wrong"})


def test_every_condition_must_hold() -> None:
    cond = {
        "StringEquals": {"sts:RoleSessionName": "pinned", "sts:ExternalId": "xid"},
        "ArnEquals": {"aws:PrincipalArn": EXEC_ROLE},
    }
    keys = {"sts:RoleSessionName": "pinned", "sts:ExternalId": "xid", "aws:PrincipalArn": EXEC_ROLE}
    assert allowed_when(cond, **keys)
    for name in keys:
        assert not allowed_when(cond, **{**keys, name: "nope"})
        assert not allowed_when(cond, **{n: v for n, v in keys.items() if n != name})


def test_a_condition_on_a_deny_statement_limits_the_deny() -> None:
    policy = doc(
        statement(Action="*", Resource="*"),
        statement(
            "Deny", Action="*", Resource="*", Condition={"StringNotEquals": {"sts:RoleSessionName": "ok"}}
        ),
    )
    assert evaluate([policy], ctx(**{"sts:RoleSessionName": "ok"})) is Decision.ALLOW
    assert evaluate([policy], ctx(**{"sts:RoleSessionName": "bad"})) is Decision.DENY
    assert evaluate([policy], ctx()) is Decision.DENY  # negated operator on a missing key: true


def test_unsupported_operator_is_an_error_not_a_silent_allow() -> None:
    with pytest.raises(ValueError, match="NumericLessThan"):
        allowed_when(
            {"NumericLessThan": {"aws:MultiFactorAuthAge": "3600"}}, **{"aws:MultiFactorAuthAge": "1"}
        )
