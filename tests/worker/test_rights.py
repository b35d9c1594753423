"""What a producer may write. Owner and group fields no producer sets unless a rule names it, and
per-producer mutation lists; refused before sending, naming the field and the setting that would allow it."""

from __future__ import annotations

import json

import pytest

from worker.config import ConfigError, WorkerConfig
from worker.envelope import parse_envelope
from worker.errors import NotAllowedError
from worker.rights import ProducerRule, check_rights, parse_producer_rules, parse_protected_fields

ALLOWED = frozenset({"createNote", "updateNote", "deleteNote", "createTodo"})
PROTECTED = {"Note": ("owner", "editors")}
ORDERS = "eventbridge:111111111111/com.example.orders"


def request(envelope: dict[str, object]):  # type: ignore[no-untyped-def]
    return parse_envelope(envelope, ALLOWED)


def test_setting_an_owner_is_refused_naming_the_field_and_the_setting() -> None:
    with pytest.raises(NotAllowedError) as caught:
        check_rights(
            request({"mutation": "createNote", "input": {"text": "x", "owner": "mallory"}}),
            ORDERS,
            (),
            PROTECTED,
        )
    reason = caught.value.reason
    assert "createNote sets Note.owner" in reason and "[[producers.rules]]" in reason
    assert 'protected_fields = ["Note.owner"]' in reason
    # an update reassigning a record, and the same field in the query form's literal input
    with pytest.raises(NotAllowedError, match=r"Note\.editors"):
        check_rights(
            request({"mutation": "updateNote", "input": {"id": "n1", "editors": ["Admin"]}}),
            ORDERS,
            (),
            PROTECTED,
        )
    literal = {"query": 'mutation { updateNote(input: {id: "n1", owner: "mallory"}) { id } }'}
    with pytest.raises(NotAllowedError, match=r"Note\.owner"):
        check_rights(request(literal), ORDERS, (), PROTECTED)
    variables = {
        "query": "mutation M($input: UpdateNoteInput!) { updateNote(input: $input) { id } }",
        "variables": {"input": {"id": "n1", "owner": "mallory"}},
    }
    with pytest.raises(NotAllowedError, match=r"Note\.owner"):
        check_rights(request(variables), ORDERS, (), PROTECTED)


def test_writes_that_do_not_touch_identity_fields_pass() -> None:
    check_rights(request({"mutation": "createNote", "input": {"text": "x"}}), ORDERS, (), PROTECTED)
    check_rights(request({"mutation": "deleteNote", "input": {"id": "n1"}}), ORDERS, (), PROTECTED)
    check_rights(
        request({"mutation": "createTodo", "input": {"owner": "a todo has no owner rule"}}),
        ORDERS,
        (),
        PROTECTED,
    )


def test_a_rule_names_what_its_producer_may_do() -> None:
    rules = (
        ProducerRule("eventbridge:111111111111/*", frozenset({"createNote"}), frozenset({"Note.owner"})),
        ProducerRule("sqs:*"),
    )
    check_rights(request({"mutation": "createNote", "input": {"owner": "alice"}}), ORDERS, rules, PROTECTED)
    with pytest.raises(NotAllowedError, match=r"Note\.editors"):  # only the field it names
        check_rights(
            request({"mutation": "createNote", "input": {"editors": ["x"]}}), ORDERS, rules, PROTECTED
        )
    with pytest.raises(NotAllowedError, match=r"may not send deleteNote: its rule .* allows createNote"):
        check_rights(request({"mutation": "deleteNote", "input": {"id": "n1"}}), ORDERS, rules, PROTECTED)
    # another producer: its own rule (every allowed mutation, no protected field)
    check_rights(
        request({"mutation": "deleteNote", "input": {"id": "n1"}}), "sqs:AROAEXAMPLE:orders", rules, PROTECTED
    )
    with pytest.raises(NotAllowedError):
        check_rights(
            request({"mutation": "createNote", "input": {"owner": "x"}}),
            "sqs:AROAEXAMPLE:o",
            rules,
            PROTECTED,
        )
    # the same event account with a forged source does not match a rule pinned to the source
    pinned = (ProducerRule(ORDERS, None, frozenset({"Note.owner"})),)
    with pytest.raises(NotAllowedError):
        check_rights(
            request({"mutation": "createNote", "input": {"owner": "x"}}),
            "eventbridge:111111111111/com.example.ordersX",
            pinned,
            PROTECTED,
        )


def test_the_environment_round_trips_and_refuses_bad_values() -> None:
    problems: list[str] = []
    assert parse_protected_fields("Note:owner,editors; Post:author", problems) == {
        "Note": ("owner", "editors"),
        "Post": ("author",),
    }
    assert parse_protected_fields("Note:*;:x", problems) == {} and len(problems) == 2
    problems = []
    rules = parse_producer_rules(
        json.dumps([{"producer": "sqs:*", "protected_fields": ["Note.owner"]}]), problems
    )
    assert problems == [] and rules == (ProducerRule("sqs:*", None, frozenset({"Note.owner"})),)
    for bad in (
        "{",
        "{}",
        '[{"producer": ""}]',
        '[{"producer": "x", "mutations": ["*"]}]',
        '[{"producer": "x", "protected_fields": ["owner"]}]',
        '[{"producer": "x", "extra": 1}]',
    ):
        problems = []
        parse_producer_rules(bad, problems)
        assert len(problems) == 1, bad
    base = {
        "APPSYNC_URL": "https://a.appsync-api.us-east-1.amazonaws.com/graphql",
        "MUTATOR_ROLE_ARN": "arn:aws:iam::222222222222:role/R",
        "MUTATOR_SESSION_NAME": "worker",
        "ALLOWED_MUTATIONS": "createNote",
        "PROTECTED_FIELDS": "Note:owner",
        "PRODUCER_RULES": '[{"producer":"sqs:*","protected_fields":["Note.owner"]}]',
    }
    config = WorkerConfig.from_environ(base)
    assert WorkerConfig.from_environ(config.to_environ()) == config
    with pytest.raises(ConfigError, match="PRODUCER_RULES is not JSON"):
        WorkerConfig.from_environ({**base, "PRODUCER_RULES": "[oops"})
