"""The contract between the sandbox's AWS side (moto + STS gate) and its AppSync stand-in."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class CallerIdentity:
    """Whoever holds an access key in the sandbox."""

    access_key_id: str
    secret_access_key: str
    session_token: str | None  # None for long-term (AKIA) keys
    expiration: datetime | None  # timezone-aware UTC; None for long-term keys
    arn: str  # arn:aws:sts::<acct>:assumed-role/<Role>/<Session> or arn:aws:iam::<acct>:user/<name>
    account_id: str
    role_arn: str | None  # arn:aws:iam::<acct>:role/<Role> for role sessions


class IdentityResolver(Protocol):
    def lookup(self, access_key_id: str) -> CallerIdentity | None:
        """The identity behind an access key, or None when the sandbox never issued it."""

    def is_allowed(self, caller: CallerIdentity, action: str, resource: str) -> bool:
        """Whether the caller's identity policies allow ``action`` on ``resource`` (explicit deny wins)."""
