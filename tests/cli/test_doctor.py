"""``doctor`` names the first broken link, with its fix, for each way the chain breaks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture
def roles_file(kit: Any) -> Any:
    """Write the sandbox's custom-roles.json (the one its AppSync stand-in reads); returns its path."""

    def write(entries: Any) -> str:
        return str(kit.sb.write_custom_roles(entries))

    return write


def checks_of(result: Any) -> dict[str, dict[str, Any]]:
    return {check["name"]: check for check in result.json()["checks"]}


def test_healthy_chain_is_all_green(cli: Any, kit: Any, roles_file: Any) -> None:
    stats = kit.sb.appsync.stats
    requests_before, mutations_before = stats.requests, len(stats.mutations)
    result = cli("doctor", "--json", "--custom-roles", roles_file([kit.assumed_arn]))
    assert result.code == 0, result.out
    checks = checks_of(result)
    assert result.json()["firstBroken"] is None
    assert {c["status"] for c in checks.values()} <= {"ok", "skipped"}
    for name in (
        "base credentials",
        "base identity",
        "assume account-B role",
        "caller identity",
        "custom-roles.json",
        "signed request",
    ):
        assert checks[name]["status"] == "ok", checks[name]
    assert kit.assumed_arn in checks["caller identity"]["detail"]
    # moto has no iam:SimulatePrincipalPolicy: the link is skipped with a note, not failed.
    assert checks["IAM policy"]["status"] in ("ok", "skipped")
    assert stats.requests == requests_before + 1  # the signed `query { __typename }` probe
    assert len(stats.mutations) == mutations_before  # and no mutation


def test_human_checklist_marks_each_link(cli: Any, kit: Any, roles_file: Any) -> None:
    result = cli("doctor", "--custom-roles", roles_file([kit.assumed_arn]))
    assert result.code == 0
    assert "✓ assume account-B role" in result.out
    assert "✓ signed request" in result.out


def test_long_term_keys_in_the_environment_shadowing_the_role(cli: Any, kit: Any, operator: Any) -> None:
    keys = kit.sb.create_user_keys("shadowing-developer")
    for name, value in keys.items():
        operator.setenv(name, value)
    operator.delenv("AWS_SESSION_TOKEN", raising=False)

    result = cli("doctor", "--json")
    assert result.code == 1
    assert result.json()["firstBroken"] == "base credentials"
    broken = checks_of(result)["base credentials"]
    assert "shadow" in broken["detail"] and "AWS_ACCESS_KEY_ID" in broken["fix"]
    assert checks_of(result)["signed request"]["status"] == "skipped"
    assert keys["AWS_SECRET_ACCESS_KEY"] not in result.out + result.err


def test_session_name_the_trust_policy_does_not_pin(cli: Any, kit: Any, operator: Any) -> None:
    operator.setenv("MUTATOR_SESSION_NAME", "someone-else")
    result = cli("doctor", "--json")
    assert result.code == 1
    assert result.json()["firstBroken"] == "assume account-B role"
    broken = checks_of(result)["assume account-B role"]
    assert "AccessDenied" in broken["detail"]
    assert "sts:RoleSessionName" in broken["fix"] and "'someone-else'" in broken["fix"]
    assert f"MUTATOR_SESSION_NAME={kit.settings.mutator_role.session_name}" in broken["fix"]


def test_trust_policy_pinning_another_session_name(cli: Any, kit: Any, roles_file: Any) -> None:
    """The deployed trust policy drifted from settings.toml: it pins another session name."""
    from project_settings.policies import mutator_trust_policy

    drifted = kit.settings.with_changes(mutator_role={"session_name": "another-session"})
    kit.sb.set_trust_policy(mutator_trust_policy(drifted))
    try:
        refused_before = len(kit.sb.sts.refused_calls)
        result = cli("doctor", "--json", "--custom-roles", roles_file([kit.assumed_arn]))
    finally:
        kit.sb.set_trust_policy(mutator_trust_policy(kit.settings))
    assert result.code == 1
    assert result.json()["firstBroken"] == "assume account-B role"
    broken = checks_of(result)["assume account-B role"]
    assert "AccessDenied" in broken["detail"]
    assert f"sts:RoleSessionName to exactly {kit.settings.mutator_role.session_name!r}" in broken["fix"]
    refused = kit.sb.sts.refused_calls[refused_before:]
    assert [call.session_name for call in refused] == [kit.settings.mutator_role.session_name]


def test_custom_roles_file_missing(cli: Any, kit: Any, tmp_path: Path) -> None:
    result = cli("doctor", "--json", "--custom-roles", str(tmp_path / "absent" / "custom-roles.json"))
    assert result.code == 1
    assert result.json()["firstBroken"] == "custom-roles.json"
    fix = checks_of(result)["custom-roles.json"]["fix"]
    assert kit.assumed_arn in fix and "make custom-roles" in fix and "amplify push" in fix


def test_custom_roles_with_the_iam_role_arn_never_matches(cli: Any, kit: Any, roles_file: Any) -> None:
    result = cli("doctor", "--json", "--custom-roles", roles_file([kit.iam_role_arn]))
    assert result.code == 1
    assert result.json()["firstBroken"] == "custom-roles.json"
    broken = checks_of(result)["custom-roles.json"]
    assert "does not admit" in broken["detail"] and "arn:aws:iam::...:role/..." in broken["fix"]


