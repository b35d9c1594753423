"""Refresh timing of the account-B credentials, driven by a controllable clock.

STS here is a small scripted stand-in so the clock can be moved freely; the end-to-end refresh (real STS in the
sandbox, real signatures) is covered in tests/worker_e2e/test_credentials_and_walls.py and tests/reliability/test_credential_faults.py.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError

from worker.credentials import AssumedRoleCredentials
from worker.errors import AssumeRoleDeniedError, CredentialsUnavailableError


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


class ScriptedSTS:
    """Answers AssumeRole with numbered credentials, or with the next scripted error."""

    def __init__(self, clock: Clock, lifetime: float = 3600) -> None:
        self.clock, self.lifetime = clock, lifetime
        self.calls: list[dict[str, Any]] = []
        self.errors: list[ClientError] = []

    def assume_role(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(kwargs)
        if self.errors:
            raise self.errors.pop(0)
        n = len(self.calls)
        return {
            "Credentials": {
                "AccessKeyId": f"ASIAKEY{n:013d}",
                "SecretAccessKey": f"secret-{n}",
                "SessionToken": f"token-{n}",
                "Expiration": datetime.fromtimestamp(self.clock.now + self.lifetime, UTC),
            },
            "AssumedRoleUser": {
                "Arn": f"arn:aws:sts::222222222222:assumed-role/R/{kwargs['RoleSessionName']}"
            },
        }


def error(code: str, message: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, "AssumeRole")


def make(
    lifetime: float = 3600, sts: ScriptedSTS | None = None
) -> tuple[AssumedRoleCredentials, ScriptedSTS, Clock]:
    clock = sts.clock if sts is not None else Clock()
    sts = sts or ScriptedSTS(clock, lifetime)
    creds = AssumedRoleCredentials.assuming(
        sts,
        role_arn="arn:aws:iam::222222222222:role/R",
        session_name="pinned",
        duration_seconds=3600,
        clock=clock,
    )
    return creds, sts, clock


def test_one_assume_per_lifetime_and_refresh_in_the_last_quarter() -> None:
    creds, sts, clock = make(3600)
    first = creds.get_frozen_credentials()
    for _ in range(1000):
        assert creds.get_frozen_credentials() is first
    assert len(sts.calls) == 1
    assert sts.calls[0] == {
        "RoleArn": "arn:aws:iam::222222222222:role/R",
        "RoleSessionName": "pinned",
        "DurationSeconds": 3600,
    }
    clock.now += 3600 - 901  # still outside the 15-minute window
    assert creds.get_frozen_credentials() is first
    clock.now += 2  # inside it
    second = creds.get_frozen_credentials()
    assert second.access_key != first.access_key and len(sts.calls) == 2
    assert creds.caller_arn == "arn:aws:sts::222222222222:assumed-role/R/pinned"


def test_short_sessions_are_not_refreshed_on_every_read() -> None:
    """botocore's fixed 15-minute window would refresh a 15-minute session every time."""
    creds, sts, clock = make(900)
    creds.get_frozen_credentials()
    for _ in range(100):
        clock.now += 6  # 600 s in total: still more than a quarter of 900 s left
        creds.get_frozen_credentials()
    assert len(sts.calls) == 1


def test_failed_refresh_is_survived_while_the_old_credentials_are_valid() -> None:
    creds, sts, clock = make(3600)
    first = creds.get_frozen_credentials()
    clock.now += 3000  # 600 s left: refresh due
    sts.errors.append(error("Throttling", "Rate exceeded"))
    assert creds.get_frozen_credentials() is first  # survived
    assert len(sts.calls) == 2
    assert creds.get_frozen_credentials() is first  # not retried at once
    assert len(sts.calls) == 2
    clock.now += 120
    assert creds.get_frozen_credentials() is not first  # retried later and succeeded
    assert len(sts.calls) == 3


def test_failure_without_usable_credentials_raises() -> None:
    creds, sts, clock = make(3600)
    sts.errors.append(error("Throttling", "Rate exceeded"))
    with pytest.raises(CredentialsUnavailableError, match="Throttling"):
        creds.get_frozen_credentials()
    with pytest.raises(CredentialsUnavailableError, match="tried again in"):
        creds.get_frozen_credentials()  # inside the backoff: the remembered answer, no second call
    assert len(sts.calls) == 1
    clock.now += 1  # past the first backoff (at most 0.25 s)
    creds.get_frozen_credentials()
    clock.now += 3599  # one second left: below the usable floor
    sts.errors.append(error("Throttling", "Rate exceeded"))
    with pytest.raises(CredentialsUnavailableError):
        creds.get_frozen_credentials()


def test_denial_is_explained_and_remembered_briefly() -> None:
    creds, sts, clock = make()
    message = (
        "User: arn:aws:sts::111111111111:assumed-role/exec/fn is not authorized to perform: sts:AssumeRole "
        "on resource: arn:aws:iam::222222222222:role/R"
    )
    sts.errors.append(error("AccessDenied", message))
    with pytest.raises(AssumeRoleDeniedError) as caught:
        creds.get_frozen_credentials()
    assert "sts:RoleSessionName to exactly 'pinned'" in str(caught.value.diagnosis)
    with pytest.raises(AssumeRoleDeniedError):
        creds.get_frozen_credentials()
    assert len(sts.calls) == 1  # the second caller got the remembered answer
    clock.now += 3
    creds.get_frozen_credentials()
    assert len(sts.calls) == 2


