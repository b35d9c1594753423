"""Proof against the real thing: Amplify's own Gen 1 transformer and VTL engine agree with ``admin_rule``.

``conformance/evaluate.js`` compiles the sandbox's Todo schema (``@auth(rules: [{allow: private, provider:
iam}])``) with ``@aws-amplify/graphql-transformer`` (pinned in conformance/package-lock.json), passing the
``adminRoles`` that ``admin_rule`` derives from custom-roles.json under each CLI behaviour, then evaluates the
generated pipeline init template and auth function with the simulator's ``VelocityTemplate`` for a matrix of
caller ARNs. The same matrix goes through ``admin_rule.is_admitted`` (what the sandbox's AppSync stand-in
runs); the decisions must agree one for one and match the table below.

Which entry form admits what (admin path; ``+`` admitted):

=================  =====  ==========  ========  ========  =============  =============  =========
entry / CLI        ours   other role  <R>Admin  My<R>     other account  other session  Cognito
=================  =====  ==========  ========  ========  =============  =============  =========
role+session  V    +
role+session  N    +                            +         +
role only     V    +                  +                                  +
role only     N    +                  +         +         +              +
bare <R>      V/N  +                  +         +         +              +
iam role ARN  V/N
empty ""      V/N  +      +           +         +         +              +
=================  =====  ==========  ========  ========  =============  =============  =========

(V: verbatim, @aws-amplify/amplify-category-api <= 5.15.6; N: normalize, 5.15.7+.) The Cognito auth role is never admitted as admin (the
VTL excludes it), but this schema's ``allow: private, provider: iam`` rule authorizes it anyway: the test
checks that separately.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from amplify_custom_roles import admin_rule, generate
from amplify_custom_roles.document import parse_document

HERE = Path(__file__).resolve().parent
NODE_PROJECT = HERE / "conformance"
SANDBOX_SCHEMA = HERE.parents[1] / "sandbox" / "appsync" / "schema.graphql"
FIELDS = ["Mutation.createTodo", "Mutation.updateTodo", "Query.getTodo", "Subscription.onCreateTodo"]
AUTH_ROLE = "amplify-todoapi-dev-authRole"
UNAUTH_ROLE = "amplify-todoapi-dev-unauthRole"
CALLERS = [
    "ours",
    "other_role",
    "extended_role",
    "prefixed_role",
    "other_account",
    "other_session",
    "cognito",
]

# form -> behaviour -> callers admitted as admin (the table in the module docstring)
EXPECTED: dict[str, dict[str, frozenset[str]]] = {
    "role_and_session": {
        "verbatim": frozenset({"ours"}),
        "normalize": frozenset({"ours", "prefixed_role", "other_account"}),
    },
    "role_only": {
        "verbatim": frozenset({"ours", "extended_role", "other_session"}),
        "normalize": frozenset({"ours", "extended_role", "prefixed_role", "other_account", "other_session"}),
    },
    "bare_role": dict.fromkeys(
        admin_rule.CLI_BEHAVIOURS,
        frozenset({"ours", "extended_role", "prefixed_role", "other_account", "other_session"}),
    ),
    "iam_role_arn": dict.fromkeys(admin_rule.CLI_BEHAVIOURS, frozenset()),
    "empty": dict.fromkeys(admin_rule.CLI_BEHAVIOURS, frozenset(CALLERS) - {"cognito"}),
}


def _source_schema() -> str:
    """The pre-transform schema quoted at the top of the sandbox's transformed schema."""
    text = SANDBOX_SCHEMA.read_text(encoding="utf-8")
    match = re.search(r"built from:\n#\n((?:#   .*\n)+)", text)
    assert match, f"no source schema quoted in {SANDBOX_SCHEMA}"
    schema = "".join(line[4:] + "\n" for line in match[1].splitlines())
    assert "@auth(rules: [{ allow: private, provider: iam }])" in schema
    return schema


@pytest.fixture(scope="session")
def node_project(amplify_node_modules: Path) -> Path:
    """conformance/ with its node_modules from the committed lockfile (the suite's one ``npm ci``, in
    tests/conftest.py: skipped without Node, failed under CI=true)."""
    assert amplify_node_modules.parent == NODE_PROJECT
    return NODE_PROJECT


