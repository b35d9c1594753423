"""What a Lambda container loads: the Lambda package ships only ``[project.dependencies]``, so the worker's hot
path must import nothing outside them (aiohttp and gql serve the sandbox and the benchmark, not the function),
and tenacity only when a send is retried."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _loaded(code: str) -> list[str]:
    probe = code + "\nimport json, sys\nprint(json.dumps(sorted(m.split('.')[0] for m in sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    return list(json.loads(out.strip().splitlines()[-1]))


def test_the_handler_and_its_send_path_import_neither_aiohttp_nor_gql_nor_tenacity() -> None:
    loaded = set(
        _loaded(
            "import worker.handler, worker.client, worker.transport, worker.http11, worker.judge, worker.batch"
        )
    )
    assert not loaded & {"aiohttp", "gql", "tenacity", "requests", "moto", "sandbox", "mutation_cli"}
    assert {"httptools", "orjson", "structlog", "botocore"} <= loaded


def test_the_lambda_package_does_not_ship_what_the_worker_does_not_import() -> None:
    pinned = {
        r.split("==")[0].split("[")[0].lower()
        for r in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    }
    assert {"aiohttp", "gql"}.isdisjoint(pinned)
    assert {"httptools", "orjson", "structlog", "tenacity", "botocore", "graphql-core"} <= pinned
