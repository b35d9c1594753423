"""Per-invocation CloudWatch metrics as Embedded Metric Format (EMF) lines on stdout: no API call.

CloudWatch Logs turns each line into metrics (Lambda ships stdout to the function's log group); nothing on the
hot path but building one dict and writing one JSON line at the end of the invocation. A line carries counts and
durations only, never an input value, an idempotency key or a secret: the one free-text value, the error type of
a dead letter, is the worker's own classification (``worker.errors``), shape-checked and capped in number.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any, Protocol, TextIO

import orjson

#: The CloudWatch namespace of every worker metric (the dashboard and alarms in ``infra`` read it too).
NAMESPACE = "AppSyncMutationWorker"
#: Dimension on every metric: the Lambda function's name (``AWS_LAMBDA_FUNCTION_NAME``).
FUNCTION_DIMENSION = "FunctionName"
#: Second dimension of the dead-letter-by-type line.
ERROR_TYPE_DIMENSION = "ErrorType"

APPLIED = "Applied"
ALREADY_APPLIED = "AlreadyApplied"
#: Versioned writes refused because the stored version was theirs or newer (read back): successes, not retried.
SUPERSEDED = "Superseded"
DEAD_LETTERED = "DeadLettered"
LEFT_FOR_RETRY = "LeftForRetry"
#: Records from a producer the configuration does not name (another queue, account or source; a direct
#: invocation that is not enabled): nothing sent. Not counted in LeftForRetry.
REFUSED = "Refused"
RECORDS = "Records"
ATTEMPTS = "Attempts"
RETRIES = "Retries"
APPSYNC_LATENCY = "AppSyncLatency"
ASSUME_ROLE_CALLS = "AssumeRoleCalls"

COUNTS = (
    RECORDS,
    APPLIED,
    ALREADY_APPLIED,
    SUPERSEDED,
    DEAD_LETTERED,
    LEFT_FOR_RETRY,
    REFUSED,
    ATTEMPTS,
    RETRIES,
    ASSUME_ROLE_CALLS,
)

#: Error types are class-given names such as ``InvalidEnvelope`` or ``DynamoDB:ConditionalCheckFailedException``;
#: anything else (never expected) is counted as ``Other`` rather than written into a dimension.
_ERROR_TYPE_RE = re.compile(r"^[A-Za-z][A-Za-z0-9:._-]{0,79}$")
#: At most this many error-type lines per invocation (bounded cardinality, bounded output).
MAX_ERROR_TYPES = 10
#: EMF allows at most 100 values per metric in one document.
MAX_VALUES = 100


class _Outcome(Protocol):
    """What the metrics read of a ``worker.batch.RecordOutcome``."""

    @property
    def status(self) -> str: ...

    @property
    def attempts(self) -> int: ...

    @property
    def send_ms(self) -> float | None: ...

    @property
    def error(self) -> Any: ...


def function_name(environ: dict[str, str] | None = None) -> str:
    env = os.environ if environ is None else environ
    return env.get("AWS_LAMBDA_FUNCTION_NAME") or "local"


def invocation_documents(
    outcomes: Sequence[_Outcome],
    *,
    assume_role_calls: int,
    function: str,
    timestamp_ms: int | None = None,
) -> list[dict[str, Any]]:
    """The EMF documents of one invocation: the summary, then one per dead-letter error type."""
    from worker.outcomes import Status

    # One pass: this runs at the end of every invocation. A status counts under its text (a ``Status`` is a
    # ``StrEnum``, equal to and hashed as its value).
    statuses: dict[str, int] = {}
    attempts = retries = 0
    latencies: list[float] = []
    for outcome in outcomes:
        statuses[outcome.status] = statuses.get(outcome.status, 0) + 1
        tries = int(outcome.attempts)
        if tries > 0:
            attempts += tries
            retries += tries - 1
        if outcome.send_ms is not None and len(latencies) < MAX_VALUES:
            latencies.append(round(float(outcome.send_ms), 1))
    now = int(time.time() * 1000) if timestamp_ms is None else timestamp_ms
    values: dict[str, Any] = {
        RECORDS: len(outcomes),
        APPLIED: statuses.get(Status.APPLIED, 0),
        ALREADY_APPLIED: statuses.get(Status.ALREADY_APPLIED, 0),
        SUPERSEDED: statuses.get(Status.SUPERSEDED, 0),
        DEAD_LETTERED: statuses.get(Status.DEAD_LETTERED, 0),
        LEFT_FOR_RETRY: statuses.get(Status.FAILED, 0) + statuses.get(Status.NOT_ATTEMPTED, 0),
        REFUSED: statuses.get(Status.REFUSED, 0),
        ATTEMPTS: attempts,
        RETRIES: retries,
        ASSUME_ROLE_CALLS: max(0, assume_role_calls),
    }
    metrics = [{"Name": name, "Unit": "Count"} for name in COUNTS]
    if latencies:
        values[APPSYNC_LATENCY] = latencies
        metrics.append({"Name": APPSYNC_LATENCY, "Unit": "Milliseconds"})
    documents = [_document(now, [FUNCTION_DIMENSION], metrics, {FUNCTION_DIMENSION: function, **values})]
    by_type = (
        Counter(
            _error_type(o.error) for o in outcomes if o.status == Status.DEAD_LETTERED and o.error is not None
        )
        if statuses.get(Status.DEAD_LETTERED, 0)
        else {}
    )
    for error_type, count in sorted(by_type.items())[:MAX_ERROR_TYPES]:
        documents.append(
            _document(
                now,
                [FUNCTION_DIMENSION, ERROR_TYPE_DIMENSION],
                [{"Name": DEAD_LETTERED, "Unit": "Count"}],
                {FUNCTION_DIMENSION: function, ERROR_TYPE_DIMENSION: error_type, DEAD_LETTERED: count},
            )
        )
    return documents


def _document(
    timestamp_ms: int, dimensions: list[str], metrics: list[dict[str, str]], values: dict[str, Any]
) -> dict[str, Any]:
    return {
        "_aws": {
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{"Namespace": NAMESPACE, "Dimensions": [dimensions], "Metrics": metrics}],
        },
        **values,
    }


def _error_type(error: Any) -> str:
    value = getattr(error, "error_type", None)
    return value if isinstance(value, str) and _ERROR_TYPE_RE.match(value) else "Other"


def emit(documents: Iterable[dict[str, Any]], stream: TextIO | None = None) -> None:
    """One JSON line per document, to stdout (CloudWatch Logs on Lambda)."""
    out = stream or sys.stdout
    # orjson: compact like ``json.dumps(separators=(",", ":"))``, in one C call (the standard library builds
    # an encoder for each call with separators); the documents hold only strings, integers, floats and lists.
    out.write("".join(orjson.dumps(d).decode() + "\n" for d in documents))
    out.flush()


def is_emf(line: str) -> bool:
    """Whether a log line is an EMF document (what the sandbox's Lambda runtime collects)."""
    if not line.startswith('{"_aws"'):
        return False
    try:
        return "CloudWatchMetrics" in json.loads(line).get("_aws", {})
    except (ValueError, AttributeError):
        return False
