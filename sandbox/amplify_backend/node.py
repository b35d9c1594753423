"""The Node packages Amplify's resolvers need: the conformance test's pinned project, installed once by ``npm ci``.

``tests/custom_roles/conformance/`` pins ``@aws-amplify/graphql-transformer`` (Gen 1 line) and
``@aws-amplify/amplify-appsync-simulator`` in its lock file (no download addresses recorded); this module runs
``npm ci`` there when ``node_modules`` is missing or older than the lock file, exactly as the conformance test's
fixture does, so whichever runs first installs for both.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

NODE_PROJECT = Path(__file__).resolve().parents[2] / "tests" / "custom_roles" / "conformance"
REQUIRED = ("@aws-amplify/graphql-transformer", "@aws-amplify/amplify-appsync-simulator", "aws-cdk-lib")


class NodeUnavailable(RuntimeError):
    """node or npm is not on PATH (callers decide: skip locally, fail under CI)."""


def node_modules(project: Path = NODE_PROJECT, timeout: float = 900) -> Path:
    """``project``/node_modules, installed from the lock file when missing or stale; raises on failure."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        raise NodeUnavailable("node and npm are needed for Amplify's resolvers (Node.js 20+)")
    modules = project / "node_modules"
    stamp = modules / ".package-lock.json"
    lockfile = project / "package-lock.json"
    if not stamp.exists() or stamp.stat().st_mtime < lockfile.stat().st_mtime:
        done = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=project,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"npm ci failed in {project}:\n{done.stdout}\n{done.stderr}")
    missing = [name for name in REQUIRED if not (modules / name / "package.json").exists()]
    if missing:
        raise RuntimeError(f"{modules} lacks {', '.join(missing)}: is {lockfile} the one that pins them?")
    return modules
