"""Real public Amplify projects work the first time, from `init` to applied mutations.

Each project under ``projects/`` is a public repository's Amplify project (its ``SOURCE.md`` names the repository,
the paths and the commit; ``manifest.json`` what each covers and which models to exercise), in a folder shaped as
a deployed one is, its API id different from its endpoint's host (as on AppSync). For each:

1. ``appsync-mutations init --from-amplify <project>`` as a new user runs it (Gen 2: ``--api-id`` and
   ``--api-account``, which amplify_outputs.json does not name);
2. the sandbox on Amplify's own resolvers compiled from the project's schema (Gen 1 ``schema.graphql``, Gen 2
   ``model_introspection``), with the settings ``init`` wrote;
3. through the worker's handler, per exercised model: a create, the same create again (one record, reported
   already applied), an update and a delete, each checked against account B's table;
4. a model the starter's global rule leaves in sandbox mode: refused for IAM (dead-lettered ``Unauthorized``,
   nothing written), as on AWS; then ``init``'s fix (``@auth(rules: [{ allow: public }])``) makes it writable.
"""

from __future__ import annotations

import json
import re
import shutil
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from mutation_cli.main import main
from project_settings.amplify_files import read_gen1
from project_settings.checks import rehearsal_settings
from project_settings.model import DEFAULT_PATH
from tests.support import dead_letters, invoke

HERE = Path(__file__).resolve().parent
MANIFEST = json.loads((HERE / "manifest.json").read_text(encoding="utf-8"))
WORKER_ACCOUNT = "123456789012"
API_ACCOUNT = "210987654321"  # Gen 2 outputs name none; Gen 1 projects without a StackId get it too
GEN2_API_ID = "corpusgen2apiid00000000000"  # not the host of any data.url in the corpus

pytestmark = pytest.mark.slow


def _same(stored: Any, sent: Any) -> bool:
    """A stored DynamoDB value equals what was sent (numbers as Decimal; AWSJSON may be stored parsed)."""
    if isinstance(stored, Decimal) or (isinstance(sent, int | float) and not isinstance(sent, bool)):
        try:
            return Decimal(str(stored)) == Decimal(str(sent))
        except ArithmeticError:
            return False
    if isinstance(sent, str) and not isinstance(stored, str):
        try:
            return _same(stored, json.loads(sent))
        except ValueError:
            return False
    if isinstance(sent, dict) and isinstance(stored, dict):
        return all(_same(stored.get(k), v) for k, v in sent.items() if v is not None)
    if isinstance(sent, list) and isinstance(stored, list):
        return len(sent) == len(stored) and all(_same(a, b) for a, b in zip(stored, sent, strict=True))
    return bool(stored == sent)


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The process becomes the worker's Lambda container for a sandbox (fresh worker state each time)."""
    import os

    from worker.handler import reset_runtime

    def enter(sb: Any, **overrides: Any) -> None:
        reset_runtime()
        env = sb.lambda_environment(**overrides)
        for name in list(os.environ):
            if name.startswith("AWS_") or name in env:
                monkeypatch.delenv(name, raising=False)
        for name, value in env.items():
            monkeypatch.setenv(name, value)

    yield enter
    reset_runtime()


def _init(entry: dict[str, Any], project: Path, settings: Path, capsys: pytest.CaptureFixture[str]) -> str:
    mutations = [f"{op}{x['model']}" for x in entry["exercise"] for op in ("create", "update", "delete")]
    argv = ["init", "--settings", str(settings), "--no-input", "--from-amplify", str(project)]
    argv += ["--worker-account", WORKER_ACCOUNT, "--mutations", ",".join(mutations)]
    if entry["generation"] == 2:
        argv += ["--api-id", GEN2_API_ID, "--api-account", API_ACCOUNT]
    capsys.readouterr()
    code = main(argv)
    out, err = capsys.readouterr()
    if code != 0 and "account B" in out + err and entry["generation"] == 1:
        code = main([*argv, "--api-account", API_ACCOUNT])
        out, err = capsys.readouterr()
    assert code == 0, f"init failed on {entry['slug']}:\n{out}\n{err}"
    assert "Traceback" not in err
    return err


