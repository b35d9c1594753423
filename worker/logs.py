"""Structured JSON logs, one object per line, with secrets kept out by construction and by a last filter.

The worker never passes credentials to a logger; ``json_line`` is the belt to those braces: it drops values of
keys that name secrets and, on a line whose text holds a marker, masks signatures, session tokens and
secret-looking substrings in every string of it.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, MutableMapping
from contextlib import contextmanager
from contextvars import ContextVar, Token
from types import MappingProxyType
from typing import Any, TextIO

import orjson
import structlog
from structlog.processors import format_exc_info as _format_exc_info

_SECRET_KEYS = re.compile(r"(authorization|secret|token|signature|password|credential|x-amz-security)", re.I)
# Case handling, pattern by pattern. Names (``Signature``, ``X-Amz-Security-Token``, ``Credential``) match in any
# case: HTTP header names are case-insensitive and every library spells them its own way. Access key ids
# (``AKIA``/``ASIA`` + 16) only in upper case, which is how AWS issues them: a lower-case "asia..." is a word.
# Each form of a name: ``name=v`` (query, Authorization header), ``name: v`` (header), ``"name": "v"`` (JSON,
# also escaped inside a JSON string, ``\"name\": \"v\"``), ``'name': 'v'`` (a Python repr).
_SEPARATOR = r"""\\?["']?\s*[:=]\s*\\?["']?"""
_SCRUB = [
    (re.compile(rf"((?i:signature){_SEPARATOR})[0-9a-fA-F]{{16,}}"), r"\1[redacted]"),
    (re.compile(rf"((?i:x-amz-security-token){_SEPARATOR})[^\s\"'\\,;&]+"), r"\1[redacted]"),
    (re.compile(rf"((?i:credential){_SEPARATOR})(AKIA|ASIA)[A-Z0-9]{{12,}}"), r"\1\2[redacted]"),
    (re.compile(r"\b(AKIA|ASIA)[A-Z0-9]{16}\b"), r"\1[redacted]"),
    # a credentials object written through its repr (botocore's ``ReadOnlyCredentials(access_key='ASIA...',
    # secret_key='...', token='...')``, a dataclass holding one): the secret and the token by their field names
    (re.compile(r"((?i:secret_key|secret_access_key|token)=')[^']*'"), r"\1[redacted]'"),
]


#: Keys seen on a line that name no secret. Keys repeat on every line (event, level, operation ...): decided once
#: each, and a line whose keys are all here (nearly every line) needs no per-key check: one set comparison in C
#: decides. Keys are names in the code, not data: bounded anyway.
_PLAIN_KEYS: set[str] = set()


def _is_secret_key(key: str) -> bool:
    if key in _PLAIN_KEYS:
        return False
    secret = _SECRET_KEYS.search(key) is not None
    if not secret and len(_PLAIN_KEYS) < 4096:
        _PLAIN_KEYS.add(key)
    return secret


def redact_keys(event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """The value of every key that names a secret replaced, every ``None`` value dropped (``"diagnosis": null``
    on every line is noise; absent means none). Secrets inside values are ``json_line``'s, on the rendered line."""
    # by identity: ``None in event_dict.values()`` would call every other value's __eq__, which may raise
    for key in [k for k, v in event_dict.items() if v is None]:
        del event_dict[key]
    if not event_dict.keys() <= _PLAIN_KEYS:  # after the drop: an absent secret is left out, not "[redacted]"
        for key in [k for k in event_dict if _is_secret_key(k)]:
            event_dict[key] = "[redacted]"
    return event_dict


def needs_scrubbing(text: str) -> bool:
    """Whether ``text`` holds a marker that every ``_SCRUB`` match contains, in any letter case: "signature",
    "security-token", "akia", "asia", or a credential field's repr ("secret_key='", "secret_access_key='",
    "token='") (the patterns need to run). Substring searches of the case-folded text (folded as the patterns'
    ``(?i:...)`` match: the long s is "s"): a fraction of a case-insensitive regex alternation's cost."""
    # ASCII folds by lower() at a fraction of casefold()'s cost; the searches spelled out, not any() over
    # a generator (which costs as much again). The patterns also match the dotless i and the dotted capital I as
    # "i": casefold() keeps the one and folds the other to "i" and a combining dot above.
    lowered = (
        text.lower() if text.isascii() else text.casefold().replace("\u0131", "i").replace("i\u0307", "i")
    )
    return (
        "signature" in lowered
        or "security-token" in lowered
        or "akia" in lowered
        or "asia" in lowered
        or "secret_key='" in lowered
        or "secret_access_key='" in lowered
        or "token='" in lowered
    )


def scrub(text: str) -> str:
    """``text`` with signatures, session tokens and access key ids masked."""
    if not needs_scrubbing(text):  # the common case: nothing to mask, no pattern run
        return text
    for pattern, replacement in _SCRUB:
        text = pattern.sub(replacement, text)
    return text


class _Current:
    """Writes to whatever ``sys.stdout`` (or ``sys.stderr``) is at the time, not the object it was when logging
    was configured: test harnesses and tools swap them (a stream kept from then may be closed by now)."""

    def __init__(self, name: str) -> None:
        self.name = name

    def write(self, text: str) -> int:
        return int(getattr(sys, self.name).write(text))

    def flush(self) -> None:
        getattr(sys, self.name).flush()


#: The process's standard error as it is when each line is written (the operator's CLI logs there).
CURRENT_STDERR: TextIO = _Current("stderr")  # type: ignore[assignment]

#: One lock for every line, whatever the stream: executor threads (an AssumeRole refresh, a DLQ send) log too,
#: and two lines must not interleave.
_WRITE_LOCK = threading.Lock()


class LineWriter:
    """structlog's logger: each rendered line written whole (line and newline in one ``write``) and flushed, to
    ``stream`` or, when none is given, to whatever ``sys.stdout`` is at the time. structlog's ``PrintLogger``
    prints the newline as a second write through the same indirections; a record's audit line is written on
    every mutation, so it takes the short way."""

    __slots__ = ("_stream",)

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream

    def msg(self, message: str) -> None:
        out = sys.stdout if self._stream is None else self._stream
        with _WRITE_LOCK:
            out.write(message + "\n")
            out.flush()

    log = debug = info = warn = warning = msg
    fatal = failure = err = error = critical = exception = msg


#: What every line logged in this context carries (the invocation's request id, a record's message id ...): one
#: mapping in one context variable, so a line reads it with one lookup (structlog's contextvars keep a variable
#: per key and copy the whole context on every line to find them). asyncio gives each task a copy of the
#: context it was created in: a record's task binds its own keys without touching its neighbours'.
_BOUND: ContextVar[Mapping[str, Any]] = ContextVar("worker_log_context", default=MappingProxyType({}))


def bind(**values: Any) -> Token[Mapping[str, Any]]:
    """Add ``values`` to every line logged in this context until ``unbind`` of the returned token."""
    return _BOUND.set({**_BOUND.get(), **values})


def unbind(token: Token[Mapping[str, Any]]) -> None:
    """Back to the context as it was before the ``bind`` that returned ``token``: unbind in the reverse order of
    binding (the whole mapping is restored, so unbinding an outer token first brings back what it replaced)."""
    _BOUND.reset(token)


@contextmanager
def bound(**values: Any) -> Iterator[None]:
    """``bind`` for the length of a ``with`` block."""
    token = bind(**values)
    try:
        yield
    finally:
        unbind(token)


def bound_values() -> dict[str, Any]:
    """What lines logged here carry now (a copy)."""
    return dict(_BOUND.get())


def configure_logging(level: str = "INFO", stream: TextIO | None = None) -> None:
    """Configure structlog for the container; ``stream`` defaults to stdout (CloudWatch on Lambda)."""
    structlog.configure(
        processors=[json_line],
        wrapper_class=structlog.make_filtering_bound_logger(getattr(logging, level.upper(), logging.INFO)),
        logger_factory=lambda *_: LineWriter(stream),
        cache_logger_on_first_use=False,
    )


def json_line(logger: Any, method: str, event_dict: MutableMapping[str, Any]) -> str:
    """The whole processor chain in one call, every record's audit line goes through it: the bound context
    (``bind``; the line's own values win), the level, an ISO-8601 UTC timestamp, a formatted exception, then
    ``redact_keys`` and one JSON object: one marker search over the text that is written (values rendered by
    ``str`` included). Only a line with a marker is scrubbed (``_scrubbed_line``)."""
    event_dict = {**_BOUND.get(), **event_dict}
    event_dict["level"] = "warning" if method == "warn" else method
    event_dict["timestamp"] = _timestamp()
    if "exc_info" in event_dict or "exception" in event_dict:
        event_dict = _format_exc_info(logger, method, event_dict)
    return _json_line(redact_keys(event_dict))


#: The last whole second ``_timestamp`` formatted, and its text: one tuple, read and replaced whole (threads log
#: too, and a second read apart from its text could be a second off).
_SECOND: tuple[int, str] = (-1, "")


def _timestamp() -> str:
    """``2026-12-03T12:31:39.573850Z`` (what structlog's ``TimeStamper(fmt="iso", utc=True)`` writes), with
    the seconds formatted once per second."""
    global _SECOND
    now = time.time()
    second = int(now)
    cached = _SECOND
    if cached[0] != second:
        cached = _SECOND = (second, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second)))
    return f"{cached[1]}.{int((now - second) * 1_000_000):06d}Z"


