"""Synthesize each app once per session: the default settings, and a FIFO + external-id variant."""

from __future__ import annotations

import os

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from pathlib import Path
from typing import Any

import pytest
from aws_cdk import assertions

from infra.synth import Synthesized, synthesize
from project_settings import Settings, load_settings

EXTERNAL_ID = "worker-external-id-42"


@pytest.fixture(scope="session")
def settings() -> Settings:
    return load_settings()


@pytest.fixture(scope="session")
def synthesized(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    # package_dir=None: always the worker-only staged source, whatever build/lambda holds.
    return synthesize(settings, outdir=tmp_path_factory.mktemp("synth") / "cdk.out", package_dir=None)


@pytest.fixture(scope="session")
def external_id() -> str:
    return EXTERNAL_ID


@pytest.fixture(scope="session")
def fifo_settings(settings: Settings) -> Settings:
    return settings.with_changes(
        worker={
            "fifo": True,
            "queue_name": "appsync-mutations.fifo",
            "dead_letter_queue_name": "appsync-mutations-dlq.fifo",
            "batching_window_seconds": 0,
        },
        mutator_role={"external_id": EXTERNAL_ID},
    )


@pytest.fixture(scope="session")
def fifo_synthesized(fifo_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    return synthesize(
        fifo_settings, outdir=tmp_path_factory.mktemp("synth-fifo") / "cdk.out", package_dir=None
    )


@pytest.fixture(scope="session")
def template_a(synthesized: Synthesized) -> dict[str, Any]:
    return synthesized.account_a


@pytest.fixture(scope="session")
def template_b(synthesized: Synthesized) -> dict[str, Any]:
    return synthesized.account_b


@pytest.fixture(scope="session")
def assert_a(template_a: dict[str, Any]) -> assertions.Template:
    return assertions.Template.from_json(template_a)


@pytest.fixture(scope="session")
def assert_b(template_b: dict[str, Any]) -> assertions.Template:
    return assertions.Template.from_json(template_b)


@pytest.fixture(scope="session")
def assembly_dir(synthesized: Synthesized) -> Path:
    assert synthesized.assembly_dir is not None
    return synthesized.assembly_dir
