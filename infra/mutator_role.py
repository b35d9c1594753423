"""``MutatorRole``: the role in account B that the worker assumes, as a construct for any CDK app.

Plain props (no settings file): the role and session names, the worker's account and execution role, the
API and the mutation fields. The documents are ``project_settings.policies``' own (the sandbox and the
alignment test use the very same), written into a ``CfnRole`` verbatim (no L2 principal rewriting).
"""

from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from constructs import Construct

from project_settings.policies import (
    PolicyDocument,
    identity_policy_document,
    mutation_field_arns,
    read_field_arns,
    trust_policy_document,
)
from worker.names import (
    ACCOUNT_RE,
    APPSYNC_API_ID_RE,
    EXTERNAL_ID_RE,
    FIELD_NAME_RE,
    REGION_RE,
    ROLE_NAME_RE,
    SESSION_NAME_RE,
)

#: Chained from the Lambda execution role's session: AWS caps such sessions at one hour.
MAX_SESSION_SECONDS = 3600
#: Name of the role's one inline policy (read back by ``infra.extract``).
POLICY_NAME = "AllowedMutationFields"
#: Logical id of the role resource (a fixed id: the extraction helpers and existing stacks rely on it).
ROLE_ID = "MutatorRole"


def api_account_of(api_arn: str) -> str:
    return api_arn.split(":")[4] if not cdk.Token.is_unresolved(api_arn) else cdk.Aws.ACCOUNT_ID


def role_identity_policy(
    api_arn: str,
    role_name: str,
    allowed_mutations: Sequence[str],
    version_reads: Sequence[str] = (),
    partition: str = "aws",
) -> PolicyDocument:
    """``appsync:GraphQL`` on the fields (and ``Query.get<Model>`` for ``version_reads``, so a refused versioned
    write can be read back), and simulating itself for ``doctor``: the mutator's and the operator's role alike."""
    # The role's own ARN as text: a GetAtt of the role inside its own policy would be a circular reference.
    own_arn = f"arn:{partition}:iam::{api_account_of(api_arn)}:role/{role_name}"
    return identity_policy_document(
        mutation_field_arns(api_arn, allowed_mutations),
        role_arn=own_arn,
        read_arns=read_field_arns(api_arn, version_reads),
    )


def _check_props(
    *,
    role_name: str,
    session_name: str,
    worker_account: str,
    execution_role_name: str,
    api_arn: str,
    allowed_mutations: Sequence[str],
    external_id: str | None,
) -> None:
    """The settings' own rules (``worker.names``), applied to props from any CDK app: a ``*`` (or a token that
    could turn into one) never reaches the trust or the identity policy. Every problem is listed at once."""
    problems: list[str] = []
    if isinstance(allowed_mutations, str) or not allowed_mutations:
        problems.append("allowed_mutations must be a non-empty list of mutation field names")
    else:
        bad = [f for f in allowed_mutations if not isinstance(f, str) or not FIELD_NAME_RE.fullmatch(f)]
        if bad:
            problems.append(f"allowed_mutations has names that are not GraphQL field names: {bad!r}")
    for name, value, pattern in (
        ("role_name", role_name, ROLE_NAME_RE),
        ("session_name", session_name, SESSION_NAME_RE),
        ("worker_account", worker_account, ACCOUNT_RE),
        ("execution_role_name", execution_role_name, ROLE_NAME_RE),
    ):
        if not isinstance(value, str) or not pattern.fullmatch(value):
            problems.append(f"{name}={value!r} is not valid (expected {pattern.pattern})")
    if external_id is not None and not EXTERNAL_ID_RE.fullmatch(external_id):
        problems.append("external_id must be 2-1224 characters of letters, digits and +=,.@:/_-")
    if not cdk.Token.is_unresolved(api_arn):
        parts = api_arn.split(":") if isinstance(api_arn, str) else []
        api_id = parts[5].removeprefix("apis/") if len(parts) == 6 and parts[5].startswith("apis/") else ""
        if not (
            len(parts) == 6
            and parts[0] == "arn"
            and parts[1].startswith("aws")
            and parts[2] == "appsync"
            and REGION_RE.fullmatch(parts[3])
            and ACCOUNT_RE.fullmatch(parts[4])
            and APPSYNC_API_ID_RE.fullmatch(api_id)
        ):
            problems.append(
                f"api_arn={api_arn!r} is not arn:aws:appsync:<region>:<12-digit account>:apis/<26-character API id>"
            )
    if problems:
        raise ValueError("MutatorRole refused: " + "; ".join(problems))


class MutatorRole(Construct):
    """The mutator role: trusted by one execution role with a pinned session, ``appsync:GraphQL`` on the fields.

    ``api_arn`` is ``arn:aws:appsync:<region>:<account B>:apis/<api id>``; ``allowed_mutations`` the fields.
    Trust is account A's root narrowed by ``ArnEquals aws:PrincipalArn`` (no deploy order between the accounts).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        role_name: str,
        session_name: str,
        worker_account: str,
        execution_role_name: str,
        api_arn: str,
        allowed_mutations: Sequence[str],
        external_id: str | None = None,
        partition: str = "aws",
        version_reads: Sequence[str] = (),
    ) -> None:
        super().__init__(scope, construct_id)
        _check_props(
            role_name=role_name,
            session_name=session_name,
            worker_account=worker_account,
            execution_role_name=execution_role_name,
            api_arn=api_arn,
            allowed_mutations=allowed_mutations,
            external_id=external_id,
        )
        execution_role_arn = f"arn:{partition}:iam::{worker_account}:role/{execution_role_name}"
        self.trust_policy = trust_policy_document(
            worker_account=worker_account,
            execution_role_arn=execution_role_arn,
            session_name=session_name,
            external_id=external_id,
        )
        api_account = api_account_of(api_arn)
        self.identity_policy = role_identity_policy(
            api_arn, role_name, allowed_mutations, version_reads, partition
        )
        self.role = iam.CfnRole(
            self,
            ROLE_ID,
            role_name=role_name,
            description=(
                f"Assumed by {execution_role_arn} with session {session_name} to send AppSync mutations"
            ),
            assume_role_policy_document=self.trust_policy,
            max_session_duration=MAX_SESSION_SECONDS,
            policies=[
                iam.CfnRole.PolicyProperty(policy_name=POLICY_NAME, policy_document=self.identity_policy)
            ],
        )
        self.role_arn = self.role.attr_arn
        #: What AppSync's resolvers see as the caller (what Amplify's custom-roles.json must admit).
        self.assumed_role_arn = f"arn:{partition}:sts::{api_account}:assumed-role/{role_name}/{session_name}"
