"""`appsync-mutations init --from-amplify DIR` writes settings.toml from the project.

Fixtures: tests/settings/fixtures (real-shaped Gen 1 project and Gen 2 amplify_outputs.json; see its README).
"""

from __future__ import annotations

import json
import shutil
import tomllib
from pathlib import Path
from typing import Any

import pytest

from mutation_cli.main import main
from project_settings import SettingsError, load_settings
from project_settings.model import DEFAULT_PATH

FIXTURES = Path(__file__).resolve().parent / "fixtures"
GEN1_API_ID = "q7wz3kxhfbdnlmc2r5tuvy4e6a"
#: The endpoint's host is another string than the API id, as on AppSync (fixtures/README.md).
GEN1_URL = "https://k3vh5ojtxbeqdm2ayrfsiwcu7n.appsync-api.eu-west-1.amazonaws.com/graphql"
GEN2_API_ID = "36dah6hvw5ggbcapeoztrex6xm"
GEN2_URL = "https://fu2yrzsiwc4hkqbl6dnm5tejxa.appsync-api.eu-central-1.amazonaws.com/graphql"


@pytest.fixture
def work(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Any:
    shutil.copytree(FIXTURES / "gen1", tmp_path / "shop")
    shutil.copytree(FIXTURES / "gen2", tmp_path / "shop-gen2")
    settings = tmp_path / "config" / "settings.toml"
    settings.parent.mkdir()
    settings.write_text(DEFAULT_PATH.read_text(encoding="utf-8"), encoding="utf-8")

    class Work:
        root = tmp_path
        gen1 = tmp_path / "shop"
        gen2 = tmp_path / "shop-gen2"
        path = settings

        @staticmethod
        def run(*args: str) -> tuple[int, str, str]:
            code = main(["init", "--settings", str(settings), "--no-input", *args])
            out, err = capsys.readouterr()
            return code, out, err

        @staticmethod
        def raw() -> dict[str, Any]:
            return tomllib.loads(settings.read_text(encoding="utf-8"))

    return Work


def test_gen1_project_fills_the_eight_values(work: Any) -> None:
    code, out, err = work.run(
        "--from-amplify",
        str(work.gen1),
        "--worker-account",
        "123456789012",
        "--mutations",
        "createOrder,updateOrder",
    )
    assert code == 0, err
    settings = load_settings(work.path)
    assert settings.accounts.api == "444455556666"  # providers.awscloudformation StackId / AuthRoleArn
    assert settings.accounts.worker == "123456789012"
    assert settings.accounts.region == "eu-west-1"
    assert settings.appsync.api_id == GEN1_API_ID
    assert settings.appsync.url == GEN1_URL
    assert settings.appsync.allowed_mutations == ("createOrder", "updateOrder")
    assert dict(settings.appsync.model_keys) == {"Order": ("orderNumber", "placedAt")}  # @primaryKey
    assert settings.amplify.api_name == "shopapi"
    assert settings.amplify.project_dir.resolve() == work.gen1.resolve()
    assert work.raw()["amplify"]["project_dir"] == "../shop"  # relative to the settings file
    assert settings.amplify.generation == 1
    assert "environment 'dev'" in out and "amplify-meta.json" in out
    assert "sandbox" not in err  # no sandbox values left
    # everything else in the file, comments included, is as it was
    text = work.path.read_text()
    assert "# The pinned role session name lives here and only here" in text
    assert 'session_name = "appsync-mutation-worker"   # pinned by the trust policy' in text
    # and the generator now works against the project without retyping anything
    from amplify_custom_roles import generate

    result = generate(settings)
    assert result.written and settings.assumed_role_arn in result.after


def test_what_cannot_be_read_is_a_clear_placeholder(work: Any) -> None:
    code, out, _ = work.run("--from-amplify", str(work.gen1))
    assert code == 0
    assert "still to fill in" in out and "accounts.worker" in out and "appsync.allowed_mutations" in out
    raw = work.raw()
    assert raw["accounts"]["worker"].startswith("<account A")
    (placeholder,) = raw["appsync"]["allowed_mutations"]
    assert "createOrder" in placeholder and "recordAudit" in placeholder and "reindexCatalog" in placeholder
    assert "deleteAuditEntry" not in placeholder  # @model(mutations: {...}) names them
    assert "Catalog" not in placeholder.replace("reindexCatalog", "")  # @model(mutations: null)
    with pytest.raises(SettingsError) as refused:  # every command refuses it until filled in
        load_settings(work.path)
    assert any("accounts.worker=" in p and "<account A" in p for p in refused.value.problems)


def test_existing_mutations_that_the_schema_defines_are_kept(work: Any) -> None:
    work.path.write_text(
        work.path.read_text().replace('"createTodo", "updateTodo", "deleteTodo"', '"createOrder"')
    )
    assert work.run("--from-amplify", str(work.gen1), "--worker-account", "123456789012")[0] == 0
    assert load_settings(work.path).appsync.allowed_mutations == ("createOrder",)


def test_another_environment_comes_from_team_provider_info(work: Any) -> None:
    code, out, _ = work.run(
        "--from-amplify", str(work.gen1), "--env", "prod", "--worker-account", "123456789012"
    )
    assert code == 0
    raw = work.raw()
    assert raw["accounts"]["api"] == "777788889999"
    assert raw["appsync"]["api_id"].startswith("<")  # amplify-meta.json only describes 'dev'
    assert "amplify env checkout prod" in out


def test_invalid_input_exits_2_and_writes_nothing(work: Any) -> None:
    before = work.path.read_bytes()
    cases = [
        (("--from-amplify", str(work.root / "nowhere")), "no such file or directory"),
        (("--from-amplify", str(work.root)), "is not an Amplify project"),
        (("--from-amplify", str(work.gen1), "--env", "staging"), "environment 'staging' is not in"),
        (("--from-amplify", str(work.gen1), "--api-name", "shoppapi"), "no AppSync API 'shoppapi'"),
        (("--from-amplify", str(work.gen1), "--mutations", "createTodo"), "createTodo not in the schema"),
        (("--from-amplify", str(work.gen1), "--worker-account", "1234"), "not a 12-digit account id"),
        (("--from-amplify", str(work.gen1), "--api-account", "999999999999"), "contradicts"),
    ]
    for args, message in cases:
        code, _, err = work.run(*args)
        assert code == 2 and message in err, (args, err)
    meta = work.gen1 / "amplify" / "backend" / "amplify-meta.json"
    meta.write_text("{not json")
    code, _, err = work.run("--from-amplify", str(work.gen1))
    assert code == 2 and "cannot be read as JSON" in err
    assert work.path.read_bytes() == before


def test_dry_run_shows_the_diff_only(work: Any) -> None:
    before = work.path.read_bytes()
    code, out, _ = work.run("--from-amplify", str(work.gen1), "--dry-run")
    assert code == 0 and "would set" in out and '+api = "444455556666"' in out
    assert work.path.read_bytes() == before


def test_gen2_outputs_fill_url_region_id_and_mutations(work: Any) -> None:
    code, out, _ = work.run(
        "--from-amplify",
        str(work.gen2),
        "--worker-account",
        "123456789012",
        "--api-account",
        "555566667777",
        "--api-id",
        GEN2_API_ID,
        "--mutations",
        "createOrder,addUserToGroup",
    )
    assert code == 0
    settings = load_settings(work.path)
    assert settings.amplify.generation == 2
    assert settings.appsync.api_id == GEN2_API_ID  # from --api-id: never from data.url's host
    assert settings.appsync.url == GEN2_URL
    assert f"appsync.api_id = {GEN2_API_ID!r}    <- the command line" in out
    assert settings.accounts.region == "eu-central-1"
    assert settings.accounts.api == "555566667777"
    assert settings.appsync.allowed_mutations == ("createOrder", "addUserToGroup")
    assert "Gen 2: no custom-roles.json" in out
    # the file itself can be named too; and without --api-account the account is a placeholder
    code, out, _ = work.run("--from-amplify", str(work.gen2 / "amplify_outputs.json"))
    assert code == 0 and work.raw()["accounts"]["api"] == "555566667777"  # a real one already there: kept


def test_gen2_without_account_leaves_a_placeholder(work: Any) -> None:
    code, out, _ = work.run("--from-amplify", str(work.gen2), "--mutations", "createTodo")
    assert code == 0
    assert work.raw()["accounts"]["api"].startswith("<account B")
    assert "amplify_outputs.json names neither account B nor the API id" in out


def test_both_generations_in_one_folder_must_be_chosen(work: Any) -> None:
    shutil.copy(work.gen2 / "amplify_outputs.json", work.gen1 / "amplify_outputs.json")
    code, _, err = work.run("--from-amplify", str(work.gen1))
    assert code == 2 and "--generation" in err
    assert (
        work.run("--from-amplify", str(work.gen1), "--generation", "2", "--mutations", "createTodo")[0] == 0
    )
    assert work.raw()["amplify"]["generation"] == 2


def test_category_api_version_is_detected_from_node_modules(work: Any) -> None:
    package = work.gen1 / "node_modules" / "@aws-amplify" / "amplify-category-api"
    package.mkdir(parents=True)
    (package / "package.json").write_text(
        json.dumps({"name": "@aws-amplify/amplify-category-api", "version": "5.15.7"})
    )
    code, out, _ = work.run("--from-amplify", str(work.gen1), "--worker-account", "123456789012")
    assert code == 0 and "amplify-category-api/package.json (5.15.7)" in out
    raw = work.raw()
    assert (
        raw["amplify"]["category_api_version"] == "5.15.7" and raw["amplify"]["cli_behaviour"] == "normalize"
    )


def test_a_missing_settings_file_is_created_from_the_template(work: Any, tmp_path: Path) -> None:
    target = tmp_path / "new" / "settings.toml"
    target.parent.mkdir()
    code = main(
        [
            "init",
            "--settings",
            str(target),
            "--no-input",
            "--from-amplify",
            str(work.gen1),
            "--worker-account",
            "123456789012",
            "--mutations",
            "createOrder",
        ]
    )
    assert code == 0
    settings = load_settings(target)
    assert settings.accounts.api == "444455556666" and settings.worker.queue_name == "appsync-mutations"


def test_prompts_fill_what_the_files_do_not_say(work: Any, capsys: pytest.CaptureFixture[str]) -> None:
    from mutation_cli.init_settings import initialise
    from mutation_cli.main import build_parser

    answers = iter(["123456789012", "createOrder, deleteOrder"])
    args = build_parser().parse_args(["init", "--from-amplify", str(work.gen1), "--settings", str(work.path)])
    import io

    out, err = io.StringIO(), io.StringIO()
    assert initialise(args, out=out, err=err, ask=lambda label: next(answers)) == 0
    settings = load_settings(work.path)
    assert settings.accounts.worker == "123456789012"
    assert settings.appsync.allowed_mutations == ("createOrder", "deleteOrder")
