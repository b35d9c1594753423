"""Which message a redriven copy came from, so a create without an id keeps the record id it was first given.

``replay redrive`` sends a dead letter back to the source queue as a new message (a new message id) with two
attributes: the original identity and a digest of the body. The worker takes the identity only when the digest
matches the body it received: a producer that forwards a received message with its attributes onto a different
body (by accident or not) gets no borrowed identity, so one create can never be taken for another's record.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from worker.shapes import is_object

ORIGIN_MESSAGE_ID = "mutation.originMessageId"
ORIGIN_BODY_DIGEST = "mutation.originBodyDigest"


def body_digest(body: str) -> str:
    return hashlib.sha256(body.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def origin_attributes(message_id: str, body: str) -> dict[str, dict[str, str]]:
    """The SendMessage ``MessageAttributes`` that carry ``message_id`` as the identity of ``body``."""
    return {
        ORIGIN_MESSAGE_ID: {"DataType": "String", "StringValue": message_id},
        ORIGIN_BODY_DIGEST: {"DataType": "String", "StringValue": body_digest(body)},
    }


def origin_message_id(attributes: Mapping[str, Any], body: str) -> str | None:
    """The identity carried for ``body`` (Lambda's ``stringValue`` or boto3's ``StringValue`` shape), if the
    digest matches; None otherwise."""
    origin, digest = _text(attributes.get(ORIGIN_MESSAGE_ID)), _text(attributes.get(ORIGIN_BODY_DIGEST))
    if origin and digest and digest == body_digest(body):
        return origin
    return None


def _text(value: Any) -> str | None:
    if not is_object(value):
        return None
    text = value.get("stringValue", value.get("StringValue"))
    return text if isinstance(text, str) else None
