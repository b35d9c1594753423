"""The STS gate with real boto3 clients: every refusal AWS-shaped, every allowed path working."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import pytest
from botocore.exceptions import ClientError

from project_settings import Settings
from project_settings.policies import execution_role_assume_policy, mutator_trust_policy
from sandbox.aws.identities import LAMBDA_SERVICE_KEY, LAMBDA_SERVICE_SECRET
from sandbox.fixture import Sandbox

StsFactory = Callable[..., Any]
ALLOW_ALL_ASSUME = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}],
}


@pytest.fixture(scope="module")
def sb(settings: Settings) -> Iterator[Sandbox]:
    with Sandbox.start(settings) as sandbox:
        yield sandbox


@pytest.fixture(autouse=True)
def restore(sb: Sandbox, settings: Settings) -> Iterator[None]:
    """Each test starts from the sandbox's defaults and leaves them behind."""
    yield
    sb.sts.reset()
    sb.sts.set_credential_lifetime(None)
    sb.set_trust_policy(mutator_trust_policy(settings))
    iam = sb.client("iam", "A")
    role = settings.worker.execution_role_name
    iam.put_role_policy(
        RoleName=role,
        PolicyName="assume-mutator-role",
        PolicyDocument=json.dumps(execution_role_assume_policy(settings)),
    )
    for name in iam.list_role_policies(RoleName=role)["PolicyNames"]:
        if name not in ("assume-mutator-role", "dead-letters"):
            iam.delete_role_policy(RoleName=role, PolicyName=name)
    for attached in iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"]:
        iam.detach_role_policy(RoleName=role, PolicyArn=attached["PolicyArn"])


@pytest.fixture
def exec_sts(sb: Sandbox, sts_for: StsFactory) -> Any:
    """STS as the worker's Lambda container sees it: the execution role's session."""
    return sts_for(sb.lambda_environment())


def refusal(call: Callable[[], Any]) -> tuple[int, dict[str, Any]]:
    with pytest.raises(ClientError) as caught:
        call()
    response = caught.value.response
    return response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]


def assert_access_denied(call: Callable[[], Any], caller_arn: str, role_arn: str) -> None:
    status, error = refusal(call)
    assert status == 403
    assert error["Code"] == "AccessDenied"
    assert error["Type"] == "Sender"
    assert error["Message"] == (
        f"User: {caller_arn} is not authorized to perform: sts:AssumeRole on resource: {role_arn}"
    )


def role_session(sb: Sandbox, account: str, name: str, trust: dict[str, Any], policy: dict[str, Any]) -> Any:
    """Create role ``name`` in ``account`` ("A"/"B") with ``policy`` and return a session of it (via the
    account's admin session, trusted by ``trust``)."""
    iam = sb.client("iam", account)
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))
    iam.put_role_policy(RoleName=name, PolicyName="p", PolicyDocument=json.dumps(policy))
    account_id = sb.account_a if account == "A" else sb.account_b
    return sb.client("sts", account).assume_role(
        RoleArn=f"arn:aws:iam::{account_id}:role/{name}", RoleSessionName="s1"
    )["Credentials"]


def trust_account(account_id: str) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{account_id}:root"},
                "Action": "sts:AssumeRole",
            }
        ],
    }


# --- allowed paths -----------------------------------------------------------------------------------------
def test_execution_role_session_with_the_pinned_name_is_admitted(
    sb: Sandbox, settings: Settings, exec_sts: Any, sts_for: StsFactory
) -> None:
    assert exec_sts.get_caller_identity()["Arn"] == sb.execution_role_session_arn
    answer = exec_sts.assume_role(
        RoleArn=settings.mutator_role_arn, RoleSessionName=settings.mutator_role.session_name
    )
    expected = (
        f"arn:aws:sts::{sb.account_b}:assumed-role/{settings.mutator_role.name}/"
        f"{settings.mutator_role.session_name}"
    )
    assert answer["AssumedRoleUser"]["Arn"] == expected == settings.assumed_role_arn
    assert answer["AssumedRoleUser"]["AssumedRoleId"].endswith(f":{settings.mutator_role.session_name}")
    assert answer["Credentials"]["AccessKeyId"].startswith("ASIA")
    identity = sts_for(answer["Credentials"]).get_caller_identity()
    assert identity["Arn"] == expected
    assert identity["Account"] == sb.account_b
    assert [(c.caller_arn, c.role_arn, c.session_name, c.allowed) for c in sb.sts.assume_role_calls] == [
        (sb.execution_role_session_arn, settings.mutator_role_arn, settings.mutator_role.session_name, True)
    ]


