"""Reading the current file and replacing it atomically (a crash leaves the old or the new file, never half)."""

from __future__ import annotations

from pathlib import Path

from amplify_custom_roles.document import CustomRolesError
from project_settings.toml_edit import write_text_atomic


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
    if read_text(path.resolve()) != expected_before:
        raise CustomRolesError(str(path), ["changed while being updated; run again"])
    write_text_atomic(path, text)
