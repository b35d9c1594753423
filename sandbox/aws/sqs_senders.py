"""WSGI middleware in front of moto that records who sent each SQS message, as SQS does (``SenderId``).

moto gives every message the same ``SenderId`` (``AIDAIT2UOQQY3AUEKVGXU``). SQS records the sender's principal
id: ``<RoleId>:<session name>`` for a role session (``AROA...:appsync-mutation-worker`` for the worker's Lambda
execution role), the user id (``AIDA...``) for an IAM user. The worker labels every record with it and the
operator's commands trust ``failure.*`` attributes only on letters the worker's own role session sent,
so the sandbox must tell senders apart: after moto accepts a ``SendMessage``/``SendMessageBatch``, this
sets the stored messages' ``sender_id`` from the request's access key (the sandbox's identities). Anything it
cannot attribute keeps moto's value.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable, Iterable
from typing import Any

from sandbox.aws.identities import SandboxIdentities
from sandbox.aws.wsgi import StartResponse, captured_call

_TARGET_PREFIX = "AmazonSQS."
_SENDS = ("SendMessage", "SendMessageBatch")
_CREDENTIAL = re.compile(r"Credential=([A-Z0-9]+)/\d{8}/([a-z0-9-]+)/sqs/aws4_request")


class SqsSenders:
    def __init__(self, app: Callable[..., Iterable[bytes]], identities: SandboxIdentities) -> None:
        self.app = app
        self.identities = identities

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        operation = target[len(_TARGET_PREFIX) :] if target.startswith(_TARGET_PREFIX) else ""
        credential = _CREDENTIAL.search(environ.get("HTTP_AUTHORIZATION", ""))
        if operation not in _SENDS or credential is None:
            return self.app(environ, start_response)
        length = int(environ.get("CONTENT_LENGTH") or 0)
        raw = environ["wsgi.input"].read(length) if length else b""

        environ["wsgi.input"] = io.BytesIO(raw)
        status, headers, answer = captured_call(self.app, environ)
        try:
            if status.startswith("200"):
                self._attribute(raw, answer, credential.group(1), credential.group(2))
        except Exception:  # never break a send the sandbox could not attribute
            pass
        start_response(status, headers)
        return [answer]

    def sender_id(self, access_key_id: str) -> str | None:
        """SQS's ``SenderId`` for the principal behind ``access_key_id`` (None: not one of the sandbox's)."""
        from moto.iam.models import iam_backends

        role = self.identities.assumed_role(access_key_id)
        if role is not None:
            account, role_name = role.role_arn.split(":")[4], role.role_arn.rsplit("/", 1)[-1]
            iam_role = iam_backends[account]["aws"].get_role(role_name)
            return f"{iam_role.id}:{role.arn.rsplit('/', 1)[-1]}"
        found = self.identities._user_key(access_key_id)
        if found is not None:
            return str(found[1].id)
        return None

    def _attribute(self, raw: bytes, answer: bytes, access_key_id: str, region: str) -> None:
        from moto.sqs.models import sqs_backends

        sender = self.sender_id(access_key_id)
        request, response = json.loads(raw), json.loads(answer)
        parts = str(request.get("QueueUrl", "")).rstrip("/").split("/")
        if sender is None or len(parts) < 2:
            return
        queue = sqs_backends[parts[-2]][region].queues.get(parts[-1])
        if queue is None:
            return
        ids = {response.get("MessageId")} | {e.get("MessageId") for e in response.get("Successful", [])}
        for message in queue._messages:
            if message.id in ids:
                message.sender_id = sender
