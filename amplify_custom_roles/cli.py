"""``amplify-custom-roles`` / ``python -m amplify_custom_roles``: write or check custom-roles.json.

Exit codes: 0 written or up to date (``--check``: up to date and no problem entry); 1 ``--check`` found the
file stale or an entry that never matches, is dropped by the CLI, or admits every caller; 2 usage error or
invalid input (settings, JSON, keys, types, names AWS would reject, a missing API directory, an account that
is not the project's), or a result that admits every IAM caller without ``--force``, with the file left
untouched.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from project_settings import Settings

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_INVALID = 2

_EPILOG = """\
exit codes:
  0  written, or already up to date (--check: up to date and no problem entry)
  1  --check only: the file is stale (a diff is printed) or an entry never matches, is dropped by the
     Amplify CLI, or admits every IAM caller
  2  usage error or invalid input (settings, JSON, unknown keys, wrong types, account/role/session names
     AWS would reject, no such API directory, accounts.api not the project's account), in every mode; or
     the result would admit every IAM caller ("" and the like) and --force was not given; nothing is written

amplify.generation = 2 (Amplify Gen 2): nothing to write, exit 0 with the reason.
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="amplify-custom-roles",
        description=(
            "Merge the worker's assumed-role entry into amplify/backend/api/<api>/custom-roles.json (never "
            "clobbering other entries) and lint every entry against Amplify's admin-role rule "
            "(userArn.contains(entry))."
        ),
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--settings", metavar="PATH", help="settings file (default: the project's settings.toml)"
    )
    parser.add_argument("--project-dir", metavar="DIR", help="override amplify.project_dir")
    parser.add_argument("--api-name", metavar="NAME", help="override amplify.api_name")
    parser.add_argument(
        "--cli-behaviour",
        choices=("verbatim", "normalize"),
        help="override amplify.cli_behaviour: verbatim (@aws-amplify/amplify-category-api <= 5.15.6) or "
        "normalize (5.15.7+); not the number `amplify --version` prints",
    )
    parser.add_argument(
        "--role-only",
        action="store_true",
        help="emit .../assumed-role/<Role> without the session name (also admits other sessions and longer "
        "role names)",
    )
    parser.add_argument(
        "--create-dirs", action="store_true", help="create amplify/backend/api/<api>/ when it does not exist"
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="write even when the result admits every IAM caller, or accounts.api is not the project's account",
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true", help="write nothing; exit 1 with a diff when stale")
    mode.add_argument("--dry-run", action="store_true", help="write nothing; print the diff and the result")
    mode.add_argument("--stdout", action="store_true", help="write nothing; print only the resulting JSON")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; returns the exit code (see the module docstring)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help (0) or a usage error (2)
        return int(exc.code or 0)
    from amplify_custom_roles.document import CustomRolesError
    from amplify_custom_roles.generator import GEN2_NOTE, Gen2ProjectError
    from project_settings import AmplifyGeneration, SettingsError

    try:
        return _run(args)
    except Gen2ProjectError as exc:
        setting = AmplifyGeneration.GEN2.setting_text  # the one generation without custom-roles.json
        print(f"{exc.source}: {setting}, nothing written: {GEN2_NOTE}", file=sys.stderr)
        return EXIT_OK
    except (CustomRolesError, SettingsError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        print("nothing was written", file=sys.stderr)
        return EXIT_INVALID


def _run(args: argparse.Namespace) -> int:
    from amplify_custom_roles import generator
    from project_settings import load_settings
    from project_settings.model import API_NAME_RE

    settings = load_settings(args.settings)
    changes: dict[str, object] = {}
    if args.project_dir:
        changes["project_dir"] = Path(args.project_dir)
    if args.api_name:
        if not API_NAME_RE.match(args.api_name):
            raise generator.CustomRolesError("--api-name", [f"{args.api_name!r} is not letters and digits"])
        changes["api_name"] = args.api_name
    if changes:
        settings = settings.with_changes(amplify=changes)
    role_only = True if args.role_only else None
    report = sys.stderr if args.stdout else sys.stdout
    _settings_warnings(settings)
    if args.check:
        checked = generator.check(
            settings, role_only=role_only, cli_behaviour=args.cli_behaviour, force=args.force
        )
        _report(checked, report)
        if checked.changed:
            print(f"STALE: {checked.path} does not hold the worker's entry as generated; diff:", file=report)
            print(checked.diff, end="", file=report)
        if checked.problems:
            print(
                f"{len(checked.problems)} problem entr{'y' if len(checked.problems) == 1 else 'ies'}",
                file=report,
            )
        print(f"\nnote: {generator.GEN2_NOTE}", file=report)
        return EXIT_OK if checked.ok else EXIT_FINDINGS
    if args.dry_run:  # shows the result, then refuses what write mode would refuse
        result: generator.Plan = generator.plan(
            settings,
            role_only=role_only,
            cli_behaviour=args.cli_behaviour,
            create_dirs=args.create_dirs,
            force=args.force,
        )
    else:
        result = generator.generate(
            settings,
            role_only=role_only,
            cli_behaviour=args.cli_behaviour,
            write=not args.stdout,
            create_dirs=args.create_dirs,
            force=args.force,
        )
    refusal = None if args.force else result.refusal()
    if args.stdout:
        sys.stdout.write(result.after)
        _report(result, report)
        return EXIT_OK
    _report(result, report)
    if args.dry_run:
        print(
            result.diff or f"{result.path}: up to date, nothing to change",
            end="\n" if not result.diff else "",
            file=report,
        )
        print("--- result (not written) ---", file=report)
        print(result.after, end="", file=report)
        if refusal is not None:
            print(f"error: {refusal}", file=sys.stderr)
            print("nothing was written", file=sys.stderr)
            return EXIT_INVALID
    elif isinstance(result, generator.GenerateResult) and result.written:
        print(f"wrote {result.path}; run `amplify push` to apply it", file=report)
    else:
        print(f"{result.path}: up to date, nothing written", file=report)
    print(f"\nnote: {generator.GEN2_NOTE}", file=report)
    return EXIT_OK


def _settings_warnings(settings: Settings) -> None:
    """The sandbox-values warning and allowed mutations the project's schema lacks, on stderr."""
    from project_settings.checks import settings_warnings

    for warning in settings_warnings(settings):
        print(warning, file=sys.stderr)


def _report(result: object, out: TextIO) -> None:
    from amplify_custom_roles.generator import Plan

    assert isinstance(result, Plan)
    print(
        f"{result.path}: worker entry {result.entry!r} (Amplify CLI behaviour: {result.cli_behaviour})",
        file=out,
    )
    for warning in result.warnings:
        print(f"warning: {warning}", file=out)
    for finding in result.findings:
        print(f"  [{finding.severity}] {finding.entry!r} {finding.message}", file=out)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
