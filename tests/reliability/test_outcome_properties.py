"""Property: whatever the envelope and whatever the endpoint does, the worker's report is true.

Hypothesis draws envelopes (create/update/delete; named or document form; with or without id, key, a condition
that holds or fails, a directive that can drop the field) and one fault (none, HTTP 503, a reset, an answer
held past the timeout after the write, a slow answer, an answer without data), against an item that exists or
not. One SQS delivery later, for every message:
- reported success (not in ``batchItemFailures``, not in the DLQ) => account B's table holds the requested effect;
- reported failed => it is back on the source queue;
- dead-lettered => it is in the DLQ with ``failure.reason``.
Counts per outcome are written to build/outcome-properties.json.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sandbox.fixture import Sandbox
from sandbox.lambda_runtime import LambdaContext
from worker.dead_letters import read_failure
from worker.handler import lambda_handler

REPORT = Path("build/outcome-properties.json")
FAULTS = ("none", "503", "503-every-attempt", "reset", "applied-then-late", "slow", "no-data")
SEEN: Counter[str] = Counter()


@dataclass(frozen=True)
class Case:
    verb: str  # create | update | delete
    form: str  # named | document
    identity: str  # id | key | both | none  (creates; updates/deletes always carry input.id)
    condition: str  # none | holds | fails
    directive: str  # none | skip | include-false | skip-variable
    fault: str
    usual: bool  # the usual state before the message: no record for a create, the record for the others

    @property
    def exists(self) -> bool:
        """The item is there before the message (for a create: an earlier delivery's record)."""
        return self.usual != (self.verb == "create")


cases = st.builds(
    Case,
    verb=st.sampled_from(["create", "update", "delete"]),
    form=st.sampled_from(["named", "document"]),
    identity=st.sampled_from(["id", "key", "both", "none"]),
    condition=st.sampled_from(["none", "holds", "fails"]),
    directive=st.sampled_from(["none"] * 8 + ["skip", "include-false", "skip-variable"]),
    fault=st.sampled_from(FAULTS),
    usual=st.sampled_from([True, True, True, False]),
)


def _envelope(case: Case, todo_id: str, old_name: str, new_name: str) -> dict[str, Any]:
    field = f"{case.verb}Todo"
    data: dict[str, Any] = {"id": todo_id}
    if case.verb != "delete":
        data["name"] = new_name
    key: str | None = None
    if case.verb == "create":
        if case.identity in ("key", "none"):
            del data["id"]
        if case.identity in ("key", "both"):
            key = todo_id
    condition = None
    if case.condition != "none":
        if case.verb == "create":  # evaluated against the absent item
            condition = {"name": {"attributeExists": case.condition == "fails"}}
        else:
            condition = {"name": {"eq": old_name if case.condition == "holds" else "not-the-name"}}
    if case.form == "named" and case.directive == "none":
        envelope: dict[str, Any] = {"mutation": field, "input": data}
        if condition is not None:
            envelope["condition"] = condition
    else:
        input_type = f"{case.verb.capitalize()}TodoInput"
        params = f"$input: {input_type}!, $condition: ModelTodoConditionInput"
        if case.directive == "skip-variable":
            params += ", $s: Boolean!"
        directive = {
            "none": "",
            "skip": " @skip(if: true)",
            "include-false": " @include(if: false)",
            "skip-variable": " @skip(if: $s)",
        }[case.directive]
        query = (
            f"mutation M({params}) {{ {field}(input: $input, condition: $condition){directive} {{ id }} }}"
        )
        variables: dict[str, Any] = {"input": data, "condition": condition}
        if case.directive == "skip-variable":
            variables["s"] = True
        envelope = {"query": query, "variables": variables}
    if key is not None:
        envelope["idempotencyKey"] = key
    return envelope


def _apply_fault(sb: Sandbox, fault: str) -> None:
    faults = sb.appsync.faults
    if fault == "503":
        faults.fail_next(1, status=503)
    elif fault == "503-every-attempt":
        faults.fail_next(3, status=503)  # MAX_ATTEMPTS: left for redelivery
    elif fault == "reset":
        faults.reset_next(1)
    elif fault == "applied-then-late":
        faults.stall_after_apply_next(1, seconds=0.8)
    elif fault == "slow":
        faults.slow_next(1, seconds=0.8)
    elif fault == "no-data":
        faults.answer_next(1, '{"data": {}}')


def _item(sb: Sandbox, todo_id: str) -> dict[str, Any] | None:
    answer = sb.client("dynamodb", "B").get_item(
        TableName=sb.table_name, Key={"id": {"S": todo_id}}, ConsistentRead=True
    )
    item = answer.get("Item")
    return {k: next(iter(v.values())) for k, v in item.items()} if item else None


def _effect_holds(
    case: Case, record_id: str | None, name: str, sb: Sandbox, created_names: list[str]
) -> bool:
    if case.verb == "create":
        if record_id is None:  # Amplify made the id: exactly one record carries the name
            return created_names.count(name) == 1
        item = _item(sb, record_id)
        return item is not None and item.get("name") == name
    item = _item(sb, str(record_id))
    if case.verb == "update":
        return item is not None and item.get("name") == name
    return item is None


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=cases)
def test_every_reported_outcome_is_true(sb: Sandbox, container: Callable[..., None], case: Case) -> None:
    if not SEEN:
        container(REQUEST_TIMEOUT_SECONDS="0.5", MAX_ATTEMPTS="3")
    sb.appsync.faults.clear()
    todo_id = f"prop-{uuid.uuid4().hex[:12]}"
    old_name, new_name = f"old-{todo_id}", f"new-{todo_id}"
    if case.exists:
        seed = new_name if case.verb == "create" else old_name  # a create's earlier delivery wrote its own
        sb.client("dynamodb", "B").put_item(
            TableName=sb.table_name, Item={"id": {"S": todo_id}, "name": {"S": seed}}
        )
    [message_id] = sb.send_messages([json.dumps(_envelope(case, todo_id, old_name, new_name))])
    _apply_fault(sb, case.fault)

    event = sb.sqs_event(max_messages=10)
    [record] = [r for r in event["Records"] if r["messageId"] == message_id]
    response = lambda_handler(event, LambdaContext(timeout_ms=20_000))
    failed = {item["itemIdentifier"] for item in response["batchItemFailures"]}
    sb.apply_batch_response(event, response)

    letters = {
        failure.get("sourceMessageId"): failure
        for failure in (read_failure(m.get("MessageAttributes", {})) for m in sb.dlq_messages())
    }
    if message_id in failed:
        outcome = "redelivered"
        again = sb.sqs_event(max_messages=10)["Records"]
        assert message_id in {r["messageId"] for r in again}, f"{case}: reported failed but not redelivered"
        sb.apply_batch_response({"Records": again}, {"batchItemFailures": []})  # close the books
    elif message_id in letters:
        outcome = f"dead_lettered:{letters[message_id].get('errorType')}"
        assert letters[message_id].get("reason"), f"{case}: in the DLQ without a reason"
    else:
        outcome = "success"
        record_id = todo_id
        if case.verb == "create" and case.identity == "none":
            record_id = record["messageId"]  # the message's id is the record's id
        names = [str(i.get("name")) for i in sb.table_items()] if record_id is None else []
        assert _effect_holds(case, record_id, new_name, sb, names), (
            f"{case}: reported success but account B holds {_item(sb, record_id or todo_id)}"
        )
    SEEN[outcome] += 1
    REPORT.parent.mkdir(exist_ok=True)
    REPORT.write_text(json.dumps(dict(SEEN), indent=2, sort_keys=True))
