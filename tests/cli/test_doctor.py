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
    # every allowed field checked against the deployed policy (the sandbox answers iam:SimulatePrincipalPolicy)
    assert checks["IAM policy"]["status"] == "ok", checks["IAM policy"]
    assert "createTodo, deleteTodo, updateTodo" in checks["IAM policy"]["detail"]
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
    detail = checks_of(normalize)["custom-roles.json"]["detail"]
    assert "normalize (@aws-amplify/amplify-category-api 5.15.7+)" in detail and "5.15.3" not in detail


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


# --- --skip-custom-roles, ignored variables, --probe ------------------------------------------------------
def test_skip_custom_roles_lets_the_later_links_run(cli: Any, kit: Any, tmp_path: Path) -> None:
    """No Amplify checkout (no custom-roles.json here): the local link is skipped, not a stop."""
    absent = str(tmp_path / "absent" / "custom-roles.json")
    result = cli("doctor", "--json", "--skip-custom-roles", "--custom-roles", absent)
    assert result.code == 0, result.out
    checks = checks_of(result)
    assert checks["custom-roles.json"]["status"] == "skipped"
    assert "--skip-custom-roles" in checks["custom-roles.json"]["detail"]
    assert "--probe" in " ".join(checks["custom-roles.json"]["notes"])
    assert checks["signed request"]["status"] == "ok"


def test_worker_variables_ignored_without_appsync_url_are_named(
    cli: Any, kit: Any, operator: Any, tmp_path: Path
) -> None:
    operator.delenv("APPSYNC_URL")  # MUTATOR_*, DEAD_LETTER_QUEUE_URL, ... stay: settings.toml wins
    # settings of a real deployment (the sandbox's own ids are refused outside the sandbox: next test)
    own = tmp_path / "settings.toml"
    own.write_text(
        Path(kit.settings.source)
        .read_text(encoding="utf-8")
        .replace('"111111111111"', '"123456789012"')
        .replace('"222222222222"', '"210987654321"')
        .replace('"sandboxapi0000000000000000"', '"q7wz3kxhfbdnlmc2r5tuvy4e6a"'),
        encoding="utf-8",
    )
    result = cli("doctor", "--json", "--skip-custom-roles", "--settings", str(own))
    configuration = checks_of(result)["configuration"]
    assert configuration["status"] == "ok"
    [note] = [n for n in configuration["notes"] if "APPSYNC_URL is unset" in n]
    for name in ("MUTATOR_ROLE_ARN", "MUTATOR_SESSION_NAME", "DEAD_LETTER_QUEUE_URL"):
        assert name in note


def test_settings_with_the_sandbox_values_are_refused_before_any_call(cli: Any, operator: Any) -> None:
    """Before `init`, send named no placeholder and answered 'transient: CredentialsUnavailable'."""
    operator.delenv("APPSYNC_URL")  # the settings file decides: it still holds the sandbox's ids
    for argv in (("send", "--file", "-"), ("doctor", "--json")):
        result = cli(*argv)
        assert result.code != 0
        text = result.out + result.err
        assert "still holds the local sandbox's values" in text and "init --from-amplify" in text
        assert "CredentialsUnavailable" not in text and "Traceback" not in text


def test_probe_on_a_healthy_chain_writes_nothing(cli: Any, kit: Any, roles_file: Any) -> None:
    stats = kit.sb.appsync.stats
    items_before = kit.sb.table_items()
    result = cli("doctor", "--json", "--probe", "--custom-roles", roles_file([kit.assumed_arn]))
    assert result.code == 0, result.out
    probe = checks_of(result)["authorization probe"]
    assert probe["status"] == "ok" and "admitted" in probe["detail"] and "doctor-probe-" in probe["detail"]
    assert kit.sb.table_items() == items_before
    assert not [m for m in stats.mutations if (m.item_id or "").startswith("doctor-probe-")]
    assert kit.count(kit.sb.dlq_url) == 0  # never dead-lettered


