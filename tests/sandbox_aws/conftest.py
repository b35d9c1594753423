"""Shared helpers for the sandbox's AWS-side tests (test modules cannot import this file in importlib mode,
so helpers are fixtures)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import boto3
import pytest
from botocore.config import Config

from project_settings import Settings, load_settings
from sandbox.fixture import Sandbox

SETTINGS: Settings = load_settings()
NO_RETRIES = Config(retries={"total_max_attempts": 1, "mode": "standard"})

StsFactory = Callable[..., Any]


@pytest.fixture(scope="session")
def settings() -> Settings:
    return SETTINGS


@pytest.fixture
def sts_for(sb: Sandbox) -> StsFactory:
    """A real boto3 STS client (no retries) on the sandbox's endpoint, from any of the credential shapes the
    sandbox hands out: ``lambda_environment()`` / ``create_user_keys()`` (AWS_* names), or STS Credentials."""

    def make(creds: Mapping[str, Any], **overrides: Any) -> Any:
        if "AccessKeyId" in creds:
            key, secret, token = creds["AccessKeyId"], creds["SecretAccessKey"], creds.get("SessionToken")
        else:
            key, secret = creds["AWS_ACCESS_KEY_ID"], creds["AWS_SECRET_ACCESS_KEY"]
            token = creds.get("AWS_SESSION_TOKEN")
        params: dict[str, Any] = {
            "aws_access_key_id": key,
            "aws_secret_access_key": secret,
            "aws_session_token": token,
            **overrides,
        }
        return boto3.client(
            "sts", region_name=sb.region, endpoint_url=sb.endpoint_url, config=NO_RETRIES, **params
        )

    return make
