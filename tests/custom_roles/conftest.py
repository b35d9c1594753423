"""Fixtures for the custom-roles generator: the project's settings pointed at a temporary Amplify project.

Test modules cannot import this file (pytest runs with --import-mode=importlib), so the shared names and
helpers travel in the ``kit`` fixture.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from project_settings import Settings, load_settings
from project_settings.model import DEFAULT_PATH

PROJECT_SETTINGS = load_settings()


class Kit:
    """The worker's names from settings.toml, and helpers to write and read custom-roles.json."""

    base = PROJECT_SETTINGS
    account = PROJECT_SETTINGS.accounts.api
    role = PROJECT_SETTINGS.mutator_role.name
    session = PROJECT_SETTINGS.mutator_role.session_name
    ours = PROJECT_SETTINGS.assumed_role_arn
    role_only = f"arn:aws:sts::{account}:assumed-role/{role}"
    iam_role = PROJECT_SETTINGS.mutator_role_arn

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.settings = self.settings_in(tmp_path / "app")

    def settings_in(self, project_dir: Path, **changes: Any) -> Settings:
        """The project's settings with the Amplify project in ``project_dir`` (its API directory created)."""
        amplify = {"project_dir": project_dir, **changes.pop("amplify", {})}
        settings = PROJECT_SETTINGS.with_changes(amplify=amplify, **changes)
        settings.custom_roles_path.parent.mkdir(parents=True, exist_ok=True)
        return settings

    @property
    def path(self) -> Path:
        return self.settings.custom_roles_path

    def write(self, entries: Sequence[Any] | str | None = None, *, text: str | None = None) -> bytes:
        """Write custom-roles.json (entries with a 4-space indent, or raw text); returns its bytes."""
        if text is None:
            text = json.dumps({"adminRoleNames": entries}, indent=4)
        self.path.write_text(text, encoding="utf-8")
        return self.path.read_bytes()

    def entries(self) -> Any:
        return json.loads(self.path.read_text(encoding="utf-8"))["adminRoleNames"]

    def settings_file(self) -> Path:
        """A copy of settings.toml in tmp_path: its amplify.project_dir (".") is then tmp_path."""
        path = self.tmp_path / "settings.toml"
        path.write_text(DEFAULT_PATH.read_text(encoding="utf-8"), encoding="utf-8")
        (self.tmp_path / "amplify" / "backend" / "api" / PROJECT_SETTINGS.amplify.api_name).mkdir(
            parents=True, exist_ok=True
        )
        return path


@pytest.fixture
def kit(tmp_path: Path) -> Kit:
    return Kit(tmp_path)
