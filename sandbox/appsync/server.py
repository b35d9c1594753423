"""The local AppSync endpoint: an aiohttp server on 127.0.0.1 (port 0) in a thread with its own event loop.

One request goes: injected faults -> SigV4 (``sigv4``) -> JSON body -> cached, validated document
(``documents``) -> IAM ``appsync:GraphQL`` per top-level field -> Amplify's admin-role rule and the DynamoDB
resolvers (``execution``) -> optional stall -> answer. Blocking boto3 calls run in a small thread pool; when the
DynamoDB client is this process's moto, resolvers call moto's handler directly (``inprocess_dynamodb``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
import struct
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from aiohttp import web

from amplify_custom_roles import admin_rule
from project_settings.generation import AmplifyGeneration
from sandbox.appsync import documents, responses
from sandbox.appsync.custom_roles import CustomRoles
from sandbox.appsync.execution import CallContext, Executor
from sandbox.appsync.faults import Faults, Plan
from sandbox.appsync.inprocess_dynamodb import InProcessDynamoDB
from sandbox.appsync.resolvers import TodoTable
from sandbox.appsync.sigv4 import ReceivedRequest, SigV4Verifier
from sandbox.appsync.stats import Stats
from sandbox.identity import CallerIdentity, IdentityResolver
from sandbox.loop_thread import serve_in_thread

log = logging.getLogger(__name__)
T = TypeVar("T")
#: How the resolvers reach DynamoDB: ``auto`` picks ``in-process`` when the client's endpoint is the moto
#: running in this process (moto's handler called directly: ~20x faster), else ``client``.
DYNAMODB_PATHS = ("auto", "in-process", "client")


class AppSyncStandIn:
    """A local AppSync API for the Amplify ``Todo`` model, IAM-only, with fault injection and stats.

    ``cli_behaviour`` ("verbatim" or "normalize") and ``clock_offset`` (shifts the server's clock, for
    date-skew tests) may be changed at any time from any thread.
    """

    def __init__(
        self,
        *,
        identities: IdentityResolver,
        dynamodb_client: Any,
        table_name: str,
        api_id: str,
        region: str,
        account_id: str,
        custom_roles_path: Path,
        cli_behaviour: str,
        env_name: str = "sandbox",
        dynamodb_path: str = "auto",
        generation: AmplifyGeneration | int = AmplifyGeneration.GEN1,
        auth_modes: Sequence[str] = (),
    ) -> None:
        if dynamodb_path not in DYNAMODB_PATHS:
            raise ValueError(f"dynamodb_path must be one of {DYNAMODB_PATHS}, not {dynamodb_path!r}")
        # The settings' number (1 or 2) or the type; anything else is named in a ValueError.
        generation = AmplifyGeneration.from_setting(generation, name="generation")
        if cli_behaviour not in admin_rule.CLI_BEHAVIOURS:
            raise ValueError(
                f"cli_behaviour must be one of {admin_rule.CLI_BEHAVIOURS}, not {cli_behaviour!r}"
            )
        self.identities = identities
        self.api_id = api_id
        self.region = region
        self.account_id = account_id
        self.cli_behaviour = cli_behaviour
        self.env_name = env_name
        #: Gen 1: Amplify's admin-role rule (custom-roles.json); Gen 2: the IAM-access rule (no allow-list).
        self.generation: AmplifyGeneration = generation
        self.clock_offset = timedelta(0)
        self.faults = Faults()
        self.stats = Stats()
        self.custom_roles = CustomRoles(Path(custom_roles_path), env_name)
        self.table = TodoTable(dynamodb_client, table_name)
        self._dynamodb_client = dynamodb_client
        self._dynamodb_request = dynamodb_path
        #: "in-process" (moto's handler called directly) or "client" (the boto3 client, over HTTP).
        self.dynamodb_path = "client"
        self._verifier = SigV4Verifier(identities, region, clock=self.now, auth_modes=auth_modes)
        self._schema = documents.load_schema()
        self._documents = documents.DocumentCache(self._schema)
        self._pool: ThreadPoolExecutor | None = None
        self._executor: Executor | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._stopping: asyncio.Event | None = None
        self.url: str | None = None

    # --- lifecycle ----------------------------------------------------------------------------------------
    def start(self) -> str:
        """Serve on 127.0.0.1 with a free port; returns ``http://127.0.0.1:<port>/graphql``."""
        if self.url is not None:
            return self.url
        self._choose_dynamodb_path()
        self._pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="appsync-stand-in-ddb")
        self._executor = Executor(self._schema, self.table, self._run_blocking, self.stats)
        try:
            self._loop, self._thread, port = serve_in_thread(self._serve, "appsync-stand-in")
        except BaseException:
            self._pool.shutdown()
            raise
        self.url = f"http://127.0.0.1:{port}/graphql"
        assert self.url is not None
        return self.url

    def stop(self) -> None:
        """Close the listener and every connection, end the thread and the pool; safe to call twice."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        asyncio.run_coroutine_threadsafe(self._shutdown(), loop).result(timeout=30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=30)
        loop.close()
        if self._pool is not None:
            self._pool.shutdown(wait=True)
        self._loop = self._thread = None
        self._pool = None
        self.url = None

    def __enter__(self) -> AppSyncStandIn:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    def _choose_dynamodb_path(self) -> None:
        """In-process when the client's endpoint is this process's moto (``auto``), else the boto3 client."""
        if self._dynamodb_request == "client":
            self.table.client, self.dynamodb_path = self._dynamodb_client, "client"
            return
        fast = InProcessDynamoDB.for_client(self._dynamodb_client, self.table.table_name)
        if fast is None and self._dynamodb_request == "in-process":
            raise RuntimeError("dynamodb_path='in-process': the DynamoDB client is not this process's moto")
        self.table.client = fast or self._dynamodb_client
        self.dynamodb_path = "in-process" if fast is not None else "client"

    def now(self) -> datetime:
        return datetime.now(UTC) + self.clock_offset

    async def _serve(self) -> int:
        self._stopping = asyncio.Event()
        app = web.Application(client_max_size=1024 * 1024)
        app.router.add_post("/graphql", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0, reuse_address=False)
        await site.start()
        server = site._server
        assert server is not None
        sockets = getattr(server, "sockets", None) or []
        return int(sockets[0].getsockname()[1])

    async def _shutdown(self) -> None:
        assert self._stopping is not None
        self._stopping.set()  # wakes every injected delay and stall
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _run_blocking(self, call: Callable[[], T]) -> T:
        if self.dynamodb_path == "in-process":
            return call()  # ~0.1 ms of moto, no I/O: a thread hop would cost more than it saves
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, call)

    async def _sleep(self, seconds: float) -> None:
        """Sleep, but wake at once when the server stops (tests never wait out a stall on teardown)."""
        if seconds <= 0:
            return
        assert self._stopping is not None
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), timeout=seconds)

    # --- one request --------------------------------------------------------------------------------------
    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.stats.begin()
        try:
            return await self._handle_counted(request)
        finally:
            self.stats.end()

    async def _handle_counted(self, request: web.Request) -> web.StreamResponse:
        plan = self.faults.draw()
        if not plan.is_clean:
            await self._sleep(plan.latency)
            if plan.reset:
                return self._reset(request)
            if plan.status is not None:
                return self._respond(responses.fault(plan.status), None)
            if plan.answer is not None:
                return self._respond(responses.Answer(200, plan.answer.encode(), outcome="canned"), None)
            await self._sleep(plan.delay)
        if self._stopping is not None and self._stopping.is_set():
            return self._reset(request)  # shutting down: a delayed request is dropped, not applied
        caller: CallerIdentity | None = None
        try:
            body = await request.read()
            caller = self._verifier.verify(_received(request, body))
            answer = await self._graphql(body, caller, plan)
        except responses.Refusal as refusal:
            answer = refusal.answer()
        return self._respond(answer, caller)

    def _reset(self, request: web.Request) -> web.Response:
        """Drop the connection with no answer; aiohttp then fails quietly to write the placeholder."""
        _reset(request)
        self.stats.record(None, "reset")
        return web.Response(status=500)

    def _respond(self, answer: responses.Answer, caller: CallerIdentity | None) -> web.Response:
        self.stats.record(answer.status, answer.outcome, caller.arn if caller else None)
        headers = {"content-type": responses.JSON_TYPE, "x-amzn-RequestId": responses.request_id()}
        headers.update(answer.headers)
        return web.Response(status=answer.status, body=answer.body, headers=headers)

    async def _graphql(self, body: bytes, caller: CallerIdentity, plan: Plan) -> responses.Answer:
        if not body.strip():
            raise responses.empty_body()
        try:
            payload = json.loads(body)
        except ValueError:
            raise responses.unparseable_body() from None
        query = payload.get("query") if isinstance(payload, dict) else None
        if not isinstance(query, str) or not query.strip():
            raise responses.unparseable_body()
        variables = payload.get("variables")
        if variables is not None and not isinstance(variables, dict):
            raise responses.unparseable_body()
        prepared = self._documents.get(query)
        if prepared.errors:
            return _graphql_answer({"data": None, "errors": list(prepared.errors)}, "validation")
        operation = documents.select_operation(prepared, payload.get("operationName"))
        if operation == "ambiguous":
            raise responses.missing_operation_name()
        if operation is None or isinstance(operation, str):
            name = payload.get("operationName")
            message = f"Unknown operation named '{name}'." if name else "No operation found in the document."
            return _graphql_answer(
                {"data": None, "errors": [{"path": None, "locations": None, "message": message}]},
                "validation",
            )
        kind = documents.type_name(operation)
        if kind == "Subscription":
            # assumed shape: subscriptions are served over the real-time WebSocket endpoint only
            error = {
                "path": None,
                "locations": None,
                "errorType": "UnsupportedOperation",
                "message": "Subscriptions are not supported over HTTP POST; use the real-time endpoint.",
            }
            return _graphql_answer({"data": None, "errors": [error]}, "unsupported")
        self._check_iam(caller, kind, operation)
        context = CallContext(caller.arn, self.admits(caller))
        assert prepared.document is not None and self._executor is not None
        result = await self._executor.run(prepared.document, operation, variables, context)
        await self._sleep(plan.stall)
        if plan.status_after is not None:
            return responses.fault(plan.status_after)
        outcome = "graphql_error" if result.get("errors") else "ok"
        if any(e.get("errorType") == "Unauthorized" for e in result.get("errors", ())):
            outcome = "unauthorized"
        return _graphql_answer(result, outcome)

    def admits(self, caller: CallerIdentity) -> bool:
        """Amplify's resolver-level decision for an IAM caller that AppSync's IAM check has let through.

        Gen 1: an admin role (``$ctx.identity.userArn.contains(<adminRole>)``, from custom-roles.json).
        Gen 2 (``defineData`` sets ``enableIamAuthorizationMode``): every IAM principal that is not a Cognito
        identity-pool identity (``isNonCognitoIAMPrincipal``) is authorized: its IAM policy was the only gate.
        The sandbox has no Cognito identity pool, so every caller it knows is such a principal.
        """
        if self.generation.iam_policy_only_gate:
            return True
        return admin_rule.is_admitted(caller.arn, self.custom_roles.admin_roles(self.cli_behaviour))

    def _check_iam(self, caller: CallerIdentity, kind: str, operation: Any) -> None:
        base = f"arn:aws:appsync:{self.region}:{self.account_id}:apis/{self.api_id}/types/{kind}/fields/"
        for field in documents.top_level_fields(operation):
            name = field.name.value
            if name.startswith("__"):
                continue
            if not self.identities.is_allowed(caller, "appsync:GraphQL", base + name):
                raise responses.iam_denied()


def _graphql_answer(body: dict[str, Any], outcome: str) -> responses.Answer:
    return responses.Answer(200, responses.dumps(body), {}, outcome)


def _received(request: web.Request, body: bytes) -> ReceivedRequest:
    headers: dict[str, list[str]] = {}
    for name, value in request.headers.items():
        headers.setdefault(name.lower(), []).append(value)
    return ReceivedRequest(request.method, request.raw_path, headers, body)


def _reset(request: web.Request) -> None:
    """Drop the connection with a TCP RST and no response (what a client sees as "connection reset")."""
    transport = request.transport
    if transport is None:
        return
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()
