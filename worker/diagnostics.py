"""Turn the two walls people hit into a likely cause and a fix, so nobody has to guess again."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from worker.names import ASSUMED_ROLE_ARN_RE, assumed_role_arn

if TYPE_CHECKING:
    from worker.errors import MutationError

_DENIED_USER = re.compile(r"User: (?P<caller>\S+) is not authorized to perform: sts:AssumeRole")


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
    assumed = ASSUMED_ROLE_ARN_RE.match(caller)
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
    entry = assumed_role_arn(role_arn.split(":")[4], role_arn.rsplit("/", 1)[-1], session_name)
    return (
        f"Amplify's resolver for {field} refused caller {caller_arn or entry}: custom-roles.json must list {entry!r} "
        "in adminRoleNames (an arn:aws:iam::...:role/... entry never matches); run `make custom-roles` then "
        "`amplify push` so the resolvers are regenerated. If it already does and was pushed: a model with no "
        "@auth rule of its own under the schema's global rule (`input AMPLIFY { globalAuthRule: AuthRule = "
        "{ allow: public } }`) is in sandbox mode, which refuses every IAM caller, admin roles included; add "
        "`@auth(rules: [{ allow: public }])` to that model (it keeps its API-key access) and push "
        "(`appsync-mutations doctor` names the model)"
    )


def explain_iam_denied(field: str, caller_arn: str | None, role_arn: str) -> str:
    return (
        f"AppSync's IAM check refused {caller_arn or role_arn}: the identity policy of {role_arn} must allow "
        f"appsync:GraphQL on .../types/Mutation/fields/{field} (add the field to appsync.allowed_mutations in "
        "settings.toml and re-deploy the account-B stack)"
    )


_AMZ_DATE = "%Y%m%dT%H%M%SZ"
_DATE = r"\d{8}T\d{6}Z"
# AppSync's own wording (SigV4's, as every AWS front door answers): the request's date, then the bound, then
# AppSync's clock: "Signature not yet current: <sent> is still later than <bound> (<now> + 5 min.)" when the
# signer's clock is ahead, "Signature expired: <sent> is now earlier than <bound> (<now> - 5 min.)" when behind.
_SKEW = re.compile(
    rf"Signature (?:not yet current|expired): (?P<sent>{_DATE}) is (?:still later|now earlier) than "
    rf"{_DATE} \((?P<now>{_DATE}) [+-] 5 min\.\)"
)


def explain_signature_rejected(message: str) -> str:
    """Why AppSync refused the request's signature, from its message (the request-level refusal)."""
    lowered = message.lower()
    if "signature not yet current" in lowered or "signature expired" in lowered:
        return _explain_clock_skew(message, ahead="signature not yet current" in lowered)
    if "unrecognizedclient" in lowered or "security token included in the request is invalid" in lowered:
        return (
            "AppSync did not accept the session token: the credentials are not the assumed account-B role's"
        )
    if "unable to parse jwt token" in lowered:
        # AppSync read the SigV4 header as a Cognito token (aws-amplify/docs#1884): no AWS_IAM mode on the API.
        return (
            "the API does not accept IAM: its authorization modes lack AWS_IAM, so AppSync read the SigV4 header "
            "as a Cognito user-pool token. Add IAM as an additional authorization type (Gen 1: `amplify update "
            "api`, then `amplify push`)"
        )
    if "valid authorization header not provided" in lowered:
        return (
            "no SigV4 Authorization header reached AppSync: something between the worker and the endpoint "
            "(a proxy, a custom domain's front door) dropped it, or the API has no AWS_IAM authorization mode "
            "(Gen 1: `amplify update api` to add IAM, then `amplify push`)"
        )
    if "scoped to a valid region" in lowered:
        return (
            "the request was signed for another region than the API's: set APPSYNC_REGION to the API's region "
            "(needed for custom domains; for an appsync-api.<region> host it is read from the URL)"
        )
    return (
        "AppSync computed a different signature over the request it received: requests are signed for "
        "APPSYNC_URL's host and APPSYNC_REGION, so check that the region is the API's (custom domains) and that "
        "nothing between the worker and AppSync rewrites the Host header or the body"
    )


def _explain_clock_skew(message: str, *, ahead: bool) -> str:
    how_far = ""
    match = _SKEW.search(message)
    if match:
        skew = datetime.strptime(match["sent"], _AMZ_DATE) - datetime.strptime(match["now"], _AMZ_DATE)
        ahead = skew.total_seconds() > 0
        minutes = abs(skew.total_seconds()) / 60
        how_far = (
            f" by about {minutes:.0f} minutes (the request was dated {match['sent']}, AppSync's time was "
            f"{match['now']})"
        )
    direction = "ahead of" if ahead else "behind"
    return (
        f"the clock of the machine that signed the request is {direction} AppSync's{how_far}, more than the 5 "
        "minutes SigV4 allows: fix that clock (NTP). Not the host, region or credentials: every request signed "
        "by that clock is refused the same way"
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
