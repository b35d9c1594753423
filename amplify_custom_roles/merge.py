"""Merging the worker's entry into existing entries: never clobber, idempotent.

Every existing entry keeps its place, except the IAM role ARN of the worker's own role (which never matches):
that one is replaced by the worker's entry in the same place. The worker's entry appears exactly once.
"""

from __future__ import annotations

from collections.abc import Collection

from amplify_custom_roles.document import RolesDocument


def merge(document: RolesDocument, ours: str, replace: Collection[str] = ()) -> RolesDocument:
    """The document with ``ours`` present once; entries in ``replace`` give their place to it."""
    merged: list[str] = []
    placed = False
    for entry in document.entries:
        if entry == ours or entry in replace:
            if not placed:
                merged.append(ours)
                placed = True
            continue
        merged.append(entry)
    if not placed:
        merged.append(ours)
    single = document.single_string and merged == list(document.entries)
    return RolesDocument(tuple(merged), single_string=single)
