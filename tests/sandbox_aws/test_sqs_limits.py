"""The sandbox's SQS refuses what AWS refuses, with AWS's codes and wording, through real boto3 clients.

moto alone counts a body in characters, ignores attributes and accepts every character: each test here would
pass against it, which is what let a dead letter near the limit, or with U+FFFF in an attribute, look fine.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from sandbox.aws.sqs_limits import INVALID_CHARACTERS
from sandbox.fixture import Sandbox

ONE_MIB = 1_048_576
REFUSED = ["\uffff", "\ufffe", "\x00", "\x08", "\x1f", "\ud800"]
REFUSED_IDS = [f"U+{ord(c):04X}" for c in REFUSED]


@pytest.fixture
def sqs(sb: Sandbox) -> Any:
    return sb.client("sqs", "A")


@pytest.fixture
def queue(sqs: Any) -> Iterator[Callable[..., str]]:
    """Make a queue (with optional attributes); every queue made is deleted afterwards."""
    made: list[str] = []

    def make(**attributes: str) -> str:
        url = str(
            sqs.create_queue(QueueName=f"limits-{uuid.uuid4().hex[:12]}", Attributes=attributes)["QueueUrl"]
        )
        made.append(url)
        return url

    yield make
    for url in made:
        sqs.delete_queue(QueueUrl=url)


def refusal(call: Callable[[], Any]) -> tuple[int, dict[str, Any]]:
    with pytest.raises(ClientError) as caught:
        call()
    response = caught.value.response
    return response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]


def bodies(sqs: Any, url: str) -> list[str]:
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"])
    return [m["Body"] for m in messages.get("Messages", [])]


def attribute(value: str) -> dict[str, dict[str, str]]:
    return {"k": {"DataType": "String", "StringValue": value}}  # counts 1 + 6 + len(value) bytes


# --- size ---------------------------------------------------------------------------------------------------
def test_attributes_count_toward_the_queues_maximum_message_size(sqs: Any, queue: Callable[..., str]) -> None:
    url = queue(MaximumMessageSize="1024")
    sqs.send_message(QueueUrl=url, MessageBody="x" * 1016, MessageAttributes=attribute("v"))  # exactly 1024
    status, error = refusal(
        lambda: sqs.send_message(QueueUrl=url, MessageBody="x" * 1017, MessageAttributes=attribute("v"))
    )
    assert status == 400
    assert error == {
        "Code": "InvalidParameterValue",
        "QueryErrorCode": "InvalidParameterValueException",
        "Type": "Sender",
        "Message": "One or more parameters are invalid. Reason: Message must be shorter than 1024 bytes.",
    }
    assert bodies(sqs, url) == ["x" * 1016]


def test_size_is_counted_in_utf8_bytes_not_characters(sqs: Any, queue: Callable[..., str]) -> None:
    url = queue(MaximumMessageSize="1024")
    sqs.send_message(QueueUrl=url, MessageBody="é" * 512)  # 1024 bytes
    status, error = refusal(lambda: sqs.send_message(QueueUrl=url, MessageBody="é" * 513))  # 513 characters
    assert (status, error["Code"]) == (400, "InvalidParameterValue")


def test_the_default_queue_takes_one_mib_with_attributes(sqs: Any, queue: Callable[..., str]) -> None:
    url = queue()
    sqs.send_message(QueueUrl=url, MessageBody="x" * (ONE_MIB - 8), MessageAttributes=attribute("v"))
    status, error = refusal(
        lambda: sqs.send_message(
            QueueUrl=url, MessageBody="x" * (ONE_MIB - 7), MessageAttributes=attribute("v")
        )
    )
    assert status == 400
    assert error["Message"] == (
        "One or more parameters are invalid. Reason: Message must be shorter than 1048576 bytes."
    )


# --- characters ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("bad", REFUSED, ids=REFUSED_IDS)
def test_a_refused_character_in_the_body_is_invalid_message_contents(
    sqs: Any, queue: Callable[..., str], bad: str
) -> None:
    url = queue()
    status, error = refusal(lambda: sqs.send_message(QueueUrl=url, MessageBody=f"a{bad}b"))
    assert status == 400
    assert error["Code"] == "InvalidMessageContents"
    assert error["Message"] == INVALID_CHARACTERS
    assert error["Message"].startswith("Invalid characters found.")
    assert bodies(sqs, url) == []


@pytest.mark.parametrize("bad", REFUSED, ids=REFUSED_IDS)
def test_a_refused_character_in_an_attribute_value_is_invalid_parameter_value(
    sqs: Any, queue: Callable[..., str], bad: str
) -> None:
    url = queue()
    status, error = refusal(
        lambda: sqs.send_message(QueueUrl=url, MessageBody="ok", MessageAttributes=attribute(f"key{bad}"))
    )
    assert (status, error["Code"], error["Message"]) == (400, "InvalidParameterValue", INVALID_CHARACTERS)
    assert bodies(sqs, url) == []


def test_characters_sqs_allows_go_through(sqs: Any, queue: Callable[..., str]) -> None:
    url = queue()
    text = "tab\tnl\ncr\r é \ud7ff \ue000 \ufffd \U0001f600 \U0010ffff"
    sqs.send_message(QueueUrl=url, MessageBody=text, MessageAttributes=attribute(text))
    message = sqs.receive_message(QueueUrl=url, MessageAttributeNames=["All"])["Messages"][0]
    assert message["Body"] == text
    assert message["MessageAttributes"]["k"]["StringValue"] == text


# --- batches ------------------------------------------------------------------------------------------------
def test_a_batch_fails_only_its_bad_entries(sqs: Any, queue: Callable[..., str]) -> None:
    url = queue(MaximumMessageSize="1024")
    response = sqs.send_message_batch(
        QueueUrl=url,
        Entries=[
            {"Id": "fits", "MessageBody": "x" * 1016, "MessageAttributes": attribute("v")},
            {"Id": "large", "MessageBody": "x" * 1017, "MessageAttributes": attribute("v")},
            {"Id": "body", "MessageBody": "a\uffffb"},
            {"Id": "attribute", "MessageBody": "ok", "MessageAttributes": attribute("\x00")},
            {"Id": "plain", "MessageBody": "plain"},
        ],
    )
    assert {entry["Id"] for entry in response["Successful"]} == {"fits", "plain"}
    failed = {entry["Id"]: entry for entry in response["Failed"]}
    assert failed == {
        "large": {
            "Id": "large",
            "SenderFault": True,
            "Code": "InvalidParameterValue",
            "Message": "One or more parameters cannot be validated. Reason: Message must be shorter than 1024 bytes.",
        },
        "body": {
            "Id": "body",
            "SenderFault": True,
            "Code": "InvalidMessageContents",
            "Message": INVALID_CHARACTERS,
        },
        "attribute": {
            "Id": "attribute",
            "SenderFault": True,
            "Code": "InvalidParameterValue",
            "Message": INVALID_CHARACTERS,
        },
    }
    assert sorted(bodies(sqs, url)) == sorted(["x" * 1016, "plain"])


def test_a_batch_of_only_bad_entries_sends_nothing(sqs: Any, queue: Callable[..., str]) -> None:
    url = queue()
    response = sqs.send_message_batch(
        QueueUrl=url, Entries=[{"Id": "a", "MessageBody": "\uffff"}, {"Id": "b", "MessageBody": "\x00"}]
    )
    assert response["Successful"] == []
    assert [entry["Code"] for entry in response["Failed"]] == ["InvalidMessageContents"] * 2
    assert bodies(sqs, url) == []


def test_a_batch_over_one_mib_in_all_is_refused_whole(sqs: Any, queue: Callable[..., str]) -> None:
    url = queue()
    half = "x" * (ONE_MIB // 2)
    entries = [
        {"Id": "a", "MessageBody": half},
        {"Id": "b", "MessageBody": half, "MessageAttributes": attribute("v")},
    ]
    status, error = refusal(lambda: sqs.send_message_batch(QueueUrl=url, Entries=entries))
    assert status == 400
    assert error["Code"] == "AWS.SimpleQueueService.BatchRequestTooLong"
    assert error["QueryErrorCode"] == "BatchRequestTooLong"
    assert error["Message"] == (
        f"Batch requests cannot be longer than {ONE_MIB} bytes. You have sent {ONE_MIB + 8} bytes."
    )
    assert bodies(sqs, url) == []


# --- how many attributes ---------------------------------------------------------------------------------------
def test_an_eleventh_attribute_is_refused_as_sqs_refuses_it(sqs: Any, queue: Callable[..., str]) -> None:
    """ "A message can contain up to 10 metadata attributes" (SQS developer guide, message quotas); moto takes any."""
    url = queue()
    many = {f"a{i}": {"DataType": "String", "StringValue": "v"} for i in range(11)}
    status, error = refusal(lambda: sqs.send_message(QueueUrl=url, MessageBody="ok", MessageAttributes=many))
    assert (status, error["Code"]) == (400, "InvalidParameterValue")
    assert error["Message"] == "Number of message attributes [11] exceeds the allowed maximum [10]."
    ten = dict(list(many.items())[:10])
    sqs.send_message(QueueUrl=url, MessageBody="ten", MessageAttributes=ten)
    assert bodies(sqs, url) == ["ten"]