def _exercise(sb: Any, model: dict[str, Any], keys: tuple[str, ...], slug: str) -> None:
    name = model["model"]
    create = dict(model["create"])
    envelope: dict[str, Any] = {"mutation": f"create{name}", "input": create}
    if keys == ("id",) and "id" not in create:
        envelope["idempotencyKey"] = f"corpus-{slug}-{uuid.uuid4().hex[:10]}"  # the record id
    record = {k: create.get(k, envelope.get("idempotencyKey")) for k in keys}

    def stored() -> list[dict[str, Any]]:
        return [i for i in sb.table_items(name) if all(str(i.get(k)) == str(v) for k, v in record.items())]

    for attempt in ("create", "duplicate create"):
        sb.send_messages([json.dumps(envelope)])
        event, response = invoke(sb)
        letters = dead_letters(sb, [r["messageId"] for r in event["Records"]])
        assert response == {"batchItemFailures": []} and not letters, (
            f"{slug} {name} {attempt}: {response} {letters}"
        )
        assert len(stored()) == 1, f"{slug} {name} {attempt}: {len(stored())} records with {record}"
    [item] = stored()
    for field, value in create.items():
        if field not in ("createdAt", "updatedAt") and value is not None:
            assert _same(item.get(field), value), (
                f"{slug} {name}.{field}: stored {item.get(field)!r}, sent {value!r}"
            )

    update = {**record, **model["update"]}
    sb.send_messages([json.dumps({"mutation": f"update{name}", "input": update})])
    event, response = invoke(sb)
    assert response == {"batchItemFailures": []}, f"{slug} update{name}: {response}"
    assert not dead_letters(sb, [r["messageId"] for r in event["Records"]]), (
        f"{slug} update{name} dead-lettered"
    )
    [item] = stored()
    for field, value in model["update"].items():
        assert _same(item.get(field), value), f"{slug} {name}.{field} after update: {item.get(field)!r}"

    sb.send_messages([json.dumps({"mutation": f"delete{name}", "input": record})])
    event, response = invoke(sb)
    assert response == {"batchItemFailures": []}, f"{slug} delete{name}: {response}"
    assert stored() == [], f"{slug} {name} still there after delete"


def _with_iam_mode(project: Path, api_name: str) -> None:
    """What `amplify update api` -> add IAM as an additional authorization type leaves in the project's files."""
    backend = project / "amplify" / "backend"
    meta_path = backend / "amplify-meta.json"
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    config = meta["api"][api_name].setdefault("output", {}).setdefault("authConfig", {})
    config.setdefault("additionalAuthenticationProviders", []).append({"authenticationType": "AWS_IAM"})
    meta_path.write_text(json.dumps(meta, indent=2), encoding="utf-8")
    cli_inputs = backend / "api" / api_name / "cli-inputs.json"
    if cli_inputs.is_file():
        data = json.loads(cli_inputs.read_text(encoding="utf-8"))
        service = data.setdefault("serviceConfiguration", {})
        service.setdefault("additionalAuthTypes", []).append({"mode": "AWS_IAM"})
        cli_inputs.write_text(json.dumps(data, indent=2), encoding="utf-8")


def _with_public_auth(schema: Path, models: list[str]) -> None:
    """``init``'s fix for a sandbox-mode model: an ``@auth`` rule that keeps its API-key access."""
    text = schema.read_text(encoding="utf-8")
    for model in models:
        text, count = re.subn(
            rf"(type\s+{model}\s+@model\b(?:\([^)]*\))?)",
            r"\1 @auth(rules: [{ allow: public }])",
            text,
            count=1,
        )
        assert count == 1, f"type {model} @model not found in {schema}"
    schema.write_text(text, encoding="utf-8")


