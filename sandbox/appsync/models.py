"""The ``@model`` types of an Amplify source schema and the DynamoDB table each one gets, as Amplify names it.

Read as GraphQL syntax only (Amplify's directives need no declarations). Each ``@model`` type ``T`` gets the
table ``T-<apiId>-<env>`` (Gen 1: the Amplify environment; Gen 2: ``NONE``), keyed by ``id`` unless a field
carries ``@primaryKey``: that field is the partition key and ``@primaryKey(sortKeyFields: [...])`` gives the sort
key (several sort fields are joined into one ``a#b`` attribute, as the transformer does). Key attributes are
``N`` for ``Int``/``Float``/``AWSTimestamp``, else ``S``.

The sandbox creates these tables before any API serves them; Amplify's own backend then adds what only the
transformer knows (the indexes of ``@index`` and ``@hasMany``) through ``Sandbox.ensure_tables``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

_NUMBER_TYPES = {"Int", "Float", "AWSTimestamp"}
SOURCE_SCHEMA_FILE = Path(__file__).with_name("schema.graphql")


class ModelSchemaError(ValueError):
    """A schema that cannot be read for its models."""


@dataclass(frozen=True)
class ModelKey:
    """A model's primary key: the partition key field and the sort key fields (possibly none)."""

    model: str
    partition_key: str
    sort_key_fields: tuple[str, ...]
    attribute_types: tuple[tuple[str, str], ...]  # (attribute, "S"/"N") for the key attributes

    @property
    def fields(self) -> tuple[str, ...]:
        return (self.partition_key, *self.sort_key_fields)

    @property
    def sort_key_attribute(self) -> str | None:
        if not self.sort_key_fields:
            return None
        return "#".join(self.sort_key_fields)

    def table_name(self, api_id: str, env_name: str) -> str:
        return f"{self.model}-{api_id}-{env_name}"

    def create_table_params(self, table_name: str) -> dict[str, Any]:
        """``CreateTable`` parameters for this key (on-demand billing, no indexes)."""
        types = dict(self.attribute_types)
        key = [{"AttributeName": self.partition_key, "KeyType": "HASH"}]
        attributes = [{"AttributeName": self.partition_key, "AttributeType": types[self.partition_key]}]
        sort = self.sort_key_attribute
        if sort is not None:
            key.append({"AttributeName": sort, "KeyType": "RANGE"})
            attributes.append({"AttributeName": sort, "AttributeType": types[sort]})
        return {
            "TableName": table_name,
            "KeySchema": key,
            "AttributeDefinitions": attributes,
            "BillingMode": "PAY_PER_REQUEST",
        }


def builtin_schema() -> str:
    """The stand-in's pre-transform Todo schema (``@model @auth``), quoted at the top of its schema file."""
    lines: list[str] = []
    inside = False
    for line in SOURCE_SCHEMA_FILE.read_text(encoding="utf-8").splitlines():
        if line.startswith("# The schema AppSync holds") or line.startswith("# built from"):
            inside = True
            continue
        if inside and line.startswith("#   "):
            lines.append(line[4:])
        elif inside and lines:
            break
    schema = "\n".join(lines) + "\n"
    if "@model" not in schema:
        raise ModelSchemaError(f"no source schema quoted in {SOURCE_SCHEMA_FILE}")
    return schema


