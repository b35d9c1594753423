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
    project_account: str | None = None  # the account amplify-meta.json puts the project in, when known

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
    def admits_everyone(self) -> tuple[Finding, ...]:
        """Entries of the resulting file that admit every IAM caller (or every user/session of an account)."""
        return tuple(f for f in self.findings if f.admits_everyone)

    def refusal(self) -> CustomRolesError | None:
        """Why this file must not be written without ``force`` (None when it may be)."""
        if not self.admits_everyone:
            return None
        return CustomRolesError(
            str(self.path),
            [f"adminRoleNames entry {f.entry!r}: {f.message}" for f in self.admits_everyone]
            + [
                "refusing to write a file that admits every IAM caller: remove the entry (or ask its owner "
                "to), or pass --force to write it anyway"
            ],
        )

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


class Gen2ProjectError(CustomRolesError):
    """``amplify.generation = 2``: there is no custom-roles.json to write (not an error for the CLI)."""


def missing_api_directory(settings: Settings) -> CustomRolesError | None:
    """The error every mode reports when amplify/backend/api/<api>/ is not there (None when it is).

    A missing directory usually means a wrong project directory or API name: a file written there would do
    nothing, and a diff "from /dev/null" would hide the mistake.
    """
    directory = settings.custom_roles_path.parent
    if directory.is_dir():
        return None
    project = settings.amplify.project_dir
    api_root = directory.parent
    problems = [
        f"no such Amplify API directory: check amplify.project_dir ({project}) and amplify.api_name "
        f"({settings.amplify.api_name!r}) (or --project-dir/--api-name), or pass --create-dirs"
    ]
    if api_root.is_dir():
        found = sorted(p.name for p in api_root.iterdir() if p.is_dir())
        problems.append(
            f"the APIs in {api_root} are: {', '.join(found)}" if found else f"{api_root} holds no API"
        )
    elif (project / "amplify_outputs.json").is_file() or (project / "amplify" / "backend.ts").is_file():
        problems.append(f"{project} is an Amplify Gen 2 project: {GEN2_NOTE}")
    elif not (project / "amplify").is_dir():
        problems.append(f"{project} has no amplify/ folder: it is not an Amplify Gen 1 project")
    return CustomRolesError(str(directory), problems)


def plan(
    settings: Settings,
    *,
    role_only: bool | None = None,
    cli_behaviour: str | None = None,
    create_dirs: bool = False,
    force: bool = False,
) -> Plan:
    """Read, validate, lint and merge without writing; raises :class:`CustomRolesError` on invalid input.

    A missing API directory is invalid input in every mode unless ``create_dirs``; so is a settings account
    that is not the one the project's amplify-meta.json names, unless ``force``. Under
    ``amplify.generation = 2`` it raises :class:`Gen2ProjectError`.
    """
    generation = settings.amplify.generation
    if not generation.custom_roles_gate:
        raise Gen2ProjectError(
            settings.source,
            [f"{generation.setting_text}: nothing to write. {GEN2_NOTE} (`make synth` / `make deploy`)"],
        )
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
    if not create_dirs and (missing := missing_api_directory(settings)) is not None:
        raise missing
    from project_settings.amplify_files import project_account

    deployed_in = project_account(settings.amplify.project_dir, settings.amplify.api_name)
    if deployed_in is not None and deployed_in != account and not force:
        raise CustomRolesError(
            settings.source,
            [
                f"accounts.api is {account}, but the Amplify project's amplify-meta.json puts its API in account "
                f"{deployed_in}: the entry would admit a role in another account and never the worker. Set "
                f"accounts.api = {deployed_in!r} (or `appsync-mutations init --from-amplify "
                f"{settings.amplify.project_dir}`), or pass --force"
            ],
        )
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
    operator = settings.operator_role
    if operator.enabled:
        # the operators' own role. Its sessions are named by the person (operator-<identity>), so
        # the entry is the role-level prefix; who may start such a session is the role's trust policy's job
        # (named principals, with a source identity).
        operator_entry = settings.operator_assumed_role_prefix
        merged = merge(merged, operator_entry)
        if operator_entry not in document.entries:
            warnings.append(
                f"added {operator_entry!r} for the operator role: it admits every session of {operator.name} "
                f"(each named operator-<source identity>) and every role whose name extends {operator.name!r}; "
                "the role's trust policy admits only [operator_role] principals, with a source identity"
            )
    if role_only:
        warnings.append(
            f"{ours!r} has no session name: it admits every session of {role.name} and every role whose name "
            f"extends {role.name!r} (e.g. {role.name}Admin); the exact entry is {settings.assumed_role_arn!r}"
        )
    elif behaviour == admin_rule.NORMALIZE:
        normalized = admin_rule.resolve_entry(ours, behaviour).admin_role
        warnings.append(
            f"under the normalize behaviour (@aws-amplify/amplify-category-api 5.15.7+) the entry becomes "
            f"{normalized!r}: an unanchored substring without the account, so it also admits roles whose name "
            f"ends with {role.name!r} (e.g. My{role.name}/{role.session_name}), in any account that can reach "
            "the API (AWS RAM can share an AppSync API with other accounts); no entry form avoids that"
        )
    stale = [f for f in findings if f.replacement is not None and f.entry in document.entries]
    for finding in stale:
        warnings.append(f"replaced {finding.entry!r}: {finding.message}")
    return Plan(
        path=path,
        entry=ours,
        cli_behaviour=behaviour,
        role_only=role_only,
        before=before,
        after=render_document(merged),
        findings=tuple(findings),
        warnings=tuple(warnings),
        project_account=deployed_in,
    )


def generate(
    settings: Settings,
    *,
    role_only: bool | None = None,
    cli_behaviour: str | None = None,
    write: bool = True,
    create_dirs: bool = False,
    force: bool = False,
) -> GenerateResult:
    """Merge the worker's entry into custom-roles.json and write it atomically when it changed.

    The API directory must exist (``amplify add api`` creates it) unless ``create_dirs``: a missing one
    usually means a wrong project directory or API name, and a file written there would do nothing. A
    result that admits every IAM caller is refused (also with ``write=False``) unless ``force``.
    """
    result = plan(
        settings, role_only=role_only, cli_behaviour=cli_behaviour, create_dirs=create_dirs, force=force
    )
    if not force and (refusal := result.refusal()) is not None:
        raise refusal
    fields = {name: getattr(result, name) for name in Plan.__dataclass_fields__}
    if not write or not result.changed:
        return GenerateResult(**fields, written=False)
    directory = result.path.parent
    if not directory.is_dir():
        directory.mkdir(parents=True, exist_ok=True)
    write_atomic(result.path, result.after, result.before)
    return GenerateResult(**fields, written=True)


def check(
    settings: Settings,
    *,
    role_only: bool | None = None,
    cli_behaviour: str | None = None,
    force: bool = False,
) -> CheckResult:
    """Whether the file is up to date and free of problem entries (for CI); never writes."""
    result = plan(settings, role_only=role_only, cli_behaviour=cli_behaviour, force=force)
    return CheckResult(**{name: getattr(result, name) for name in Plan.__dataclass_fields__})


__all__ = [
    "GEN2_NOTE",
    "WARNING",
    "CheckResult",
    "Gen2ProjectError",
    "GenerateResult",
    "Plan",
    "check",
    "generate",
    "missing_api_directory",
    "plan",
]
