"""Which worker configuration an operator command uses: the Lambda's environment, else ``settings.toml``.

``APPSYNC_URL`` in the environment means "exactly what the Lambda sees" (e.g. copied from the function's
configuration); without it the configuration is derived from the settings file, as the infra stack deploys
it. The settings file is still read when available: it names the queues, the execution role, the API id and
``custom-roles.json``, which the Lambda environment does not carry.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from mutation_cli.errors import UsageError
from project_settings import Settings, SettingsError, load_settings
from worker.config import ENV_APPSYNC_URL, ConfigError, WorkerConfig, is_loopback_host


@dataclass(frozen=True)
class CliContext:
    config: WorkerConfig
    settings: Settings | None
    source: str  # "environment" or the settings file's path
    #: Set under ``--as-operator``: the person's source identity; the config is then the operator role's.
    source_identity: str | None = None

    @property
    def as_operator(self) -> bool:
        return self.source_identity is not None

    @property
    def deployment_settings(self) -> Settings | None:
        """The settings, only when they describe the deployment the configuration points at."""
        if self.settings is None:
            return None
        if self.settings.mutator_role_arn == self.config.role_arn:
            return self.settings
        if self.as_operator and self.settings.operator_role_arn == self.config.role_arn:
            return self.settings
        return None


def load_context(settings_path: str | None = None, environ: Mapping[str, str] | None = None) -> CliContext:
    env = os.environ if environ is None else environ
    url = env.get(ENV_APPSYNC_URL, "").strip()
    if url and is_loopback_url(url):
        # The local sandbox (its environment file is sourced): the settings may still hold init's placeholders,
        # which the sandbox stood in for; read them the same way, so doctor checks the same policy and roles.
        settings = _rehearsal_settings(settings_path)
    else:
        settings = _settings(settings_path, required=ENV_APPSYNC_URL not in env or settings_path is not None)
    if url:
        try:
            return CliContext(WorkerConfig.from_environ(env), settings, "environment")
        except ConfigError as exc:
            raise UsageError(str(exc)) from None
    assert settings is not None
    from project_settings.checks import sandbox_values

    placeholders = sandbox_values(settings)
    if placeholders:
        # Sent to AWS they fail as an AssumeRole of a role in nobody's account ("transient: CredentialsUnavailable").
        raise UsageError(
            f"{settings.source} still holds the local sandbox's values ({', '.join(placeholders)}), which name "
            "no real account or API: run `appsync-mutations init --from-amplify <your Amplify project>` first; "
            "against the local sandbox, load its environment instead (`set -a; . build/sandbox.env; set +a`)"
        )
    try:
        config = settings.worker_config()
    except (ConfigError, ValueError) as exc:
        raise UsageError(f"{settings.source}: {exc}") from None
    return CliContext(config, settings, settings.source)


def is_loopback_url(url: str) -> bool:
    """The URL's host is on the loopback interface: the local sandbox, never a deployed API."""
    from urllib.parse import urlsplit

    return is_loopback_host((urlsplit(url).hostname or "").lower())


def _rehearsal_settings(path: str | None) -> Settings | None:
    from project_settings.checks import rehearsal_settings

    try:
        return rehearsal_settings(Path(path) if path else None)[0]
    except SettingsError as exc:
        if path is not None:
            raise UsageError(str(exc)) from None
        return None


def _settings(path: str | None, *, required: bool) -> Settings | None:
    try:
        return load_settings(Path(path) if path else None)
    except SettingsError as exc:
        if required:
            raise UsageError(str(exc)) from None
        return None
