"""``python -m sandbox.invoke``: run the worker itself on envelopes, against a running ``make sandbox``.

With the sandbox's environment file sourced (``set -a; . build/sandbox.env; set +a``) this process is a Lambda
container of the worker: the execution role's session, ``AWS_ENDPOINT_URL`` at the sandbox, the worker's
variables. Each envelope is sent to the sandbox's source queue, received with every attribute (``SenderId``
included) and handed to ``worker.handler.lambda_handler`` as one SQS event, as the event source mapping does;
records the worker reports failed are made visible again, the others deleted. The partial batch response is
printed last (JSON), after the worker's own log lines.

``appsync-mutations send`` signs one mutation by hand; this runs the worker's whole path: its envelope rules,
record ids, retries, classification, dead letters and logs.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
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


def invoke(envelopes: Sequence[Any], environ: dict[str, str] | None = None) -> dict[str, Any]:
    """Send ``envelopes`` through the sandbox's queue into the worker; returns the partial batch response."""
    import boto3

    from sandbox.lambda_runtime import LambdaContext, failed_ids, sqs_record

    env = os.environ if environ is None else environ
    queue_url, queue_arn = env.get(QUEUE_URL_VARIABLE), env.get(QUEUE_ARN_VARIABLE)
    if not queue_url or not queue_arn or not env.get("APPSYNC_URL"):
        raise InvokeError(
            f"{QUEUE_URL_VARIABLE}, {QUEUE_ARN_VARIABLE} and APPSYNC_URL are not set: start `make sandbox` and "
            "source its environment file first (set -a; . build/sandbox.env; set +a)"
        )
    region = env.get("AWS_REGION", "us-east-1")
    sqs = boto3.client("sqs", region_name=region)
    for envelope in envelopes:
        body = envelope if isinstance(envelope, str) else json.dumps(envelope)
        sqs.send_message(QueueUrl=queue_url, MessageBody=body)
    messages: list[dict[str, Any]] = []
    while len(messages) < len(envelopes):
        batch = sqs.receive_message(
            QueueUrl=queue_url,
            MaxNumberOfMessages=min(10, len(envelopes) - len(messages)),
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
            WaitTimeSeconds=1,
        ).get("Messages", [])
        if not batch:
            break
        messages.extend(batch)
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
    return {"records": len(messages), **response}


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
    except (InvokeError, OSError) as exc:
        print(f"sandbox.invoke: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(result, indent=2), flush=True)
    return 1 if result.get("batchItemFailures") else 0


if __name__ == "__main__":
    sys.exit(main())
