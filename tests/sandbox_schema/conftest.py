"""The sandbox started for an Amplify project's own schema (issue 17 §3)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def amplify_node_modules() -> Path:
    """The conformance project's node_modules; skipped without Node, failed under CI=true."""
    from sandbox.amplify_backend import NodeUnavailable, node_modules

    try:
        return node_modules()
    except NodeUnavailable as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{exc} (CI=true: install Node.js 20+)")
        pytest.skip(str(exc))
