"""The Lambda package: built from ``worker/`` and the pinned runtime dependencies only.

``make package`` runs :func:`build_package`, which pip-installs ``[project.dependencies]`` from
``pyproject.toml`` for the Lambda platform into ``build/lambda`` and copies ``worker/`` next to them. Synth
uses that directory when it exists; otherwise it stages a directory holding ``worker/`` alone, so offline synth
never downloads anything (and a CI synth still proves the package excludes the sandbox, tests and dev tools).
A stack synthesized from the staged directory deploys a function that cannot import its dependencies: deploy
always runs ``make package`` first.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PACKAGE_DIR = PROJECT_ROOT / "build" / "lambda"
#: The only source package shipped; everything else in the repository stays out of the function.
SHIPPED_PACKAGES = ("worker",)
#: Matches the stack's runtime (Python 3.12); the wheels' platform follows ``worker.architecture``.
LAMBDA_PYTHON_VERSION = "3.12"
LAMBDA_PLATFORMS = {"arm64": "manylinux2014_aarch64", "x86_64": "manylinux2014_x86_64"}
LAMBDA_PLATFORM = LAMBDA_PLATFORMS["x86_64"]
#: Written into a built package: what it was built for (synth refuses a package of another architecture).
PACKAGE_MANIFEST = ".lambda-package.json"
#: A dependency every built package holds; without it the function cannot import its transport.
_DEPENDENCY_MARKER = "httptools"
_IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", "*.pyo")


def runtime_requirements(pyproject: Path = PROJECT_ROOT / "pyproject.toml") -> list[str]:
    """The pinned ``[project.dependencies]``: exactly what the worker imports at run time."""
    data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    return list(data["project"]["dependencies"])


def copy_sources(target: Path, root: Path = PROJECT_ROOT) -> None:
    """Copy the shipped source packages (``worker/``) into ``target``, without bytecode."""
    for name in SHIPPED_PACKAGES:
        destination = target / name
        if destination.exists():
            shutil.rmtree(destination)
        shutil.copytree(root / name, destination, ignore=_IGNORED)


def build_package(
    target: Path = DEFAULT_PACKAGE_DIR, root: Path = PROJECT_ROOT, architecture: str = "arm64"
) -> Path:
    """Build the deployable package: Lambda-platform wheels of the runtime deps plus ``worker/``.

    Needs the package index (it is the one step that downloads); synth and tests never call it.
    """
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-compile",
            "--target",
            str(target),
            "--implementation",
            "cp",
            "--python-version",
            LAMBDA_PYTHON_VERSION,
            "--platform",
            LAMBDA_PLATFORMS[architecture],
            "--only-binary=:all:",
            *runtime_requirements(root / "pyproject.toml"),
        ],
        check=True,
    )
    shutil.rmtree(target / "bin", ignore_errors=True)  # console scripts of the deps: never run in Lambda
    copy_sources(target, root)
    precompile(target)
    (target / PACKAGE_MANIFEST).write_text(
        json.dumps({"architecture": architecture, "python": LAMBDA_PYTHON_VERSION}) + "\n", encoding="utf-8"
    )
    return target


def precompile(target: Path) -> bool:
    """Ship bytecode for the Lambda runtime's Python when a matching interpreter is at hand.

    /var/task is read-only, so without shipped ``.pyc`` files Lambda compiles every module on every cold start.
    ``unchecked-hash`` bytecode stays valid whatever mtimes the zip gives the sources. Returns whether it did.
    """
    interpreter = shutil.which(f"python{LAMBDA_PYTHON_VERSION}")
    probe = "import sys; print('%d.%d' % sys.version_info[:2])"
    if (
        interpreter is None
        or subprocess.run([interpreter, "-c", probe], capture_output=True, text=True).stdout.strip()
        != LAMBDA_PYTHON_VERSION
    ):
        print(
            f"note: no python{LAMBDA_PYTHON_VERSION} found: the package ships no bytecode, so Lambda compiles "
            "the modules at every cold start (install that Python and re-run `make package`)"
        )
        return False
    subprocess.run(
        [
            interpreter,
            "-m",
            "compileall",
            "-q",
            "-j",
            "0",
            "--invalidation-mode",
            "unchecked-hash",
            str(target),
        ],
        check=True,
    )
    return True


def is_built(package_dir: Path = DEFAULT_PACKAGE_DIR) -> bool:
    """A built package: the shipped sources and their dependencies (``worker/`` alone could not start)."""
    return (package_dir / _DEPENDENCY_MARKER).is_dir() and all(
        (package_dir / name / "__init__.py").is_file() for name in SHIPPED_PACKAGES
    )


def built_architecture(package_dir: Path = DEFAULT_PACKAGE_DIR) -> str | None:
    """The architecture a built package's wheels are for (None: unknown, built before it was recorded)."""
    try:
        value = json.loads((package_dir / PACKAGE_MANIFEST).read_text(encoding="utf-8")).get("architecture")
    except (OSError, ValueError, AttributeError):
        return None
    return value if isinstance(value, str) else None


def package_problems(
    architecture: str, package_dir: Path | None = DEFAULT_PACKAGE_DIR
) -> tuple[list[str], str | None]:
    """(warnings, refusal) about the package a synth would use for a function on ``architecture``."""
    if package_dir is None or not is_built(package_dir):
        where = package_dir if package_dir is not None else "the package directory"
        return (
            [
                f"warning: {where} holds no built Lambda package: the function's asset is worker/ alone, "
                "without httptools, orjson or any other dependency, so a deployed function could not start. This "
                "template is for checking only; run `make package` before deploying (`make deploy` does)."
            ],
            None,
        )
    built = built_architecture(package_dir)
    if built is None:
        return (
            [
                f"warning: {package_dir} does not say which architecture its wheels are for; run `make package` "
                f"again to be sure they match worker.architecture={architecture!r}"
            ],
            None,
        )
    if built != architecture:
        return (
            [],
            f"{package_dir} was built for {built} but worker.architecture is {architecture}: its compiled "
            "wheels (httptools, orjson) would not load; run `make package` again",
        )
    return [], None


@contextmanager
def lambda_source(
    package_dir: Path | None = DEFAULT_PACKAGE_DIR, root: Path = PROJECT_ROOT
) -> Iterator[Path]:
    """The directory the function's code asset is made from, for the duration of a synth.

    ``package_dir`` when it holds a built package; else a temporary directory with ``worker/`` only.
    """
    if package_dir is not None and is_built(package_dir):
        yield package_dir
        return
    with tempfile.TemporaryDirectory(prefix="lambda-source-") as staged:
        copy_sources(Path(staged), root)
        yield Path(staged)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Build the worker's Lambda package (needs the package index)."
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_PACKAGE_DIR)
    parser.add_argument("--settings", type=Path, default=None, help="settings file (its worker.architecture)")
    parser.add_argument("--architecture", choices=sorted(LAMBDA_PLATFORMS), default=None)
    args = parser.parse_args(argv)
    architecture = args.architecture
    if architecture is None:
        from project_settings import load_settings

        architecture = load_settings(args.settings).worker.architecture
    path = build_package(args.out, architecture=architecture)
    print(f"Lambda package built in {path} for {architecture} ({LAMBDA_PLATFORMS[architecture]})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