def _json_line(event_dict: Any) -> str:
    """One JSON line: orjson (a twentieth of ``json.dumps``'s CPU on a record's line), and the standard library
    for what orjson refuses (a lone surrogate, an integer beyond 64 bits, a key that is not a string). orjson
    escapes no character of a marker, so the marker search on its line finds every one there is; the standard
    library escapes every non-ASCII character (``\\u017f`` for the long s that the patterns match as "s"), which
    hides markers: its (rare) lines are always scrubbed."""
    try:
        line = orjson.dumps(event_dict, default=str).decode()
    except TypeError:  # orjson.JSONEncodeError is a TypeError
        return _scrubbed_line(json.loads(json.dumps(event_dict, default=str)))
    return _scrubbed_line(orjson.loads(line)) if needs_scrubbing(line) else line


def _scrubbed_line(line: Any) -> str:
    """A parsed line written again with every string in it (keys too, at any depth) scrubbed as the text it is,
    and the value of every key that names a secret replaced at any depth, as ``redact_keys`` does at the top.
    Not the patterns over the JSON text: there a newline is ``\\n`` (a key id after it follows a word character,
    a name and its value are not separated by ``\\s``) and what the patterns put in could land after an escape's
    backslash or take the line's own quotes and brackets."""
    line = _scrubbed(line)
    try:
        return orjson.dumps(line).decode()
    except TypeError:
        return json.dumps(line)


