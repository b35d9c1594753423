"""What the sandbox's WSGI gates in front of moto share: calling the app they wrap and keeping its whole answer."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

StartResponse = Callable[..., Any]


def captured_call(
    app: Callable[..., Iterable[bytes]], environ: dict[str, Any]
) -> tuple[str, list[Any], bytes]:
    """``app``'s status, headers and body for ``environ`` (nothing sent yet: the gate decides what to answer)."""
    captured: dict[str, Any] = {}

    def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[[bytes], Any]:
        captured["status"], captured["headers"] = status, headers
        return lambda _data: None

    chunks = app(environ, capture)
    try:
        body = b"".join(chunks)
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()
    return str(captured.get("status", "500 Internal Server Error")), list(captured.get("headers", [])), body
