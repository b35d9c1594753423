"""``generate`` and ``check``: the worker's ``adminRoleNames`` entry, merged into custom-roles.json.

Both work from the project's one settings model, so the entry cannot drift from the role and pinned session
name that infra/ deploys and the worker assumes.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from amplify_custom_roles import admin_rule
from amplify_custom_roles.document import CustomRolesError, RolesDocument, parse_document, render_document
from amplify_custom_roles.files import read_text, write_atomic
from amplify_custom_roles.lint import PROBLEM, WARNING, Finding, Subject, lint
from amplify_custom_roles.merge import merge
from amplify_custom_roles.names import assumed_role_entry, name_problems

if TYPE_CHECKING:
    from project_settings import Settings

GEN2_NOTE = (
    "Amplify Gen 2 has no custom-roles.json allow-list: an IAM caller is authorized by its IAM policy alone. "
    "The policy allowing appsync:GraphQL on the allowed mutation fields is what grants the worker access "
    "there, and infra/ already creates it on the mutator role."
)


@dataclass(frozen=True)
class Plan:
    """What the file holds now and what it should hold, with a verdict on every entry."""

    path: Path
    entry: str
    cli_behaviour: str
    role_only: bool
    before: str | None
    after: str
    findings: tuple[Finding, ...]
    warnings: tuple[str, ...]

    @property
    def changed(self) -> bool:
        """True when the file's entries differ from the merged ones (whitespace-only differences do not count)."""
        if self.before is None:
            return True
        return parse_document(self.before, str(self.path)) != parse_document(self.after, str(self.path))

    @property
    def problems(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity == PROBLEM)

    @property
    def diff(self) -> str:
        """A unified diff from the current file to the merged one ("" when up to date)."""
        if not self.changed:
            return ""
        before = (self.before or "").splitlines(keepends=True)
        old = str(self.path) if self.before is not None else "/dev/null"
        return "".join(
            difflib.unified_diff(before, self.after.splitlines(keepends=True), old, str(self.path))
        )


@dataclass(frozen=True)
class GenerateResult(Plan):
    written: bool = False


@dataclass(frozen=True)
class CheckResult(Plan):
    @property
    def ok(self) -> bool:
        """Up to date and no entry that never matches, is dropped, or admits every caller."""
        return not self.changed and not self.problems


def plan(settings: Settings, *, role_only: bool | None = None, cli_behaviour: str | None = None) -> Plan:
    """Read, validate, lint and merge without writing; raises :class:`CustomRolesError` on invalid input."""
    behaviour = cli_behaviour or settings.amplify.cli_behaviour
    if behaviour not in admin_rule.CLI_BEHAVIOURS:
        raise CustomRolesError("cli_behaviour", [f"{behaviour!r} is not one of {admin_rule.CLI_BEHAVIOURS}"])
    role_only = (not settings.amplify.include_session_in_entry) if role_only is None else role_only
    role = settings.mutator_role
    account = settings.accounts.api
    invalid = name_problems(account, role.name, role.session_name)
    if invalid:
        raise CustomRolesError(settings.source, invalid)
    subject = Subject(account, role.name, role.session_name)
    ours = assumed_role_entry(account, role.name, None if role_only else role.session_name)
    if not role_only and ours != settings.assumed_role_arn:  # one definition of the caller ARN
        raise CustomRolesError(
            settings.source, [f"entry {ours!r} differs from {settings.assumed_role_arn!r}"]
        )

    path = settings.custom_roles_path
    before = read_text(path)
    document = parse_document(before, str(path)) if before is not None else RolesDocument(())
    findings, problems = lint(document.entries, subject, behaviour, ours)
    if problems:
        raise CustomRolesError(str(path), problems)
    replace = {f.entry for f in findings if f.replacement is not None}
    merged = merge(document, ours, replace)
    if ours not in document.entries:
        findings += lint([ours], subject, behaviour, ours)[0]
    warnings = []
    if role_only:
        warnings.append(
            f"{ours!r} has no session name: it admits every session of {role.name} and every role whose name "
            f"extends {role.name!r} (e.g. {role.name}Admin); the exact entry is {settings.assumed_role_arn!r}"
        )
    return Plan(
        path=path,
        entry=ours,
        cli_behaviour=behaviour,
        role_only=role_only,
        before=before,
        after=render_document(merged),
        findings=tuple(findings),
        warnings=tuple(warnings),
    )


def generate(
    settings: Settings,
    *,
    role_only: bool | None = None,
    cli_behaviour: str | None = None,
    write: bool = True,
    create_dirs: bool = False,
) -> GenerateResult:
    """Merge the worker's entry into custom-roles.json and write it atomically when it changed.

    The API directory must exist (``amplify add api`` creates it) unless ``create_dirs``: a missing one
    usually means a wrong project directory or API name, and a file written there would do nothing.
    """
    result = plan(settings, role_only=role_only, cli_behaviour=cli_behaviour)
    fields = {name: getattr(result, name) for name in Plan.__dataclass_fields__}
    if not write or not result.changed:
        return GenerateResult(**fields, written=False)
    directory = result.path.parent
    if not directory.is_dir():
        if not create_dirs:
            raise CustomRolesError(
                str(directory),
                [
                    "no such Amplify API directory: check amplify.project_dir and amplify.api_name "
                    "(or --project-dir/--api-name), or pass --create-dirs"
                ],
            )
        directory.mkdir(parents=True, exist_ok=True)
    write_atomic(result.path, result.after, result.before)
    return GenerateResult(**fields, written=True)


def check(
    settings: Settings, *, role_only: bool | None = None, cli_behaviour: str | None = None
) -> CheckResult:
    """Whether the file is up to date and free of problem entries (for CI); never writes."""
    result = plan(settings, role_only=role_only, cli_behaviour=cli_behaviour)
    return CheckResult(**{name: getattr(result, name) for name in Plan.__dataclass_fields__})


__all__ = ["GEN2_NOTE", "WARNING", "CheckResult", "GenerateResult", "Plan", "check", "generate", "plan"]