def introspection_to_schema(introspection: dict[str, Any]) -> str:
    """A Gen 1-style source schema equivalent, for storage, to Gen 2's ``data.model_introspection``.

    Gen 2 keeps its schema in TypeScript (``amplify/data/resource.ts``); ``amplify_outputs.json`` carries what
    the models are: fields, types, required-ness, the primary key (``primaryKeyInfo``), enums and non-model
    types. Each model becomes ``@model @auth(rules: [{allow: private, provider: iam}])`` (under Gen 2 the
    resolvers admit IAM principals by their policy anyway) with ``@primaryKey`` as the key says; relationship
    fields (to another model) are left out, their foreign-key fields stay; ``createdAt``/``updatedAt`` are
    added by the transformer as for any model.
    """

    def type_text(field: dict[str, Any]) -> str | None:
        kind = field.get("type")
        if isinstance(kind, str):
            name = kind
        elif isinstance(kind, dict) and ("enum" in kind or "nonModel" in kind):
            name = str(kind.get("enum") or kind.get("nonModel"))
        else:
            return None  # a model (relationship): not stored in this table
        if field.get("isArray"):
            inner = f"{name}!" if not field.get("isArrayNullable", True) else name
            name = f"[{inner}]"
        return f"{name}!" if field.get("isRequired") else name

    parts: list[str] = []
    for enum in (introspection.get("enums") or {}).values():
        parts.append(f"enum {enum['name']} {{ {' '.join(enum.get('values') or [])} }}")
    for non_model in (introspection.get("nonModels") or {}).values():
        fields = [f"  {f['name']}: {t}" for f in non_model.get("fields", {}).values() if (t := type_text(f))]
        parts.append(f"type {non_model['name']} {{\n" + "\n".join(fields) + "\n}")
    for model in (introspection.get("models") or {}).values():
        key = model.get("primaryKeyInfo") or {}
        partition = key.get("primaryKeyFieldName") or "id"
        sort_fields = list(key.get("sortKeyFieldNames") or [])
        lines = []
        for field in (model.get("fields") or {}).values():
            name = field["name"]
            if field.get("isReadOnly") and name in ("createdAt", "updatedAt"):
                continue
            text = type_text(field)
            if text is None:
                continue
            directive = ""
            if name == partition and key.get("isCustomPrimaryKey"):
                sort = ", ".join(f'"{f}"' for f in sort_fields)
                directive = f" @primaryKey(sortKeyFields: [{sort}])" if sort_fields else " @primaryKey"
            lines.append(f"  {name}: {text}{directive}")
        parts.append(
            f"type {model['name']} @model @auth(rules: [{{allow: private, provider: iam}}]) {{\n"
            + "\n".join(lines)
            + "\n}"
        )
    return "\n\n".join(parts) + "\n"


def _named_type(node: Any) -> str:
    while hasattr(node, "type"):
        node = node.type
    return str(node.name.value)


def model_keys(schema: str) -> list[ModelKey]:
    """Every ``@model`` type of ``schema`` with its primary key, in schema order."""
    from graphql import GraphQLError, parse
    from graphql.language import ListValueNode, ObjectTypeDefinitionNode, StringValueNode

    try:
        document = parse(schema, no_location=True)
    except GraphQLError as exc:
        raise ModelSchemaError(f"the schema is not valid GraphQL: {exc.message}") from None
    keys: list[ModelKey] = []
    for node in document.definitions:
        if not isinstance(node, ObjectTypeDefinitionNode):
            continue
        if not any(d.name.value == "model" for d in node.directives or ()):
            continue
        model = node.name.value
        field_types = {f.name.value: _named_type(f.type) for f in node.fields or ()}
        partition: str = "id"
        sort_fields: tuple[str, ...] = ()
        for field in node.fields or ():
            directive = next((d for d in field.directives or () if d.name.value == "primaryKey"), None)
            if directive is None:
                continue
            partition = field.name.value
            for argument in directive.arguments or ():
                if argument.name.value != "sortKeyFields":
                    continue
                value = argument.value
                values = value.values if isinstance(value, ListValueNode) else (value,)
                if not all(isinstance(v, StringValueNode) for v in values):
                    raise ModelSchemaError(
                        f"{model}.{partition}: @primaryKey(sortKeyFields:) must list strings"
                    )
                sort_fields = tuple(str(getattr(v, "value", "")) for v in values)
        unknown = [f for f in (partition, *sort_fields) if f != "id" and f not in field_types]
        if unknown:
            raise ModelSchemaError(
                f"{model}: @primaryKey names fields it does not have: {', '.join(unknown)}"
            )
        attribute_types = {partition: "N" if field_types.get(partition) in _NUMBER_TYPES else "S"}
        if len(sort_fields) == 1:
            attribute_types[sort_fields[0]] = "N" if field_types.get(sort_fields[0]) in _NUMBER_TYPES else "S"
        elif sort_fields:
            attribute_types["#".join(sort_fields)] = "S"  # a composite sort key is a string
        keys.append(ModelKey(model, partition, sort_fields, tuple(attribute_types.items())))
    if not keys:
        raise ModelSchemaError("the schema has no @model type")
    return keys


__all__ = ["ModelKey", "ModelSchemaError", "builtin_schema", "introspection_to_schema", "model_keys"]
