"""WSGI middleware in front of moto that makes SQS refuse what AWS refuses: oversized and invalid messages.

moto checks a body's length in characters and ignores attributes; it accepts every character. AWS counts the
body's UTF-8 bytes plus every attribute's name, data type and value against the queue's ``MaximumMessageSize``
(at most 1 MiB), and refuses any character outside ``#x9 | #xA | #xD | #x20-#xD7FF | #xE000-#xFFFD |
#x10000-#x10FFFF`` in a body or a String attribute value. This gate applies both rules to ``SendMessage`` and
``SendMessageBatch`` with AWS's error codes and wording, in the order AWS checks them: size, body, attributes.
Sources: botocore 1.44.5's SQS model (limits, character set, ``InvalidMessageContents``); the SQS answers recorded
against AWS in LocalStack's snapshot tests (size wordings, ``QueryErrorCode``, an exactly-full message accepted);
LocalStack's AWS-validated tests for the character codes. Those tests check only the code of a character
refusal: its text here is LocalStack's (AWS answered "Invalid binary character '#x7' was found in the message
body, the set of allowed characters is ..." in 2019).

- ``SendMessage``: 400, ``InvalidParameterValue`` ("One or more parameters are invalid. Reason: Message must be
  shorter than N bytes."), ``InvalidMessageContents`` for the body, ``InvalidParameterValue`` for an attribute.
- ``SendMessageBatch``: a request whose messages add up to more than 1 MiB is refused whole
  (``AWS.SimpleQueueService.BatchRequestTooLong``); otherwise each bad entry is a ``Failed`` entry
  (``SenderFault``) and the others are sent.

Only the JSON protocol is handled (``X-Amz-Target: AmazonSQS.*``): it is all botocore 1.44.5 speaks for SQS
(``protocols: ["json"]``). Query-protocol requests pass through unchecked.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import re
import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from sandbox.aws.wsgi import StartResponse, captured_call

Refusal = tuple[str, str]  # (error code, message)

#: SQS's ceiling for one message and for one batch request (UTF-8 bytes, attributes included).
SQS_MAX_MESSAGE_BYTES = 1_048_576
ALLOWED_CHARACTERS = "#x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF"
INVALID_CHARACTERS = f"Invalid characters found. Valid unicode characters are {ALLOWED_CHARACTERS}"
_REFUSED = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_SCOPE = re.compile(r"Credential=[^/,]+/\d{8}/([a-z0-9-]+)/sqs/aws4_request")
_TARGET_PREFIX = "AmazonSQS."
_CHECKED = ("SendMessage", "SendMessageBatch")
#: Error code as botocore reports it -> (``__type`` suffix, ``x-amzn-query-error`` code), as AWS sends them.
_WIRE_CODES = {
    "InvalidParameterValue": ("InvalidParameterValueException", "InvalidParameterValue"),
    "InvalidMessageContents": ("InvalidMessageContents", "InvalidMessageContents"),
    "AWS.SimpleQueueService.BatchRequestTooLong": (
        "BatchRequestTooLong",
        "AWS.SimpleQueueService.BatchRequestTooLong",
    ),
}


def utf8_size(text: str) -> int:
    return len(text.encode("utf-8", "surrogatepass"))


def message_size(body: str, attributes: Mapping[str, Any]) -> int:
    """Body bytes plus each attribute's name, data type and value bytes (a Binary value counts decoded)."""
    total = utf8_size(body)
    for name, value in attributes.items():
        total += utf8_size(name)
        if isinstance(value, Mapping):
            total += utf8_size(str(value.get("DataType", "")))
            total += utf8_size(str(value.get("StringValue", "")))
            total += _binary_size(value.get("BinaryValue"))
    return total


def _binary_size(value: Any) -> int:
    if not isinstance(value, str):
        return 0
    try:
        return len(base64.b64decode(value))
    except (binascii.Error, ValueError):
        return len(value)


#: SQS's limit on one message's attributes; moto does not check it.
MAX_ATTRIBUTES = 10


def check_message(
    body: str, attributes: Mapping[str, Any], limit: int, *, in_batch: bool = False
) -> Refusal | None:
    """What AWS says about one message on a queue whose MaximumMessageSize is ``limit``, or None if it is fine."""
    if len(attributes) > MAX_ATTRIBUTES:
        # "A message can contain up to 10 metadata attributes" (SQS developer guide, "Amazon SQS message quotas");
        # the wording is the one SQS answers with (seen in SDK error reports), not checked against a capture here.
        return (
            "InvalidParameterValue",
            f"Number of message attributes [{len(attributes)}] exceeds the allowed maximum [{MAX_ATTRIBUTES}].",
        )
    if message_size(body, attributes) > limit:
        verb = "cannot be validated" if in_batch else "are invalid"
        return (
            "InvalidParameterValue",
            f"One or more parameters {verb}. Reason: Message must be shorter than {limit} bytes.",
        )
    if _REFUSED.search(body):
        return "InvalidMessageContents", INVALID_CHARACTERS
    for value in attributes.values():
        text = value.get("StringValue") if isinstance(value, Mapping) else None
        if isinstance(text, str) and _REFUSED.search(text):
            return "InvalidParameterValue", INVALID_CHARACTERS
    return None