def test_reassuming_with_the_assumed_credentials_is_diagnosed() -> None:
    creds, sts, _ = make()
    sts.errors.append(
        error(
            "AccessDenied",
            "User: arn:aws:sts::222222222222:assumed-role/R/pinned is not authorized to perform: sts:AssumeRole "
            "on resource: arn:aws:iam::222222222222:role/R",
        )
    )
    with pytest.raises(AssumeRoleDeniedError) as caught:
        creds.get_frozen_credentials()
    assert "account-B role's own credentials" in str(caught.value.diagnosis)


def test_role_chaining_limit_is_explained() -> None:
    creds, sts, _ = make()
    sts.errors.append(
        error(
            "ValidationError",
            "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.",
        )
    )
    with pytest.raises(AssumeRoleDeniedError) as caught:
        creds.get_frozen_credentials()
    assert "MUTATOR_SESSION_SECONDS to 3600 or less" in str(caught.value.diagnosis)


def test_a_set_rejected_as_expired_is_not_handed_out_again_when_the_refresh_fails() -> None:
    creds, sts, clock = make()
    first = creds.get_frozen_credentials()
    rejected = creds.generation
    sts.errors.append(error("Throttling", "Rate exceeded"))
    with pytest.raises(CredentialsUnavailableError):
        creds.force_refresh(rejected)
    with pytest.raises(CredentialsUnavailableError):
        creds.get_frozen_credentials()  # backing off, and the rejected set is not handed out meanwhile
    clock.now += 1
    second = creds.get_frozen_credentials()  # no valid set: assumes again instead of returning the dead one
    assert second.access_key != first.access_key
    assert creds.generation == rejected + 1
    assert creds.force_refresh(rejected) is second  # another task already replaced it: no extra call
    assert len(sts.calls) == 3


class SlowSTS(ScriptedSTS):
    """Takes ``delay`` seconds (in the worker thread the call runs in) before answering."""

    def __init__(self, clock: Clock, delay: float) -> None:
        super().__init__(clock)
        self.delay = delay

    def assume_role(self, **kwargs: Any) -> dict[str, Any]:
        import time

        time.sleep(self.delay)
        return super().assume_role(**kwargs)


def make_slow(delay: float) -> tuple[AssumedRoleCredentials, ScriptedSTS, Clock]:
    return make(sts=SlowSTS(Clock(), delay))


async def test_one_assume_role_in_flight_for_concurrent_senders() -> None:
    creds, sts, _ = make_slow(0.2)
    sets = await asyncio.gather(*(creds.get() for _ in range(20)))
    assert len(sts.calls) == 1 and len({s.frozen.access_key for s in sets}) == 1


async def test_a_due_refresh_runs_in_the_background_while_the_set_is_still_good() -> None:
    creds, sts, clock = make_slow(0.2)
    first = await creds.get()
    clock.now += 3000  # inside the refresh window, still usable
    started = asyncio.get_running_loop().time()
    assert (await creds.get()).frozen is first.frozen  # at once, not after the 0.2 s call
    assert asyncio.get_running_loop().time() - started < 0.1
    await asyncio.sleep(0.4)
    assert (await creds.get()).frozen is not first.frozen and len(sts.calls) == 2


async def test_replacing_a_rejected_set_never_blocks_the_loop_on_a_refresh_in_flight() -> None:
    """Replace_rejected awaited the lock a background refresh holds for a whole STS call."""
    import itertools

    creds, sts, clock = make_slow(1.0)
    sts.delay = 0.0
    first = await creds.get()
    sts.delay = 1.0
    clock.now += 3000  # inside the refresh window: get() starts a background refresh holding the lock
    assert (await creds.get()).frozen is first.frozen
    await asyncio.sleep(0.05)  # the executor thread is inside the slow STS call, under the lock
    loop = asyncio.get_running_loop()
    ticks: list[float] = []

    async def ticker() -> None:
        for _ in range(10):
            ticks.append(loop.time())
            await asyncio.sleep(0.02)

    ticking = asyncio.create_task(ticker())
    await asyncio.sleep(0.03)  # the ticker is running: a blocked loop shows as a gap between its ticks
    replaced = await creds.replace_rejected(first.generation)
    await ticking
    gaps = [b - a for a, b in itertools.pairwise(ticks)]
    assert max(gaps) < 0.5, f"the loop stalled {max(gaps):.2f} s"  # before: ~1 s, the whole STS call
    assert replaced.frozen is not first.frozen and replaced.generation == first.generation + 1


async def test_waiting_for_sts_stops_at_the_deadline() -> None:
    import time

    creds, _, _ = make_slow(1.0)
    started = time.monotonic()
    with pytest.raises(CredentialsUnavailableError) as caught:
        await creds.get(deadline=time.monotonic() + 0.2)
    assert caught.value.error_type == "AssumeRoleTimeout"
    assert time.monotonic() - started < 0.8


async def test_a_failed_call_is_shared_by_every_caller_during_its_backoff() -> None:
    creds, sts, clock = make()
    sts.errors.append(error("Throttling", "Rate exceeded"))
    results = await asyncio.gather(*(creds.get() for _ in range(10)), return_exceptions=True)
    assert all(isinstance(r, CredentialsUnavailableError) for r in results)
    assert len(sts.calls) == 1
    with pytest.raises(CredentialsUnavailableError, match="tried again in"):
        await creds.get()
    assert len(sts.calls) == 1
    clock.now += 1
    await creds.get()
    assert len(sts.calls) == 2
