"""The message envelope: what a producer in account A puts on the queue or in an event's ``detail``.

Two forms, both JSON objects::

    {"mutation": "createTodo", "input": {"name": "x"}, "fields": ["id", "name"], "idempotencyKey": "order-42"}
    {"query": "mutation M($input: CreateTodoInput!) { createTodo(input: $input) { id } }",
     "variables": {"input": {"name": "x"}}, "operationName": "M", "idempotencyKey": "order-42"}

The named form builds an Amplify model mutation (``create|update|delete<Model>(input:, condition:)``); the
document form sends any single mutation field. Either way a message carries exactly one mutation field, and that
field must be on the worker's allow-list: everything is checked here, before any network call, and every
problem is a permanent ``EnvelopeError`` naming the field and what was expected.

Idempotency: for a create, the idempotency key *is* the record id (``input.id``): a key without an id fills the
id, an id without a key becomes the key, and the two may not differ. A redelivered or retried create then
meets DynamoDB's ``attribute_not_exists(id)`` condition and counts as already applied.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from dataclasses import field as dataclass_field
from functools import lru_cache
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    GraphQLError,
    OperationDefinitionNode,
    OperationType,
    VariableNode,
    parse,
)

from worker.errors import EnvelopeError, NotAllowedError

#: SQS accepts up to 1 MiB per message; anything larger cannot have come from a well-behaved producer.
MAX_ENVELOPE_BYTES = 1024 * 1024
MAX_IDEMPOTENCY_KEY = 256
ENVELOPE_KEYS = frozenset(
    {
        "version",
        "mutation",
        "input",
        "condition",
        "fields",
        "query",
        "variables",
        "operationName",
        "idempotencyKey",
    }
)
_NAMED_ONLY = ("input", "condition", "fields")
_DOCUMENT_ONLY = ("variables", "operationName")
_NAME = re.compile(r"^[_A-Za-z][_0-9A-Za-z]*$")
_MODEL_MUTATION = re.compile(r"^(?P<verb>create|update|delete)(?P<model>[A-Z][_0-9A-Za-z]*)$")
_KEY = re.compile(r"^[^\x00-\x1f\x7f]+$")


@dataclass(frozen=True)
class MutationRequest:
    """A validated mutation, ready to sign and send."""

    field: str
    document: DocumentNode = dataclass_field(repr=False, compare=False)
    variables: dict[str, Any] = dataclass_field(repr=False)
    operation_name: str | None = None
    idempotency_key: str | None = None
    #: The document's text as sent: printing the AST again for every request costs more than signing it.
    query: str = dataclass_field(default="", repr=False, compare=False)

    @property
    def is_create(self) -> bool:
        return self.field.startswith("create")

    @property
    def is_delete(self) -> bool:
        return self.field.startswith("delete")

    @property
    def record_id(self) -> str | None:
        value = self.variables.get("input")
        record_id = value.get("id") if isinstance(value, Mapping) else None
        return record_id if isinstance(record_id, str) else None


def parse_envelope(raw: str | bytes | Mapping[str, Any], allowed_fields: frozenset[str]) -> MutationRequest:
    """Validate one message; raise ``EnvelopeError`` or ``NotAllowedError`` with a precise reason."""
    data = _decode(raw)
    unknown = sorted(set(data) - ENVELOPE_KEYS)
    if unknown:
        raise EnvelopeError(
            f"unknown envelope key(s) {', '.join(map(repr, unknown))}; expected only {', '.join(sorted(ENVELOPE_KEYS))}"
        )
    version = data.get("version", 1)
    if version != 1 or isinstance(version, bool):
        raise EnvelopeError(f"version: expected 1, got {version!r}")
    key = _idempotency_key(data.get("idempotencyKey"))

    has_named, has_document = "mutation" in data, "query" in data
    if has_named == has_document:
        raise EnvelopeError(
            "expected exactly one of 'mutation' (an Amplify model mutation name) or 'query' (a GraphQL document)"
        )
    if has_named:
        stray = [k for k in _DOCUMENT_ONLY if k in data]
        if stray:
            raise EnvelopeError(
                f"{stray[0]!r} belongs to the 'query' form; the 'mutation' form takes input/condition"
            )
        (text, document), variables, operation_name = _named(data)
    else:
        stray = [k for k in _NAMED_ONLY if k in data]
        if stray:
            raise EnvelopeError(
                f"{stray[0]!r} belongs to the 'mutation' form; the 'query' form takes variables"
            )
        (text, document), variables, operation_name = _document(data)

    mutation_field = _single_mutation_field(document, operation_name)
    if mutation_field.name.value not in allowed_fields:
        raise NotAllowedError(
            f"mutation field {mutation_field.name.value!r} is not on this worker's allow-list "
            f"({', '.join(sorted(allowed_fields))}); refused before sending"
        )
    request = MutationRequest(mutation_field.name.value, document, variables, operation_name, key, text)
    return _bind_idempotency(request, mutation_field)


def _decode(raw: str | bytes | Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(raw, Mapping):
        return dict(raw)
    size = len(raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw)
    if size > MAX_ENVELOPE_BYTES:
        raise EnvelopeError(f"message is {size} bytes; the envelope limit is {MAX_ENVELOPE_BYTES} bytes")
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise EnvelopeError(f"message body is not valid UTF-8 (byte {exc.start})") from None
    if not raw.strip():
        raise EnvelopeError("message body is empty; expected a JSON object")
    try:
        data = json.loads(raw)
    except RecursionError:
        raise EnvelopeError("message body nests JSON too deeply") from None
    except ValueError as exc:
        raise EnvelopeError(f"message body is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise EnvelopeError(f"message body must be a JSON object, got {_json_type(data)}")
    return data


def _idempotency_key(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value or len(value) > MAX_IDEMPOTENCY_KEY or not _KEY.match(value):
        raise EnvelopeError(
            f"idempotencyKey: expected a string of 1-{MAX_IDEMPOTENCY_KEY} printable characters, "
            f"got {_json_type(value)}"
        )
    return value


def _named(data: Mapping[str, Any]) -> tuple[tuple[str, DocumentNode], dict[str, Any], str | None]:
    name = data["mutation"]
    if not isinstance(name, str) or not _MODEL_MUTATION.match(name):
        raise EnvelopeError(
            f"mutation: expected an Amplify model mutation name such as 'createTodo', 'updateTodo' or "
            f"'deleteTodo', got {name!r}; use the 'query' form for other mutations"
        )
    if "input" not in data:
        raise EnvelopeError(f"input: required for mutation {name!r} (the mutation's input object)")
    variables: dict[str, Any] = {"input": _object("input", data["input"])}
    if "condition" in data and data["condition"] is not None:
        variables["condition"] = _object("condition", data["condition"])
    fields = data.get("fields", ["id"])
    if (
        not isinstance(fields, list)
        or not fields
        or not all(isinstance(f, str) and _NAME.match(f) for f in fields)
    ):
        raise EnvelopeError("fields: expected a non-empty list of GraphQL field names, e.g. ['id', 'name']")
    return _model_mutation_document(name, tuple(fields), "condition" in variables), variables, None


@lru_cache(maxsize=256)
def _model_mutation_document(
    name: str, fields: tuple[str, ...], with_condition: bool
) -> tuple[str, DocumentNode]:
    match = _MODEL_MUTATION.match(name)
    assert match is not None
    model = match["model"]
    input_type = f"{match['verb'].capitalize()}{model}Input"
    params, args = f"$input: {input_type}!", "input: $input"
    if with_condition:
        params += f", $condition: Model{model}ConditionInput"
        args += ", condition: $condition"
    operation = name[0].upper() + name[1:]
    text = f"mutation {operation}({params}) {{ {name}({args}) {{ {' '.join(fields)} }} }}"
    return text, parse(text, no_location=True)


def _document(data: Mapping[str, Any]) -> tuple[tuple[str, DocumentNode], dict[str, Any], str | None]:
    query = data["query"]
    if not isinstance(query, str) or not query.strip():
        raise EnvelopeError(f"query: expected a GraphQL document string, got {_json_type(query)}")
    raw_variables = data.get("variables")
    variables = _object("variables", {} if raw_variables is None else raw_variables)
    operation_name = data.get("operationName")
    if operation_name is not None and (
        not isinstance(operation_name, str) or not _NAME.match(operation_name)
    ):
        raise EnvelopeError(f"operationName: expected a GraphQL name, got {operation_name!r}")
    return (query, _parse_document(query)), variables, operation_name


@lru_cache(maxsize=512)
def _parse_document(query: str) -> DocumentNode:
    try:
        return parse(query)
    except GraphQLError as exc:
        raise EnvelopeError(f"query: not a valid GraphQL document: {exc.message}") from None
    except RecursionError:
        raise EnvelopeError("query: the GraphQL document nests too deeply") from None


def _single_mutation_field(document: DocumentNode, operation_name: str | None) -> FieldNode:
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if not operations:
        raise EnvelopeError("query: the document has no operation")
    if operation_name is not None:
        chosen = [op for op in operations if op.name is not None and op.name.value == operation_name]
        if not chosen:
            raise EnvelopeError(f"operationName: no operation named {operation_name!r} in the document")
        operation = chosen[0]
    elif len(operations) > 1:
        raise EnvelopeError(
            f"query: the document has {len(operations)} operations; send one per message or name it in operationName"
        )
    else:
        operation = operations[0]
    if operation.operation is not OperationType.MUTATION:
        raise EnvelopeError(
            f"query: the operation is a {operation.operation.value}; this worker only sends mutations"
        )
    selections = operation.selection_set.selections
    fields = [s for s in selections if isinstance(s, FieldNode)]
    if len(fields) != len(selections):
        raise EnvelopeError(
            "query: fragments at the mutation's top level are not accepted; name the field directly"
        )
    if len(fields) != 1:
        names = ", ".join(f.name.value for f in fields)
        raise EnvelopeError(
            f"query: expected exactly one mutation field per message, found {len(fields)} ({names})"
        )
    return fields[0]


def _bind_idempotency(request: MutationRequest, mutation_field: FieldNode) -> MutationRequest:
    """For creates, make the idempotency key and ``input.id`` one and the same value."""
    if not request.is_create:
        return request
    key, record_id = request.idempotency_key, request.record_id
    if key is None:
        return request if record_id is None else _replace_key(request, record_id)
    if not _input_is_variable(mutation_field):
        raise EnvelopeError(
            f"idempotencyKey on {request.field!r} needs the input passed as a variable: "
            f"{request.field}(input: $input) with variables.input"
        )
    input_value = request.variables.get("input")
    if not isinstance(input_value, Mapping):
        raise EnvelopeError("variables.input: expected a JSON object carrying the record to create")
    if record_id is None:
        if "id" in input_value and input_value["id"] is not None:
            raise EnvelopeError(f"input.id: expected a string, got {_json_type(input_value['id'])}")
        variables = {**request.variables, "input": {**input_value, "id": key}}
        return replace(request, variables=variables)
    if record_id != key:
        raise EnvelopeError(
            f"idempotencyKey {key!r} differs from input.id {record_id!r}; for a create the key is the record id"
        )
    return request


def _replace_key(request: MutationRequest, key: str) -> MutationRequest:
    return replace(request, idempotency_key=key)


def _input_is_variable(mutation_field: FieldNode) -> bool:
    return any(
        arg.name.value == "input" and isinstance(arg.value, VariableNode) and arg.value.name.value == "input"
        for arg in mutation_field.arguments or ()
    )


def _object(name: str, value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise EnvelopeError(f"{name}: expected a JSON object, got {_json_type(value)}")
    return value


def _json_type(value: Any) -> str:
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean", type(None): "null"}
    if isinstance(value, bool | type(None) | dict | list | str):
        return names[type(value)]
    return "a number" if isinstance(value, int | float) else type(value).__name__
