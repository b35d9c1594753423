"""The 'mutation' form is no longer parsed with graphql-core: what parsing told us is known by construction.

For every named-form envelope the text the worker built still parses to one mutation operation with one field of
that name, no directive, ``input: $input``, and a ``condition`` exactly when the envelope has one; and the request
is the one the query form gives for that same text.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from graphql import FieldNode, OperationDefinitionNode, OperationType, VariableNode, parse

from worker.envelope import input_values, parse_envelope

ALLOWED = frozenset({"createTodo", "updateTodo", "deleteTodo", "createBlogPost"})
ENVELOPES = [
    {"mutation": "createTodo", "input": {"name": "x"}},
    {"mutation": "createTodo", "input": {"name": "x"}, "idempotencyKey": "k-1"},
    {"mutation": "createTodo", "input": {"id": "i-1", "name": "x"}, "fields": ["id", "name", "createdAt"]},
    {"mutation": "updateTodo", "input": {"id": "i-1", "name": "y"}, "condition": {"name": {"eq": "x"}}},
    {"mutation": "updateTodo", "input": {"id": "i-1"}, "condition": None},
    {"mutation": "deleteTodo", "input": {"id": "i-1"}, "condition": {"done": {"eq": True}}},
    {"mutation": "createBlogPost", "input": {"title": "t"}, "condition": {"title": {"ne": "u"}}},
]


@pytest.mark.parametrize("envelope", ENVELOPES)
def test_the_built_text_says_what_the_worker_assumes(envelope: dict[str, object]) -> None:
    request = parse_envelope(json.dumps(envelope), ALLOWED, message_id="m-1")
    assert request.parsed is None  # nothing parsed on the way to the send
    [operation] = parse(request.query, no_location=True).definitions
    assert isinstance(operation, OperationDefinitionNode) and operation.operation is OperationType.MUTATION
    [field] = operation.selection_set.selections
    assert isinstance(field, FieldNode) and field.name.value == envelope["mutation"]
    assert not field.directives
    [given] = [argument.value for argument in field.arguments if argument.name.value == "input"]
    assert isinstance(given, VariableNode) and given.name.value == "input"
    # The worker's own reading of that text (the query form, which parses it) finds the same field, an ``input``
    # that is ``$input``, and a condition exactly when the named form said so.
    queried = parse_envelope(
        json.dumps({"query": request.query, "variables": request.variables}), ALLOWED, message_id="m-1"
    )
    assert (queried.field, queried.input_is_variable, queried.has_condition) == (
        envelope["mutation"],
        True,
        request.has_condition,
    )
    assert request.has_condition is (envelope.get("condition") is not None)


@pytest.mark.parametrize("envelope", ENVELOPES)
def test_the_named_form_equals_the_query_form_of_its_text(envelope: dict[str, object]) -> None:
    named = parse_envelope(json.dumps(envelope), ALLOWED, message_id="m-1")
    as_query = {"query": named.query, "variables": {k: v for k, v in named.variables.items()}}
    if "idempotencyKey" in envelope:
        as_query["idempotencyKey"] = envelope["idempotencyKey"]
    if envelope["mutation"].startswith("create") and "id" not in envelope["input"]:  # type: ignore[attr-defined]
        as_query["variables"]["input"] = dict(envelope["input"])  # type: ignore[call-overload,index]
    queried = parse_envelope(json.dumps(as_query), ALLOWED, message_id="m-1")
    assert (named.field, named.variables, named.idempotency_key, named.has_condition, named.id_source) == (
        queried.field,
        queried.variables,
        queried.idempotency_key,
        queried.has_condition,
        queried.id_source,
    )
    assert sorted(input_values(named)) == sorted(input_values(queried))


def test_the_named_form_does_not_import_graphql_core() -> None:
    code = (
        "import json, sys; from worker.envelope import parse_envelope; "
        "parse_envelope(json.dumps({'mutation': 'createTodo', 'input': {'name': 'x'}}), frozenset({'createTodo'})); "
        "print('graphql' in sys.modules)"
    )
    assert (
        subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        ).stdout.strip()
        == "False"
    )
