"""The names AWS accepts and the entry forms built from them.

Validation is ASCII-only on purpose: IAM role and session names allow ``[A-Za-z0-9_+=,.@-]``, and Python's
``\\w`` would also accept letters such as ``é`` that AWS rejects.
"""

from __future__ import annotations

import re

ACCOUNT_RE = re.compile(r"^\d{12}$")
ROLE_NAME_RE = re.compile(r"^[A-Za-z0-9_+=,.@-]{1,64}$")
SESSION_NAME_RE = re.compile(r"^[A-Za-z0-9_+=,.@-]{2,64}$")
ENV_PLACEHOLDER = "${env}"


def assumed_role_entry(account: str, role: str, session: str | None) -> str:
    """The ``adminRoleNames`` entry for a role session as AppSync reports it (``userArn``, no role path)."""
    base = f"arn:aws:sts::{account}:assumed-role/{role}"
    return f"{base}/{session}" if session is not None else base


def name_problems(account: str, role: str, session: str | None) -> list[str]:
    """Why AWS would reject this account id, role name or session name (empty when all are valid)."""
    problems = []
    if not ACCOUNT_RE.match(account):
        problems.append(f"account id {account!r} is not 12 digits")
    if not ROLE_NAME_RE.match(role):
        problems.append(f"role name {role!r} is not 1-64 characters of letters, digits and _+=,.@-")
    if session is not None and not SESSION_NAME_RE.match(session):
        problems.append(f"session name {session!r} is not 2-64 characters of letters, digits and _+=,.@-")
    return problems
