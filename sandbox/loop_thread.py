"""A server's event loop on a thread of its own: started, serving, and failures reported to the caller."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from typing import Any


def serve_in_thread(
    start: Callable[[], Coroutine[Any, Any, int]], name: str
) -> tuple[asyncio.AbstractEventLoop, threading.Thread, int]:
    """Run ``start()`` (it binds a listener and returns its port) on a new loop in a daemon thread, then keep
    the loop running. Returns (loop, thread, port) once listening; a failure to start is raised here, with the
    thread ended and the loop closed."""
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    outcome: list[Any] = []

    def serve() -> None:
        asyncio.set_event_loop(loop)
        try:
            outcome.append(loop.run_until_complete(start()))
        except BaseException as exc:  # reported to the starting thread
            outcome.append(exc)
            ready.set()
            return
        ready.set()
        loop.run_forever()

    thread = threading.Thread(target=serve, name=name, daemon=True)
    thread.start()
    ready.wait()
    if isinstance(outcome[0], BaseException):
        thread.join()
        loop.close()
        raise outcome[0]
    return loop, thread, int(outcome[0])
