"""The API's schema, parsed GraphQL documents (cached by text) and AppSync-worded GraphQL errors.

AppSync runs graphql-java, so its validation messages read ``Validation error of type FieldUndefined: Field
'x' in type 'Mutation' is undefined @ 'x'`` ([GOH81] in ``responses``). graphql-core finds the same problems
with other words; ``appsync_message`` rewrites the common ones into graphql-java's phrasing (the ``@ 'a/b'``
suffix is the field path inside the document). Anything not recognised keeps graphql-core's text behind
``Validation error of type <kind>:`` so clients classify it the same way.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    GraphQLError,
    GraphQLInputObjectType,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
    Visitor,
    build_schema,
    parse,
    validate,
    visit,
)

SCHEMA_PATH = Path(__file__).with_name("schema.graphql")
MAX_CACHED_DOCUMENTS = 512


@cache
def load_schema() -> GraphQLSchema:
    """The transformed Amplify schema, built once per process."""
    return build_schema(SCHEMA_PATH.read_text(encoding="utf-8"))


@dataclass(frozen=True)
class PreparedDocument:
    """A parsed document and its validation outcome; ``errors`` are AppSync-shaped error objects."""

    document: DocumentNode | None
    operations: tuple[OperationDefinitionNode, ...]
    errors: tuple[dict[str, Any], ...]


class DocumentCache:
    """Parse and validate each distinct query text once (the benchmark sends the same few documents)."""

    def __init__(self, schema: GraphQLSchema, limit: int = MAX_CACHED_DOCUMENTS) -> None:
        self.schema = schema
        self.limit = limit
        self._lock = threading.Lock()
        self._documents: dict[str, PreparedDocument] = {}

    def get(self, text: str) -> PreparedDocument:
        with self._lock:
            found = self._documents.get(text)
        if found is not None:
            return found
        prepared = prepare(self.schema, text)
        with self._lock:
            if len(self._documents) >= self.limit:
                self._documents.pop(next(iter(self._documents)))
            self._documents[text] = prepared
        return prepared


def prepare(schema: GraphQLSchema, text: str) -> PreparedDocument:
    try:
        document = parse(text)
    except GraphQLError as exc:
        return PreparedDocument(None, (), (syntax_error(exc),))
    operations = tuple(d for d in document.definitions if isinstance(d, OperationDefinitionNode))
    problems = validate(schema, document)
    if problems:
        paths = field_paths(document)
        return PreparedDocument(
            document, operations, tuple(validation_error(schema, e, paths) for e in problems)
        )
    return PreparedDocument(document, operations, ())


def select_operation(prepared: PreparedDocument, name: str | None) -> OperationDefinitionNode | str | None:
    """The operation to run; ``"ambiguous"`` when several exist and no name was given, None when absent."""
    if name:
        return next((op for op in prepared.operations if op.name and op.name.value == name), None)
    if len(prepared.operations) > 1:
        return "ambiguous"
    return prepared.operations[0] if prepared.operations else None


def top_level_fields(operation: OperationDefinitionNode) -> list[FieldNode]:
    return [s for s in operation.selection_set.selections if isinstance(s, FieldNode)]


def type_name(operation: OperationDefinitionNode) -> str:
    return {OperationType.QUERY: "Query", OperationType.MUTATION: "Mutation"}.get(
        operation.operation, "Subscription"
    )


# --- AppSync-shaped error objects ---------------------------------------------------------------------------
def _locations(error: GraphQLError) -> list[dict[str, Any]] | None:
    if not error.locations:
        return None
    return [{"line": loc.line, "column": loc.column, "sourceName": None} for loc in error.locations[:1]]


def syntax_error(error: GraphQLError) -> dict[str, Any]:
    found = re.search(r"found (.+?)\.?$", error.message)
    token = found.group(1).strip("'") if found else "?"
    loc = error.locations[0] if error.locations else None
    where = f" at line {loc.line} column {loc.column}" if loc else ""
    return {
        "path": None,
        "locations": _locations(error),
        "message": f"Invalid Syntax : offending token '{token}'{where}",
    }


def validation_error(schema: GraphQLSchema, error: GraphQLError, paths: dict[int, str]) -> dict[str, Any]:
    node_path = next((paths[id(n)] for n in (error.nodes or ()) if id(n) in paths), "")
    return {
        "path": None,
        "locations": _locations(error),
        "message": appsync_message(error.message, node_path),
    }


_RULES: list[tuple[re.Pattern[str], str]] = [
    (
        re.compile(r"^Cannot query field '(?P<f>[^']+)' on type '(?P<t>[^']+)'\."),
        "FieldUndefined: Field '{f}' in type '{t}' is undefined",
    ),
    (
        re.compile(
            r"^Argument '[^']*\((?P<a>[^:]+):\)' of type '[^']+' is required, but it was not provided\."
        ),
        "MissingFieldArgument: Missing field argument {a}",
    ),
    (
        re.compile(
            r"^Variable '\$[^']+' of type '(?P<v>[^']+)' used in position expecting type '(?P<e>[^']+)'\."
        ),
        "VariableTypeMismatch: Variable type '{v}' doesn't match expected type '{e}'",
    ),
    (re.compile(r"^Unknown argument '(?P<a>[^']+)' on field"), "UnknownArgument: Unknown field argument {a}"),
    (
        re.compile(r"^Expected value of type '(?P<t>[^']+)' to include required field '(?P<f>[^']+)'"),
        "WrongType: argument value is missing required fields '[{f}]' of '{t}'",
    ),
    (
        re.compile(r"^Expected value of type '(?P<t>[^']+)' not to include unknown field '(?P<f>[^']+)'"),
        "WrongType: argument value contains a field not in '{t}': '{f}'",
    ),
    (
        re.compile(r"^Field '(?P<f>[^']+)' of type '(?P<t>[^']+)' must have a selection of subfields"),
        "SubSelectionRequired: Sub selection required for type {t} of field {f}",
    ),
    (re.compile(r"^Unknown type '(?P<t>[^']+)'"), "UnknownType: Unknown type {t}"),
    (re.compile(r"^Variable '\$(?P<v>[^']+)' is not defined"), "UndefinedVariable: Undefined variable {v}"),
    (re.compile(r"^Variable '\$(?P<v>[^']+)' is never used"), "UnusedVariable: Unused variable {v}"),
]


def appsync_message(message: str, path: str) -> str:
    """graphql-core's validation message in graphql-java's words, with AppSync's ``@ 'path'`` suffix."""
    suffix = f" @ '{path}'" if path else ""
    for pattern, template in _RULES:
        match = pattern.match(message)
        if match:
            return f"Validation error of type {template.format(**match.groupdict())}{suffix}"
    return f"Validation error of type WrongType: {message}{suffix}"


