"""``replay export --out`` and ``replay replay --failed-out`` files are 0600: they hold producers'
message bodies and the reasons. A file that already exists with a wider mode is narrowed; a planted symlink is
refused rather than followed."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_export_and_failed_out_are_owner_only_even_over_a_wider_file(
    cli: Any, kit: Any, tmp_path: Path
) -> None:
    kit.sb.write_custom_roles([kit.iam_role_arn])
    kit.put_dead_letter({"mutation": "createPost", "input": {"title": "not on the allow-list"}})
    exported, failed_out = tmp_path / "dead.jsonl", tmp_path / "still-failing.jsonl"
    for path in (exported, failed_out):
        path.write_text("old\n")
        path.chmod(0o644)
    for _ in range(2):  # the same command twice: still 0600, still one record
        assert cli("replay", "export", "--out", str(exported)).code == 0
        assert _mode(exported) == 0o600
        assert len(exported.read_text().splitlines()) == 1
        result = cli("replay", "replay", "--file", str(exported), "--failed-out", str(failed_out), "--json")
        assert result.code == 1
        assert _mode(failed_out) == 0o600
        [line] = failed_out.read_text().splitlines()
        assert json.loads(line)["failure"]["errorType"] == "MutationNotAllowed"


def test_a_symlink_in_place_of_the_export_file_is_not_followed(cli: Any, kit: Any, tmp_path: Path) -> None:
    kit.put_dead_letter({"mutation": "createPost", "input": {"title": "x"}})
    target = tmp_path / "elsewhere.jsonl"
    target.write_text("")
    link = tmp_path / "dead.jsonl"
    os.symlink(target, link)
    result = cli("replay", "export", "--out", str(link))
    assert result.code != 0
    assert target.read_text() == ""
