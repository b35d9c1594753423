"""The function's code asset is worker/ (plus, once built, its runtime dependencies) and nothing else."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from infra.extract import function_code_asset
from infra.packaging import PROJECT_ROOT, lambda_source, runtime_requirements


def test_asset_holds_the_worker_and_no_sandbox_tests_or_tools(
    assembly_dir: Path, template_a: dict[str, Any]
) -> None:
    asset = function_code_asset(assembly_dir, template_a)
    assert (asset / "worker" / "handler.py").is_file()
    top_level = {p.name for p in asset.iterdir()}
    assert top_level == {"worker"}
    assert not any(p.name == "__pycache__" or p.suffix == ".pyc" for p in asset.rglob("*"))
    assert {p.name for p in (asset / "worker").glob("*.py")} == {
        p.name for p in (PROJECT_ROOT / "worker").glob("*.py")
    }


def test_staged_source_when_no_package_is_built(tmp_path: Path) -> None:
    with lambda_source(tmp_path / "not-built") as source:
        assert {p.name for p in source.iterdir()} == {"worker"}
    assert not source.exists()


def test_built_package_is_used_as_is(tmp_path: Path) -> None:
    built = tmp_path / "lambda"
    (built / "worker").mkdir(parents=True)
    (built / "worker" / "__init__.py").write_text("")
    (built / "httptools").mkdir()
    with lambda_source(built) as source:
        assert source == built


def test_runtime_requirements_are_the_pinned_project_dependencies() -> None:
    pyproject = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())
    requirements = runtime_requirements()
    assert requirements == pyproject["project"]["dependencies"]
    assert all("==" in r for r in requirements)
    assert not any(
        r.split("[")[0].split("==")[0] in {"moto", "pytest", "aws-cdk-lib", "Flask"} for r in requirements
    )
