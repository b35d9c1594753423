"""The Todo model's resolvers against DynamoDB in account B, as Amplify's transformer v2 writes them.

- create: ``PutItem`` conditional on ``attribute_not_exists(#id)`` (AND the caller's ``condition``); a client id
  is kept, otherwise a UUID is generated; ``createdAt``/``updatedAt`` are ISO-8601 with milliseconds and ``Z``;
  ``__typename`` is stored as Amplify does.
- update: ``UpdateItem`` conditional on ``attribute_exists(#id)``; ``null`` removes an attribute.
- delete: ``DeleteItem`` conditional on ``attribute_exists(#id)``, returning the deleted item.
- get / list: ``GetItem`` / ``Scan`` (``filter`` uses the same translation as ``condition``).
These functions block (boto3); the server runs them in an executor.
"""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

_SERIALIZE = TypeSerializer().serialize
_DESERIALIZE = TypeDeserializer().deserialize
_COMPARISONS = {"eq": "=", "ne": "<>", "le": "<=", "lt": "<", "ge": ">=", "gt": ">"}
_TYPES = {
    "binary": "B",
    "binarySet": "BS",
    "bool": "BOOL",
    "list": "L",
    "map": "M",
    "number": "N",
    "numberSet": "NS",
    "string": "S",
    "stringSet": "SS",
    "_null": "NULL",
}


class ResolverError(Exception):
    """An error a resolver returns: the field becomes null and ``errors`` gets this type and message."""

    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.message = message


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class TodoTable:
    def __init__(self, client: Any, table_name: str) -> None:
        self.client = client
        self.table_name = table_name

    def create(self, values: dict[str, Any], condition: dict[str, Any] | None) -> dict[str, Any]:
        stamp = now_iso()
        item = {**values, "id": values.get("id") or str(uuid.uuid4())}
        item.update(createdAt=stamp, updatedAt=stamp, __typename="Todo")
        expr = Expression()
        guard = f"attribute_not_exists({expr.name('id')})"
        self._call(
            "put_item",
            Item={k: _SERIALIZE(v) for k, v in item.items()},
            **expr.params(guard, condition),
        )
        return item

    def update(self, values: dict[str, Any], condition: dict[str, Any] | None) -> dict[str, Any]:
        expr = Expression()
        sets = [f"{expr.name(k)} = {expr.value(v)}" for k, v in values.items() if k != "id" and v is not None]
        sets.append(f"{expr.name('updatedAt')} = {expr.value(now_iso())}")
        removes = [expr.name(k) for k, v in values.items() if k != "id" and v is None]
        update = "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else "")
        guard = f"attribute_exists({expr.name('id')})"
        answer = self._call(
            "update_item",
            Key={"id": {"S": values["id"]}},
            UpdateExpression=update,
            ReturnValues="ALL_NEW",
            **expr.params(guard, condition),
        )
        return _item(answer["Attributes"])

    def delete(self, values: dict[str, Any], condition: dict[str, Any] | None) -> dict[str, Any]:
        expr = Expression()
        guard = f"attribute_exists({expr.name('id')})"
        answer = self._call(
            "delete_item",
            Key={"id": {"S": values["id"]}},
            ReturnValues="ALL_OLD",
            **expr.params(guard, condition),
        )
        return _item(answer["Attributes"])

    def get(self, todo_id: str) -> dict[str, Any] | None:
        answer = self._call("get_item", Key={"id": {"S": todo_id}}, ConsistentRead=True)
        return _item(answer["Item"]) if "Item" in answer else None

    def list(
        self, filter_: dict[str, Any] | None, limit: int | None, next_token: str | None
    ) -> dict[str, Any]:
        expr = Expression()
        params: dict[str, Any] = {"Limit": limit or 100}
        if next_token:
            try:
                params["ExclusiveStartKey"] = json.loads(base64.urlsafe_b64decode(next_token))
            except ValueError:
                raise ResolverError("DynamoDB:ValidationException", "Invalid nextToken") from None
        filter_text = expr.condition(filter_) if filter_ else None
        if filter_text:
            params["FilterExpression"] = filter_text
            params.update(expr.attributes())
        answer = self._call("scan", **params)
        last = answer.get("LastEvaluatedKey")
        token = base64.urlsafe_b64encode(json.dumps(last).encode()).decode() if last else None
        return {"items": [_item(i) for i in answer.get("Items", [])], "nextToken": token}

    def _call(self, operation: str, **params: Any) -> dict[str, Any]:
        try:
            result: dict[str, Any] = getattr(self.client, operation)(TableName=self.table_name, **params)
            return result
        except ClientError as exc:
            error = exc.response.get("Error", {})
            meta = exc.response.get("ResponseMetadata", {})
            code = error.get("Code", "AmazonDynamoDBException")
            message = (
                "The conditional request failed"
                if code == "ConditionalCheckFailedException"
                else error.get("Message", str(exc))
            )
            raise ResolverError(
                f"DynamoDB:{code}",
                f"{message} (Service: DynamoDb, Status Code: {meta.get('HTTPStatusCode', 400)}, "
                f"Request ID: {meta.get('RequestId', 'null')})",
            ) from None


