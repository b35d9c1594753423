"""Amplify's own resolvers as the sandbox's account-B AppSync API: a Node process and a SigV4 front.

``serve.js`` compiles a schema (the sandbox's: the built-in Todo schema, or the project's own with any number of
``@model`` types, ``@primaryKey(sortKeyFields: [...])``, ``@index``, ``@hasMany``...) with
``@aws-amplify/graphql-transformer`` (Gen 1 line) using the admin roles that an ``amplify push`` of
``custom-roles.json`` would give it, and serves the generated resolvers with
``@aws-amplify/amplify-appsync-simulator`` on 127.0.0.1, against the sandbox's DynamoDB (moto, account B). It
reports every model's table as the transformer defines it (``<Model>-<apiId>-<env>``, key schema, indexes);
``create_tables`` (the sandbox's ``ensure_tables``) creates the missing ones before the first request.

Gen 2 (``enable_iam_access``): the transformer's own IAM-access mode (``synthParameters.enableIamAccess``, what
``defineData`` sets through ``iamConfig.enableIamAuthorizationMode``): the generated resolvers admit every IAM
principal that is not a Cognito identity-pool identity, so only the IAM check of the front decides.

The simulator verifies no signature and knows two IAM identities. ``AmplifyResolvers`` is what the worker talks
to instead: an aiohttp server on 127.0.0.1 that does what AppSync's front door does (the stand-in's own SigV4
verifier against the keys the sandbox's STS issued, then ``appsync:GraphQL`` on each top-level field against the
caller's IAM policy) and forwards the request with the verified caller, so ``$ctx.identity.userArn`` in Amplify's
VTL is the caller's real assumed-role ARN. It offers the stand-in's test surface (``url``, ``faults``, ``stats``,
``start``/``stop``) so the same end-to-end cases run on both.

Compiled as the Amplify CLI compiles (see serve.js): sandbox mode from the schema's ``input AMPLIFY`` global rule
(``sandbox_mode``: models without ``@auth`` then admit API-key callers only, so every IAM caller, admin roles
included, is refused, as on AWS); fields that need a service the sandbox lacks (``@function``, ``@http``,
``@predictions``; Gen 2 custom operations) are left out and ``@searchable`` is dropped, each listed in
``unserved`` and in ``notes``, and a request naming such a top-level field is answered with a GraphQL error
that says why (errorType ``SandboxUnservedField``) instead of the simulator's ``Cannot query field`` (a nested
one, in a selection set, keeps the simulator's validation error with the reason prepended). A schema
Amplify itself refuses (transformer v1 ``@key``/``@connection``, a duplicate ``input AMPLIFY``, an unknown
directive) raises ``AmplifySchemaError`` with the transformer's own message.

Deploying: ``push()`` is ``amplify push``: it reads ``custom-roles.json`` as the configured Amplify CLI would
(``admin_rule.admin_roles``) and recompiles the resolvers. With ``auto_push`` every request first pushes the file
when it changed (the end-to-end cases, which edit the file and expect its effect); without it, the deployed
resolvers keep what was last pushed (the "never pushed" case ``doctor --probe`` must find).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import re
import shutil
import socket
import struct
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from amplify_custom_roles import admin_rule
from project_settings.generation import AmplifyGeneration
from sandbox.appsync import responses
from sandbox.appsync.custom_roles import CustomRoles
from sandbox.appsync.faults import Faults
from sandbox.appsync.models import ModelSchemaError, builtin_schema
from sandbox.appsync.sigv4 import ReceivedRequest, SigV4Verifier
from sandbox.appsync.stats import Stats
from sandbox.identity import CallerIdentity
from sandbox.loop_thread import serve_in_thread

HERE = Path(__file__).resolve().parent
SERVE_JS = HERE / "serve.js"
CALLER_PREFIX = "AWS4-HMAC-SHA256 SandboxCaller="
#: The Cognito identity pool's roles Amplify's resolvers exclude from the admin path (names only matter here).
AUTH_ROLE = "amplify-todoapi-sandbox-authRole"
UNAUTH_ROLE = "amplify-todoapi-sandbox-unauthRole"
#: The IAM user standing for the AppSync data source's service role in account B.
DATA_SOURCE_USER = "amplify-appsync-todo-datasource"
START_TIMEOUT_SECONDS = 60.0
#: The errorType of the sandbox's answer to a field it does not serve (not one AppSync gives: it is the sandbox's).
UNSERVED_ERROR_TYPE = "SandboxUnservedField"


class BackendError(RuntimeError):
    """The Node backend could not start or deploy (its stderr tail is in the message)."""


class AmplifySchemaError(ModelSchemaError):
    """Amplify's transformer (or the CLI's own check before it) refuses the schema; the message is Amplify's.

    A ``ModelSchemaError`` so that ``python -m sandbox`` reports it as a schema problem (exit 2, no traceback):
    the user's fix is in their schema, and Amplify's words are the ones their ``amplify push`` would print.
    """

    def __init__(self, name: str, message: str) -> None:
        super().__init__(f"Amplify refuses this schema ({name}): {message}")
        #: The transformer's error class (e.g. ``SchemaValidationError``) and its message, verbatim.
        self.error_name = name
        self.transformer_message = message


@dataclass(frozen=True)
class UnservedField:
    """A field the sandbox does not serve, and why (what serve.js removed before compiling)."""

    type_name: str
    field_name: str
    directive: str  # function, http, predictions, searchable, or sandboxUnserved (Gen 2 custom operations)
    action: str  # "field left out" or "directive dropped"
    reason: str

    @property
    def name(self) -> str:
        return f"{self.type_name}.{self.field_name}"

    def message(self) -> str:
        """The GraphQL error a request to this field gets (what would serve it on AWS, and what to do)."""
        return (
            f"{self.name} is not served by the sandbox: {self.reason}. The sandbox compiled your schema "
            f"without it ({self.action}); on AWS it is served. Rehearse the other fields locally, this one "
            "against a deployed API."
        )

    def note(self) -> str:
        return f"{self.name} is not served by the sandbox ({self.action}): {self.reason}"


def source_schema() -> str:
    """The pre-transform Todo schema (``@model @auth``) quoted at the top of the stand-in's schema file."""
    try:
        return builtin_schema()
    except ModelSchemaError as exc:
        raise BackendError(str(exc)) from None