class SqsLimits:
    """The middleware: wraps moto's WSGI app; every other request passes through untouched."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app

    # --- WSGI ------------------------------------------------------------------------------------------
    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        operation = target[len(_TARGET_PREFIX) :] if target.startswith(_TARGET_PREFIX) else ""
        if operation not in _CHECKED or environ.get("REQUEST_METHOD") != "POST":
            return self.app(environ, start_response)
        raw = _read_body(environ)
        request = _json_object(raw)
        limit = self._queue_limit(environ, request) if request is not None else None
        if request is None or limit is None:  # moto answers malformed requests and unknown queues itself
            return self._forward(environ, start_response, raw)
        if operation == "SendMessage":
            return self._send_message(environ, start_response, raw, request, limit)
        return self._send_message_batch(environ, start_response, raw, request, limit)

    def _send_message(
        self,
        environ: dict[str, Any],
        start_response: StartResponse,
        raw: bytes,
        request: dict[str, Any],
        limit: int,
    ) -> Iterable[bytes]:
        body, attributes = _message_parts(request)
        refusal = check_message(body, attributes, limit)
        if refusal is None:
            return self._forward(environ, start_response, raw)
        return _error(start_response, *refusal)

    def _send_message_batch(
        self,
        environ: dict[str, Any],
        start_response: StartResponse,
        raw: bytes,
        request: dict[str, Any],
        limit: int,
    ) -> Iterable[bytes]:
        entries = request.get("Entries")
        if (
            not isinstance(entries, list)
            or not 1 <= len(entries) <= 10
            or not all(isinstance(e, dict) for e in entries)
        ):
            return self._forward(environ, start_response, raw)  # moto refuses these shapes itself
        total = sum(message_size(*_message_parts(entry)) for entry in entries)
        if total > SQS_MAX_MESSAGE_BYTES:
            return _error(
                start_response,
                "AWS.SimpleQueueService.BatchRequestTooLong",
                f"Batch requests cannot be longer than {SQS_MAX_MESSAGE_BYTES} bytes. You have sent {total} bytes.",
            )
        failed, kept = [], []
        for entry in entries:
            refusal = check_message(*_message_parts(entry), limit, in_batch=True)
            if refusal is None:
                kept.append(entry)
                continue
            failed.append(
                {"Id": str(entry.get("Id")), "SenderFault": True, "Code": refusal[0], "Message": refusal[1]}
            )
        if not failed:
            return self._forward(environ, start_response, raw)
        if not kept:
            return _json_response(start_response, 200, {"Successful": [], "Failed": failed})
        forwarded = json.dumps({**request, "Entries": kept}).encode()
        return self._forward_adding_failures(environ, start_response, forwarded, failed)

    # --- helpers -----------------------------------------------------------------------------------------
    def _queue_limit(self, environ: dict[str, Any], request: Mapping[str, Any]) -> int | None:
        """The queue's MaximumMessageSize, from moto's backend (account from the URL, region from the scope)."""
        from moto.sqs.models import sqs_backends

        scope = _SCOPE.search(environ.get("HTTP_AUTHORIZATION", ""))
        parts = str(request.get("QueueUrl", "")).rstrip("/").split("/")
        if scope is None or len(parts) < 2 or not re.fullmatch(r"\d{12}", parts[-2]):
            return None
        queue = sqs_backends[parts[-2]][scope.group(1)].queues.get(parts[-1])
        size = getattr(queue, "maximum_message_size", None) if queue is not None else None
        return int(size) if size is not None else None

    def _forward(
        self, environ: dict[str, Any], start_response: StartResponse, body: bytes
    ) -> Iterable[bytes]:
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        return self.app(environ, start_response)

    def _forward_adding_failures(
        self,
        environ: dict[str, Any],
        start_response: StartResponse,
        body: bytes,
        failed: list[dict[str, Any]],
    ) -> Iterable[bytes]:
        """Send the good entries to moto and add the gate's ``Failed`` entries to its answer."""
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        status, headers, answer = captured_call(self.app, environ)
        result = _json_object(answer)
        if not status.startswith("200") or result is None:
            kept = [(k, v) for k, v in headers if k.lower() != "content-length"]
            start_response(status, [*kept, ("Content-Length", str(len(answer)))])
            return [answer]
        result["Failed"] = [*(result.get("Failed") or []), *failed]
        return _json_response(start_response, 200, result)


def _read_body(environ: dict[str, Any]) -> bytes:
    length = int(environ.get("CONTENT_LENGTH") or 0)
    return environ["wsgi.input"].read(length) if length else b""


def _json_object(raw: bytes) -> dict[str, Any] | None:
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _message_parts(request: Mapping[str, Any]) -> tuple[str, Mapping[str, Any]]:
    body = request.get("MessageBody")
    attributes = request.get("MessageAttributes")
    return (body if isinstance(body, str) else "", attributes if isinstance(attributes, Mapping) else {})


def _error(start_response: StartResponse, code: str, message: str) -> list[bytes]:
    """An SQS JSON-protocol error as AWS sends it (botocore reads the code from ``x-amzn-query-error``)."""
    type_code, query_code = _WIRE_CODES[code]
    return _json_response(
        start_response,
        400,
        {"__type": f"com.amazonaws.sqs#{type_code}", "message": message},
        [("x-amzn-query-error", f"{query_code};Sender")],
    )


def _json_response(
    start_response: StartResponse,
    status: int,
    payload: Mapping[str, Any],
    headers: list[tuple[str, str]] | None = None,
) -> list[bytes]:
    body = json.dumps(payload).encode()
    reason = {200: "OK", 400: "Bad Request"}.get(status, "Error")
    start_response(
        f"{status} {reason}",
        [
            ("Content-Type", "application/x-amz-json-1.0"),
            ("x-amzn-RequestId", str(uuid.uuid4())),
            *(headers or []),
            ("Content-Length", str(len(body))),
        ],
    )
    return [body]