def test_default_trust_is_account_root_narrowed_to_the_execution_role(
    sb: Sandbox, settings: Settings, sts_for: StsFactory
) -> None:
    statement = mutator_trust_policy(settings)["Statement"][0]
    assert statement["Principal"] == {"AWS": f"arn:aws:iam::{sb.account_a}:root"}
    assert statement["Condition"]["ArnEquals"] == {"aws:PrincipalArn": settings.execution_role_arn}
    # another role of account A, allowed by its own identity policy to assume the B role: refused
    creds = role_session(sb, "A", "OtherWorker", trust_account(sb.account_a), ALLOW_ALL_ASSUME)
    other = sts_for(creds)
    caller = f"arn:aws:sts::{sb.account_a}:assumed-role/OtherWorker/s1"
    assert other.get_caller_identity()["Arn"] == caller
    assert_access_denied(
        lambda: other.assume_role(
            RoleArn=settings.mutator_role_arn, RoleSessionName=settings.mutator_role.session_name
        ),
        caller,
        settings.mutator_role_arn,
    )
    # account A's admin (Action "*") is refused as well: being in the trusted account is not enough
    admin = sb.client("sts", "A")
    admin_arn = admin.get_caller_identity()["Arn"]
    assert_access_denied(
        lambda: admin.assume_role(
            RoleArn=settings.mutator_role_arn, RoleSessionName=settings.mutator_role.session_name
        ),
        admin_arn,
        settings.mutator_role_arn,
    )


# --- trust-policy refusals -----------------------------------------------------------------------------------
def test_wrong_session_name_is_refused(sb: Sandbox, settings: Settings, exec_sts: Any) -> None:
    for name in (
        "worker",
        settings.mutator_role.session_name.upper(),
        settings.mutator_role.session_name + "x",
    ):
        assert_access_denied(
            partial(exec_sts.assume_role, RoleArn=settings.mutator_role_arn, RoleSessionName=name),
            sb.execution_role_session_arn,
            settings.mutator_role_arn,
        )
    refused = sb.sts.refused_calls
    assert [c.session_name for c in refused] == [
        "worker",
        settings.mutator_role.session_name.upper(),
        settings.mutator_role.session_name + "x",
    ]
    assert sb.sts.assume_role_calls == []


def test_a_principal_from_another_account_is_refused(
    sb: Sandbox, settings: Settings, sts_for: StsFactory
) -> None:
    # a role named like the execution role, but in account B: aws:PrincipalArn differs by account
    name = settings.worker.execution_role_name
    creds = role_session(sb, "B", name, trust_account(sb.account_b), ALLOW_ALL_ASSUME)
    impostor = sts_for(creds)
    assert_access_denied(
        lambda: impostor.assume_role(
            RoleArn=settings.mutator_role_arn, RoleSessionName=settings.mutator_role.session_name
        ),
        f"arn:aws:sts::{sb.account_b}:assumed-role/{name}/s1",
        settings.mutator_role_arn,
    )
    # and an IAM user of account B
    keys = sb.create_user_keys("b-developer", account="B")
    sb.client("iam", "B").put_user_policy(
        UserName="b-developer", PolicyName="p", PolicyDocument=json.dumps(ALLOW_ALL_ASSUME)
    )
    user = sts_for(keys)
    assert_access_denied(
        lambda: user.assume_role(
            RoleArn=settings.mutator_role_arn, RoleSessionName=settings.mutator_role.session_name
        ),
        f"arn:aws:iam::{sb.account_b}:user/b-developer",
        settings.mutator_role_arn,
    )