@dataclass(frozen=True)
class DynamoDBTarget:
    """Where the resolvers' DynamoDB data sources write: endpoint and account-B credentials.

    ``table_name`` is informational (the main table); every model's table is named by the transformer.
    """

    endpoint: str
    table_name: str
    access_key_id: str
    secret_access_key: str
    session_token: str | None = None


class AmplifyResolvers:
    """Amplify's generated resolvers (in the simulator) behind a SigV4-verifying front on 127.0.0.1."""

    def __init__(
        self,
        *,
        identities: Any,
        node_modules: Path,
        dynamodb: DynamoDBTarget,
        api_id: str,
        api_name: str,
        region: str,
        account_id: str,
        custom_roles_path: Path,
        cli_behaviour: str,
        env_name: str = "sandbox",
        auto_push: bool = True,
        patch_condition_values: bool = True,
        schema: str | None = None,
        enable_iam_access: bool = False,
        create_tables: Callable[[list[dict[str, Any]]], None] | None = None,
        auth_modes: Sequence[str] = (),
    ) -> None:
        if cli_behaviour not in admin_rule.CLI_BEHAVIOURS:
            raise ValueError(
                f"cli_behaviour must be one of {admin_rule.CLI_BEHAVIOURS}, not {cli_behaviour!r}"
            )
        self.identities = identities
        self.node_modules = Path(node_modules)
        self.dynamodb = dynamodb
        self.api_id = api_id
        self.api_name = api_name
        self.region = region
        self.account_id = account_id
        self.custom_roles_path = Path(custom_roles_path)
        self.cli_behaviour = cli_behaviour
        self.env_name = env_name
        self.auto_push = auto_push
        self.patch_condition_values = patch_condition_values
        #: The source schema compiled (``@model`` types with Amplify's directives); the Todo schema by default.
        self.schema = schema if schema is not None else source_schema()
        self.enable_iam_access = enable_iam_access
        self._create_tables = create_tables
        #: Every model's table as the transformer defines it (``model``, ``tableName``, ``KeySchema``, ...).
        self.tables: list[dict[str, Any]] = []
        self.faults = Faults()
        self.stats = Stats()
        self.versions: dict[str, str] = {}
        #: Whether the schema compiled in Amplify's sandbox mode (``input AMPLIFY`` global ``allow: public``).
        self.sandbox_mode = False
        #: In sandbox mode, the models without an @auth of their own (every IAM caller is refused on them).
        self.sandbox_mode_models: list[str] = []
        #: ``Type.field`` -> the transformer's name for the field's post-auth step, e.g. ``Sandbox Mode Enabled,
        #: IAM Access Disabled`` (read from the generated templates). It decides fields of models without @auth;
        #: a model's own @auth step runs first and, when it admits the caller, this step lets it through.
        self.post_auth: dict[str, str] = {}
        #: Fields the sandbox does not serve (left out of the compiled schema), with the reason for each.
        self.unserved: list[UnservedField] = []
        #: Authorization providers the compiled API has besides AWS_IAM (e.g. API_KEY in sandbox mode).
        self.providers: list[str] = []
        #: The admin roles the deployed resolvers hold (what was last pushed).
        self.deployed_admin_roles: list[str] = []
        self.pushes = 0
        self._custom_roles = CustomRoles(self.custom_roles_path, env_name)
        self._push_lock = threading.Lock()
        self._verifier = SigV4Verifier(identities, region, auth_modes=auth_modes)
        self._process: subprocess.Popen[bytes] | None = None
        self._workdir: Path | None = None
        self._node_url = ""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: Any = None
        self._session: Any = None
        self.url: str | None = None

    # --- lifecycle ---------------------------------------------------------------------------------------
    def start(self) -> str:
        """Start Node, push custom-roles.json once, serve the front; returns ``http://127.0.0.1:<port>/graphql``."""
        if self.url is not None:
            return self.url
        try:
            self._start_node(self.admin_roles_in_file())
            self._start_front()
        except BaseException:
            self.stop()
            raise
        assert self.url is not None
        return self.url

    def stop(self) -> None:
        loop, thread = self._loop, self._thread
        if loop is not None and thread is not None:
            with contextlib.suppress(Exception):
                asyncio.run_coroutine_threadsafe(self._shutdown(), loop).result(timeout=30)
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=30)
            loop.close()
        self._loop = self._thread = None
        self.url = None
        process = self._process
        if process is not None:
            with contextlib.suppress(OSError):
                assert process.stdin is not None
                process.stdin.close()  # serve.js exits when its stdin ends
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
            if process.stdout is not None:
                process.stdout.close()
        self._process = None
        if self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir = None

    def __enter__(self) -> AmplifyResolvers:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    def _start_node(self, admin_roles: list[str]) -> None:
        node = shutil.which("node")
        if node is None:
            raise BackendError("node is needed for Amplify's resolvers (Node.js 20+)")
        self._workdir = Path(tempfile.mkdtemp(prefix="amplify-resolvers-"))
        config = {
            "account": self.account_id,
            "region": self.region,
            "apiId": self.api_id,
            "apiName": self.api_name,
            "envName": self.env_name,
            "authRoleName": AUTH_ROLE,
            "unauthRoleName": UNAUTH_ROLE,
            "schema": self.schema,
            "adminRoles": admin_roles,
            "enableIamAccess": self.enable_iam_access,
            "patchConditionValues": self.patch_condition_values,
            "dynamodb": {
                "endpoint": self.dynamodb.endpoint,
                "credentials": {
                    "accessKeyId": self.dynamodb.access_key_id,
                    "secretAccessKey": self.dynamodb.secret_access_key,
                    **({"sessionToken": self.dynamodb.session_token} if self.dynamodb.session_token else {}),
                },
            },
        }
        config_path = self._workdir / "config.json"
        config_path.write_text(json.dumps(config), encoding="utf-8")
        config_path.chmod(0o600)
        self._stderr_path = self._workdir / "node-stderr.log"
        environment = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith("AWS_") and key not in ("NODE_OPTIONS", "NODE_PATH")
        }
        environment.update(NODE_PATH=str(self.node_modules), AWS_REGION=self.region)
        with self._stderr_path.open("wb") as stderr:
            self._process = subprocess.Popen(
                [node, str(SERVE_JS), str(config_path)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=stderr,
                env=environment,
                cwd=self._workdir,
            )
        ready = self._read_ready_line()
        self._node_url = f"http://127.0.0.1:{int(ready['port'])}"
        self.versions = dict(ready["versions"])
        config_path.unlink()  # it held account-B credentials; serve.js has read it
        self._compiled(ready)
        self._tables_compiled(ready.get("tables") or [])
        self.deployed_admin_roles = list(admin_roles)
        self.pushes = 1

    def _read_ready_line(self) -> dict[str, Any]:
        process = self._process
        assert process is not None and process.stdout is not None
        line: list[bytes] = []
        done = threading.Event()

        def read() -> None:
            assert process.stdout is not None
            line.append(process.stdout.readline())
            done.set()

        threading.Thread(target=read, name="amplify-resolvers-ready", daemon=True).start()
        if not done.wait(START_TIMEOUT_SECONDS) or not line or not line[0].strip():
            raise BackendError(f"Amplify's resolvers did not start:\n{self.node_log()}")
        try:
            parsed: dict[str, Any] = json.loads(line[0])
        except ValueError:
            raise BackendError(f"unexpected output from serve.js: {line[0]!r}\n{self.node_log()}") from None
        if isinstance(parsed.get("error"), dict):
            raise _compile_error(parsed["error"], self.node_log)
        return parsed

    def node_log(self, tail: int = 4000) -> str:
        """The end of the Node process's stderr (the simulator's own logging goes there)."""
        path = getattr(self, "_stderr_path", None)
        if path is None or not path.exists():
            return ""
        return path.read_text(encoding="utf-8", errors="replace")[-tail:]

    # --- deploying ---------------------------------------------------------------------------------------
    def admin_roles_in_file(self) -> list[str]:
        """The adminRoles the Amplify CLI would derive from custom-roles.json now (none when it is absent)."""
        return self._custom_roles.admin_roles(self.cli_behaviour)

    def push(self) -> list[str]:
        """``amplify push``: compile custom-roles.json into the resolvers; returns the deployed adminRoles."""
        return self.deploy(self.admin_roles_in_file())

    def deploy(self, admin_roles: Sequence[str]) -> list[str]:
        """Recompile the resolvers with exactly these adminRoles (``synthParameters.adminRoles``)."""
        import urllib.error
        import urllib.request

        request = urllib.request.Request(
            f"{self._node_url}/__sandbox/deploy",
            data=json.dumps({"adminRoles": list(admin_roles)}).encode(),
            headers={"content-type": "application/json"},
            method="POST",
        )
        with self._push_lock:
            try:
                with urllib.request.urlopen(request, timeout=60) as answer:
                    result = json.loads(answer.read())
            except urllib.error.HTTPError as exc:
                try:
                    report = json.loads(exc.read()).get("error")
                except (ValueError, AttributeError):
                    report = None
                if isinstance(report, dict):
                    raise _compile_error(report, self.node_log) from None
                raise BackendError(f"deploy failed: {exc}\n{self.node_log()}") from None
            except OSError as exc:
                raise BackendError(f"deploy failed: {exc}\n{self.node_log()}") from None
            deployed = result["adminRoles"]
            self._compiled(result)
            self._tables_compiled(result.get("tables") or [])
            self.deployed_admin_roles = list(deployed)
            self.pushes += 1
        return self.deployed_admin_roles

    def _compiled(self, report: dict[str, Any]) -> None:
        """Record what serve.js decided beyond the transformer's output (sandbox mode, unserved fields)."""
        self.sandbox_mode = bool(report.get("sandboxMode"))
        self.sandbox_mode_models = [str(m) for m in report.get("sandboxModeModels") or []]
        self.post_auth = {str(k): str(v) for k, v in (report.get("postAuth") or {}).items()}
        self.providers = [str(p) for p in report.get("providers") or []]
        self.unserved = [
            UnservedField(
                str(u["typeName"]),
                str(u["fieldName"]),
                str(u["directive"]),
                str(u["action"]),
                str(u["reason"]),
            )
            for u in report.get("unserved") or []
        ]

    @property
    def notes(self) -> list[str]:
        """What the sandbox compiled differently from AWS, or what AWS's compile implies for IAM callers."""
        notes = [u.note() for u in self.unserved]
        if self.sandbox_mode:
            models = ", ".join(self.sandbox_mode_models) or "none"
            notes.append(
                "the schema's `input AMPLIFY { globalAuthRule: AuthRule = { allow: public } }` puts Amplify in "
                "sandbox mode: every model without its own @auth (here: "
                f"{models}) admits API-key callers only and refuses IAM callers, admin roles included "
                "(Unauthorized), as on AWS; give those models an @auth rule"
            )
        return notes

    def _tables_compiled(self, tables: list[dict[str, Any]]) -> None:
        self.tables = [dict(t) for t in tables]
        if self._create_tables is not None:
            self._create_tables(self.tables)

    def table_names(self) -> dict[str, str]:
        """Model name -> table name, as compiled."""
        return {str(t["model"]): str(t["tableName"]) for t in self.tables}

    def _push_if_changed(self) -> None:
        roles = self.admin_roles_in_file()
        if roles != self.deployed_admin_roles:
            self.deploy(roles)

    # --- the front: AppSync's door (SigV4, IAM), then Amplify's resolvers -------------------------------
    def _start_front(self) -> None:
        self._loop, self._thread, port = serve_in_thread(self._serve, "amplify-resolvers-front")
        self.url = f"http://127.0.0.1:{port}/graphql"

    async def _serve(self) -> int:
        import aiohttp
        from aiohttp import web

        self._stopping = asyncio.Event()
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60))
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
        self._stopping.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _sleep(self, seconds: float) -> None:
        if seconds > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), timeout=seconds)

    async def _handle(self, request: Any) -> Any:
        self.stats.begin()
        try:
            return await self._handle_counted(request)
        finally:
            self.stats.end()

    async def _handle_counted(self, request: Any) -> Any:
        from aiohttp import web

        plan = self.faults.draw()
        if not plan.is_clean:
            await self._sleep(plan.latency)
            if plan.reset:
                _reset(request)
                self.stats.record(None, "reset")
                return web.Response(status=500)
            if plan.status is not None:
                return self._respond(responses.fault(plan.status), None)
            if plan.answer is not None:
                return self._respond(responses.Answer(200, plan.answer.encode(), outcome="canned"), None)
            await self._sleep(plan.delay)
        caller: CallerIdentity | None = None
        try:
            body = await request.read()
            caller = self._verifier.verify(_received(request, body))
            fields = self._check_iam(caller, body)
            self._check_served(fields)
            if self.auto_push:
                await asyncio.get_running_loop().run_in_executor(None, self._push_if_changed)
            answer = await self._forward(body, caller, fields)
        except responses.Refusal as refusal:
            answer = refusal.answer()
        await self._sleep(plan.stall)
        return self._respond(answer, caller)

    def _respond(self, answer: responses.Answer, caller: CallerIdentity | None) -> Any:
        from aiohttp import web

        self.stats.record(answer.status, answer.outcome, caller.arn if caller else None)
        headers = {"content-type": responses.JSON_TYPE, "x-amzn-RequestId": responses.request_id()}
        headers.update(answer.headers)
        return web.Response(status=answer.status, body=answer.body, headers=headers)

    def _check_iam(self, caller: CallerIdentity, body: bytes) -> list[tuple[str, str]]:
        """``appsync:GraphQL`` on each top-level field, as AppSync checks it; returns (type, field) pairs.

        A document that does not parse is passed on unchecked: the simulator gives its own answer to it.
        """
        from graphql import FieldNode, GraphQLError, OperationDefinitionNode, OperationType, parse

        try:
            payload = json.loads(body)
            document = parse(payload["query"])
        except (ValueError, KeyError, TypeError, GraphQLError):
            return []
        name = payload.get("operationName")
        operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
        chosen = [op for op in operations if not name or (op.name and op.name.value == name)][:1]
        kinds = {OperationType.QUERY: "Query", OperationType.MUTATION: "Mutation"}
        fields: list[tuple[str, str]] = []
        base = f"arn:aws:appsync:{self.region}:{self.account_id}:apis/{self.api_id}/types/"
        for operation in chosen:
            kind = kinds.get(operation.operation, "Subscription")
            for selection in operation.selection_set.selections:
                if not isinstance(selection, FieldNode) or selection.name.value.startswith("__"):
                    continue
                if not self.identities.is_allowed(
                    caller, "appsync:GraphQL", f"{base}{kind}/fields/{selection.name.value}"
                ):
                    raise responses.iam_denied()
                fields.append((kind, selection.name.value))
        return fields

    def _check_served(self, fields: list[tuple[str, str]]) -> None:
        """A top-level field the sandbox left out is answered with why, not the simulator's ``Cannot query
        field``: the caller (the worker, ``send``) then says the sandbox cannot rehearse it, not that the
        mutation does not exist."""
        unserved = {(u.type_name, u.field_name): u for u in self.unserved}
        missing = [unserved[f] for f in fields if f in unserved]
        if missing:
            raise _UnservedRefusal(missing)

    async def _forward(
        self, body: bytes, caller: CallerIdentity, fields: list[tuple[str, str]]
    ) -> responses.Answer:
        identity = {
            "userArn": caller.arn,
            "accountId": caller.account_id,
            "username": caller.arn.rsplit("/", 1)[-1],
        }
        token = base64.b64encode(json.dumps(identity).encode()).decode()
        headers = {"content-type": "application/json", "authorization": CALLER_PREFIX + token}
        assert self._session is not None
        async with self._session.post(f"{self._node_url}/graphql", data=body, headers=headers) as answer:
            text = await answer.read()
            status = answer.status
        outcome = "ok"
        try:
            result = json.loads(text)
        except ValueError:
            result = None
        if isinstance(result, dict):
            errors = result.get("errors") or []
            if self._explain_unserved(errors):
                text = json.dumps(result).encode()
            if any(isinstance(e, dict) and e.get("errorType") == "Unauthorized" for e in errors):
                outcome = "unauthorized"
            elif errors or "errorMessage" in result:
                outcome = "graphql_error"
            data = result.get("data") or {}
            for kind, field in fields:
                item = data.get(field) if isinstance(data, dict) else None
                if kind == "Mutation" and isinstance(item, dict):
                    self.stats.record_mutation(field, item.get("id"), caller.arn)
        return responses.Answer(status, text, {}, outcome)

    def _explain_unserved(self, errors: list[Any]) -> bool:
        """Rewrite the simulator's ``Cannot query field "f" on type "T".`` for a field the sandbox left out
        (a nested one, e.g. an ``@function`` field in a mutation's selection set) to say why; True if any was.

        The error keeps its shape (no ``path``: the document was refused before anything ran), so callers
        classify it as before; only the message names the reason.
        """
        unserved = {(u.type_name, u.field_name): u for u in self.unserved}
        changed = False
        for error in errors:
            message = error.get("message") if isinstance(error, dict) else None
            match = _CANNOT_QUERY.match(message) if isinstance(message, str) else None
            field = unserved.get((match.group(2), match.group(1))) if match else None
            if field is not None:
                error["message"] = f"{field.message()} (the simulator says: {message})"
                changed = True
        return changed


