"""What a JSON value is, asked cheaply: the worker asks it of every record, several times over."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeGuard


def is_object(value: Any) -> TypeGuard[Mapping[str, Any]]:
    """A JSON object: a ``dict`` (what ``json.loads``, orjson and Lambda's event give) known by its type at once,
    any other ``Mapping`` through the ABC. ``isinstance(value, Mapping)`` alone runs ``ABCMeta.__instancecheck__``
    in Python for every value, a dict included."""
    return type(value) is dict or isinstance(value, Mapping)
