"""A ``MutationClient`` over the real credential refresh, fed by a scripted STS: what the worker's client tests
build against a local server (the network path, the retries and the verdicts are the worker's own)."""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from worker.client import MutationClient, RetryPolicy
from worker.config import WorkerConfig
from worker.credentials import AssumedRoleCredentials


class ScriptedSTS:
    """AssumeRole answered with a fresh one-hour set each call (``ASIATESTKEY000000001``, ...002, ...)."""

    def __init__(self, session_token: str = "token") -> None:
        self.calls = 0
        self.session_token = session_token

    def assume_role(self, **kwargs: Any) -> dict[str, Any]:
        self.calls += 1
        return {
            "Credentials": {
                "AccessKeyId": f"ASIATESTKEY{self.calls:09d}",
                "SecretAccessKey": "secret",
                "SessionToken": self.session_token,
                "Expiration": datetime.fromtimestamp(time.time() + 3600, UTC),
            },
            "AssumedRoleUser": {
                "Arn": f"arn:aws:sts::222222222222:assumed-role/R/{kwargs['RoleSessionName']}"
            },
        }


def client_config(url: str, allowed: Iterable[str]) -> WorkerConfig:
    return WorkerConfig.from_environ(
        {
            "APPSYNC_URL": url,
            "APPSYNC_REGION": "eu-west-1",
            "MUTATOR_ROLE_ARN": "arn:aws:iam::222222222222:role/R",
            "MUTATOR_SESSION_NAME": "pinned",
            "ALLOWED_MUTATIONS": ",".join(sorted(allowed)),
            "REQUEST_TIMEOUT_SECONDS": "2",
        }
    )


def mutation_client(
    url: str, allowed: Iterable[str], policy: RetryPolicy, sts: ScriptedSTS | None = None
) -> MutationClient:
    config = client_config(url, allowed)
    credentials = AssumedRoleCredentials.assuming(
        sts or ScriptedSTS(),
        role_arn=config.role_arn,
        session_name=config.session_name,
        duration_seconds=3600,
    )
    return MutationClient(config, credentials, retry_policy=policy)
