"""One local two-account sandbox per test module; each test runs the CLI in-process as an operator would.

The operator's environment is exactly the Lambda's (``sb.lambda_environment()``: the execution role's session
keys, ``AWS_ENDPOINT_URL`` to the local moto server, the worker's configuration), so every command takes the
real path: botocore's default chain -> AssumeRole with the pinned session name -> signed HTTP to the stand-in.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from mutation_cli.main import main
from project_settings import Settings, load_settings
from worker.dead_letters import DeadLetter

SETTINGS: Settings = load_settings()
ASSUMED_ARN = SETTINGS.assumed_role_arn
IAM_ROLE_ARN = SETTINGS.mutator_role_arn


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)

    def json_lines(self) -> list[Any]:
        return [json.loads(line) for line in self.out.splitlines() if line.strip()]


@pytest.fixture(scope="module")
def sb() -> Iterator[Any]:
    fixture = pytest.importorskip(
        "sandbox.fixture", reason="the local sandbox (sandbox/fixture.py) is not here yet"
    )

    with fixture.Sandbox.start(SETTINGS) as sandbox:
        yield sandbox


@pytest.fixture
def operator(sb: Any, monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """This process's environment becomes the Lambda's (and nothing else of AWS's)."""
    environment = sb.lambda_environment()
    for name in list(os.environ):
        if name.startswith("AWS_") or name in environment:
            monkeypatch.delenv(name)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    sb.write_custom_roles([ASSUMED_ARN])  # admitted unless a test says otherwise
    return monkeypatch


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Any:
    def run(*argv: str) -> Result:
        capsys.readouterr()
        code = main(list(argv))
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run


class Kit:
    """Helpers shared by the CLI tests (importlib mode: test modules cannot import each other)."""

    settings = SETTINGS
    assumed_arn = ASSUMED_ARN
    iam_role_arn = IAM_ROLE_ARN

    def __init__(self, sb: Any) -> None:
        self.sb = sb
        self.sqs = sb.client("sqs", account="A")
        #: The worker's own sender (its execution-role session): only its letters' failure.* attributes count.
        self.worker_sqs = sb.lambda_client("sqs")

    @staticmethod
    def key() -> str:
        return f"k-{uuid.uuid4().hex[:12]}"

    def create(self, name: str, idempotency_key: str | None = None) -> dict[str, Any]:
        return {
            "mutation": "createTodo",
            "input": {"name": name},
            "fields": ["id", "name"],
            "idempotencyKey": idempotency_key or self.key(),
        }

    def put_dead_letter(
        self,
        envelope: dict[str, Any] | str,
        *,
        error_type: str = "Unauthorized",
        reason: str = "Not Authorized",
        diagnosis: str | None = None,
        group: str | None = None,
        deduplication_id: str | None = None,
        retryable: bool | None = None,
    ) -> str:
        """A DLQ message exactly as the worker's DeadLetterPublisher writes it (sent with the worker's own
        execution-role session, as SQS's SenderId shows); returns its DLQ message id.

        ``group`` (a FIFO DLQ): its message group, and ``deduplication_id`` (a fresh one unless given).
        """
        body = envelope if isinstance(envelope, str) else json.dumps(envelope)
        letter = DeadLetter(
            body=body,
            reason=reason,
            error_type=error_type,
            source_message_id=f"src-{uuid.uuid4().hex[:8]}",
            source=f"arn:aws:sqs:{SETTINGS.accounts.region}:{SETTINGS.accounts.worker}:{SETTINGS.worker.queue_name}",
            diagnosis=diagnosis,
            operation=envelope.get("mutation") if isinstance(envelope, dict) else None,
            idempotency_key=envelope.get("idempotencyKey") if isinstance(envelope, dict) else None,
            group_id=group,
            retryable=retryable,
        )
        params: dict[str, Any] = {
            "QueueUrl": self.sb.dlq_url,
            "MessageBody": body,
            "MessageAttributes": letter.message_attributes(),
        }
        if group is not None:
            params.update(MessageGroupId=group, MessageDeduplicationId=deduplication_id or uuid.uuid4().hex)
        return str(self.worker_sqs.send_message(**params)["MessageId"])

    def count(self, url: str) -> int:
        """Visible plus in flight: a message hidden by a command is still in the queue."""
        attributes = self._attributes(url)
        return int(attributes["ApproximateNumberOfMessages"]) + int(
            attributes["ApproximateNumberOfMessagesNotVisible"]
        )

    def visible(self, url: str) -> int:
        return int(self._attributes(url)["ApproximateNumberOfMessages"])

    def empty(self, url: str) -> None:
        """Delete every message (PurgeQueue is limited to once a minute)."""
        while True:
            messages = self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
            if not messages:
                return
            entries = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)]
            self.sqs.delete_message_batch(QueueUrl=url, Entries=entries)

    def table_ids(self) -> set[str]:
        return {str(item.get("id")) for item in self.sb.table_items()}

    def _attributes(self, url: str) -> dict[str, str]:
        return dict(
            self.sqs.get_queue_attributes(
                QueueUrl=url,
                AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
            )["Attributes"]
        )


@pytest.fixture
def kit(sb: Any, operator: pytest.MonkeyPatch) -> Kit:
    """Helpers, with the operator's environment set and both queues empty."""
    helper = Kit(sb)
    helper.empty(sb.dlq_url)
    helper.empty(sb.queue_url)
    return helper
