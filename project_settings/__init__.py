"""The project's single settings file, and everything derived from it.

The worker's Lambda environment, the custom-roles.json generator's input and both infra stacks read their
values from here, so the pinned role session name, the role name and the account ids cannot drift apart.
"""

from project_settings.generation import AmplifyGeneration
from project_settings.model import (
    AccountsSettings,
    AmplifySettings,
    AppSyncSettings,
    MutatorRoleSettings,
    OperatorRoleSettings,
    Settings,
    SettingsError,
    WorkerSettings,
    load_settings,
    parse_settings,
)

__all__ = [
    "AccountsSettings",
    "AmplifyGeneration",
    "AmplifySettings",
    "AppSyncSettings",
    "MutatorRoleSettings",
    "OperatorRoleSettings",
    "Settings",
    "SettingsError",
    "WorkerSettings",
    "load_settings",
    "parse_settings",
]
