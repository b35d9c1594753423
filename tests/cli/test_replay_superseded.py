"""``replay replay`` of versioned writes: ``superseded`` is done, like already applied (confirmed, deleted,
exit 0); without the read-back's permission the same message is not done and stays in the DLQ."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from project_settings.policies import mutator_identity_policy


def _grant_reads(kit: Any, *models: str) -> None:
    settings = kit.sb.settings
    reading = replace(settings, appsync=replace(settings.appsync, version_reads=models))
    kit.sb.client("iam", "B").put_role_policy(
        RoleName=settings.mutator_role.name,
        PolicyName="appsync-mutations",
        PolicyDocument=json.dumps(mutator_identity_policy(reading)),
    )


def _versioned(verb: str, todo_id: str, version: int, **extra: Any) -> dict[str, Any]:
    return {
        "mutation": f"{verb}Todo",
        "input": {"id": todo_id, "name": f"v{version}"},
        "version": {"field": "description", "value": f"2026-12-03T10:00:{version:02d}.000Z"},
        **extra,
    }


def test_a_stale_versioned_write_replays_as_superseded_and_is_deleted(cli: Any, kit: Any) -> None:
    todo_id = kit.key()
    try:
        _grant_reads(kit, "Todo")
        kit.put_dead_letter(_versioned("create", todo_id, 5, upsert=True))
        first = cli("replay", "replay", "--json")
        assert first.code == 0 and first.json()["messages"][0]["status"] == "replayed"
        kit.put_dead_letter(_versioned("update", todo_id, 4))
        stale = cli("replay", "replay", "--json")
        assert stale.code == 0, stale.out
        assert stale.json()["messages"][0]["status"] == "superseded"
        assert kit.count(kit.sb.dlq_url) == 0
        _grant_reads(kit)  # the settings' own policy: no read-back
        kit.put_dead_letter(_versioned("update", todo_id, 3))
        unproven = cli("replay", "replay", "--json")
        assert unproven.code == 1
        [message] = unproven.json()["messages"]
        assert message["status"] == "failed" and message["errorType"] == "VersionUnproven"
        assert kit.count(kit.sb.dlq_url) == 1
    finally:
        _grant_reads(kit)
