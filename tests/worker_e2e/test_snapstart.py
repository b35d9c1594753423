"""SnapStart hooks: nothing network-bound is built at init, and after a restore the next
invocation assumes the role afresh and opens new connections (hooks called in a warm container)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from sandbox.fixture import Sandbox
from worker import handler, snapstart


class FakeSnapshotRestore:
    """The runtime's ``snapshot_restore_py``: keeps what is registered, runs it as the runtime does."""

    def __init__(self) -> None:
        self.before: list[tuple[Callable[..., None], tuple[Any, ...]]] = []
        self.after: list[tuple[Callable[..., None], tuple[Any, ...]]] = []

    def register_before_snapshot(self, func: Callable[..., None], *args: Any) -> None:
        self.before.append((func, args))

    def register_after_restore(self, func: Callable[..., None], *args: Any) -> None:
        self.after.append((func, args))

    def snapshot(self) -> None:
        for func, args in reversed(self.before):
            func(*args)

    def restore(self) -> None:
        for func, args in self.after:
            func(*args)


@pytest.fixture
def runtime_module() -> Iterator[FakeSnapshotRestore]:
    saved = dict(snapstart.registered)
    snapstart.registered.clear()
    fake = FakeSnapshotRestore()
    assert snapstart.register(handler.reset_runtime, module=fake)
    yield fake
    snapstart.registered.clear()
    snapstart.registered.update(saved)


@pytest.fixture
def sessions(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every connection pool the worker sends through, whichever layer made it."""
    from worker.http11 import OriginPool

    opened: list[Any] = []
    real_post = OriginPool.post

    async def post(self: Any, *args: Any, **kwargs: Any) -> Any:
        if self not in opened:
            opened.append(self)
        return await real_post(self, *args, **kwargs)

    monkeypatch.setattr(OriginPool, "post", post)
    return opened


def test_after_restore_the_next_invocation_assumes_afresh_and_reconnects(
    sb: Sandbox,
    container: Callable[..., None],
    kit: Any,
    runtime_module: FakeSnapshotRestore,
    sessions: list[Any],
) -> None:
    create, invoke, table_ids = kit.create, kit.invoke, kit.table_ids
    sb.sts.reset()
    sb.send_messages([create(key="snap-before")])
    assert invoke(sb)[1] == {"batchItemFailures": []}
    warm = handler.get_runtime()
    [old_session] = sessions
    old_loop, old_credentials = warm.loop, warm.credentials
    assert len(sb.sts.assume_role_calls) == 1

    runtime_module.restore()  # what Lambda runs when it restores this container from a snapshot

    assert handler.current_runtime() is None
    assert old_loop.is_closed() and old_session.closed  # the loop and the pooled connections are gone
    sb.send_messages([create(key="snap-after")])
    assert invoke(sb)[1] == {"batchItemFailures": []}
    restored = handler.get_runtime()
    assert len(sb.sts.assume_role_calls) == 2  # assumed afresh, from the execution role
    assert sb.sts.assume_role_calls[1].caller_arn == sb.sts.assume_role_calls[0].caller_arn
    assert restored.credentials is not old_credentials and restored.credentials.assume_role_calls == 1
    assert restored.loop is not old_loop
    [_, new_session] = sessions  # one new connection pool, opened after the restore
    assert new_session is not old_session and not new_session.closed
    assert {"snap-before", "snap-after"} <= table_ids(sb)


def test_before_snapshot_drops_whatever_init_built(
    sb: Sandbox, container: Callable[..., None], runtime_module: FakeSnapshotRestore
) -> None:
    built = handler.get_runtime()
    runtime_module.snapshot()
    assert handler.current_runtime() is None and built.loop.is_closed()
    runtime_module.snapshot()  # nothing to drop: still fine


def test_register_is_a_no_op_outside_lambda() -> None:
    saved = dict(snapstart.registered)
    snapstart.registered.clear()
    try:
        assert snapstart.register(handler.reset_runtime) is False  # no snapshot_restore_py here
        assert snapstart.registered == {}
    finally:
        snapstart.registered.update(saved)


def test_importing_the_handler_builds_nothing_and_registers_both_hooks(tmp_path: Path) -> None:
    """In the runtime (a snapshot_restore_py on the path), init registers the hooks and opens nothing."""
    (tmp_path / "snapshot_restore_py.py").write_text(
        textwrap.dedent(
            """
            before, after = [], []
            def register_before_snapshot(func, *args):
                before.append((func, args))
            def register_after_restore(func, *args):
                after.append((func, args))
            """
        )
    )
    script = textwrap.dedent(
        """
        import socket, sys
        opened = []
        real = socket.socket.connect
        socket.socket.connect = lambda self, *a: opened.append(a) or real(self, *a)
        import worker.handler as handler
        import snapshot_restore_py as hooks
        assert handler.current_runtime() is None, "init built the runtime"
        assert [f.__name__ for f, _ in hooks.before] == ["before_snapshot"]
        assert [f.__name__ for f, _ in hooks.after] == ["after_restore"]
        for func, args in hooks.after:
            func(*args)
        assert opened == [], opened
        print("ok")
        """
    )
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("ok")
