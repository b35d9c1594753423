"""``worker.shapes.is_object`` answers as ``isinstance(value, Mapping)`` does, for every kind of value."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator, Mapping
from types import MappingProxyType
from typing import Any

import pytest

from worker.shapes import is_object


class Custom(Mapping[str, Any]):
    def __getitem__(self, key: str) -> Any:
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0


class Text(str):
    pass


@pytest.mark.parametrize(
    "value",
    [
        {},
        {"a": 1},
        OrderedDict(a=1),
        MappingProxyType({"a": 1}),
        Custom(),
        None,
        "",
        "x",
        Text("x"),
        0,
        1.5,
        True,
        [],
        [{}],
        (),
        b"{}",
        object(),
    ],
)
def test_is_object_agrees_with_the_mapping_abc(value: Any) -> None:
    assert is_object(value) is isinstance(value, Mapping)
