"""The names AWS accepts (``worker.names``, their one home) and the custom-roles.json entry built from them."""

from __future__ import annotations

from worker.names import ACCOUNT_RE, ROLE_NAME_RE, SESSION_NAME_RE
from worker.names import assumed_role_arn as assumed_role_entry

__all__ = [
    "ACCOUNT_RE",
    "ENV_PLACEHOLDER",
    "ROLE_NAME_RE",
    "SESSION_NAME_RE",
    "assumed_role_entry",
    "name_problems",
]

ENV_PLACEHOLDER = "${env}"


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
