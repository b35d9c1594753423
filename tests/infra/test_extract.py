"""Read-back helpers and synth-time refusals, without another synth."""

from __future__ import annotations

from typing import Any

import pytest

from infra.intrinsics import Resolver, UnresolvedToken
from infra.synth import Synthesized
from infra.worker_stack import log_retention, visibility_timeout_seconds
from project_settings import Settings


def test_synthesized_unpacks_as_account_a_then_b(synthesized: Synthesized) -> None:
    account_a, account_b = synthesized
    assert "AWS::Lambda::Function" in {r["Type"] for r in account_a["Resources"].values()}
    assert {r["Type"] for r in account_b["Resources"].values()} == {"AWS::IAM::Role"}


def test_resolver_refuses_what_it_cannot_know(template_a: dict[str, Any], settings: Settings) -> None:
    resolver = Resolver(template_a, settings.accounts.worker, settings.accounts.region)
    with pytest.raises(UnresolvedToken, match="no resource"):
        resolver.resolve({"Ref": "Missing"})
    with pytest.raises(UnresolvedToken, match="Fn::ImportValue"):
        resolver.resolve({"Fn::ImportValue": "x"})
    assert (
        resolver.resolve({"Fn::Join": [":", [{"Ref": "AWS::Partition"}, {"Ref": "AWS::Region"}]]})
        == "aws:us-east-1"
    )


def test_log_retention_must_be_a_cloudwatch_period() -> None:
    with pytest.raises(ValueError, match="log_retention_days=31 is not a CloudWatch Logs retention period"):
        log_retention(31)


def test_visibility_timeout_covers_six_timeouts_and_the_window(settings: Settings) -> None:
    changed = settings.with_changes(worker={"function_timeout_seconds": 900, "batching_window_seconds": 20})
    assert visibility_timeout_seconds(changed) == 6 * 900 + 20
