"""The generator refuses what it knows is wrong, in every mode, and keeps one entry of ours.

The Amplify project used here is the real-shaped Gen 1 fixture in tests/settings/fixtures/gen1 (account
444455556666, API ``shopapi``, other teams' ``${env}`` entries in its custom-roles.json).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from amplify_custom_roles import CustomRolesError, generate
from amplify_custom_roles.cli import main
from project_settings.model import DEFAULT_PATH

GEN1 = Path(__file__).resolve().parents[1] / "settings" / "fixtures" / "gen1"
ACCOUNT = "444455556666"
ROLE = "AppSyncMutationWorker"
SESSION = "appsync-mutation-worker"
OURS = f"arn:aws:sts::{ACCOUNT}:assumed-role/{ROLE}/{SESSION}"
OTHERS = [
    f"arn:aws:sts::{ACCOUNT}:assumed-role/reporting-${{env}}-reader/reporting",
    "amplify-shop-${env}-84512-authRole-admin",
]
MODES = [(), ("--check",), ("--dry-run",), ("--stdout",)]


def _settings_text(**values: str) -> str:
    """settings.toml with some ``key = value`` lines replaced (first occurrence of each key)."""
    lines = DEFAULT_PATH.read_text(encoding="utf-8").splitlines()
    for key, value in values.items():
        index = next(i for i, line in enumerate(lines) if line.split("=")[0].strip() == key)
        lines[index] = f"{key} = {value}"
    return "\n".join(lines) + "\n"


class Project:
    """A copy of the Gen 1 fixture and a settings file pointing at it (account B = the project's)."""

    def __init__(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        self.dir = tmp_path / "shop"
        shutil.copytree(GEN1, self.dir)
        self.capsys = capsys
        self.settings_path = tmp_path / "settings.toml"
        self.configure()

    def configure(self, **values: str) -> None:
        defaults = {
            "worker": '"123456789012"',
            "api": f'"{ACCOUNT}"',
            "region": '"eu-west-1"',
            "api_id": '"q7wz3kxhfbdnlmc2r5tuvy4e6a"',
            "url": '"https://k3vh5ojtxbeqdm2ayrfsiwcu7n.appsync-api.eu-west-1.amazonaws.com/graphql"',
            "allowed_mutations": '["createOrder", "updateOrder"]',
            "project_dir": f'"{self.dir}"',
            "api_name": '"shopapi"',
        }
        # the fixture's Order model is keyed by orderNumber + placedAt (@primaryKey): say so, as init would
        keys = '\n[appsync.model_keys]\nOrder = ["orderNumber", "placedAt"]\n'
        self.settings_path.write_text(_settings_text(**{**defaults, **values}) + keys, encoding="utf-8")

    @property
    def roles(self) -> Path:
        return self.dir / "amplify" / "backend" / "api" / "shopapi" / "custom-roles.json"

    def write(self, entries: list[str]) -> bytes:
        self.roles.write_text(json.dumps({"adminRoleNames": entries}, indent=2) + "\n", encoding="utf-8")
        return self.roles.read_bytes()

    def entries(self) -> list[str]:
        return list(json.loads(self.roles.read_text(encoding="utf-8"))["adminRoleNames"])

    def run(self, *args: str) -> tuple[int, str, str]:
        code = main(["--settings", str(self.settings_path), *args])
        out, err = self.capsys.readouterr()
        return code, out, err

    def settings(self) -> Any:
        from project_settings import load_settings

        return load_settings(self.settings_path)


@pytest.fixture
def project(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Project:
    return Project(tmp_path, capsys)


# --- a missing or mistyped API folder: exit 2, same message, every mode ---------------------------------


def test_mistyped_api_name_is_refused_in_every_mode_with_the_same_message(project: Project) -> None:
    project.configure(api_name='"shoppapi"')
    errors = set()
    for mode in MODES:
        code, out, err = project.run(*mode)
        assert code == 2, (mode, out, err)
        assert "no such Amplify API directory" in err and "the APIs in" in err and "shopapi" in err
        assert "/dev/null" not in out + err and out == ""
        errors.add(err)
    assert len(errors) == 1  # the same message whatever the mode
    assert not (project.dir / "amplify" / "backend" / "api" / "shoppapi").exists()
    # --create-dirs still makes a new API folder on purpose (and a dry run creates nothing)
    assert project.run("--dry-run", "--create-dirs")[0] == 0
    assert not (project.dir / "amplify" / "backend" / "api" / "shoppapi").exists()
    assert project.run("--create-dirs")[0] == 0
    assert (project.dir / "amplify" / "backend" / "api" / "shoppapi" / "custom-roles.json").is_file()


def test_a_folder_that_is_no_amplify_project_says_so(project: Project, tmp_path: Path) -> None:
    code, _, err = project.run("--check", "--project-dir", str(tmp_path / "nowhere"))
    assert code == 2 and "has no amplify/ folder" in err


# --- a result that admits every IAM caller: refused unless --force ---------------------------------------

WIDE_OPEN = [
    ("", "every IAM caller"),
    (f"arn:aws:iam::{ACCOUNT}:user", f"every IAM user of account {ACCOUNT}"),
    (f"arn:aws:sts::{ACCOUNT}:assumed-role", f"every role session of account {ACCOUNT}"),
    ("arn:aws:sts::", "every IAM caller"),
    ("a", "every IAM caller"),  # a bare "role name" that is in every ARN
]


@pytest.mark.parametrize(("entry", "what"), WIDE_OPEN)
def test_a_wide_open_entry_is_refused_in_write_and_stdout_mode(
    project: Project, entry: str, what: str
) -> None:
    before = project.write([*OTHERS, entry])
    for mode in ((), ("--stdout",)):
        code, out, err = project.run(*mode)
        assert code == 2, (mode, err)
        assert what in err and "--force" in err and "nothing was written" in err
        assert out == ""
    assert project.roles.read_bytes() == before
    with pytest.raises(CustomRolesError, match="refusing to write"):
        generate(project.settings())
    assert project.roles.read_bytes() == before


def test_dry_run_shows_the_result_then_refuses(project: Project) -> None:
    before = project.write([*OTHERS, ""])
    code, out, err = project.run("--dry-run")
    assert code == 2 and "--- result (not written) ---" in out and OURS in out
    assert "every IAM caller" in err and "--force" in err
    assert project.roles.read_bytes() == before


def test_force_writes_it_anyway_and_check_still_reports_it(project: Project) -> None:
    project.write([*OTHERS, ""])
    code, out, _ = project.run("--force")
    assert code == 0 and "wrote" in out
    assert project.entries() == [*OTHERS, "", OURS]
    code, out, _ = project.run("--check")
    assert code == 1 and "every IAM caller" in out


def test_an_iam_user_prefix_is_only_wide_open_where_the_cli_keeps_it(project: Project) -> None:
    project.write([*OTHERS, f"arn:aws:iam::{ACCOUNT}:user"])
    assert project.run()[0] == 2  # verbatim: kept, admits every IAM user of the account
    code, out, _ = project.run("--cli-behaviour", "normalize")  # 5.15.7+ drops non-assumed-role ARNs
    assert code == 0 and "dropped by the Amplify CLI" in out


def test_narrow_entries_are_not_called_wide_open(project: Project) -> None:
    narrow = [*OTHERS, "arn:aws:sts::444455556666:assumed-role/Other/", "Admin", "arn:aws:iam::1:user/x"]
    project.write([*narrow, ""])
    assert project.run()[0] == 2
    (finding,) = [f for f in generate(project.settings(), force=True).findings if f.admits_everyone]
    assert finding.entry == ""  # only the empty entry, not the narrow ones
    project.write(narrow)
    code, _, err = project.run()
    assert code == 0, err
    assert project.entries() == [*narrow, OURS]


# --- our own stale entries are replaced: exactly one entry of ours remains -------------------------------

STALE = [
    (f"arn:aws:sts::{ACCOUNT}:assumed-role/OldMutatorRole/{SESSION}", "role was renamed"),
    (f"arn:aws:sts::{ACCOUNT}:assumed-role/{ROLE}/old-session", "trust policy no longer admits"),
    (f"arn:aws:sts::{ACCOUNT}:assumed-role/{ROLE}", "role-only entry"),
    (f"arn:aws:sts::222222222222:assumed-role/{ROLE}/{SESSION}", "but accounts.api is 444455556666"),
]


@pytest.mark.parametrize(("stale", "why"), STALE)
def test_a_stale_entry_of_ours_is_replaced_in_place(project: Project, stale: str, why: str) -> None:
    project.write([OTHERS[0], stale, OTHERS[1]])
    code, out, _ = project.run()
    assert code == 0
    assert project.entries() == [OTHERS[0], OURS, OTHERS[1]]
    assert f"replaced {stale!r}" in out and why in out
    assert project.run()[1].count("up to date") == 1  # and the second run changes nothing


def test_several_stale_entries_collapse_into_one(project: Project) -> None:
    project.write([stale for stale, _ in STALE] + OTHERS + [OURS])
    assert project.run()[0] == 0
    assert project.entries() == [OURS, *OTHERS]


def test_role_only_run_replaces_the_exact_entry(project: Project) -> None:
    project.write([*OTHERS, OURS])
    assert project.run("--role-only")[0] == 0
    assert project.entries() == [*OTHERS, f"arn:aws:sts::{ACCOUNT}:assumed-role/{ROLE}"]


def test_other_teams_entries_that_only_look_alike_stay(project: Project) -> None:
    alike = [
        f"arn:aws:sts::{ACCOUNT}:assumed-role/{ROLE}Reader/reader",  # another role, another session
        f"arn:aws:sts::999999999999:assumed-role/{ROLE}/other",  # our role name in another account
        f"arn:aws:sts::{ACCOUNT}:assumed-role/{ROLE}-${{env}}/{SESSION}",  # an ${env} entry: someone else's
    ]
    stale = f"arn:aws:sts::{ACCOUNT}:assumed-role/{ROLE}/old-session"
    project.write([*alike, stale])
    assert project.run()[0] == 0
    assert project.entries() == [*alike, OURS]


# --- the settings' account against the project's, and the sandbox's values -------------------------------


def test_an_account_that_is_not_the_projects_is_refused(project: Project) -> None:
    project.configure(api='"222222222222"')
    before = project.roles.read_bytes()
    for mode in MODES:
        code, _, err = project.run(*mode)
        assert code == 2 and "puts its API in account 444455556666" in err, mode
    assert project.roles.read_bytes() == before
    assert project.run("--force")[0] == 0


def test_sandbox_values_are_warned_about_loudly(project: Project) -> None:
    project.configure(api='"222222222222"')
    _, _, err = project.run("--force", "--dry-run")
    assert "WARNING:" in err and "local sandbox's placeholder values" in err and "222222222222" in err
    project.configure()
    _, _, err = project.run("--dry-run")
    assert "sandbox" not in err


def test_allowed_mutations_are_checked_against_the_schema(project: Project) -> None:
    project.configure(allowed_mutations='["createTodo", "createOrder"]')
    code, _, err = project.run("--dry-run")
    assert code == 0
    assert "createTodo" in err and "schema.graphql does not define" in err and "createOrderLine" in err


# --- CLI behaviour labels and the normalize warning --------------------------------------------------------


def test_normalize_warns_about_suffix_roles_in_any_account(project: Project) -> None:
    _, out, _ = project.run("--dry-run", "--cli-behaviour", "normalize")
    assert f"becomes '{ROLE}/{SESSION}'" in out
    assert f"My{ROLE}/{SESSION}" in out and "any account" in out and "RAM" in out


def test_help_names_the_category_api_package_versions(capsys: pytest.CaptureFixture[str]) -> None:
    main(["--help"])
    out = "".join(capsys.readouterr().out.split())  # argparse wraps lines (also at hyphens)
    assert "@aws-amplify/amplify-category-api<=5.15.6" in out and "5.15.3" not in out


def test_category_api_version_setting_picks_the_behaviour(project: Project) -> None:
    text = project.settings_path.read_text().replace(
        'cli_behaviour = "verbatim"', 'category_api_version = "5.15.7"'
    )
    project.settings_path.write_text(text)
    assert project.settings().amplify.cli_behaviour == "normalize"
    project.settings_path.write_text(text.replace('"5.15.7"', '"5.15.6"'))
    assert project.settings().amplify.cli_behaviour == "verbatim"
    both = text.replace(
        'category_api_version = "5.15.7"', 'cli_behaviour = "verbatim"\ncategory_api_version = "5.15.7"'
    )
    project.settings_path.write_text(both)
    code, _, err = project.run("--check")
    assert code == 2 and "contradicts amplify.category_api_version" in err


def test_gen2_settings_write_nothing_and_say_why(project: Project) -> None:
    text = project.settings_path.read_text().replace("[amplify]\n", "[amplify]\ngeneration = 2\n")
    project.settings_path.write_text(text)
    before = project.roles.read_bytes()
    for mode in MODES:
        code, out, err = project.run(*mode)
        assert code == 0 and out == "" and "amplify.generation = 2" in err and "IAM policy alone" in err
    assert project.roles.read_bytes() == before
