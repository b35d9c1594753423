"""The mutation fields an Amplify API defines, read from the project's own schema files.

- Gen 1: ``amplify/backend/api/<api>/schema.graphql`` or every ``*.graphql`` under ``.../schema/`` (the Amplify
  CLI accepts either). ``@model`` types get ``create<T>``, ``update<T>`` and ``delete<T>`` unless
  ``@model(mutations: null)`` or ``@model(mutations: {create: "addT", delete: null})`` says otherwise; fields of
  ``type Mutation`` / ``extend type Mutation`` are custom mutations.
- Gen 2: ``amplify_outputs.json``'s ``data.model_introspection``: every model gets the three mutations (its
  ``models``), custom ones are listed under ``mutations``.

The files are parsed as GraphQL syntax only (no validation), so Amplify's directives need no declarations.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from project_settings.model import Settings

OPERATIONS = ("create", "update", "delete")


class SchemaError(ValueError):
    """A schema file that cannot be read or parsed."""


@dataclass(frozen=True)
class ApiSchema:
    """What the schema defines: model names and every mutation field, with where it came from."""

    source: str
    models: tuple[str, ...]
    mutations: tuple[str, ...]  # model mutations first (in model order), then custom ones
    #: Models whose primary key is not ``id``: the key field, then its sort key fields (``@primaryKey``).
    keys: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def model_mutations(self) -> tuple[str, ...]:
        return tuple(
            m for m in self.mutations if any(m == f"{op}{t}" for t in self.models for op in OPERATIONS)
        )


def gen1_schema_files(api_dir: Path) -> list[Path]:
    """``schema.graphql``, or the ``*.graphql`` files under ``schema/`` (sorted), or nothing."""
    single = api_dir / "schema.graphql"
    folder = api_dir / "schema"
    if single.is_file():
        return [single]
    if folder.is_dir():
        return sorted(p for p in folder.rglob("*.graphql") if p.is_file())
    return []


def _string_value(node: Any) -> str | None:
    from graphql.language import NullValueNode, StringValueNode

    if isinstance(node, StringValueNode):
        return str(node.value)
    if isinstance(node, NullValueNode):
        return None
    raise SchemaError(f"expected a string or null, found {type(node).__name__}")


def _model_mutations(type_name: str, directive: Any) -> list[str]:
    from graphql.language import NullValueNode, ObjectValueNode

    names = {op: f"{op}{type_name}" for op in OPERATIONS}
    for argument in directive.arguments or ():
        if argument.name.value != "mutations":
            continue
        value = argument.value
        if isinstance(value, NullValueNode):
            return []
        if not isinstance(value, ObjectValueNode):
            raise SchemaError(f"@model(mutations: ...) on {type_name} must be an object or null")
        given = {field.name.value: _string_value(field.value) for field in value.fields}
        # Amplify: an operation left out of the object is not generated either.
        return [name for op in OPERATIONS if (name := given.get(op)) is not None]
    return list(names.values())


def parse_gen1_schema(text: str, source: str) -> ApiSchema:
    """Models and mutation fields of one Amplify Gen 1 schema document."""
    from graphql import GraphQLError, parse
    from graphql.language import ObjectTypeDefinitionNode, ObjectTypeExtensionNode

    try:
        document = parse(text, no_location=True)
    except GraphQLError as exc:
        raise SchemaError(f"{source}: not valid GraphQL: {exc.message}") from None
    models: list[str] = []
    model_mutations: list[str] = []
    custom: list[str] = []
    keys: dict[str, tuple[str, ...]] = {}
    for node in document.definitions:
        if not isinstance(node, ObjectTypeDefinitionNode | ObjectTypeExtensionNode):
            continue
        name = node.name.value
        if name == "Mutation":
            custom.extend(field.name.value for field in node.fields or ())
            continue
        model = next((d for d in node.directives or () if d.name.value == "model"), None)
        if model is not None:
            models.append(name)
            key = _primary_key(node)
            if key is not None and key != ("id",):
                keys[name] = key
            try:
                model_mutations.extend(_model_mutations(name, model))
            except SchemaError as exc:
                raise SchemaError(f"{source}: {exc}") from None
    mutations = tuple(dict.fromkeys([*model_mutations, *custom]))
    return ApiSchema(source, tuple(models), mutations, keys)


def _primary_key(node: Any) -> tuple[str, ...] | None:
    """``field: T! @primaryKey(sortKeyFields: ["a", "b"])`` -> ("field", "a", "b"); None without @primaryKey."""
    from graphql.language import ListValueNode, StringValueNode

    for definition in node.fields or ():
        directive = next((d for d in definition.directives or () if d.name.value == "primaryKey"), None)
        if directive is None:
            continue
        sort: list[str] = []
        for argument in directive.arguments or ():
            if argument.name.value == "sortKeyFields":
                values = (
                    argument.value.values if isinstance(argument.value, ListValueNode) else [argument.value]
                )
                sort = [v.value for v in values if isinstance(v, StringValueNode)]
        return (definition.name.value, *sort)
    return None


def read_gen1_schema(api_dir: Path) -> ApiSchema | None:
    """The API's schema (all its files together), or None when the project has none there."""
    files = gen1_schema_files(api_dir)
    if not files:
        return None
    texts = []
    for file in files:
        try:
            texts.append(file.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as exc:
            raise SchemaError(f"{file}: cannot be read: {exc}") from None
    source = str(files[0]) if len(files) == 1 else f"{api_dir / 'schema'}/*.graphql"
    return parse_gen1_schema("\n".join(texts), source)


def introspection_schema(outputs: Mapping[str, Any], source: str) -> ApiSchema | None:
    """Models and mutations from ``amplify_outputs.json``'s ``data.model_introspection`` (None: not there)."""
    data = outputs.get("data")
    introspection = data.get("model_introspection") if isinstance(data, Mapping) else None
    if not isinstance(introspection, Mapping):
        return None
    models_raw = introspection.get("models") or {}
    custom_raw = introspection.get("mutations") or {}
    if not isinstance(models_raw, Mapping) or not isinstance(custom_raw, Mapping):
        raise SchemaError(f"{source}: data.model_introspection.models/mutations must be objects")
    models = [
        str(m.get("name", key)) if isinstance(m, Mapping) else str(key) for key, m in models_raw.items()
    ]
    keys: dict[str, tuple[str, ...]] = {}
    for model in models_raw.values():
        info = model.get("primaryKeyInfo") if isinstance(model, Mapping) else None
        if isinstance(info, Mapping) and isinstance(info.get("primaryKeyFieldName"), str):
            sort = [str(f) for f in info.get("sortKeyFieldNames") or () if isinstance(f, str)]
            key = (info["primaryKeyFieldName"], *sort)
            if key != ("id",):
                keys[str(model.get("name"))] = key
    mutations = [f"{op}{model}" for model in models for op in OPERATIONS]
    mutations += [str(key) for key in custom_raw]
    return ApiSchema(
        f"{source} (data.model_introspection)", tuple(models), tuple(dict.fromkeys(mutations)), keys
    )


def read_outputs(path: Path) -> dict[str, Any]:
    """``amplify_outputs.json`` as a dict; :class:`SchemaError` when it is not a JSON object."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise SchemaError(f"{path}: cannot be read as JSON: {exc}") from None
    if not isinstance(data, dict):
        raise SchemaError(f"{path}: must be a JSON object")
    return data


def project_schema(settings: Settings) -> ApiSchema | None:
    """The schema of the settings' Amplify project, when one is at hand (Gen 1 files or Gen 2 outputs)."""
    project = settings.amplify.project_dir
    if settings.amplify.generation == 2:
        outputs = project / "amplify_outputs.json"
        return introspection_schema(read_outputs(outputs), str(outputs)) if outputs.is_file() else None
    return read_gen1_schema(settings.custom_roles_path.parent)


def mutation_problems(settings: Settings) -> list[str]:
    """Allowed mutations the project's schema does not define; empty when all are defined or no schema."""
    try:
        schema = project_schema(settings)
    except SchemaError as exc:
        return [f"the allowed mutations could not be checked: {exc}"]
    if schema is None:
        return []
    problems = []
    unknown = [m for m in settings.appsync.allowed_mutations if m not in schema.mutations]
    if unknown:
        known = ", ".join(schema.mutations) or "none"
        problems.append(
            f"appsync.allowed_mutations lists {', '.join(unknown)}, which {schema.source} does not define "
            f"(it defines: {known}); the worker would refuse or AppSync would reject every such message"
        )
    if dict(settings.appsync.model_keys) != dict(schema.keys):
        wanted = ", ".join(f"{m} = {list(k)}" for m, k in sorted(schema.keys.items())) or "none"
        problems.append(
            f"appsync.model_keys does not match the primary keys {schema.source} declares ({wanted}): the "
            "worker names records by these keys (duplicates, default fields); set [appsync.model_keys] to them"
        )
    return problems


__all__ = [
    "ApiSchema",
    "SchemaError",
    "gen1_schema_files",
    "introspection_schema",
    "mutation_problems",
    "parse_gen1_schema",
    "project_schema",
    "read_gen1_schema",
    "read_outputs",
]
