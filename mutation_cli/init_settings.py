"""``appsync-mutations init --from-amplify DIR``: write or update settings.toml from the Amplify project.

Gen 1 (``amplify/backend/amplify-meta.json``, ``team-provider-info.json``, ``.config/local-env-info.json``,
the API's ``schema.graphql`` or ``schema/``) or Gen 2 (``amplify_outputs.json``). Everything else in the
settings file (its comments, the role, the queues) is kept as it is. What the project cannot say is taken from
the options, asked for on a terminal, or written as a ``<...>`` placeholder that every command refuses until it
is filled in (so nothing half-configured reaches AWS).
"""

from __future__ import annotations

import argparse
import os
import sys
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from mutation_cli.errors import UsageError
from project_settings.generation import AmplifyGeneration

EPILOG = """\
What is read (Gen 1): account B and region from providers.awscloudformation (StackId, AuthRoleArn) of the
environment (--env, default: the checked-out one in amplify/.config/local-env-info.json, per environment in
team-provider-info.json); API id and endpoint from api.<name>.output in amplify-meta.json (the checked-out
environment only); the mutation names from the @model types of the API's schema; the
@aws-amplify/amplify-category-api version (custom-roles.json behaviour) from node_modules when installed.
Gen 2: data.url, data.aws_region and data.model_introspection of amplify_outputs.json (no account and no API
id in it). The API id is never taken from the endpoint's host (it is another string): Gen 1 reads
GraphQLAPIIdOutput; otherwise --api-id, or --lookup-api-id with account-B credentials (--profile): ListGraphqlApis
matched on uris.GRAPHQL, a custom domain's API association, or a stack output (awsAppsyncApiId). The summary
says which source each value came from.
Not in any Amplify file: account A (the worker's), which mutations the worker may send (kept when the
schema defines them). Those come from --worker-account / --mutations, a prompt on a terminal, or stay a
<placeholder> that every command refuses until filled in.

exit codes: 0 written (or --dry-run shown); 2 the project or the options are invalid (nothing written)
"""

PLACEHOLDER_WORKER = "<account A: the worker's 12-digit account id>"
PLACEHOLDER_API = "<account B: the Amplify API's 12-digit account id>"
PLACEHOLDER_API_ID = "<the AppSync API id: init --api-id ID, or --lookup-api-id>"
PLACEHOLDER_URL = "<https://<api id>.appsync-api.<region>.amazonaws.com/graphql>"


def add_init_parser(commands: Any) -> None:
    """Register ``init`` on the CLI's subcommands (called from mutation_cli.main.build_parser)."""
    init = commands.add_parser(
        "init",
        help="write or update settings.toml from your Amplify project (Gen 1 or Gen 2)",
        description="Read the Amplify project's own files and write the values into settings.toml.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    init.add_argument(
        "--settings", metavar="PATH", help="settings file to update (default: the project's settings.toml)"
    )
    init.add_argument(
        "--from-amplify",
        metavar="DIR",
        required=True,
        help="the Amplify project (Gen 1: holds amplify/; Gen 2: holds amplify_outputs.json, or that file)",
    )
    init.add_argument("--env", metavar="ENV", help="Gen 1 environment (default: the checked-out one)")
    init.add_argument("--api-name", metavar="NAME", help="Gen 1 API (needed when the project has several)")
    init.add_argument(
        "--generation",
        type=int,
        choices=AmplifyGeneration.settings_values(),
        help="when the folder holds both generations",
    )
    init.add_argument("--worker-account", metavar="ID", help="account A, where the worker runs")
    init.add_argument("--api-account", metavar="ID", help="account B, when the project files do not say")
    init.add_argument(
        "--api-id",
        metavar="ID",
        help="the AppSync API id (26 characters; not the endpoint's host, which is another string)",
    )
    init.add_argument(
        "--lookup-api-id",
        action="store_true",
        help="find the API id with account-B credentials (appsync:ListGraphqlApis, or stack outputs)",
    )
    init.add_argument("--profile", metavar="NAME", help="the AWS profile of account B, for --lookup-api-id")
    init.add_argument(
        "--mutations",
        metavar="A,B",
        help="the mutation fields the worker may send (checked against the schema)",
    )
    init.add_argument("--dry-run", action="store_true", help="show the changes; write nothing")
    init.add_argument("--no-input", action="store_true", help="never prompt; leave placeholders instead")


