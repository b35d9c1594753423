"""The README's Gen 2 rehearsal works as written.

`init` on a Gen 2 project leaves account B and the API id as placeholders (amplify_outputs.json names neither);
`make sandbox` used to refuse such settings. It now stands in for exactly those values, and says so.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from mutation_cli.main import main
from project_settings.model import DEFAULT_PATH
from tests.sandbox_schema.project import cli, sourced

ROOT = Path(__file__).resolve().parents[2]
GEN2 = ROOT / "tests" / "settings" / "fixtures" / "gen2"


def test_make_sandbox_runs_on_what_init_wrote_for_a_gen2_project(tmp_path: Path) -> None:
    shutil.copytree(GEN2, tmp_path / "app")
    settings = tmp_path / "settings.toml"
    settings.write_text(DEFAULT_PATH.read_text(encoding="utf-8"), encoding="utf-8")
    for key in ('worker = "111111111111"', 'api = "222222222222"', 'api_id = "sandboxapi0000000000000000"'):
        name = key.split(" = ")[0]
        settings.write_text(
            settings.read_text(encoding="utf-8").replace(key, f'{name} = "<{name}>"'), encoding="utf-8"
        )
    assert (
        main(
            [
                "init",
                "--settings",
                str(settings),
                "--no-input",
                "--from-amplify",
                str(tmp_path / "app"),
                "--mutations",
                "createTodo",
            ]
        )
        == 0
    )
    text = settings.read_text(encoding="utf-8")
    assert 'api = "<account B' in text and 'api_id = "<the AppSync API id' in text

    env_file = tmp_path / "sandbox.env"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sandbox",
            "--settings",
            str(settings),
            "--backend",
            "stand-in",
            "--env-file",
            str(env_file),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**{k: v for k, v in os.environ.items() if not k.startswith("AWS_")}, "PYTHONPATH": str(ROOT)},
    )
    try:
        assert process.stdout is not None
        lines = []
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            lines.append(line)
            if line.startswith("Ctrl-C stops it"):
                break
        assert env_file.exists(), "".join(lines)
        # the commands the sandbox prints next work on the same settings, placeholders and all (review)
        environment = sourced(env_file)
        doctor = cli(environment, "doctor", "--settings", str(settings))
        assert doctor.returncode == 0, doctor.stdout + doctor.stderr
        assert "IAM policy" in doctor.stdout and "appsync:GraphQL allowed on createTodo" in doctor.stdout
        envelope = '{"mutation": "createTodo", "input": {"name": "rehearsed"}, "idempotencyKey": "k-g2"}'
        sent = cli(environment, "send", "--settings", str(settings), stdin=envelope)
        assert sent.returncode == 0, sent.stderr
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=60)
        assert process.returncode == 0, err
        assert (
            "the sandbox stands in for accounts.worker = '111111111111', accounts.api = '222222222222', "
            "appsync.api_id = 'sandboxapi0000000000000000'" in err
        )
        assert "before deploying" in err
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
