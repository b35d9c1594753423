"""A fast path to the sandbox's DynamoDB: moto's own request handler, called in this process, without HTTP.

The stand-in's resolvers talk to DynamoDB through a boto3 client. When that client's endpoint is the moto
running in this very process, each call would otherwise go botocore -> HTTP -> werkzeug -> moto in the same
interpreter (about 5 ms of GIL-bound work per call): the stand-in topped out near 90 mutations/s. Here the
same ``put_item``/``update_item``/``delete_item``/``get_item``/``scan`` calls go straight to moto's
``DynamoHandler`` action methods, so moto's request validation (unused expression names and values, empty
keys, expression syntax) and its conditional semantics stay exactly those of the HTTP path. Errors come back
as the ``botocore.exceptions.ClientError`` the client would have raised (same code and message).

Calls are serialized by one lock: a conditional write is atomic here, as it is on DynamoDB.
"""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from botocore.exceptions import ClientError

from worker.config import is_loopback_host

OPERATIONS = {
    "put_item": "PutItem",
    "update_item": "UpdateItem",
    "delete_item": "DeleteItem",
    "get_item": "GetItem",
    "scan": "Scan",
}


class InProcessDynamoDB:
    """Duck-types the boto3 DynamoDB client methods ``TodoTable`` uses, against moto's in-process backend."""

    def __init__(self, account_id: str, region: str) -> None:
        from moto.dynamodb.responses import DynamoHandler

        self.account_id = account_id
        self.region = region
        self._lock = threading.Lock()
        self._handler = DynamoHandler()
        self._handler.current_account = account_id
        self._handler.region = region

    @classmethod
    def for_client(cls, client: Any, table_name: str) -> InProcessDynamoDB | None:
        """The fast path for ``client``'s table, or None when its endpoint is not this process's moto.

        Proof of identity: the table the client describes (ARN and creation time, to the microsecond) is the
        one in this process's moto backend; a moto in another process would have its own creation time.
        """
        if not _is_loopback(getattr(client.meta, "endpoint_url", None)):
            return None
        try:
            from moto.dynamodb.models import dynamodb_backends
        except ImportError:
            return None
        try:
            described = client.describe_table(TableName=table_name)["Table"]
        except Exception:  # not reachable or no such table: keep the client path, which reports it per call
            return None
        arn = str(described.get("TableArn", ""))
        parts = arn.split(":")
        if len(parts) < 6:
            return None
        region, account_id = parts[3], parts[4]
        if account_id not in dynamodb_backends or region not in dynamodb_backends[account_id]:
            return None
        table = dynamodb_backends[account_id][region].tables.get(table_name)
        if table is None or table.table_arn != arn:
            return None
        if not _same_instant(getattr(table, "created_at", None), described.get("CreationDateTime")):
            return None
        return cls(account_id, region)

    # --- the boto3 client methods TodoTable calls ---------------------------------------------------------
    def put_item(self, **params: Any) -> dict[str, Any]:
        return self._call("put_item", params)

    def update_item(self, **params: Any) -> dict[str, Any]:
        return self._call("update_item", params)

    def delete_item(self, **params: Any) -> dict[str, Any]:
        return self._call("delete_item", params)

    def get_item(self, **params: Any) -> dict[str, Any]:
        return self._call("get_item", params)

    def scan(self, **params: Any) -> dict[str, Any]:
        return self._call("scan", params)

    def _call(self, action: str, params: dict[str, Any]) -> dict[str, Any]:
        from moto.core.exceptions import JsonRESTError

        try:
            with self._lock:
                self._handler.body = params
                result = getattr(self._handler, action)()
                body = dict(result.result)
        except JsonRESTError as exc:
            raise _client_error(
                OPERATIONS[action], exc.relative_error_type, exc.message, int(exc.code or 400)
            ) from None
        except (KeyError, TypeError, ValueError) as exc:  # what moto's server would answer as a 500
            raise _client_error(OPERATIONS[action], "InternalServerError", str(exc), 500) from None
        finally:
            self._handler.body = {}
        body.pop("ConsumedCapacityUnits", None)  # moto's internal bookkeeping, not on the wire
        body["ResponseMetadata"] = {"HTTPStatusCode": 200, "RequestId": _request_id()}
        return body


def _client_error(operation: str, code: str, message: str, status: int) -> ClientError:
    return ClientError(
        {
            "Error": {"Code": code, "Message": message},
            "ResponseMetadata": {"HTTPStatusCode": status, "RequestId": _request_id()},
        },
        operation,
    )


def _request_id() -> str:
    return uuid.uuid4().hex.upper()[:52]


def _is_loopback(url: str | None) -> bool:
    return is_loopback_host(urlsplit(url or "").hostname or "")


def _same_instant(local: Any, described: Any) -> bool:
    """moto keeps naive UTC datetimes; botocore parses ``CreationDateTime`` into an aware one."""
    if not isinstance(local, datetime) or not isinstance(described, datetime):
        return False
    if local.tzinfo is None:
        local = local.replace(tzinfo=UTC)
    if described.tzinfo is None:
        described = described.replace(tzinfo=UTC)
    return abs(local.timestamp() - described.timestamp()) < 0.002
