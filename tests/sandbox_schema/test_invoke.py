"""Issue 20 §4: the worker itself runs against the local sandbox (`python -m sandbox.invoke`), not only `send`.

The envelopes go through the sandbox's queue and the worker's handler in a process whose environment is only the
sourced `build/sandbox.env`: a Lambda container's.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from project_settings import load_settings
from sandbox.cli import started
from tests.sandbox_schema.project import ROOT, sourced, write_project


def _invoke(environment: dict[str, str], stdin: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sandbox.invoke"],
        env={**environment, "PATH": os.environ["PATH"], "PYTHONPATH": str(ROOT)},
        cwd=ROOT,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_worker_runs_on_envelopes_through_the_sandbox_queue(tmp_path: Path) -> None:
    settings = load_settings(write_project(tmp_path / "project"))
    env_file = tmp_path / "sandbox.env"
    with started(settings, backend="stand-in", env_file=env_file) as running:
        environment = sourced(env_file)
        good = {"mutation": "createTodo", "input": {"name": "by the worker"}, "idempotencyKey": "inv-1"}
        off_list = {"mutation": "deleteEverything", "input": {"id": "x"}}
        done = _invoke(environment, "\n".join(json.dumps(e) for e in (good, good, off_list)))
        assert done.returncode == 0, done.stderr
        result = json.loads(done.stdout[done.stdout.rindex("{\n") :])
        assert result == {"records": 3, "batchItemFailures": []}
        items = running.sandbox.table_items()
        assert [(i["id"], i["name"]) for i in items] == [
            ("inv-1", "by the worker")
        ]  # the duplicate: one record
        # the one off the allow-list is in the DLQ with its reason, not lost
        [letter] = running.sandbox.dlq_messages()
        assert letter["MessageAttributes"]["failure.errorType"]["StringValue"] == "MutationNotAllowed"
        assert running.sandbox.queue_depth() == 0

    done = _invoke(environment, json.dumps(good))  # the sandbox is gone: its file told where it was
    assert done.returncode != 0


def test_without_the_environment_it_says_what_to_do() -> None:
    done = _invoke({}, "{}")
    assert done.returncode == 2
    assert "source its environment file first" in done.stderr and "Traceback" not in done.stderr
