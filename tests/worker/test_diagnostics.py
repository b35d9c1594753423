"""Signature refusals are diagnosed by what AppSync said: a skewed clock names the clock, and which way it is off.

The unit tests use AppSync's wording (aws-mobile-appsync-sdk-js#620, amplify-js#9281: "Signature not yet current:
<sent> is still later than <now + 5 min> (<now> + 5 min.)" when the signer's clock is ahead, "Signature expired:
<sent> is now earlier than <now - 5 min> (<now> - 5 min.)" when it is behind). The end-to-end test skews the
worker's signing clock in the sandbox, whose AppSync stand-in answers with the same wording.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import botocore.auth
import pytest

from sandbox.fixture import Sandbox
from sandbox.lambda_runtime import LambdaContext
from worker.dead_letters import read_failure
from worker.diagnostics import diagnose, explain_signature_rejected
from worker.errors import SigningError
from worker.handler import lambda_handler

AHEAD = (
    "HTTP 400 BadRequestException: Signature not yet current: 20210205T063224Z is still later than "
    "20210205T062625Z (20210205T062125Z + 5 min.)"
)
BEHIND = (
    "HTTP 400 BadRequestException: Signature expired: 20260101T115400Z is now earlier than 20260101T115500Z "
    "(20260101T120000Z - 5 min.)"
)
MISMATCH = (
    "HTTP 403 InvalidSignatureException: The request signature we calculated does not match the signature you "
    "provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for "
    "details.\n\nThe Canonical String for this request should have been\n'POST\n/graphql\n\n"
    "accept:*/*\ncontent-type:application/json\nhost:abc.appsync-api.us-east-1.amazonaws.com\n"
    "x-amz-date:20210408T193145Z\nx-amz-security-token:IQoJb3JpZ2luX2Vj\n'"
)


def test_signature_not_yet_current_is_the_clock_ahead() -> None:
    diagnosis = explain_signature_rejected(AHEAD)
    assert "clock" in diagnosis and "ahead of AppSync's" in diagnosis
    assert "about 11 minutes" in diagnosis  # 06:32:24 sent, 06:21:25 AppSync's time
    assert "APPSYNC_REGION" not in diagnosis  # not taken for a host/region mismatch


def test_signature_expired_is_the_clock_behind() -> None:
    diagnosis = explain_signature_rejected(BEHIND)
    assert "clock" in diagnosis and "is behind AppSync's" in diagnosis
    assert "about 6 minutes" in diagnosis


@pytest.mark.parametrize(
    ("message", "direction"),
    [("Signature not yet current: (dates elided)", "ahead of"), ("Signature expired", "behind")],
)
def test_skew_with_other_date_wording_still_names_the_clock_and_its_direction(
    message: str, direction: str
) -> None:
    diagnosis = explain_signature_rejected(f"HTTP 400 BadRequestException: {message}")
    assert f"is {direction} AppSync's" in diagnosis and "about" not in diagnosis


def test_a_signature_mismatch_is_not_taken_for_the_clock_or_the_token() -> None:
    """AppSync's mismatch message quotes the canonical request, x-amz-date and x-amz-security-token included."""
    diagnosis = explain_signature_rejected(MISMATCH)
    assert "clock" not in diagnosis and "token" not in diagnosis
    assert "APPSYNC_REGION" in diagnosis and "Host header" in diagnosis
    assert "APPSYNC_HOST" not in diagnosis  # removed: the signed host is always APPSYNC_URL's


def test_other_signature_refusals() -> None:
    token = explain_signature_rejected(
        "HTTP 403 UnrecognizedClientException: The security token included in the request is invalid."
    )
    assert "session token" in token
    region = explain_signature_rejected(
        "HTTP 403 InvalidSignatureException: Credential should be scoped to a valid region, not 'eu-west-3'. "
    )
    assert "APPSYNC_REGION" in region and "clock" not in region


def test_diagnose_attaches_the_clock_diagnosis_to_a_signing_error() -> None:
    error = SigningError(AHEAD, error_type="BadRequestException")
    role = "arn:aws:iam::222222222222:role/Mutator"
    assert diagnose(error, "createTodo", None, role, "pinned").diagnosis == explain_signature_rejected(AHEAD)


# --- end to end: the worker's clock skewed, against the sandbox's AppSync stand-in ---------------------------
@pytest.mark.parametrize(("skew_minutes", "direction"), [(-6, "is behind"), (6, "is ahead of")])
def test_worker_clock_six_minutes_off_dead_letters_with_a_clock_diagnosis(
    sb: Sandbox,
    container: Callable[..., None],
    monkeypatch: pytest.MonkeyPatch,
    skew_minutes: int,
    direction: str,
) -> None:
    container()
    sb.purge_dlq()
    skew = timedelta(minutes=skew_minutes)
    # The clock botocore's SigV4 signer reads (naive UTC, as botocore.utils.get_current_datetime returns).
    monkeypatch.setattr(
        botocore.auth, "get_current_datetime", lambda: datetime.now(UTC).replace(tzinfo=None) + skew
    )
    key = f"skewed-{uuid.uuid4().hex[:8]}"
    envelope = {"mutation": "createTodo", "input": {"name": key}, "idempotencyKey": key}
    [message_id] = sb.send_messages([json.dumps(envelope)])
    event = sb.sqs_event()
    response = lambda_handler(event, LambdaContext(function_name=sb.settings.worker.function_name))
    sb.apply_batch_response(event, response)

    assert response == {"batchItemFailures": []}  # permanent: dead-lettered, then deleted from the source
    assert key not in {item["id"] for item in sb.table_items()}
    [failure] = [
        read_failure(m["MessageAttributes"])
        for m in sb.dlq_messages()
        if read_failure(m["MessageAttributes"]).get("sourceMessageId") == message_id
    ]
    expected = "Signature not yet current" if skew_minutes > 0 else "Signature expired"
    assert expected in failure["reason"]
    assert "clock" in failure["diagnosis"] and direction in failure["diagnosis"], failure
    assert "about 6 minutes" in failure["diagnosis"]
    assert "APPSYNC_HOST" not in failure["diagnosis"]
    assert sb.queue_depth() == 0