def test_probe_finds_a_custom_roles_json_that_was_never_pushed(
    cli: Any, kit: Any, operator: Any, roles_file: Any
) -> None:
    """On Amplify's own resolvers: deployed with the IAM role ARN, fixed locally, never pushed.

    Every other link is green (the local file admits the worker, the signature is accepted); only the probe,
    which runs the resolvers' auth step, sees the refusal, and names the broken link."""
    import os

    from sandbox.amplify_backend import NodeUnavailable, amplify_appsync, node_modules

    try:
        modules = node_modules()
    except NodeUnavailable as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{exc} (CI=true: install Node.js 20+)")
        pytest.skip(str(exc))
    sb = kit.sb
    roles_file([kit.iam_role_arn])  # what the last `amplify push` deployed
    with amplify_appsync(sb, modules, auto_push=False) as backend:
        operator.setenv("APPSYNC_URL", backend.url)
        local = roles_file([kit.assumed_arn])  # `make custom-roles`, but no `amplify push`
        plain = cli("doctor", "--json", "--custom-roles", local)
        assert plain.code == 0, plain.out  # the wall: every link green ...
        result = cli("doctor", "--json", "--probe", "--custom-roles", local)
        assert result.code == 1
        assert result.json()["firstBroken"] == "authorization probe"
        probe = checks_of(result)["authorization probe"]
        assert "Unauthorized" in probe["detail"]
        assert probe["fix"] == (
            "custom-roles.json admits the worker but the deployed resolvers refuse it: run `amplify push`"
        )
        assert {c["status"] for n, c in checks_of(result).items() if n != "authorization probe"} <= {
            "ok",
            "skipped",
        }
        backend.push()  # amplify push
        fixed = cli("doctor", "--json", "--probe", "--custom-roles", local)
        assert fixed.code == 0, fixed.out
        assert checks_of(fixed)["authorization probe"]["status"] == "ok"
        assert not [i for i in sb.table_items() if str(i["id"]).startswith("doctor-probe-")]
        assert kit.count(sb.dlq_url) == 0


# --- Amplify Gen 2 and the settings' own warnings -------------------------------------------------
def _gen2_settings(tmp_path: Path) -> str:
    """settings.toml with ``amplify.generation = 2`` (same accounts, role and API as the sandbox)."""
    from project_settings.model import DEFAULT_PATH

    text = Path(DEFAULT_PATH).read_text(encoding="utf-8")
    text = text.replace("# generation = 1 ", "generation = 2   ")
    assert "\ngeneration = 2" in text
    path = tmp_path / "settings.gen2.toml"
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_gen2_skips_custom_roles_json_with_a_note_instead_of_reporting_it_missing(
    cli: Any, kit: Any, tmp_path: Path
) -> None:
    kit.sb.custom_roles_path.unlink()  # Gen 2 has no such file
    result = cli("doctor", "--json", "--settings", _gen2_settings(tmp_path))
    checks = checks_of(result)
    link = checks["custom-roles.json"]
    assert link["status"] == "skipped", link
    assert "amplify.generation = 2" in link["detail"] and "no custom-roles.json" in link["detail"]
    assert any("only gate" in note for note in link["notes"])
    assert checks["IAM policy"]["status"] == "ok"
    assert "(Gen 2: the only gate)" in checks["IAM policy"]["detail"]
    assert checks["signed request"]["status"] == "ok"
    assert result.code == 0, result.out


def test_a_field_the_policy_lacks_is_named_before_any_mutation_fails(
    cli: Any, kit: Any, roles_file: Any
) -> None:
    """The probe proves one field; a field missing from the policy must not leave doctor all green."""
    import json as json_module

    from project_settings.policies import identity_policy_document

    iam = kit.sb.client("iam", "B")
    role = kit.settings.mutator_role.name
    [name] = iam.list_role_policies(RoleName=role)["PolicyNames"]
    original = iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]
    narrowed = identity_policy_document(
        [a for a in kit.settings.mutation_field_arns() if not a.endswith("/updateTodo")],
        role_arn=kit.settings.mutator_role_arn,
    )
    iam.put_role_policy(RoleName=role, PolicyName=name, PolicyDocument=json_module.dumps(narrowed))
    try:
        result = cli("doctor", "--json", "--probe", "--custom-roles", roles_file([kit.assumed_arn]))
    finally:
        iam.put_role_policy(RoleName=role, PolicyName=name, PolicyDocument=json_module.dumps(original))
    assert result.code == 1
    link = checks_of(result)["IAM policy"]
    assert link["status"] == "failed" and "does not allow appsync:GraphQL on updateTodo" in link["detail"]
    assert "createTodo" not in link["detail"]


