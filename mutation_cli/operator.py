"""``--as-operator``: people send and replay through the operator role in account B, never as
the worker.

The operator role's trust admits only ``[operator_role] principals`` and only with a source identity, so the
command assumes it from the person's own credentials with ``SourceIdentity`` = who they are (the last segment
of their caller ARN, or ``--source-identity``) and session name ``operator-<that>``. The allow-list checked
before anything is sent is the operator role's own. The worker's execution role's trust is not widened.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from mutation_cli.config import CliContext
from mutation_cli.errors import UsageError
from project_settings.model import OPERATOR_SESSION_PREFIX
from worker.config import MAX_CHAINED_SESSION_SECONDS

#: STS's rule for SourceIdentity: 2-64 characters of letters, digits and _+=,.@-.
SOURCE_IDENTITY_RE = re.compile(r"[\w+=,.@-]{2,64}", re.ASCII)

NOT_CONFIGURED = (
    'no operator role is configured: add [operator_role] principals = ["arn:aws:iam::<A>:role/<yours>"] '
    "(role or user ARNs in account A) to settings.toml, re-deploy the account-B stack (`make deploy`) and, "
    "under Gen 1, `make custom-roles` then `amplify push`; grant those principals sts:AssumeRole and "
    "sts:SetSourceIdentity on the operator role"
)


def source_identity_of(caller_arn: str) -> str:
    """Who the person is, as their caller ARN's last segment (user name, or their own role session name)."""
    segment = caller_arn.rsplit("/", 1)[-1] if "/" in caller_arn else ""
    if not SOURCE_IDENTITY_RE.fullmatch(segment):
        raise UsageError(
            f"cannot take a source identity from {caller_arn!r} (an account root, or a name STS refuses): pass "
            "--source-identity NAME (2-64 of letters, digits and _+=,.@-)"
        )
    return segment


def operator_context(ctx: CliContext, source_identity: str) -> CliContext:
    """The context with the operator role's ARN, session name and allow-list in place of the worker's."""
    settings = ctx.settings
    if settings is None or not settings.operator_role.enabled:
        raise UsageError(NOT_CONFIGURED)
    if not SOURCE_IDENTITY_RE.fullmatch(source_identity):
        raise UsageError(
            f"--source-identity {source_identity!r} must be 2-64 of letters, digits and _+=,.@- (STS's rule)"
        )
    config = replace(
        ctx.config,
        role_arn=settings.operator_role_arn,
        session_name=f"{OPERATOR_SESSION_PREFIX}{source_identity}"[:64],
        allowed_mutations=frozenset(settings.operator_role.allowed_mutations),
        external_id=None,
        session_seconds=min(ctx.config.session_seconds, MAX_CHAINED_SESSION_SECONDS),
    )
    return replace(ctx, config=config, source_identity=source_identity)


def set_source_identity(session: Any, role_arn: str, source_identity: str) -> None:
    """Every AssumeRole of ``role_arn`` made by clients of ``session`` carries ``SourceIdentity``.

    The worker's own credential code (``account_b_credentials``) makes the call unchanged; this botocore event
    handler adds the parameter, for the operator role only."""

    def add(params: dict[str, Any], **_: Any) -> None:
        if params.get("RoleArn") == role_arn:
            params.setdefault("SourceIdentity", source_identity)

    session.register("provide-client-params.sts.AssumeRole", add)


def caller_arn(session: Any, region: str) -> str:
    return str(session.create_client("sts", region_name=region).get_caller_identity()["Arn"])


def as_operator(ctx: CliContext, session: Any, source_identity: str | None) -> CliContext:
    """Switch ``ctx`` to the operator role for the person behind ``session``, and make ``session`` set the
    source identity on that AssumeRole."""
    if ctx.settings is None or not ctx.settings.operator_role.enabled:
        raise UsageError(NOT_CONFIGURED)
    identity = source_identity or source_identity_of(caller_arn(session, ctx.config.region))
    operator = operator_context(ctx, identity)
    set_source_identity(session, operator.config.role_arn, identity)
    return operator
