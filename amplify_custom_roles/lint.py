"""What each ``adminRoleNames`` entry admits under Amplify's substring rule, and which entries are invalid.

The admitted sets are not described from the entry's text alone: each entry is resolved with the shared
``admin_rule`` (the same code the sandbox's AppSync stand-in runs) and tried against probe caller ARNs, so
the lint cannot disagree with the rule it explains.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from amplify_custom_roles import admin_rule
from amplify_custom_roles.names import ENV_PLACEHOLDER, assumed_role_entry, name_problems

OK = "ok"
WARNING = "warning"
PROBLEM = "problem"

# Lenient on purpose (any partition, account or name, even empty): these read what people wrote into
# custom-roles.json, to say what is wrong with it; worker.names holds the strict forms AWS produces.
_IAM_ROLE = re.compile(r"^arn:(?P<partition>[^:]*):iam::(?P<account>[^:]*):role/(?:[^/]*/)*(?P<role>[^/]*)$")
_ASSUMED = re.compile(
    r"^arn:(?P<partition>[^:]*):sts::(?P<account>[^:]*):assumed-role/(?P<role>[^/]*)(?:/(?P<session>[^/]*))?$"
)
_BARE = re.compile(r"^(?P<role>[^/:]*)(?:/(?P<session>[^/:]*))?$")


@dataclass(frozen=True)
class Subject:
    """The worker's identity: account B, the role and the pinned session name."""

    account: str
    role: str
    session: str

    @property
    def caller_arn(self) -> str:
        return assumed_role_entry(self.account, self.role, self.session)


@dataclass(frozen=True)
class Finding:
    """One entry's verdict: ``admits`` lists what the resolved entry lets in (empty: nothing)."""

    entry: str
    severity: str
    message: str
    admits: tuple[str, ...] = ()
    replacement: str | None = None
    admits_everyone: bool = False


@dataclass(frozen=True)
class _Target:
    """The account/role/session an entry names, used to build probe ARNs around it."""

    account: str
    role: str
    session: str | None


def _validate(entry: str) -> tuple[_Target | None, str, list[str]]:
    """(target, kind, problems) for one entry; kind is iam, assumed, bare, empty or other-arn."""
    value = entry.replace(ENV_PLACEHOLDER, "env", 1)  # the CLI substitutes the first ${env} only
    if value == "":
        return None, "empty", []
    if match := _IAM_ROLE.match(value):
        problems = name_problems(match["account"], match["role"], None)
        return _Target(match["account"], match["role"], None), "iam", problems
    if match := _ASSUMED.match(value):
        session = match["session"] or None  # "Role/" (trailing slash) names every session of Role
        problems = name_problems(match["account"], match["role"], session)
        return _Target(match["account"], match["role"], session), "assumed", problems
    if value.startswith("arn:"):
        return None, "other-arn", []
    if match := _BARE.match(value):
        session = match["session"] or None
        return (
            _Target("", match["role"], session),
            "bare",
            name_problems("000000000000", match["role"], session),
        )
    return (
        None,
        "invalid",
        [
            "not an IAM role name, Role/Session, or an arn:aws:sts::<account>:assumed-role/<Role>[/<Session>] ARN "
            "(role and session names cannot contain ':' or '/')"
        ],
    )


def _other_account(account: str) -> str:
    return "999999999999" if account != "999999999999" else "888888888888"


def _probes(target: _Target, subject: Subject) -> list[tuple[str, str]]:
    """(description, caller ARN) pairs around the entry's own role, session and account."""
    account = target.account or subject.account
    role = target.role
    session = target.session or subject.session
    other = _other_account(account)
    probes = [
        (f"other sessions of {role}", assumed_role_entry(account, role, "zz-other-session")),
        (f"sessions whose names extend {session!r}", assumed_role_entry(account, role, f"{session}-2")),
        (
            f"roles whose names extend {role!r} (e.g. {role}Admin)",
            assumed_role_entry(account, f"{role}Admin", session),
        ),
        (
            f"roles whose names end in {role!r} (e.g. My{role})",
            assumed_role_entry(account, f"My{role}", session),
        ),
        (f"{role} in any account (e.g. {other})", assumed_role_entry(other, role, session)),
    ]
    if target.session is None:
        probes = probes[:1] + probes[2:]
    return probes


# Callers with names that share no character with each other: an entry contained in all of a group's ARNs is
# contained in what every such ARN has in common (the partition, service and resource-type text, the account).
_WIDE_ACCOUNTS = ("135791357913", "246802468024")
_WIDE_NAMES = (("QJX", "qjx"), ("VKZ", "vkz"))


def _wide_open(role: str, entry: str, subject: Subject) -> str | None:
    """Whether the resolved entry admits every IAM caller, or every user or role session of one account."""
    every = [
        arn
        for account, (name, session) in zip(_WIDE_ACCOUNTS, _WIDE_NAMES, strict=True)
        for arn in (
            assumed_role_entry(account, name, session),
            f"arn:aws:iam::{account}:user/{name}",
        )
    ]
    if all(admin_rule.is_admitted(arn, [role]) for arn in every):
        return f"as {role!r} it is part of every caller ARN: admits every IAM caller, in every account"
    accounts = dict.fromkeys([*re.findall(r"(?<!\d)\d{12}(?!\d)", entry), subject.account])
    for account in accounts:
        kinds = {
            "every role session": [assumed_role_entry(account, n, s) for n, s in _WIDE_NAMES],
            "every IAM user": [f"arn:aws:iam::{account}:user/{n}" for n, _ in _WIDE_NAMES],
        }
        for kind, arns in kinds.items():
            if all(admin_rule.is_admitted(arn, [role]) for arn in arns):
                return f"as {role!r}: admits {kind} of account {account}, whatever its name"
    return None


