"""Credential faults mid-run: expiry, and expiry while STS throttles, must never lose or wrongly dead-letter."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from project_settings import load_settings
from sandbox.fixture import Sandbox
from tests.support import create_bodies, dead_letters, drain
from tests.support.soak import keep_on_expiry

SETTINGS = load_settings()


def _warm(sb: Sandbox) -> None:
    sb.send_messages(create_bodies(f"warm-{uuid.uuid4().hex[:6]}", 2))
    drain(sb)


def test_expiry_mid_run_refreshes_and_applies_everything(sb: Sandbox, container: Callable[..., None]) -> None:
    """Every account-B credential expires between two batches (the worker still believes they are valid):
    AppSync answers ExpiredToken, the worker re-assumes once and every record is applied."""
    container(MAX_CONCURRENCY="10")
    _warm(sb)
    calls_before = len(sb.sts.assume_role_calls)
    sb.sts.expire_all(keep_role_arns=keep_on_expiry(sb))
    prefix = f"expiry-{uuid.uuid4().hex[:6]}"
    ids = set(sb.send_messages(create_bodies(prefix, 10)))
    drain(sb)
    assert {f"{prefix}-{i}" for i in range(10)} <= {item["id"] for item in sb.table_items()}
    assert dead_letters(sb, ids) == {}
    assert len(sb.sts.assume_role_calls) == calls_before + 1
    assert sb.appsync.stats.by_outcome.get("expired_token", 0) >= 1


def test_expiry_while_sts_throttles_is_transient_not_a_dead_letter(
    sb: Sandbox, container: Callable[..., None], capsys: Any
) -> None:
    """Credentials expire mid-run while STS throttles the refresh.

    The refresh fails transiently (CredentialsUnavailable/Throttling), the records are retried or redelivered,
    and all of them are applied once STS recovers; nothing is dead-lettered. (Was a bug: the rejected set was
    signed with again and the record dead-lettered as SignatureRejected.)
    """
    container(MAX_CONCURRENCY="10", MAX_ATTEMPTS="6")
    _warm(sb)
    sb.sts.expire_all(keep_role_arns=keep_on_expiry(sb))
    sb.sts.throttle_next(4)  # exactly one AssumeRole call (4 attempts in botocore standard mode) fails
    prefix = f"expiry-throttled-{uuid.uuid4().hex[:6]}"
    ids = set(sb.send_messages(create_bodies(prefix, 10)))
    drain(sb)
    letters = dead_letters(sb, ids)
    reasons = sorted({f"{f.get('errorType')}: {f.get('reason')}" for f in letters.values()})
    assert letters == {}, f"{len(letters)} of 10 good messages dead-lettered: {reasons}"
    assert {f"{prefix}-{i}" for i in range(10)} <= {item["id"] for item in sb.table_items()}
