"""The operator role's entry: listed beside the worker's so Amplify's resolvers admit operators."""

from __future__ import annotations

from typing import Any

from amplify_custom_roles import check, generate
from amplify_custom_roles.admin_rule import CLI_BEHAVIOURS, admin_roles, is_admitted

ALICE = "arn:aws:iam::111111111111:user/alice"


def _operator(kit: Any) -> Any:
    return kit.settings.with_changes(operator_role={"principals": (ALICE,)})


def test_no_operator_role_configured_means_no_entry(kit: Any) -> None:
    generate(kit.settings)
    assert kit.entries() == [kit.ours]


def test_the_operator_role_prefix_is_listed_after_ours_once(kit: Any) -> None:
    settings = _operator(kit)
    kit.write(["first"])
    result = generate(settings)
    prefix = "arn:aws:sts::222222222222:assumed-role/AppSyncMutationOperator"
    assert settings.operator_assumed_role_prefix == prefix
    assert kit.entries() == ["first", kit.ours, prefix]
    assert any("operator role" in w and "trust policy" in w for w in result.warnings)
    again = generate(settings)
    assert not again.changed and kit.entries() == ["first", kit.ours, prefix]
    assert check(settings).ok


def test_operator_sessions_are_admitted_under_both_behaviours(kit: Any) -> None:
    settings = _operator(kit)
    generate(settings)
    session = f"{settings.operator_assumed_role_prefix}/operator-alice"
    other_role = "arn:aws:sts::222222222222:assumed-role/SomeoneElse/operator-alice"
    for behaviour in CLI_BEHAVIOURS:
        roles = admin_roles(kit.entries(), behaviour)
        assert is_admitted(session, roles), behaviour
        assert not is_admitted(other_role, roles), behaviour
