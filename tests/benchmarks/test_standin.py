"""The fast stand-in checks signatures like AppSync's front door and answers like a resolver."""

from __future__ import annotations

import json

import pytest

from benchmarks import harness, standin

URL = "http://127.0.0.1:4321/graphql"


def _split(raw: bytes) -> tuple[dict[str, str], bytes]:
    head, _, body = raw.partition(b"\r\n\r\n")
    headers = {}
    for line in head.decode("latin-1").split("\r\n")[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return headers, body


def test_a_signed_request_gets_the_fields_data() -> None:
    headers, body = _split(harness.presigned(URL, 1)[0])
    status, answer, _ = standin.Server().answer("POST", "/graphql", headers, body)
    record_id = json.loads(body)["variables"]["input"]["id"]
    assert status == 200
    assert json.loads(answer) == {"data": {"createTodo": {"id": record_id}}}


@pytest.mark.parametrize(
    "change",
    [
        lambda h, b: (h, b.replace(b'"c"', b'"d"')),  # body changed after signing
        lambda h, b: ({**h, "host": "127.0.0.1:9999"}, b),  # another host than the one signed
        lambda h, b: ({**h, "x-amz-security-token": "other"}, b),
        lambda h, b: ({k: v for k, v in h.items() if k != "authorization"}, b),
        lambda h, b: (
            {**h, "authorization": h["authorization"].replace(standin.ACCESS_KEY, "ASIAUNKNOWN")},
            b,
        ),
    ],
)
def test_what_is_not_signed_right_is_refused(change: object) -> None:
    headers, body = _split(harness.presigned(URL, 1)[0])
    headers, body = change(headers, body)  # type: ignore[operator]
    status, answer, _ = standin.Server().answer("POST", "/graphql", headers, body)
    assert status == 403
    assert json.loads(answer)["errors"][0]["errorType"] in (
        "InvalidSignatureException",
        "UnauthorizedException",
    )
