"""How each AppSync answer is read (``worker.judge.read_answer``, the half of the judgement that needs no request).

The shapes are AppSync's as published, not the sandbox stand-in's (which is checked against the same sources, so
a wrong stand-in cannot make these pass): each case names where its shape comes from.
- resolver refusal ``Unauthorized`` with ``data``/``errorInfo`` null: a deployed API's answer quoted in
  aws-amplify/amplify-category-api#1769 (and AWS knowledge center "aws-appsync-graphql-request-unauth-error");
- ``DynamoDB:ConditionalCheckFailedException`` on a conditional create: AppSync resolver error types (AWS AppSync
  developer guide, "Resolver mapping template reference for DynamoDB", error handling);
- validation without ``errorType`` (graphql-java wording, ``path: null``): graphql/graphql-over-http#81 (posted by
  the AppSync team); variable coercion: aws/aws-appsync-community#406;
- HTTP-level refusals (401 ``UnauthorizedException`` "Valid authorization header not provided.", 403
  ``InvalidSignatureException`` / ``UnrecognizedClientException``, 403 expired token, 400 "Signature expired"
  and ``MalformedHttpRequestException``): AppSync's documented error types (API reference, "Common Errors") and the
  answers quoted in aws-mobile-appsync-sdk-js#620 and graphql/graphql-over-http#81;
- throttling on the GraphQL endpoint: no public sample found: 429 and throttling error types are taken
  as transient, as AWS's common error ``ThrottlingException`` / ``TooManyRequestsException`` are.
"""

from __future__ import annotations

import json

import pytest

from worker.errors import (
    ConditionalCheckFailedError,
    ExpiredCredentialsError,
    GraphQLValidationError,
    IAMDeniedError,
    MutationError,
    PermanentError,
    ResolverUnauthorizedError,
    ServerError,
    SigningError,
    ThrottledError,
)
from worker.http11 import HttpAnswer
from worker.judge import read_answer


def classify_response(status: int, text: str) -> MutationError | None:
    return read_answer(HttpAnswer(status, "", text.encode()))[1]


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


# The same refusals as AppSync and as Amplify's AppSync simulator word and shape them (README, "Amplify's own
# resolvers"): the classification follows what happened, not the words.
SAME_MEANING = {
    "schema validation": [
        # AppSync (graphql-java): "path": null, graphql/graphql-over-http#81
        body(
            {
                "path": None,
                "locations": [{"line": 1, "column": 30, "sourceName": None}],
                "message": "Validation error of type WrongType: argument 'input' with value 'ObjectValue{...}' "
                "is missing required fields '[name]' @ 'createTodo'",
            }
        ),
        # Amplify's simulator (graphql-js): no path key, graphql-js wording
        body(
            {
                "message": 'Field "CreateTodoInput.name" of required type "String!" was not provided.',
                "locations": [{"line": 1, "column": 30}],
            },
            {
                "message": 'Field "nam" is not defined by type "CreateTodoInput". Did you mean "name"?',
                "locations": [{"line": 1, "column": 31}],
            },
        ),
    ],
    "variable coercion": [
        body(
            {
                "path": None,
                "locations": None,
                "message": "Variable 'input' has coerced Null value for NonNull type 'String!'",
            }
        ),
        body(
            {
                "message": 'Variable "$input" got invalid value 1 at "input.name"; String cannot represent a non '
                "string value: 1",
                "locations": [{"line": 1, "column": 12}],
            }
        ),
    ],
}


@pytest.mark.parametrize("kind", sorted(SAME_MEANING))
def test_a_refused_document_is_a_validation_error_whatever_the_wording(kind: str) -> None:
    for text in SAME_MEANING[kind]:
        error = classify_response(200, text)
        assert type(error) is GraphQLValidationError, text
        assert error.error_type == "ValidationError" and not error.retryable


def test_an_untyped_error_from_a_field_is_not_a_validation_error() -> None:
    """A resolver that fails without an errorType names its field (``path``): something ran, so it is not the
    document's fault; it stays a permanent ``GraphQLError``."""
    text = body({"path": ["createTodo"], "message": "something in the resolver", "locations": []})
    error = classify_response(200, text)
    assert error is not None and error.error_type == "GraphQLError" and not error.retryable


def test_the_simulators_unauthorized_is_amplifys_resolver_refusal() -> None:
    """AppSync: "Not Authorized to access createTodo on type Mutation", data/errorInfo null; the simulator:
    "Unauthorized", data/errorInfo {}. Both are errorType Unauthorized from the resolver."""
    appsync = body(
        {
            "path": ["createTodo"],
            "data": None,
            "errorType": "Unauthorized",
            "errorInfo": None,
            "message": "Not Authorized to access createTodo on type Mutation",
        },
        data={"createTodo": None},
    )
    simulator = body(
        {
            "message": "Unauthorized",
            "errorType": "Unauthorized",
            "data": {},
            "errorInfo": {},
            "path": ["createTodo"],
        },
        data={"createTodo": None},
    )
    for text in (appsync, simulator):
        assert type(classify_response(200, text)) is ResolverUnauthorizedError


def test_an_answer_orjson_refuses_but_json_allows_is_read_as_json() -> None:
    """A resolver can echo an input's lone surrogate escape back (``"\\ud800"``): valid JSON that orjson
    refuses. It is the resolver's refusal, read as such, never a protocol fault (which would be retried)."""
    text = body(
        {"path": ["createTodo"], "errorType": "Unauthorized", "message": "name 'a\\ud800b'"},
        data={"createTodo": None},
    ).replace("\\\\ud800", "\\ud800")
    assert "\\ud800" in text
    error = classify_response(200, text)
    assert type(error) is ResolverUnauthorizedError and "\ud800" in error.reason
