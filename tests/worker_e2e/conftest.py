"""The worker end to end in the sandbox: real STS with enforced trust, real SigV4 checked by the AppSync side.

Each test gets a fresh "container" (``container`` in tests/conftest.py) whose environment is exactly what Lambda
would give it; these helpers build messages and invoke it the way the event source mapping does.

Two backends serve account B's API (README, "Amplify's own resolvers"):
- ``stand-in``: the sandbox's Python AppSync stand-in (every test);
- ``amplify``: Amplify's own generated resolvers (GraphQL transformer 1.8.x, Gen 1) in Amplify's AppSync
  simulator behind the sandbox's SigV4 front (``sandbox.amplify_backend``), for the cases in ``ON_BOTH``.
A module with any case in ``ON_BOTH`` runs all its cases parametrized by ``backend`` (one sandbox, and one Node
backend, per module and backend). Without Node the ``amplify`` cases are skipped, and fail under ``CI=true``
(the conformance test's rule).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from project_settings import Settings, load_settings
from sandbox.fixture import Sandbox
from tests import support

SETTINGS: Settings = load_settings()
BACKENDS = ("stand-in", "amplify")
#: module -> the cases that also run on Amplify's resolvers ("*": all of them).
ON_BOTH: dict[str, set[str]] = {
    "test_both_backends.py": {"*"},
    "test_outcomes_are_true.py": {"*"},
    "test_hostile_cases.py": {
        "test_a_create_that_names_no_record_is_not_sent_without_time_for_its_whole_answer",
        "test_a_stray_input_variable_is_not_the_record",
        "test_a_literal_create_without_an_id_is_never_resent_whatever_the_variables_say",
        "test_an_aliased_field_that_was_applied_is_applied",
        "test_deeply_nested_input_is_dead_lettered_with_its_reason",
        "test_an_empty_id_is_refused_not_taken_as_a_record",
    },
    "test_sqs_worker.py": {
        "test_batch_is_applied_with_one_assume_role_from_the_execution_role",
        "test_timeout_after_apply_is_one_effect",
        "test_exhausted_transient_failure_is_left_for_redelivery",
        "test_permanent_failures_go_to_the_dlq_with_their_reason",
        "test_duplicate_deliveries_are_one_effect",
        "test_eventbridge_event_becomes_one_mutation",
        "test_direct_invocation_returns_the_outcome",
        # test_custom_roles_with_the_iam_role_arn_is_diagnosed asserts AppSync's message text; its
        # both-backend form is test_both_backends.py::test_the_iam_role_arn_entry_is_unauthorized_until_fixed
    },
}


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    cases = ON_BOTH.get(Path(str(metafunc.definition.fspath)).name)
    if cases is None or "backend" not in metafunc.fixturenames:
        return
    on_both = "*" in cases or metafunc.function.__name__ in cases
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
