"""Suite-wide guard: no secret the sandbox issued may appear in anything a test printed or logged.

Every test's captured stdout, stderr and log records are kept (in a temporary file, not in memory); every
sandbox records the secret keys, session tokens and signatures it issued or verified before it stops. At the
end of the session the two are compared; a single hit fails the run and names the test.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

_SECRETS: set[str] = set()
_CAPTURE = tempfile.NamedTemporaryFile("w+", prefix="captured-output-", suffix=".jsonl", delete=False)  # noqa: SIM115
_STATS = {"tests": 0, "bytes": 0}


def remember_secrets(secrets: set[str]) -> None:
    """Called with each sandbox's issued secrets (see the ``_record_sandbox_secrets`` hook below)."""
    _SECRETS.update(s for s in secrets if s and len(s) >= 16)


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    try:
        from sandbox.fixture import Sandbox
    except ImportError:  # the sandbox is not importable: nothing issues secrets
        return
    original_stop = Sandbox.stop

    def stop_and_record(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            remember_secrets(set(self.issued_secrets()))
        finally:
            return original_stop(self, *args, **kwargs)  # noqa: B012

    Sandbox.stop = stop_and_record  # type: ignore[method-assign]


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    text = "".join(content for _title, content in report.sections)
    if report.when == "call":
        _STATS["tests"] += 1
    if text:
        _STATS["bytes"] += len(text)
        _CAPTURE.write(json.dumps({"test": report.nodeid, "text": text}) + "\n")


_RESULT: dict[str, Any] = {}


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    _CAPTURE.flush()
    _CAPTURE.seek(0)
    hits: list[str] = []
    for line in _CAPTURE:
        entry = json.loads(line)
        for secret in _SECRETS:
            if secret in entry["text"]:
                hits.append(f"{entry['test']}: a secret of {len(secret)} characters starting {secret[:4]!r}")
    _CAPTURE.close()
    Path(_CAPTURE.name).unlink(missing_ok=True)
    _RESULT["hits"] = hits
    if hits:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: Any) -> None:
    hits = _RESULT.get("hits", [])
    terminalreporter.write_line(
        f"secret scan: {len(_SECRETS)} sandbox secrets checked against {_STATS['bytes']} bytes of captured "
        f"output from {_STATS['tests']} tests: {len(hits)} hits"
    )
    for hit in hits[:20]:
        terminalreporter.write_line(f"  LEAK {hit}", red=True)


# --- the sandbox and a Lambda "container" for the folders that run the worker ------------------------------
@pytest.fixture(scope="module")
def sb() -> Iterator[Any]:
    """One sandbox per module (moto's state is process-global: one at a time); a module may override it."""
    from project_settings import load_settings
    from sandbox.fixture import Sandbox

    with Sandbox.start(load_settings()) as sandbox:
        yield sandbox


@pytest.fixture
def container(sb: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., None]]:
    """Call with env overrides to (re)start the Lambda container: fresh worker state, Lambda's environment."""
    from worker.handler import reset_runtime

    sb.write_custom_roles([sb.settings.assumed_role_arn])
    sb.appsync.faults.clear()
    sb.sts.reset()

    def start(**overrides: str) -> None:
        reset_runtime()
        # The suite's function names direct invocation as a producer (most cases invoke it directly, as a test
        # harness would); settings.toml leaves it off, and tests/worker_e2e/test_producers.py holds that refusal.
        environment = {**sb.lambda_environment(), "DIRECT_INVOCATION": "true", **overrides}
        for name in list(os.environ):
            if name.startswith("AWS_") or name in environment:
                monkeypatch.delenv(name, raising=False)
        for name, value in environment.items():
            monkeypatch.setenv(name, value)

    start()
    yield start
    reset_runtime()
    sb.appsync.faults.clear()
    sb.sts.reset()


@pytest.fixture(scope="session")
def amplify_node_modules() -> Path:
    """Amplify's packages (the conformance project's node_modules, ``npm ci`` once when missing or stale):
    skipped without Node.js, failed under ``CI=true`` (CI must run the Amplify cases)."""
    from sandbox.amplify_backend import NodeUnavailable, node_modules

    try:
        return node_modules()
    except NodeUnavailable as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{exc} (CI=true: install Node.js 20+)")
        pytest.skip(str(exc))