def test_a_missing_role_is_refused_like_an_untrusting_one(
    sb: Sandbox, settings: Settings, exec_sts: Any
) -> None:
    missing = f"arn:aws:iam::{sb.account_b}:role/NoSuchRole"
    assert_access_denied(
        lambda: exec_sts.assume_role(RoleArn=missing, RoleSessionName=settings.mutator_role.session_name),
        sb.execution_role_session_arn,
        missing,
    )


def test_external_id_required(sb: Sandbox, settings: Settings, exec_sts: Any) -> None:
    with_id = settings.with_changes(mutator_role={"external_id": "xid-0123456789"})
    sb.set_trust_policy(mutator_trust_policy(with_id))
    session = settings.mutator_role.session_name
    for extra in ({}, {"ExternalId": "xid-wrong"}, {"ExternalId": "XID-0123456789"}):
        assert_access_denied(
            partial(
                exec_sts.assume_role, RoleArn=settings.mutator_role_arn, RoleSessionName=session, **extra
            ),
            sb.execution_role_session_arn,
            settings.mutator_role_arn,
        )
    answer = exec_sts.assume_role(
        RoleArn=settings.mutator_role_arn, RoleSessionName=session, ExternalId="xid-0123456789"
    )
    assert answer["AssumedRoleUser"]["Arn"] == settings.assumed_role_arn


def test_role_arn_principal_trust(
    sb: Sandbox, settings: Settings, exec_sts: Any, sts_for: StsFactory
) -> None:
    """A trust policy naming the execution role's ARN admits any of its sessions, nothing else."""
    sb.set_trust_policy(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": settings.execution_role_arn},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
    )
    answer = exec_sts.assume_role(RoleArn=settings.mutator_role_arn, RoleSessionName="any-name")
    assert answer["AssumedRoleUser"]["Arn"].endswith(f"/{settings.mutator_role.name}/any-name")
    # re-assuming with the account-B session (a warm container that replaced its credentials): refused
    b_sts = sts_for(answer["Credentials"])
    assert_access_denied(
        lambda: b_sts.assume_role(RoleArn=settings.mutator_role_arn, RoleSessionName="any-name"),
        answer["AssumedRoleUser"]["Arn"],
        settings.mutator_role_arn,
    )


def test_explicit_deny_in_the_trust_policy_wins(sb: Sandbox, settings: Settings, exec_sts: Any) -> None:
    trust = mutator_trust_policy(settings)
    trust["Statement"].append(
        {
            "Effect": "Deny",
            "Principal": {"AWS": "*"},
            "Action": "sts:AssumeRole",
            "Condition": {"StringLike": {"sts:RoleSessionName": "appsync-*"}},
        }
    )
    sb.set_trust_policy(trust)
    assert_access_denied(
        lambda: exec_sts.assume_role(
            RoleArn=settings.mutator_role_arn, RoleSessionName=settings.mutator_role.session_name
        ),
        sb.execution_role_session_arn,
        settings.mutator_role_arn,
    )


# --- identity-policy refusals ---------------------------------------------------------------------------------
def test_execution_role_without_the_identity_permission_is_refused(
    sb: Sandbox, settings: Settings, exec_sts: Any
) -> None:
    sb.client("iam", "A").delete_role_policy(
        RoleName=settings.worker.execution_role_name, PolicyName="assume-mutator-role"
    )
    assert_access_denied(
        lambda: exec_sts.assume_role(
            RoleArn=settings.mutator_role_arn, RoleSessionName=settings.mutator_role.session_name
        ),
        sb.execution_role_session_arn,
        settings.mutator_role_arn,
    )