def run_init(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None) -> int:
    interactive = not args.no_input and sys.stdin.isatty()
    ask: Callable[[str], str] | None = (lambda label: input(f"{label}: ").strip()) if interactive else None
    out = out if out is not None else sys.stdout
    err = err if err is not None else sys.stderr
    return initialise(args, out=out, err=err, ask=ask)


def _read_current(path: Path) -> tuple[str, dict[str, Any]]:
    from project_settings.model import DEFAULT_PATH

    source = path if path.is_file() else DEFAULT_PATH
    try:
        text = source.read_text(encoding="utf-8")
        return text, tomllib.loads(text)
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{source}: cannot be read: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{source}: not valid TOML: {exc}") from None


def _relative(target: Path, base: Path) -> str:
    try:
        return os.path.relpath(target.resolve(), base.resolve())
    except ValueError:  # another drive
        return str(target.resolve())


def initialise(
    args: argparse.Namespace,
    *,
    out: TextIO,
    err: TextIO,
    ask: Callable[[str], str] | None = None,
) -> int:
    from project_settings.amplify_files import (
        AmplifyProjectError,
        detect_category_api_version,
        gen2_outputs_path,
        is_gen1_project,
        read_gen1,
        read_gen2,
    )
    from project_settings.model import ACCOUNT_RE, DEFAULT_PATH, behaviour_for_version
    from project_settings.schema import SchemaError, introspection_schema, read_gen1_schema, read_outputs

    if args.profile and not args.lookup_api_id:
        raise UsageError(
            f"--profile {args.profile} is only used by --lookup-api-id (account B's credentials for the lookup): "
            "add --lookup-api-id, or drop --profile"
        )
    source = Path(args.from_amplify).expanduser()
    if not source.exists():
        raise UsageError(f"--from-amplify {source}: no such file or directory")
    project = source.parent if source.is_file() else source
    outputs = gen2_outputs_path(source)
    has_gen1 = source.is_dir() and is_gen1_project(source)
    if args.generation is not None:
        generation = AmplifyGeneration.from_setting(args.generation)
    else:
        if has_gen1 and outputs is not None:
            raise UsageError(
                f"{source} holds both an Amplify Gen 1 project and amplify_outputs.json (a migration in "
                "progress?): pass --generation 1 or --generation 2"
            )
        if not has_gen1 and outputs is None:
            raise UsageError(
                f"{source} is not an Amplify project: no amplify/backend/amplify-meta.json or "
                "amplify/team-provider-info.json (Gen 1), no amplify_outputs.json (Gen 2; run `npx ampx "
                "generate outputs` or `npx ampx sandbox` first)"
            )
        generation = AmplifyGeneration.GEN1 if has_gen1 else AmplifyGeneration.GEN2
    if generation.described_by_outputs and outputs is None:
        raise UsageError(f"{source}: no amplify_outputs.json there")
    if not generation.described_by_outputs and not has_gen1:
        raise UsageError(
            f"{source}: no Amplify {generation.label} project there (amplify/backend/amplify-meta.json)"
        )
    if not generation.has_environments and (args.env or args.api_name):
        raise UsageError("--env and --api-name are for Amplify Gen 1 projects")

    try:
        if generation.described_by_outputs:
            assert outputs is not None
            facts = read_gen2(outputs)
            schema = introspection_schema(read_outputs(outputs), str(outputs))
        else:
            facts = read_gen1(project, env=args.env, api_name=args.api_name)
            api_dir = project / "amplify" / "backend" / "api" / (facts.api_name or "")
            schema = read_gen1_schema(api_dir) if facts.api_name else None
    except (AmplifyProjectError, SchemaError) as exc:
        raise UsageError(str(exc)) from None

    settings_path = Path(args.settings) if args.settings else DEFAULT_PATH
    text, raw = _read_current(settings_path)
    current = {section: dict(raw.get(section, {})) for section in ("accounts", "appsync", "amplify")}
    changes: dict[tuple[str, str], Any] = {}
    origins: dict[tuple[str, str], str] = {}
    todo: list[str] = []

    def choose(key: tuple[str, str], value: Any, origin: str) -> None:
        changes[key] = value
        origins[key] = origin

    def account(
        key: tuple[str, str], given: str | None, found: str | None, label: str, placeholder: str
    ) -> None:
        from project_settings.checks import SANDBOX_ACCOUNTS

        if given is not None:
            if not ACCOUNT_RE.match(given):
                raise UsageError(f"--{key[1]}-account {given!r} is not a 12-digit account id")
            choose(key, given, "the command line")
            return
        if found is not None:
            choose(key, found, facts.source)
            return
        existing = current["accounts"].get(key[1])
        if isinstance(existing, str) and ACCOUNT_RE.match(existing) and existing not in SANDBOX_ACCOUNTS:
            return  # already yours: kept
        answer = ask(f"{label} (12 digits)") if ask else ""
        if answer:
            if not ACCOUNT_RE.match(answer):
                raise UsageError(f"{answer!r} is not a 12-digit account id")
            choose(key, answer, "your answer")
            return
        choose(key, placeholder, "placeholder")
        todo.append(f"{key[0]}.{key[1]}: {label}")

    if args.lookup_api_id:
        facts = _looked_up(args, facts)
    if facts.account and args.api_account and facts.account != args.api_account:
        raise UsageError(
            f"--api-account {args.api_account} contradicts {facts.source}, which puts the API in {facts.account}"
        )
    account(
        ("accounts", "worker"),
        args.worker_account,
        None,
        "account A, where the worker runs",
        PLACEHOLDER_WORKER,
    )
    account(
        ("accounts", "api"), args.api_account, facts.account, "account B, the Amplify API's", PLACEHOLDER_API
    )
    if facts.region:
        choose(("accounts", "region"), facts.region, facts.source)
    _choose_api_id(args, facts, choose, todo, ask)
    if facts.url:
        choose(("appsync", "url"), facts.url, facts.source)
    else:
        choose(("appsync", "url"), PLACEHOLDER_URL, "placeholder")
        todo.append("appsync.url: the GraphQL endpoint")

    for model, key_fields in sorted((schema.keys if schema else {}).items()):
        # The worker names records by these (duplicates, the default selection): Amplify's @primaryKey.
        choose(("appsync.model_keys", model), list(key_fields), schema.source if schema else "the schema")
    for model, fields in sorted((schema.protected_fields if schema else {}).items()):
        # What the model's @auth rules read identity from: the worker (an admin) refuses producers that set them.
        choose(
            ("appsync.protected_fields", model),
            list(fields),
            f"{schema.source if schema else ''} @auth rules",
        )
    known = list(schema.mutations) if schema else []
    if args.mutations:
        wanted = [m.strip() for m in args.mutations.split(",") if m.strip()]
        unknown = [m for m in wanted if known and m not in known]
        if unknown or not wanted:
            raise UsageError(
                f"--mutations: {', '.join(unknown) or 'none given'} not in the schema "
                f"({schema.source if schema else ''}: {', '.join(known)})"
            )
        choose(("appsync", "allowed_mutations"), wanted, "the command line")
    else:
        existing = [m for m in current["appsync"].get("allowed_mutations", []) if isinstance(m, str)]
        kept = [m for m in existing if m in known] if known else existing
        if kept:
            if kept != existing:
                choose(
                    ("appsync", "allowed_mutations"),
                    kept,
                    f"kept those {schema.source if schema else ''} defines",
                )
        else:
            answer = (
                ask(f"mutations the worker may send, comma-separated ({', '.join(known)})") if ask else ""
            )
            picked = [m.strip() for m in answer.split(",") if m.strip()]
            if picked and all(m in known for m in picked):
                choose(("appsync", "allowed_mutations"), picked, "your answer")
            else:
                choices = ", ".join(known) if known else "the API's mutation fields"
                choose(("appsync", "allowed_mutations"), [f"<choose from: {choices}>"], "placeholder")
                todo.append(
                    f"appsync.allowed_mutations: pick from {choices} (least privilege: only what you send)"
                )

    if schema is not None:
        from project_settings.schema import schema_warnings

        allowed_now = changes.get(
            ("appsync", "allowed_mutations"), current["appsync"].get("allowed_mutations")
        )
        allowed_list = [m for m in allowed_now or [] if isinstance(m, str) and not m.startswith("<")]
        warnings = schema_warnings(schema, allowed_list)
    else:
        warnings = []

    choose(("amplify", "project_dir"), _relative(project, settings_path.parent), "--from-amplify")
    choose(("amplify", "generation"), generation.setting, f"Amplify {generation.label} files")
    if generation.has_environments and facts.api_name:
        choose(("amplify", "api_name"), facts.api_name, facts.source)
    notes = list(facts.notes)
    if generation.custom_roles_gate:  # the category-api version decides how custom-roles.json is read
        detected = detect_category_api_version(project)
        if detected is not None:
            version, where = detected
            choose(("amplify", "category_api_version"), version, where)
            choose(("amplify", "cli_behaviour"), behaviour_for_version(version), f"{where} ({version})")
        else:
            notes.append(
                "the @aws-amplify/amplify-category-api version was not found in node_modules: amplify.cli_behaviour "
                "is kept; set amplify.category_api_version to that package's version (`npm ls -g "
                "@aws-amplify/amplify-category-api`; not the number `amplify --version` prints)"
            )
    else:
        notes.append(
            f"Amplify {generation.label}: no custom-roles.json; the mutator role's IAM policy on the API's field "
            "ARNs is the only gate (`make synth`, then deploy the account-B stack)"
        )

    from project_settings.toml_edit import set_values, write_text_atomic

    try:
        new_text = set_values(text, changes)
    except (ValueError, tomllib.TOMLDecodeError) as exc:
        raise UsageError(f"{settings_path}: cannot be updated in place: {exc}") from None
    notes.extend(_producer_summary(raw))
    _print_summary(out, settings_path, changes, origins, facts, notes, todo, args.dry_run)
    for warning in [facts.iam_problem(), facts.conflict_note(), *warnings]:
        if warning:
            print(f"warning: {warning}", file=err)
    if args.dry_run:
        import difflib

        old_name = str(settings_path) if settings_path.is_file() else "/dev/null"
        out.writelines(
            difflib.unified_diff(
                text.splitlines(True) if settings_path.is_file() else [],
                new_text.splitlines(True),
                old_name,
                str(settings_path),
            )
        )
        return 0
    if new_text != text or not settings_path.is_file():
        write_text_atomic(settings_path, new_text)
    _post_checks(settings_path, todo, err)
    return 0


