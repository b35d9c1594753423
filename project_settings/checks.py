"""Checks every command that uses the settings runs before acting on them.

``sandbox_warning(settings)`` is the one place that knows the local sandbox's placeholder values: the
custom-roles generator, ``make synth`` (infra/app.py) and ``doctor`` call it and print what it returns.
``schema_problems(settings)`` checks the allowed mutations against the Amplify project's schema when the
project is at hand (``project_settings.schema`` reads it).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from project_settings.model import Settings

# What settings.toml ships with: the two-account sandbox's ids. Real accounts never have these.
SANDBOX_WORKER_ACCOUNT = "111111111111"
SANDBOX_API_ACCOUNT = "222222222222"
SANDBOX_API_ID = "sandboxapi0000000000000000"
SANDBOX_ACCOUNTS = {SANDBOX_WORKER_ACCOUNT: "accounts.worker", SANDBOX_API_ACCOUNT: "accounts.api"}


def sandbox_values(settings: Settings) -> list[str]:
    """The settings (``section.key = value``) that still hold the local sandbox's placeholder values."""
    found = [
        f"{key} = {value!r}"
        for key, value in (
            ("accounts.worker", settings.accounts.worker),
            ("accounts.api", settings.accounts.api),
        )
        if value in SANDBOX_ACCOUNTS
    ]
    if settings.appsync.api_id == SANDBOX_API_ID:
        found.append(f"appsync.api_id = {SANDBOX_API_ID!r}")
    return found


def sandbox_warning(settings: Settings) -> str | None:
    """A loud warning while the settings still hold the sandbox's account ids or API id (None otherwise).

    Fine for ``make demo`` and the tests; anything meant for AWS (custom-roles.json, templates, doctor
    against a real API) built from them admits or targets accounts that are not yours.
    """
    found = sandbox_values(settings)
    if not found:
        return None
    return (
        f"WARNING: {settings.source} still holds the local sandbox's placeholder values ({', '.join(found)}). "
        "They are right for `make demo` only: a custom-roles.json entry, a template or a doctor run built "
        "from them names accounts that are not yours. Put your own in, or run "
        "`appsync-mutations init --from-amplify <your Amplify project>` to read them from it."
    )


#: What a local rehearsal may stand in for: the values no Amplify file names (Gen 2 names neither account B
#: nor the API id) and that only matter in AWS. ``init`` leaves ``<...>`` placeholders for them.
REHEARSAL_VALUES = {
    ("accounts", "worker"): SANDBOX_WORKER_ACCOUNT,
    ("accounts", "api"): SANDBOX_API_ACCOUNT,
    ("appsync", "api_id"): SANDBOX_API_ID,
}


def rehearsal_settings(path: Path | str | None = None) -> tuple[Settings, list[str]]:
    """The settings for the local sandbox: ``init``'s placeholders for the accounts and the API id are filled
    with the sandbox's own (named in the returned list); any other problem is the file's, raised as usual."""
    from project_settings.model import parse_settings, read_settings_file

    file, raw = read_settings_file(path)
    filled = []
    for (section, key), value in REHEARSAL_VALUES.items():
        current = raw.get(section, {}).get(key)
        if isinstance(current, str) and current.startswith("<"):
            raw.setdefault(section, {})[key] = value
            filled.append(f"{section}.{key} = {value!r}")
    return parse_settings(raw, source=str(file), base_dir=file.parent), filled


def schema_problems(settings: Settings) -> list[str]:
    """Allowed mutations the Amplify project's schema does not define (empty when none, or no schema found)."""
    from project_settings.schema import mutation_problems

    return mutation_problems(settings)


def settings_warnings(settings: Settings) -> list[str]:
    """Every warning above, as printable lines: the sandbox values first, then schema mismatches."""
    warning = sandbox_warning(settings)
    return ([warning] if warning else []) + [f"warning: {p}" for p in schema_problems(settings)]


__all__ = [
    "SANDBOX_ACCOUNTS",
    "SANDBOX_API_ACCOUNT",
    "SANDBOX_API_ID",
    "SANDBOX_WORKER_ACCOUNT",
    "sandbox_values",
    "sandbox_warning",
    "schema_problems",
    "settings_warnings",
]
