"""Cold-start configuration: one error that lists every problem; the settings file feeds the same parser."""

from __future__ import annotations

import json
import socket
import uuid
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest

from project_settings import SettingsError, load_settings, parse_settings
from sandbox.fixture import Sandbox
from sandbox.lambda_runtime import LambdaContext
from worker.config import ConfigError, WorkerConfig
from worker.handler import lambda_handler

GOOD = {
    "APPSYNC_URL": "https://abc.appsync-api.eu-west-1.amazonaws.com/graphql",
    "MUTATOR_ROLE_ARN": "arn:aws:iam::222222222222:role/Mutator",
    "MUTATOR_SESSION_NAME": "pinned-session",
    "ALLOWED_MUTATIONS": "createTodo, updateTodo",
}


def test_valid_environment_parses_and_round_trips() -> None:
    config = WorkerConfig.from_environ(GOOD)
    assert config.region == "eu-west-1"
    assert config.host == "abc.appsync-api.eu-west-1.amazonaws.com"
    assert config.allowed_mutations == {"createTodo", "updateTodo"}
    assert config.session_seconds == 3600
    assert config.assumed_role_arn == "arn:aws:sts::222222222222:assumed-role/Mutator/pinned-session"
    assert WorkerConfig.from_environ(config.to_environ()) == config


def test_every_problem_is_listed_at_once() -> None:
    env = {
        "APPSYNC_URL": "http://appsync.example.com/graphql",
        "MUTATOR_ROLE_ARN": "arn:aws:iam::123:role/x",
        "MUTATOR_SESSION_NAME": "has space",
        "MUTATOR_SESSION_SECONDS": "7200",
        "MAX_CONCURRENCY": "lots",
    }
    with pytest.raises(ConfigError) as caught:
        WorkerConfig.from_environ(env)
    text = str(caught.value)
    assert "plain http is refused for non-loopback hosts" in text
    assert "MUTATOR_ROLE_ARN='arn:aws:iam::123:role/x' is not an IAM role ARN" in text
    assert "MUTATOR_SESSION_NAME='has space'" in text
    assert "MUTATOR_SESSION_SECONDS=7200 must be between 900 and 3600" in text and "role chaining" in text
    assert "MAX_CONCURRENCY='lots' is not a whole number" in text
    assert "ALLOWED_MUTATIONS is required" in text
    assert len(caught.value.problems) == 6


def test_custom_domain_needs_region_and_loopback_http_is_allowed() -> None:
    with pytest.raises(ConfigError, match="APPSYNC_REGION is required"):
        WorkerConfig.from_environ({**GOOD, "APPSYNC_URL": "https://api.example.com/graphql"})
    custom = WorkerConfig.from_environ(
        {**GOOD, "APPSYNC_URL": "https://api.example.com/graphql", "APPSYNC_REGION": "us-east-1"}
    )
    assert custom.host == "api.example.com" and custom.region == "us-east-1"
    local = WorkerConfig.from_environ(
        {**GOOD, "APPSYNC_URL": "http://127.0.0.1:8123/graphql", "APPSYNC_REGION": "us-east-1"}
    )
    assert local.host == "127.0.0.1:8123"


def test_settings_file_derives_worker_environment() -> None:
    settings = load_settings()
    env = settings.worker_environment()
    assert env["MUTATOR_SESSION_NAME"] == settings.mutator_role.session_name
    assert (
        env["MUTATOR_ROLE_ARN"] == f"arn:aws:iam::{settings.accounts.api}:role/{settings.mutator_role.name}"
    )
    assert WorkerConfig.from_environ(env).assumed_role_arn == settings.assumed_role_arn


