"""``appsync-mutations`` / ``python -m mutation_cli``: argument parsing, dispatch and exit codes.

Exit codes: 0 success; 1 partial failure (a message failed again) or a doctor check failed; 2 usage error or
invalid input (nothing sent); 130 interrupted (every unconfirmed message is still in the DLQ).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from botocore.exceptions import BotoCoreError, ClientError

from mutation_cli import errors as exits
from mutation_cli.errors import UsageError

_CONFIG_HELP = """\
configuration: the worker's own. With APPSYNC_URL in the environment, exactly what the Lambda sees (copy the
function's environment); otherwise derived from settings.toml (--settings). Base credentials: botocore's
default chain (environment, profile, SSO...). The account-B trust policy admits only sessions of the worker's
execution role, so present such a session, or pass --via-role-arn ARN to assume that role first. People
should rather use --as-operator: the operator role ([operator_role] principals) with a source identity.
"""

_REPLAY_HELP = """\
Sources: the dead-letter queue (--queue URL-or-name; default DEAD_LETTER_QUEUE_URL or the DLQ in settings) or
a JSON Lines file written by `export` (--file). SQS has no peek: listing receives each message (raising its
ApproximateReceiveCount) and makes it visible again at once. A DLQ message is deleted only after its mutation
was applied (or was already applied) or it was sent back to the source queue; anything unconfirmed stays.
"""

_EXAMPLES = """\
examples:
  appsync-mutations doctor
  appsync-mutations send --file envelope.json
  echo '{"mutation":"createTodo","input":{"name":"x"},"idempotencyKey":"k1"}' | appsync-mutations send
  appsync-mutations replay list --error-type Unauthorized
  appsync-mutations replay export --out dead-letters.jsonl
  appsync-mutations replay replay --operation createTodo --since 2h --dry-run
  appsync-mutations replay replay --file dead-letters.jsonl --failed-out still-failing.jsonl
  appsync-mutations replay redrive --limit 100
