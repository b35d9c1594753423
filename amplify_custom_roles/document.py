"""Reading and writing the ``custom-roles.json`` document itself.

Parsing is strict (the only key Amplify reads is ``adminRoleNames``, a string or a list of strings) so that a
file we do not fully understand is refused untouched rather than rewritten with something lost.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

KEY = "adminRoleNames"


class CustomRolesError(ValueError):
    """Invalid input (file or settings): every problem, reported together; nothing was written."""

    def __init__(self, source: str, problems: Sequence[str]) -> None:
        self.source = source
        self.problems = list(problems)
        super().__init__(f"{source}:\n" + "\n".join(f"  - {p}" for p in self.problems))


@dataclass(frozen=True)
class RolesDocument:
    """The entries in file order; ``single_string`` when ``adminRoleNames`` was written as one string."""

    entries: tuple[str, ...]
    single_string: bool = False


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [key for key, _ in pairs]
    duplicates = sorted({key for key in keys if keys.count(key) > 1})
    if duplicates:
        # JSON.parse keeps the last one silently; refusing is the only safe merge.
        raise ValueError(f"duplicate key(s) {duplicates}")
    return dict(pairs)


def parse_document(text: str, source: str) -> RolesDocument:
    """Parse the file's text, or raise :class:`CustomRolesError` naming every problem."""
    if text.startswith("\ufeff"):
        text = text[1:]  # the Amplify CLI strips a byte order mark too
    try:
        data = json.loads(text, object_pairs_hook=_no_duplicate_keys)
    except ValueError as exc:
        raise CustomRolesError(source, [f"not valid JSON: {exc}"]) from None
    if not isinstance(data, dict):
        raise CustomRolesError(source, [f"must be a JSON object with {KEY!r}, not {type(data).__name__}"])
    problems = [f"unknown key {key!r}: the only key Amplify reads is {KEY!r}" for key in data if key != KEY]
    names = data.get(KEY, [])
    single = isinstance(names, str)
    entries: list[str] = [names] if single else []
    if not single:
        if not isinstance(names, list):
            problems.append(f"{KEY} must be a string or a list of strings, not {type(names).__name__}")
        else:
            for index, name in enumerate(names):
                if isinstance(name, str):
                    entries.append(name)
                else:
                    problems.append(f"{KEY}[{index}] must be a string, not {type(name).__name__}: {name!r}")
    for entry in entries:
        try:
            entry.encode("utf-8")
        except UnicodeEncodeError:
            problems.append(f"{KEY} entry {entry!r} is not valid Unicode (lone surrogate escape)")
    if problems:
        raise CustomRolesError(source, problems)
    return RolesDocument(tuple(entries), single_string=single)


def render_document(document: RolesDocument) -> str:
    """The file's text: 2-space indent and a trailing newline, so diffs stay small and stable."""
    value: str | list[str] = document.entries[0] if document.single_string else list(document.entries)
    return json.dumps({KEY: value}, indent=2, ensure_ascii=False) + "\n"