def _scrubbed(value: Any) -> Any:
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, list):
        return [_scrubbed(item) for item in value]
    if isinstance(value, dict):
        return {
            scrub(key): "[redacted]" if _is_secret_key(key) else _scrubbed(item)
            for key, item in value.items()
        }
    return value


def bound_logger(name: str) -> Any:
    """A logger assembled from the configuration as it is now. ``structlog.get_logger`` returns a lazy proxy
    that assembles a new logger (and a new PrintLogger) on every call unless loggers are cached, and caching
    would pin every module-level logger to the first configuration (a CLI's ERROR level, say); objects built at
    cold start, after ``configure_logging``, take one of these instead."""
    return structlog.get_logger(name).bind()


#: Values shorter than this are left alone: masking "1" or "ok" would garble every message they appear in.
_MIN_MASKED = 3


def masked(text: str, values: Iterable[str]) -> str:
    """``text`` with every occurrence of the given input values replaced: AppSync's messages echo inputs
    ("Variable 'input' has an invalid value ..."), and logs at INFO carry none."""
    forms: set[str] = set()
    for value in values:
        if len(value) >= _MIN_MASKED:
            # as written, and as messages quote it: JSON-escaped ("C:\\x", "a\\nb") and Python-repr-escaped
            forms.update((value, json.dumps(value)[1:-1], repr(value)[1:-1]))
    for form in sorted(forms, key=len, reverse=True):
        if form in text:
            text = text.replace(form, "[input]")
    return text
