"""``send``: one mutation by hand through requests + requests-aws4auth, with the worker's classification."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest


def test_send_from_a_file_applies_the_mutation(cli: Any, kit: Any, tmp_path: Path) -> None:
    envelope = kit.create("by hand")
    path = tmp_path / "envelope.json"
    path.write_text(json.dumps(envelope), encoding="utf-8")
    result = cli("send", "--file", str(path))
    assert result.code == 0, result.err
    assert json.loads(result.out)["createTodo"]["id"] == envelope["idempotencyKey"]
    assert envelope["idempotencyKey"] in kit.table_ids()


def test_send_twice_is_already_applied(cli: Any, kit: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    envelope = json.dumps(kit.create("twice"))
    monkeypatch.setattr("sys.stdin", io.StringIO(envelope))
    assert cli("send", "--json").code == 0
    monkeypatch.setattr("sys.stdin", io.StringIO(envelope))
    again = cli("send", "--json")
    assert again.code == 0
    assert again.json()["status"] == "already_applied"


def test_send_with_query_and_variables(cli: Any, kit: Any) -> None:
    record = kit.key()
    result = cli(
        "send",
        "--json",
        "--query",
        "mutation Make($input: CreateTodoInput!) { createTodo(input: $input) { id name } }",
        "--variables",
        json.dumps({"input": {"name": "from --query"}}),
        "--operation-name",
        "Make",
        "--idempotency-key",
        record,
    )
    assert result.code == 0, result.out + result.err
    assert result.json()["status"] == "applied"
    assert record in kit.table_ids()


def test_field_outside_the_allow_list_is_refused_before_sending(cli: Any, kit: Any) -> None:
    result = cli("send", "--query", 'mutation { deletePost(input: {id: "1"}) { id } }')
    assert result.code == 2
    assert "MutationNotAllowed" in result.err and "deletePost" in result.err


def test_invalid_envelope_is_a_usage_error(cli: Any, kit: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO('{"mutation": "createTodo", "input": "not an object"}'))
    result = cli("send")
    assert result.code == 2
    assert "input" in result.err


def test_resolver_refusal_is_classified_with_the_fix(
    cli: Any, kit: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    kit.sb.write_custom_roles([kit.iam_role_arn])  # the classic mistake: never matches
    monkeypatch.setattr("sys.stdin", io.StringIO(json.dumps(kit.create("refused"))))
    result = cli("send")
    assert result.code == 1
    assert "Unauthorized" in result.err
    assert kit.assumed_arn in result.err and "custom-roles.json" in result.err


def test_no_secret_reaches_the_output(cli: Any, kit: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(json.dumps(kit.create("secrets"))))
    result = cli("send", "--verbose", "--json")
    assert result.code == 0
    for secret in kit.sb.issued_secrets():
        assert secret not in result.out and secret not in result.err


def test_assume_role_refused_is_reported_with_the_diagnosis(
    cli: Any, kit: Any, operator: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    operator.setenv("MUTATOR_SESSION_NAME", "someone-else")
    monkeypatch.setattr("sys.stdin", io.StringIO(json.dumps(kit.create("not assumed"))))
    result = cli("send")
    assert result.code == 1
    assert "AssumeRoleDenied" in result.err and "sts:RoleSessionName" in result.err


def test_duplicate_create_without_a_key_names_the_record_not_a_key(
    cli: Any, kit: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A create that names its record by input.id (no idempotencyKey) is not 'this idempotency key'."""
    record = kit.key()
    envelope = json.dumps({"mutation": "createTodo", "input": {"id": record, "name": "by input"}})
    for _ in range(2):
        monkeypatch.setattr("sys.stdin", io.StringIO(envelope))
        result = cli("send")
    assert result.code == 0
    assert (
        f"already applied: createTodo: the record with id {record!r} (named by the input) exists"
        in result.out
    )
    assert "idempotency key" not in result.out
