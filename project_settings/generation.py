"""The Amplify generation of the target API, and every way the two generations differ, written once.

Gen 1 (the Amplify CLI, an ``amplify/`` folder): Amplify's resolvers admit an IAM caller only when
``custom-roles.json`` names its role (an admin role), the CLI's behaviour for that file depends on the
``@aws-amplify/amplify-category-api`` version, and the project has environments and named APIs whose files
(``amplify-meta.json``) name the account and the API id.

Gen 2 (``npx ampx``, ``amplify_outputs.json``): ``defineData`` admits every IAM principal that is not a Cognito
identity-pool identity, so the caller's IAM policy is the only gate and there is no ``custom-roles.json``; the
outputs name neither account B nor the API id (the id is looked up, given or asked for), and tables are named
``<Model>-<apiId>-NONE``.

Callers ask the member what they need (``generation.custom_roles_gate``), never its number: settings spell it
``amplify.generation = 1`` or ``2``, and only :meth:`AmplifyGeneration.from_setting` reads that spelling.
It is an ``IntEnum`` so that files, option values and code written against the number keep working.
"""

from __future__ import annotations

from enum import IntEnum


class AmplifyGeneration(IntEnum):
    """Gen 1 (custom-roles.json is the gate) or Gen 2 (the IAM policy is the only gate)."""

    GEN1 = 1
    GEN2 = 2

    @classmethod
    def from_setting(cls, value: object, *, name: str = "amplify.generation") -> AmplifyGeneration:
        """The generation ``amplify.generation`` (or ``init --generation``, ``name`` in the message) spells;
        ``ValueError`` says what is accepted, so a typo is named instead of silently meaning Gen 1."""
        if isinstance(value, cls):
            return value
        if isinstance(value, int) and not isinstance(value, bool):
            for generation in cls:
                if generation.setting == value:
                    return generation
        raise ValueError(f"{name}={value!r} must be {cls.spellings()} (the Amplify generation of the API)")

    @classmethod
    def spellings(cls) -> str:
        """What settings.toml may hold, for messages: ``1 or 2``."""
        return " or ".join(str(generation.setting) for generation in cls)

    @classmethod
    def settings_values(cls) -> tuple[int, ...]:
        """The numbers settings.toml and ``init --generation`` accept (argparse's choices)."""
        return tuple(generation.setting for generation in cls)

    @property
    def setting(self) -> int:
        """How settings.toml spells this generation (``amplify.generation = <this>``)."""
        return int(self.value)

    @property
    def setting_text(self) -> str:
        """The settings line, as messages quote it: ``amplify.generation = 2``."""
        return f"amplify.generation = {self.setting}"

    @property
    def label(self) -> str:
        """The name in messages: ``Gen 1`` or ``Gen 2``."""
        return f"Gen {self.setting}"

    @property
    def custom_roles_gate(self) -> bool:
        """Amplify's resolvers admit an IAM caller only when custom-roles.json names its role (Gen 1); the file,
        its CLI behaviour and the project's @auth sandbox mode then decide whether the worker is admitted."""
        return self is AmplifyGeneration.GEN1

    @property
    def iam_policy_only_gate(self) -> bool:
        """The caller's IAM policy on the API's field ARNs is the only gate (Gen 2: no custom-roles.json, every
        IAM principal that is not a Cognito identity-pool identity is authorized by the resolvers)."""
        return not self.custom_roles_gate

    @property
    def described_by_outputs(self) -> bool:
        """The project is read from ``amplify_outputs.json`` (Gen 2: its URL, region and model introspection),
        not from the ``amplify/`` folder's files (Gen 1: amplify-meta.json, the API's schema.graphql)."""
        return self is AmplifyGeneration.GEN2

    @property
    def has_environments(self) -> bool:
        """The project has Amplify CLI environments and named APIs (Gen 1: ``--env``, ``--api-name``)."""
        return self is AmplifyGeneration.GEN1

    @property
    def table_env_name(self) -> str | None:
        """The environment part of table names when the generation fixes it (Gen 2: ``<Model>-<apiId>-NONE``);
        None: it is the Amplify environment's name (Gen 1)."""
        return "NONE" if self is AmplifyGeneration.GEN2 else None


__all__ = ["AmplifyGeneration"]
