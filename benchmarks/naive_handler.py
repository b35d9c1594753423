"""The common hand-written cross-account Lambda, kept only as the benchmark's baseline.

What people write first: a new STS client and AssumeRole on every invocation, a new HTTP session per message,
and mutations sent one after another. It is correct enough to work, which is why it is worth measuring against.
Never deploy this.
"""

from __future__ import annotations

import json
import os
from typing import Any


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    import boto3
    import requests
    from requests_aws4auth import AWS4Auth

    sts = boto3.client("sts", region_name=os.environ["APPSYNC_REGION"])
    creds = sts.assume_role(
        RoleArn=os.environ["MUTATOR_ROLE_ARN"], RoleSessionName=os.environ["MUTATOR_SESSION_NAME"]
    )["Credentials"]
    auth = AWS4Auth(
        creds["AccessKeyId"],
        creds["SecretAccessKey"],
        os.environ["APPSYNC_REGION"],
        "appsync",
        session_token=creds["SessionToken"],
    )
    failures = []
    for record in event["Records"]:
        body = json.loads(record["body"])
        name = body["mutation"]
        input_type = name[0].upper() + name[1:] + "Input"
        query = f"mutation M($input: {input_type}!) {{ {name}(input: $input) {{ id }} }}"
        with requests.Session() as session:
            response = session.post(
                os.environ["APPSYNC_URL"],
                json={"query": query, "variables": {"input": body["input"]}},
                auth=auth,
                timeout=10,
            )
        if response.status_code != 200 or response.json().get("errors"):
            failures.append({"itemIdentifier": record["messageId"]})
    return {"batchItemFailures": failures}
