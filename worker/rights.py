"""What a producer may write: its mutations, and the identity fields no producer sets unless named.

The worker writes as an Amplify admin: Gen 1 admin roles skip ``@auth``, Gen 2's IAM mode admits any principal its
policy allows. So a model's owner rules do not bind what the worker writes: a producer that sets ``owner`` (or a
``groupsField``) can give a record to anyone, and an update can take it away. Two settings close that:

- ``PROTECTED_FIELDS`` (``Model:field,field;Model:field``, from ``[appsync.protected_fields]``, which ``init`` fills
  from the schema's ``@auth`` rules): input fields no producer may set;
- ``PRODUCER_RULES`` (JSON, from ``[[producers.rules]]``): per producer pattern (matched against the producer as the
  log names it: ``sqs:<SenderId>``, ``eventbridge:<account>/<source>``, ``direct...``; ``*`` and ``?`` as in shell
  patterns), the mutations it may send (default: the whole allow-list) and the protected fields it may set
  (``Model.field``). The first rule that matches decides; a producer no rule matches gets the allow-list and no
  protected field.

A refusal is permanent (``NotAllowed``), names the field and the setting that would allow it, and nothing is sent.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING, Any

from worker.errors import NotAllowedError
from worker.names import FIELD_NAME_RE, format_model_fields, parse_model_fields

if TYPE_CHECKING:
    from worker.envelope import MutationRequest

ENV_PROTECTED_FIELDS = "PROTECTED_FIELDS"
ENV_PRODUCER_RULES = "PRODUCER_RULES"


@dataclass(frozen=True)
class ProducerRule:
    producer: str  # a shell-style pattern over the producer's name
    mutations: frozenset[str] | None = None  # None: the whole allow-list
    protected_fields: frozenset[str] = frozenset()  # "Model.field" this producer may set

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"producer": self.producer}
        if self.mutations is not None:
            data["mutations"] = sorted(self.mutations)
        if self.protected_fields:
            data["protected_fields"] = sorted(self.protected_fields)
        return data


def parse_protected_fields(text: str, problems: list[str]) -> dict[str, tuple[str, ...]]:
    """``Model:field,field;Model:field`` -> {Model: (field, ...)}; problems appended, never raised."""
    return parse_model_fields(text, problems, ENV_PROTECTED_FIELDS, "<Model>:<field>[,<field>...]")


format_protected_fields = format_model_fields


def parse_producer_rules(text: str, problems: list[str]) -> tuple[ProducerRule, ...]:
    """The JSON list of rules; every malformed entry named in ``problems``."""
    if not text.strip():
        return ()
    try:
        raw = json.loads(text)
    except ValueError as exc:
        problems.append(f"{ENV_PRODUCER_RULES} is not JSON: {exc}")
        return ()
    if not isinstance(raw, list):
        problems.append(f"{ENV_PRODUCER_RULES} must be a JSON list of rules")
        return ()
    rules = []
    for index, entry in enumerate(raw):
        where = f"{ENV_PRODUCER_RULES}[{index}]"
        if not isinstance(entry, dict) or not isinstance(entry.get("producer"), str) or not entry["producer"]:
            problems.append(f"{where} must be an object with a non-empty producer pattern")
            continue
        unknown = sorted(set(entry) - {"producer", "mutations", "protected_fields"})
        if unknown:
            problems.append(f"{where} has unknown keys {unknown} (producer, mutations, protected_fields)")
            continue
        mutations = entry.get("mutations")
        if mutations is not None and (
            not isinstance(mutations, list)
            or not all(isinstance(m, str) and FIELD_NAME_RE.fullmatch(m) for m in mutations)
        ):
            problems.append(f"{where}.mutations must be a list of mutation field names")
            continue
        protected = entry.get("protected_fields", [])
        if not isinstance(protected, list) or not all(
            isinstance(p, str) and _is_model_field(p) for p in protected
        ):
            problems.append(f"{where}.protected_fields must be a list of Model.field names")
            continue
        rules.append(
            ProducerRule(
                entry["producer"],
                frozenset(mutations) if mutations is not None else None,
                frozenset(protected),
            )
        )
    return tuple(rules)


def format_producer_rules(rules: Iterable[ProducerRule]) -> str:
    return json.dumps([rule.to_json() for rule in rules], separators=(",", ":"))


def _is_model_field(text: str) -> bool:
    model, _, name = text.partition(".")
    return bool(FIELD_NAME_RE.fullmatch(model) and FIELD_NAME_RE.fullmatch(name))


def rule_for(producer: str, rules: Sequence[ProducerRule]) -> ProducerRule | None:
    return next((rule for rule in rules if fnmatchcase(producer, rule.producer)), None)


def input_fields(request: MutationRequest) -> set[str]:
    """The top-level input fields the mutation writes (variables' ``input``, or the literal ``input`` object)."""
    from graphql.language import ObjectValueNode

    if request.input_is_variable:
        value = request.variables.get("input")
        return set(value) if isinstance(value, dict) else set()
    from graphql.language import FieldNode, OperationDefinitionNode

    operation = next(
        (d for d in request.document.definitions if isinstance(d, OperationDefinitionNode)), None
    )
    field = (
        next((s for s in operation.selection_set.selections if isinstance(s, FieldNode)), None)
        if operation
        else None
    )
    for argument in (field.arguments if field is not None else None) or ():
        if argument.name.value == "input" and isinstance(argument.value, ObjectValueNode):
            return {f.name.value for f in argument.value.fields}
    return set()


def check_rights(
    request: MutationRequest,
    producer: str,
    rules: Sequence[ProducerRule],
    protected: Mapping[str, Sequence[str]],
) -> None:
    """Raise ``NotAllowedError`` when ``producer`` may not send this mutation or sets a protected field."""
    if not rules and not protected:
        return
    rule = rule_for(producer, rules)
    if rule is not None and rule.mutations is not None and request.field not in rule.mutations:
        raise NotAllowedError(
            f"producer {producer} may not send {request.field}: its rule ({rule.producer!r}) allows "
            f"{', '.join(sorted(rule.mutations)) or 'no mutation'} ([[producers.rules]] mutations)"
        )
    model = request.model
    guarded = protected.get(model or "", ())
    if not guarded:
        return
    allowed = rule.protected_fields if rule is not None else frozenset()
    forged = sorted(f for f in input_fields(request) & set(guarded) if f"{model}.{f}" not in allowed)
    if forged:
        names = ", ".join(f"{model}.{f}" for f in forged)
        raise NotAllowedError(
            f"{request.field} sets {names}, which {model}'s @auth rules read identity from: the worker writes as an "
            f"Amplify admin, whom those rules do not bind, so producer {producer} may not set it. To allow it, add "
            f'{{ producer = "<pattern matching {producer}>", protected_fields = ["{model}.{forged[0]}"] }} '
            "to [[producers.rules]] in settings.toml"
        )
