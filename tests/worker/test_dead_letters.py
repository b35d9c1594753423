"""Dead letters SQS accepts: attributes fitted next to a body kept byte for byte, the reason always kept.

Sizes are counted here the way SQS counts them (body, plus every attribute's name, data type and value, in UTF-8
bytes), independently of the module's own helper; characters are checked against SQS's documented set.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError
from hypothesis import given, settings
from hypothesis import strategies as st

from worker.dead_letters import (
    CONTEXT,
    DIAGNOSIS,
    ERROR_TYPE,
    IDEMPOTENCY_KEY,
    MAX_VALUE_BYTES,
    OPERATION,
    REASON,
    RETRYABLE,
    SOURCE_MESSAGE_ID,
    SQS_MAX_ATTRIBUTES,
    SQS_MAX_MESSAGE_BYTES,
    TRUNCATED,
    DeadLetter,
    DeadLetterPublisher,
    DeadLetterTooLarge,
    DeadLetterUnsendable,
    read_failure,
)

OLD_DEFAULT = 262_144  # a DLQ whose MaximumMessageSize is still the pre-2025 default
SQS_CHARACTERS = re.compile("^[\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]*$")
NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
ALL_NAMES = {
    REASON,
    ERROR_TYPE,
    DIAGNOSIS,
    OPERATION,
    IDEMPOTENCY_KEY,
    SOURCE_MESSAGE_ID,
    CONTEXT,
}


def sqs_size(body: str, attributes: Mapping[str, Mapping[str, str]]) -> int:
    def size(text: str) -> int:
        return len(text.encode("utf-8"))

    return size(body) + sum(
        size(name) + size(value["DataType"]) + size(value["StringValue"])
        for name, value in attributes.items()
    )


def letter(body: str = '{"mutation":"deleteEverything"}', **overrides: Any) -> DeadLetter:
    fields: dict[str, Any] = {
        "body": body,
        "reason": "mutation field 'deleteEverything' is not on this worker's allow-list (createTodo); refused",
        "error_type": "MutationNotAllowed",
        "source_message_id": "0f8fad5b-d9cb-469f-a165-70867728950e",
        "source": "arn:aws:sqs:eu-west-1:111111111111:mutations",
        "receive_count": 3,
        "diagnosis": "Add the field to ALLOWED_MUTATIONS and to the role's appsync:GraphQL resources. " * 20,
        "operation": "deleteEverything",
        "idempotency_key": "order-42",
        "first_received_at": "2026-01-02T03:00:00+00:00",
        "group_id": None,
        **overrides,
    }
    return DeadLetter(**fields)


def body_of(size: int) -> str:
    """A body of exactly ``size`` UTF-8 bytes (multi-byte characters included: SQS counts bytes)."""
    head = '{"query":"mutation { deleteEverything { ok } }","variables":{"pad":"ü€'
    tail = '"}}'
    return head + "x" * (size - len((head + tail).encode())) + tail


def assert_accepted(body: str, attributes: Mapping[str, Mapping[str, str]], limit: int) -> None:
    assert sqs_size(body, attributes) <= limit
    for value in attributes.values():
        assert value["DataType"] == "String"
        assert value["StringValue"]
        assert SQS_CHARACTERS.match(value["StringValue"])
    assert attributes[REASON]["StringValue"]
    assert attributes[ERROR_TYPE]["StringValue"]


# --- size -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("limit", [OLD_DEFAULT, SQS_MAX_MESSAGE_BYTES])
def test_a_body_near_the_limit_keeps_the_reason_and_fits(limit: int) -> None:
    body = body_of(limit - 400)
    attributes = letter(body).message_attributes(NOW, max_message_bytes=limit)
    assert_accepted(body, attributes, limit)
    assert attributes[REASON]["StringValue"].startswith("mutation field 'deleteEverything'")
    assert attributes[ERROR_TYPE]["StringValue"] == "MutationNotAllowed"
    assert DIAGNOSIS not in attributes  # the longest and least needed goes first


def test_the_limit_defaults_to_sqs_ceiling_of_one_mib() -> None:
    assert SQS_MAX_MESSAGE_BYTES == 1_048_576
    body = body_of(SQS_MAX_MESSAGE_BYTES - 400)
    assert_accepted(body, letter(body).message_attributes(NOW), SQS_MAX_MESSAGE_BYTES)


@pytest.mark.parametrize("limit", [OLD_DEFAULT, SQS_MAX_MESSAGE_BYTES])
def test_a_body_exactly_at_the_limit_is_an_explicit_too_large(limit: int) -> None:
    body = body_of(limit)
    with pytest.raises(DeadLetterTooLarge) as caught:
        letter(body).message_attributes(NOW, max_message_bytes=limit)
    assert caught.value.body_bytes == limit
    assert caught.value.max_message_bytes == limit
    assert f"the body is {limit} bytes" in str(caught.value)
    assert "stays on the source queue" in str(caught.value)
    assert isinstance(caught.value, DeadLetterUnsendable)


def test_a_body_leaving_little_room_keeps_a_shortened_reason_and_the_error_type() -> None:
    body = body_of(OLD_DEFAULT - 150)
    attributes = letter(body).message_attributes(NOW, max_message_bytes=OLD_DEFAULT)
    assert_accepted(body, attributes, OLD_DEFAULT)
    assert set(attributes) == {REASON, ERROR_TYPE}
    assert attributes[REASON]["StringValue"].endswith(TRUNCATED)
    assert attributes[REASON]["StringValue"].startswith("mutation field")


def test_the_source_message_id_outlives_everything_but_the_reason() -> None:
    body = body_of(OLD_DEFAULT - 250)
    attributes = letter(body).message_attributes(NOW, max_message_bytes=OLD_DEFAULT)
    assert_accepted(body, attributes, OLD_DEFAULT)
    assert set(attributes) == {REASON, ERROR_TYPE, SOURCE_MESSAGE_ID}
    assert attributes[SOURCE_MESSAGE_ID]["StringValue"] == "0f8fad5b-d9cb-469f-a165-70867728950e"


def test_optional_attributes_go_least_useful_first() -> None:
    full = letter(body_of(100)).message_attributes(NOW, max_message_bytes=OLD_DEFAULT)
    without_diagnosis = (
        sqs_size("", full) - len(DIAGNOSIS) - len("String") - len(full[DIAGNOSIS]["StringValue"].encode())
    )
    body = body_of(OLD_DEFAULT - without_diagnosis)
    attributes = letter(body).message_attributes(NOW, max_message_bytes=OLD_DEFAULT)
    assert set(attributes) == ALL_NAMES - {DIAGNOSIS}
    assert sqs_size(body, attributes) == OLD_DEFAULT  # exactly at the limit is accepted


def test_the_body_is_never_changed() -> None:
    body = body_of(OLD_DEFAULT - 200)
    published = FakeSqs(limit=OLD_DEFAULT)
    DeadLetterPublisher("https://sqs.eu-west-1.amazonaws.com/1/dlq", lambda: published).publish_sync(
        letter(body)
    )
    assert published.accepted[0]["MessageBody"] == body


# --- characters and long values ----------------------------------------------------------------------------
REFUSED = ["\uffff", "\ufffe", "\x00", "\x08", "\x1f", "\ud800", "\udfff"]


@pytest.mark.parametrize("bad", REFUSED, ids=[f"U+{ord(c):04X}" for c in REFUSED])
def test_refused_characters_in_the_key_and_the_reason_become_replacement_characters(bad: str) -> None:
    attributes = letter(idempotency_key=f"order{bad}42", reason=f"unknown key 'a{bad}b'").message_attributes(
        NOW
    )
    assert_accepted(letter().body, attributes, SQS_MAX_MESSAGE_BYTES)
    assert attributes[IDEMPOTENCY_KEY]["StringValue"] == "order\ufffd42"
    assert attributes[REASON]["StringValue"] == "unknown key 'a\ufffdb'"


def test_characters_sqs_allows_are_kept() -> None:
    allowed = "tab\there\nnew\rline \u00e9 \ud7ff \ue000 \ufffd \U0001f600 \U0010ffff"
    attributes = letter(reason=allowed, idempotency_key="k-\U0001f600").message_attributes(NOW)
    assert attributes[REASON]["StringValue"] == allowed
    assert attributes[IDEMPOTENCY_KEY]["StringValue"] == "k-\U0001f600"


def test_a_100_kb_reason_is_cut_and_marked() -> None:
    reason = "Validation error: " + "field 'x' is undefined; " * 4300
    assert len(reason.encode()) > 100_000
    attributes = letter(reason=reason).message_attributes(NOW)
    value = attributes[REASON]["StringValue"]
    assert len(value.encode()) <= MAX_VALUE_BYTES
    assert value.endswith(TRUNCATED)
    assert reason.startswith(value[: -len(TRUNCATED)])
    assert_accepted(letter().body, attributes, SQS_MAX_MESSAGE_BYTES)


def test_cutting_never_splits_a_character() -> None:
    attributes = letter(reason="é€😀" * 1000).message_attributes(NOW)
    value = attributes[REASON]["StringValue"]
    assert len(value.encode()) <= MAX_VALUE_BYTES
    value.encode("utf-8")  # whole characters only
    assert set(value[: -len(TRUNCATED)]) <= set("é€😀")


def test_every_attribute_at_once_with_bad_characters_and_long_values() -> None:
    bad = "\uffff\x00\ud800"
    full = letter(
        body=body_of(OLD_DEFAULT - 5000),
        reason=("reason" + bad) * 30_000,
        error_type="Unauthorized" + bad,
        diagnosis=("diagnosis" + bad) * 30_000,
        operation="createTodo" + bad,
        idempotency_key="key" + bad,
        source="arn:aws:sqs:eu-west-1:1:q" + bad,
        first_received_at="2026-01-02T03:00:00+00:00" + bad,
    )
    attributes = full.message_attributes(NOW, max_message_bytes=OLD_DEFAULT)
    assert set(attributes) == ALL_NAMES
    assert_accepted(full.body, attributes, OLD_DEFAULT)
    assert read_failure(attributes)["errorType"] == "Unauthorized\ufffd\ufffd\ufffd"


def test_a_body_with_a_refused_character_is_not_sent() -> None:
    with pytest.raises(DeadLetterUnsendable, match="U\\+FFFF"):
        letter(body='{"a":"\uffff"}').message_attributes(NOW)


@settings(max_examples=150, deadline=None)
@given(
    body_bytes=st.integers(min_value=1, max_value=OLD_DEFAULT),
    reason=st.text(st.characters(exclude_categories=()), min_size=1, max_size=3000),
    key=st.one_of(st.none(), st.text(st.characters(exclude_categories=()), min_size=1, max_size=300)),
    diagnosis=st.one_of(st.none(), st.text(min_size=1, max_size=3000)),
)
def test_whatever_the_values_sqs_accepts_the_letter_or_it_is_too_large(
    body_bytes: int, reason: str, key: str | None, diagnosis: str | None
) -> None:
    body = "x" * body_bytes
    dead = letter(body=body, reason=reason, idempotency_key=key, diagnosis=diagnosis)
    try:
        attributes = dead.message_attributes(NOW, max_message_bytes=OLD_DEFAULT)
    except DeadLetterTooLarge:
        assert body_bytes > OLD_DEFAULT - 200  # only a body within a couple of hundred bytes of the limit
        return
    assert_accepted(body, attributes, OLD_DEFAULT)


# --- the publisher learns the DLQ's own limit --------------------------------------------------------------
class FakeSqs:
    """send_message as SQS answers it for a queue whose MaximumMessageSize is ``limit``."""

    def __init__(self, limit: int, error: ClientError | None = None) -> None:
        self.limit, self.error = limit, error
        self.calls: list[dict[str, Any]] = []
        self.accepted: list[dict[str, Any]] = []

    def send_message(self, **params: Any) -> dict[str, str]:
        self.calls.append(params)
        if self.error is not None:
            raise self.error
        if sqs_size(params["MessageBody"], params.get("MessageAttributes", {})) > self.limit:
            message = f"One or more parameters are invalid. Reason: Message must be shorter than {self.limit} bytes."
            raise ClientError(
                {"Error": {"Code": "InvalidParameterValue", "Message": message, "Type": "Sender"}},
                "SendMessage",
            )
        self.accepted.append(params)
        return {"MessageId": f"dlq-{len(self.accepted)}"}


def test_the_publisher_refits_to_the_limit_sqs_names_and_keeps_it() -> None:
    sqs = FakeSqs(limit=OLD_DEFAULT)
    publisher = DeadLetterPublisher("https://sqs.eu-west-1.amazonaws.com/1/dlq", lambda: sqs)
    body = body_of(OLD_DEFAULT - 300)
    assert publisher.publish_sync(letter(body)) == "dlq-1"
    assert len(sqs.calls) == 2  # fitted to 1 MiB, refused, fitted to 262,144
    assert publisher.max_message_bytes == OLD_DEFAULT
    assert read_failure(sqs.accepted[0]["MessageAttributes"])["reason"].startswith("mutation field")
    assert publisher.publish_sync(letter(body)) == "dlq-2"
    assert len(sqs.calls) == 3  # the next letter is fitted to the learnt limit at once


def test_other_refusals_are_not_retried() -> None:
    denied = ClientError({"Error": {"Code": "AccessDenied", "Message": "not authorized"}}, "SendMessage")
    sqs = FakeSqs(limit=OLD_DEFAULT, error=denied)
    publisher = DeadLetterPublisher("https://sqs.eu-west-1.amazonaws.com/1/dlq", lambda: sqs)
    with pytest.raises(ClientError):
        publisher.publish_sync(letter())
    assert len(sqs.calls) == 1
    assert publisher.max_message_bytes == SQS_MAX_MESSAGE_BYTES


def test_a_body_too_large_even_for_the_learnt_limit_is_named() -> None:
    sqs = FakeSqs(limit=OLD_DEFAULT)
    publisher = DeadLetterPublisher("https://sqs.eu-west-1.amazonaws.com/1/dlq", lambda: sqs)
    with pytest.raises(DeadLetterTooLarge, match="262144 bytes"):
        publisher.publish_sync(letter(body_of(OLD_DEFAULT - 20)))
    assert sqs.accepted == []


def test_a_full_letter_fits_sqs_s_ten_attributes_and_reads_back_whole() -> None:
    """SQS refuses an 11th attribute ("Amazon SQS message quotas"): the bookkeeping facts share one."""
    full = letter(producer="sqs:AROAEXAMPLE:orders", retryable=False)
    attributes = full.message_attributes(NOW)
    assert len(attributes) <= SQS_MAX_ATTRIBUTES
    assert attributes[RETRYABLE]["StringValue"] == "false"
    failure = read_failure(attributes)
    assert failure["at"] == NOW.isoformat(timespec="seconds")
    assert failure["firstReceivedAt"] == "2026-01-02T03:00:00+00:00"
    assert failure["receiveCount"] == "3" and failure["source"].startswith("arn:aws:sqs:")
    assert failure["retryable"] == "false" and failure["producer"] == "sqs:AROAEXAMPLE:orders"
    assert "context" not in failure