def _one_group(text: str) -> bool:
    """Whether ``text`` is one parenthesized group, ``(...)`` whose first parenthesis closes at its end."""
    if not text.startswith("("):
        return False
    depth = 0
    for index, char in enumerate(text):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth == 0:
            return index == len(text) - 1
    return False


def _item(attributes: dict[str, Any]) -> dict[str, Any]:
    return {k: _DESERIALIZE(v) for k, v in attributes.items()}


class Expression:
    """Placeholders for one DynamoDB expression, and Amplify's condition/filter input translated into it."""

    def __init__(self) -> None:
        self.names: dict[str, str] = {}
        self.values: dict[str, Any] = {}

    def name(self, attribute: str) -> str:
        key = f"#{attribute}" if attribute.isidentifier() else f"#n{len(self.names)}"
        self.names[key] = attribute
        return key

    def value(self, value: Any) -> str:
        key = f":v{len(self.values)}"
        self.values[key] = _SERIALIZE(value)
        return key

    def attributes(self) -> dict[str, Any]:
        params: dict[str, Any] = {}
        if self.names:
            params["ExpressionAttributeNames"] = self.names
        if self.values:
            params["ExpressionAttributeValues"] = self.values
        return params

    def params(self, guard: str, condition: dict[str, Any] | None) -> dict[str, Any]:
        extra = self.condition(condition) if condition else None
        if extra and not _one_group(extra):
            extra = f"({extra})"
        # DynamoDB refuses redundant parentheses: a condition that is one group already ({or: [...]}) is not wrapped
        text = f"{guard} AND {extra}" if extra else guard
        return {"ConditionExpression": text, **self.attributes()}

    def condition(self, spec: dict[str, Any]) -> str | None:
        parts: list[str] = []
        for key, value in spec.items():
            if value is None:
                continue
            if key in ("and", "or"):
                inner = [c for c in (self.condition(v) for v in value if v) if c]
                if inner:
                    parts.append("(" + f" {key.upper()} ".join(inner) + ")")
            elif key == "not":
                inner_text = self.condition(value)
                if inner_text:
                    parts.append(f"(NOT {inner_text})")
            else:
                parts.extend(self._field(key, value))
        return " AND ".join(parts) or None

    def _field(self, attribute: str, ops: dict[str, Any]) -> list[str]:
        name = self.name(attribute)
        out: list[str] = []
        for op, arg in ops.items():
            if arg is None:
                continue
            if op in _COMPARISONS:
                out.append(f"{name} {_COMPARISONS[op]} {self.value(arg)}")
            elif op == "contains":
                out.append(f"contains({name}, {self.value(arg)})")
            elif op == "notContains":
                out.append(f"NOT contains({name}, {self.value(arg)})")
            elif op == "beginsWith":
                out.append(f"begins_with({name}, {self.value(arg)})")
            elif op == "between" and len(arg) == 2:
                out.append(f"{name} BETWEEN {self.value(arg[0])} AND {self.value(arg[1])}")
            elif op == "attributeExists":
                out.append(f"attribute_exists({name})" if arg else f"attribute_not_exists({name})")
            elif op == "attributeType":
                out.append(f"attribute_type({name}, {self.value(_TYPES.get(arg, arg))})")
            elif op == "size":
                for size_op, size_arg in arg.items():
                    if size_op in _COMPARISONS and size_arg is not None:
                        out.append(f"size({name}) {_COMPARISONS[size_op]} {self.value(size_arg)}")
            else:
                raise ResolverError("InvalidConditionException", f"Unsupported condition operator {op!r}")
        return out