def _callers(kit: Any) -> dict[str, str]:
    b, r, s = kit.account, kit.role, kit.session
    arn = "arn:aws:sts::{}:assumed-role/{}/{}".format
    return {
        "ours": arn(b, r, s),
        "other_role": arn(b, "OtherRole", s),
        "extended_role": arn(b, f"{r}Admin", s),
        "prefixed_role": arn(b, f"My{r}", s),
        "other_account": arn("999999999999", r, s),
        "other_session": arn(b, r, "another-session"),
        "cognito": arn(b, AUTH_ROLE, "CognitoIdentityCredentials"),
    }


def _files(kit: Any, tmp_path: Path) -> dict[str, list[str]]:
    """custom-roles.json entries per form: generated ones for the worker, hand-written for the others."""
    forms: dict[str, list[str]] = {}
    for form, role_only in (("role_and_session", False), ("role_only", True)):
        settings = kit.settings_in(tmp_path / form)
        generate(settings, role_only=role_only)
        text = settings.custom_roles_path.read_text(encoding="utf-8")
        forms[form] = list(parse_document(text, form).entries)
    forms["bare_role"] = [kit.role]
    forms["iam_role_arn"] = [kit.iam_role]
    forms["empty"] = [""]
    assert forms["role_and_session"] == [kit.ours] and forms["role_only"] == [kit.role_only]
    return forms


def _run_node(
    project: Path, kit: Any, cases: list[dict[str, Any]], callers: dict[str, str]
) -> dict[str, Any]:
    request = {
        "account": kit.account,
        "region": kit.base.accounts.region,
        "authRoleName": AUTH_ROLE,
        "unauthRoleName": UNAUTH_ROLE,
        "schema": _source_schema(),
        "fields": FIELDS,
        "cases": cases,
        "callers": [{"id": name, "userArn": arn} for name, arn in callers.items()],
    }
    done = subprocess.run(
        ["node", "evaluate.js"],
        cwd=project,
        input=json.dumps(request),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def test_real_transformer_and_admin_rule_agree(node_project: Path, kit: Any, tmp_path: Path) -> None:
    callers = _callers(kit)
    forms = _files(kit, tmp_path)
    cases = [
        {"id": f"{form}/{behaviour}", "adminRoles": admin_rule.admin_roles(entries, behaviour)}
        for form, entries in forms.items()
        for behaviour in admin_rule.CLI_BEHAVIOURS
    ]
    output = _run_node(node_project, kit, cases, callers)
    assert output["versions"] == {"transformer": "1.8.4", "simulator": "2.16.20"}
    cognito = [
        callers["cognito"],
        f"arn:aws:sts::{kit.account}:assumed-role/{UNAUTH_ROLE}/CognitoIdentityCredentials",
    ]
    compared = 0
    for case in output["cases"]:
        form, behaviour = case["id"].split("/")
        assert case["stashAdminRoles"] == case["adminRoles"]  # what the resolvers really received
        for name, arn in callers.items():
            python = admin_rule.is_admitted(arn, case["adminRoles"], cognito)
            for field in FIELDS:
                decision = case["decisions"][name][field]
                assert decision["admin"] == python, (case["id"], name, field, case["adminRoles"])
                compared += 1
            assert python == (name in EXPECTED[form][behaviour]), (case["id"], name)
            # the private/iam rule authorizes the Cognito auth role whatever the admin roles are
            assert case["decisions"][name]["Mutation.createTodo"]["authorized"] == (
                python or name == "cognito"
            )
    assert compared == len(forms) * 2 * len(callers) * len(FIELDS)
    print(f"\nconformance: {compared} decisions compared between Amplify's VTL and admin_rule")


def test_the_generated_vtl_uses_the_rule_admin_rule_implements(node_project: Path) -> None:
    """admin_rule's docstring quotes the resolver rule; the installed auth transformer must still emit it."""
    helpers = (
        node_project
        / "node_modules/@aws-amplify/graphql-auth-transformer/lib/vtl-generator/ddb/resolvers/helpers.js"
    )
    text = helpers.read_text(encoding="utf-8")
    assert "ctx.identity.userArn.contains" in text and "ctx.stash.adminRoles" in text
    assert "ctx.stash.authRole" in text and "ctx.stash.unauthRole" in text
