"""No message lost under faults: the soak through the real SQS path (see ``tests/support/soak.py``).

Sizes: the fast variant (``SOAK_FAST_MESSAGES``, default 300) runs in the normal suite; the full one
(``SOAK_MESSAGES``, default 5,000) carries the ``soak`` marker and runs only when asked for, with
``make soak`` (``pytest -m soak``): a plain ``pytest`` skips it.

What must hold (``tests.support.soak.Accounting`` defines each term):
sent = applied (distinct idempotency keys in account B's table) + dead-lettered (DLQ messages with a
``failure.reason``), zero unaccounted, every bad message dead-lettered and none applied, each DLQ message
once and with its body byte for byte, no key written twice in account B, the source queue empty, and no
secret in the worker's logs. The figures are the test's last printed lines and go to build/soak-report.json.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Callable

import pytest

from sandbox.fixture import Sandbox
from tests.support import soak


def _run(
    sb: Sandbox, container: Callable[..., None], capsys: pytest.CaptureFixture[str], count: int, size: str
) -> None:
    messages = soak.build_messages(count, run_id=f"soak{size}{uuid.uuid4().hex[:6]}")
    capsys.readouterr()
    sent, run = soak.drive(sb, container, messages, sts_refusals=4 if size == "fast" else 8)
    logs = capsys.readouterr().out
    result = soak.report(sb, sent, run, logs, size=size)
    path = soak.write_report(result)
    leaks = soak.leaked_secrets(logs, sb.issued_secrets())
    books = result["accounting"]

    # every fault kind really happened
    outcomes = result["stand_in"]["by_outcome"]
    for outcome in ("fault_429", "reset"):
        assert outcomes.get(outcome, 0) > 0, f"no {outcome} was injected: {outcomes}"
    assert any(outcomes.get(f"fault_{s}", 0) for s in (500, 502, 503)), outcomes
    assert result["logs"]["credentials_unavailable"] >= 1, "STS throttling never reached the worker"
    assert result["sts"]["assume_role_by_worker"] >= 3, "no re-assume after the cold start and the expiry"
    assert result["retries"] > 0 and result["duplicates_suppressed"] > 0

    assert books["problems"] == []
    assert result["sent"] == result["applied"] + result["dead_lettered"]
    assert result["unaccounted"] == 0
    assert books["bad_dead_lettered"] == books["bad"] and books["bad_applied"] == 0
    assert books["good_dead_lettered"] == 0, f"good messages dead-lettered: {books['dead_letter_reasons']}"
    assert leaks == []

    print(f"soak report written to {path}")
    for line in soak.figure_lines(result):
        print(line)


def _soak_selected(markexpr: str) -> bool:
    """``-m soak`` (or an expression naming it positively) asks for the full size; ``-m 'not soak'`` does not."""
    return re.search(r"(?<!not )\bsoak\b", markexpr) is not None


def test_soak_fast(sb: Sandbox, container: Callable[..., None], capsys: pytest.CaptureFixture[str]) -> None:
    _run(sb, container, capsys, int(os.environ.get("SOAK_FAST_MESSAGES", soak.FAST_MESSAGES)), "fast")


@pytest.mark.soak
def test_soak_full(
    sb: Sandbox,
    container: Callable[..., None],
    capsys: pytest.CaptureFixture[str],
    request: pytest.FixtureRequest,
) -> None:
    if not _soak_selected(str(request.config.getoption("markexpr") or "")):
        pytest.skip("the full soak runs with `make soak` (pytest -m soak)")
    _run(sb, container, capsys, int(os.environ.get("SOAK_MESSAGES", soak.FULL_MESSAGES)), "full")
