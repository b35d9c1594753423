"""What a JSON value is, asked cheaply: the worker asks it of every record, several times over."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeGuard


def is_object(value: Any) -> TypeGuard[Mapping[str, Any]]:
    """A JSON object: a ``dict`` (what ``json.loads``, orjson and Lambda's event give) or another JSON value known
    by its type at once, anything else through the ``Mapping`` ABC. ``isinstance(value, Mapping)`` alone runs
    ``ABCMeta.__instancecheck__`` in Python for every value, a dict and None included."""
    kind = type(value)
    if kind is dict:
        return True
    if kind in _NOT_OBJECTS:  # the other JSON values (an absent attribute is None): no ABC check either
        return False
    return isinstance(value, Mapping)


_NOT_OBJECTS = frozenset({str, int, float, bool, list, type(None)})
