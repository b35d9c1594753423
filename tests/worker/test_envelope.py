"""The envelope parser: every malformed message gets a precise, permanent reason before any network call."""

from __future__ import annotations

import json

import pytest

from worker.envelope import MAX_ENVELOPE_BYTES, parse_envelope
from worker.errors import EnvelopeError, NotAllowedError

ALLOWED = frozenset({"createTodo", "updateTodo", "deleteTodo"})


def test_named_create_builds_amplify_mutation_and_binds_key_to_id() -> None:
    request = parse_envelope(
        json.dumps(
            {
                "mutation": "createTodo",
                "input": {"name": "a"},
                "idempotencyKey": "k-1",
                "fields": ["id", "name"],
            }
        ),
        ALLOWED,
    )
    assert request.field == "createTodo"
    assert request.variables == {"input": {"name": "a", "id": "k-1"}}
    assert request.idempotency_key == "k-1" and request.record_id == "k-1"
    from graphql import print_ast

    text = print_ast(request.document)
    assert "mutation CreateTodo($input: CreateTodoInput!)" in text
    assert "createTodo(input: $input)" in text and "name" in text


def test_named_update_with_condition() -> None:
    request = parse_envelope(
        {"mutation": "updateTodo", "input": {"id": "1", "done": True}, "condition": {"done": {"eq": False}}},
        ALLOWED,
    )
    from graphql import print_ast

    assert "$condition: ModelTodoConditionInput" in print_ast(request.document)
    assert request.variables["condition"] == {"done": {"eq": False}}
    assert request.idempotency_key is None


def test_document_form_with_id_becomes_the_key() -> None:
    request = parse_envelope(
        {
            "query": "mutation M($input: CreateTodoInput!) { createTodo(input: $input) { id } }",
            "variables": {"input": {"id": "abc", "name": "x"}},
            "operationName": "M",
        },
        ALLOWED,
    )
    assert request.idempotency_key == "abc"
    assert request.operation_name == "M"


def test_a_document_with_two_operations_is_refused_even_when_operation_name_picks_one() -> None:
    """The whole document goes to AppSync: the other operation's text would travel with it. Exactly one."""
    doc = 'mutation A { createTodo(input: {name: "a"}) { id } } mutation B { deleteTodo(input: {id: "1"}) { id } }'
    for name in ("A", "B", None):
        envelope = {"query": doc, **({"operationName": name} if name else {})}
        with pytest.raises(EnvelopeError, match="2 operations; send exactly one per message"):
            parse_envelope(envelope, ALLOWED)
    one = parse_envelope(
        {"query": 'mutation B { deleteTodo(input: {id: "1"}) { id } }', "operationName": "B"}, ALLOWED
    )
    assert one.field == "deleteTodo"
    with pytest.raises(EnvelopeError, match="no operation named 'A'"):
        parse_envelope(
            {"query": 'mutation B { deleteTodo(input: {id: "1"}) { id } }', "operationName": "A"}, ALLOWED
        )


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        (b"\xff\xfe", "not valid UTF-8"),
        ("", "empty"),
        ("[1, 2]", "must be a JSON object, got an array"),
        ("{not json", "not JSON"),
        ("[" * 100000 + "]" * 100000, "nests JSON too deeply"),
        ({"mutation": "createTodo"}, "input: required"),
        ({"mutation": "createTodo", "input": [1]}, "input: expected a JSON object, got an array"),
        ({"mutation": "doThing", "input": {}}, "Amplify model mutation name"),
        ({"mutation": "createTodo", "input": {}, "query": "mutation { x }"}, "exactly one of"),
        ({}, "exactly one of"),
        ({"mutation": "createTodo", "input": {}, "varibles": {}}, "unknown envelope key(s) 'varibles'"),
        ({"mutation": "createTodo", "input": {}, "variables": {}}, "'variables' belongs to the 'query' form"),
        (
            {"query": "mutation { createTodo(input: {}) { id } }", "input": {}},
            "'input' belongs to the 'mutation' form",
        ),
        ({"query": 5}, "query: expected a GraphQL document string, got a number"),
        ({"query": "mutation {"}, "not a valid GraphQL document"),
        ({"query": 'query { getTodo(id: "1") { id } }'}, "is a query; this worker only sends mutations"),
        ({"query": "subscription { onCreateTodo { id } }"}, "is a subscription"),
        (
            {
                "query": "mutation A { createTodo(input: {}) { id } } mutation B { deleteTodo(input: {}) { id } }"
            },
            "2 operations",
        ),
        (
            {"query": "mutation { createTodo(input: {}) { id } deleteTodo(input: {}) { id } }"},
            "exactly one mutation field per message, found 2",
        ),
        (
            {"query": "mutation { ...F } fragment F on Mutation { createTodo(input: {}) { id } }"},
            "fragments at the mutation's top level",
        ),
        (
            {"query": "mutation { createTodo(input: {}) { id } }", "operationName": "Nope"},
            "no operation named 'Nope'",
        ),
        (
            {"query": "mutation { createTodo(input: {}) { id } }", "variables": []},
            "variables: expected a JSON object",
        ),
        ({"mutation": "createTodo", "input": {}, "idempotencyKey": 7}, "idempotencyKey: expected a string"),
        ({"mutation": "createTodo", "input": {}, "idempotencyKey": "a\nb"}, "idempotencyKey"),
        ({"mutation": "createTodo", "input": {"id": "x"}, "idempotencyKey": "y"}, "differs from input.id"),
        (
            {"query": 'mutation { createTodo(input: {name: "a"}) { id } }', "idempotencyKey": "y"},
            "needs the input passed as a variable",
        ),
        ({"mutation": "createTodo", "input": {}, "fields": []}, "fields: expected a non-empty list"),
        ({"mutation": "createTodo", "input": {}, "version": 2}, "version: expected 1"),
    ],
)
def test_invalid_envelopes_name_the_problem(raw: object, fragment: str) -> None:
    with pytest.raises(EnvelopeError) as caught:
        parse_envelope(raw, ALLOWED)  # type: ignore[arg-type]
    assert fragment in str(caught.value)
    assert not caught.value.retryable


