"""The worker itself runs against the local sandbox (`python -m sandbox.invoke`), not only `send`.

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


def test_only_this_runs_envelopes_reach_the_worker_and_bad_input_is_refused_cleanly(tmp_path: Path) -> None:
    settings = load_settings(write_project(tmp_path / "project"))
    env_file = tmp_path / "sandbox.env"
    with started(settings, backend="stand-in", env_file=env_file) as running:
        sandbox = running.sandbox
        environment = sourced(env_file)
        limit = int(
            sandbox.client("sqs", "A").get_queue_attributes(
                QueueUrl=sandbox.queue_url, AttributeNames=["MaximumMessageSize"]
            )["Attributes"]["MaximumMessageSize"]
        )
        small = {"mutation": "createTodo", "input": {"name": "first"}, "idempotencyKey": "inv-small"}
        huge = {"mutation": "createTodo", "input": {"name": "x" * limit}, "idempotencyKey": "inv-huge"}
        # one body over SQS's limit: refused before anything is sent, so nothing is left for a later run
        done = _invoke(environment, json.dumps([small, huge]))
        assert done.returncode == 2, done.stderr
        assert done.stderr.startswith("sandbox.invoke: envelope 2 cannot be sent")
        assert "nothing was sent" in done.stderr and "Traceback" not in done.stderr
        assert sandbox.queue_depth() == 0
        # someone else's message on the queue is not run as ours: handed back and named
        foreign = sandbox.client("sqs", "A").send_message(
            QueueUrl=sandbox.queue_url,
            MessageBody=json.dumps(
                {"mutation": "createTodo", "input": {"name": "not mine"}, "idempotencyKey": "f"}
            ),
        )["MessageId"]
        mine = {"mutation": "createTodo", "input": {"name": "mine"}, "idempotencyKey": "inv-mine"}
        done = _invoke(environment, json.dumps(mine))
        assert done.returncode == 0, done.stderr
        result = json.loads(done.stdout[done.stdout.rindex("{\n") :])
        assert result == {"records": 1, "batchItemFailures": [], "notYours": [foreign]}
        assert f"not yours, left on the queue (visible again): {foreign}" in done.stderr
        assert [i["name"] for i in sandbox.table_items()] == ["mine"]
        assert sandbox.queue_depth() == 1  # the foreign message, visible again at once
        # an empty list, an empty body, a file that is not UTF-8: clean errors
        for stdin, said in (("[]", "no envelope given"), ('""', "envelope 1 is empty")):
            done = _invoke(environment, stdin)
            assert done.returncode == 2 and said in done.stderr and "Traceback" not in done.stderr, (
                done.stderr
            )
        latin = tmp_path / "latin.json"
        latin.write_bytes(b'{"mutation": "createTodo", "input": {"name": "caf\xe9"}}')
        done = _invoke_args(environment, "--file", str(latin))
        assert done.returncode == 2 and "is not UTF-8" in done.stderr and "Traceback" not in done.stderr

    done = _invoke(environment, json.dumps(mine))  # a stale environment file: the sandbox is gone
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("sandbox.invoke: ") and "Traceback" not in done.stderr
    assert "is the sandbox still running?" in done.stderr


def _invoke_args(environment: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sandbox.invoke", *args],
        env={**environment, "PATH": os.environ["PATH"], "PYTHONPATH": str(ROOT)},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