def test_identity_permission_for_another_role_only_is_refused(
    sb: Sandbox, settings: Settings, exec_sts: Any
) -> None:
    sb.client("iam", "A").put_role_policy(
        RoleName=settings.worker.execution_role_name,
        PolicyName="assume-mutator-role",
        PolicyDocument=json.dumps(
            execution_role_assume_policy(settings.with_changes(mutator_role={"name": "SomeOtherRole"}))
        ),
    )
    assert_access_denied(
        lambda: exec_sts.assume_role(
            RoleArn=settings.mutator_role_arn, RoleSessionName=settings.mutator_role.session_name
        ),
        sb.execution_role_session_arn,
        settings.mutator_role_arn,
    )


@pytest.mark.parametrize("kind", ["inline", "managed"])
def test_explicit_deny_in_the_identity_policy_wins(
    sb: Sandbox, settings: Settings, exec_sts: Any, kind: str
) -> None:
    deny = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Deny", "Action": "sts:*", "Resource": f"arn:aws:iam::{sb.account_b}:role/*"}
        ],
    }
    iam = sb.client("iam", "A")
    role = settings.worker.execution_role_name
    if kind == "inline":
        iam.put_role_policy(RoleName=role, PolicyName="deny-b", PolicyDocument=json.dumps(deny))
    else:
        arn = iam.create_policy(PolicyName="deny-b-managed", PolicyDocument=json.dumps(deny))["Policy"]["Arn"]
        iam.attach_role_policy(RoleName=role, PolicyArn=arn)
    assert_access_denied(
        lambda: exec_sts.assume_role(
            RoleArn=settings.mutator_role_arn, RoleSessionName=settings.mutator_role.session_name
        ),
        sb.execution_role_session_arn,
        settings.mutator_role_arn,
    )


def test_a_user_allowed_through_its_group(sb: Sandbox, settings: Settings, sts_for: StsFactory) -> None:
    """Identity policies include the policies of the user's groups, as IAM evaluates them."""
    user_arn = f"arn:aws:iam::{sb.account_a}:user/grouped"
    trust = mutator_trust_policy(settings)
    trust["Statement"][0]["Condition"]["ArnEquals"]["aws:PrincipalArn"] = user_arn
    sb.set_trust_policy(trust)
    keys = sb.create_user_keys("grouped")
    iam = sb.client("iam", "A")
    iam.create_group(GroupName="assumers")
    iam.put_group_policy(GroupName="assumers", PolicyName="p", PolicyDocument=json.dumps(ALLOW_ALL_ASSUME))
    user = sts_for(keys)
    session = settings.mutator_role.session_name
    assert_access_denied(
        lambda: user.assume_role(RoleArn=settings.mutator_role_arn, RoleSessionName=session),
        user_arn,
        settings.mutator_role_arn,
    )
    iam.add_user_to_group(GroupName="assumers", UserName="grouped")
    answer = user.assume_role(RoleArn=settings.mutator_role_arn, RoleSessionName=session)
    assert answer["AssumedRoleUser"]["Arn"] == settings.assumed_role_arn


# --- durations ------------------------------------------------------------------------------------------------
def test_role_chaining_is_capped_at_one_hour(sb: Sandbox, settings: Settings, exec_sts: Any) -> None:
    status, error = refusal(
        lambda: exec_sts.assume_role(
            RoleArn=settings.mutator_role_arn,
            RoleSessionName=settings.mutator_role.session_name,
            DurationSeconds=7200,
        )
    )
    assert (status, error["Code"]) == (400, "ValidationError")
    assert error["Message"] == (
        "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining."
    )
    answer = exec_sts.assume_role(
        RoleArn=settings.mutator_role_arn,
        RoleSessionName=settings.mutator_role.session_name,
        DurationSeconds=3600,
    )
    assert answer["AssumedRoleUser"]["Arn"] == settings.assumed_role_arn


def test_duration_above_max_session_duration(sb: Sandbox, settings: Settings, sts_for: StsFactory) -> None:
    """From long-term user keys (no chaining): the role's MaxSessionDuration is the limit."""
    user_arn = f"arn:aws:iam::{sb.account_a}:user/long-sessions"
    keys = sb.create_user_keys("long-sessions")
    sb.client("iam", "A").put_user_policy(
        UserName="long-sessions", PolicyName="p", PolicyDocument=json.dumps(ALLOW_ALL_ASSUME)
    )
    trust = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": user_arn}, "Action": "sts:AssumeRole"}],
    }
    iam_b = sb.client("iam", "B")
    iam_b.create_role(
        RoleName="LongSessions", AssumeRolePolicyDocument=json.dumps(trust), MaxSessionDuration=14400
    )
    long_role = f"arn:aws:iam::{sb.account_b}:role/LongSessions"
    user = sts_for(keys)
    status, error = refusal(
        lambda: user.assume_role(RoleArn=long_role, RoleSessionName="s1", DurationSeconds=14401)
    )
    assert (status, error["Code"]) == (400, "ValidationError")
    assert (
        error["Message"] == "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."
    )
    before = datetime.now(UTC)
    answer = user.assume_role(RoleArn=long_role, RoleSessionName="s1", DurationSeconds=7200)  # not chained
    assert answer["Credentials"]["Expiration"] >= before + timedelta(seconds=7200 - 5)


# --- caller credentials ---------------------------------------------------------------------------------------
def test_unknown_access_key(sb: Sandbox, settings: Settings, sts_for: StsFactory) -> None:
    stranger = sts_for({"AWS_ACCESS_KEY_ID": "AKIAUNKNOWNKEY000000", "AWS_SECRET_ACCESS_KEY": "x" * 40})
    for call in (
        stranger.get_caller_identity,
        lambda: stranger.assume_role(
            RoleArn=settings.mutator_role_arn, RoleSessionName=settings.mutator_role.session_name
        ),
    ):
        status, error = refusal(call)
        assert (status, error["Code"]) == (403, "InvalidClientTokenId")
        assert error["Message"] == "The security token included in the request is invalid."
    assert sb.sts.all_calls == []  # refused before it was an AssumeRole


def test_wrong_or_missing_session_token(sb: Sandbox, settings: Settings, sts_for: StsFactory) -> None:
    env = sb.lambda_environment()
    for token in (env["AWS_SESSION_TOKEN"][:-4] + "AAAA", None):
        sts = sts_for({**env, "AWS_SESSION_TOKEN": token})
        status, error = refusal(
            partial(
                sts.assume_role,
                RoleArn=settings.mutator_role_arn,
                RoleSessionName=settings.mutator_role.session_name,
            )
        )
        assert (status, error["Code"]) == (403, "InvalidClientTokenId")
        assert error["Message"] == "The security token included in the request is invalid."


def test_expired_credentials(sb: Sandbox, settings: Settings, exec_sts: Any, sts_for: StsFactory) -> None:
    answer = exec_sts.assume_role(
        RoleArn=settings.mutator_role_arn, RoleSessionName=settings.mutator_role.session_name
    )
    b_sts = sts_for(answer["Credentials"])
    assert b_sts.get_caller_identity()["Arn"] == settings.assumed_role_arn
    assert sb.sts.expire_all(keep_role_arns=[settings.execution_role_arn]) >= 1
    status, error = refusal(b_sts.get_caller_identity)
    assert (status, error["Code"]) == (400, "ExpiredToken")
    assert error["Message"] == "The security token included in the request is expired"
    identity = sb.identities.lookup(answer["Credentials"]["AccessKeyId"])
    assert identity is not None and identity.expiration is not None
    assert identity.expiration <= datetime.now(UTC)
    # the kept execution-role session still works and gets fresh account-B credentials
    fresh = exec_sts.assume_role(
        RoleArn=settings.mutator_role_arn, RoleSessionName=settings.mutator_role.session_name
    )
    assert sts_for(fresh["Credentials"]).get_caller_identity()["Arn"] == settings.assumed_role_arn


def test_expired_execution_role_session(sb: Sandbox, settings: Settings, sts_for: StsFactory) -> None:
    """``expire_all()`` with nothing kept: even the Lambda container's session is refused."""
    lambda_sts = sts_for(
        {"AWS_ACCESS_KEY_ID": LAMBDA_SERVICE_KEY, "AWS_SECRET_ACCESS_KEY": LAMBDA_SERVICE_SECRET}
    )
    # a second container of the same function, so the module's container keeps working afterwards
    creds = lambda_sts.assume_role(
        RoleArn=settings.execution_role_arn, RoleSessionName=settings.worker.function_name
    )["Credentials"]
    container = sts_for(creds)
    saved = {r.access_key_id: r.expiration for r in sb.identities.all_assumed_roles()}
    try:
        assert sb.sts.expire_all() >= 2
        status, error = refusal(
            lambda: container.assume_role(
                RoleArn=settings.mutator_role_arn, RoleSessionName=settings.mutator_role.session_name
            )
        )
        assert (status, error["Code"]) == (400, "ExpiredToken")
    finally:
        for role in sb.identities.all_assumed_roles():
            role.expiration = saved.get(role.access_key_id, role.expiration)


# --- throttling, lifetimes, records ----------------------------------------------------------------------------
def test_throttling_fault_then_recovery(sb: Sandbox, settings: Settings, exec_sts: Any) -> None:
    sb.sts.throttle_next(2)
    for _ in range(2):
        status, error = refusal(
            lambda: exec_sts.assume_role(
                RoleArn=settings.mutator_role_arn, RoleSessionName=settings.mutator_role.session_name
            )
        )
        assert (status, error["Code"], error["Message"]) == (400, "Throttling", "Rate exceeded")
    answer = exec_sts.assume_role(
        RoleArn=settings.mutator_role_arn, RoleSessionName=settings.mutator_role.session_name
    )
    assert answer["AssumedRoleUser"]["Arn"] == settings.assumed_role_arn
    assert [c.error for c in sb.sts.refused_calls] == ["Rate exceeded", "Rate exceeded"]


def test_throttled_call_is_retried_by_botocore(sb: Sandbox, settings: Settings) -> None:
    sts = sb.lambda_client("sts")  # botocore's default retries, unlike the sts_for fixture
    sb.sts.throttle_next(1)
    answer = sts.assume_role(
        RoleArn=settings.mutator_role_arn, RoleSessionName=settings.mutator_role.session_name
    )
    assert answer["ResponseMetadata"]["RetryAttempts"] == 1


@pytest.mark.parametrize("scope", ["every-role", "this-role"])
def test_credential_lifetime_override(sb: Sandbox, settings: Settings, exec_sts: Any, scope: str) -> None:
    sb.sts.set_credential_lifetime(120, role_arn=settings.mutator_role_arn if scope == "this-role" else None)
    before = datetime.now(UTC)
    answer = exec_sts.assume_role(
        RoleArn=settings.mutator_role_arn, RoleSessionName=settings.mutator_role.session_name
    )
    after = datetime.now(UTC)
    expiration = answer["Credentials"]["Expiration"]
    assert before + timedelta(seconds=119) <= expiration <= after + timedelta(seconds=121)
    identity = sb.identities.lookup(answer["Credentials"]["AccessKeyId"])
    assert identity is not None and identity.expiration is not None
    assert abs((identity.expiration - expiration).total_seconds()) < 1
    assert identity.arn == settings.assumed_role_arn
    assert identity.role_arn == settings.mutator_role_arn


def test_lifetime_override_for_one_role_leaves_others_alone(
    sb: Sandbox, settings: Settings, exec_sts: Any
) -> None:
    sb.sts.set_credential_lifetime(120, role_arn=f"arn:aws:iam::{sb.account_b}:role/SomethingElse")
    before = datetime.now(UTC)
    answer = exec_sts.assume_role(
        RoleArn=settings.mutator_role_arn,
        RoleSessionName=settings.mutator_role.session_name,
        DurationSeconds=1800,
    )
    assert answer["Credentials"]["Expiration"] >= before + timedelta(seconds=1800 - 5)


def test_call_records(sb: Sandbox, settings: Settings, exec_sts: Any, sts_for: StsFactory) -> None:
    sb.sts.reset()
    # the Lambda service starting a container session: the sandbox's own, never reported
    lambda_sts = sts_for(
        {"AWS_ACCESS_KEY_ID": LAMBDA_SERVICE_KEY, "AWS_SECRET_ACCESS_KEY": LAMBDA_SERVICE_SECRET}
    )
    lambda_sts.assume_role(RoleArn=settings.execution_role_arn, RoleSessionName=settings.worker.function_name)
    session = settings.mutator_role.session_name
    exec_sts.assume_role(RoleArn=settings.mutator_role_arn, RoleSessionName=session, DurationSeconds=900)
    with pytest.raises(ClientError):
        exec_sts.assume_role(RoleArn=settings.mutator_role_arn, RoleSessionName="not-pinned")
    exec_sts.get_caller_identity()  # not an AssumeRole: not recorded

    everything = sb.sts.all_calls
    assert len(everything) == 3
    assert everything[0].by_sandbox and everything[0].caller_arn == "lambda.amazonaws.com"
    [ok] = sb.sts.assume_role_calls
    assert (ok.caller_arn, ok.role_arn, ok.session_name, ok.duration, ok.allowed, ok.error) == (
        sb.execution_role_session_arn,
        settings.mutator_role_arn,
        session,
        900,
        True,
        None,
    )
    [bad] = sb.sts.refused_calls
    assert (bad.session_name, bad.allowed) == ("not-pinned", False)
    assert bad.error == (
        f"User: {sb.execution_role_session_arn} is not authorized to perform: sts:AssumeRole on resource: "
        f"{settings.mutator_role_arn}"
    )
    assert ok.at <= bad.at
    sb.sts.reset()
    assert sb.sts.all_calls == []


def test_lambda_service_may_only_assume_roles_that_trust_it(
    sb: Sandbox, settings: Settings, sts_for: StsFactory
) -> None:
    lambda_sts = sts_for(
        {"AWS_ACCESS_KEY_ID": LAMBDA_SERVICE_KEY, "AWS_SECRET_ACCESS_KEY": LAMBDA_SERVICE_SECRET}
    )
    assert_access_denied(
        lambda: lambda_sts.assume_role(
            RoleArn=settings.mutator_role_arn, RoleSessionName=settings.mutator_role.session_name
        ),
        "lambda.amazonaws.com",
        settings.mutator_role_arn,
    )


def test_a_signature_made_with_the_wrong_secret_is_refused(
    sb: Sandbox, settings: Settings, sts_for: StsFactory
) -> None:
    env = sb.lambda_environment()
    forged = sts_for({**env, "AWS_SECRET_ACCESS_KEY": "not-the-secret-of-this-key-0000000000000"})
    for call in (
        forged.get_caller_identity,
        partial(
            forged.assume_role,
            RoleArn=settings.mutator_role_arn,
            RoleSessionName=settings.mutator_role.session_name,
        ),
    ):
        status, error = refusal(call)
        assert (status, error["Code"]) == (403, "SignatureDoesNotMatch")
        assert error["Message"].startswith("The request signature we calculated does not match")
    assert sb.sts.all_calls == []
    keys = sb.create_user_keys("signer")
    wrong = sts_for({**keys, "AWS_SECRET_ACCESS_KEY": keys["AWS_SECRET_ACCESS_KEY"][::-1]})
    assert refusal(wrong.get_caller_identity)[1]["Code"] == "SignatureDoesNotMatch"
    assert sts_for(keys).get_caller_identity()["Arn"] == f"arn:aws:iam::{sb.account_a}:user/signer"
