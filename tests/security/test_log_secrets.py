"""No secret in the worker's logs, whatever goes wrong.

One run of the worker in the sandbox, at ``LOG_LEVEL=DEBUG``, through every failure kind it knows: HTTP 429
and 5xx, connection resets, timeouts (slow and applied-then-stalled), credentials expiring mid-run, STS
throttling at a cold start, AssumeRole refused (wrong session name), Amplify's resolver refusing the caller
(custom-roles wall), a signature AppSync rejects (wrong signing region), and permanently bad messages.
Every line the worker wrote to stdout is then scanned for every secret key and session token the sandbox
issued (``sb.issued_secrets()``) and for signing material: ``Signature=``, ``X-Amz-Security-Token`` and the
``Authorization`` header's value (``AWS4-HMAC-SHA256 Credential=...``).
(The suite-wide scan in tests/conftest.py covers what tests leave in captured output; this test reads the
worker's output itself, so it also holds when run alone.)
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

from project_settings import load_settings
from sandbox.fixture import Sandbox
from tests.support.soak import keep_on_expiry, parse_log_lines
from worker.handler import lambda_handler

SETTINGS = load_settings()
MARKERS = ("Signature=", "X-Amz-Security-Token", "AWS4-HMAC-SHA256", "Credential=ASIA", "Credential=AKIA")
EXPECTED_ERROR_TYPES = {  # as the worker logs them (AppSync's errorType where it names one)
    "TooManyRequestsException",  # HTTP 429
    "InternalFailure",  # HTTP 500
    "ServiceUnavailableException",  # HTTP 503
    "ConnectionFailed",
    "Timeout",
    "ExpiredToken",
    "Throttling",  # STS
    "AssumeRoleDenied",
    "InvalidSignatureException",
    "Unauthorized",
    "InvalidEnvelope",
    "MutationNotAllowed",
    "ValidationError",
}


def _creates(count: int) -> list[str]:
    return [
        json.dumps({"mutation": "createTodo", "input": {"name": "x"}, "idempotencyKey": uuid.uuid4().hex})
        for _ in range(count)
    ]


BAD = [
    '{"mutation": "createTodo", "input": ',
    json.dumps({"mutation": "createSecret", "input": {"name": "x"}}),
    json.dumps({"mutation": "createTodo", "input": {"name": "x"}, "fields": ["id", "noSuchField"]}),
]


def _drain(sb: Sandbox) -> None:
    sb.drain_queue(lambda_handler, batch_size=10, max_rounds=40)
    if sb.queue_depth():  # whatever is left (e.g. after a refused AssumeRole): drain it healthy
        sb.appsync.faults.clear()
        sb.drain_queue(lambda_handler, batch_size=10, max_rounds=40)


def test_no_secret_in_any_log_line_of_a_run_with_every_failure_kind(
    sb: Sandbox, container: Callable[..., None], capsys: pytest.CaptureFixture[str]
) -> None:
    debug = {"LOG_LEVEL": "DEBUG", "REQUEST_TIMEOUT_SECONDS": "1", "MAX_ATTEMPTS": "4"}
    container(**debug)
    faults = sb.appsync.faults
    faults.fail_next(2, status=429)
    faults.fail_next(1, status=500)
    faults.fail_next(1, status=502)
    faults.fail_next(1, status=503)
    faults.reset_next(2)
    sb.send_messages(_creates(8) + BAD)
    _drain(sb)
    faults.clear()
    faults.slow_next(1, seconds=1.5)
    faults.stall_after_apply_next(2, seconds=1.5)
    sb.send_messages(_creates(4))
    _drain(sb)

    faults.clear()  # credentials expire mid-run
    sb.sts.expire_all(keep_role_arns=keep_on_expiry(sb))
    sb.send_messages(_creates(4))
    _drain(sb)

    sb.sts.throttle_next(8)  # a cold start while STS throttles
    container(**debug)
    sb.send_messages(_creates(4))
    _drain(sb)

    container(**debug, MUTATOR_SESSION_NAME="not-the-pinned-session")  # AssumeRole refused
    sb.send_messages(_creates(2))
    _drain(sb)

    container(**debug, APPSYNC_REGION="eu-west-1")  # signed for the wrong region: signature rejected
    sb.send_messages(_creates(2))
    _drain(sb)

    container(**debug)  # the custom-roles wall: the role ARN instead of the assumed-role ARN
    sb.write_custom_roles([SETTINGS.mutator_role_arn])
    sb.send_messages(_creates(2))
    _drain(sb)
    sb.write_custom_roles([SETTINGS.assumed_role_arn])

    output = capsys.readouterr()
    text = output.out + output.err
    lines = parse_log_lines(output.out)
    seen = Counter(str(line.get("error_type")) for line in lines if line.get("error_type"))
    missing = EXPECTED_ERROR_TYPES - set(seen)
    assert not missing, f"the run did not exercise {sorted(missing)} (saw {dict(seen)})"

    secrets = {s for s in sb.issued_secrets() if len(s) >= 16}
    assert secrets, "the sandbox issued no secrets?"
    leaked = [f"a secret of {len(s)} characters starting {s[:3]!r}" for s in secrets if s in text]
    markers = [marker for marker in MARKERS if marker in text]
    print(
        f"log scan: {len(text.splitlines())} lines ({len(lines)} worker JSON lines, {len(text)} bytes) checked "
        f"against {len(secrets)} issued secrets and {len(MARKERS)} signing markers: "
        f"{len(leaked) + len(markers)} hits; failure kinds seen: {dict(sorted(seen.items()))}"
    )
    assert leaked == []
    assert markers == []
    # Every line printed is one JSON object: nothing reached stdout around the structured logger.
    not_json = [line[:80] for line in output.out.splitlines() if line.strip() and not _json_object(line)]
    assert not_json == []


def _json_object(line: str) -> bool:
    try:
        return isinstance(json.loads(line), dict)
    except ValueError:
        return False


def test_redaction_of_a_secret_passed_to_the_logger_by_mistake(capsys: Any) -> None:
    """The belt to the braces: even a careless log call with a header value or a key is scrubbed."""
    import structlog

    from worker.logs import configure_logging

    configure_logging("DEBUG")
    header = (
        "AWS4-HMAC-SHA256 Credential=ASIAABCDEFGHIJKLMNOP/20260101/us-east-1/appsync/aws4_request, "
        "SignedHeaders=host;x-amz-date, Signature=" + "ab" * 32
    )
    structlog.get_logger("test").warning(
        "careless",
        authorization=header,
        secret_access_key="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        detail=f"sent with {header} and X-Amz-Security-Token: FQoGZXIvYXdzEXAMPLETOKEN",
    )
    out = capsys.readouterr().out
    assert "ab" * 32 not in out
    assert "wJalrXUtnFEMI" not in out
    assert "FQoGZXIvYXdzEXAMPLETOKEN" not in out
    assert "ASIAABCDEFGHIJKLMNOP" not in out
