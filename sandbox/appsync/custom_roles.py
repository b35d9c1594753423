"""``custom-roles.json`` as the resolvers see it: ``adminRoles``, re-read whenever the file changes.

The file is the sandbox's input (tests rewrite it between requests), so it is read per request but parsed
only when its mtime/size change. The entries become ``adminRoles`` through the shared Amplify rule
(``amplify_custom_roles.admin_rule``), for whichever CLI behaviour is current.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from pathlib import Path

from amplify_custom_roles import admin_rule

log = logging.getLogger(__name__)
_RACY_NS = 2_000_000_000


class CustomRoles:
    def __init__(self, path: Path, env_name: str) -> None:
        self.path = path
        self.env_name = env_name
        self._lock = threading.Lock()
        self._key: tuple[int, int] | None = None
        self._raw: bytes | None = None
        self._entries: tuple[str, ...] = ()
        self._roles: dict[str, list[str]] = {}

    def entries(self) -> tuple[str, ...]:
        """The ``adminRoleNames`` entries as written (a missing or unreadable file means none)."""
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            with self._lock:
                self._key, self._raw, self._entries, self._roles = None, None, (), {}
            return ()
        key = (stat.st_mtime_ns, stat.st_size)
        # A file rewritten within the filesystem's timestamp granularity keeps its mtime ("racy" cache):
        # while the mtime is recent, compare contents too.
        recent = time.time_ns() - stat.st_mtime_ns < _RACY_NS
        raw = _read_bytes(self.path) if recent else None
        with self._lock:
            if key == self._key and (raw is None or raw == self._raw):
                return self._entries
        if raw is None:
            raw = _read_bytes(self.path)
        entries = _parse(self.path, raw)
        with self._lock:
            self._key, self._raw, self._entries, self._roles = key, raw, entries, {}
        return entries

    def admin_roles(self, cli_behaviour: str) -> list[str]:
        """The ``adminRoles`` list the Amplify CLI would generate from the file, for ``cli_behaviour``."""
        entries = self.entries()
        with self._lock:
            cached = self._roles.get(cli_behaviour)
            if cached is not None and entries is self._entries:
                return cached
        roles = admin_rule.admin_roles(entries, cli_behaviour, self.env_name)
        with self._lock:
            if entries is self._entries:
                self._roles[cli_behaviour] = roles
        return roles


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError:
        return b""


def _parse(path: Path, raw: bytes) -> tuple[str, ...]:
    try:
        document = json.loads(raw)
    except ValueError as exc:
        log.warning("custom-roles.json at %s is unreadable (%s): no admin roles", path, exc)
        return ()
    names = document.get("adminRoleNames") if isinstance(document, dict) else None
    if isinstance(names, str):
        return (names,)
    if isinstance(names, list):
        return tuple(n for n in names if isinstance(n, str))
    return ()