def test_field_outside_allow_list_is_refused() -> None:
    with pytest.raises(NotAllowedError, match="'deleteEverything' is not on this worker's allow-list"):
        parse_envelope({"query": "mutation { deleteEverything { ok } }"}, ALLOWED)
    with pytest.raises(NotAllowedError):
        parse_envelope({"mutation": "createSecret", "input": {}}, ALLOWED)


def test_oversized_message_is_refused() -> None:
    body = json.dumps({"mutation": "createTodo", "input": {"name": "x" * MAX_ENVELOPE_BYTES}})
    with pytest.raises(EnvelopeError, match="envelope limit"):
        parse_envelope(body, ALLOWED)


@pytest.mark.parametrize("key", ["bad\uffff", "bad\ud800", "zero\u200bwidth", "tab\there", "bell\x07"])
def test_idempotency_keys_are_printable_characters_only(key: str) -> None:
    """A key becomes a record id (DynamoDB) and a DLQ attribute; neither takes these."""
    with pytest.raises(EnvelopeError, match="idempotencyKey"):
        parse_envelope({"mutation": "createTodo", "input": {"name": "x"}, "idempotencyKey": key}, ALLOWED)


KEYS = {"Order": ("orderNumber", "placedAt"), "Customer": ("email",)}
SHOP = frozenset({"createOrder", "updateOrder", "deleteOrder", "createCustomer", "createTodo"})


def test_a_composite_key_names_the_record_by_every_key_field() -> None:
    request = parse_envelope(
        {"mutation": "createOrder", "input": {"orderNumber": "A-1", "placedAt": "2026-12-01T00:00:00Z"}},
        SHOP,
        message_id="msg-1",
        model_keys=KEYS,
    )
    assert request.key_fields == ("orderNumber", "placedAt") and request.is_idempotent
    assert request.record_key == {"orderNumber": "A-1", "placedAt": "2026-12-01T00:00:00Z"}
    assert "id" not in request.variables["input"]  # the message id is never injected into a custom key
    assert "{ orderNumber placedAt }" in request.query  # the default selection is the key


