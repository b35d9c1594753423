"""A careful hand-written peer of the worker, kept only as the CPU bench's comparison (``benchmarks.cpu``).

What a good engineer writes with gql, not the naive baseline (``benchmarks.naive_handler``):

- gql's ``AIOHTTPTransport`` with ``AppSyncIAMAuthentication`` (botocore's SigV4), one gql ``Client`` session and
  one event loop for the container's life, so connections are pooled (connector limit ``MAX_CONCURRENCY``);
- AssumeRole of ``MUTATOR_ROLE_ARN`` once per container (STS at ``AWS_ENDPOINT_URL`` when set), not per invocation;
- each mutation document parsed once (per mutation name), not per record;
- an SQS batch's records sent with ``asyncio.gather`` under an ``asyncio.Semaphore(MAX_CONCURRENCY)``; a create's
  idempotency key is the record's id, as in the worker;
- one JSON log line per record (stdlib ``json``, printed and flushed to stdout, as the worker's lines are);
- the partial batch response (``batchItemFailures``).

Not deployable: no retries, no dead-letter queue, no producer checks, no credential refresh (a bench container
lives minutes).
"""

from __future__ import annotations

import asyncio
import atexit
import json
import os
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit


class Peer:
    def __init__(self, environ: dict[str, str] | os._Environ[str]) -> None:
        import botocore.session
        from botocore.credentials import Credentials
        from gql.transport.appsync_auth import AppSyncIAMAuthentication

        self.url = environ["APPSYNC_URL"]
        self.region = environ["APPSYNC_REGION"]
        self.concurrency = int(environ.get("MAX_CONCURRENCY", "10"))
        sts = botocore.session.get_session().create_client("sts", region_name=self.region)
        assumed = sts.assume_role(
            RoleArn=environ["MUTATOR_ROLE_ARN"], RoleSessionName=environ["MUTATOR_SESSION_NAME"]
        )["Credentials"]
        credentials = Credentials(assumed["AccessKeyId"], assumed["SecretAccessKey"], assumed["SessionToken"])
        self.auth = AppSyncIAMAuthentication(
            host=urlsplit(self.url).netloc, region_name=self.region, credentials=credentials
        )
        self.documents: dict[str, Any] = {}
        self.loop = asyncio.new_event_loop()
        self.client, self.session = self.loop.run_until_complete(self._connect())

    async def _connect(self) -> tuple[Any, Any]:
        import aiohttp
        from gql import Client
        from gql.transport.aiohttp import AIOHTTPTransport

        transport = AIOHTTPTransport(
            url=self.url,
            auth=self.auth,
            timeout=10,
            client_session_args={"connector": aiohttp.TCPConnector(limit=self.concurrency)},
        )
        client = Client(transport=transport, fetch_schema_from_transport=False)
        return client, await client.connect_async()

    def close(self) -> None:
        if not self.loop.is_closed():
            self.loop.run_until_complete(self.client.close_async())
            self.loop.close()

    def document(self, name: str) -> Any:
        """``mutation <Name>($input: <Name>Input!) { <name>(input: $input) { id } }``, parsed once per name."""
        parsed = self.documents.get(name)
        if parsed is None:
            from gql import gql

            title = name[0].upper() + name[1:]
            parsed = gql(f"mutation {title}($input: {title}Input!) {{ {name}(input: $input) {{ id }} }}")
            self.documents[name] = parsed
        return parsed

    async def one(self, record: dict[str, Any], semaphore: asyncio.Semaphore) -> bool:
        """Send one record's mutation; True if it failed (left for redelivery)."""
        from gql import GraphQLRequest

        line: dict[str, Any] = {"event": "record_done", "message_id": record["messageId"]}
        async with semaphore:
            try:
                envelope = json.loads(record["body"])
                name = envelope["mutation"]
                values = dict(envelope["input"])
                key = envelope.get("idempotencyKey")
                if key and name.startswith("create"):
                    values.setdefault("id", key)
                line.update(mutation=name, idempotency_key=key)
                request = GraphQLRequest(self.document(name), variable_values={"input": values})
                data = await self.session.execute(request)
                line.update(level="info", outcome="applied", record_id=data[name]["id"])
                failed = False
            except Exception as exc:  # one record's failure is the batch's partial failure
                line.update(level="error", outcome="failed", error=f"{type(exc).__name__}: {exc}"[:300])
                failed = True
        line["timestamp"] = datetime.now(UTC).isoformat()
        print(json.dumps(line), flush=True)
        return failed

    async def handle(self, event: dict[str, Any]) -> dict[str, Any]:
        semaphore = asyncio.Semaphore(self.concurrency)
        records = event["Records"]
        failed = await asyncio.gather(*(self.one(record, semaphore) for record in records))
        return {
            "batchItemFailures": [
                {"itemIdentifier": record["messageId"]}
                for record, bad in zip(records, failed, strict=True)
                if bad
            ]
        }


_peer: Peer | None = None


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    global _peer
    if _peer is None:
        _peer = Peer(os.environ)
        atexit.register(_peer.close)
    return _peer.loop.run_until_complete(_peer.handle(event))