def test_without_simulation_rights_the_unchecked_fields_are_named(
    cli: Any, kit: Any, roles_file: Any
) -> None:
    """A role deployed before doctor could simulate itself: skipped, and it says which fields went unchecked."""
    import json as json_module

    from project_settings.policies import identity_policy_document

    iam = kit.sb.client("iam", "B")
    role = kit.settings.mutator_role.name
    [name] = iam.list_role_policies(RoleName=role)["PolicyNames"]
    original = iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]
    iam.put_role_policy(
        RoleName=role,
        PolicyName=name,
        PolicyDocument=json_module.dumps(identity_policy_document(kit.settings.mutation_field_arns())),
    )
    try:
        result = cli("doctor", "--json", "--custom-roles", roles_file([kit.assumed_arn]))
    finally:
        iam.put_role_policy(RoleName=role, PolicyName=name, PolicyDocument=json_module.dumps(original))
    link = checks_of(result)["IAM policy"]
    assert link["status"] == "skipped" and "(AccessDenied)" in link["detail"]
    assert any("not checked: createTodo, deleteTodo, updateTodo" in note for note in link["notes"])
    assert "Traceback" not in result.err and "NotImplementedError" not in result.err


def test_gen2_probe_names_an_api_that_still_applies_an_allow_list(cli: Any, kit: Any, tmp_path: Path) -> None:
    """Settings say Gen 2, but the API refuses an IAM caller its policy allows: it is not in Gen 2's IAM mode."""
    kit.sb.write_custom_roles(["arn:aws:sts::999999999999:assumed-role/SomeoneElse/x"])  # Gen 1 refuses us
    result = cli("doctor", "--json", "--probe", "--settings", _gen2_settings(tmp_path))
    assert result.code == 1
    probe = checks_of(result)["authorization probe"]
    assert probe["status"] == "failed"
    assert "does not authorize IAM principals by their policy" in probe["detail"]
    assert "amplify.generation" in probe["fix"]


def test_gen2_probe_passes_when_the_api_admits_the_role_by_its_policy(
    cli: Any, kit: Any, tmp_path: Path, roles_file: Any
) -> None:
    roles_file([kit.assumed_arn])  # the Gen 1 stand-in admits us, as a Gen 2 API would
    result = cli("doctor", "--json", "--probe", "--settings", _gen2_settings(tmp_path))
    assert result.code == 0, result.out
    assert checks_of(result)["authorization probe"]["status"] == "ok"


def test_sandbox_ids_are_warned_about_except_against_the_local_sandbox(kit: Any, monkeypatch: Any) -> None:
    from mutation_cli.config import load_context
    from mutation_cli.doctor import Doctor, DoctorOptions

    against_sandbox = Doctor(load_context(), DoctorOptions())  # APPSYNC_URL: the sandbox's, on 127.0.0.1
    assert against_sandbox.targets_local_sandbox()
    assert against_sandbox.settings_warnings() == []
    monkeypatch.delenv("APPSYNC_URL")
    from mutation_cli.errors import UsageError

    # settings.toml with a real-looking AppSync URL and the sandbox's ids: refused, not just warned about
    with pytest.raises(UsageError, match=r"111111111111.*init --from-amplify"):
        load_context()


# --- what the Amplify project's own files say (review: these links had no test) -------------------
def _project_settings(tmp_path: Path, schema: str, iam: bool = True) -> str:
    """settings.toml for the sandbox's accounts and role, pointing at a Gen 1 project with ``schema``."""
    import json as json_module
    import shutil

    from project_settings.model import DEFAULT_PATH

    fixture = Path(__file__).resolve().parents[1] / "settings" / "fixtures" / "gen1"
    project = tmp_path / "shop"
    shutil.copytree(fixture, project)
    api = project / "amplify" / "backend" / "api" / "shopapi"
    (api / "schema.graphql").write_text(schema, encoding="utf-8")
    if not iam:
        meta_path = project / "amplify" / "backend" / "amplify-meta.json"
        meta = json_module.loads(meta_path.read_text(encoding="utf-8"))
        meta["api"]["shopapi"]["output"]["authConfig"]["additionalAuthenticationProviders"] = []
        meta_path.write_text(json_module.dumps(meta), encoding="utf-8")
    text = Path(DEFAULT_PATH).read_text(encoding="utf-8")
    text = text.replace('project_dir = "."', f'project_dir = "{project.as_posix()}"')
    text = text.replace('api_name = "todoapi"', 'api_name = "shopapi"')
    path = tmp_path / "settings.project.toml"
    path.write_text(text, encoding="utf-8")
    return str(path)


