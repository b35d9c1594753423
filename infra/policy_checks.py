"""Our own IAM checks on synthesized policies, on top of cdk-nag and parliament (used by tests/infra)."""

from __future__ import annotations

from typing import Any


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def wildcard_findings(document: dict[str, Any]) -> list[str]:
    """Allow statements with a ``*`` in an action or resource (or using NotAction/NotResource)."""
    findings: list[str] = []
    for statement in _as_list(document["Statement"]):
        if statement["Effect"] != "Allow":
            continue
        for key in ("NotAction", "NotResource"):
            if key in statement:
                findings.append(f"{statement.get('Sid', '?')}: uses {key}")
        for action in _as_list(statement.get("Action", [])):
            if "*" in action:
                findings.append(f"{statement.get('Sid', '?')}: action {action}")
        for resource in _as_list(statement.get("Resource", [])):
            if "*" in str(resource):
                findings.append(f"{statement.get('Sid', '?')}: resource {resource}")
    return findings
