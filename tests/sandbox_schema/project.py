"""A synthetic Gen 1 Amplify project (Todo, Order keyed by orderNumber + placedAt with a @hasMany of LineItem),
its settings file, and the CLI run as a user runs it after sourcing the sandbox's environment file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = """
type Todo @model @auth(rules: [{ allow: private, provider: iam }]) {
  id: ID!
  name: String!
  done: Boolean
}

type Order @model @auth(rules: [{ allow: owner }, { allow: private, provider: iam }]) {
  orderNumber: String! @primaryKey(sortKeyFields: ["placedAt"])
  placedAt: AWSDateTime!
  customer: String
  total: Float
  items: [LineItem] @hasMany
}

type LineItem @model @auth(rules: [{ allow: private, provider: iam }]) {
  id: ID!
  sku: String!
  quantity: Int
}
"""
MUTATIONS = ["createTodo", "updateTodo", "createOrder", "updateOrder", "deleteOrder", "createLineItem"]


def write_project(root: Path) -> Path:
    """A Gen 1 Amplify project with the schema above, and a settings file pointing at it; returns the latter."""
    api = root / "shop" / "amplify" / "backend" / "api" / "shopapi"
    api.mkdir(parents=True)
    (api / "schema.graphql").write_text(SCHEMA, encoding="utf-8")
    text = (ROOT / "settings.toml").read_text(encoding="utf-8")
    text = text.replace('project_dir = "."', f'project_dir = "{(root / "shop").as_posix()}"')
    text = text.replace('api_name = "todoapi"', 'api_name = "shopapi"')
    text = text.replace(
        'allowed_mutations = ["createTodo", "updateTodo", "deleteTodo"]',
        f"allowed_mutations = {json.dumps(MUTATIONS)}",
    )
    text += '\n[appsync.model_keys]\nOrder = ["orderNumber", "placedAt"]\n'
    path = root / "settings.toml"
    path.write_text(text, encoding="utf-8")
    return path


def sourced(env_file: Path) -> dict[str, str]:
    """The environment after ``set -a; . <file>; set +a`` in a clean shell (proves the file is sourceable)."""
    done = subprocess.run(
        ["bash", "-c", f"set -a; . {env_file}; set +a; env -0"],
        env={"PATH": os.environ["PATH"]},
        capture_output=True,
        check=True,
    )
    return dict(line.split("=", 1) for line in done.stdout.decode().split("\0") if "=" in line)


def cli(
    environment: dict[str, str], *argv: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mutation_cli", *argv],
        env={**environment, "PATH": os.environ["PATH"], "PYTHONPATH": str(ROOT)},
        cwd=ROOT,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
