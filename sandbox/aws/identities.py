"""Who holds an access key in the sandbox, and what their identity policies allow; read from moto's backends.

Two keys are the sandbox's own and belong to no IAM entity: the *operator* (the root of a management account
that bootstraps the two accounts) and the *Lambda service* (it starts execution-role sessions, as Lambda does).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sandbox.aws.policy import Decision, Principal, RequestContext, evaluate
from sandbox.identity import CallerIdentity

OPERATOR_ACCOUNT = "123456789012"  # moto's default account: the sandbox's "management" account
OPERATOR_KEY = "AKIASANDBOXOPERATOR0"
OPERATOR_SECRET = "sandbox-operator-secret-not-a-real-key"
LAMBDA_SERVICE_KEY = "AKIASANDBOXLAMBDASVC"
LAMBDA_SERVICE_SECRET = "sandbox-lambda-service-secret-not-real"
LAMBDA_SERVICE = "lambda.amazonaws.com"


def _backends() -> tuple[Any, Any]:
    from moto.iam.models import iam_backends
    from moto.sts.models import sts_backends

    return iam_backends, sts_backends


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class SandboxIdentities:
    """Implements ``sandbox.identity.IdentityResolver`` over moto's in-process backends."""

    def __init__(self, accounts: list[str]) -> None:
        self.accounts = accounts

    # --- credentials -------------------------------------------------------------------------------
    def assumed_role(self, access_key_id: str) -> Any:
        _, sts_backends = _backends()
        for account in self.accounts:
            role = sts_backends[account]["aws"].get_assumed_role_from_access_key(access_key_id)
            if role is not None:
                return role
        return None

    def all_assumed_roles(self) -> list[Any]:
        _, sts_backends = _backends()
        return [role for account in self.accounts for role in sts_backends[account]["aws"].assumed_roles]

    def _user_key(self, access_key_id: str) -> tuple[str, Any, Any] | None:
        iam_backends, _ = _backends()
        for account in self.accounts:
            backend = iam_backends[account]["aws"]
            for user in backend.users.values():
                for key in user.access_keys:
                    if key.access_key_id == access_key_id:
                        return account, user, key
        return None

    def lookup(self, access_key_id: str) -> CallerIdentity | None:
        role = self.assumed_role(access_key_id)
        if role is not None:
            return CallerIdentity(
                access_key_id=role.access_key_id,
                secret_access_key=role.secret_access_key,
                session_token=role.session_token,
                expiration=_aware(role.expiration),
                arn=role.arn,
                account_id=role.account_id,
                role_arn=role.role_arn,
            )
        found = self._user_key(access_key_id)
        if found is not None:
            account, user, key = found
            return CallerIdentity(access_key_id, key.secret_access_key, None, None, user.arn, account, None)
        return None

    def principal(self, access_key_id: str) -> Principal | None:
        if access_key_id == OPERATOR_KEY:
            return Principal(
                f"arn:aws:iam::{OPERATOR_ACCOUNT}:root",
                OPERATOR_ACCOUNT,
                f"arn:aws:iam::{OPERATOR_ACCOUNT}:root",
            )
        if access_key_id == LAMBDA_SERVICE_KEY:
            return Principal(LAMBDA_SERVICE, None, None, service=LAMBDA_SERVICE)
        identity = self.lookup(access_key_id)
        if identity is None:
            return None
        return Principal(identity.arn, identity.account_id, identity.role_arn or identity.arn)

    # --- policies ----------------------------------------------------------------------------------
    def identity_policies(self, principal_arn: str) -> list[Any]:
        """Inline and attached managed policy documents of a role or user."""
        iam_backends, _ = _backends()
        account = principal_arn.split(":")[4]
        backend = iam_backends[account]["aws"]
        name = principal_arn.rsplit("/", 1)[-1]
        if ":role/" in principal_arn:
            entity = next((r for r in backend.roles.values() if r.name == name), None)
        else:
            entity = backend.users.get(name)
        if entity is None:
            return []
        holders = [entity]
        if ":user/" in principal_arn:  # a user's identity policies include those of its groups
            holders += [g for g in backend.groups.values() if any(u is entity for u in g.users)]
        documents: list[Any] = []
        for holder in holders:
            documents.extend(holder.policies.values())
            for policy in holder.managed_policies.values():
                version = next((v for v in policy.versions if v.is_default), None)
                if version is not None:
                    documents.append(version.document)
        return [json.loads(d) if isinstance(d, str) else d for d in documents]

    def role(self, role_arn: str) -> Any:
        iam_backends, _ = _backends()
        account = role_arn.split(":")[4]
        if account not in iam_backends:
            return None
        name = role_arn.rsplit("/", 1)[-1]
        return next((r for r in iam_backends[account]["aws"].roles.values() if r.name == name), None)

    def decide(
        self, principal: Principal, action: str, resource: str, keys: dict[str, str] | None = None
    ) -> Decision:
        if principal.is_root:
            return Decision.ALLOW  # an account root is not limited by identity policies
        if principal.principal_arn is None:
            return Decision.IMPLICIT_DENY
        return evaluate(
            self.identity_policies(principal.principal_arn), RequestContext(action, resource, keys or {})
        )

    def is_allowed(self, caller: CallerIdentity, action: str, resource: str) -> bool:
        principal = Principal(caller.arn, caller.account_id, caller.role_arn or caller.arn)
        return self.decide(principal, action, resource) is Decision.ALLOW

    def issued_secrets(self) -> set[str]:
        secrets = {OPERATOR_SECRET, LAMBDA_SERVICE_SECRET}
        for role in self.all_assumed_roles():
            secrets.update({role.secret_access_key, role.session_token})
        iam_backends, _ = _backends()
        for account in self.accounts:
            for user in iam_backends[account]["aws"].users.values():
                secrets.update(key.secret_access_key for key in user.access_keys)
        return secrets
