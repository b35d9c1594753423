"""AWS and Amplify names, ARNs and their patterns: the one home for each rule.

The worker, the settings, the custom-roles generator and the operator's CLI all import these (the dependency goes
one way: everything else depends on ``worker``, which depends on nothing of the project's). Validation is ASCII-only
on purpose: IAM allows ``[A-Za-z0-9_+=,.@-]`` in role and session names, and Python's ``\\w`` would also accept
letters such as ``é`` that AWS rejects.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

ACCOUNT_RE = re.compile(r"^\d{12}$")
#: IAM: role names 1-64, role session names 2-64 characters of letters, digits and _+=,.@-.
ROLE_NAME_RE = re.compile(r"^[A-Za-z0-9_+=,.@-]{1,64}$")
SESSION_NAME_RE = re.compile(r"^[A-Za-z0-9_+=,.@-]{2,64}$")
ROLE_ARN_RE = re.compile(
    r"^arn:aws[a-z-]*:iam::(?P<account>\d{12}):role/(?:[A-Za-z0-9_+=,.@-]+/)*(?P<name>[A-Za-z0-9_+=,.@-]{1,64})$"
)
#: What STS reports and AppSync sees as the caller (``$ctx.identity.userArn``): no role path.
ASSUMED_ROLE_ARN_RE = re.compile(
    r"^arn:(?P<partition>aws[a-z-]*):sts::(?P<account>\d{12}):assumed-role/(?P<role>[^/]+)/(?P<session>.+)$"
)
EXTERNAL_ID_RE = re.compile(r"^[A-Za-z0-9_+=,.@:/-]{2,1224}$")
REGION_RE = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d$")
#: AppSync, and every custom domain in front of it, serves GraphQL at this path; the signer signs it.
GRAPHQL_PATH = "/graphql"
#: A GraphQL name (a mutation field).
FIELD_NAME_RE = re.compile(r"^[_A-Za-z][_0-9A-Za-z]*$")
#: An AppSync API's own endpoint host (a custom domain has none of this): its region is in the name, its API id
#: is NOT (the first label is another 26-character string; see project_settings.amplify_files).
APPSYNC_ENDPOINT_RE = re.compile(r"^[a-z0-9]+\.appsync-api\.(?P<region>[a-z0-9-]+)\.amazonaws\.com$")
#: An AppSync API id, as in ``arn:aws:appsync:<region>:<account>:apis/<apiId>`` (GraphQLAPIIdOutput, ApiId).
APPSYNC_API_ID_RE = re.compile(r"^[a-z0-9]{26}$")

#: An SQS queue ARN (the worker's source queue: an SQS record's ``eventSourceARN`` must be exactly this).
SQS_QUEUE_ARN_RE = re.compile(
    r"^arn:aws[a-z-]*:sqs:[a-z]{2}(-[a-z]+)+-\d:(?P<account>\d{12}):(?P<name>[A-Za-z0-9_-]{1,75}(\.fifo)?)$"
)
#: An EventBridge ``source`` a producer is named by (compared for equality: no wildcard). ``aws.`` is AWS's own.
EVENT_SOURCE_RE = re.compile(r"^(?!aws\.)[A-Za-z0-9._/-]{1,256}$")
#: A principal allowed to send to the source queue, as the queue policy's ``aws:PrincipalArn`` sees it: an IAM
#: role or user ARN (a role session's ``aws:PrincipalArn`` is its role's ARN), ``*`` and ``?`` allowed in the name
#: only, after at least one literal character (``ArnLike``: ``role/*`` would admit every role of the account).
PRODUCER_PRINCIPAL_ARN_RE = re.compile(
    r"^arn:aws[a-z-]*:iam::(?P<account>\d{12}):(?P<kind>role|user)/(?:[A-Za-z0-9_+=,.@-]+/)*"
    r"(?P<name>[A-Za-z0-9_+=,.@-][A-Za-z0-9_+=,.@*?-]{0,63})$"
)


def parse_model_fields(text: str, problems: list[str], where: str, expect: str) -> dict[str, tuple[str, ...]]:
    """``Model:f1,f2;Model:f3`` (``MODEL_KEYS``, ``PROTECTED_FIELDS``) -> {Model: (f1, f2), ...}; each malformed
    part named in ``problems`` (as ``<where>: '<part>' is not <expect>``), never raised."""
    found: dict[str, tuple[str, ...]] = {}
    for part in filter(None, (p.strip() for p in text.split(";"))):
        model, _, fields_text = part.partition(":")
        fields = tuple(f.strip() for f in fields_text.split(",") if f.strip())
        if (
            not FIELD_NAME_RE.fullmatch(model.strip())
            or not fields
            or not all(FIELD_NAME_RE.fullmatch(f) for f in fields)
        ):
            problems.append(f"{where}: {part!r} is not {expect}")
            continue
        found[model.strip()] = fields
    return found


def format_model_fields(fields: Mapping[str, Sequence[str]]) -> str:
    return ";".join(f"{model}:{','.join(names)}" for model, names in sorted(fields.items()))


#: How ``@aws-amplify/amplify-category-api`` turns custom-roles.json entries into ``adminRoles``: entries pass as
#: written through 5.15.6; 5.15.7 normalizes ``arn:...:assumed-role/X[/S]`` to ``X[/S]``.
VERBATIM = "verbatim"
NORMALIZE = "normalize"
CLI_BEHAVIOURS = (VERBATIM, NORMALIZE)


def role_arn(account: str, role: str) -> str:
    return f"arn:aws:iam::{account}:role/{role}"


def assumed_role_arn(account: str, role: str, session: str | None = None) -> str:
    """The caller ARN of a session of ``role`` (``session`` None: the role-only prefix custom-roles.json may list)."""
    base = f"arn:aws:sts::{account}:assumed-role/{role}"
    return f"{base}/{session}" if session is not None else base


def sqs_queue_arn(region: str, account: str, name: str) -> str:
    return f"arn:aws:sqs:{region}:{account}:{name}"


def host_posing_as_api_id(api_id: str, url: str) -> bool:
    """Whether ``api_id`` is the first label of ``url``'s AppSync host: the mistake this project exists to stop
    (the host's label is another string than the API id; an ARN built from it names an API that does not exist)."""
    from urllib.parse import urlsplit

    host = (urlsplit(url).hostname or "").lower()
    return bool(APPSYNC_ENDPOINT_RE.match(host)) and host.split(".", 1)[0] == api_id.lower()


def appsync_api_arn(region: str, account: str, api_id: str) -> str:
    """The API's ARN: built from its id, which is read (never taken from the endpoint's host)."""
    return f"arn:aws:appsync:{region}:{account}:apis/{api_id}"


def appsync_field_arn(region: str, account: str, api_id: str, type_name: str, field: str) -> str:
    """The resource of ``appsync:GraphQL`` for one field."""
    return f"{appsync_api_arn(region, account, api_id)}/types/{type_name}/fields/{field}"
