"""Generate and check Amplify Gen 1's ``custom-roles.json`` so its resolvers admit the worker, and no more.

Public API: ``generate``, ``check``, ``plan`` (and their result types), ``CustomRolesError``, ``GEN2_NOTE``.
Imports are lazy so that ``amplify_custom_roles.admin_rule`` (used by the sandbox) stays cheap to import.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "generate": "amplify_custom_roles.generator",
    "check": "amplify_custom_roles.generator",
    "plan": "amplify_custom_roles.generator",
    "Plan": "amplify_custom_roles.generator",
    "GenerateResult": "amplify_custom_roles.generator",
    "CheckResult": "amplify_custom_roles.generator",
    "GEN2_NOTE": "amplify_custom_roles.generator",
    "CustomRolesError": "amplify_custom_roles.document",
    "Finding": "amplify_custom_roles.lint",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'amplify_custom_roles' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