@pytest.mark.parametrize("entry", MANIFEST, ids=[e["slug"] for e in MANIFEST])
def test_a_real_project_works_from_init_to_applied_mutations(
    entry: dict[str, Any],
    tmp_path: Path,
    amplify_node_modules: Path,
    environment: Any,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from sandbox.cli import started

    project = tmp_path / entry["slug"]
    shutil.copytree(HERE / "projects" / entry["slug"], project)
    settings_path = tmp_path / "settings.toml"
    settings_path.write_text(DEFAULT_PATH.read_text(encoding="utf-8"), encoding="utf-8")
    warnings = _init(entry, project, settings_path, capsys)
    exercised = [x["model"] for x in entry["exercise"]]
    refused = [m for m in exercised if m in entry.get("sandbox_mode_models", [])]
    for model in refused:  # init said so, with the fix
        assert f"create{model} writes {model}, which has no @auth rule of its own" in warnings

    facts = read_gen1(project) if entry["generation"] == 1 else None
    no_iam = facts is not None and facts.iam_problem() is not None
    if no_iam:  # init said so: AppSync refuses IAM-signed requests before any resolver
        assert "without AWS_IAM: AppSync refuses every IAM-signed request" in warnings

    # The exercises set identity fields init protected (owner fields, groupsField): a trusted producer is named for
    # them, as a user would; the refusal without that rule is checked first, on the same sandbox.
    protected = dict(rehearsal_settings(settings_path)[0].appsync.protected_fields)
    forged = sorted(
        f"{x['model']}.{f}"
        for x in entry["exercise"]
        for f in protected.get(x["model"], ())
        if f in x["create"] or f in x["update"]
    )
    if forged:
        rule = f'\n[[producers.rules]]\nproducer = "sqs:*"\nprotected_fields = {json.dumps(forged)}\n'
        settings_path.write_text(settings_path.read_text(encoding="utf-8") + rule, encoding="utf-8")
    settings, filled = rehearsal_settings(settings_path)
    assert filled == [], f"init left placeholders: {filled}"

    def refused_once(model_name: str, at_the_door: bool) -> None:
        """One create of ``model_name`` on a fresh sandbox: dead-lettered, with the cause, nothing written."""
        with started(settings, backend="amplify", env_file=tmp_path / "refused.env") as running:
            sb = running.sandbox
            environment(sb, producer_rules=settings.producers.rules)
            model = next(x for x in entry["exercise"] if x["model"] == model_name)
            body: dict[str, Any] = {"mutation": f"create{model_name}", "input": model["create"]}
            if "id" not in model["create"]:
                body["idempotencyKey"] = "corpus-refused"
            [message_id] = sb.send_messages([json.dumps(body)])
            _, response = invoke(sb)
            assert response == {"batchItemFailures": []}
            letter = dead_letters(sb, [message_id])[message_id]
            if at_the_door:  # no AWS_IAM mode: refused before any resolver, with the cause named
                assert any("without AWS_IAM every signed request is refused" in n for n in running.notes)
                assert letter["errorType"] in ("UnauthorizedException", "MissingAuthorization"), letter
                assert "AWS_IAM" in letter.get("diagnosis", ""), letter
            else:  # IAM refused by Amplify's sandbox-mode step, as on AWS, and the diagnosis names the cause
                assert letter["errorType"] == "Unauthorized", letter
                assert "sandbox mode" in letter.get("diagnosis", ""), letter
            assert sb.table_items(model_name) == []

    if no_iam:
        refused_once(entry["exercise"][0]["model"], at_the_door=True)
        _with_iam_mode(project, settings.amplify.api_name)
        assert "without AWS_IAM" not in _init(entry, project, settings_path, capsys)
    if refused:
        refused_once(refused[0], at_the_door=False)  # with IAM in place: Amplify's sandbox mode still refuses
        _with_public_auth(settings.custom_roles_path.parent / "schema.graphql", refused)

    with started(settings, backend="amplify", env_file=tmp_path / "sandbox.env") as running:
        assert running.backend == "amplify"
        if facts is not None and facts.conflict_strategy:  # not modelled, and said so
            assert any("the sandbox does not model it" in n for n in running.notes), running.notes
        sb = running.sandbox
        if forged:  # as init left it: no producer may set them
            environment(sb, producer_rules=())
            model_name, field_name = forged[0].split(".")
            model = next(x for x in entry["exercise"] if x["model"] == model_name)
            body = {
                "mutation": f"create{model_name}",
                "input": {**model["create"], field_name: "someone-else"},
            }
            if "id" not in model["create"]:
                body["idempotencyKey"] = "corpus-forged"
            [message_id] = sb.send_messages([json.dumps(body)])
            invoke(sb)
            letter = dead_letters(sb, [message_id])[message_id]
            assert letter["errorType"] == "MutationNotAllowed" and forged[0] in letter["reason"], letter
            assert sb.table_items(model_name) == []
        environment(sb)
        for model in entry["exercise"]:
            keys = tuple(settings.appsync.model_keys.get(model["model"], ("id",)))
            _exercise(sb, model, keys, entry["slug"])


def test_the_corpus_covers_what_real_projects_use() -> None:
    covered = {c for e in MANIFEST for c in e["covers"]}
    wanted = {
        "global-auth-rule",
        "owner",
        "groups",
        "manyToMany",
        "hasMany",
        "belongsTo",
        "index",
        "enums",
        "AWSDate",
        "AWSDateTime",
        "required-fields",
    }
    assert wanted <= covered, wanted - covered
    assert any(c in covered for c in ("composite-key", "custom-primary-key", "non-id-primary-key"))
    assert any(c in covered for c in ("identity-pool", "private"))
    assert len(MANIFEST) >= 10 and {e["generation"] for e in MANIFEST} == {1, 2}
    for entry in MANIFEST:
        assert (HERE / "projects" / entry["slug"] / "SOURCE.md").is_file(), entry["slug"]
    # two models each, where the project has two its worker could write (ai-image-diary and bleam have one)
    assert sum(len(e["exercise"]) >= 2 for e in MANIFEST) >= 10


def test_a_real_transformer_v1_project_is_refused_with_the_migration_pointer(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """AdhamOmari/taskmaster (rejected/taskmaster-v1): @key/@connection, which the Amplify CLI no longer compiles."""
    settings = tmp_path / "settings.toml"
    settings.write_text(DEFAULT_PATH.read_text(encoding="utf-8"), encoding="utf-8")
    before = settings.read_bytes()
    project = HERE / "rejected" / "taskmaster-v1"
    code = main(["init", "--settings", str(settings), "--no-input", "--from-amplify", str(project)])
    err = capsys.readouterr().err
    assert code == 2
    assert "older version of the GraphQL Transformer" in err and "transformer-migration" in err
    assert "Traceback" not in err and settings.read_bytes() == before