"""


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--settings", metavar="PATH", help="settings file (default: the project's settings.toml)"
    )
    common.add_argument(
        "--via-role-arn", metavar="ARN", help="assume this role first (e.g. the execution role)"
    )
    common.add_argument("--via-session-name", metavar="NAME", help="session name for --via-role-arn")
    common.add_argument(
        "--as-operator",
        action="store_true",
        help="assume the operator role ([operator_role] in settings) from your own credentials, with your "
        "identity as sts:SourceIdentity and session operator-<identity>; its own allow-list applies",
    )
    common.add_argument(
        "--source-identity",
        metavar="NAME",
        help="with --as-operator: your identity (default: the last segment of your caller ARN)",
    )
    common.add_argument("-v", "--verbose", action="store_true", help="the worker's INFO logs on stderr")

    parser = argparse.ArgumentParser(
        prog="appsync-mutations",
        description="Operator commands for the cross-account AppSync mutation worker.",
        epilog=_CONFIG_HELP
        + "\n"
        + _EXAMPLES
        + "\nexit codes: 0 ok, 1 failed/partial, 2 usage, 130 interrupted",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", metavar="{init,replay,send,doctor}", required=True)
    from mutation_cli.init_settings import add_init_parser

    add_init_parser(commands)  # `init --from-amplify DIR`: settings.toml from the Amplify project

    doctor = commands.add_parser(
        "doctor",
        parents=[common],
        help="check every link from your credentials to a signed AppSync answer (sends no mutation)",
        description="Walk the chain and name the first broken link with its fix. Sends `query { __typename }`.",
        epilog=_CONFIG_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    doctor.add_argument("--custom-roles", metavar="PATH", help="custom-roles.json (default: from settings)")
    doctor.add_argument(
        "--cli-behaviour", choices=("verbatim", "normalize"), help="Amplify CLI behaviour (default: settings)"
    )
    doctor.add_argument(
        "--amplify-env", metavar="NAME", help="Amplify environment name, for ${env} in entries"
    )
    doctor.add_argument("--json", action="store_true", help="machine-readable result on stdout")
    doctor.add_argument(
        "--probe",
        action="store_true",
        help="also run Amplify's authorization: a delete (else update) of a random id that cannot exist",
    )
    doctor.add_argument(
        "--skip-custom-roles",
        action="store_true",
        help="no Amplify checkout here: do not read custom-roles.json",
    )

    send = commands.add_parser(
        "send",
        parents=[common],
        help="send one mutation by hand (requests + SigV4), print the answer or the classified error",
        description="Send one mutation envelope, validated like a queued message (allow-list included). "
        "One attempt, no retry.",
        epilog=_CONFIG_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    send.add_argument("--file", "-f", metavar="F", help="envelope JSON file ('-' or omitted: stdin)")
    send.add_argument("--query", metavar="DOC", help="a GraphQL mutation document instead of an envelope")
    send.add_argument("--variables", metavar="JSON", help="variables for --query")
    send.add_argument("--operation-name", metavar="NAME", help="operation name for --query")
    send.add_argument("--idempotency-key", metavar="KEY", help="set the envelope's idempotencyKey")
    send.add_argument("--json", action="store_true", help="machine-readable result on stdout")

    replay = commands.add_parser(
        "replay",
        help="list, export, replay or redrive dead letters",
        description="Work on failed mutations in the dead-letter queue or an exported file.",
        epilog=_REPLAY_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = replay.add_subparsers(dest="action", metavar="{list,export,replay,redrive}", required=True)
    source = argparse.ArgumentParser(add_help=False, parents=[common])
    where = source.add_mutually_exclusive_group()
    where.add_argument(
        "--queue", metavar="URL-or-name", help="the DLQ (default: DEAD_LETTER_QUEUE_URL or settings)"
    )
    where.add_argument("--file", metavar="F.jsonl", help="records written by `replay export`")
    filters = source.add_argument_group("filters")
    filters.add_argument("--operation", action="append", metavar="FIELD", help="mutation field (repeatable)")
    filters.add_argument(
        "--error-type", action="append", metavar="TYPE", help="failure.errorType (repeatable)"
    )
    filters.add_argument(
        "--message-id", action="append", metavar="ID", help="DLQ or source message id (repeatable)"
    )
    filters.add_argument(
        "--since", metavar="WHEN", help="failed at or after: ISO-8601 or an age (30m, 2h, 7d)"
    )
    filters.add_argument("--until", metavar="WHEN", help="failed at or before: ISO-8601 or an age")
    filters.add_argument("--limit", type=int, metavar="N", help="at most N messages")
    source.add_argument("--json", action="store_true", help="JSON on stdout")

    actions.add_parser(
        "list", parents=[source], help="show dead letters and why they failed (removes nothing)"
    )
    export = actions.add_parser(
        "export", parents=[source], help="write dead letters as JSON Lines (removes nothing)"
    )
    export.add_argument("--out", "-o", metavar="F.jsonl", help="output file (default: stdout)")
    work = argparse.ArgumentParser(add_help=False)
    work.add_argument(
        "--dry-run", action="store_true", help="show what would happen; send nothing, delete nothing"
    )
    work.add_argument(
        "--hold-seconds",
        type=int,
        default=300,
        metavar="S",
        help="visibility timeout while working (default 300), extended every S/3 s while the command runs; "
        "after a crash, unfinished messages reappear when it ends",
    )
    rep = actions.add_parser(
        "replay",
        parents=[source, work],
        help="send the mutations again through the worker's code path; delete from the DLQ what succeeded",
    )
    rep.add_argument(
        "--concurrency", type=int, metavar="N", help="mutations in flight (default MAX_CONCURRENCY)"
    )
    rep.add_argument("--failed-out", metavar="F.jsonl", help="with --file: write what did not succeed here")
    redrive = actions.add_parser(
        "redrive", parents=[source, work], help="move dead letters back to the source queue for the Lambda"
    )
    redrive.add_argument("--to-queue", metavar="URL-or-name", help="default: the source queue in settings")
    redrive.add_argument(
        "--include-permanent",
        action="store_true",
        help="also redrive permanent failures (error type not transient, or an envelope the worker refuses)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: --help is 0, a usage error 2
        return int(exc.code or 0) if isinstance(exc.code, int) else exits.USAGE
    try:
        return _dispatch(args)
    except UsageError as exc:
        print(f"appsync-mutations: error: {exc}", file=sys.stderr)
        return exits.USAGE
    except KeyboardInterrupt:
        print("appsync-mutations: interrupted; nothing unconfirmed was removed", file=sys.stderr)
        return exits.INTERRUPTED
    except BrokenPipeError:  # `doctor | head`: the reader left; say nothing more (Python's documented recipe)
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return exits.FAILED
    except (BotoCoreError, ClientError) as exc:  # profile, credentials, network, or an AWS refusal
        print(f"appsync-mutations: failed: {exc}", file=sys.stderr)
        return exits.FAILED


def _dispatch(args: argparse.Namespace) -> int:
    from mutation_cli.config import load_context

    if args.command == "init":
        from mutation_cli.init_settings import run_init

        return run_init(args)
    if args.command == "doctor":
        return _doctor(args)
    ctx = load_context(args.settings)
    session = None
    if args.source_identity is not None and not args.as_operator:
        raise UsageError("--source-identity goes with --as-operator")
    if args.as_operator:
        from mutation_cli.operator import as_operator
        from mutation_cli.session import ViaRoleError, base_session

        try:
            session = base_session(args.via_role_arn, args.via_session_name)
        except ViaRoleError as exc:
            print(f"failed: {exc}", file=sys.stderr)
            return exits.FAILED
        ctx = as_operator(ctx, session, args.source_identity)
    if args.command == "send":
        return _send(args, ctx, session)
    from mutation_cli.dead_letter_commands import DeadLetterCommand

    if getattr(args, "concurrency", None) is not None and args.concurrency < 1:
        raise UsageError("--concurrency must be at least 1")
    command = DeadLetterCommand(args, ctx)
    if session is not None:
        command._session = session  # the operator's session, which sets the source identity
    actions = {
        "list": command.list_records,
        "export": command.export_records,
        "replay": command.replay,
        "redrive": command.redrive,
    }
    return actions[args.action]()


def _doctor(args: argparse.Namespace) -> int:
    from mutation_cli.config import load_context
    from mutation_cli.doctor import FAILED, Doctor, DoctorOptions, config_failure
    from mutation_cli.output import print_checklist

    if args.source_identity is not None and not args.as_operator:
        raise UsageError("--source-identity goes with --as-operator")
    try:
        ctx = load_context(args.settings)
    except UsageError as exc:
        checks = config_failure(str(exc))
    else:
        options = DoctorOptions(
            via_role_arn=args.via_role_arn,
            via_session_name=args.via_session_name,
            custom_roles=args.custom_roles,
            cli_behaviour=args.cli_behaviour,
            amplify_env=args.amplify_env,
            verbose=args.verbose,
            skip_custom_roles=args.skip_custom_roles,
            probe=args.probe,
            as_operator=args.as_operator,
            source_identity=args.source_identity,
        )
        checks = Doctor(ctx, options).run()
    broken = next((c for c in checks if c.status == FAILED), None)
    if args.json:
        result = {
            "ok": broken is None,
            "firstBroken": broken.name if broken else None,
            "checks": [c.to_json() for c in checks],
        }
        print(json.dumps(result, indent=2))
    else:
        print_checklist(checks)
    return exits.FAILED if broken else exits.OK


def _send(args: argparse.Namespace, ctx: object, session: object = None) -> int:
    from mutation_cli.runtime import worker_credentials
    from mutation_cli.send import (
        ALREADY_APPLIED,
        APPLIED,
        print_outcome,
        read_envelope,
        send_request,
        validate,
    )
    from mutation_cli.session import ViaRoleError, base_session
    from mutation_cli.signed_http import SignedGraphQL

    config = ctx.config  # type: ignore[attr-defined]
    envelope = read_envelope(args.file, args.query, args.variables, args.operation_name, args.idempotency_key)
    request = validate(envelope, config.allowed_mutations, config.model_keys)
    if session is None:
        try:
            session = base_session(args.via_role_arn, args.via_session_name)
        except ViaRoleError as exc:
            print(f"failed: {exc}", file=sys.stderr)
            return exits.FAILED
    credentials = worker_credentials(config, session, verbose=args.verbose)
    http = SignedGraphQL(config, credentials)
    try:
        outcome = send_request(http, request, caller_arn=lambda: credentials.caller_arn)
    finally:
        http.close()
    print_outcome(outcome, args.json, sys.stdout, sys.stderr)
    return exits.OK if outcome.status in (APPLIED, ALREADY_APPLIED) else exits.FAILED
