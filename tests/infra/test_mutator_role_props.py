"""``MutatorRole`` in a foreign CDK app checks its props as the settings do: a ``*`` (or any name
the settings would refuse) never reaches the trust or the identity policy; every problem is named at once."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
import pytest

from infra.mutator_role import MutatorRole

GOOD: dict[str, Any] = {
    "role_name": "ShopMutator",
    "session_name": "shop-worker",
    "worker_account": "333333333333",
    "execution_role_name": "shop-mutations-exec",
    "api_arn": "arn:aws:appsync:eu-west-1:444444444444:apis/abcdefghijklmnopqrstuvwxyz",
    "allowed_mutations": ["createOrder", "updateOrder"],
}


def _role(**changes: Any) -> MutatorRole:
    app = cdk.App(analytics_reporting=False)
    stack = cdk.Stack(app, "Api", env=cdk.Environment(account="444444444444", region="eu-west-1"))
    return MutatorRole(stack, "Role", **{**GOOD, **changes})


def test_good_props_make_the_role() -> None:
    role = _role()
    resources = role.identity_policy["Statement"][0]["Resource"]
    assert all(r.endswith(("/fields/createOrder", "/fields/updateOrder")) for r in resources)


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"allowed_mutations": ["*"]}, "allowed_mutations"),
        ({"allowed_mutations": ["create*"]}, "allowed_mutations"),
        ({"allowed_mutations": ["createOrder", "updateOrder/../*"]}, "allowed_mutations"),
        ({"allowed_mutations": ["createOrder "]}, "allowed_mutations"),
        ({"allowed_mutations": ["createOrder\n"]}, "allowed_mutations"),
        ({"allowed_mutations": "createOrder"}, "allowed_mutations"),  # a string is not a list of fields
        ({"allowed_mutations": []}, "allowed_mutations"),
        ({"api_arn": "arn:aws:appsync:eu-west-1:444444444444:apis/*"}, "api_arn"),
        ({"api_arn": "arn:aws:appsync:*:*:apis/abcdefghijklmnopqrstuvwxyz"}, "api_arn"),
        ({"api_arn": "*"}, "api_arn"),
        ({"worker_account": "*"}, "worker_account"),
        ({"execution_role_name": "*"}, "execution_role_name"),
        ({"session_name": "*"}, "session_name"),
        ({"role_name": "Shop*"}, "role_name"),
        ({"external_id": "*"}, "external_id"),
    ],
)
def test_a_wildcard_or_malformed_prop_is_refused(changes: dict[str, Any], named: str) -> None:
    with pytest.raises(ValueError, match="MutatorRole refused") as refused:
        _role(**changes)
    assert named in str(refused.value)


def test_every_problem_is_named_at_once() -> None:
    with pytest.raises(ValueError) as refused:
        _role(allowed_mutations=["*"], worker_account="*", api_arn="*")
    assert all(n in str(refused.value) for n in ("allowed_mutations", "worker_account", "api_arn"))