def test_an_idempotency_key_cannot_stand_for_a_composite_key() -> None:
    with pytest.raises(
        EnvelopeError, match=r"cannot name one Order record: its primary key is \(orderNumber, placedAt\)"
    ):
        parse_envelope(
            {"mutation": "createOrder", "input": {"orderNumber": "A-1"}, "idempotencyKey": "k"},
            SHOP,
            model_keys=KEYS,
        )
    labelled = parse_envelope(
        {"mutation": "createOrder", "input": {"orderNumber": "A-1", "placedAt": "t"}, "idempotencyKey": "k"},
        SHOP,
        model_keys=KEYS,
    )
    assert labelled.record_key is not None  # with every key field it is only a label


def test_a_one_field_custom_key_takes_the_idempotency_key() -> None:
    request = parse_envelope(
        {"mutation": "createCustomer", "input": {"name": "x"}, "idempotencyKey": "a@example.com"},
        SHOP,
        model_keys=KEYS,
    )
    assert request.variables["input"] == {"name": "x", "email": "a@example.com"}
    assert request.record_id == "a@example.com" and request.id_source == "idempotencyKey"


def test_a_create_of_a_custom_key_model_without_its_key_names_no_record() -> None:
    request = parse_envelope(
        {"mutation": "createOrder", "input": {"orderNumber": "A-1"}}, SHOP, message_id="m", model_keys=KEYS
    )
    assert request.record_key is None and not request.is_idempotent


def test_the_record_is_what_is_sent_not_a_stray_variable() -> None:
    request = parse_envelope(
        {
            "query": 'mutation { createTodo(input: {id: "lit", name: "n"}) { id } }',
            "variables": {"input": {"id": "ghost"}},
        },
        SHOP,
    )
    assert request.record_id == "lit" and not request.input_is_variable


def test_an_alias_is_where_the_answer_is() -> None:
    request = parse_envelope(
        {
            "query": "mutation M($input: CreateTodoInput!) { made: createTodo(input: $input) { id } }",
            "variables": {"input": {"name": "x"}},
        },
        SHOP,
    )
    assert request.field == "createTodo" and request.response_key == "made"


def test_a_custom_mutation_named_like_a_model_create_is_sent_as_it_is() -> None:
    query = "mutation M($input: CheckoutInput!) { createCheckoutSession(input: $input) { url } }"
    request = parse_envelope(
        {"query": query, "variables": {"input": {"cart": "c1"}}},
        frozenset({"createCheckoutSession"}),
        message_id="m1",
    )
    assert not request.is_create and request.variables == {"input": {"cart": "c1"}}  # no id injected
    model = parse_envelope(
        {"query": query.replace("CheckoutInput", "CreateCheckoutSessionInput"), "variables": {"input": {}}},
        frozenset({"createCheckoutSession"}),
        message_id="m1",
    )
    assert model.is_create and model.record_id == "m1"  # Amplify's own input type: a model create


# --- the selection decides which admin-run resolvers execute ---------------------------------------
@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (
            'mutation { createTodo(input: {name: "x"}) { id a: owner b: owner } }',
            "aliases inside the selection are refused",
        ),
        (
            'mutation { createTodo(input: {name: "x"}) { id ...F } } fragment F on Todo { owner }',
            "fragment definitions are refused",
        ),
        (
            'mutation { createTodo(input: {name: "x"}) { id ... on Todo { owner } } }',
            "fragments in the selection are refused",
        ),
        (
            'mutation { createTodo(input: {name: "x"}) { a { b { c { d } } } } }',
            "deeper than 3 levels below the mutation field (at 'c')",
        ),
        (
            'mutation { createTodo(input: {name: "x"}) { '
            + "".join(f"n{i} {{ " for i in range(400))
            + "id"
            + " }" * 400
            + " } }",
            "nested too deeply",  # graphql-core's own bound, before ours: still a specific refusal
        ),
    ],
)
def test_query_form_selections_are_bounded(query: str, expected: str) -> None:
    with pytest.raises(EnvelopeError, match="query: ") as caught:
        parse_envelope({"query": query}, ALLOWED)
    assert expected in str(caught.value)


def test_a_plain_nested_selection_and_a_top_level_alias_still_pass() -> None:
    request = parse_envelope(
        {"query": 'mutation { made: createTodo(input: {name: "x"}) { id author { id posts { id } } } }'},
        ALLOWED,
    )
    assert request.field == "createTodo" and request.response_key == "made"
