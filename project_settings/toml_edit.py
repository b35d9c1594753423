"""Change values in settings.toml in place, keeping its comments, order and layout.

Only what the settings file uses is supported: ``[section]`` / ``[a.b]`` headers and ``key = value`` lines
whose value is a string, a number, a boolean or an array of strings (possibly over several lines). A key that
is not there yet is added at the end of its section (a missing section at the end of the file). The result
is parsed again before it is returned: an edit can never leave a file tomllib cannot read.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path

Value = str | int | float | bool | Sequence[str]
_HEADER = re.compile(r"^\s*\[(?P<name>[A-Za-z0-9_.\-]+)\]\s*(#.*)?$")
_KEY = re.compile(r"^(?P<indent>\s*)(?P<key>[A-Za-z0-9_\-]+)\s*=\s*")


def render(value: Value) -> str:
    """A TOML literal for ``value`` (basic strings, JSON escaping is valid TOML for these)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    return "[" + ", ".join(json.dumps(v, ensure_ascii=False) for v in value) + "]"


def _value_extent(lines: list[str], index: int, start: int) -> tuple[int, int]:
    """(last line index, column after the value on it) of the value starting at ``lines[index][start:]``.

    The shortest text that parses and is followed only by blanks or a comment: scanning from the left keeps a
    trailing comment out of the value, even when the value itself contains ``#``.
    """
    for last in range(index, min(len(lines), index + 200)):
        head = [lines[index][start:], *lines[index + 1 : last]] if last > index else []
        offset = start if last == index else 0
        line = lines[last]
        for end in range(offset + 1, len(line) + 1):
            rest = line[end:].strip()
            if rest and not rest.startswith("#"):
                continue
            text = "\n".join([*head, line[offset:end]])
            try:
                tomllib.loads(f"v = {text}")
            except tomllib.TOMLDecodeError:
                continue
            return last, end
    raise ValueError(f"line {index + 1}: cannot find the end of the value")


def set_values(text: str, changes: Mapping[tuple[str, str], Value]) -> str:
    """``text`` with each ``(section, key)`` set to its value."""
    lines = text.splitlines()
    for (section, key), value in changes.items():
        lines = _set_one(lines, section, key, render(value))
    result = "\n".join(lines) + "\n"
    tomllib.loads(result)  # never hand back a file that does not parse
    return result


def _set_one(lines: list[str], section: str, key: str, literal: str) -> list[str]:
    current: str | None = None
    section_end: int | None = None  # index after the last non-blank line of the section
    for index, line in enumerate(lines):
        header = _HEADER.match(line)
        if header:
            current = header["name"]
            continue
        if current != section:
            continue
        if line.strip() and not line.lstrip().startswith("#"):
            section_end = index + 1
        match = _KEY.match(line)
        if match and match["key"] == key:
            last, end = _value_extent(lines, index, match.end())
            tail = lines[last][end:]
            replaced = f"{line[: match.end()]}{literal}{tail}"
            return [*lines[:index], replaced, *lines[last + 1 :]]
    headers = [i for i, line in enumerate(lines) if (h := _HEADER.match(line)) and h["name"] == section]
    if headers:
        at = section_end if section_end is not None else headers[0] + 1  # an empty section: after its header
        return [*lines[:at], f"{key} = {literal}", *lines[at:]]
    while lines and not lines[-1].strip():
        lines = lines[:-1]
    return [*lines, "", f"[{section}]", f"{key} = {literal}"]


def write_text_atomic(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` in one rename (a crash leaves the old or the new file, never half).

    Written through a symlink rather than replacing the link; a new file gets the mode the umask gives; the
    rename itself is made durable where the platform allows it. The one atomic writer of the project's files.
    """
    target = path.resolve()
    try:
        mode = target.stat().st_mode & 0o7777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    fd, temp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp, mode)
        os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        raise
    with contextlib.suppress(OSError):
        dir_fd = os.open(target.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


__all__ = ["render", "set_values", "write_text_atomic"]
