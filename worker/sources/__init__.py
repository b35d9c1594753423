"""Event sources as adapters: one module per kind of event Lambda hands the worker (as Powertools maps event
types to record classes). Each module says whether an event is its kind (``matches``) and turns it into work
items, admits or refuses them by the named producers, and returns what Lambda expects back (``handle``).

A new source (Kinesis, DynamoDB Streams) is one module here and its tests; the handler only asks which one
matches. Order matters only in that the first that matches wins: the shapes do not overlap.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import ModuleType
from typing import Any

from worker.sources import direct, eventbridge, sqs

SOURCES: tuple[ModuleType, ...] = (sqs, eventbridge, direct)


def source_for(event: Mapping[str, Any]) -> ModuleType | None:
    """The adapter whose shape this event has (None: no source knows it)."""
    return next((source for source in SOURCES if source.matches(event)), None)


__all__ = ["SOURCES", "source_for"]
