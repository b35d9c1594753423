"""Cold-start configuration: one error that lists every problem; the settings file feeds the same parser."""

from __future__ import annotations

import pytest

from project_settings import SettingsError, load_settings, parse_settings
from worker.config import ConfigError, WorkerConfig

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
    assert custom.host == "api.example.com"
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
