"""Amplify Gen 1's IAM admin-role rule, as its resolvers apply it.

Shared by the generator's lint and the sandbox's AppSync stand-in so both decide exactly alike; the
conformance test checks both against the VTL that Amplify's real transformer generates.

- ``custom-roles.json`` holds ``adminRoleNames`` (a string or a list); the CLI replaces the first
  ``${env}`` in each entry with the environment name.
- CLI behaviour ``verbatim`` (@aws-amplify/amplify-category-api <= 5.15.6): entries become ``adminRoles`` as
  written. ``normalize`` (5.15.7+): ``arn:<partition>:sts::<account>:assumed-role/X[/S]`` becomes ``X[/S]``
  and any other ``arn:`` entry is dropped (with a warning).
- A caller is admin when ``$ctx.identity.userArn.contains($adminRole)`` for some entry (case-sensitive
  substring) and the caller is not the Cognito auth/unauth role.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from worker.names import CLI_BEHAVIOURS, NORMALIZE, VERBATIM

__all__ = [
    "CLI_BEHAVIOURS",
    "NORMALIZE",
    "VERBATIM",
    "Resolution",
    "admin_roles",
    "is_admitted",
    "resolve_entry",
    "substitute_env",
]

# What the 5.15.7 CLI normalizes, as it does it (not worker.names' strict caller form): the rule must match
# Amplify's behaviour, including its leniency.
_ASSUMED_ROLE_ARN = re.compile(r"^arn:[a-z-]+:sts::\d{12}:assumed-role/(?P<rest>.+)$")


@dataclass(frozen=True)
class Resolution:
    """What one ``adminRoleNames`` entry becomes in the resolvers' ``adminRoles`` (None: dropped)."""

    entry: str
    admin_role: str | None
    warning: str | None = None


def substitute_env(entry: str, env_name: str | None) -> str:
    """The CLI replaces only the first ``${env}``; without an env name the entry is left alone."""
    return entry.replace("${env}", env_name, 1) if env_name is not None else entry


def resolve_entry(entry: str, behaviour: str = VERBATIM, env_name: str | None = None) -> Resolution:
    if behaviour not in CLI_BEHAVIOURS:
        raise ValueError(f"unknown Amplify CLI behaviour {behaviour!r}; expected one of {CLI_BEHAVIOURS}")
    value = substitute_env(entry, env_name)
    if behaviour == VERBATIM:
        return Resolution(entry, value)
    match = _ASSUMED_ROLE_ARN.match(value)
    if match:
        return Resolution(entry, match["rest"])
    if value.startswith("arn:"):
        return Resolution(
            entry, None, f"{entry!r} is an ARN but not an assumed-role ARN; the Amplify CLI drops it"
        )
    return Resolution(entry, value)


def admin_roles(entries: Iterable[str], behaviour: str = VERBATIM, env_name: str | None = None) -> list[str]:
    """The ``adminRoles`` list the resolvers receive for these ``adminRoleNames`` entries."""
    resolved = (resolve_entry(e, behaviour, env_name).admin_role for e in entries)
    return [role for role in resolved if role is not None]


def is_admitted(user_arn: str, roles: Sequence[str], cognito_role_arns: Iterable[str] = ()) -> bool:
    """The resolver's decision for an IAM caller."""
    if user_arn in set(cognito_role_arns):
        return False
    return any(role in user_arn for role in roles)