def test_invalid_settings_list_every_problem() -> None:
    raw = {
        "accounts": {"worker": "1234", "api": "222222222222", "region": "nowhere"},
        "mutator_role": {"name": "R", "session_name": "x", "session_seconds": 7200},
        "appsync": {"api_id": "short", "url": "http://x.example.com/graphql", "allowed_mutations": []},
        "amplify": {"api_name": "api", "cli_behaviour": "sometimes"},
        "worker": {
            "function_name": "f",
            "execution_role_name": "e",
            "queue_name": "q",
            "dead_letter_queue_name": "q",
            "colour": "red",
        },
    }
    with pytest.raises(SettingsError) as caught:
        parse_settings(raw)
    text = str(caught.value)
    for fragment in [
        "accounts.worker='1234' is not a 12-digit account id",
        "accounts.region='nowhere'",
        "mutator_role.session_name='x'",
        "mutator_role.session_seconds=7200",
        "appsync.api_id='short'",
        "plain http is refused",
        "appsync.allowed_mutations must list at least one",
        "amplify.cli_behaviour='sometimes'",
        "worker.queue_name and worker.dead_letter_queue_name must differ",
        "unknown key worker.colour",
    ]:
        assert fragment in text, fragment


# --- APPSYNC_URL forms that can never work are refused at cold start ------------------------------------------
HOST = "abc.appsync-api.eu-west-1.amazonaws.com"


def _refused(url: str, **extra: str) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        WorkerConfig.from_environ({**GOOD, "APPSYNC_URL": url, **extra})
    return caught.value


def test_user_info_is_refused_without_echoing_the_password() -> None:
    error = _refused(f"https://deploy-bot:hunter2-s3cret@{HOST}/graphql")
    [problem] = error.problems
    assert "user info" in problem and "remove it" in problem
    assert "hunter2-s3cret" not in str(error) and "deploy-bot" not in str(error)
    assert f"'https://***@{HOST}/graphql'" in problem  # which variable, and the URL it can show
    assert "user info" in " ".join(_refused(f"https://token@{HOST}/graphql").problems)


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        (f"https://{HOST}/graphql?api_key=da2-secretvalue", "query string"),
        (f"https://{HOST}/graphql?", "query string"),
        (f"https://{HOST}/graphql#section", "fragment"),
        (f"https://{HOST}/", "the path is '/', not '/graphql'"),
        (f"https://{HOST}", "the path is empty, not '/graphql'"),
        (f"https://{HOST}/graphql/", "the path is '/graphql/'"),
        (f"https://{HOST}/v1/graphql", "the path is '/v1/graphql'"),
        (f"https://{HOST}:99999/graphql", "port is not a number"),
        (f"https://{HOST}:0/graphql", "port 0"),
        ("http://127.0.0.1:443/graphql", "plain http on port 443 cannot be signed"),
    ],
)
def test_url_forms_that_can_never_work_are_refused(url: str, fragment: str) -> None:
    error = _refused(url, APPSYNC_REGION="eu-west-1")
    assert any(fragment in problem for problem in error.problems), error
    assert "da2-secretvalue" not in str(error)  # a query string may carry a key: not echoed


def test_every_url_problem_is_listed_in_the_one_error() -> None:
    error = _refused(f"https://u:p@{HOST}/api?x=1#y")
    text = str(error)
    for fragment in ("user info", "the path is '/api'", "query string", "fragment"):
        assert fragment in text, fragment
    assert len(error.problems) == 4


@pytest.mark.parametrize(
    ("url", "host", "normal"),
    [
        (f"https://{HOST}:443/graphql", HOST, f"https://{HOST}/graphql"),
        (f"https://{HOST.upper()}/graphql", HOST, f"https://{HOST}/graphql"),
        (
            "https://api.example.com:8443/graphql",
            "api.example.com:8443",
            "https://api.example.com:8443/graphql",
        ),
        ("http://localhost:80/graphql", "localhost", "http://localhost/graphql"),
        ("http://[::1]:80/graphql", "[::1]", "http://[::1]/graphql"),
        ("http://127.0.0.1:8123/graphql", "127.0.0.1:8123", "http://127.0.0.1:8123/graphql"),
    ],
)
def test_an_explicit_default_port_is_dropped_so_the_signed_host_is_the_one_sent(
    url: str, host: str, normal: str
) -> None:
    """The worker and requests leave the scheme's default port out of Host: ``config.host`` is exactly that."""
    config = WorkerConfig.from_environ({**GOOD, "APPSYNC_URL": url, "APPSYNC_REGION": "eu-west-1"})
    assert config.host == host
    assert config.appsync_url == normal
    assert WorkerConfig.from_environ(config.to_environ()) == config


