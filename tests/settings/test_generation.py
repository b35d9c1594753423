"""``amplify.generation`` is a type (``AmplifyGeneration``): settings spell it 1 or 2, code asks it what differs."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import pytest

from project_settings import AmplifyGeneration
from project_settings.amplify_files import deployed_facts
from project_settings.model import DEFAULT_PATH, SettingsError, parse_settings

GEN1, GEN2 = AmplifyGeneration.GEN1, AmplifyGeneration.GEN2
ROOT = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def _raw(**amplify: Any) -> dict[str, Any]:
    raw = tomllib.loads(DEFAULT_PATH.read_text(encoding="utf-8"))
    raw["amplify"].update(amplify)
    return raw


def test_settings_numbers_load_as_the_type_and_gen1_is_the_default() -> None:
    assert parse_settings(_raw(), base_dir=DEFAULT_PATH.parent).amplify.generation is GEN1
    for number, member in ((1, GEN1), (2, GEN2)):
        generation = parse_settings(_raw(generation=number), base_dir=DEFAULT_PATH.parent).amplify.generation
        assert generation is member and generation.setting == number


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (3, "amplify.generation=3 must be 1 or 2 (the Amplify generation of the API)"),
        (0, "amplify.generation=0 must be 1 or 2 (the Amplify generation of the API)"),
        ("2", "amplify.generation must be a whole number, not '2'"),
        (True, "amplify.generation must be a whole number, not True"),
    ],
)
def test_a_bad_generation_is_named_with_what_is_accepted(value: Any, problem: str) -> None:
    with pytest.raises(SettingsError) as caught:
        parse_settings(_raw(generation=value), base_dir=DEFAULT_PATH.parent)
    assert problem in caught.value.problems


def test_from_setting_accepts_the_numbers_and_members_and_names_the_key_otherwise() -> None:
    assert AmplifyGeneration.from_setting(2) is GEN2
    assert AmplifyGeneration.from_setting(GEN1) is GEN1
    assert AmplifyGeneration.settings_values() == (1, 2)
    with pytest.raises(ValueError, match=r"^generation=7 must be 1 or 2 "):
        AmplifyGeneration.from_setting(7, name="generation")
    for bad in (True, 2.0, "1", None):
        with pytest.raises(ValueError, match=r"amplify\.generation=.* must be 1 or 2"):
            AmplifyGeneration.from_setting(bad)


def test_settings_changed_with_a_number_still_hold_the_type() -> None:
    settings = parse_settings(_raw(), base_dir=DEFAULT_PATH.parent)
    changed = settings.with_changes(amplify={"generation": 2})
    assert changed.amplify.generation is GEN2 and changed.amplify.generation.iam_policy_only_gate
    with pytest.raises(ValueError, match="must be 1 or 2"):
        settings.with_changes(amplify={"generation": 5})


def test_what_differs_between_the_generations() -> None:
    assert (GEN1.label, GEN2.label) == ("Gen 1", "Gen 2")
    assert GEN2.setting_text == "amplify.generation = 2"
    # Gen 1: custom-roles.json admits the caller; Gen 2: the IAM policy is the only gate.
    assert GEN1.custom_roles_gate and not GEN1.iam_policy_only_gate
    assert GEN2.iam_policy_only_gate and not GEN2.custom_roles_gate
    # Gen 1 is read from the amplify/ folder (environments, named APIs); Gen 2 from amplify_outputs.json.
    assert not GEN1.described_by_outputs and GEN1.has_environments
    assert GEN2.described_by_outputs and not GEN2.has_environments
    # Gen 2 names tables <Model>-<apiId>-NONE; Gen 1 uses the Amplify environment's name.
    assert (GEN1.table_env_name, GEN2.table_env_name) == (None, "NONE")


def test_each_generation_reads_its_own_project_files() -> None:
    gen1 = deployed_facts(FIXTURES / "gen1", GEN1)
    gen2 = deployed_facts(FIXTURES / "gen2", GEN2)
    assert gen1 is not None and gen1.generation is GEN1 and gen1.source.endswith("amplify-meta.json")
    assert gen2 is not None and gen2.generation is GEN2 and gen2.source.endswith("amplify_outputs.json")
    assert deployed_facts(FIXTURES / "gen1", GEN2) is None  # no amplify_outputs.json in a Gen 1 project


#: ``generation == 2``, ``getattr(sb, "generation", 1) == 2``, ``generation not in (1, 2)``: on a line that
#: names the generation, its number compared instead of the type asked what differs.
NUMBER_COMPARED = re.compile(r"[=!]=\s*[12]\b|\bin\s*[(\[{]\s*1\s*,\s*2")


def test_no_code_compares_the_generation_to_a_number() -> None:
    packages = ("project_settings", "mutation_cli", "sandbox", "amplify_custom_roles", "infra")
    found = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for package in packages
        for path in sorted((ROOT / package).rglob("*.py"))
        if path.name != "generation.py"
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if "generation" in line.lower() and NUMBER_COMPARED.search(line)
    ]
    assert found == [], "ask AmplifyGeneration what differs instead:\n" + "\n".join(found)
