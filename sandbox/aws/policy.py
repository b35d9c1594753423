"""A small IAM policy evaluator: enough of AWS's rules to enforce trust and identity policies in the sandbox.

Covers Effect, Action/NotAction, Resource/NotResource, Principal (AWS, Service, "*"), and the condition
operators String*/Arn* (with IfExists), Bool and Null. Explicit Deny wins over Allow; nothing matching is an
implicit deny. A key missing from the request context makes a positive operator false and a negated one true,
as AWS documents.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from functools import lru_cache
from typing import Any

Document = Mapping[str, Any]


class Decision(Enum):
    ALLOW = "allow"
    DENY = "explicit-deny"
    IMPLICIT_DENY = "implicit-deny"


@dataclass(frozen=True)
class Principal:
    """Who is calling: an IAM role session, an IAM user, an account root, or an AWS service."""

    arn: str  # caller ARN (assumed-role session ARN, user ARN, root ARN, or the service name)
    account_id: str | None
    principal_arn: str | None  # aws:PrincipalArn: the role ARN for a role session
    service: str | None = None

    @property
    def is_root(self) -> bool:
        return self.arn.endswith(":root")


@dataclass(frozen=True)
class RequestContext:
    action: str
    resource: str
    keys: Mapping[str, str] = field(default_factory=dict)

    def value(self, key: str) -> str | None:
        lowered = key.lower()
        for name, value in self.keys.items():
            if name.lower() == lowered:
                return value
        return None


def load(document: Document | str) -> Document:
    return json.loads(document) if isinstance(document, str) else document


def evaluate(policies: Iterable[Document | str], context: RequestContext) -> Decision:
    """Identity-policy evaluation: any explicit deny wins, then any allow."""
    statements = [statement for policy in policies for statement in _statements(load(policy))]
    return _combine((s for s in statements if _matches_resource(s, context.resource)), context)


def trust_allows(trust_policy: Document | str, principal: Principal, context: RequestContext) -> Decision:
    """Resource-policy (trust policy) evaluation for ``sts:AssumeRole`` by ``principal``."""
    statements = _statements(load(trust_policy))
    return _combine((s for s in statements if principal_matches(s.get("Principal"), principal)), context)


def _combine(statements: Iterable[Mapping[str, Any]], context: RequestContext) -> Decision:
    """AWS's rule over the statements that apply to the action and whose conditions hold."""
    allowed = False
    for statement in statements:
        if not _matches_action(statement, context.action):
            continue
        if not conditions_hold(statement.get("Condition", {}), context):
            continue
        if statement.get("Effect") == "Deny":
            return Decision.DENY
        if statement.get("Effect") == "Allow":
            allowed = True
    return Decision.ALLOW if allowed else Decision.IMPLICIT_DENY


def principal_matches(spec: Any, principal: Principal) -> bool:
    if spec is None:
        return False
    if spec == "*":
        return True
    if not isinstance(spec, Mapping):
        return False
    for kind, values in spec.items():
        for value in _as_list(values):
            if kind == "Service" and principal.service == value:
                return True
            if kind == "AWS" and principal.service is None and _aws_principal_matches(value, principal):
                return True
    return False


def _aws_principal_matches(value: str, principal: Principal) -> bool:
    if value == "*":
        return True
    account = value if re.fullmatch(r"\d{12}", value) else None
    root = re.fullmatch(r"arn:aws[a-z-]*:iam::(\d{12}):root", value)
    if root:
        account = root.group(1)
    if account is not None:
        return principal.account_id == account
    if ":role/" in value:  # a role ARN names every session of that role (role paths ignored, as IAM does)
        return principal.principal_arn is not None and _same_role(value, principal.principal_arn)
    return value in (principal.arn, principal.principal_arn)


def _same_role(a: str, b: str) -> bool:
    def key(arn: str) -> tuple[str, str]:
        parts = arn.split(":")
        return parts[4], arn.rsplit("/", 1)[-1]

    return ":role/" in b and key(a) == key(b)


def conditions_hold(conditions: Mapping[str, Any], context: RequestContext) -> bool:
    for operator, tests in conditions.items():
        if not isinstance(tests, Mapping):
            return False
        for key, expected in tests.items():
            if not _condition(operator, context.value(key), _as_list(expected)):
                return False
    return True


def _condition(operator: str, actual: str | None, expected: list[Any]) -> bool:
    if_exists = operator.endswith("IfExists")
    base = operator.removesuffix("IfExists")
    if base == "Null":
        wants_null = str(expected[0]).lower() == "true"
        return (actual is None) == wants_null
    negated = "Not" in base
    if actual is None:
        return if_exists or negated
    positive = base.replace("Not", "")
    values = [str(v) for v in expected]
    if positive in ("StringEquals", "ArnEquals"):
        result = actual in values
    elif positive == "StringEqualsIgnoreCase":
        result = actual.lower() in (v.lower() for v in values)
    elif positive in ("StringLike", "ArnLike"):
        result = any(_wildcard_match(actual, v) for v in values)
    elif positive == "Bool":
        result = actual.lower() in (v.lower() for v in values)
    else:
        raise ValueError(f"condition operator {operator!r} is not supported by the sandbox")
    return not result if negated else result


def _matches_action(statement: Mapping[str, Any], action: str) -> bool:
    if "Action" in statement:
        return any(_wildcard_match(action.lower(), p.lower()) for p in _as_list(statement["Action"]))
    if "NotAction" in statement:
        return not any(_wildcard_match(action.lower(), p.lower()) for p in _as_list(statement["NotAction"]))
    return False


def _matches_resource(statement: Mapping[str, Any], resource: str) -> bool:
    if "Resource" in statement:
        return any(_wildcard_match(resource, p) for p in _as_list(statement["Resource"]))
    if "NotResource" in statement:
        return not any(_wildcard_match(resource, p) for p in _as_list(statement["NotResource"]))
    return False


def _wildcard_match(value: str, pattern: str) -> bool:
    """IAM wildcards: ``*`` (any run of characters) and ``?`` (one character); everything else is literal."""
    return _wildcard_regex(pattern).fullmatch(value) is not None


@lru_cache(maxsize=1024)
def _wildcard_regex(pattern: str) -> re.Pattern[str]:
    parts = (".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile("".join(parts), re.DOTALL)


def _statements(document: Document) -> list[Mapping[str, Any]]:
    statements = document.get("Statement", [])
    return [s for s in _as_list(statements) if isinstance(s, Mapping)]


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else [value]
