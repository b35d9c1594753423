"""``make sandbox`` / ``python -m sandbox``: the two-account sandbox for the settings' own schema, in the foreground.

It starts the sandbox from ``settings.toml`` (``--settings``), builds the API from the Amplify project's schema
(Gen 1: ``amplify/backend/api/<api>/schema.graphql`` or ``schema/*.graphql``; Gen 2: the models of
``amplify_outputs.json``; ``--schema FILE`` for another), writes an environment file (default
``build/sandbox.env``) holding what the worker's Lambda would see, prints what to do with it, and stays until
Ctrl-C. With Node.js 20+ the API is Amplify's own resolvers compiled from that schema, every ``@model``'s table
created in account B; without Node it is the stand-in, which knows only its Todo schema (said plainly).

Amplify's backend compiles the schema as the Amplify CLI would (sandbox mode from the global ``allow: public``
rule; fields needing Lambda, HTTP, OpenSearch or AI services left out; Gen 2 custom operations not served), and
every such difference is printed as a note. A schema Amplify itself refuses (``@key``/``@connection``, a
duplicate ``input AMPLIFY``, an unknown directive) stops it with Amplify's own message and exit 2.

From Python (tests): ``with started(settings, schema=..., backend="amplify", env_file=path) as running:``
gives ``running.sandbox`` (the ``Sandbox``), ``running.backend`` ("amplify" or "stand-in"), ``running.env_file``,
``running.notes`` and ``running.unserved`` (the ``UnservedField`` list of Amplify's backend).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shlex
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from project_settings import Settings, SettingsError

DEFAULT_ENV_FILE = Path("build/sandbox.env")
#: doctor reads the sandbox's custom-roles.json through this variable (it is not in the Amplify project).
CUSTOM_ROLES_VARIABLE = "APPSYNC_MUTATIONS_CUSTOM_ROLES"
BACKENDS = ("auto", "amplify", "stand-in")


class SandboxCliError(RuntimeError):
    """Something the user can fix (printed without a traceback, exit 2)."""


@dataclass
class Running:
    sandbox: Any
    backend: str  # "amplify" or "stand-in"
    env_file: Path
    schema_source: str
    notes: list[str] = field(default_factory=list)
    environment: dict[str, str] = field(default_factory=dict)
    #: Fields Amplify's backend does not serve (``sandbox.amplify_backend.UnservedField``); empty on the stand-in.
    unserved: list[Any] = field(default_factory=list)


def project_schema_text(settings: Settings) -> tuple[str | None, str]:
    """The Amplify project's source schema and where it came from; (None, reason) when there is none."""
    text, source, _ = project_schema(settings)
    return text, source


def project_schema(settings: Settings) -> tuple[str | None, str, list[str]]:
    """``project_schema_text`` and notes on what the schema could not carry over (Gen 2: relationships the
    sandbox cannot restate from ``amplify_outputs.json``), so ``make sandbox`` says so instead of hiding it."""
    from project_settings.schema import SchemaError, gen1_schema_files, read_outputs
    from sandbox.appsync.models import introspection_schema

    if settings.amplify.generation.described_by_outputs:
        outputs = settings.amplify.project_dir / "amplify_outputs.json"
        if not outputs.is_file():
            return None, f"no {outputs}", []
        try:
            data = read_outputs(outputs)
        except SchemaError as exc:
            raise SandboxCliError(str(exc)) from None
        introspection = (data.get("data") or {}).get("model_introspection")
        if not isinstance(introspection, dict) or not introspection.get("models"):
            return None, f"{outputs} has no data.model_introspection models", []
        gen2 = introspection_schema(introspection)
        return gen2.text, f"{outputs} (data.model_introspection)", list(gen2.notes)
    api_dir = settings.custom_roles_path.parent
    files = gen1_schema_files(api_dir)
    if not files:
        return None, f"no schema.graphql or schema/*.graphql in {api_dir}", []
    try:
        text = "\n".join(f.read_text(encoding="utf-8") for f in files)
    except (OSError, UnicodeDecodeError) as exc:
        raise SandboxCliError(f"{api_dir}: the schema cannot be read: {exc}") from None
    return text, str(files[0]) if len(files) == 1 else f"{api_dir / 'schema'}/*.graphql", []


def _choose_backend(requested: str, notes: list[str]) -> tuple[str, Path | None]:
    if requested == "stand-in":
        return "stand-in", None
    from sandbox.amplify_backend import NodeUnavailable, node_modules

    try:
        return "amplify", node_modules()
    except NodeUnavailable as exc:
        if requested == "amplify":
            raise SandboxCliError(f"--backend amplify: {exc}") from None
        notes.append(f"Node.js not found ({exc}): using the stand-in")
        return "stand-in", None


