"""Reading the current file and replacing it atomically (a crash leaves the old or the new file, never half)."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from amplify_custom_roles.document import CustomRolesError


def read_text(path: Path) -> str | None:
    """The file's text, or None when it does not exist yet."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except IsADirectoryError:
        raise CustomRolesError(str(path), ["is a directory, not a file"]) from None
    except OSError as exc:
        raise CustomRolesError(str(path), [f"cannot be read: {exc.strerror or exc}"]) from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CustomRolesError(str(path), [f"is not UTF-8 text: {exc}"]) from None


def write_atomic(path: Path, text: str, expected_before: str | None) -> None:
    """Replace ``path`` with ``text`` unless someone changed it since it was read as ``expected_before``."""
    target = path.resolve()  # write through a symlink rather than replacing the link
    if read_text(target) != expected_before:
        raise CustomRolesError(str(path), ["changed while being updated; run again"])
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
    with contextlib.suppress(OSError):  # make the rename itself durable where the platform allows it
        dir_fd = os.open(target.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
