"""An API whose authorization modes lack AWS_IAM refuses every signed request before anything else, as AppSync
does: the sandbox must not be kinder (6 of the corpus's 10 real Gen 1 APIs have no AWS_IAM mode)."""

from __future__ import annotations

import json

import pytest

from sandbox.appsync import responses
from sandbox.appsync.sigv4 import ReceivedRequest, SigV4Verifier


class NoIdentities:
    def lookup(self, access_key_id: str) -> None:
        raise AssertionError("never reached: the API takes no IAM")


@pytest.mark.parametrize(
    ("modes", "message"),
    [
        (("AMAZON_COGNITO_USER_POOLS",), "Unable to parse JWT token."),  # aws-amplify/docs#1884
        (("API_KEY", "AMAZON_COGNITO_USER_POOLS"), "Valid authorization header not provided."),
    ],
)
def test_a_signed_request_to_an_api_without_iam_is_refused_at_the_door(
    modes: tuple[str, ...], message: str
) -> None:
    verifier = SigV4Verifier(NoIdentities(), "us-east-1", auth_modes=modes)  # type: ignore[arg-type]
    signed = ReceivedRequest(
        "POST",
        "/graphql",
        {"authorization": ["AWS4-HMAC-SHA256 Credential=ASIA/x/us-east-1/appsync/aws4_request"]},
        b"{}",
    )
    with pytest.raises(responses.Refusal) as caught:
        verifier.verify(signed)
    answer = caught.value.answer()
    assert answer.status == 401
    assert json.loads(answer.body)["errors"][0] == {"errorType": "UnauthorizedException", "message": message}


def test_with_iam_among_the_modes_the_signature_is_checked_as_before() -> None:
    verifier = SigV4Verifier(NoIdentities(), "us-east-1", auth_modes=("AMAZON_COGNITO_USER_POOLS", "AWS_IAM"))  # type: ignore[arg-type]
    with pytest.raises(responses.Refusal) as caught:
        verifier.verify(ReceivedRequest("POST", "/graphql", {}, b"{}"))
    assert (
        json.loads(caught.value.answer().body)["errors"][0]["message"]
        == "Valid authorization header not provided."
    )
