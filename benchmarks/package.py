"""A Lambda-like package directory: ``pip install --target`` of the runtime dependencies + ``worker/``.

The dependencies are exactly ``[project.dependencies]`` of pyproject.toml (the dev venv also has ``rich``,
which structlog imports when present; Lambda does not). The installed dependencies are cached under
``build/lambda-package/`` and reused while the dependency list is unchanged; ``worker/`` is copied fresh each
time. Everything is byte-compiled, as a deployment package should be (Lambda's filesystem is read-only: without
``.pyc`` files every cold start would compile the sources again).
"""

from __future__ import annotations

import compileall
import hashlib
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DIR = ROOT / "build" / "lambda-package"


def runtime_dependencies(pyproject: Path = ROOT / "pyproject.toml") -> list[str]:
    return list(tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["dependencies"])


def build(target: Path = DEFAULT_DIR, python: str = sys.executable) -> dict[str, object]:
    """Build (or reuse) the package dir; returns what it holds and whether the dependencies were cached."""
    dependencies = runtime_dependencies()
    key = hashlib.sha256("\n".join(sorted(dependencies)).encode()).hexdigest()[:16]
    stamp = target / ".dependencies-key"
    cached = stamp.is_file() and stamp.read_text().strip() == key
    if not cached:
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir(parents=True)
        done = subprocess.run(
            [python, "-m", "pip", "install", "--quiet", "--no-input", "--target", str(target), *dependencies],
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            raise RuntimeError(f"pip install --target {target} failed:\n{done.stdout}{done.stderr}")
        compileall.compile_dir(str(target), quiet=1, workers=0)
        stamp.write_text(key + "\n")
    shutil.rmtree(target / "worker", ignore_errors=True)
    shutil.copytree(ROOT / "worker", target / "worker", ignore=shutil.ignore_patterns("__pycache__"))
    compileall.compile_dir(str(target / "worker"), quiet=1)
    top_level = sorted(
        p.name for p in target.iterdir() if not p.name.startswith(".") and not p.name.endswith(".dist-info")
    )
    return {
        "path": str(target),
        "dependencies": dependencies,
        "dependencies_cached": cached,
        "top_level": top_level,
    }
