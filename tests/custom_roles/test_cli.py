"""The command line: modes, overrides, exit codes (0 ok, 1 stale/problems for --check, 2 invalid input)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from amplify_custom_roles.cli import main

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def cli(kit: Any, capsys: pytest.CaptureFixture[str]) -> Any:
    settings_file = kit.settings_file()
    roles = (
        settings_file.parent / "amplify" / "backend" / "api" / kit.base.amplify.api_name / "custom-roles.json"
    )

    def run(*args: str) -> tuple[int, str, str]:
        code = main(["--settings", str(settings_file), *args])
        out, err = capsys.readouterr()
        return code, out, err

    run.roles = roles  # type: ignore[attr-defined]
    return run


def test_help_documents_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "--check" in out and "--role-only" in out and "exit codes:" in out


def test_writes_then_is_up_to_date(cli: Any, kit: Any) -> None:
    code, out, _ = cli()
    assert code == 0 and "wrote" in out and "Amplify Gen 2 has no custom-roles.json allow-list" in out
    assert json.loads(cli.roles.read_text())["adminRoleNames"] == [kit.ours]
    code, out, _ = cli()
    assert code == 0 and "up to date, nothing written" in out
    assert cli("--check")[0] == 0


def test_check_exits_1_with_a_diff_when_stale(cli: Any, kit: Any) -> None:
    cli.roles.write_text('{"adminRoleNames": ["x"]}\n')
    code, out, _ = cli("--check")
    assert code == 1
    assert "STALE" in out and f'+    "{kit.ours}"' in out
    assert json.loads(cli.roles.read_text())["adminRoleNames"] == ["x"]


def test_check_exits_1_for_a_problem_entry(cli: Any, kit: Any) -> None:
    cli.roles.write_text(json.dumps({"adminRoleNames": ["", kit.ours]}))
    code, out, _ = cli("--check")
    assert code == 1 and "[problem] ''" in out and "STALE" not in out


def test_invalid_input_exits_2_untouched(cli: Any) -> None:
    cli.roles.write_text('{"adminRoleNames": "x", "other": []}')
    before = cli.roles.read_bytes()
    for mode in ((), ("--check",), ("--dry-run",), ("--stdout",)):
        code, _, err = cli(*mode)
        assert code == 2 and "unknown key 'other'" in err and "nothing was written" in err
    assert cli.roles.read_bytes() == before


def test_invalid_settings_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--settings", str(tmp_path / "missing.toml")]) == 2
    assert "file not found" in capsys.readouterr().err


def test_usage_errors_exit_2(cli: Any) -> None:
    assert cli("--check", "--stdout")[0] == 2
    assert cli("--cli-behaviour", "newest")[0] == 2
    assert cli("--api-name", "bad-name")[0] == 2


def test_dry_run_prints_the_diff_and_result_without_writing(cli: Any, kit: Any) -> None:
    code, out, _ = cli("--dry-run")
    assert code == 0 and "+++ " in out and "--- result (not written) ---" in out and kit.ours in out
    assert not cli.roles.exists()


def test_stdout_prints_only_the_json(cli: Any, kit: Any) -> None:
    code, out, err = cli("--stdout", "--role-only")
    assert code == 0
    assert json.loads(out) == {"adminRoleNames": [kit.role_only]}
    assert "warning:" in err and f"{kit.role}Admin" in err
    assert not cli.roles.exists()


def test_overrides(cli: Any, kit: Any, tmp_path: Path) -> None:
    other = tmp_path / "other-project"
    (other / "amplify" / "backend" / "api" / "shop").mkdir(parents=True)
    code, out, _ = cli("--project-dir", str(other), "--api-name", "shop", "--cli-behaviour", "normalize")
    assert code == 0 and "Amplify CLI behaviour: normalize" in out
    written = other / "amplify" / "backend" / "api" / "shop" / "custom-roles.json"
    assert json.loads(written.read_text())["adminRoleNames"] == [kit.ours]
    assert not cli.roles.exists()


def test_missing_api_directory_needs_create_dirs(cli: Any, tmp_path: Path) -> None:
    code, _, err = cli("--project-dir", str(tmp_path / "nowhere"))
    assert code == 2 and "--create-dirs" in err
    assert cli("--project-dir", str(tmp_path / "nowhere"), "--create-dirs")[0] == 0


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(args, capture_output=True, text=True, cwd=cwd, env=env, timeout=60, check=False)


def test_module_and_console_script_entry_points(kit: Any) -> None:
    settings_file = kit.settings_file()
    done = _run(
        sys.executable, "-m", "amplify_custom_roles", "--settings", str(settings_file), cwd=kit.tmp_path
    )
    assert done.returncode == 0, done.stderr
    script = Path(sys.executable).parent / "amplify-custom-roles"
    if not script.exists():
        pytest.skip("console script not installed (pip install -e .)")
    done = _run(str(script), "--settings", str(settings_file), "--check", cwd=kit.tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr


def test_cli_imports_stay_light(tmp_path: Path) -> None:
    probe = (
        "import sys, amplify_custom_roles.cli;"
        "import amplify_custom_roles.generator;"
        "heavy = {'boto3', 'botocore', 'gql', 'aiohttp', 'structlog', 'tenacity', 'hypothesis', 'moto'};"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy))"
    )
    done = _run(sys.executable, "-c", probe, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
