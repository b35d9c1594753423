"""generate/check: merge without clobbering, idempotence, atomic writes and refusals that leave the file alone."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from amplify_custom_roles import CustomRolesError, check, generate
from amplify_custom_roles.lint import OK, PROBLEM, WARNING


def test_creates_the_file_with_the_assumed_role_entry(kit: Any) -> None:
    result = generate(kit.settings)
    assert result.written and result.before is None
    assert kit.path.read_text() == (
        '{\n  "adminRoleNames": [\n    "arn:aws:sts::222222222222:assumed-role/AppSyncMutationWorker/'
        'appsync-mutation-worker"\n  ]\n}\n'
    )
    assert result.entry == kit.ours


def test_second_run_changes_nothing(kit: Any) -> None:
    kit.write(["a/b-session", "${env}Admin"])
    generate(kit.settings)
    first = kit.path.read_bytes()
    stat = kit.path.stat()
    again = generate(kit.settings)
    assert not again.written and not again.changed and again.diff == ""
    assert kit.path.read_bytes() == first
    assert kit.path.stat().st_ino == stat.st_ino  # not even rewritten
    assert check(kit.settings).ok


def test_keeps_other_entries_in_order_and_env_placeholders(kit: Any) -> None:
    others = ["amplify-${env}-admin", "arn:aws:sts::333333333333:assumed-role/Other/sess", "Team/${env}-ops"]
    kit.write(others)
    generate(kit.settings)
    assert kit.entries() == [*others, kit.ours]
    text = kit.path.read_text()
    assert text.endswith("]\n}\n") and '\n  "adminRoleNames": [\n    "' in text  # 2-space indent


def test_our_entry_stays_where_it_is_and_duplicates_collapse(kit: Any) -> None:
    kit.write(["first", kit.ours, "middle", kit.ours, "last"])
    result = generate(kit.settings)
    assert kit.entries() == ["first", kit.ours, "middle", "last"]
    assert result.written


def test_iam_role_arn_of_our_role_is_replaced_in_place(kit: Any) -> None:
    kit.write(["first", kit.iam_role, "last"])
    result = generate(kit.settings)
    assert kit.entries() == ["first", kit.ours, "last"]
    (finding,) = [f for f in result.findings if f.entry == kit.iam_role]
    assert finding.replacement == kit.ours and "never matches" in finding.message


def test_iam_role_arn_of_another_role_is_kept_and_flagged(kit: Any) -> None:
    other = "arn:aws:iam::222222222222:role/service-role/Other"
    kit.write([other])
    result = generate(kit.settings)
    assert kit.entries() == [other, kit.ours]
    (finding,) = [f for f in result.findings if f.entry == other]
    assert finding.severity == PROBLEM and "never matches" in finding.message
    assert "arn:aws:sts::222222222222:assumed-role/Other/<session>" in finding.message
    assert not check(kit.settings).ok  # up to date, but a problem entry


def test_single_string_form_is_kept_when_it_is_ours(kit: Any) -> None:
    kit.write(kit.ours)
    assert not generate(kit.settings).written
    kit.write("Other")
    generate(kit.settings)
    assert kit.entries() == ["Other", kit.ours]


def test_whitespace_only_differences_are_not_stale(kit: Any) -> None:
    original = kit.write(text=json.dumps({"adminRoleNames": [kit.ours]}))  # one line, no newline
    assert check(kit.settings).ok
    assert not generate(kit.settings).written
    assert kit.path.read_bytes() == original


def test_missing_key_means_no_entries(kit: Any) -> None:
    kit.write(text="{}\n")
    generate(kit.settings)
    assert kit.entries() == [kit.ours]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"adminRoleNames": ["a",]}', "not valid JSON"),
        ("", "not valid JSON"),
        ('["a"]', "must be a JSON object"),
        ('{"adminRoleNames": ["a"], "extra": 1}', "unknown key 'extra'"),
        ('{"adminroleNames": ["a"]}', "unknown key 'adminroleNames'"),
        ('{"adminRoleNames": {"a": 1}}', "must be a string or a list of strings, not dict"),
        ('{"adminRoleNames": ["a", 3]}', "adminRoleNames[1] must be a string, not int"),
        ('{"adminRoleNames": ["a"], "adminRoleNames": ["b"]}', "duplicate key"),
        ('{"adminRoleNames": ["\\ud800"]}', "lone surrogate"),
        ('{"adminRoleNames": ["arn:aws:sts::2222:assumed-role/R/s1"]}', "account id '2222' is not 12 digits"),
        ('{"adminRoleNames": ["arn:aws:iam::22222222222x:role/R"]}', "is not 12 digits"),
        ('{"adminRoleNames": ["arn:aws:sts::222222222222:assumed-role/R/x"]}', "session name 'x'"),
        ('{"adminRoleNames": ["my role"]}', "role name 'my role'"),
        ('{"adminRoleNames": ["R\\u00e9le"]}', "role name"),
        ('{"adminRoleNames": ["' + "R" * 65 + '"]}', "role name"),
        ('{"adminRoleNames": ["a/b/c"]}', "cannot contain ':' or '/'"),
        ('{"adminRoleNames": ["Role-${env}-${env}"]}', "role name"),  # only the first ${env} is replaced
    ],
)
def test_invalid_files_are_refused_untouched(kit: Any, text: str, expected: str) -> None:
    before = kit.write(text=text)
    with pytest.raises(CustomRolesError) as raised:
        generate(kit.settings)
    assert expected in str(raised.value)
    assert kit.path.read_bytes() == before
    with pytest.raises(CustomRolesError):
        check(kit.settings)


def test_every_problem_is_reported_at_once(kit: Any) -> None:
    kit.write(text='{"adminRoleNames": ["a", 1, 2], "x": 0}')
    with pytest.raises(CustomRolesError) as raised:
        generate(kit.settings)
    assert len(raised.value.problems) == 3


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"accounts": {"api": "12345"}}, "account id '12345' is not 12 digits"),
        ({"mutator_role": {"name": "bad name"}}, "role name 'bad name'"),
        ({"mutator_role": {"session_name": "s"}}, "session name 's'"),
        ({"mutator_role": {"session_name": "s/1"}}, "session name 's/1'"),
    ],
)
def test_invalid_settings_are_refused(kit: Any, changes: dict[str, Any], expected: str) -> None:
    settings = kit.settings.with_changes(**changes)
    with pytest.raises(CustomRolesError, match=expected):
        generate(settings)
    assert not kit.path.exists()


def test_missing_api_directory_is_refused_unless_asked(kit: Any, tmp_path: Path) -> None:
    settings = kit.settings.with_changes(amplify={"project_dir": tmp_path / "elsewhere"})
    with pytest.raises(CustomRolesError, match="no such Amplify API directory"):
        generate(settings)
    assert not (tmp_path / "elsewhere").exists()
    assert generate(settings, create_dirs=True).written
    assert json.loads(settings.custom_roles_path.read_text())["adminRoleNames"] == [kit.ours]


def test_dry_run_writes_nothing(kit: Any) -> None:
    before = kit.write(["x"])
    result = generate(kit.settings, write=False)
    assert result.changed and not result.written
    assert kit.path.read_bytes() == before
    assert f'+    "{kit.ours}"' in result.diff


def test_write_goes_through_a_symlink_and_keeps_the_mode(kit: Any, tmp_path: Path) -> None:
    real = tmp_path / "real.json"
    real.write_text('{"adminRoleNames": ["x"]}\n')
    real.chmod(0o640)
    kit.path.symlink_to(real)
    generate(kit.settings)
    assert kit.path.is_symlink()
    assert json.loads(real.read_text())["adminRoleNames"] == ["x", kit.ours]
    assert real.stat().st_mode & 0o777 == 0o640
    assert [p.name for p in kit.path.parent.iterdir()] == [kit.path.name]  # no temporary file left


def test_a_concurrent_edit_is_not_overwritten(kit: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from amplify_custom_roles import files, generator

    kit.write(["x"])
    real_write = files.write_atomic

    def edit_then_write(path: Path, text: str, expected_before: str | None) -> None:
        path.write_text('{"adminRoleNames": ["edited"]}\n')
        real_write(path, text, expected_before)

    monkeypatch.setattr(generator, "write_atomic", edit_then_write)
    with pytest.raises(CustomRolesError, match="changed while being updated"):
        generate(kit.settings)
    assert kit.entries() == ["edited"]


def test_role_only_entry_and_its_warning(kit: Any) -> None:
    result = generate(kit.settings, role_only=True)
    assert kit.entries() == [kit.role_only]
    (warning,) = result.warnings
    assert f"{kit.role}Admin" in warning and kit.ours in warning
    (finding,) = result.findings
    assert finding.severity == WARNING
    assert any("other sessions" in a for a in finding.admits)
    # include_session_in_entry = false in settings means the same
    settings = kit.settings.with_changes(amplify={"include_session_in_entry": False})
    assert check(settings).entry == kit.role_only
    # with the exact entry present, the role-only run replaces it: one entry of ours remains
    kit.write([kit.ours])
    generate(kit.settings, role_only=True)
    assert kit.entries() == [kit.role_only]


def test_check_reports_a_stale_file_with_a_diff(kit: Any) -> None:
    kit.write(["x"])
    result = check(kit.settings)
    assert not result.ok and result.changed
    assert result.diff.startswith(f"--- {kit.path}\n+++ {kit.path}\n")
    assert f'+    "{kit.ours}"' in result.diff
    # an API directory without the file yet (a new API): the diff starts from /dev/null
    other = kit.settings.with_changes(amplify={"api_name": "otherapi"})
    other.custom_roles_path.parent.mkdir()
    missing = check(other)
    assert missing.before is None and "--- /dev/null" in missing.diff


def test_findings_say_what_each_entry_admits(kit: Any) -> None:
    kit.write(
        [
            "",
            kit.role,  # bare name: any account, longer names
            f"{kit.role}/{kit.session}",
            "arn:aws:sts::222222222222:assumed-role/Other/",
            "arn:aws:sts::222222222222:federated-user/bob",
        ]
    )
    findings = {f.entry: f for f in generate(kit.settings, force=True).findings}
    assert findings[""].severity == PROBLEM and "every IAM caller" in findings[""].message
    assert findings[""].admits_everyone
    bare = findings[kit.role]
    assert bare.severity == WARNING
    assert any("any account" in a for a in bare.admits)
    assert any(f"{kit.role}Admin" in a for a in bare.admits)
    assert findings[f"{kit.role}/{kit.session}"].severity == WARNING
    anchored = findings["arn:aws:sts::222222222222:assumed-role/Other/"]
    # the trailing slash anchors the role name: every session of exactly "Other", no longer names
    assert anchored.severity == WARNING and anchored.admits == ("other sessions of Other",)
    assert findings["arn:aws:sts::222222222222:federated-user/bob"].severity == PROBLEM
    ours = findings[kit.ours]
    assert ours.severity == OK and "admits the worker" in ours.message


def test_prefix_role_name_admits_longer_names(kit: Any, tmp_path: Path) -> None:
    settings = kit.settings_in(tmp_path / "m", mutator_role={"name": "Mutator"})
    result = generate(settings, role_only=True)
    (finding,) = result.findings
    assert "roles whose names extend 'Mutator' (e.g. MutatorAdmin)" in finding.admits


def test_normalize_drops_other_arns_and_widens_ours(kit: Any) -> None:
    kit.write([kit.iam_role.replace(kit.role, "Other"), "arn:aws:sts::222222222222:federated-user/bob"])
    result = generate(kit.settings, cli_behaviour="normalize")
    dropped = [f for f in result.findings if "dropped by the Amplify CLI" in f.message]
    assert [f.entry for f in dropped] == ["arn:aws:sts::222222222222:federated-user/bob"]
    (ours,) = [f for f in result.findings if f.entry == kit.ours]
    assert ours.severity == WARNING and any("any account" in a for a in ours.admits)
    assert "no entry form avoids that" in ours.message


def test_cli_behaviour_is_validated(kit: Any) -> None:
    with pytest.raises(CustomRolesError, match="'newest' is not one of"):
        generate(kit.settings, cli_behaviour="newest")


def test_no_temp_files_left_after_a_failed_write(kit: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    kit.write(["x"])

    def broken_replace(src: str, dst: Any) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        generate(kit.settings)
    assert [p.name for p in kit.path.parent.iterdir()] == [kit.path.name]
    assert kit.entries() == ["x"]
