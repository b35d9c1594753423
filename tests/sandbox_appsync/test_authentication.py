"""SigV4 at the stand-in's front door: every refusal from a real botocore-signed request, and the admitted paths."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import botocore.auth
import pytest
from botocore.credentials import Credentials
from gql import Client as GqlClient
from gql import gql
from gql.transport.aiohttp import AIOHTTPTransport
from gql.transport.appsync_auth import AppSyncIAMAuthentication
from gql.transport.exceptions import TransportQueryError

BODY = json.dumps({"query": "query { __typename }"}).encode()


def _refused(reply: Any, status: int, error_type: str) -> dict[str, Any]:
    assert reply.status == status, reply
    assert set(reply.body) == {"errors"}, reply.body
    error = reply.error
    assert error["errorType"] == error_type
    assert reply.headers["x-amzn-ErrorType"].startswith(error_type)
    return error


def test_signed_request_is_admitted(client: Any) -> None:
    reply = client.raw(BODY)
    assert (reply.status, reply.body) == (200, {"data": {"__typename": "Query"}})


def test_long_term_user_key_without_token_is_admitted(appsync: Any, identities: Any, kit: Any) -> None:
    user = identities.issue(long_term_user="operator")
    reply = kit.Client(appsync.url, user).raw(BODY)
    assert reply.status == 200
    assert appsync.stats.by_caller == {f"arn:aws:iam::{kit.ACCOUNT_B}:user/operator": 1}


def test_no_authorization_header(appsync: Any, kit: Any) -> None:
    reply = kit.post(appsync.url, BODY, {"content-type": "application/json"})
    error = _refused(reply, 401, "UnauthorizedException")
    assert error["message"] == "Valid authorization header not provided."


def test_api_key_alone_is_refused_like_an_iam_only_api(appsync: Any, kit: Any) -> None:
    headers = {"content-type": "application/json", "x-api-key": "da2-abcdefghijklmnopqrstuvwxyz"}
    error = _refused(kit.post(appsync.url, BODY, headers), 401, "UnauthorizedException")
    assert error["message"] == "Valid authorization header not provided."


def test_malformed_authorization_header(appsync: Any, caller: Any, kit: Any) -> None:
    headers = kit.sign(appsync.url, BODY, kit.credentials_of(caller))
    headers["Authorization"] = "AWS4-HMAC-SHA256 Credential " + caller.access_key_id
    error = _refused(kit.post(appsync.url, BODY, headers), 400, "IncompleteSignatureException")
    assert "Authorization header requires 'Signature' parameter." in error["message"]
    assert "Signature=" not in error["message"].split("Authorization=")[-1].replace("Signature=...", "")


def test_unknown_access_key(appsync: Any, caller: Any, kit: Any) -> None:
    stranger = Credentials("ASIAUNKNOWNKEY000000", caller.secret_access_key, caller.session_token)
    reply = kit.post(appsync.url, BODY, kit.sign(appsync.url, BODY, stranger))
    error = _refused(reply, 403, "UnrecognizedClientException")
    assert error["message"] == "The security token included in the request is invalid."


@pytest.mark.parametrize("token", [None, "not-the-session-token"], ids=["missing", "wrong"])
def test_session_token_missing_or_not_the_keys(
    appsync: Any, caller: Any, kit: Any, token: str | None
) -> None:
    credentials = kit.credentials_of(caller, token=token)
    reply = kit.post(appsync.url, BODY, kit.sign(appsync.url, BODY, credentials))
    _refused(reply, 403, "UnrecognizedClientException")


def test_expired_credentials(appsync: Any, identities: Any, kit: Any) -> None:
    expired = identities.issue(expires_in=timedelta(seconds=-1))
    reply = kit.Client(appsync.url, expired).raw(BODY)
    error = _refused(reply, 403, "ExpiredTokenException")
    assert error["message"] == "The security token included in the request is expired"


def test_wrong_secret(appsync: Any, caller: Any, kit: Any) -> None:
    credentials = kit.credentials_of(caller, secret_key="x" * 40)
    error = _refused(
        kit.post(appsync.url, BODY, kit.sign(appsync.url, BODY, credentials)),
        403,
        "InvalidSignatureException",
    )
    assert error["message"].startswith("The request signature we calculated does not match")


def test_body_changed_after_signing(appsync: Any, caller: Any, kit: Any) -> None:
    headers = kit.sign(appsync.url, BODY, kit.credentials_of(caller))
    tampered = BODY.replace(b"__typename", b"__typename ")
    _refused(kit.post(appsync.url, tampered, headers), 403, "InvalidSignatureException")


def test_signed_header_changed_after_signing(appsync: Any, caller: Any, kit: Any) -> None:
    headers = kit.sign(appsync.url, BODY, kit.credentials_of(caller))
    headers["content-type"] = "application/json; charset=UTF-8"
    _refused(kit.post(appsync.url, BODY, headers), 403, "InvalidSignatureException")


def test_signed_for_another_host(appsync: Any, caller: Any, kit: Any) -> None:
    headers = kit.sign(
        appsync.url, BODY, kit.credentials_of(caller), host="abc.appsync-api.us-east-1.amazonaws.com"
    )
    del headers["host"]  # the HTTP client sends the real Host: the signature covered another one
    _refused(kit.post(appsync.url, BODY, headers), 403, "InvalidSignatureException")


@pytest.mark.parametrize(
    ("scope", "expected"),
    [
        ({"region": "eu-west-1"}, "Credential should be scoped to a valid region, not 'eu-west-1'."),
        ({"service": "execute-api"}, "Credential should be scoped to correct service: 'appsync'."),
    ],
    ids=["region", "service"],
)
def test_credential_scope_for_another_region_or_service(
    appsync: Any, caller: Any, kit: Any, scope: dict[str, str], expected: str
) -> None:
    headers = kit.sign(appsync.url, BODY, kit.credentials_of(caller), **scope)
    error = _refused(kit.post(appsync.url, BODY, headers), 403, "InvalidSignatureException")
    assert error["message"].strip() == expected


def test_request_dated_more_than_five_minutes_ago(
    appsync: Any, caller: Any, kit: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    six_minutes_ago = datetime.now(UTC).replace(tzinfo=None) - timedelta(minutes=6)
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: six_minutes_ago)
    headers = kit.sign(appsync.url, BODY, kit.credentials_of(caller))
    error = _refused(kit.post(appsync.url, BODY, headers), 400, "BadRequestException")
    assert error["message"].startswith("Signature expired: ")


def test_server_clock_ahead_refuses_and_within_five_minutes_admits(appsync: Any, client: Any) -> None:
    appsync.clock_offset = timedelta(minutes=-6)  # the server's clock is behind: the request is "future"
    error = _refused(client.raw(BODY), 400, "BadRequestException")
    assert error["message"].startswith("Signature not yet current: ")
    appsync.clock_offset = timedelta(minutes=4)
    assert client.raw(BODY).status == 200


def test_refusals_are_counted_without_a_caller(appsync: Any, caller: Any, kit: Any) -> None:
    kit.post(appsync.url, BODY, {"content-type": "application/json"})
    kit.post(appsync.url, BODY, kit.sign(appsync.url, BODY, kit.credentials_of(caller, secret_key="y" * 40)))
    assert appsync.stats.by_status == {401: 1, 403: 1}
    assert appsync.stats.by_outcome == {"unauthenticated": 1, "signature": 1}
    assert appsync.stats.by_caller == {}


def _gql_client(appsync: Any, caller: Any, region: str = "us-east-1") -> GqlClient:
    host = appsync.url.split("/")[2]
    credentials = Credentials(caller.access_key_id, caller.secret_access_key, caller.session_token)
    auth = AppSyncIAMAuthentication(host=host, credentials=credentials, region_name=region)
    return GqlClient(transport=AIOHTTPTransport(url=appsync.url, auth=auth))


async def test_gql_appsync_iam_authentication_is_admitted(appsync: Any, caller: Any) -> None:
    async with _gql_client(appsync, caller) as session:
        result = await session.execute(gql("query { __typename }"))
    assert result == {"__typename": "Query"}


async def test_gql_signed_for_another_region_is_refused(appsync: Any, caller: Any) -> None:
    async with _gql_client(appsync, caller, region="eu-west-1") as session:
        with pytest.raises(TransportQueryError) as raised:
            await session.execute(gql("query { __typename }"))
    assert raised.value.errors is not None
    assert raised.value.errors[0]["errorType"] == "InvalidSignatureException"