#: graphql-js's validation message for a field the type does not have.
_CANNOT_QUERY = re.compile(r'Cannot query field "([^"]+)" on type "([^"]+)"')


class _UnservedRefusal(responses.Refusal):
    """HTTP 200 with one GraphQL error per unserved field (``path`` set, so it reads as a field's error)."""

    def __init__(self, fields: list[UnservedField]) -> None:
        super().__init__(200, UNSERVED_ERROR_TYPE, fields[0].message(), "unserved")
        self.fields = fields

    def answer(self) -> responses.Answer:
        errors = [
            {
                "path": [u.field_name],
                "data": None,
                "errorType": UNSERVED_ERROR_TYPE,
                "errorInfo": {"directive": u.directive, "action": u.action},
                "locations": [],
                "message": u.message(),
            }
            for u in self.fields
        ]
        body = json.dumps({"data": None, "errors": errors}).encode()
        return responses.Answer(200, body, {}, "unserved", UNSERVED_ERROR_TYPE)


def _compile_error(report: dict[str, Any], node_log: Callable[[], str]) -> Exception:
    """serve.js's error report as an exception: Amplify's refusal of the schema, or a backend failure."""
    name, message = str(report.get("name") or "Error"), str(report.get("message") or "")
    if report.get("schema"):
        return AmplifySchemaError(name, message)
    return BackendError(f"Amplify's transformer failed ({name}): {message}\n{node_log()}")


