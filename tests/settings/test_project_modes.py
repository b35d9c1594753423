"""What real projects' files say about IAM and conflict detection, read where the Amplify CLI keeps it.

Most real Gen 1 APIs have no AWS_IAM mode (the corpus: 6 of 10): AppSync refuses every IAM-signed request
before any resolver runs, so custom-roles.json cannot help; four have conflict detection on (DataStore), whose
update and delete resolvers require `_version`.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from mutation_cli.main import main
from project_settings.amplify_files import read_gen1, read_gen2
from project_settings.model import DEFAULT_PATH

CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "projects"


@pytest.mark.parametrize(
    ("slug", "modes", "conflict"),
    [
        ("movemeet", ("AMAZON_COGNITO_USER_POOLS",), None),  # amplify-meta.json output.authConfig
        ("stolencycles", ("API_KEY",), "AUTOMERGE"),  # cli-inputs.json conflictResolution
        ("flutter-social", ("API_KEY",), "AUTOMERGE"),  # transform.conf.json (no cli-inputs.json)
        ("nisaba", ("AMAZON_COGNITO_USER_POOLS", "API_KEY"), "OPTIMISTIC_CONCURRENCY"),
        ("bleam", ("AMAZON_COGNITO_USER_POOLS", "API_KEY", "AWS_IAM"), None),
    ],
)
def test_auth_modes_and_conflict_detection_are_read(
    slug: str, modes: tuple[str, ...], conflict: str | None
) -> None:
    facts = read_gen1(CORPUS / slug)
    assert facts.auth_modes == modes
    assert facts.conflict_strategy == conflict
    assert (facts.iam_problem() is None) == ("AWS_IAM" in modes)


def test_gen2_outputs_name_their_modes() -> None:
    facts = read_gen2(CORPUS / "pogo-events" / "amplify_outputs.json")
    assert facts.auth_modes[0] == "API_KEY" and "AWS_IAM" in facts.auth_modes
    assert facts.iam_problem() is None


def test_init_warns_when_the_api_cannot_take_iam_and_when_updates_need_a_version(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = tmp_path / "settings.toml"
    for slug, mutation, expected in (
        ("movemeet", "createUser", "without AWS_IAM: AppSync refuses every IAM-signed request"),
        ("stolencycles", "createSeller", "conflict detection is on (AUTOMERGE, DataStore)"),
    ):
        settings.write_text(DEFAULT_PATH.read_text(encoding="utf-8"), encoding="utf-8")
        shutil.copytree(CORPUS / slug, tmp_path / slug)
        argv = ["init", "--settings", str(settings), "--no-input", "--from-amplify", str(tmp_path / slug)]
        assert main([*argv, "--worker-account", "123456789012", "--mutations", mutation]) == 0
        err = capsys.readouterr().err
        assert expected in err, err