def _stale_own(target: _Target | None, kind: str, entry: str, subject: Subject, ours: str) -> str | None:
    """Why an assumed-role entry is an earlier entry of the worker's own (to be replaced by ``ours``)."""
    if kind != "assumed" or target is None or entry == ours or "${" in entry:
        return None
    same_account = target.account == subject.account
    if not same_account:
        if target.role == subject.role and target.session == subject.session:
            return (
                f"the worker's own entry for account {target.account}, but accounts.api is {subject.account}"
            )
        return None
    if target.role == subject.role:
        if target.session is None:
            return "the worker role's role-only entry, next to the exact one"
        if target.session == subject.session:  # ours is the role-only entry this time
            return "the worker role's exact entry, next to the role-only one written now"
        return f"the worker role with session {target.session!r}, which its trust policy no longer admits"
    if target.session is not None and target.session == subject.session:
        return f"the worker's pinned session under role {target.role!r} (the role was renamed?)"
    return None


def _broadening(admits: Sequence[str]) -> list[str]:
    return [a for a in admits if not a.startswith("sessions whose names extend")]


def lint_entry(entry: str, subject: Subject, behaviour: str, ours: str) -> tuple[Finding | None, list[str]]:
    """A finding for a valid entry, or the problems that make the file invalid."""
    target, kind, problems = _validate(entry)
    if problems:
        return None, [f"adminRoleNames entry {entry!r}: {p}" for p in problems]
    role = admin_rule.resolve_entry(entry, behaviour, env_name="env").admin_role  # probes see no "${"
    shown = admin_rule.resolve_entry(entry, behaviour).admin_role
    if kind == "iam" and target is not None:
        never = (
            f"never matches: AppSync's caller ARN is arn:aws:sts::{target.account}:assumed-role/{target.role}/"
            "<session>, which never contains an arn:aws:iam:: role ARN"
        )
        if target.account == subject.account and target.role == subject.role:
            return Finding(entry, WARNING, f"{never}; replaced by {ours!r}", replacement=ours), []
        fix = assumed_role_entry(target.account, target.role, "<session>")
        return Finding(entry, PROBLEM, f"{never}; if that role should be admin, write {fix!r}"), []
    if role is None:
        return Finding(entry, PROBLEM, f"dropped by the Amplify CLI ({behaviour}): admits nothing"), []
    if role == "":
        return (
            Finding(
                entry,
                PROBLEM,
                "the empty string is in every caller ARN: admits every IAM caller",
                admits_everyone=True,
            ),
            [],
        )
    wide = _wide_open(role, entry, subject)
    if wide is not None:
        return Finding(entry, PROBLEM, wide, admits_everyone=True), []
    stale = _stale_own(target, kind, entry, subject, ours)
    if stale is not None:
        return (
            Finding(
                entry, WARNING, f"{stale}: an earlier entry of ours; replaced by {ours!r}", replacement=ours
            ),
            [],
        )
    admits_worker = admin_rule.is_admitted(subject.caller_arn, [role])
    if target is None:  # an ARN that is not an assumed-role ARN, kept by the verbatim CLI
        what = "admits the worker" if admits_worker else "does not admit the worker"
        return (
            Finding(
                entry, PROBLEM, f"an ARN that is not an assumed-role ARN: {what}; the 5.15.7+ CLI drops it"
            ),
            [],
        )
    admits = tuple(d for d, arn in _probes(target, subject) if admin_rule.is_admitted(arn, [role]))
    is_ours = target.account in ("", subject.account) and target.role == subject.role
    who = f"the worker ({subject.caller_arn})" if admits_worker else f"{target.role} sessions"
    message = f"as {shown!r}: admits {who}"
    if _broadening(admits):
        message += "; also " + ", ".join(admits)
    elif admits:
        message += f" (and {admits[0]})"
    if "${env}" in entry:
        message += "; ${env} is replaced by the environment name at `amplify push`"
    severity = WARNING if _broadening(admits) else OK
    if is_ours and severity == WARNING and target.session and behaviour == admin_rule.NORMALIZE:
        message += " (the 5.15.7+ CLI strips the account and the anchoring; no entry form avoids that)"
    return Finding(entry, severity, message, admits), []


def lint(
    entries: Sequence[str], subject: Subject, behaviour: str, ours: str
) -> tuple[list[Finding], list[str]]:
    """Findings for every valid entry and the problems of every invalid one."""
    findings: list[Finding] = []
    problems: list[str] = []
    for entry in entries:
        finding, entry_problems = lint_entry(entry, subject, behaviour, ours)
        problems.extend(entry_problems)
        if finding is not None:
            findings.append(finding)
    return findings, problems
