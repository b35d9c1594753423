"""The worker end to end in the sandbox: real STS with enforced trust, real SigV4 checked by the AppSync side.

Each test gets a fresh "container" (``container`` in tests/conftest.py) whose environment is exactly what Lambda
would give it; these helpers build messages and invoke it the way the event source mapping does.

Two backends serve account B's API (README, "Amplify's own resolvers"):
- ``stand-in``: the sandbox's Python AppSync stand-in (every test);
- ``amplify``: Amplify's own generated resolvers (GraphQL transformer 1.8.x, Gen 1) in Amplify's AppSync
  simulator behind the sandbox's SigV4 front (``sandbox.amplify_backend``), for the tests marked
  ``@pytest.mark.both_backends`` (a module's ``pytestmark`` marks all its tests).
A marked test runs once per backend (ids end in ``[stand-in]`` / ``[amplify]``); in a module with any marked test
the unmarked ones run as ``[stand-in]``, so each module starts one sandbox, and one Node backend, per backend. A
marked test must use the sandbox (the ``backend`` fixture, through ``sb``). Without Node the ``amplify`` cases are
skipped, and fail under ``CI=true`` (the conformance test's rule).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from project_settings import Settings, load_settings
from sandbox.fixture import Sandbox
from tests import support

SETTINGS: Settings = load_settings()
BACKENDS = ("stand-in", "amplify")
#: The marker (registered in pyproject.toml) that runs a test on Amplify's resolvers as well as the stand-in.
BOTH_BACKENDS = "both_backends"


def _marked(obj: object) -> bool:
    """Whether ``obj`` (a test function or module) carries the marker itself: marks applied with a decorator, and a
    module's ``pytestmark``, are kept in the object's ``pytestmark`` attribute (a mark or a list of them)."""
    marks = getattr(obj, "pytestmark", [])
    return any(
        getattr(mark, "name", None) == BOTH_BACKENDS
        for mark in (marks if isinstance(marks, list) else [marks])
    )


def _module_runs_on_both(module: object) -> bool:
    return _marked(module) or any(callable(value) and _marked(value) for value in vars(module).values())


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    on_both = metafunc.definition.get_closest_marker(BOTH_BACKENDS) is not None
    if "backend" not in metafunc.fixturenames:
        if on_both:
            raise pytest.UsageError(
                f"{metafunc.definition.nodeid} is marked {BOTH_BACKENDS} but uses no sandbox (no backend fixture)"
            )
        return
    if on_both or _module_runs_on_both(metafunc.module):
        metafunc.parametrize("backend", BACKENDS if on_both else BACKENDS[:1], indirect=True, scope="module")


@pytest.fixture(scope="module")
def backend(request: pytest.FixtureRequest) -> str:
    """Which AppSync backend this module's sandbox serves (``stand-in`` unless parametrized)."""
    return str(getattr(request, "param", "stand-in"))


@pytest.fixture(scope="module")
def sb(backend: str, request: pytest.FixtureRequest) -> Iterator[Sandbox]:
    """One sandbox per module and backend; with ``amplify`` its AppSync API is Amplify's own resolvers."""
    modules = request.getfixturevalue("amplify_node_modules") if backend == "amplify" else None
    with Sandbox.start(SETTINGS) as sandbox:
        if modules is None:
            yield sandbox
            return
        from sandbox.amplify_backend import amplify_appsync

        with amplify_appsync(sandbox, modules):
            yield sandbox


class Kit:
    """Helpers for the tests (in importlib mode test modules cannot import this conftest)."""

    settings = SETTINGS
    create = staticmethod(support.create_body)
    invoke = staticmethod(support.invoke)
    table_ids = staticmethod(support.table_ids)


@pytest.fixture
def kit() -> type[Kit]:
    return Kit