def test_appsync_host_is_removed_and_refused_when_still_set() -> None:
    error = _refused(GOOD["APPSYNC_URL"], APPSYNC_HOST=HOST)  # even its only once-valid value
    [problem] = error.problems
    assert "APPSYNC_HOST was removed" in problem and "APPSYNC_URL" in problem and "unset" in problem
    assert "APPSYNC_HOST" not in WorkerConfig.from_environ(GOOD).to_environ()
    assert WorkerConfig.from_environ({**GOOD, "APPSYNC_HOST": " "}).host == HOST  # blank: not set


def test_a_region_that_contradicts_the_endpoint_is_refused() -> None:
    error = _refused(GOOD["APPSYNC_URL"], APPSYNC_REGION="us-east-1")
    [problem] = error.problems
    assert "APPSYNC_REGION='us-east-1' contradicts" in problem and "'eu-west-1'" in problem
    assert WorkerConfig.from_environ({**GOOD, "APPSYNC_REGION": "eu-west-1"}).region == "eu-west-1"


def _settings_raw(**appsync: Any) -> dict[str, Any]:
    return {
        "accounts": {"worker": "111111111111", "api": "222222222222", "region": "eu-west-1"},
        "mutator_role": {"name": "R", "session_name": "pinned"},
        "appsync": {
            "api_id": "abcdefghijklmnopqrstuvwxyz",
            "url": GOOD["APPSYNC_URL"],
            "allowed_mutations": ["createTodo"],
            **appsync,
        },
        "amplify": {"api_name": "api"},
        "worker": {
            "function_name": "f",
            "execution_role_name": "e",
            "queue_name": "q",
            "dead_letter_queue_name": "d",
        },
    }


def test_settings_file_custom_domain_host_is_removed() -> None:
    with pytest.raises(SettingsError, match=r"appsync\.custom_domain_host was removed"):
        parse_settings(_settings_raw(custom_domain_host="api.example.com"))
    parse_settings(_settings_raw(custom_domain_host=""))  # the old template's empty default: nothing set


def test_settings_file_url_is_checked_and_normalised_like_the_environment() -> None:
    with pytest.raises(SettingsError, match="user info") as caught:
        parse_settings(_settings_raw(url=f"https://u:pw-secret@{HOST}/graphql"))
    assert "pw-secret" not in str(caught.value)
    settings = parse_settings(_settings_raw(url=f"https://{HOST}:443/graphql"))
    assert settings.appsync.url == f"https://{HOST}/graphql"
    assert settings.worker_config().host == HOST


# --- end to end, in the sandbox ------------------------------------------------------------------------------
def _create(key: str) -> str:
    return json.dumps({"mutation": "createTodo", "input": {"name": key}, "idempotencyKey": key})


def _invoke(sb: Sandbox) -> tuple[dict[str, Any], Any]:
    event = sb.sqs_event()
    try:
        response: Any = lambda_handler(event, LambdaContext(function_name=sb.settings.worker.function_name))
    except Exception as exc:  # what Lambda does with it: the whole batch failed, every record redelivered
        response = exc
    sb.apply_batch_response(event, response)
    return event, response


