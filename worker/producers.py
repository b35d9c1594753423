"""Who asked for a write, and whether the configuration names them.

The worker acts as an administrator in account B, so only the producers the settings name may make it write:

- SQS: the record's ``eventSourceARN`` must be the one configured queue (``SOURCE_QUEUE_ARN``). Who may send to
  that queue is the queue policy's business (``infra``: ``sqs:SendMessage`` denied to every principal not named).
- EventBridge: the event's ``account`` (set by EventBridge: the sender's account) must be in ``EVENT_ACCOUNTS``
  and its ``source`` (chosen by the sender, not authenticated) in ``EVENT_SOURCES``.
- Direct invocation: refused unless ``DIRECT_INVOCATION`` is true.

A refusal is a reason (a string) naming what was found and the setting that would admit it; ``None`` admits.
Every admitted or refused record is labelled with its producer (``producer``): SQS ``attributes.SenderId`` (set
by SQS: the sender's principal id), EventBridge ``account`` and ``source``, and for a direct invocation what
Lambda tells of the caller (a Cognito identity or a mobile client context, else just ``direct``).

These checks bind what Lambda's event source mapping and EventBridge deliver. A principal allowed
``lambda:InvokeFunction`` can still invoke the function with an event shaped like either: that door is closed by
IAM (the function's resource policy admits only the rule; same-account identity policies must not grant
``lambda:InvokeFunction`` on it), not here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from worker.config import (
    ENV_DIRECT_INVOCATION,
    ENV_EVENT_ACCOUNTS,
    ENV_EVENT_SOURCES,
    ENV_SOURCE_QUEUE_ARN,
    WorkerConfig,
)
from worker.shapes import is_object

#: A producer label carries what the event says: cut, so a forged event cannot make a huge log line or letter.
MAX_LABEL_CHARS = 200


@dataclass(frozen=True, slots=True)
class Producers:
    source_queue_arn: str | None
    event_accounts: frozenset[str]
    event_sources: frozenset[str]
    direct_invocation: bool

    @classmethod
    def from_config(cls, config: WorkerConfig) -> Producers:
        return cls(
            config.source_queue_arn, config.event_accounts, config.event_sources, config.direct_invocation
        )

    def refuse_sqs(self, record: Mapping[str, Any]) -> str | None:
        """Why this SQS record is refused (``None``: it is from the configured queue)."""
        found = _text(record.get("eventSourceARN"))
        if self.source_queue_arn is None:
            return (
                f"SQS record from {found!r} refused: {ENV_SOURCE_QUEUE_ARN} is not set, so no queue is named"
            )
        if found != self.source_queue_arn:
            return (
                f"SQS record from {found!r} refused: the worker takes records from {self.source_queue_arn} only "
                f"({ENV_SOURCE_QUEUE_ARN}); a mapping from another queue is a misconfiguration"
            )
        return None

    def refuse_event(self, event: Mapping[str, Any]) -> str | None:
        """Why this EventBridge event is refused (``None``: its account and source are both named)."""
        account, source = _text(event.get("account")), _text(event.get("source"))
        if account not in self.event_accounts:
            named = ", ".join(sorted(self.event_accounts)) or "none"
            return (
                f"EventBridge event from account {account!r} refused: {ENV_EVENT_ACCOUNTS} names {named} "
                "(producers.eventbridge_accounts in the settings)"
            )
        if source not in self.event_sources:
            named = ", ".join(sorted(self.event_sources)) or "none"
            return (
                f"EventBridge event with source {source!r} refused: {ENV_EVENT_SOURCES} names {named} "
                "(producers.eventbridge_sources in the settings)"
            )
        return None

    def refuse_direct(self) -> str | None:
        if self.direct_invocation:
            return None
        return (
            f"direct invocation refused: {ENV_DIRECT_INVOCATION} is not true (producers.direct_invocation in the "
            "settings); send the envelope through the queue or the event bus"
        )


def sqs_producer(record: Mapping[str, Any]) -> str:
    """``sqs:<SenderId>``: the sender's principal id as SQS recorded it (``AROA...:<session>`` for a role)."""
    attributes = record.get("attributes")
    sender = _text(attributes.get("SenderId")) if is_object(attributes) else ""
    return _label(f"sqs:{sender or '(no SenderId)'}")


def event_producer(event: Mapping[str, Any]) -> str:
    """``eventbridge:<account>/<source>``: the sender's account (set by EventBridge) and its chosen source."""
    return _label(f"eventbridge:{_text(event.get('account')) or '?'}/{_text(event.get('source')) or '?'}")


def direct_producer(context: Any) -> str:
    """What Lambda says about a direct caller: a Cognito identity, a mobile client; else ``direct`` (IAM callers
    are not named to the function: CloudTrail's Invoke data events name them)."""
    parts = ["direct"]
    identity = getattr(context, "identity", None)
    cognito = _text(getattr(identity, "cognito_identity_id", None))
    if cognito:
        parts.append(f"cognito={cognito}")
    client = getattr(getattr(context, "client_context", None), "client", None)
    installation = _text(getattr(client, "installation_id", None))
    if installation:
        parts.append(f"client={installation}")
    return _label(":".join(parts))


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _label(text: str) -> str:
    cleaned = text if text.isprintable() else "".join(c if c.isprintable() else "?" for c in text)
    return cleaned if len(cleaned) <= MAX_LABEL_CHARS else cleaned[:MAX_LABEL_CHARS] + "..."
