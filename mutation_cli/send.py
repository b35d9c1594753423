"""``send``: one mutation by hand, validated like a queued message, signed and sent synchronously.

Same settings, credentials, allow-list and classification as the worker; only the transport (requests)
differs. One attempt, no retry: an operator sees exactly what AppSync answered.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import IO, Any

from mutation_cli.diagnose import diagnose
from mutation_cli.errors import UsageError
from mutation_cli.signed_http import SignedGraphQL
from worker.envelope import MutationRequest, parse_envelope
from worker.errors import MutationError
from worker.judge import judge
from worker.outcomes import Status

APPLIED = Status.APPLIED.value
ALREADY_APPLIED = Status.ALREADY_APPLIED.value
FAILED = Status.FAILED.value


@dataclass(frozen=True)
class SendOutcome:
    status: str
    field: str
    data: Any = None
    http_status: int = 0
    error: MutationError | None = None
    record: str | None = None  # already applied: which record exists, in words

    def to_json(self) -> dict[str, Any]:
        result: dict[str, Any] = {
            "status": self.status,
            "operation": self.field,
            "httpStatus": self.http_status,
        }
        if self.record is not None:
            result["record"] = self.record
        if self.error is None:
            result["data"] = self.data
        else:
            result.update(
                errorType=self.error.error_type,
                reason=self.error.reason,
                diagnosis=self.error.diagnosis,
                transient=self.error.retryable,
            )
        return result


def read_envelope(
    file: str | None,
    query: str | None,
    variables: str | None,
    operation_name: str | None,
    idempotency_key: str | None,
    stdin: IO[str] | None = None,
) -> dict[str, Any]:
    """The envelope from ``--file`` (``-``: stdin) or from ``--query``/``--variables``/``--operation-name``."""
    if file is not None and query is not None:
        raise UsageError("give either an envelope (--file / stdin) or --query, not both")
    if query is not None:
        envelope: dict[str, Any] = {"query": query}
        if variables is not None:
            try:
                envelope["variables"] = json.loads(variables)
            except ValueError as exc:
                raise UsageError(f"--variables is not JSON: {exc}") from None
        if operation_name:
            envelope["operationName"] = operation_name
    else:
        if variables is not None or operation_name is not None:
            raise UsageError("--variables and --operation-name go with --query")
        text = _read(file, stdin)
        try:
            envelope = json.loads(text)
        except ValueError as exc:
            raise UsageError(f"the envelope is not JSON: {exc}") from None
        if not isinstance(envelope, dict):
            raise UsageError("the envelope must be a JSON object")
    if idempotency_key is not None:
        envelope["idempotencyKey"] = idempotency_key
    return envelope


def validate(
    envelope: dict[str, Any], allowed: frozenset[str], model_keys: Mapping[str, tuple[str, ...]] | None = None
) -> MutationRequest:
    try:
        request = parse_envelope(envelope, allowed, model_keys=model_keys)
    except MutationError as exc:  # EnvelopeError or NotAllowedError: invalid input, nothing sent
        raise UsageError(f"{exc.error_type}: {exc.reason}") from None
    if request.upsert or request.version is not None:
        # One request, one answer: an upsert's fallback and a versioned write's read-back are the worker's.
        raise UsageError(
            "send does not do upsert or versioned writes (they take a second request to report truly); "
            "put the envelope on the worker's queue, or replay it"
        )
    return request


def send_request(http: SignedGraphQL, request: MutationRequest, caller_arn: Any = None) -> SendOutcome:
    # The document as written, as the worker sends it (not re-printed from the AST).
    payload: dict[str, Any] = {"query": request.query, "variables": request.variables}
    if request.operation_name:
        payload["operationName"] = request.operation_name
    answer = http.post(payload)
    # The worker's own judgement of the answer (one attempt: a delete refused as missing is not "already").
    reply = answer.wire if answer.wire is not None else answer.error
    assert reply is not None  # signed_http: an answer, or the error that stopped it
    verdict = judge(request, reply)
    if verdict.status is Status.APPLIED:
        return SendOutcome(APPLIED, request.field, verdict.data, answer.status)
    if verdict.status is Status.ALREADY_APPLIED:
        return SendOutcome(ALREADY_APPLIED, request.field, None, answer.status, record=_record(request))
    assert verdict.error is not None
    caller = caller_arn() if callable(caller_arn) else caller_arn
    return SendOutcome(
        FAILED,
        request.field,
        None,
        answer.status,
        diagnose(verdict.error, http.config, request.field, caller),
    )


def _record(request: MutationRequest) -> str:
    """The record a create named, in words: by its key fields, and whether the key or the input chose it."""
    fields = request.key_fields
    named = (
        f"{fields[0]} {request.record_id!r}"
        if len(fields) == 1
        else f"{'+'.join(fields)} {request.record_id!r}"
    )
    by = {"idempotencyKey": "the idempotency key", "message": "the message id"}.get(
        request.id_source or "", "the input"
    )
    return f"the record with {named} (named by {by})"


def print_outcome(outcome: SendOutcome, as_json: bool, out: IO[str], err: IO[str]) -> None:
    if as_json:
        print(json.dumps(outcome.to_json(), indent=2, default=str), file=out)
        return
    if outcome.status == APPLIED:
        print(json.dumps({outcome.field: outcome.data}, indent=2, default=str), file=out)
    elif outcome.status == ALREADY_APPLIED:
        print(
            f"already applied: {outcome.field}: {outcome.record or 'the record'} exists (nothing changed)",
            file=out,
        )
    else:
        error = outcome.error
        assert error is not None
        kind = "transient, retry later" if error.retryable else "permanent"
        print(f"failed ({kind}): {error.error_type}: {error.reason}", file=err)
        if error.diagnosis:
            print(f"fix: {error.diagnosis}", file=err)


def _read(file: str | None, stdin: IO[str] | None) -> str:
    if file is None or file == "-":
        source = stdin or sys.stdin
        if file is None and getattr(source, "isatty", lambda: False)():
            raise UsageError("no envelope: give --file F.json, pipe one on stdin, or use --query")
        return source.read()
    try:
        with open(file, encoding="utf-8") as handle:
            return handle.read()
    except OSError as exc:
        raise UsageError(f"cannot read {file}: {exc.strerror or exc}") from None