def _received(request: Any, body: bytes) -> ReceivedRequest:
    headers: dict[str, list[str]] = {}
    for name, value in request.headers.items():
        headers.setdefault(name.lower(), []).append(value)
    return ReceivedRequest(request.method, request.raw_path, headers, body)


def _reset(request: Any) -> None:
    """Drop the connection with a TCP RST and no response, as the stand-in does."""
    transport = request.transport
    if transport is None:
        return
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()


# --- the sandbox with Amplify's resolvers as its AppSync API ----------------------------------------------
def for_sandbox(sb: Any, node_modules: Path, **options: Any) -> AmplifyResolvers:
    """An ``AmplifyResolvers`` for a running ``Sandbox``: its identities, schema, account B's tables, its
    custom-roles.json, and its generation (Gen 2: the transformer's IAM-access mode, no admin roles).

    The data sources write with long-term keys of an IAM user in account B (standing for AppSync's data-source
    service role), created here through the sandbox's public API. Tables the transformer defines that the
    sandbox lacks (or indexes it lacks) are created through ``sb.ensure_tables``.
    """
    keys = data_source_keys(sb)
    options.setdefault("schema", getattr(sb, "schema", None))
    generation = getattr(sb, "generation", AmplifyGeneration.GEN1)
    options.setdefault("enable_iam_access", AmplifyGeneration.from_setting(generation).iam_policy_only_gate)
    options.setdefault("env_name", getattr(sb, "env_name", "sandbox"))
    options.setdefault("auth_modes", getattr(sb, "auth_modes", ()))
    if hasattr(sb, "ensure_tables"):
        options.setdefault("create_tables", sb.ensure_tables)
    return AmplifyResolvers(
        identities=sb.identities,
        node_modules=node_modules,
        dynamodb=DynamoDBTarget(
            endpoint=sb.endpoint_url,
            table_name=sb.table_name,
            access_key_id=keys["AWS_ACCESS_KEY_ID"],
            secret_access_key=keys["AWS_SECRET_ACCESS_KEY"],
        ),
        api_id=sb.settings.appsync.api_id,
        api_name=sb.settings.amplify.api_name,
        region=sb.region,
        account_id=sb.account_b,
        custom_roles_path=sb.custom_roles_path,
        cli_behaviour=options.pop("cli_behaviour", sb.cli_behaviour),
        **options,
    )