def _producer_summary(raw: dict[str, Any]) -> list[str]:
    """The producers the settings name (init never changes them: who may write is the operator's decision)."""
    found = raw.get("producers")
    producers: dict[str, Any] = found if isinstance(found, dict) else {}
    senders = ", ".join(producers.get("sqs_senders") or []) or "nobody"
    accounts = ", ".join(producers.get("eventbridge_accounts") or []) or "no account"
    direct = "on" if producers.get("direct_invocation") else "off"
    notes = [
        f"producers (kept as they are, [producers]): SQS senders {senders}; EventBridge from {accounts}; "
        f"direct invocation {direct}"
    ]
    for rule in producers.get("rules") or []:
        if isinstance(rule, dict):
            notes.append(f"producer rule {rule.get('producer')!r}: {json_text(rule)}")
    return notes


def json_text(value: Any) -> str:
    import json

    return json.dumps(value, sort_keys=True)


def _looked_up(args: argparse.Namespace, facts: Any) -> Any:
    """``facts`` with the API id (and account B, from the API's ARN) found with account-B credentials."""
    import dataclasses

    from mutation_cli.api_lookup import ApiLookupError, lookup_api_id

    if args.api_id:
        raise UsageError("--api-id and --lookup-api-id: give one")
    if not facts.url or not facts.region:
        raise UsageError(f"--lookup-api-id needs the endpoint and region, which {facts.source} does not name")
    try:
        import boto3

        session = boto3.Session(profile_name=args.profile) if args.profile else boto3.Session()
        found = lookup_api_id(facts.url, facts.region, session)
    except ApiLookupError as exc:
        raise UsageError(f"--lookup-api-id: {exc}") from None
    except Exception as exc:  # a missing profile, unreadable config: the user's to fix
        raise UsageError(f"--lookup-api-id: {type(exc).__name__}: {exc}") from None
    if facts.api_id and facts.api_id != found.api_id:
        raise UsageError(
            f"--lookup-api-id found {found.api_id} ({found.source}) but {facts.source} says {facts.api_id}: "
            "is the project's checked-out environment the one these credentials reach?"
        )
    if facts.account and found.account and facts.account != found.account:
        raise UsageError(
            f"--lookup-api-id found the API in account {found.account}, {facts.source} says {facts.account}"
        )
    return dataclasses.replace(
        facts,
        api_id=found.api_id,
        account=facts.account or found.account,
        source=f"{facts.source}; API id from {found.source}",
    )


