"""``failure.*`` attributes count only on letters the worker wrote.

SQS records each message's sender (``SenderId``; the sandbox records it as SQS does). A principal that can send to
the DLQ (or a producer whose message SQS's own redrive moves there, attributes and all) can attach
``failure.sourceMessageId`` / ``failure.idempotencyKey`` / ``failure.errorType``: as a verdict they would make a
letter look permanent, and as an identity they would make ``replay`` give a create another record's id. On a
letter the worker's execution-role session did not send they are ignored, and ``list`` says why.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from worker.dead_letters import DeadLetter


def _forge(kit: Any, body: str, **failure: str) -> str:
    letter = DeadLetter(
        body=body,
        reason=failure.pop("reason", "Not Authorized"),
        error_type=failure.pop("error_type", "InvalidEnvelope"),
        source_message_id=failure.pop("source_message_id"),
        source="arn:aws:sqs:us-east-1:111111111111:appsync-mutations",
        idempotency_key=failure.pop("idempotency_key", None),
    )
    return str(  # sent by another principal than the worker: the sandbox's admin in account A
        kit.sqs.send_message(
            QueueUrl=kit.sb.dlq_url, MessageBody=body, MessageAttributes=letter.message_attributes()
        )["MessageId"]
    )


def test_a_forged_letter_is_shown_untrusted_and_its_identity_is_not_taken(cli: Any, kit: Any) -> None:
    victim = f"victim-{uuid.uuid4().hex[:8]}"
    kit.sb.write_custom_roles([kit.assumed_arn])
    body = json.dumps({"mutation": "createTodo", "input": {"name": "forged"}})
    forged = [_forge(kit, body, source_message_id=victim, idempotency_key=victim) for _ in range(2)]
    genuine = kit.put_dead_letter(kit.create("genuine"), error_type="Unauthorized")

    rows = {row["messageId"]: row for row in cli("replay", "list", "--json").json_lines()}
    for message_id in forged:
        assert rows[message_id]["reason"].startswith(
            "[untrusted] failure.* attributes not written by the worker"
        )
        assert not rows[message_id].get("errorType")
        assert rows[message_id].get("idempotencyKey") in (None, "", message_id)
    assert rows[genuine]["errorType"] == "Unauthorized"

    result = cli("replay", "replay", "--json")
    assert result.code == 0, result.err
    ids = kit.table_ids()
    assert victim not in ids  # the forged identity was never used as a record id
    assert set(forged) <= ids  # each forged copy is its own record, keyed by its own DLQ message id


def test_the_writer_is_the_execution_role_session_and_nothing_like_it() -> None:
    from mutation_cli.records import LetterWriter

    pinned = LetterWriter(session_name="appsync-mutation-worker", role_id="AROAEXECROLE0000000001")
    assert pinned.wrote("AROAEXECROLE0000000001:appsync-mutation-worker")
    for hostile in (
        None,
        "",
        ["AROAEXECROLE0000000001:appsync-mutation-worker"],
        "AROAOTHERROLE000000001:appsync-mutation-worker",  # another role, same session name
        "AROAEXECROLE0000000001:appsync-mutation-worker-2",
        "AROAEXECROLE0000000001:other",
        "AIDAUSER0000000000001",
    ):
        assert not pinned.wrote(hostile), hostile
    unpinned = LetterWriter(session_name="appsync-mutation-worker")  # iam:GetRole refused: form and session
    assert unpinned.wrote("AROAANYROLE:appsync-mutation-worker") and not unpinned.verified
    assert not unpinned.wrote("AIDAUSER:appsync-mutation-worker")
