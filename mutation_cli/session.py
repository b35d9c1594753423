"""The base (account-A) credentials an operator command starts from.

The account-B trust policy admits only sessions of the worker's execution role (``aws:PrincipalArn``), so an
operator either runs with such a session already (botocore's default chain: environment, profile, SSO...) or
passes ``--via-role-arn`` to assume that role first from whatever the default chain holds. Every AssumeRole of
the account-B role is then made from this base session, exactly as the worker makes it from its own.
People should rather use ``--as-operator`` (``mutation_cli.operator``): their own credentials, the operator role.
"""

from __future__ import annotations

import getpass
import re
from typing import Any

import botocore.session
from botocore.credentials import (
    AssumeRoleCredentialFetcher,
    CredentialProvider,
    CredentialResolver,
    DeferredRefreshableCredentials,
)
from botocore.exceptions import BotoCoreError, ClientError

from mutation_cli.errors import UsageError

_SESSION_CHARS = re.compile(r"[^\w+=,.@-]")


class _FixedProvider(CredentialProvider):
    METHOD = "via-role"

    def __init__(self, credentials: Any) -> None:
        super().__init__()
        self._credentials = credentials

    def load(self) -> Any:
        return self._credentials


def default_session_name() -> str:
    """Who ran the command, visible in CloudTrail as the intermediate role's session name."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return _SESSION_CHARS.sub("-", f"operator-{user}")[:64]


def base_session(via_role_arn: str | None = None, via_session_name: str | None = None) -> Any:
    """A botocore session for account A; with ``via_role_arn``, one whose credentials are that role's."""
    session = botocore.session.get_session()
    if not via_role_arn:
        return session
    source = session.get_credentials()
    if source is None:
        raise UsageError("--via-role-arn needs base credentials to assume it with; none were found")
    fetcher = AssumeRoleCredentialFetcher(
        session.create_client,
        source,
        via_role_arn,
        extra_args={"RoleSessionName": via_session_name or default_session_name()},
    )
    credentials = DeferredRefreshableCredentials(fetcher.fetch_credentials, "assume-role")
    try:
        credentials.get_frozen_credentials()  # fail here, not in the middle of the account-B AssumeRole
    except (ClientError, BotoCoreError) as exc:
        raise ViaRoleError(via_role_arn, exc) from None
    chained = botocore.session.Session()
    chained.register_component("credential_provider", CredentialResolver([_FixedProvider(credentials)]))
    return chained


class ViaRoleError(Exception):
    """The intermediate role of ``--via-role-arn`` could not be assumed."""

    def __init__(self, role_arn: str, cause: Exception) -> None:
        super().__init__(
            f"could not assume --via-role-arn {role_arn}: {cause}. Its trust policy must admit your "
            "identity, and your identity policy must allow sts:AssumeRole on it"
        )
        self.role_arn = role_arn
