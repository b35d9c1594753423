"""Versioned writes: a stale event never overwrites a newer one.

An envelope may carry ``"version": {"field": "<F>", "value": <V>}``. An update, an upsert or a delete then applies
only when the stored ``F`` is absent or older than ``V``, with a condition Amplify's resolvers already accept::

    {"or": [{F: {"attributeExists": false}}, {F: {"lt": V}}]}

merged with the envelope's own ``condition`` as ``{"and": [<own>, <version>]}`` (both must hold). Updates and
upserts write ``V`` into ``F``.

Values: a number (compared as a number), or an ISO-8601 time with an offset, rewritten to the one canonical form
``YYYY-MM-DDTHH:MM:SS.sssZ`` (UTC, milliseconds: JavaScript's ``toISOString`` and Amplify's own timestamps).
DynamoDB compares strings character by character, and only one fixed form makes that the order of time; a time
with digits below the millisecond is refused rather than rounded (rounding could make two versions equal).

This module is pure (no I/O): parsing, the condition, the get query that reads the stored version back, and the
comparison that decides whether a refused write was superseded. ``worker.synced`` does the sending.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from typing import Any

from worker.errors import EnvelopeError, PermanentError, TransientError

__all__ = [
    "RecordNotFoundError",
    "Stored",
    "Version",
    "VersionRaceError",
    "VersionUnprovenError",
    "compare_stored",
    "get_query",
    "merge_condition",
    "parse_version",
]


class VersionUnprovenError(PermanentError):
    """A versioned write was refused and the worker could not prove why (the stored version could not be read,
    or cannot be compared): never reported superseded on a guess."""

    error_type = "VersionUnproven"


class RecordNotFoundError(PermanentError):
    """A versioned update was refused and the read-back shows there is no such record."""

    error_type = "RecordNotFound"


class VersionRaceError(TransientError):
    """A versioned write was refused, yet the read-back shows a record its version would not refuse: the record
    appeared (or was deleted) between the write and the read. Nothing was written: safe to send again."""

    error_type = "VersionRace"
    maybe_applied = False


@dataclass(frozen=True)
class Version:
    """``version`` of an envelope: the field that holds a record's version, and this event's version."""

    field: str
    #: A number, or a time in the canonical form (``YYYY-MM-DDTHH:MM:SS.sssZ``).
    value: int | float | str

    def condition(self) -> dict[str, Any]:
        """Applies only when the stored field is absent or older than this event's version."""
        return {"or": [{self.field: {"attributeExists": False}}, {self.field: {"lt": self.value}}]}


def parse_version(raw: Any, name_ok: Any) -> Version:
    """``{"field": F, "value": V}`` checked; ``name_ok(F)`` says whether F is a GraphQL name."""
    if not isinstance(raw, dict) or set(raw) != {"field", "value"}:
        raise EnvelopeError(
            'version: expected {"field": "<field holding the record\'s version>", "value": <number or ISO-8601 '
            "time>} (or 1, the envelope format)"
        )
    field, value = raw["field"], raw["value"]
    if not isinstance(field, str) or not name_ok(field):
        raise EnvelopeError("version.field: expected the name of a field of the model, e.g. 'version'")
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise EnvelopeError("version.value: expected a number or an ISO-8601 time string")
    if isinstance(value, float) and not math.isfinite(value):
        raise EnvelopeError("version.value: expected a finite number")
    if isinstance(value, str):
        value = canonical_time(value)
    return Version(field, value)


def canonical_time(text: str) -> str:
    """An ISO-8601 time with an offset as ``YYYY-MM-DDTHH:MM:SS.sssZ`` (UTC), or ``EnvelopeError``."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        moment = None
    if moment is None or len(text) < 16 or "T" not in text.upper():
        raise EnvelopeError(
            "version.value: a string must be an ISO-8601 date and time with an offset, e.g. "
            "'2026-12-03T10:00:00.000Z'"
        )
    if moment.tzinfo is None:
        raise EnvelopeError(
            "version.value: the time has no offset (add 'Z' or '+hh:mm'): a time without one names no instant"
        )
    if moment.microsecond % 1000:
        raise EnvelopeError(
            "version.value: the time has digits below the millisecond; versions are compared in milliseconds "
            "(the canonical form YYYY-MM-DDTHH:MM:SS.sssZ), and rounding could make two versions equal"
        )
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def merge_condition(own: Mapping[str, Any] | None, version: Version) -> dict[str, Any]:
    """The envelope's own condition AND the version's: both must hold for the write to apply."""
    if not own:
        return version.condition()
    return {"and": [dict(own), version.condition()]}


def get_query(model: str, key: Mapping[str, Any], field: str) -> str:
    """``query WorkerVersionRead { get<M>(<key as literals>) { <field> } }``.

    Literals, not variables: the key fields' GraphQL types (ID, String, Int, AWSDateTime ...) need not be known.
    Every name was checked as a GraphQL name; strings are JSON-quoted, which is a valid GraphQL string literal.
    """
    args = ", ".join(f"{name}: {json.dumps(value)}" for name, value in key.items())
    return f"query WorkerVersionRead {{ get{model}({args}) {{ {field} }} }}"


class Stored(Enum):
    """What the read-back says about a refused versioned write."""

    #: The stored version is this event's or newer: the event is superseded.
    NOT_OLDER = "not_older"
    #: The stored version is older than this event's, or absent: the version did not refuse the write.
    OLDER = "older"
    #: There is no such record.
    NO_RECORD = "no_record"


def compare_stored(record: Any, version: Version) -> Stored:
    """Judge the get query's answer (``data.get<M>``); ``VersionUnprovenError`` when it cannot be judged.

    A string is compared both as DynamoDB does (character by character) and as a time; they must agree, or the
    refusal cannot be said to mean "newer" (a stored time in another form, written by someone else).
    """
    if record is None:
        return Stored.NO_RECORD
    if not isinstance(record, Mapping):
        raise VersionUnprovenError(f"the get query answered {type(record).__name__}, not the record")
    stored = record.get(version.field)
    if stored is None:
        return Stored.OLDER
    wanted = version.value
    if isinstance(wanted, str):
        if not isinstance(stored, str):
            raise _incomparable(version, stored)
        try:
            stored_time = datetime.fromisoformat(stored)
        except ValueError:
            raise _incomparable(version, stored) from None
        if stored_time.tzinfo is None:
            raise _incomparable(version, stored)
        by_time = stored_time >= datetime.fromisoformat(wanted)
        by_text = stored >= wanted
        if by_time != by_text:
            raise VersionUnprovenError(
                f"the stored {version.field} is a time not written in the canonical form "
                "(YYYY-MM-DDTHH:MM:SS.sssZ): DynamoDB compares it character by character, which is not the order of "
                "time here, so the refusal does not prove the stored version newer; write the field only through "
                "versioned envelopes (or in that form)"
            )
        return Stored.NOT_OLDER if by_time else Stored.OLDER
    if isinstance(stored, bool) or not isinstance(stored, int | float):
        raise _incomparable(version, stored)
    return Stored.NOT_OLDER if stored >= wanted else Stored.OLDER


def _incomparable(version: Version, stored: Any) -> VersionUnprovenError:
    kind = "a time" if isinstance(version.value, str) else "a number"
    return VersionUnprovenError(
        f"the stored {version.field} is {_kind(stored)} and this event's version {kind}: DynamoDB does not order "
        "them, so the refusal does not say which is newer"
    )


def _kind(value: Any) -> str:
    if isinstance(value, str):
        return "a string that is not a time with an offset"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    return f"a {type(value).__name__}"
