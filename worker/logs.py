"""Structured JSON logs, one object per line, with secrets kept out by construction and by a last filter.

The worker never passes credentials to a logger; ``redact`` is the belt to those braces: it drops values of
keys that name secrets and masks signatures, session tokens and secret-looking substrings in any string.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any, TextIO

import structlog

_SECRET_KEYS = re.compile(r"(authorization|secret|token|signature|password|credential|x-amz-security)", re.I)
_SCRUB = [
    (re.compile(r"(Signature=)[0-9a-f]{16,}"), r"\1[redacted]"),
    (re.compile(r"(X-Amz-Security-Token[\"']?\s*[:=]\s*[\"']?)[^\s\"',;]+", re.I), r"\1[redacted]"),
    (re.compile(r"(Credential=)(AKIA|ASIA)[A-Z0-9]{12,}"), r"\1\2[redacted]"),
    (re.compile(r"\b(AKIA|ASIA)[A-Z0-9]{16}\b"), r"\1[redacted]"),
]
_ALLOWED_KEYS = frozenset({"access_key_kind", "error_type", "idempotency_key"})


def redact(_logger: Any, _method: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key in list(event_dict):
        value = event_dict[key]
        if key not in _ALLOWED_KEYS and _SECRET_KEYS.search(key):
            event_dict[key] = "[redacted]"
        elif isinstance(value, str):
            event_dict[key] = scrub(value)
    return event_dict


def drop_none(_logger: Any, _method: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """``"diagnosis": null`` on every line is noise; absent means none."""
    for key in [k for k, v in event_dict.items() if v is None]:
        del event_dict[key]
    return event_dict


_MARKERS = ("Signature=", "ecurity-Token", "ECURITY-TOKEN", "ecurity-token", "AKIA", "ASIA")


def scrub(text: str) -> str:
    if not any(marker in text for marker in _MARKERS):  # the common case: nothing to mask, no regex run
        return text
    for pattern, replacement in _SCRUB:
        text = pattern.sub(replacement, text)
    return text


class _CurrentStdout:
    """Writes to whatever ``sys.stdout`` is at the time (test harnesses swap it); Lambda: CloudWatch."""

    def write(self, text: str) -> int:
        return sys.stdout.write(text)

    def flush(self) -> None:
        sys.stdout.flush()


def configure_logging(level: str = "INFO", stream: TextIO | None = None) -> None:
    """Configure structlog for the container; ``stream`` defaults to stdout (CloudWatch on Lambda)."""
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            drop_none,
            redact,
            structlog.processors.JSONRenderer(sort_keys=False),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(getattr(logging, level.upper(), logging.INFO)),
        logger_factory=structlog.PrintLoggerFactory(file=stream or _CurrentStdout()),  # type: ignore[arg-type]
        cache_logger_on_first_use=False,
    )
