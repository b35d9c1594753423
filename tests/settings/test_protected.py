"""Settings side of protected fields: init fills [appsync.protected_fields] from the schema's @auth rules, and
[[producers.rules]] reach the worker's environment, checked by the worker's own parser."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from mutation_cli.main import main
from project_settings import SettingsError, load_settings
from project_settings.model import DEFAULT_PATH
from worker.config import WorkerConfig
from worker.rights import ProducerRule

CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "projects"
RULES = """
[[producers.rules]]
producer = "eventbridge:111111111111/com.example.orders"
mutations = ["createPost"]
protected_fields = ["Post.owner"]
"""


def test_init_fills_protected_fields_and_rules_reach_the_worker(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copytree(CORPUS / "movemeet", tmp_path / "movemeet")
    settings = tmp_path / "settings.toml"
    settings.write_text(DEFAULT_PATH.read_text(encoding="utf-8") + RULES, encoding="utf-8")
    argv = ["init", "--settings", str(settings), "--no-input", "--from-amplify", str(tmp_path / "movemeet")]
    assert main([*argv, "--worker-account", "123456789012", "--mutations", "createPost,updatePost"]) == 0
    loaded = load_settings(settings)
    assert dict(loaded.appsync.protected_fields) == {
        "Chat": ("owner",),
        "Message": ("owner",),
        "Post": ("owner",),
        "User": ("owner",),
    }
    assert loaded.producers.rules == (
        ProducerRule(
            "eventbridge:111111111111/com.example.orders",
            frozenset({"createPost"}),
            frozenset({"Post.owner"}),
        ),
    )
    config = WorkerConfig.from_environ(loaded.worker_environment())
    assert config.protected_fields["Post"] == ("owner",) and config.producer_rules == loaded.producers.rules


def test_bad_rules_are_named_with_the_settings_key(tmp_path: Path) -> None:
    settings = tmp_path / "settings.toml"
    settings.write_text(
        DEFAULT_PATH.read_text(encoding="utf-8")
        + '\n[[producers.rules]]\nproducer = "sqs:*"\nprotected_fields = ["owner"]\n'
        + '\n[appsync.protected_fields]\nPost = ["*"]\n',
        encoding="utf-8",
    )
    with pytest.raises(SettingsError) as caught:
        load_settings(settings)
    text = str(caught.value)
    assert "producers.rules[0].protected_fields must be a list of Model.field names" in text
    assert "appsync.protected_fields.Post" in text