def test_custom_roles_entry_without_session_is_admitted_with_a_note(
    cli: Any, kit: Any, roles_file: Any
) -> None:
    broad = kit.assumed_arn.rsplit("/", 1)[0]  # arn:aws:sts::B:assumed-role/Role
    result = cli("doctor", "--json", "--custom-roles", roles_file([broad]))
    check = checks_of(result)["custom-roles.json"]
    assert check["status"] == "ok"
    assert any("other sessions" in note for note in check["notes"])


def test_custom_roles_admitted_under_one_cli_behaviour_only(cli: Any, kit: Any, roles_file: Any) -> None:
    # A substring of the caller ARN that is not an assumed-role ARN: kept verbatim, dropped by "normalize".
    path = roles_file([f"arn:aws:sts::{kit.settings.accounts.api}:"])
    verbatim = cli("doctor", "--json", "--cli-behaviour", "verbatim", "--custom-roles", path)
    check = checks_of(verbatim)["custom-roles.json"]
    assert check["status"] == "ok"
    assert any("not admitted under normalize" in note for note in check["notes"])

    normalize = cli("doctor", "--json", "--cli-behaviour", "normalize", "--custom-roles", path)
    assert normalize.code == 1
    assert normalize.json()["firstBroken"] == "custom-roles.json"
    assert "normalize (5.15.7+)" in checks_of(normalize)["custom-roles.json"]["detail"]


def test_removed_appsync_host_still_set_is_the_first_broken_link(cli: Any, kit: Any, operator: Any) -> None:
    """The request is always signed for APPSYNC_URL's own host; a leftover APPSYNC_HOST is named, not ignored."""
    operator.setenv("APPSYNC_HOST", "wrong.example.com")
    result = cli("doctor", "--json")
    assert result.code == 1
    assert result.json()["firstBroken"] == "configuration"
    detail = checks_of(result)["configuration"]["detail"]
    assert "APPSYNC_HOST was removed and must be unset" in detail


def test_url_that_can_never_work_is_the_first_broken_link_before_any_request(
    cli: Any, kit: Any, operator: Any
) -> None:
    requests_before = kit.sb.appsync.stats.requests
    operator.setenv("APPSYNC_URL", kit.sb.appsync_url + "?debug=1")
    result = cli("doctor", "--json")
    assert result.code == 1
    assert result.json()["firstBroken"] == "configuration"
    assert "query string" in checks_of(result)["configuration"]["detail"]
    assert kit.sb.appsync.stats.requests == requests_before


def test_signed_for_another_region(cli: Any, kit: Any, operator: Any, roles_file: Any) -> None:
    operator.setenv("APPSYNC_REGION", "eu-west-3")
    result = cli("doctor", "--json", "--custom-roles", roles_file([kit.assumed_arn]))
    assert result.code == 1
    assert result.json()["firstBroken"] == "signed request"
    broken = checks_of(result)["signed request"]
    assert "SignatureRejected" in broken["detail"] or "InvalidSignature" in broken["detail"]
    assert "APPSYNC_REGION" in broken["fix"] and "'eu-west-3'" in broken["fix"]


def test_invalid_configuration_is_the_first_broken_link(cli: Any, kit: Any, operator: Any) -> None:
    operator.setenv("APPSYNC_URL", "http://appsync.example.com/graphql")
    result = cli("doctor", "--json")
    assert result.code == 1
    assert result.json()["firstBroken"] == "configuration"
    assert "plain http" in checks_of(result)["configuration"]["detail"]


def test_via_role_arn_assumes_the_execution_role_first(
    cli: Any, kit: Any, operator: Any, roles_file: Any
) -> None:
    """An operator's own IAM user keys, admitted by the execution role's trust policy, then the usual chain."""
    exec_role = kit.settings.execution_role_arn
    keys = kit.sb.create_user_keys("operator-alice")
    user_arn = f"arn:aws:iam::{kit.settings.accounts.worker}:user/operator-alice"
    iam = kit.sb.client("iam", "A")
    allow_assume = {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": exec_role}
    iam.put_user_policy(
        UserName="operator-alice",
        PolicyName="assume-exec",
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [allow_assume]}),
    )
    role = iam.get_role(RoleName=kit.settings.worker.execution_role_name)["Role"]
    trust = role["AssumeRolePolicyDocument"]
    trust = json.loads(trust) if isinstance(trust, str) else trust
    trust["Statement"].append({"Effect": "Allow", "Principal": {"AWS": user_arn}, "Action": "sts:AssumeRole"})
    iam.update_assume_role_policy(
        RoleName=kit.settings.worker.execution_role_name, PolicyDocument=json.dumps(trust)
    )
    for name, value in keys.items():
        operator.setenv(name, value)
    operator.delenv("AWS_SESSION_TOKEN", raising=False)

    without = cli("doctor", "--json", "--custom-roles", roles_file([kit.assumed_arn]))
    assert without.json()["firstBroken"] == "base credentials"  # the user's keys alone are not admitted

    result = cli(
        "doctor",
        "--json",
        "--via-role-arn",
        exec_role,
        "--via-session-name",
        "operator-test",
        "--custom-roles",
        roles_file([kit.assumed_arn]),
    )
    assert result.code == 0, result.out
    checks = checks_of(result)
    assert "assume-role" in checks["base credentials"]["detail"]
    assert checks["base identity"]["detail"].startswith(
        f"arn:aws:sts::{kit.settings.accounts.worker}:assumed-role/{kit.settings.worker.execution_role_name}/operator-test"
    )
