"""``worker.producers`` and its configuration: who is named, what is refused, how a producer is labelled.

The end-to-end probes (nothing written, the log line, the metric) are in tests/worker_e2e/test_producers.py.
"""

from __future__ import annotations

import tomllib
import types
from typing import Any

import pytest

from project_settings import SettingsError, load_settings, parse_settings
from project_settings.model import DEFAULT_PATH
from worker.config import ConfigError, WorkerConfig
from worker.producers import Producers, direct_producer, event_producer, sqs_producer

GOOD = {
    "APPSYNC_URL": "https://abc.appsync-api.eu-west-1.amazonaws.com/graphql",
    "MUTATOR_ROLE_ARN": "arn:aws:iam::222222222222:role/Mutator",
    "MUTATOR_SESSION_NAME": "pinned-session",
    "ALLOWED_MUTATIONS": "createTodo",
}
QUEUE = "arn:aws:sqs:eu-west-1:111111111111:mutations"


def test_the_defaults_name_nobody() -> None:
    config = WorkerConfig.from_environ(GOOD)
    producers = Producers.from_config(config)
    assert (
        config.source_queue_arn,
        config.event_accounts,
        config.event_sources,
        config.direct_invocation,
    ) == (
        None,
        frozenset(),
        frozenset(),
        False,
    )
    assert producers.refuse_sqs({"eventSourceARN": QUEUE}) is not None
    assert producers.refuse_event({"account": "111111111111", "source": "com.example"}) is not None
    assert producers.refuse_direct() is not None


def test_named_producers_round_trip_and_admit_exactly_themselves() -> None:
    env = {
        **GOOD,
        "SOURCE_QUEUE_ARN": QUEUE,
        "EVENT_ACCOUNTS": "111111111111, 333333333333",
        "EVENT_SOURCES": "com.example.orders",
        "DIRECT_INVOCATION": "TRUE",
    }
    config = WorkerConfig.from_environ(env)
    assert WorkerConfig.from_environ(config.to_environ()) == config
    producers = Producers.from_config(config)
    assert producers.refuse_sqs({"eventSourceARN": QUEUE}) is None
    assert producers.refuse_direct() is None
    assert producers.refuse_event({"account": "333333333333", "source": "com.example.orders"}) is None
    for hostile in (
        {"eventSourceARN": QUEUE + "x"},
        {"eventSourceARN": QUEUE.upper()},
        {"eventSourceARN": [QUEUE]},
        {"eventSourceARN": None},
        {},
    ):
        assert producers.refuse_sqs(hostile) is not None, hostile
    for event in (
        {"account": "999999999999", "source": "com.example.orders"},
        {"account": "111111111111", "source": "com.example.orders.x"},
        {"account": "111111111111", "source": "com.example.*"},
        {"account": 111111111111, "source": "com.example.orders"},
        {"account": ["111111111111"], "source": "com.example.orders"},
        {"source": "com.example.orders"},
    ):
        assert producers.refuse_event(event) is not None, event


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SOURCE_QUEUE_ARN", "arn:aws:sqs:eu-west-1:111111111111:*"),
        ("SOURCE_QUEUE_ARN", "https://sqs.eu-west-1.amazonaws.com/111111111111/mutations"),
        ("EVENT_ACCOUNTS", "1111,111111111111"),
        ("EVENT_ACCOUNTS", "*"),
        ("EVENT_SOURCES", "aws.s3"),
        ("EVENT_SOURCES", "com.example.*"),
        ("DIRECT_INVOCATION", "yes"),
    ],
)
def test_a_broken_value_fails_the_cold_start_with_the_others(name: str, value: str) -> None:
    with pytest.raises(ConfigError) as refused:
        WorkerConfig.from_environ({**GOOD, name: value, "MAX_ATTEMPTS": "0"})
    assert any(name in problem for problem in refused.value.problems)
    assert any("MAX_ATTEMPTS" in problem for problem in refused.value.problems)  # listed together


def test_the_settings_feed_the_worker_the_named_producers() -> None:
    settings = load_settings()
    config = WorkerConfig.from_environ(settings.worker_environment())
    assert config.source_queue_arn == settings.source_queue_arn
    assert config.source_queue_arn.endswith(f":{settings.accounts.worker}:{settings.worker.queue_name}")
    assert config.event_accounts == frozenset(settings.producers.eventbridge_accounts)
    assert config.event_sources == frozenset({settings.worker.eventbridge_source})  # the default
    assert config.direct_invocation is False


@pytest.mark.parametrize(
    ("key", "value", "found"),
    [
        ("sqs_senders", ["arn:aws:iam::111111111111:role/*"], "sqs_senders"),
        ("sqs_senders", ["*"], "sqs_senders"),
        ("sqs_senders", ["arn:aws:iam::111111111111:role/orders\n"], "sqs_senders"),
        ("sqs_senders", ["arn:aws:iam::111111111111:root"], "sqs_senders"),
        ("sqs_senders", ["arn:aws:sts::111111111111:assumed-role/R/s"], "sqs_senders"),
        ("sqs_senders", ["arn:aws:iam::*:role/orders"], "sqs_senders"),
        ("eventbridge_accounts", ["*"], "eventbridge_accounts"),
        ("eventbridge_sources", ["aws.events"], "eventbridge_sources"),
        ("direct_invocation", "true", "direct_invocation"),
        ("anyone", True, "unknown key producers.anyone"),
    ],
)
def test_settings_refuse_producers_that_name_too_much(key: str, value: Any, found: str) -> None:
    raw = tomllib.loads(DEFAULT_PATH.read_text())
    raw.setdefault("producers", {})[key] = value
    with pytest.raises(SettingsError) as refused:
        parse_settings(raw)
    assert any(found in problem for problem in refused.value.problems), refused.value.problems


def test_settings_without_a_producers_section_name_nobody() -> None:
    raw = tomllib.loads(DEFAULT_PATH.read_text())
    raw.pop("producers", None)
    settings = parse_settings(raw)
    assert settings.producers.sqs_senders == () and settings.producers.eventbridge_accounts == ()
    assert settings.producers.direct_invocation is False


def test_producer_labels_are_what_the_event_says_cut_and_printable() -> None:
    record = {"attributes": {"SenderId": "AROAEXAMPLE:orders-session"}}
    assert sqs_producer(record) == "sqs:AROAEXAMPLE:orders-session"
    assert sqs_producer({}) == "sqs:(no SenderId)"
    assert sqs_producer({"attributes": {"SenderId": ["x"]}}) == "sqs:(no SenderId)"
    assert (
        event_producer({"account": "111111111111", "source": "com.example"})
        == "eventbridge:111111111111/com.example"
    )
    hostile = event_producer({"account": "1\n2\x00", "source": "s" * 10_000})
    assert "\n" not in hostile and "\x00" not in hostile and len(hostile) <= 203
    assert direct_producer(None) == "direct"
    context = types.SimpleNamespace(
        identity=types.SimpleNamespace(cognito_identity_id="eu-west-1:abc"),
        client_context=types.SimpleNamespace(client=types.SimpleNamespace(installation_id="inst-1")),
    )
    assert direct_producer(context) == "direct:cognito=eu-west-1:abc:client=inst-1"