_MISSING_FIELD = re.compile(r"to include required field '(?P<f>[^']+)'")
_UNKNOWN_FIELD = re.compile(r"Expected value of type '(?P<t>[^']+)' not to include unknown field")
_NON_NULL = re.compile(r"non-null type '(?P<t>[^']+)'")
_VARIABLE = re.compile(r"^Variable '\$(?P<v>[^']+)'")
_INPUT_TYPE = re.compile(r"Expected value of type '(?P<t>[^']+)'")


def variable_error(schema: GraphQLSchema, error: GraphQLError) -> dict[str, Any]:
    """A variable-coercion error in AppSync's words ([COMM273] in ``responses``)."""
    message = error.message
    named = _VARIABLE.match(message)
    variable = named["v"] if named else "?"
    locations = _locations(error)
    if (unknown := _UNKNOWN_FIELD.search(message)) is not None:
        text = f"The variables input contains a field that is not defined for input object type '{unknown['t']}' "
        return {"path": None, "locations": None, "message": text}
    if (missing := _MISSING_FIELD.search(message)) is not None:
        owner = _INPUT_TYPE.search(message)
        field_type = _field_type(schema, owner["t"] if owner else "", missing["f"])
        text = f"Variable '{variable}' has coerced Null value for NonNull type '{field_type}'"
    elif (non_null := _NON_NULL.search(message)) is not None:
        text = f"Variable '{variable}' has coerced Null value for NonNull type '{non_null['t']}'"
    else:
        detail = message.split(": ", 1)[-1]
        text = f"Variable '{variable}' has an invalid value: {detail}"
    return {"path": None, "locations": locations, "message": text}


def _field_type(schema: GraphQLSchema, type_name_: str, field: str) -> str:
    owner = schema.get_type(type_name_)
    if isinstance(owner, GraphQLInputObjectType) and field in owner.fields:
        return str(owner.fields[field].type)
    return "?"


class _PathVisitor(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.paths: dict[int, str] = {}

    def enter(self, node: Any, *_: Any) -> None:
        if isinstance(node, FieldNode):
            self.stack.append(node.name.value)
        if self.stack:
            self.paths[id(node)] = "/".join(self.stack)

    def leave(self, node: Any, *_: Any) -> None:
        if isinstance(node, FieldNode):
            self.stack.pop()


def field_paths(document: DocumentNode) -> dict[int, str]:
    """For each node inside a field, graphql-java's ``a/b`` path of that field (only built on errors)."""
    visitor = _PathVisitor()
    visit(document, visitor)
    return visitor.paths