def data_source_keys(sb: Any) -> dict[str, str]:
    """Keys of the account-B IAM user the data sources use (created once per sandbox, allowed the API's tables
    only: ``<Model>-<apiId>-<env>`` and their indexes)."""
    cached: dict[str, str] | None = getattr(sb, "_amplify_data_source_keys", None)
    if cached is not None:
        return cached
    keys: dict[str, str] = sb.create_user_keys(DATA_SOURCE_USER, account="B")
    env_name = getattr(sb, "env_name", "sandbox")
    tables = f"arn:aws:dynamodb:{sb.region}:{sb.account_b}:table/*-{sb.settings.appsync.api_id}-{env_name}"
    policy = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "dynamodb:*", "Resource": [tables, f"{tables}/*"]}],
    }
    sb.client("iam", "B").put_user_policy(
        UserName=DATA_SOURCE_USER, PolicyName="model-tables", PolicyDocument=json.dumps(policy)
    )
    sb._amplify_data_source_keys = keys
    return keys


@contextlib.contextmanager
def amplify_appsync(sb: Any, node_modules: Path, **options: Any) -> Iterator[AmplifyResolvers]:
    """Make Amplify's resolvers the sandbox's AppSync API (``sb.appsync``, ``sb.appsync_url``) while inside.

    The stand-in keeps running (untouched) and is put back on exit.
    """
    backend = for_sandbox(sb, node_modules, **options)
    started = time.monotonic()
    backend.start()
    backend.start_seconds = time.monotonic() - started  # type: ignore[attr-defined]
    stand_in, stand_in_url = sb.appsync, sb.appsync_url
    sb.appsync, sb.appsync_url = backend, backend.url
    try:
        yield backend
    finally:
        sb.appsync, sb.appsync_url = stand_in, stand_in_url
        backend.stop()
