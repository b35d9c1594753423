"""Within one standard-queue batch, a record's versioned events run one after another, oldest first.

Every other record runs concurrently, as before. The version condition alone already keeps a stale event from
overwriting a newer one whatever the order (the older is reported ``superseded``); running one record's events
oldest first makes each of them apply in turn instead of racing, and costs no refused write and no read-back.
Only bodies that mention ``"version"`` are parsed here (once more: parsing a named-form envelope is cheap).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol, TypeVar

from worker.envelope import MutationRequest
from worker.errors import MutationError
from worker.shapes import is_object


class _Item(Protocol):
    @property
    def body(self) -> str | Mapping[str, Any]: ...


ItemT = TypeVar("ItemT", bound=_Item)


def version_chains(items: Sequence[ItemT], parse: Callable[[ItemT], MutationRequest]) -> list[list[int]]:
    """Indexes of ``items`` in chains: one chain per record named by versioned writes (oldest version first,
    arrival order between equal versions), every other item a chain of its own; chains in order of first item."""
    chains: dict[object, list[tuple[tuple[int, Any], int]]] = {}
    for index, item in enumerate(items):
        found = _versioned(item, parse)
        if found is None:
            chains[object()] = [((0, 0), index)]
            continue
        record, order = found
        chains.setdefault(record, []).append((order, index))
    result = []
    for members in chains.values():
        kinds = {order[0] for order, _ in members}
        if (
            len(kinds) > 1
        ):  # numbers and times mixed for one record: no order between them, keep arrival order
            result.append([index for _, index in members])
        else:
            result.append([index for _, index in sorted(members, key=lambda m: (m[0][1], m[1]))])
    return result


def _versioned(
    item: ItemT, parse: Callable[[ItemT], MutationRequest]
) -> tuple[object, tuple[int, Any]] | None:
    body = item.body
    if isinstance(body, str) and '"version"' not in body:
        return None
    if not isinstance(body, str) and not is_object(body.get("version")):
        return None
    try:
        request = parse(item)
    except MutationError:
        return None  # refused again, with its reason, when it is processed
    key, version = request.record_key, request.version
    if version is None or key is None or request.model is None:
        return None
    value = version.value
    order = (1, value) if isinstance(value, str) else (0, value)
    return (request.model, tuple(sorted((k, repr(v)) for k, v in key.items()))), order
