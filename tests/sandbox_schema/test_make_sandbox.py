"""``make sandbox`` (``python -m sandbox``) in the foreground, and the stand-in when Node is not used."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from project_settings import Settings, load_settings
from sandbox.cli import started
from tests.sandbox_schema.project import ROOT, cli, sourced, write_project


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, Path]:
    settings_path = write_project(tmp_path_factory.mktemp("project"))
    return load_settings(settings_path), settings_path


def test_without_node_the_stand_in_serves_its_todo_schema_and_says_so(
    project: tuple[Settings, Path], tmp_path: Path
) -> None:
    settings, settings_path = project
    env_file = tmp_path / "sandbox.env"
    with started(settings, backend="stand-in", env_file=env_file) as handle:
        assert handle.backend == "stand-in"
        assert any("serves only its built-in Todo schema" in note for note in handle.notes)
        assert any("createOrder" in note for note in handle.notes)  # mutations it cannot serve, named
        assert list(handle.sandbox.table_names) == ["Todo"]
        environment = sourced(env_file)
        assert cli(environment, "doctor", "--settings", str(settings_path)).returncode == 0
        todo = {
            "mutation": "createTodo",
            "input": {"name": "on the stand-in"},
            "idempotencyKey": "k-stand-in",
        }
        assert (
            cli(environment, "send", "--settings", str(settings_path), stdin=json.dumps(todo)).returncode == 0
        )
        assert [i["name"] for i in handle.sandbox.table_items()] == ["on the stand-in"]


def test_python_m_sandbox_stays_in_the_foreground_until_ctrl_c(
    project: tuple[Settings, Path], tmp_path: Path
) -> None:
    """What ``make sandbox`` runs: prints what to do, keeps the env file while running, stops on SIGINT."""
    env_file = tmp_path / "sandbox.env"
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "sandbox", "--settings", str(project[1])),
            *("--backend", "stand-in", "--env-file", str(env_file)),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**{k: v for k, v in os.environ.items() if not k.startswith("AWS_")}, "PYTHONPATH": str(ROOT)},
    )
    try:
        lines = []
        deadline = time.monotonic() + 90
        assert process.stdout is not None
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            lines.append(line)
            if line.startswith("Ctrl-C stops it"):
                break
        text = "".join(lines)
        assert f"set -a; . {env_file}; set +a" in text, text
        assert "appsync-mutations doctor" in text and "appsync-mutations replay list" in text
        assert "stand-in" in text
        assert env_file.exists()
        time.sleep(0.5)
        assert process.poll() is None, "it stays in the foreground"
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=60) == 0
        assert not env_file.exists()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
