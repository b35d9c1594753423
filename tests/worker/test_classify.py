"""How each AppSync answer is classified (shapes from sandbox/appsync/responses.py's sources and FACTS.md)."""

from __future__ import annotations

import json

import pytest

from worker.classify import classify_response
from worker.errors import (
    ConditionalCheckFailedError,
    ExpiredCredentialsError,
    GraphQLValidationError,
    IAMDeniedError,
    PermanentError,
    ResolverUnauthorizedError,
    ServerError,
    SigningError,
    ThrottledError,
)


def body(*errors: dict[str, object], data: object = None) -> str:
    return json.dumps({"data": data, "errors": list(errors)})


@pytest.mark.parametrize(
    ("status", "text", "expected", "retryable"),
    [
        (200, json.dumps({"data": {"createTodo": {"id": "1"}}}), None, None),
        (
            200,
            body(
                {
                    "errorType": "Unauthorized",
                    "message": "Not Authorized to access createTodo on type Mutation",
                }
            ),
            ResolverUnauthorizedError,
            False,
        ),
        (
            200,
            body(
                {
                    "errorType": "DynamoDB:ConditionalCheckFailedException",
                    "message": "The conditional request failed",
                }
            ),
            ConditionalCheckFailedError,
            False,
        ),
        (
            200,
            body(
                {
                    "message": "Validation error of type FieldUndefined: Field 'x' in type 'Mutation' is undefined @ 'x'"
                }
            ),
            GraphQLValidationError,
            False,
        ),
        (
            200,
            body({"errorType": "DynamoDB:ProvisionedThroughputExceededException", "message": "slow down"}),
            ThrottledError,
            True,
        ),
        (
            429,
            json.dumps({"errors": [{"errorType": "TooManyRequestsException", "message": "Rate exceeded"}]}),
            ThrottledError,
            True,
        ),
        (503, "Service Unavailable", ServerError, True),
        (502, json.dumps({"errors": [{"errorType": "BadGateway", "message": "x"}]}), ServerError, True),
        (
            401,
            json.dumps(
                {
                    "errors": [
                        {
                            "errorType": "UnauthorizedException",
                            "message": "Valid authorization header not provided.",
                        }
                    ]
                }
            ),
            SigningError,
            False,
        ),
        (
            401,
            json.dumps({"errors": [{"errorType": "UnauthorizedException", "message": "Permission denied"}]}),
            IAMDeniedError,
            False,
        ),
        (
            403,
            json.dumps(
                {
                    "errors": [
                        {
                            "errorType": "InvalidSignatureException",
                            "message": "The request signature we calculated does not match",
                        }
                    ]
                }
            ),
            SigningError,
            False,
        ),
        (
            403,
            json.dumps(
                {
                    "errors": [
                        {
                            "errorType": "UnrecognizedClientException",
                            "message": "The security token included in the request is invalid.",
                        }
                    ]
                }
            ),
            SigningError,
            False,
        ),
        (
            403,
            json.dumps(
                {
                    "errors": [
                        {
                            "errorType": "ExpiredTokenException",
                            "message": "The security token included in the request is expired",
                        }
                    ]
                }
            ),
            ExpiredCredentialsError,
            True,
        ),
        (
            400,
            json.dumps(
                {
                    "errors": [
                        {
                            "errorType": "BadRequestException",
                            "message": "Signature expired: 20260101T000000Z is now earlier than ...",
                        }
                    ]
                }
            ),
            SigningError,
            False,
        ),
        (
            400,
            json.dumps(
                {
                    "errors": [
                        {"errorType": "MalformedHttpRequestException", "message": "Request body is empty."}
                    ]
                }
            ),
            PermanentError,
            False,
        ),
        (200, "<html>oops</html>", ServerError, True),
    ],
)
def test_classification(status: int, text: str, expected: type | None, retryable: bool | None) -> None:
    error = classify_response(status, text)
    if expected is None:
        assert error is None
        return
    assert type(error) is expected
    assert error is not None and error.retryable is retryable
