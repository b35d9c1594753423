"""``synthesize(settings)``: both templates as dicts, for tests, the sandbox and the alignment test."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infra.app import synth
from infra.names import MUTATOR_STACK_ID, WORKER_STACK_ID
from infra.packaging import DEFAULT_PACKAGE_DIR
from project_settings import Settings


@dataclass(frozen=True)
class Synthesized:
    """The two templates; unpacks as ``account_a, account_b``."""

    account_a: dict[str, Any]
    account_b: dict[str, Any]
    #: The cloud assembly (templates, assets, validation report); ``None`` when it was a temporary directory.
    assembly_dir: Path | None

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter((self.account_a, self.account_b))


def read_templates(assembly_dir: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    def load(stack_id: str) -> dict[str, Any]:
        return dict(json.loads((assembly_dir / f"{stack_id}.template.json").read_text(encoding="utf-8")))

    return load(WORKER_STACK_ID), load(MUTATOR_STACK_ID)


def synthesize(
    settings: Settings, *, outdir: str | Path | None = None, package_dir: Path | None = DEFAULT_PACKAGE_DIR
) -> Synthesized:
    """Synthesize both stacks offline (cdk-nag runs and fails the synth on an unacknowledged finding).

    ``outdir`` keeps the cloud assembly; without it a temporary directory is used and removed.
    ``package_dir=None`` always stages ``worker/`` alone instead of using a built ``build/lambda``.
    """
    if outdir is not None:
        directory = synth(settings, str(outdir), package_dir)
        return Synthesized(*read_templates(directory), assembly_dir=directory)
    with tempfile.TemporaryDirectory(prefix="cdk-out-") as temporary:
        directory = synth(settings, temporary, package_dir)
        return Synthesized(*read_templates(directory), assembly_dir=None)
