"""Turn the two walls people hit into a likely cause and a fix, so nobody has to guess again."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from worker.errors import MutationError

_DENIED_USER = re.compile(r"User: (?P<caller>\S+) is not authorized to perform: sts:AssumeRole")
_ASSUMED = re.compile(
    r"^arn:aws[a-z-]*:sts::(?P<account>\d{12}):assumed-role/(?P<role>[^/]+)/(?P<session>.+)$"
)


def explain_assume_role_denied(
    message: str, role_arn: str, session_name: str, args: Mapping[str, Any]
) -> str:
    """Why STS said no, from what the worker knows in account A (it cannot read account B's trust policy)."""
    if "role chaining" in message:
        return (
            f"DurationSeconds={args.get('DurationSeconds')} exceeds the 1-hour cap for a role assumed from another "
            "role's session (the Lambda execution role): set MUTATOR_SESSION_SECONDS to 3600 or less"
        )
    if "MaxSessionDuration" in message:
        return (
            f"the role's MaxSessionDuration is below DurationSeconds={args.get('DurationSeconds')}: lower "
            "MUTATOR_SESSION_SECONDS or raise the role's MaxSessionDuration"
        )
    match = _DENIED_USER.search(message)
    caller = match["caller"] if match else "the execution role"
    assumed = _ASSUMED.match(caller)
    role_name = role_arn.rsplit("/", 1)[-1]
    if assumed and assumed["role"] == role_name:
        return (
            f"the call was made with the account-B role's own credentials ({caller}): re-assuming a role from its "
            "own session is refused. Assume from the execution role's session; do not put the assumed "
            "credentials into the environment or the default boto3 session."
        )
    hints = [
        f"the trust policy of {role_arn} must allow {caller}'s role (Principal or aws:PrincipalArn)",
        f"it must pin sts:RoleSessionName to exactly {session_name!r}, the name this worker uses "
        "(MUTATOR_SESSION_NAME); a different pinned name is refused with this same error",
        f"the execution role's own policy must allow sts:AssumeRole on {role_arn}",
    ]
    if "ExternalId" in args:
        hints.append("the trust policy's sts:ExternalId must equal MUTATOR_EXTERNAL_ID")
    else:
        hints.append("if the trust policy requires sts:ExternalId, set MUTATOR_EXTERNAL_ID")
    hints.append(
        "all of these come from settings.toml: re-deploy both stacks from the same file (make synth)"
    )
    return "check, in order: " + "; ".join(hints)


def explain_resolver_unauthorized(
    field: str, caller_arn: str | None, role_arn: str, session_name: str
) -> str:
    account = role_arn.split(":")[4]
    role_name = role_arn.rsplit("/", 1)[-1]
    entry = f"arn:aws:sts::{account}:assumed-role/{role_name}/{session_name}"
    return (
        f"Amplify's resolver for {field} refused caller {caller_arn or entry}: custom-roles.json must list {entry!r} "
        "in adminRoleNames (an arn:aws:iam::...:role/... entry never matches); run `make custom-roles` then "
        "`amplify push` so the resolvers are regenerated"
    )


def explain_iam_denied(field: str, caller_arn: str | None, role_arn: str) -> str:
    return (
        f"AppSync's IAM check refused {caller_arn or role_arn}: the identity policy of {role_arn} must allow "
        f"appsync:GraphQL on .../types/Mutation/fields/{field} (add the field to appsync.allowed_mutations in "
        "settings.toml and re-deploy the account-B stack)"
    )


def explain_signature_rejected(message: str) -> str:
    if "Signature expired" in message or "date" in message.lower():
        return "the request date is too far from AppSync's clock (over 5 minutes): check the host's clock"
    if "token" in message.lower():
        return (
            "AppSync did not accept the session token: the credentials are not the assumed account-B role's"
        )
    return (
        "AppSync computed a different signature: check APPSYNC_HOST/APPSYNC_REGION for custom domains "
        "(the signed host and region must match the endpoint)"
    )


def diagnose(
    error: MutationError, field: str, caller_arn: str | None, role_arn: str, session_name: str
) -> MutationError:
    """Attach the likely cause and fix to an authorization or signing failure (whatever transport sent it)."""
    from worker.errors import IAMDeniedError, ResolverUnauthorizedError, SigningError

    if error.diagnosis:
        return error
    if isinstance(error, ResolverUnauthorizedError):
        error.diagnosis = explain_resolver_unauthorized(field, caller_arn, role_arn, session_name)
    elif isinstance(error, IAMDeniedError):
        error.diagnosis = explain_iam_denied(field, caller_arn, role_arn)
    elif isinstance(error, SigningError):
        error.diagnosis = explain_signature_rejected(error.reason)
    return error
