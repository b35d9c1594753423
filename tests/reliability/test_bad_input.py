"""Bad input, property-based (hypothesis): a precise permanent failure, never a crash, never a network call.

Two levels:
- ``worker.envelope.parse_envelope`` on arbitrary bytes and text, wrong JSON types at every envelope key, huge
  and deeply nested bodies, invalid UTF-8, GraphQL documents with several operations, subscriptions, queries,
  several fields or fragments, and mutation fields off the allow-list: every one raises ``EnvelopeError`` or
  ``NotAllowedError`` (both permanent) with a reason naming what was wrong, and nothing else is ever raised;
- the SQS handler on batches of arbitrary bodies (mixed with valid creates): it always returns a partial batch
  response, every record ends in exactly one terminal state (applied, already applied, dead-lettered, or
  failed for redelivery) and the AppSync stand-in receives exactly one request per *valid* record, none for
  an invalid one.

Example counts are modest (``BAD_INPUT_EXAMPLES`` scales them); the number of cases each property ran is
printed at the end of the module and written to build/bad-input-cases.json.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import string
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from project_settings import load_settings
from sandbox.fixture import Sandbox
from sandbox.lambda_runtime import LambdaContext
from tests.support.soak import leaked_secrets, parse_log_lines
from worker.envelope import MAX_ENVELOPE_BYTES, MutationRequest, parse_envelope
from worker.errors import EnvelopeError, MutationError, NotAllowedError, PermanentError

SETTINGS = load_settings()
ALLOWED = frozenset(SETTINGS.appsync.allowed_mutations)
SCALE = float(os.environ.get("BAD_INPUT_EXAMPLES", "1"))
CASES: Counter[str] = Counter()
ERRORS: Counter[str] = Counter()


def examples(n: int) -> int:
    return max(1, int(n * SCALE))


FAST = settings(max_examples=examples(150), deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(scope="module", autouse=True)
def _report_cases() -> Iterator[None]:
    yield
    total = sum(CASES.values())
    path = Path(__file__).resolve().parents[2] / "build" / "bad-input-cases.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        json.dumps({"total": total, "by_property": dict(CASES), "errors": dict(ERRORS)}, indent=2)
    )
    print(f"bad input: {total} cases tried: {dict(sorted(CASES.items()))}")
    print(f"bad input: permanent failures by error type: {dict(ERRORS)}")


def refused(raw: Any, property_name: str) -> PermanentError:
    """``raw`` must be refused with EnvelopeError/NotAllowedError and a non-empty reason; anything else fails."""
    CASES[property_name] += 1
    try:
        parse_envelope(raw, ALLOWED)
    except (EnvelopeError, NotAllowedError) as error:
        assert error.reason.strip(), "empty reason"
        assert not error.retryable
        ERRORS[error.error_type] += 1
        return error
    raise AssertionError(f"accepted: {raw!r:.200}")


def refused_or_valid(raw: Any, property_name: str) -> MutationRequest | PermanentError:
    CASES[property_name] += 1
    try:
        request = parse_envelope(raw, ALLOWED)
    except (EnvelopeError, NotAllowedError) as error:
        assert error.reason.strip()
        ERRORS[error.error_type] += 1
        return error
    assert request.field in ALLOWED
    return request


# --- strategies --------------------------------------------------------------------------------------------
json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
not_object = json_scalars | st.lists(json_values, max_size=4)
not_string = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.lists(json_scalars)
names = st.from_regex(r"[_A-Za-z][_0-9A-Za-z]{0,20}", fullmatch=True)


def valid_named() -> dict[str, Any]:
    return {"mutation": "createTodo", "input": {"name": "x"}, "idempotencyKey": uuid.uuid4().hex}


def valid_document() -> dict[str, Any]:
    return {
        "query": "mutation M($input: CreateTodoInput!) { createTodo(input: $input) { id } }",
        "variables": {"input": {"name": "x"}},
        "operationName": "M",
    }


# --- the parser ---------------------------------------------------------------------------------------------
@FAST
@given(st.binary(max_size=300))
def test_arbitrary_bytes(raw: bytes) -> None:
    refused_or_valid(raw, "arbitrary bytes")


@FAST
@given(st.text(max_size=300))
def test_arbitrary_text(raw: str) -> None:
    refused_or_valid(raw, "arbitrary text")


@FAST
@given(st.binary(min_size=1, max_size=200), st.integers(min_value=0, max_value=40))
def test_invalid_utf8_names_the_byte(payload: bytes, cut: int) -> None:
    raw = json.dumps(valid_named()).encode()
    raw = raw[:cut] + payload + raw[cut:]
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        error = refused(raw, "invalid UTF-8")
        assert error.reason == f"message body is not valid UTF-8 (byte {exc.start})"
    else:
        assume(False)


@FAST
@given(not_object)
def test_top_level_not_an_object(value: Any) -> None:
    error = refused(json.dumps(value), "top level not an object")
    assert "must be a JSON object" in error.reason or "body is empty" in error.reason


@FAST
@given(
    st.sampled_from(["mutation", "input", "fields", "idempotencyKey", "condition"]),
    json_values,
)
def test_wrong_types_in_the_named_form(key: str, value: Any) -> None:
    envelope = valid_named()
    envelope[key] = value
    if key == "condition" and (value is None or isinstance(value, dict)):
        return  # null and any object are accepted conditions
    try:
        request = parse_envelope(json.dumps(envelope), ALLOWED)
    except (EnvelopeError, NotAllowedError):
        pass
    else:  # a valid value of the right type: the strategy drew one by chance
        assert request.field == "createTodo"
        return
    error = refused(json.dumps(envelope), "wrong types (named form)")
    assert key in error.reason or (key == "mutation" and isinstance(error, NotAllowedError)), error.reason


@FAST
@given(
    st.sampled_from(["query", "variables", "operationName"]),
    not_string | st.dictionaries(names, json_scalars),
)
def test_wrong_types_in_the_document_form(key: str, value: Any) -> None:
    envelope = valid_document()
    envelope[key] = value
    if (value is None and key != "query") or (key == "variables" and isinstance(value, dict)):
        return  # null variables / operationName and any variables object are accepted
    error = refused(json.dumps(envelope), "wrong types (document form)")
    assert key in error.reason or (key == "query" and "query" in error.reason), error.reason


@FAST
@given(
    st.dictionaries(
        names.filter(lambda k: k not in {"mutation", "query"}), json_scalars, min_size=1, max_size=3
    )
)
def test_unknown_envelope_keys_are_named(extra: dict[str, Any]) -> None:
    from worker.envelope import ENVELOPE_KEYS

    envelope = {**valid_named(), **extra}
    unknown = sorted(set(extra) - ENVELOPE_KEYS)
    assume(unknown)
    error = refused(json.dumps(envelope), "unknown envelope keys")
    assert all(repr(k) in error.reason for k in unknown), error.reason


@settings(max_examples=examples(6), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(min_value=1, max_value=4096))
def test_huge_variables_are_refused_by_size(extra: int) -> None:
    envelope = valid_named()
    envelope["input"]["description"] = "x" * (MAX_ENVELOPE_BYTES + extra)
    raw = json.dumps(envelope)
    error = refused(raw, "huge variables (text)")
    assert f"message is {len(raw.encode())} bytes" in error.reason
    error = refused(raw.encode(), "huge variables (bytes)")
    assert str(MAX_ENVELOPE_BYTES) in error.reason


@settings(max_examples=examples(6), deadline=None)
@given(st.integers(min_value=100_000, max_value=400_000), st.sampled_from(["[", '{"a":']))
def test_deeply_nested_json_is_refused(depth: int, opener: str) -> None:
    closer = "]" if opener == "[" else "}"
    raw = '{"mutation": "createTodo", "input": ' + opener * depth + "1" + closer * depth + "}"
    assume(len(raw) <= MAX_ENVELOPE_BYTES)
    error = refused(raw, "deeply nested JSON")
    assert "too deeply" in error.reason or "input" in error.reason


@FAST
@given(st.lists(names, min_size=2, max_size=4, unique=True))
def test_several_operations_need_one_named(operation_names: list[str]) -> None:
    query = " ".join(
        f"mutation {name}($input: CreateTodoInput!) {{ createTodo(input: $input) {{ id }} }}"
        for name in operation_names
    )
    error = refused(json.dumps({"query": query, "variables": {"input": {"name": "x"}}}), "several operations")
    assert f"{len(operation_names)} operations" in error.reason


@FAST
@given(st.sampled_from(["subscription", "query"]), names, st.booleans())
def test_subscriptions_and_queries_are_refused(kind: str, field: str, named: bool) -> None:
    operation = f"{kind} S {{ {field} {{ id }} }}" if named else f"{kind} {{ {field} {{ id }} }}"
    if kind == "query" and not named:
        operation = f"{{ {field} {{ id }} }}"  # the shorthand query form
    error = refused(json.dumps({"query": operation}), "subscriptions and queries")
    assert f"the operation is a {kind}" in error.reason, error.reason


@FAST
@given(st.lists(names, min_size=2, max_size=4))
def test_several_fields_are_refused(fields: list[str]) -> None:
    query = "mutation M { " + " ".join(f"f{i}: {name} {{ id }}" for i, name in enumerate(fields)) + " }"
    error = refused(json.dumps({"query": query}), "several mutation fields")
    assert f"found {len(fields)}" in error.reason


@FAST
@given(names.filter(lambda n: n not in ALLOWED), st.booleans())
def test_fields_outside_the_allow_list_are_named(field: str, document_form: bool) -> None:
    if document_form:
        envelope: dict[str, Any] = {"query": f'mutation {{ {field}(input: {{name: "x"}}) {{ id }} }}'}
    else:
        assume(field[0].isalpha())  # a model name starts with a letter (else: an EnvelopeError, not this)
        model = field[0].upper() + field[1:]
        envelope = {"mutation": f"create{model}", "input": {"name": "x"}}
        field = f"create{model}"
        assume(field not in ALLOWED)
    error = refused(json.dumps(envelope), "outside the allow-list")
    assert isinstance(error, NotAllowedError)
    assert repr(field) in error.reason and "allow-list" in error.reason


@FAST
@given(st.text(alphabet=string.printable, max_size=120))
def test_arbitrary_graphql_text_never_raises_anything_else(document: str) -> None:
    refused_or_valid(json.dumps({"query": document}), "arbitrary GraphQL text")


# --- the SQS handler ---------------------------------------------------------------------------------------
sqs_text = st.text(
    alphabet=st.characters(codec="utf-8").filter(
        lambda c: c in "\t\n\r" or (ord(c) >= 0x20 and ord(c) not in (0xFFFE, 0xFFFF))
    ),
    max_size=200,
)


def _mutated_envelope(value: Any, key: str) -> str:
    envelope = valid_named()
    envelope[key] = value
    return json.dumps(envelope)


bodies = st.one_of(
    sqs_text,
    json_values.map(json.dumps),
    st.builds(
        _mutated_envelope, json_values, st.sampled_from(["mutation", "input", "fields", "idempotencyKey"])
    ),
    names.map(lambda f: json.dumps({"query": f"mutation {{ {f} {{ id }} }}"})),
    st.just(json.dumps({"query": "subscription { onCreateTodo { id } }"})),
    st.just(json.dumps({"mutation": "createTodo", "input": {"name": "x"}, "fields": ["id", "notAField"]})),
    st.builds(lambda: json.dumps(valid_named())),  # valid: one request each
)

TERMINAL = {"record_done", "record_dead_lettered", "record_failed"}


@settings(
    max_examples=examples(25),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(st.lists(bodies, min_size=1, max_size=6))
def test_handler_on_arbitrary_batches(sb: Sandbox, container: Callable[..., None], batch: list[str]) -> None:
    from worker.handler import lambda_handler

    CASES["SQS batches"] += 1
    CASES["SQS records"] += len(batch)
    valid = 0
    for body in batch:
        try:
            parse_envelope(body, ALLOWED)
            valid += 1
        except MutationError:
            pass
    records = [
        {
            "messageId": str(uuid.uuid4()),
            "receiptHandle": "not-used",
            "body": body,
            "attributes": {"ApproximateReceiveCount": "1"},
            "messageAttributes": {},
            "eventSource": "aws:sqs",
            "eventSourceARN": sb.queue_arn,
            "awsRegion": sb.region,
        }
        for body in batch
    ]
    ids = [r["messageId"] for r in records]
    before = sb.appsync.stats.requests
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        response = lambda_handler({"Records": records}, LambdaContext(timeout_ms=60_000))
    logs = out.getvalue()
    assert leaked_secrets(logs, sb.issued_secrets()) == []

    assert isinstance(response, dict) and set(response) == {"batchItemFailures"}
    failed = [item["itemIdentifier"] for item in response["batchItemFailures"]]
    assert set(failed) <= set(ids)
    lines = [line for line in parse_log_lines(logs) if line.get("message_id") in ids]
    assert not [line for line in lines if line["event"] == "record_crashed"]
    ends = Counter(line["message_id"] for line in lines if line["event"] in TERMINAL)
    assert ends == Counter(ids), "every record ends in exactly one terminal state"
    for line in lines:
        if line["event"] == "record_done":
            assert line["outcome"] in ("applied", "already_applied")
            CASES[f"SQS records {line['outcome']}"] += 1
        elif line["event"] == "record_dead_lettered":
            CASES["SQS records dead_lettered"] += 1
        elif line["event"] == "record_failed":
            CASES["SQS records failed"] += 1
    assert sb.appsync.stats.requests - before == valid, "a request for an invalid record reached the network"
