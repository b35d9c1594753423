"""The worker refuses a plain http:// endpoint except loopback (the sandbox): signed requests and session
tokens never cross the network unencrypted (``WorkerConfig.from_environ``, at cold start)."""

from __future__ import annotations

import pytest

from project_settings import load_settings
from worker.config import ConfigError, WorkerConfig

SETTINGS = load_settings()


def _environ(url: str) -> dict[str, str]:
    env = SETTINGS.worker_config().to_environ()
    env["APPSYNC_URL"] = url
    env["APPSYNC_REGION"] = SETTINGS.accounts.region
    return env


@pytest.mark.parametrize(
    "url",
    [
        "http://abcdefghijklmnopqrstuvwxyz.appsync-api.us-east-1.amazonaws.com/graphql",
        "http://api.example.com/graphql",
        "http://10.0.0.7:8080/graphql",
        "http://169.254.169.254/graphql",
        "http://[fe80::1]/graphql",
        "http://0.0.0.0/graphql",
        "http://127.0.0.1.nip.io/graphql",  # a public name that merely starts like loopback
        "http://localhost.example.com/graphql",
        "http://127.0.0.1@api.example.com/graphql",  # userinfo: the host is api.example.com
        "http://2130706433/graphql",  # 127.0.0.1 as one number: not accepted as loopback
        "HTTP://api.example.com/graphql",
    ],
)
def test_plain_http_to_a_non_loopback_host_is_refused(url: str) -> None:
    with pytest.raises(ConfigError) as refused:
        WorkerConfig.from_environ(_environ(url))
    assert any("plain http is refused" in problem for problem in refused.value.problems), refused.value


@pytest.mark.parametrize(
    "url", ["ftp://api.example.com/graphql", "ws://api.example.com/graphql", "api.example.com"]
)
def test_other_schemes_are_refused(url: str) -> None:
    with pytest.raises(ConfigError):
        WorkerConfig.from_environ(_environ(url))


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/graphql",
        "http://127.3.4.5/graphql",
        "http://localhost:1234/graphql",
        "http://[::1]:8080/graphql",
        "https://abcdefghijklmnopqrstuvwxyz.appsync-api.us-east-1.amazonaws.com/graphql",
        "https://api.example.com/graphql",
    ],
)
def test_https_and_loopback_http_are_accepted(url: str) -> None:
    assert WorkerConfig.from_environ(_environ(url)).appsync_url == url