def _choose_api_id(
    args: argparse.Namespace,
    facts: Any,
    choose: Callable[[tuple[str, str], Any, str], None],
    todo: list[str],
    ask: Callable[[str], str] | None,
) -> None:
    """The API id: the option, the project's files (Gen 1) or the lookup, a prompt, else a placeholder."""
    from worker.names import APPSYNC_API_ID_RE, host_posing_as_api_id

    if args.api_id is not None:
        if not APPSYNC_API_ID_RE.match(args.api_id):
            raise UsageError(f"--api-id {args.api_id!r} is not an AppSync API id (26 of [a-z0-9])")
        if facts.url and host_posing_as_api_id(args.api_id, facts.url):
            raise UsageError(
                f"--api-id {args.api_id} is the endpoint's host, not the API id (AppSync's host carries another "
                "string): use --lookup-api-id, or copy the id from the AppSync console's API settings"
            )
        if facts.api_id and facts.api_id != args.api_id:
            raise UsageError(f"--api-id {args.api_id} contradicts {facts.source}, which says {facts.api_id}")
        choose(("appsync", "api_id"), args.api_id, "the command line")
        return
    if facts.api_id:
        choose(("appsync", "api_id"), facts.api_id, facts.source)
        return
    answer = ask("the AppSync API id (26 characters; the AppSync console's API settings)") if ask else ""
    if answer:
        if not APPSYNC_API_ID_RE.match(answer):
            raise UsageError(f"{answer!r} is not an AppSync API id (26 of [a-z0-9])")
        if facts.url and host_posing_as_api_id(answer, facts.url):
            raise UsageError(f"{answer} is the endpoint's host, not the API id: use --lookup-api-id")
        choose(("appsync", "api_id"), answer, "your answer")
        return
    choose(("appsync", "api_id"), PLACEHOLDER_API_ID, "placeholder")
    todo.append(
        "appsync.api_id: init again with --api-id ID, or --lookup-api-id [--profile <account B>] "
        "(the endpoint's host is not the API id)"
    )