def environment_file_text(environment: dict[str, str]) -> str:
    lines = [
        "# The local two-account sandbox (make sandbox): what the worker's Lambda in account A sees.",
        "# Valid only while `make sandbox` runs; its keys are the sandbox's own, never AWS's.",
        "# Use: set -a; . build/sandbox.env; set +a",
    ]
    lines += [f"{name}={shlex.quote(value)}" for name, value in sorted(environment.items())]
    return "\n".join(lines) + "\n"


@contextlib.contextmanager
def started(
    settings: Settings,
    *,
    schema: str | Path | None = None,
    backend: str = "auto",
    env_file: Path = DEFAULT_ENV_FILE,
) -> Iterator[Running]:
    """Start the sandbox for ``settings`` (and their project's schema, unless ``schema`` is given), write
    ``env_file``; everything is stopped and the file removed on exit."""
    from sandbox.appsync.models import ModelSchemaError, builtin_schema, model_keys
    from sandbox.fixture import Sandbox

    if backend not in BACKENDS:
        raise SandboxCliError(f"backend must be one of {', '.join(BACKENDS)}, not {backend!r}")
    notes: list[str] = []
    if schema is not None:
        text = Path(schema).read_text(encoding="utf-8") if isinstance(schema, Path) else schema
        source = str(schema) if isinstance(schema, Path) else "the given schema"
    else:
        found, source, schema_notes = project_schema(settings)
        notes.extend(schema_notes)
        if found is None:
            notes.append(f"{source}: using the built-in Todo schema")
            text, source = builtin_schema(), "the built-in Todo schema"
        else:
            text = found
    try:
        models = [key.model for key in model_keys(text)]
    except ModelSchemaError as exc:
        raise SandboxCliError(f"{source}: {exc}") from None
    chosen, modules = _choose_backend(backend, notes)
    if chosen == "stand-in" and models != ["Todo"]:
        notes.append(
            f"the stand-in serves only its built-in Todo schema, not {source} ({', '.join(models)}); "
            "install Node.js 20+ for Amplify's own resolvers compiled from your schema"
        )
        text, source = builtin_schema(), "the built-in Todo schema (stand-in)"
    unknown = _unserved_mutations(settings, text)
    if unknown:
        notes.append(
            f"appsync.allowed_mutations lists {', '.join(unknown)}, which {source} does not define: "
            "such messages will be refused"
        )
    with contextlib.ExitStack() as stack:
        sb = stack.enter_context(Sandbox.start(settings, schema=text))
        notes.extend(_project_notes(sb))
        unserved: list[Any] = []
        if chosen == "amplify":
            from sandbox.amplify_backend import amplify_appsync

            assert modules is not None
            try:
                backend_api = stack.enter_context(amplify_appsync(sb, modules))
            except ModelSchemaError as exc:  # Amplify refuses the schema: its own words, no traceback
                raise SandboxCliError(f"{source}: {exc}") from None
            notes.extend(backend_api.notes)
            unserved = list(backend_api.unserved)
        environment = dict(sb.lambda_environment())
        if sb.generation.custom_roles_gate:
            environment[CUSTOM_ROLES_VARIABLE] = str(sb.custom_roles_path)
        from sandbox.invoke import QUEUE_ARN_VARIABLE, QUEUE_URL_VARIABLE

        environment[QUEUE_URL_VARIABLE], environment[QUEUE_ARN_VARIABLE] = sb.queue_url, sb.queue_arn
        env_file = Path(env_file)
        env_file.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(env_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(environment_file_text(environment))
        stack.callback(lambda: env_file.unlink(missing_ok=True))
        yield Running(sb, chosen, env_file, source, notes, environment, unserved)


def _project_notes(sb: Any) -> list[str]:
    """What the project's own files say that the sandbox enforces, or does not model (said, never hidden)."""
    notes = []
    if sb.auth_modes and "AWS_IAM" not in sb.auth_modes:
        notes.append(
            f"the API's authorization modes are {', '.join(sb.auth_modes)}: without AWS_IAM every signed request "
            "is refused here, as AppSync refuses it (add IAM: `amplify update api`, then `amplify push`)"
        )
    strategy = sb.project_facts.conflict_strategy if sb.project_facts is not None else None
    if strategy:
        notes.append(
            f"conflict detection ({strategy}) is on in the project, and the sandbox does not model it: on AWS "
            "updates and deletes need the record's `_version` (OPTIMISTIC_CONCURRENCY refuses a stale one, "
            "AUTOMERGE may keep the stored values); here they apply without it"
        )
    return notes


def _unserved_mutations(settings: Settings, schema_text: str) -> list[str]:
    from project_settings.schema import SchemaError, parse_gen1_schema

    try:
        defined = parse_gen1_schema(schema_text, "schema").mutations
    except SchemaError:
        return []
    return [m for m in settings.appsync.allowed_mutations if m not in defined]


def describe(running: Running, settings_path: str | None) -> str:
    sb = running.sandbox
    default = Path("settings.toml").resolve()
    settings_flag = (
        f" --settings {shlex.quote(settings_path)}"
        if settings_path and Path(settings_path).resolve() != default
        else ""
    )
    api = (
        "Amplify's own resolvers (Gen 1 transformer in Amplify's AppSync simulator) behind a SigV4 front"
        if running.backend == "amplify"
        else "the AppSync stand-in (Python, built-in Todo schema)"
    )
    rule = (
        f"{sb.generation.label}: admin roles from {sb.custom_roles_path}"
        if sb.generation.custom_roles_gate
        else f"{sb.generation.label}: any IAM principal its IAM policy allows (no custom-roles.json)"
    )
    example = _example_mutation(sb)
    lines = [
        "The local two-account sandbox is running (127.0.0.1 only).",
        f"  account A {sb.account_a}: queue {sb.queue_url}",
        f"                        DLQ   {sb.dlq_url}",
        f"  account B {sb.account_b}: AppSync API {sb.appsync_url}",
        f"    {api}",
        f"    schema: {running.schema_source}",
        f"    authorization: {rule}",
        "    tables: " + ", ".join(sb.table_names.values()),
        *(f"  note: {note}" for note in running.notes),
        "",
        f"In another shell (the environment file {running.env_file} is the Lambda's):",
        f"  set -a; . {running.env_file}; set +a",
        f"  appsync-mutations doctor{settings_flag}",
        f"  appsync-mutations send{settings_flag} --file envelope.json   # e.g. {example}",
        f"  appsync-mutations replay list{settings_flag}",
        "  python -m sandbox.invoke --file envelope.json   # the worker itself, through the queue (SQS event)",
        "",
        "Ctrl-C stops it (the environment file is removed).",
    ]
    return "\n".join(lines)


def _example_mutation(sb: Any) -> str:
    import json

    allowed = sorted(m for m in sb.settings.appsync.allowed_mutations if m.startswith("create"))
    if "createTodo" in allowed or not allowed:
        return json.dumps({"mutation": "createTodo", "input": {"name": "first"}, "idempotencyKey": "k-1"})
    return json.dumps({"mutation": allowed[0], "input": {"...": "..."}})


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m sandbox",
        description="Run the local two-account sandbox for your settings' own schema until Ctrl-C.",
    )
    parser.add_argument("--settings", metavar="PATH", help="settings file (default: settings.toml)")
    parser.add_argument("--schema", metavar="FILE", type=Path, help="source schema (default: the project's)")
    parser.add_argument(
        "--env-file", metavar="PATH", type=Path, default=DEFAULT_ENV_FILE, help="default build/sandbox.env"
    )
    parser.add_argument(
        "--backend",
        choices=BACKENDS,
        default="auto",
        help="amplify (needs Node.js 20+), stand-in, or auto (amplify when Node is there)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from project_settings.checks import rehearsal_settings

    try:
        settings, filled = rehearsal_settings(args.settings)
    except SettingsError as exc:
        print(f"sandbox: {exc}", file=sys.stderr)
        return 2
    if filled:
        # Gen 2 outputs name neither account B nor the API id: a rehearsal needs neither to be real.
        print(
            f"sandbox: for this local rehearsal the sandbox stands in for {', '.join(filled)} (still placeholders "
            f"in {settings.source}: fill them with `init --api-account ... --api-id ...` before deploying)",
            file=sys.stderr,
        )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        with started(settings, schema=args.schema, backend=args.backend, env_file=args.env_file) as running:
            print(describe(running, args.settings), flush=True)
            while not stop.wait(0.5):
                pass
    except SandboxCliError as exc:
        print(f"sandbox: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        pass
    except Exception as exc:
        from sandbox.amplify_backend import BackendError

        if not isinstance(exc, BackendError):
            raise
        # Node or the transformer failed for a reason that is not the schema's: its log tail, no traceback.
        print(f"sandbox: Amplify's backend did not start: {exc}", file=sys.stderr)
        return 1
    print("sandbox stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
