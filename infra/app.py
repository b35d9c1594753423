"""The CDK app: both accounts' stacks from one settings file.

``python -m infra.app [--settings settings.toml] [--outdir cdk.out]`` synthesizes offline (``make synth``);
the cdk CLI can also run it (``cdk synth --app "python -m infra.app"``), then ``CDK_OUTDIR`` is honoured.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import aws_cdk as cdk

from infra.mutator_stack import MutatorRoleStack
from infra.nag import add_checks
from infra.names import MUTATOR_STACK_ID, WORKER_STACK_ID, mutator_stack_name, worker_stack_name
from infra.packaging import DEFAULT_PACKAGE_DIR, lambda_source, package_problems
from infra.worker_stack import WorkerStack
from project_settings import Settings, load_settings


def build_app(settings: Settings, *, code_dir: Path, outdir: str | None = None) -> cdk.App:
    """Both stacks, with AwsSolutions checks registered (they run, and can fail, at ``app.synth()``)."""
    app = cdk.App(outdir=outdir, analytics_reporting=False)
    region = settings.accounts.region
    WorkerStack(
        app,
        WORKER_STACK_ID,
        settings=settings,
        code_dir=code_dir,
        stack_name=worker_stack_name(settings),
        env=cdk.Environment(account=settings.accounts.worker, region=region),
        description="AppSync mutation worker (account A): function, queues, rule, alarms",
    )
    MutatorRoleStack(
        app,
        MUTATOR_STACK_ID,
        settings=settings,
        stack_name=mutator_stack_name(settings),
        env=cdk.Environment(account=settings.accounts.api, region=region),
        description="AppSync mutation worker (account B): the role the worker assumes",
        # No assets: deployable with plain credentials, so the Amplify account needs no `cdk bootstrap`.
        synthesizer=cdk.BootstraplessSynthesizer(),
    )
    add_checks(app)
    return app


def synth(
    settings: Settings, outdir: str | None = None, package_dir: Path | None = DEFAULT_PACKAGE_DIR
) -> Path:
    """Synthesize both stacks into ``outdir``; returns the cloud assembly directory.

    Refuses a built package whose wheels are for another architecture than ``worker.architecture``.
    """
    _warnings, refusal = package_problems(settings.worker.architecture, package_dir)
    if refusal is not None:
        raise ValueError(refusal)
    with lambda_source(package_dir) as code_dir:
        assembly = build_app(settings, code_dir=code_dir, outdir=outdir).synth()
    return Path(assembly.directory)


def operations_warnings(settings: Settings) -> list[str]:
    """What a deployment from these settings would lack that someone relies on (printed by ``make synth``)."""
    if settings.worker.alarm_topic_arn:
        return []
    return [
        "warning: worker.alarm_topic_arn is empty: the alarms (function errors and throttles, source-queue age, "
        "both dead-letter queues) have no actions, so nobody is notified when they fire; set it to an SNS "
        "topic ARN in account A"
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Synthesize both accounts' CloudFormation templates.")
    parser.add_argument("--settings", type=Path, default=None, help="settings file (default: settings.toml)")
    parser.add_argument(
        "--outdir", default=None, help="cloud assembly directory (default: CDK_OUTDIR or cdk.out)"
    )
    args = parser.parse_args(argv)
    settings = load_settings(args.settings)
    from project_settings.checks import settings_warnings

    for warning in settings_warnings(settings):  # the sandbox's account ids, mutations the schema lacks
        print(warning, file=sys.stderr)
    for warning in operations_warnings(settings):
        print(warning, file=sys.stderr)
    package_warnings, refusal = package_problems(settings.worker.architecture, DEFAULT_PACKAGE_DIR)
    if refusal is not None:
        print(f"error: {refusal}", file=sys.stderr)
        return 2
    for warning in package_warnings:
        print(warning, file=sys.stderr)
    directory = synth(settings, args.outdir)
    print(f"templates written to {directory}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
