"""The sandbox's iam:SimulatePrincipalPolicy refuses what IAM refuses: another account's entity, malformed input."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from project_settings import Settings

SIMULATE_ALL = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "iam:SimulatePrincipalPolicy", "Resource": "*"}],
}
NO_RETRIES = Config(retries={"total_max_attempts": 1, "mode": "standard"}, parameter_validation=False)


def _iam(sb: Any, keys: dict[str, str]) -> Any:
    return boto3.client(
        "iam",
        region_name=sb.region,
        endpoint_url=sb.endpoint_url,
        aws_access_key_id=keys["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=keys["AWS_SECRET_ACCESS_KEY"],
        config=NO_RETRIES,
    )


def _refusal(call: Any) -> tuple[int, dict[str, Any]]:
    with pytest.raises(ClientError) as caught:
        call()
    return caught.value.response["ResponseMetadata"]["HTTPStatusCode"], caught.value.response["Error"]


@pytest.fixture(scope="module")
def a_simulator(sb: Any) -> dict[str, str]:
    """An account-A user allowed iam:SimulatePrincipalPolicy on every resource."""
    keys: dict[str, str] = sb.create_user_keys("a-simulator", account="A")
    sb.client("iam", "A").put_user_policy(
        UserName="a-simulator", PolicyName="simulate", PolicyDocument=json.dumps(SIMULATE_ALL)
    )
    return keys


def test_own_account_is_simulated(sb: Any, settings: Settings, a_simulator: dict[str, str]) -> None:
    results = _iam(sb, a_simulator).simulate_principal_policy(
        PolicySourceArn=settings.execution_role_arn, ActionNames=["sts:AssumeRole"]
    )["EvaluationResults"]
    assert [r["EvalActionName"] for r in results] == ["sts:AssumeRole"]


def test_another_accounts_role_is_refused_even_with_simulate_on_star(
    sb: Any, settings: Settings, a_simulator: dict[str, str]
) -> None:
    status, error = _refusal(
        lambda: _iam(sb, a_simulator).simulate_principal_policy(
            PolicySourceArn=settings.mutator_role_arn, ActionNames=["appsync:GraphQL"]
        )
    )
    assert (status, error["Code"]) == (403, "AccessDenied")
    assert error["Message"] == (
        f"User: arn:aws:iam::{sb.account_a}:user/a-simulator is not authorized to perform: "
        f"iam:SimulatePrincipalPolicy on resource: {settings.mutator_role_arn}"
    )


def test_another_accounts_admin_is_refused(sb: Any, settings: Settings) -> None:
    """Account A's admin (whose policy allows everything) cannot simulate account B's role either."""
    status, error = _refusal(
        lambda: sb.client("iam", "A").simulate_principal_policy(
            PolicySourceArn=settings.mutator_role_arn, ActionNames=["appsync:GraphQL"]
        )
    )
    assert (status, error["Code"]) == (403, "AccessDenied")


@pytest.mark.parametrize(
    "params",
    [
        {"ActionNames": ["appsync:GraphQL"]},  # no PolicySourceArn (was IndexError, HTTP 500)
        {"PolicySourceArn": "not-an-arn", "ActionNames": ["appsync:GraphQL"]},
        {"PolicySourceArn": "arn:aws:sts::111111111111:assumed-role/r/s", "ActionNames": ["x:Y"]},
        {"PolicySourceArn": "ARN"},  # filled in below: no ActionNames (was 200 with no results)
    ],
)
def test_malformed_input_is_a_validation_error(
    sb: Any, settings: Settings, a_simulator: dict[str, str], params: dict[str, Any]
) -> None:
    if params.get("PolicySourceArn") == "ARN":
        params = {"PolicySourceArn": settings.execution_role_arn}
    status, error = _refusal(lambda: _iam(sb, a_simulator).simulate_principal_policy(**params))
    assert (status, error["Code"]) == (400, "ValidationError")


@pytest.mark.parametrize("action", ["SimulatePrincipalPolicy", "GetCallerIdentity"])
def test_non_utf8_body_is_a_400(sb: Any, a_simulator: dict[str, str], action: str) -> None:
    service = "iam" if action == "SimulatePrincipalPolicy" else "sts"
    body = f"Action={action}&Version=2010-05-08&PolicySourceArn=\xff".encode("latin-1")
    request = AWSRequest(
        "POST",
        sb.endpoint_url + "/",
        data=body,
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
    )
    creds = Credentials(a_simulator["AWS_ACCESS_KEY_ID"], a_simulator["AWS_SECRET_ACCESS_KEY"])
    SigV4Auth(creds, service, sb.region).add_auth(request)
    answer = requests.post(request.url, data=body, headers=dict(request.headers), timeout=10)
    assert answer.status_code == 400, answer.text
    assert "<Code>" in answer.text
