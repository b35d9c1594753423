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
id, an id without a key becomes the key, and the two may not differ. A create with neither gets the id of the
message that carried it (``message_id``: the SQS message id, the EventBridge event id), so a retry or a
redelivery of the same message is still one record; the worker's ``CREATE_ID_FROM_MESSAGE=false`` opts out
(Amplify then generates the id, and such a create is never retried after an answer that did not come).
A model keyed by other fields (``MODEL_KEYS``, Amplify's ``@primaryKey``) names its record by all of them: a
one-field key takes the idempotency key like ``id`` does; a composite one cannot, and such a key is refused
unless every key field is in the input. Only the input really sent counts: ``$input``'s value, or the literal.

Sync semantics ('mutation' form only): ``"upsert": true`` on a create makes it an upsert (its update,
``upsert_update``, is built here, with both fields checked against the allow-list); ``"version": {"field", "value"}``
merges the version's condition into the envelope's own and writes the value (``worker.versioning``). The sending and
the read-back that tells a stale event from a missing record are ``worker.synced``'s.

Memory is bounded whatever the input: sizes are checked before anything is parsed, documents are parsed
without locations and with a token limit, and only documents that passed every check (the allow-list
included) are cached, in a cache bounded by bytes.
"""

from __future__ import annotations

import json
import re
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from dataclasses import field as dataclass_field
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Generic, TypeVar, overload

from worker.errors import EnvelopeError, NotAllowedError, capped
from worker.names import FIELD_NAME_RE
from worker.shapes import is_object
from worker.versioning import Version, merge_condition, parse_version

if TYPE_CHECKING:
    from graphql import DocumentNode, FieldNode, OperationDefinitionNode

# graphql-core (about 100 ms to import) is imported only by the 'query' form: the 'mutation' form builds its own
# document from validated names, so there is nothing in it to parse or to check.

#: SQS accepts up to 1 MiB per message; anything larger cannot have come from a well-behaved producer.
MAX_ENVELOPE_BYTES = 1024 * 1024
#: A one-field mutation document is a few KB even with a full selection set; 64 KiB is far beyond any.
MAX_QUERY_BYTES = 64 * 1024
#: graphql-core's own guard against documents that are small in bytes but huge in tokens.
MAX_QUERY_TOKENS = 10_000
MAX_FIELDS = 100
MAX_NAME = 128
MAX_IDEMPOTENCY_KEY = 256
#: Strings echoed in a reason (names, keys) are cut to this length.
MAX_ECHO = 80
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
        "upsert",
    }
)
_NAMED_ONLY = ("input", "condition", "fields")
_DOCUMENT_ONLY = ("variables", "operationName")
_NAME = FIELD_NAME_RE
_MODEL_MUTATION = re.compile(r"^(?P<verb>create|update|delete)(?P<model>[A-Z][_0-9A-Za-z]*)$")


T = TypeVar("T")


class _derived(Generic[T]):
    """``functools.cached_property`` without its lock: on Python 3.11 every first read takes a per-class
    ``RLock`` (3.12 removed it), and every record's request is read so, by the one task that built it. Computed on
    the first read, then kept in the instance's ``__dict__``, where later reads find it without this descriptor."""

    def __init__(self, compute: Callable[[Any], T]) -> None:
        self._compute = compute
        self._name = compute.__name__
        self.__doc__ = compute.__doc__

    @overload
    def __get__(self, instance: None, owner: type | None = None) -> _derived[T]: ...

    @overload
    def __get__(self, instance: object, owner: type | None = None) -> T: ...

    def __get__(self, instance: object | None, owner: type | None = None) -> T | _derived[T]:
        if instance is None:
            return self
        value = instance.__dict__[self._name] = self._compute(instance)
        return value


@dataclass(frozen=True)
class MutationRequest:
    """A validated mutation, ready to sign and send."""

    field: str
    #: The parsed document of a 'query' form; None for the 'mutation' form, whose text the worker built itself
    #: (one field, every value a variable: nothing in it for ``input_values`` to find). ``document`` parses it
    #: on first use.
    parsed: DocumentNode | None = dataclass_field(repr=False, compare=False)
    variables: dict[str, Any] = dataclass_field(repr=False)
    operation_name: str | None = None
    idempotency_key: str | None = None
    #: The document's text as sent: printing the AST again for every request costs more than signing it.
    query: str = dataclass_field(default="", repr=False, compare=False)
    #: The caller's own ``condition`` argument is set: a conditional-check failure may be that condition.
    has_condition: bool = False
    #: Where a create's record id came from: "input", "idempotencyKey", "message", or None (Amplify makes one).
    id_source: str | None = None
    #: The model's primary key: ``id``, or what ``MODEL_KEYS`` says (Amplify's ``@primaryKey``: key, sort keys).
    key_fields: tuple[str, ...] = ("id",)
    #: The field's ``input`` is ``$input`` (else a literal in the document, or absent).
    input_is_variable: bool = True
    #: For a literal ``input``: the key fields' values written in the document (variables do not count).
    literal_key: tuple[tuple[str, Any], ...] = ()
    #: Where the field's data is in the answer: its alias, else its name.
    response_key: str = ""
    #: An Amplify model mutation (``create|update|delete<Model>`` taking ``<Verb><Model>Input``), whose record
    #: rules apply (ids, keys, "already applied"); a custom mutation named alike (``createCheckoutSession``
    #: taking a ``CheckoutInput``) is sent as it is.
    is_model: bool = True
    #: ``"upsert": true``: this is the create; when its key condition fails, ``upsert_update`` is sent.
    upsert: bool = False
    #: ``"version": {"field", "value"}``: already merged into ``variables`` (the condition, and the
    #: value written into the field); kept to read the stored version back when the write is refused.
    version: Version | None = None
    #: The upsert's update: ``update<Model>`` with the same input, the envelope's own condition and the version's.
    upsert_update: MutationRequest | None = dataclass_field(default=None, repr=False, compare=False)

    @property
    def document(self) -> DocumentNode:
        """The parsed document (for the 'mutation' form, parsed from ``query`` on first use: the send needs none)."""
        if self.parsed is None:
            from graphql import parse

            object.__setattr__(self, "parsed", parse(self.query, no_location=True))
        assert self.parsed is not None
        return self.parsed

    @property
    def is_create(self) -> bool:
        return self.is_model and self.field.startswith("create")

    @property
    def is_delete(self) -> bool:
        return self.is_model and self.field.startswith("delete")

    @property
    def is_idempotent(self) -> bool:
        """Whether sending it twice is still one effect: a create needs a record id for that."""
        return not self.is_create or self.record_id is not None

    @_derived
    def record_key(self) -> dict[str, Any] | None:
        """The record the mutation names: every key field's value in its ``input`` (None: not all of them).

        Only the input that is really sent counts: ``variables.input`` when the field takes ``$input``, the
        literal's values when it takes a literal (a stray ``variables.input`` is not the record).
        """
        if self.input_is_variable:
            value = self.variables.get("input")
            source = value if is_object(value) else {}
        else:
            source = dict(self.literal_key)
        key = {name: source.get(name) for name in self.key_fields}
        return key if all(_is_key_value(v) for v in key.values()) else None

    @_derived
    def record_id(self) -> str | None:
        """The record key as text: the value of a one-field key, ``field=value, ...`` for a composite one."""
        key = self.record_key
        if key is None:
            return None
        if len(key) == 1:
            return str(next(iter(key.values())))
        return ", ".join(f"{name}={json.dumps(value)}" for name, value in key.items())

    @property
    def model(self) -> str | None:
        match = _MODEL_MUTATION.match(self.field) if self.is_model else None
        return match["model"] if match else None


def _is_key_value(value: Any) -> bool:
    """A value that can name one record: a non-empty string, or a number (never a boolean or null)."""
    if isinstance(value, str):
        return bool(value)
    return isinstance(value, int | float) and not isinstance(value, bool)


def parse_envelope(
    raw: str | bytes | Mapping[str, Any],
    allowed_fields: frozenset[str],
    *,
    message_id: str | None = None,
    model_keys: Mapping[str, tuple[str, ...]] | None = None,
) -> MutationRequest:
    """Validate one message; raise ``EnvelopeError`` or ``NotAllowedError`` with a precise reason.

    ``message_id`` is the identity of the message that carried the envelope; a create of an ``id``-keyed model
    with no id of its own gets it as its record id (None: Amplify generates one, and the create is not
    idempotent). ``model_keys`` names the models whose primary key is not ``id`` (``WorkerConfig.model_keys``).
    """
    keys = model_keys or {}
    data = _decode(raw)
    unknown = sorted(set(data) - ENVELOPE_KEYS)
    if unknown:
        shown = ", ".join(_echo(key) for key in unknown[:5]) + (" ..." if len(unknown) > 5 else "")
        raise EnvelopeError(
            f"unknown envelope key(s) {shown}; expected only {', '.join(sorted(ENVELOPE_KEYS))}"
        )
    raw_version = data.get("version", 1)
    version = None
    if isinstance(raw_version, dict):
        version = parse_version(raw_version, _NAME.match)
    elif raw_version != 1 or isinstance(raw_version, bool):
        raise EnvelopeError(
            f'version: expected 1 (the envelope format) or {{"field": ..., "value": ...}} (a versioned write), '
            f"got {_echo(raw_version)}"
        )
    upsert = data.get("upsert", False)
    if not isinstance(upsert, bool):
        raise EnvelopeError(f"upsert: expected true or false, got {_json_type(upsert)}")
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
        name, fields, variables, key_fields = _named(data, allowed_fields, keys)
        if upsert or version is not None:
            return _synced(name, fields, variables, key, keys, allowed_fields, message_id, upsert, version)
        request = MutationRequest(
            name,
            None,
            variables,
            None,
            key,
            _model_mutation_document(name, fields, "condition" in variables),
            has_condition="condition" in variables,
            key_fields=key_fields,
            response_key=name,
        )
        return _bind_idempotency(request, message_id)
    stray = [k for k in _NAMED_ONLY if k in data]
    if stray:
        raise EnvelopeError(f"{stray[0]!r} belongs to the 'mutation' form; the 'query' form takes variables")
    if upsert or version is not None:
        raise EnvelopeError(
            f"{'upsert' if upsert else 'version'}: only with the 'mutation' form (the worker builds the condition "
            "and the update into a document it writes itself); the 'query' form is sent as it is"
        )
    (text, document), variables, operation_name = _document(data, allowed_fields)

    operation, mutation_field = _single_mutation_field(document, operation_name)
    name = mutation_field.name.value
    _check_allowed(name, allowed_fields)
    key_fields = _key_fields(name, keys)
    request = MutationRequest(
        name,
        document,
        variables,
        operation_name,
        key,
        text,
        has_condition=_has_condition(operation, mutation_field, variables),
        key_fields=key_fields,
        input_is_variable=_input_is_variable(mutation_field),
        literal_key=_literal_key(mutation_field, key_fields),
        response_key=mutation_field.alias.value if mutation_field.alias else name,
        is_model=_is_model_mutation(operation, mutation_field),
    )
    return _bind_idempotency(request, message_id)


def _decode(raw: str | bytes | Mapping[str, Any]) -> dict[str, Any]:
    if not isinstance(raw, str | bytes | bytearray):  # a Mapping: a direct invocation's or an event's detail
        return dict(raw)
    if isinstance(raw, str):  # an ASCII text is its own UTF-8 (``isascii`` reads a flag CPython keeps)
        size = len(raw) if raw.isascii() else len(raw.encode("utf-8", "surrogatepass"))
    else:
        size = len(raw)
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
    # isprintable: no control, format or unassigned characters (U+FFFF) and no lone surrogates: a key becomes a
    # record id in DynamoDB and a DLQ attribute, and neither takes those.
    if not isinstance(value, str) or not value or len(value) > MAX_IDEMPOTENCY_KEY or not value.isprintable():
        raise EnvelopeError(
            f"idempotencyKey: expected a string of 1-{MAX_IDEMPOTENCY_KEY} printable characters, "
            f"got {_json_type(value)}"
        )
    return value


def _check_allowed(name: str, allowed_fields: frozenset[str]) -> None:
    if name not in allowed_fields:
        raise NotAllowedError(
            f"mutation field {_echo(name)} is not on this worker's allow-list "
            f"({', '.join(sorted(allowed_fields))}); refused before sending"
        )


def _named(
    data: Mapping[str, Any], allowed_fields: frozenset[str], model_keys: Mapping[str, tuple[str, ...]]
) -> tuple[str, tuple[str, ...], dict[str, Any], tuple[str, ...]]:
    """(field, selected fields, variables, the model's key fields) of the 'mutation' form."""
    name = data["mutation"]
    if not isinstance(name, str) or not _MODEL_MUTATION.match(name):
        raise EnvelopeError(
            f"mutation: expected an Amplify model mutation name such as 'createTodo', 'updateTodo' or "
            f"'deleteTodo', got {_echo(name)}; use the 'query' form for other mutations"
        )
    _check_allowed(name, allowed_fields)  # before building anything: nothing is kept for a refused name
    if "input" not in data:
        raise EnvelopeError(f"input: required for mutation {name!r} (the mutation's input object)")
    variables: dict[str, Any] = {"input": _object("input", data["input"])}
    if "condition" in data and data["condition"] is not None:
        variables["condition"] = _object("condition", data["condition"])
    key_fields = _key_fields(name, model_keys)
    if "fields" not in data:  # the record's key (names the configuration checked)
        return name, key_fields, variables, key_fields
    fields = data["fields"]
    if (
        not isinstance(fields, list)
        or not 0 < len(fields) <= MAX_FIELDS
        or not all(isinstance(f, str) and len(f) <= MAX_NAME and _NAME.match(f) for f in fields)
    ):
        raise EnvelopeError(
            f"fields: expected a non-empty list of at most {MAX_FIELDS} GraphQL field names, e.g. ['id', 'name']"
        )
    return name, tuple(fields), variables, key_fields


def _synced(
    name: str,
    fields: tuple[str, ...],
    variables: dict[str, Any],
    key: str | None,
    model_keys: Mapping[str, tuple[str, ...]],
    allowed_fields: frozenset[str],
    message_id: str | None,
    upsert: bool,
    version: Version | None,
) -> MutationRequest:
    """An upsert and/or a versioned write, built from the 'mutation' form's parts.

    The envelope's own ``condition`` and the version's are merged (``and``: both must hold). An upsert's create is
    sent without them (a create's only condition is Amplify's key condition, so its refusal can only mean the
    record exists); its update carries them.
    """
    match = _MODEL_MUTATION.match(name)
    assert match is not None
    verb, model = match["verb"], match["model"]
    key_fields = _key_fields(name, model_keys)
    own = variables.get("condition")
    record_input = dict(variables["input"])
    if version is not None:
        if version.field in key_fields:
            raise EnvelopeError(
                f"version.field: {_echo(version.field)} is part of {model}'s primary key; a version must be a "
                "field the write can change"
            )
        if verb == "create" and not upsert:
            raise EnvelopeError(
                'version: a create applies once (Amplify refuses an existing key); add "upsert": true to create '
                "or update by version"
            )
        if verb != "delete":
            if version.field in record_input and record_input[version.field] != version.value:
                raise EnvelopeError(
                    f"input.{_echo(version.field)} differs from version.value; leave it out (the worker writes "
                    "the version into it)"
                )
            record_input[version.field] = version.value
    if not upsert:
        assert version is not None
        sent = {"input": record_input, "condition": merge_condition(own, version)}
        request = MutationRequest(
            name,
            None,
            sent,
            None,
            key,
            _model_mutation_document(name, fields, True),
            has_condition=own is not None,
            key_fields=key_fields,
            response_key=name,
            version=version,
        )
        return _bind_idempotency(request, message_id)
    if verb != "create":
        raise EnvelopeError(f"upsert: only on a create<Model> mutation, not {_echo(name)}")
    update_name = f"update{model}"
    if update_name not in allowed_fields:
        raise NotAllowedError(
            f"upsert needs both {name} and {update_name} on this worker's allow-list; {_echo(update_name)} is not "
            f"({', '.join(sorted(allowed_fields))}); refused before sending"
        )
    create = MutationRequest(
        name,
        None,
        {"input": record_input},
        None,
        key,
        _model_mutation_document(name, fields, False),
        key_fields=key_fields,
        response_key=name,
    )
    create = _bind_idempotency(create, message_id)
    if create.record_key is None or create.id_source == "message":
        raise EnvelopeError(
            f"upsert needs the record's key in input ({', '.join(key_fields)}) or an idempotencyKey: without one "
            "every message would create a record of its own, and there is nothing to update"
        )
    update_variables: dict[str, Any] = {"input": create.variables["input"]}
    condition = merge_condition(own, version) if version is not None else own
    if condition is not None:
        update_variables["condition"] = condition
    update = MutationRequest(
        update_name,
        None,
        update_variables,
        None,
        create.idempotency_key,
        _model_mutation_document(update_name, fields, condition is not None),
        has_condition=own is not None,
        key_fields=key_fields,
        response_key=update_name,
        version=version,
    )
    return replace(create, upsert=True, version=version, upsert_update=update)


@lru_cache(maxsize=128)
def _model_mutation_document(name: str, fields: tuple[str, ...], with_condition: bool) -> str:
    """``mutation CreateTodo($input: CreateTodoInput![, $condition: ...]) { createTodo(input: $input[, ...]) { id } }``.

    Every name in it matched ``_MODEL_MUTATION`` or ``_NAME``: one operation, one mutation field, no directive,
    the input as the variable ``$input`` (tests/worker/test_envelope_named_form.py parses it to be sure)."""
    match = _MODEL_MUTATION.match(name)
    assert match is not None
    model = match["model"]
    input_type = f"{match['verb'].capitalize()}{model}Input"
    params, args = f"$input: {input_type}!", "input: $input"
    if with_condition:
        params += f", $condition: Model{model}ConditionInput"
        args += ", condition: $condition"
    operation = name[0].upper() + name[1:]
    return f"mutation {operation}({params}) {{ {name}({args}) {{ {' '.join(fields)} }} }}"


def _document(
    data: Mapping[str, Any], allowed_fields: frozenset[str]
) -> tuple[tuple[str, DocumentNode], dict[str, Any], str | None]:
    query = data["query"]
    if not isinstance(query, str) or not query.strip():
        raise EnvelopeError(f"query: expected a GraphQL document string, got {_json_type(query)}")
    size = len(query.encode("utf-8", "surrogatepass"))
    if size > MAX_QUERY_BYTES:
        raise EnvelopeError(f"query: the document is {size} bytes; the limit is {MAX_QUERY_BYTES} bytes")
    raw_variables = data.get("variables")
    variables = _object("variables", {} if raw_variables is None else raw_variables)
    operation_name = data.get("operationName")
    if operation_name is not None and (
        not isinstance(operation_name, str)
        or len(operation_name) > MAX_NAME
        or not _NAME.match(operation_name)
    ):
        raise EnvelopeError(f"operationName: expected a GraphQL name, got {_echo(operation_name)}")
    document = _DOCUMENTS.get(query)
    if document is None:
        document = _parse_document(query)
        _, mutation_field = _single_mutation_field(document, operation_name)
        _check_allowed(mutation_field.name.value, allowed_fields)
        _DOCUMENTS.put(query, document)  # only a document that passed every check is kept
    return (query, document), variables, operation_name


def _parse_document(query: str) -> DocumentNode:
    from graphql import GraphQLError, parse

    try:
        return parse(query, no_location=True, max_tokens=MAX_QUERY_TOKENS)
    except GraphQLError as exc:
        raise EnvelopeError(f"query: not a valid GraphQL document: {capped(exc.message, 200)}") from None
    except RecursionError:
        raise EnvelopeError("query: the GraphQL document nests too deeply") from None


class DocumentCache:
    """Parsed documents by text, least recently used first out, bounded by the total size of their text.

    Producers send the same few documents over and over; parsing one again costs more than signing it.
    """

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._entries: OrderedDict[str, DocumentNode] = OrderedDict()
        self._bytes = 0

    def get(self, text: str) -> DocumentNode | None:
        document = self._entries.get(text)
        if document is not None:
            self._entries.move_to_end(text)
        return document

    def put(self, text: str, document: DocumentNode) -> None:
        if text in self._entries or len(text) > self.max_bytes // 8:
            return
        self._entries[text] = document
        self._bytes += len(text)
        while self._bytes > self.max_bytes:
            evicted, _ = self._entries.popitem(last=False)
            self._bytes -= len(evicted)

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def size_bytes(self) -> int:
        return self._bytes


#: 256 KiB of document text (a parsed document without locations takes about 10-30x its text).
_DOCUMENTS = DocumentCache(256 * 1024)


def _single_mutation_field(
    document: DocumentNode, operation_name: str | None
) -> tuple[OperationDefinitionNode, FieldNode]:
    from graphql import FieldNode, OperationDefinitionNode, OperationType

    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if not operations:
        raise EnvelopeError("query: the document has no operation")
    if len(operations) > 1:  # even with operationName: the whole document is sent, the others' text with it
        raise EnvelopeError(
            f"query: the document has {len(operations)} operations; send exactly one per message"
        )
    operation = operations[0]
    if operation_name is not None and (operation.name is None or operation.name.value != operation_name):
        raise EnvelopeError(f"operationName: no operation named {_echo(operation_name)} in the document")
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
        names = ", ".join(_echo(f.name.value) for f in fields[:5])
        raise EnvelopeError(
            f"query: expected exactly one mutation field per message, found {len(fields)} ({names})"
        )
    field = fields[0]
    if field.directives:
        names = ", ".join(f"@{d.name.value}" for d in field.directives[:3])
        raise EnvelopeError(
            f"query: directives on the mutation field ({_echo(names)}) are refused: @skip/@include can drop "
            "the field, and AppSync then answers success for a mutation that never ran"
        )
    _check_selection(document, field)
    return operation, field


#: How deep a query-form selection may reach below the mutation field (``createPost { author { posts { id } } }``
#: is 3). Account B's resolvers run as an Amplify admin, and the selection decides which relation resolvers run
#: and what comes back: the named form selects top-level fields only.
MAX_SELECTION_DEPTH = 3


def _check_selection(document: DocumentNode, field: FieldNode) -> None:
    """No fragments anywhere, no aliases below the mutation field, and a bounded depth (iteratively: no
    recursion on hostile nesting)."""
    from graphql import FieldNode, FragmentDefinitionNode

    if any(isinstance(d, FragmentDefinitionNode) for d in document.definitions):
        raise EnvelopeError("query: fragment definitions are refused; select the fields directly")
    pending = [(s, 1) for s in (field.selection_set.selections if field.selection_set else ())]
    while pending:
        node, depth = pending.pop()
        if not isinstance(node, FieldNode):
            raise EnvelopeError("query: fragments in the selection are refused; select the fields directly")
        if node.alias is not None:
            raise EnvelopeError(
                f"query: aliases inside the selection are refused ({_echo(node.alias.value)}: "
                f"{_echo(node.name.value)}); each field may be selected once, by its name"
            )
        if node.selection_set is not None:
            if depth >= MAX_SELECTION_DEPTH:
                raise EnvelopeError(
                    f"query: the selection reaches deeper than {MAX_SELECTION_DEPTH} levels below the mutation "
                    f"field (at {_echo(node.name.value)}); select what subscribers need, not the graph"
                )
            pending.extend((child, depth + 1) for child in node.selection_set.selections)


def _has_condition(
    operation: OperationDefinitionNode, mutation_field: FieldNode, variables: Mapping[str, Any]
) -> bool:
    """Whether the mutation carries a ``condition`` of the caller's (a literal, or a variable set or defaulted)."""
    from graphql import NullValueNode, VariableNode

    for argument in mutation_field.arguments or ():
        if argument.name.value != "condition":
            continue
        value = argument.value
        if isinstance(value, VariableNode):
            name = value.name.value
            if name in variables:
                return variables[name] is not None
            default = next(
                (
                    d.default_value
                    for d in operation.variable_definitions or ()
                    if d.variable.name.value == name
                ),
                None,
            )
            return default is not None and not isinstance(default, NullValueNode)
        return not isinstance(value, NullValueNode)
    return False


def _key_fields(field: str, model_keys: Mapping[str, tuple[str, ...]]) -> tuple[str, ...]:
    match = _MODEL_MUTATION.match(field)
    return model_keys.get(match["model"], ("id",)) if match else ("id",)


#: What ``_derived`` keeps in a request's ``__dict__``: derived from the fields, never copied.
_DERIVED = ("record_key", "record_id")


def _with(request: MutationRequest, **changes: Any) -> MutationRequest:
    """``dataclasses.replace`` for the one request every create makes twice, at a tenth of its cost: the same
    fields with ``changes`` (no ``__post_init__`` to rerun), and nothing derived from the old ones unless
    ``changes`` gives it (``record_key``/``record_id`` when the caller knows them)."""
    clone = object.__new__(MutationRequest)
    state = {k: v for k, v in request.__dict__.items() if k not in _DERIVED}
    state.update(changes)
    clone.__dict__.update(state)
    return clone


def _bind_idempotency(request: MutationRequest, message_id: str | None) -> MutationRequest:
    """For creates, make the idempotency key and the record's key one and the same (or refuse clearly)."""
    if not request.is_create:
        return request
    key, record_id = request.idempotency_key, request.record_id
    fields = request.key_fields
    key_field = fields[0]
    input_value = request.variables.get("input") if request.input_is_variable else None
    if (
        len(fields) == 1
        and is_object(input_value)
        and input_value.get(key_field) is not None
        and record_id is None
    ):
        raise EnvelopeError(
            f"input.{key_field}: expected a non-empty string, got {_json_type(input_value[key_field])}"
        )
    if len(fields) > 1:  # a composite key: only the input's key fields can name the record
        if key is not None and record_id is None:
            raise EnvelopeError(
                f"idempotencyKey cannot name one {request.model} record: its primary key is "
                f"({', '.join(fields)}); put every key field in input (the key is then only a label)"
            )
        return _with(request, id_source="input") if record_id is not None else request
    if key is None and record_id is not None:
        return _with(request, idempotency_key=record_id, id_source="input")
    if key is None:
        if message_id is None or fields != ("id",) or not is_object(input_value):
            return request  # no id to give it: Amplify generates one (or AppSync refuses a missing key)
        variables = {**request.variables, "input": {**input_value, "id": message_id}}
        return _with(
            request,
            variables=variables,
            idempotency_key=message_id,
            id_source="message",
            record_key={"id": message_id},
            record_id=message_id,
        )
    if record_id is not None:
        if record_id != key:
            raise EnvelopeError(
                f"idempotencyKey differs from input.{key_field}; for a create the key is the record's key "
                "(both are in the message body)"
            )
        return _with(request, id_source="input")
    if not is_object(input_value):
        raise EnvelopeError(
            f"idempotencyKey on {request.field!r} needs the input passed as a variable: "
            f"{request.field}(input: $input) with variables.input (a JSON object)"
        )
    variables = {**request.variables, "input": {**input_value, key_field: key}}
    # the record is the key now: what record_key and record_id would compute again, given
    return _with(
        request, variables=variables, id_source="idempotencyKey", record_key={key_field: key}, record_id=key
    )


def _literal_key(mutation_field: FieldNode, key_fields: tuple[str, ...]) -> tuple[tuple[str, Any], ...]:
    """The key fields' values in a literal ``input: {...}`` (strings and numbers as written)."""
    from graphql import FloatValueNode, IntValueNode, ObjectValueNode, StringValueNode

    for argument in mutation_field.arguments or ():
        if argument.name.value == "input" and isinstance(argument.value, ObjectValueNode):
            found: list[tuple[str, Any]] = []
            for field in argument.value.fields:
                value = field.value
                if field.name.value in key_fields and isinstance(value, StringValueNode):
                    found.append((field.name.value, value.value))
                elif field.name.value in key_fields and isinstance(value, IntValueNode):
                    found.append((field.name.value, int(value.value)))
                elif field.name.value in key_fields and isinstance(value, FloatValueNode):
                    found.append((field.name.value, float(value.value)))
            return tuple(found)
    return ()


def _is_model_mutation(operation: OperationDefinitionNode, mutation_field: FieldNode) -> bool:
    """``create|update|delete<Model>`` whose ``$input`` is declared ``<Verb><Model>Input`` (Amplify's own
    naming); a literal input cannot say, and the name decides."""
    from graphql import ListTypeNode, NonNullTypeNode, VariableNode

    match = _MODEL_MUTATION.match(mutation_field.name.value)
    if match is None:
        return False
    argument = next((a for a in mutation_field.arguments or () if a.name.value == "input"), None)
    if argument is None or not isinstance(argument.value, VariableNode):
        return True
    name = argument.value.name.value
    definition = next(
        (d for d in operation.variable_definitions or () if d.variable.name.value == name), None
    )
    if definition is None:
        return False
    type_node: Any = definition.type
    while isinstance(type_node, NonNullTypeNode | ListTypeNode):
        if isinstance(type_node, ListTypeNode):
            return False
        type_node = type_node.type
    return bool(type_node.name.value == f"{match['verb'].capitalize()}{match['model']}Input")


def _input_is_variable(mutation_field: FieldNode) -> bool:
    from graphql import VariableNode

    return any(
        arg.name.value == "input" and isinstance(arg.value, VariableNode) and arg.value.name.value == "input"
        for arg in mutation_field.arguments or ()
    )


def _object(name: str, value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise EnvelopeError(f"{name}: expected a JSON object, got {_json_type(value)}")
    return value


def input_values(request: MutationRequest) -> Iterator[str]:
    """Every scalar the mutation carries (variables and literals in the document), as text: what logs mask."""
    yield from _leaves(request.variables)
    if request.upsert_update is not None:  # the envelope's own condition is sent only with the update
        yield from _leaves(request.upsert_update.variables)
    if request.parsed is not None:  # the 'mutation' form has no literals
        yield from _literal_leaves(request.parsed)


def _leaves(value: Any) -> Iterator[str]:
    """Every scalar in ``value``, walked with a stack: inputs may nest as deep as JSON allows."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, Mapping):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, str | int | float) and not isinstance(item, bool):
            yield str(item)


def _literal_leaves(node: Any) -> Iterator[str]:
    """Every literal scalar in the arguments of the document's top-level fields (walked with a stack)."""
    from graphql import (
        DocumentNode,
        FieldNode,
        FloatValueNode,
        IntValueNode,
        ListValueNode,
        ObjectValueNode,
        OperationDefinitionNode,
        StringValueNode,
    )

    stack: list[Any] = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, StringValueNode | IntValueNode | FloatValueNode):
            yield item.value
        elif isinstance(item, ObjectValueNode):
            stack.extend(field.value for field in item.fields)
        elif isinstance(item, ListValueNode):
            stack.extend(item.values)
        elif isinstance(item, DocumentNode):
            for definition in item.definitions:
                if isinstance(definition, OperationDefinitionNode):
                    for selection in definition.selection_set.selections:
                        if isinstance(selection, FieldNode):
                            stack.extend(argument.value for argument in selection.arguments or ())


def _echo(value: Any) -> str:
    """A value quoted for a reason, cut short: reasons reach logs and DLQ attributes."""
    return capped(repr(value), MAX_ECHO)


def _json_type(value: Any) -> str:
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean", type(None): "null"}
    if isinstance(value, bool | type(None) | dict | list | str):
        return names[type(value)]
    return "a number" if isinstance(value, int | float) else type(value).__name__