GUARDED_TODO = "type Todo @model @auth(rules: [{ allow: private, provider: iam }]) { id: ID! name: String }"
STARTER_TODO = "input AMPLIFY { globalAuthRule: AuthRule = { allow: public } }\ntype Todo @model { id: ID! name: String }"


def test_a_model_in_sandbox_mode_is_named_with_the_auth_rule_that_fixes_it(
    cli: Any, kit: Any, roles_file: Any, tmp_path: Path
) -> None:
    entries = roles_file([kit.assumed_arn])
    settings = _project_settings(tmp_path, STARTER_TODO)
    result = cli("doctor", "--json", "--settings", settings, "--custom-roles", entries)
    link = checks_of(result)["custom-roles.json"]
    assert result.code == 1 and link["status"] == "failed"
    assert "createTodo writes Todo, which has no @auth rule of its own" in link["detail"]
    assert "@auth(rules: [{ allow: public }])" in link["fix"]
    healthy = cli(
        "doctor",
        "--json",
        "--settings",
        _project_settings(tmp_path / "ok", GUARDED_TODO),
        "--custom-roles",
        entries,
    )
    assert checks_of(healthy)["custom-roles.json"]["status"] == "ok"


def test_an_api_without_the_iam_mode_is_named_before_anything_is_sent(
    cli: Any, kit: Any, roles_file: Any, tmp_path: Path
) -> None:
    settings = _project_settings(tmp_path, GUARDED_TODO, iam=False)
    result = cli("doctor", "--json", "--settings", settings, "--custom-roles", roles_file([kit.assumed_arn]))
    link = checks_of(result)["custom-roles.json"]
    assert link["status"] == "failed" and "without AWS_IAM" in link["detail"]
    assert "add IAM" in link["fix"]


def test_doctor_shows_the_producers_and_says_auth_rules_do_not_bind_the_worker(
    cli: Any, kit: Any, roles_file: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PROTECTED_FIELDS", "Todo:owner")
    monkeypatch.setenv("PRODUCER_RULES", '[{"producer": "sqs:*", "mutations": ["createTodo"]}]')
    result = cli("doctor", "--json", "--custom-roles", roles_file([kit.assumed_arn]))
    notes = " ".join(checks_of(result)["configuration"]["notes"])
    assert "producers: SQS from arn:aws:sqs:" in notes and "direct invocation" in notes
    assert "producer 'sqs:*' may send createTodo" in notes
    assert "no model's @auth rules bind it" in notes and "Todo: owner" in notes


def test_the_version_read_back_permission_is_checked_too(
    cli: Any, kit: Any, roles_file: Any, tmp_path: Path
) -> None:
    """[appsync] version_reads needs Query.get<Model> in the role's policy, or every refused versioned
    write is VersionUnproven; doctor checks it with the mutation fields."""
    import json as json_module

    from project_settings import load_settings
    from project_settings.model import DEFAULT_PATH
    from project_settings.policies import mutator_identity_policy

    path = tmp_path / "settings.reads.toml"
    path.write_text(
        Path(DEFAULT_PATH)
        .read_text(encoding="utf-8")
        .replace(
            'allowed_mutations = ["createTodo", "updateTodo", "deleteTodo"]',
            'allowed_mutations = ["createTodo", "updateTodo", "deleteTodo"]\nversion_reads = ["Todo"]',
        ),
        encoding="utf-8",
    )
    entries = roles_file([kit.assumed_arn])
    result = cli("doctor", "--json", "--settings", str(path), "--custom-roles", entries)
    link = checks_of(result)["IAM policy"]
    assert link["status"] == "failed" and "getTodo" in link["detail"] and "createTodo" not in link["detail"]
    iam = kit.sb.client("iam", "B")
    role = kit.settings.mutator_role.name
    [name] = iam.list_role_policies(RoleName=role)["PolicyNames"]
    original = iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]
    iam.put_role_policy(
        RoleName=role,
        PolicyName=name,
        PolicyDocument=json_module.dumps(mutator_identity_policy(load_settings(path))),
    )
    try:
        again = cli("doctor", "--json", "--settings", str(path), "--custom-roles", entries)
    finally:
        iam.put_role_policy(RoleName=role, PolicyName=name, PolicyDocument=json_module.dumps(original))
    assert checks_of(again)["IAM policy"]["status"] == "ok"
    assert "getTodo" in checks_of(again)["IAM policy"]["detail"]