def _print_summary(
    out: TextIO,
    path: Path,
    changes: dict[tuple[str, str], Any],
    origins: dict[tuple[str, str], str],
    facts: Any,
    notes: list[str],
    todo: list[str],
    dry_run: bool,
) -> None:
    env = f", environment {facts.env_name!r}" if facts.env_name else ""
    print(f"Amplify {facts.generation.label} project ({facts.source}{env})", file=out)
    print(f"{'would set' if dry_run else 'set'} in {path}:", file=out)
    for (section, key), value in changes.items():
        print(f"  {section}.{key} = {value!r}    <- {origins[(section, key)]}", file=out)
    for note in notes:
        print(f"note: {note}", file=out)
    if todo:
        print("still to fill in (every command refuses the placeholders until then):", file=out)
        for item in todo:
            print(f"  - {item}", file=out)


def _post_checks(path: Path, todo: list[str], err: TextIO) -> None:
    """Load what was written; show the problems that are not the placeholders, and the warnings."""
    from project_settings import SettingsError, load_settings
    from project_settings.checks import settings_warnings

    try:
        settings = load_settings(path)
    except SettingsError as exc:
        others = [p for p in exc.problems if "<" not in p]
        if others:
            print(f"{path} still has problems:", file=err)
            for problem in others:
                print(f"  - {problem}", file=err)
        return
    for warning in settings_warnings(settings):
        print(warning, file=err)


__all__ = ["add_init_parser", "initialise", "run_init"]
