"""An in-memory stand-in for Amplify's generated model resolvers, served over HTTP on 127.0.0.1 (the upsert and versioned-write tests).

It keeps what the worker's versioned writes depend on, as Amplify's VTL and DynamoDB do it: a create is
conditioned on ``attribute_not_exists(<key>)``, an update and a delete on ``attribute_exists(<key>)``, each AND
the mutation's ``condition`` (``and``/``or``/``not``, ``attributeExists``, ``eq``/``ne``/``lt``/``le``/``gt``/``ge``;
a comparison with a missing attribute or another type is false, strings compare by their characters); a
refusal is DynamoDB's ``ConditionalCheckFailedException``; ``get<Model>(<key>) { ... }`` answers the record or
null. It is a model of the rules, checked against the real resolvers by tests/worker_e2e/test_sync_writes.py.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

_FIELD = re.compile(r"\{\s*(\w+)\(")
_ARG = re.compile(r'(\w+): ("(?:[^"\\]|\\.)*"|-?[0-9][0-9.eE+-]*)')
_SELECTION = re.compile(r"\)\s*\{([^{}]*)\}")
_MUTATION = re.compile(r"^(create|update|delete)([A-Z]\w*)$")
_OPS = {
    "eq": lambda a, b: a == b,
    "ne": lambda a, b: a != b,
    "lt": lambda a, b: a < b,
    "le": lambda a, b: a <= b,
    "gt": lambda a, b: a > b,
    "ge": lambda a, b: a >= b,
}


def _same_type(a: Any, b: Any) -> bool:
    numbers = (int, float)
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool)
    return (isinstance(a, numbers) and isinstance(b, numbers)) or type(a) is type(b)


def holds(condition: Mapping[str, Any] | None, item: Mapping[str, Any] | None) -> bool:
    """DynamoDB's reading of an Amplify condition input against ``item`` (None: no item)."""
    if not condition:
        return True
    values = item or {}
    for name, spec in condition.items():
        if name == "and":
            ok = all(holds(c, item) for c in spec)
        elif name == "or":
            ok = any(holds(c, item) for c in spec)
        elif name == "not":
            ok = not holds(spec, item)
        else:
            ok = True
            for op, wanted in spec.items():
                present = name in values and values[name] is not None
                if op == "attributeExists":
                    ok = ok and present == bool(wanted)
                elif not present or not _same_type(values[name], wanted):
                    ok = False
                else:
                    ok = ok and _OPS[op](values[name], wanted)
        if not ok:
            return False
    return True


@dataclass
class AmplifyTable:
    """Records by model and key; what was written, in order; switches for the failure cases."""

    keys: dict[str, tuple[str, ...]] = field(default_factory=dict)
    records: dict[tuple[str, tuple[Any, ...]], dict[str, Any]] = field(default_factory=dict)
    writes: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    #: "iam": get queries are refused by AppSync's IAM check; "resolver": by Amplify's resolver.
    deny_reads: str | None = None
    #: Each request waits up to this long (seconds) before it is applied, so concurrent sends interleave.
    jitter: float = 0.0
    url: str = ""

    def key_of(self, model: str, values: Mapping[str, Any]) -> tuple[Any, ...]:
        return tuple(values.get(k) for k in self.keys.get(model, ("id",)))

    def get(self, model: str, **key: Any) -> dict[str, Any] | None:
        return self.records.get((model, self.key_of(model, key)))

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.requests.append(body)
        if self.jitter:
            await asyncio.sleep(random.uniform(0, self.jitter))
        text, variables = body["query"], body.get("variables") or {}
        name = _FIELD.search(text)
        assert name is not None, text
        field_name = name[1]
        selection = (_SELECTION.search(text) or [None, "id"])[1].split()
        if field_name.startswith("get"):
            return self._get(field_name, text, selection)
        match = _MUTATION.match(field_name)
        assert match is not None, field_name
        verb, model = match[1], match[2]
        values = dict(variables["input"])
        condition = variables.get("condition")
        record_key = (model, self.key_of(model, values))
        stored = self.records.get(record_key)
        exists = stored is not None
        if (verb == "create") == exists or not holds(condition, stored):
            return web.json_response(
                {
                    "data": {field_name: None},
                    "errors": [
                        {
                            "path": [field_name],
                            "data": None,
                            "errorType": "DynamoDB:ConditionalCheckFailedException",
                            "errorInfo": None,
                            "message": "The conditional request failed (Service: DynamoDb, Status Code: 400)",
                        }
                    ],
                }
            )
        if verb == "delete":
            assert stored is not None
            del self.records[record_key]
            result = stored
        else:
            result = {**(stored or {}), **values}
            self.records[record_key] = result
        self.writes.append((field_name, dict(values)))
        return web.json_response({"data": {field_name: {k: result.get(k) for k in selection}}})

    def _get(self, field_name: str, text: str, selection: list[str]) -> web.Response:
        if self.deny_reads == "iam":
            return web.json_response(
                {
                    "errors": [
                        {
                            "errorType": "UnauthorizedException",
                            "message": "You are not authorized to make this call.",
                        }
                    ]
                },
                status=401,
            )
        if self.deny_reads == "resolver":
            return web.json_response(
                {
                    "data": {field_name: None},
                    "errors": [
                        {
                            "path": [field_name],
                            "errorType": "Unauthorized",
                            "message": f"Not Authorized to access {field_name} on type Query",
                        }
                    ],
                }
            )
        model = field_name[3:]
        key = {k: json.loads(v) for k, v in _ARG.findall(text.split(")", 1)[0])}
        stored = self.records.get((model, self.key_of(model, key)))
        data = None if stored is None else {k: stored.get(k) for k in selection}
        return web.json_response({"data": {field_name: data}})


@asynccontextmanager
async def serving(table: AmplifyTable) -> AsyncIterator[AmplifyTable]:
    app = web.Application()
    app.router.add_post("/graphql", table.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]  # the port the OS gave the site (aiohttp's public AppRunner.addresses)
    table.url = f"http://127.0.0.1:{port}/graphql"
    try:
        yield table
    finally:
        await runner.cleanup()
