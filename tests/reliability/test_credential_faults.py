"""Credential faults mid-run: expiry, and expiry while STS throttles, must never lose or wrongly dead-letter."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from benchmarks.soak import keep_on_expiry
from project_settings import load_settings
from sandbox.fixture import Sandbox
from worker.dead_letters import read_failure
from worker.handler import lambda_handler

SETTINGS = load_settings()


def _creates(prefix: str, count: int) -> list[str]:
    return [
        json.dumps({"mutation": "createTodo", "input": {"name": "x"}, "idempotencyKey": f"{prefix}-{i}"})
        for i in range(count)
    ]


def _drain(sb: Sandbox) -> None:
    stats = sb.drain_queue(lambda_handler, batch_size=10, max_rounds=20)
    assert stats.whole_batch_failures == 0


def _dead_letters(sb: Sandbox, ids: set[str]) -> dict[str, dict[str, str]]:
    found = {}
    for message in sb.dlq_messages():
        failure = read_failure(message.get("MessageAttributes", {}))
        if failure.get("sourceMessageId") in ids:
            found[failure["sourceMessageId"]] = failure
    return found


def _warm(sb: Sandbox) -> None:
    sb.send_messages(_creates(f"warm-{uuid.uuid4().hex[:6]}", 2))
    _drain(sb)


def test_expiry_mid_run_refreshes_and_applies_everything(sb: Sandbox, container: Callable[..., None]) -> None:
    """Every account-B credential expires between two batches (the worker still believes they are valid):
    AppSync answers ExpiredToken, the worker re-assumes once and every record is applied."""
    container(MAX_CONCURRENCY="10")
    _warm(sb)
    calls_before = len(sb.sts.assume_role_calls)
    sb.sts.expire_all(keep_role_arns=keep_on_expiry(sb))
    prefix = f"expiry-{uuid.uuid4().hex[:6]}"
    ids = set(sb.send_messages(_creates(prefix, 10)))
    _drain(sb)
    assert {f"{prefix}-{i}" for i in range(10)} <= {item["id"] for item in sb.table_items()}
    assert _dead_letters(sb, ids) == {}
    assert len(sb.sts.assume_role_calls) == calls_before + 1
    assert sb.appsync.stats.by_outcome.get("expired_token", 0) >= 1


@pytest.mark.xfail(
    strict=True,
    reason="BUG in worker/client.py + worker/credentials.py (see docstring): good messages dead-lettered as "
    "SignatureRejected when a forced refresh after ExpiredToken is throttled; remove this marker with the fix",
)
def test_expiry_while_sts_throttles_is_transient_not_a_dead_letter(
    sb: Sandbox, container: Callable[..., None], capsys: Any
) -> None:
    """BUG (worker/client.py + worker/credentials.py): credentials expire mid-run while STS throttles.

    Expected: the refresh fails transiently (CredentialsUnavailable/Throttling), the records are retried or
    redelivered, and all of them are applied once STS recovers; nothing is dead-lettered.

    Observed: records are dead-lettered as permanent ``SignatureRejected`` ("AppSync rejected freshly
    assumed credentials as expired"), so good messages leave the queue for the DLQ. Two defects combine:
    1. ``MutationClient.send`` sets ``refreshed_for_expiry = True`` *before* ``force_refresh`` runs; when
       that refresh raises (throttled), the next attempt signs with the same expired credentials, meets
       ExpiredToken again and is turned into the permanent SigningError without any fresh credentials ever
       having been tried.
    2. ``AssumedRoleCredentials._assume`` increments ``assume_role_calls`` (the ``generation``) before the
       STS call, so a *failed* assume bumps the generation: concurrent records that saw ExpiredToken with the
       old generation call ``force_refresh(old)``, find the generation changed and skip the refresh, then
       retry with the expired set and hit defect 1.
    Fix: set ``refreshed_for_expiry`` only after ``force_refresh`` returned new credentials (or raise the
    SigningError only when the rejected generation is one that was freshly assumed after the expiry), and
    bump the generation only when ``_assume`` succeeds (e.g. ``self.generation += 1`` after ``_frozen`` is
    replaced, kept apart from the ``assume_role_calls`` counter). Also ``get_frozen_credentials`` keeps
    handing out a set AppSync has declared expired: after a failed forced refresh the cached set should be
    treated as unusable (so the next read re-assumes, or the record fails transiently).
    """
    container(MAX_CONCURRENCY="10", MAX_ATTEMPTS="6")
    _warm(sb)
    sb.sts.expire_all(keep_role_arns=keep_on_expiry(sb))
    sb.sts.throttle_next(4)  # exactly one AssumeRole call (4 attempts in botocore standard mode) fails
    prefix = f"expiry-throttled-{uuid.uuid4().hex[:6]}"
    ids = set(sb.send_messages(_creates(prefix, 10)))
    _drain(sb)
    letters = _dead_letters(sb, ids)
    reasons = sorted({f"{f.get('errorType')}: {f.get('reason')}" for f in letters.values()})
    assert letters == {}, f"{len(letters)} of 10 good messages dead-lettered: {reasons}"
    assert {f"{prefix}-{i}" for i in range(10)} <= {item["id"] for item in sb.table_items()}
