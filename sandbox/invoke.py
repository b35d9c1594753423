"""``python -m sandbox.invoke``: run the worker itself on envelopes, against a running ``make sandbox``.

With the sandbox's environment file sourced (``set -a; . build/sandbox.env; set +a``) this process is a Lambda
container of the worker: the execution role's session, ``AWS_ENDPOINT_URL`` at the sandbox, the worker's
variables. Each envelope is sent to the sandbox's source queue, received with every attribute (``SenderId``
included) and handed to ``worker.handler.lambda_handler`` as one SQS event, as the event source mapping does;
records the worker reports failed are made visible again, the others deleted. The partial batch response is
printed last (JSON), after the worker's own log lines. Every body is checked against the queue's
``MaximumMessageSize`` before any is sent, and only the messages this run sent (by ``MessageId``) reach the
worker: anything else found on the queue is made visible again and named under ``notYours``.

``appsync-mutations send`` signs one mutation by hand; this runs the worker's whole path: its envelope rules,
record ids, retries, classification, dead letters and logs.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Mapping, Sequence
from typing import Any

#: Written into the environment file by ``make sandbox``; not worker variables (the worker never reads them).
QUEUE_URL_VARIABLE = "SANDBOX_QUEUE_URL"
QUEUE_ARN_VARIABLE = "SANDBOX_QUEUE_ARN"


class InvokeError(RuntimeError):
    """Something the user can fix (printed without a traceback, exit 2)."""


def read_envelopes(text: str) -> list[Any]:
    """One JSON envelope, a JSON list of them, or JSON Lines."""
    stripped = text.strip()
    if not stripped:
        raise InvokeError("no envelope given (a JSON object, a list of them, or JSON Lines)")
    try:
        value = json.loads(stripped)
    except ValueError:
        try:
            return [json.loads(line) for line in stripped.splitlines() if line.strip()]
        except ValueError as exc:
            raise InvokeError(f"not JSON nor JSON Lines: {exc}") from None
    return value if isinstance(value, list) else [value]


#: SQS's default MaximumMessageSize, used when the queue's own cannot be read.
DEFAULT_MAX_MESSAGE_BYTES = 262_144
#: How long to wait for the messages this run sent to come back from the queue.
RECEIVE_DEADLINE_SECONDS = 20.0


def message_bodies(envelopes: Sequence[Any], limit: int) -> list[str]:
    """Every envelope's message body, all checked against SQS's rules before anything is sent."""
    from sandbox.aws.sqs_limits import check_message

    if not envelopes:
        raise InvokeError("no envelope given: an empty list (a JSON object, a list of them, or JSON Lines)")
    bodies = []
    for number, envelope in enumerate(envelopes, 1):
        body = envelope if isinstance(envelope, str) else json.dumps(envelope)
        if not body:
            raise InvokeError(
                f"envelope {number} is empty (SQS refuses an empty message body); nothing was sent"
            )
        refusal = check_message(body, {}, limit)
        if refusal is not None:
            raise InvokeError(
                f"envelope {number} cannot be sent: {refusal[1]} (the queue's MaximumMessageSize is {limit} "
                "bytes); nothing was sent"
            )
        bodies.append(body)
    return bodies


def _max_message_size(sqs: Any, queue_url: str) -> int:
    from botocore.exceptions import ClientError

    try:
        attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["MaximumMessageSize"])
        return int(attributes["Attributes"]["MaximumMessageSize"])
    except (ClientError, KeyError, ValueError):
        return DEFAULT_MAX_MESSAGE_BYTES


def invoke(envelopes: Sequence[Any], environ: dict[str, str] | None = None) -> dict[str, Any]:
    """Send ``envelopes`` through the sandbox's queue into the worker; returns the partial batch response.

    Only the messages this run sent reach the worker: anything else on the queue (a message another run left
    behind) is handed back (made visible again) and named under ``notYours``.
    """
    from botocore.exceptions import BotoCoreError, ClientError

    env = os.environ if environ is None else environ
    queue_url, queue_arn = env.get(QUEUE_URL_VARIABLE), env.get(QUEUE_ARN_VARIABLE)
    if not queue_url or not queue_arn or not env.get("APPSYNC_URL"):
        raise InvokeError(
            f"{QUEUE_URL_VARIABLE}, {QUEUE_ARN_VARIABLE} and APPSYNC_URL are not set: start `make sandbox` and "
            "source its environment file first (set -a; . build/sandbox.env; set +a)"
        )
    try:
        return _invoke(envelopes, env, queue_url, queue_arn)
    except (BotoCoreError, ClientError) as exc:
        raise InvokeError(
            f"{exc} (is the sandbox still running? start `make sandbox` and source the environment file it "
            "writes again)"
        ) from None


def _invoke(
    envelopes: Sequence[Any], env: Mapping[str, str], queue_url: str, queue_arn: str
) -> dict[str, Any]:
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    from sandbox.lambda_runtime import LambdaContext, failed_ids, sqs_record

    region = env.get("AWS_REGION", "us-east-1")
    sqs = boto3.client("sqs", region_name=region)
    bodies = message_bodies(envelopes, _max_message_size(sqs, queue_url))
    sent: list[str] = []
    for body in bodies:
        try:
            sent.append(sqs.send_message(QueueUrl=queue_url, MessageBody=body)["MessageId"])
        except (BotoCoreError, ClientError) as exc:
            left = f"; left on the queue, not run: {', '.join(sent)}" if sent else ""
            raise InvokeError(f"sending envelope {len(sent) + 1} failed: {exc}{left}") from None
    wanted = set(sent)
    mine: dict[str, dict[str, Any]] = {}
    held: dict[str, dict[str, Any]] = {}  # someone else's, received while looking for ours
    deadline = time.monotonic() + RECEIVE_DEADLINE_SECONDS
    try:
        while len(mine) < len(wanted) and time.monotonic() < deadline:
            batch = sqs.receive_message(
                QueueUrl=queue_url,
                MaxNumberOfMessages=10,
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
                WaitTimeSeconds=1,
            ).get("Messages", [])
            for message in batch:
                (mine if message["MessageId"] in wanted else held)[message["MessageId"]] = message
    finally:
        # Handed back as soon as the search ends, not after the visibility timeout. Not each one as it arrives:
        # the queue would hand the same ones back first on the next receive (ours never reached behind ten of
        # them) and every receive counts toward the queue's maxReceiveCount (the dead-letter queue).
        for message in held.values():
            sqs.change_message_visibility(
                QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
            )
    missing = [message_id for message_id in sent if message_id not in mine]
    if missing:
        for message in mine.values():
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
        raise InvokeError(
            f"{len(missing)} of the {len(sent)} messages sent did not come back from the queue within "
            f"{RECEIVE_DEADLINE_SECONDS:.0f}s ({', '.join(missing)}); nothing was run (the ones received were "
            "deleted)"
        )
    messages = [mine[message_id] for message_id in sent]
    event = {"Records": [sqs_record(m, queue_arn, region) for m in messages]}
    from worker.handler import lambda_handler

    context = LambdaContext(function_name=env.get("AWS_LAMBDA_FUNCTION_NAME", "appsync-mutation-worker"))
    response = lambda_handler(event, context)
    failed = failed_ids(event, response)
    for message in messages:
        if message["MessageId"] in failed:
            sqs.change_message_visibility(
                QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
            )
        else:
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    result: dict[str, Any] = {"records": len(messages), **response}
    if held:
        result["notYours"] = sorted(held)
    return result


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m sandbox.invoke",
        description="Run the worker (worker.handler.lambda_handler) on envelopes through a running sandbox's "
        "queue. Source build/sandbox.env first.",
    )
    parser.add_argument(
        "--file", "-f", metavar="F", help="envelope(s): JSON, a JSON list, or JSON Lines (default stdin)"
    )
    args = parser.parse_args(argv)
    try:
        if args.file and args.file != "-":
            with open(args.file, encoding="utf-8") as handle:
                text = handle.read()
        else:
            text = sys.stdin.read()
        result = invoke(read_envelopes(text))
    except UnicodeDecodeError as exc:
        print(
            f"sandbox.invoke: {args.file or 'stdin'} is not UTF-8 text ({exc.reason} at byte {exc.start})",
            file=sys.stderr,
        )
        return 2
    except (InvokeError, OSError) as exc:
        print(f"sandbox.invoke: {exc}", file=sys.stderr)
        return 2
    if result.get("notYours"):
        print(
            "sandbox.invoke: not yours, left on the queue (visible again): " + ", ".join(result["notYours"]),
            file=sys.stderr,
        )
    print(json.dumps(result, indent=2), flush=True)
    return 1 if result.get("batchItemFailures") else 0


if __name__ == "__main__":
    sys.exit(main())