@pytest.fixture
def localhost_port_80_is_the_stand_in(sb: Sandbox, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Name resolution sends ``localhost:80`` to the stand-in's real port; nothing else changes.

    The stand-in listens on a random port, so an ``APPSYNC_URL`` with an explicit default port needs this to
    reach it; what the worker sends (Host: localhost) and what it signs are untouched.
    """
    real_port = urlsplit(sb.appsync_url).port
    real_getaddrinfo = socket.getaddrinfo

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if (host, port) == ("localhost", 80):
            return real_getaddrinfo("127.0.0.1", real_port, *args, **kwargs)
        return real_getaddrinfo(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    yield "http://localhost:80/graphql"


def test_explicit_default_port_end_to_end_signs_what_is_sent(
    sb: Sandbox, container: Callable[..., None], localhost_port_80_is_the_stand_in: str
) -> None:
    """``http://localhost:80/graphql``: the worker sends ``Host: localhost``; signing ``localhost:80`` (the URL's
    netloc, as before) was refused as InvalidSignature on every message."""
    container(APPSYNC_URL=localhost_port_80_is_the_stand_in)
    signature_refusals = sb.appsync.stats.by_outcome.get("signature", 0)
    key = f"port80-{uuid.uuid4().hex[:8]}"
    sb.send_messages([_create(key)])
    _, response = _invoke(sb)
    assert response == {"batchItemFailures": []}
    assert key in {item["id"] for item in sb.table_items()}
    assert sb.appsync.stats.by_outcome.get("signature", 0) == signature_refusals


@pytest.mark.parametrize(
    ("suffix", "problem"),
    [("?x=1", "query string"), ("#top", "fragment"), ("/", "the path is '/graphql/'")],
)
def test_refused_url_fails_the_cold_start_and_loses_no_message(
    sb: Sandbox, container: Callable[..., None], suffix: str, problem: str
) -> None:
    requests_before = sb.appsync.stats.requests
    container(APPSYNC_URL=sb.appsync_url + suffix)
    key = f"kept-{uuid.uuid4().hex[:8]}"
    [message_id] = sb.send_messages([_create(key)])
    event, response = _invoke(sb)
    assert isinstance(response, ConfigError) and any(problem in p for p in response.problems), response
    assert [r["messageId"] for r in event["Records"]] == [message_id]
    assert sb.appsync.stats.requests == requests_before  # nothing was sent
    assert sb.queue_depth() == 1  # the message is back on the source queue, not dead-lettered

    container()  # the environment fixed: the same message is applied on redelivery
    _, response = _invoke(sb)
    assert response == {"batchItemFailures": []}
    assert key in {item["id"] for item in sb.table_items()}


def test_userinfo_url_fails_the_cold_start_instead_of_retrying_forever(
    sb: Sandbox, container: Callable[..., None], capsys: pytest.CaptureFixture[str]
) -> None:
    netloc = urlsplit(sb.appsync_url).netloc
    container(APPSYNC_URL=sb.appsync_url.replace(netloc, f"user:pa55-in-env@{netloc}"))
    sb.send_messages([_create(f"userinfo-{uuid.uuid4().hex[:8]}")])
    _, response = _invoke(sb)
    assert isinstance(response, ConfigError) and "user info" in str(response)
    assert "pa55-in-env" not in str(response)
    assert "pa55-in-env" not in capsys.readouterr().out
    container()
    assert _invoke(sb)[1] == {"batchItemFailures": []}


def test_appsync_host_still_in_the_lambda_environment_fails_the_cold_start(
    sb: Sandbox, container: Callable[..., None], monkeypatch: pytest.MonkeyPatch
) -> None:
    container(APPSYNC_HOST=urlsplit(sb.appsync_url).netloc)  # even the one value that used to work
    sb.send_messages([_create(f"host-{uuid.uuid4().hex[:8]}")])
    _, response = _invoke(sb)
    assert isinstance(response, ConfigError) and "APPSYNC_HOST was removed" in str(response)
    assert sb.queue_depth() == 1
    monkeypatch.delenv("APPSYNC_HOST")
    container()
    assert _invoke(sb)[1] == {"batchItemFailures": []}
