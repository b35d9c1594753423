"""A schema Amplify itself refuses stops ``python -m sandbox`` with Amplify's own message, exit 2.

The sandbox used to start on whatever it could read (or crash with a traceback), so a project that could never
``amplify push`` rehearsed fine locally. Now the transformer's refusal is the answer, as the CLI would print it:
transformer v1 directives (``@key``, ``@connection``) with the migration guide, a duplicate ``input AMPLIFY``,
an unknown directive.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.sandbox_schema.project import ROOT, write_project

V1 = """
type Blog @model @key(fields: ["id"]) {
  id: ID!
  name: String!
  posts: [Post] @connection(keyName: "byBlog", fields: ["id"])
}

type Post @model @key(name: "byBlog", fields: ["blogID"]) {
  id: ID!
  blogID: ID!
}
"""
DUPLICATE_AMPLIFY = """
input AMPLIFY { globalAuthRule: AuthRule = { allow: public } }
input AMPLIFY { globalAuthRule: AuthRule = { allow: public } }

type Todo @model {
  id: ID!
  name: String!
}
"""
UNKNOWN_DIRECTIVE = """
type Todo @model @cached(ttl: 60) {
  id: ID!
  name: String!
}
"""


@pytest.mark.parametrize(
    ("schema", "amplify_says"),
    [
        pytest.param(
            V1,
            'Your GraphQL Schema is using "@key", "@connection" directives from an older version of the '
            "GraphQL Transformer. "
            "Visit https://docs.amplify.aws/cli/migration/transformer-migration/",
            id="transformer-v1",
        ),
        pytest.param(
            DUPLICATE_AMPLIFY, 'There can be only one type named "AMPLIFY".', id="duplicate-AMPLIFY"
        ),
        pytest.param(UNKNOWN_DIRECTIVE, 'Unknown directive "@cached".', id="unknown-directive"),
    ],
)
def test_python_m_sandbox_exits_2_with_amplifys_message(
    schema: str, amplify_says: str, amplify_node_modules: Path, tmp_path: Path
) -> None:
    settings = write_project(tmp_path)
    (tmp_path / "shop" / "amplify" / "backend" / "api" / "shopapi" / "schema.graphql").write_text(
        schema, encoding="utf-8"
    )
    done = subprocess.run(
        [sys.executable, "-m", "sandbox", "--settings", str(settings), "--backend", "amplify"],
        cwd=ROOT,
        env={
            **{k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
            "PYTHONPATH": str(ROOT),
        },
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    assert amplify_says in done.stderr, done.stderr
    assert "schema.graphql: Amplify refuses this schema (SchemaValidationError)" in done.stderr
    assert "Ctrl-C stops it" not in done.stdout  # it never claimed to be running
