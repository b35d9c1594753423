"""One sandbox for the security tests, and a Lambda "container" started with its environment.

``container(**env)`` drops the worker's container state and sets the environment Lambda would give it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

import pytest

from project_settings import Settings, load_settings
from sandbox.fixture import Sandbox
from worker.handler import reset_runtime

SETTINGS: Settings = load_settings()


@pytest.fixture(scope="module")
def sb() -> Iterator[Sandbox]:
    with Sandbox.start(SETTINGS) as sandbox:
        yield sandbox


@pytest.fixture
def container(sb: Sandbox, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., None]]:
    """Call with env overrides to (re)start the Lambda container with the sandbox's environment."""
    sb.write_custom_roles([SETTINGS.assumed_role_arn])
    sb.appsync.faults.clear()
    sb.sts.reset()

    def start(**overrides: str) -> None:
        reset_runtime()
        environment = {**sb.lambda_environment(), **overrides}
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
