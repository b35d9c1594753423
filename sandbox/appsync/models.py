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


@dataclass(frozen=True)
class Gen2Schema:
    """Gen 2's models as a source schema the transformer compiles, and what could not be carried over."""

    text: str
    #: Custom operations (``Mutation.x``, ``Query.y``): declared in the schema, not served by the sandbox.
    custom_operations: tuple[str, ...]
    #: Human-readable lines: what could not be restated (relationships); custom operations are named by the
    #: Amplify backend (``unserved``), which also refuses them with the reason.
    notes: tuple[str, ...]


#: Why a Gen 2 custom operation is not served (its handler is code amplify_outputs.json does not carry).
GEN2_CUSTOM_OPERATION_REASON = (
    "a Gen 2 custom {kind} (a.{kind}().handler(...)): its handler (a function, a JS resolver or an AI route) "
    "is not in amplify_outputs.json, so the sandbox cannot run it"
)
#: Rule properties carried into ``@auth`` as GraphQL strings (the rest are enums or lists).
_RULE_STRINGS = ("ownerField", "identityClaim", "groupClaim", "groupsField")


def introspection_to_schema(introspection: dict[str, Any]) -> str:
    """The source schema text of :func:`introspection_schema` (what the sandbox compiles for a Gen 2 app)."""
    return introspection_schema(introspection).text


def introspection_schema(introspection: dict[str, Any]) -> Gen2Schema:
    """A Gen 1-style source schema compiling to the API Gen 2 deployed from ``data.model_introspection``.

    Gen 2 keeps its schema in TypeScript (``amplify/data/resource.ts``); ``amplify_outputs.json`` carries what
    the models are, and the sandbox compiles each one as deployed so that an envelope that works on AWS works
    locally and one that fails there fails here:

    - ``@auth`` with the model's own rules (attributes of type ``auth``: allow owner/groups/private/public/custom,
      provider, ownerField, identityClaim, groupClaim, groupsField, groups, operations). The owner field is then
      in the compiled type as on AWS: declared (``owner: a.string()``, listed in the introspection) it is in the
      create input too; implicit (``allow.owner()`` alone, not listed) the transformer adds it to the type and the
      filter/condition inputs only, as it does on AWS. (Gen 2 compiles in IAM-access mode, which admits IAM
      principals whatever the rules say; the rules decide the schema's shape.) A model without rules keeps
      ``{allow: private, provider: iam}``.
    - keys: ``primaryKeyInfo`` gives ``@primaryKey(sortKeyFields:)``; each ``key`` attribute with a ``name`` is a
      secondary index, ``@index(name:, sortKeyFields:, queryField:)`` on its first field.
    - relationships (fields typed as a model) with Gen 2's ``references``: ``@hasMany``/``@hasOne`` when the
      related model declares the referencing fields and relates back with ``@belongsTo``, ``@belongsTo`` when
      this model declares them. Any other relationship field is left out (named in ``notes``); its foreign-key
      fields stay.
    - custom queries and mutations (``queries``/``mutations``) are declared with the private marker
      ``@sandboxUnserved(reason:)``: the Amplify backend leaves them out of the compile, names them, and answers
      a request to one with why, instead of ``Cannot query field``.
    """
    models: dict[str, Any] = dict(introspection.get("models") or {})
    notes: list[str] = []

    def type_name(kind: Any) -> str | None:
        if isinstance(kind, str):
            return kind
        if isinstance(kind, dict):
            for key in ("enum", "nonModel", "model", "input"):
                if kind.get(key):
                    return str(kind[key])
        return None

    def type_text(field: dict[str, Any], *, models_allowed: bool = True) -> str | None:
        kind = field.get("type")
        if isinstance(kind, dict) and "model" in kind and not models_allowed:
            return None  # a relationship: handled by relation()
        name = type_name(kind)
        if name is None:
            return None
        if field.get("isArray"):
            inner = f"{name}!" if not field.get("isArrayNullable", True) else name
            name = f"[{inner}]"
        return f"{name}!" if field.get("isRequired") else name

    def declared(model: str) -> set[str]:
        return set((models.get(model) or {}).get("fields") or {})

    def relates_back(model: str, to: str, references: list[str]) -> bool:
        for field in ((models.get(model) or {}).get("fields") or {}).values():
            association = field.get("association") or {}
            kind = field.get("type")
            if (
                isinstance(kind, dict)
                and kind.get("model") == to
                and association.get("connectionType") == "BELONGS_TO"
                and list(association.get("targetNames") or []) == references
            ):
                return True
        return False

    def relation(owner: str, field: dict[str, Any]) -> str | None:
        """The relationship directive Gen 2 compiled this field with, when it can be restated."""
        related = str((field.get("type") or {}).get("model"))
        association = field.get("association") or {}
        connection = association.get("connectionType")
        if connection in ("HAS_MANY", "HAS_ONE"):
            references = list(association.get("associatedWith") or [])
            if (
                references
                and set(references) <= declared(related)
                and relates_back(related, owner, references)
            ):
                directive = "hasMany" if connection == "HAS_MANY" else "hasOne"
                return f"@{directive}(references: {_strings(references)})"
        elif connection == "BELONGS_TO":
            references = list(association.get("targetNames") or [])
            if references and set(references) <= declared(owner):
                return f"@belongsTo(references: {_strings(references)})"
        return None

    parts: list[str] = []
    for enum in (introspection.get("enums") or {}).values():
        parts.append(f"enum {enum['name']} {{ {' '.join(enum.get('values') or [])} }}")
    for non_model in (introspection.get("nonModels") or {}).values():
        fields = [f"  {f['name']}: {t}" for f in non_model.get("fields", {}).values() if (t := type_text(f))]
        parts.append(f"type {non_model['name']} {{\n" + "\n".join(fields) + "\n}")
    for model in models.values():
        name = model["name"]
        key = model.get("primaryKeyInfo") or {}
        partition = key.get("primaryKeyFieldName") or "id"
        sort_fields = list(key.get("sortKeyFieldNames") or [])
        attributes = [a for a in model.get("attributes") or [] if isinstance(a, dict)]
        indexes: dict[str, list[str]] = {}
        for attribute in attributes:
            properties = attribute.get("properties") or {}
            fields_of_key = list(properties.get("fields") or [])
            if attribute.get("type") != "key" or not properties.get("name") or not fields_of_key:
                continue
            arguments = [f'name: "{properties["name"]}"']
            if fields_of_key[1:]:
                arguments.append(f"sortKeyFields: {_strings(fields_of_key[1:])}")
            if properties.get("queryField"):
                arguments.append(f'queryField: "{properties["queryField"]}"')
            indexes.setdefault(fields_of_key[0], []).append(f"@index({', '.join(arguments)})")
        lines = []
        for field in (model.get("fields") or {}).values():
            field_name = field["name"]
            if field.get("isReadOnly") and field_name in ("createdAt", "updatedAt"):
                continue
            text = type_text(field, models_allowed=False)
            directives: list[str] = []
            if text is None:
                related = relation(name, field)
                if related is None:
                    notes.append(
                        f"{name}.{field_name}: a relationship the sandbox cannot restate from "
                        "amplify_outputs.json is left out (its foreign-key fields stay)"
                    )
                    continue
                text = type_text(field)
                directives.append(related)
            if field_name == partition and key.get("isCustomPrimaryKey"):
                sort = f"(sortKeyFields: {_strings(sort_fields)})" if sort_fields else ""
                directives.append(f"@primaryKey{sort}")
            directives.extend(indexes.get(field_name, []))
            lines.append(f"  {field_name}: {text}" + "".join(f" {d}" for d in directives))
        rules = [
            _rule_text(rule)
            for attribute in attributes
            if attribute.get("type") == "auth"
            for rule in (attribute.get("properties") or {}).get("rules") or []
            if isinstance(rule, dict) and rule.get("allow")
        ]
        auth = ", ".join(rules) if rules else "{allow: private, provider: iam}"
        parts.append(f"type {name} @model @auth(rules: [{auth}]) {{\n" + "\n".join(lines) + "\n}")
    custom: list[str] = []
    for section, type_label, kind in (("queries", "Query", "query"), ("mutations", "Mutation", "mutation")):
        operations = [o for o in (introspection.get(section) or {}).values() if isinstance(o, dict)]
        if not operations:
            continue
        reason = GEN2_CUSTOM_OPERATION_REASON.format(kind=kind)
        lines = []
        for operation in operations:
            arguments = [
                f"{a['name']}: {t}"
                for a in (operation.get("arguments") or {}).values()
                if (t := type_text(a))
            ]
            signature = f"({', '.join(arguments)})" if arguments else ""
            returns = type_text(operation) or "AWSJSON"
            lines.append(
                f"  {operation['name']}{signature}: {returns} @sandboxUnserved(reason: {_string(reason)})"
            )
            custom.append(f"{type_label}.{operation['name']}")
        parts.append(f"type {type_label} {{\n" + "\n".join(lines) + "\n}")
    return Gen2Schema("\n\n".join(parts) + "\n", tuple(custom), tuple(notes))


def _string(value: str) -> str:
    """A GraphQL string literal (JSON's escaping is valid GraphQL)."""
    import json

    return json.dumps(value)


def _strings(values: list[str]) -> str:
    return "[" + ", ".join(_string(str(v)) for v in values) + "]"


def _rule_text(rule: dict[str, Any]) -> str:
    """One Gen 2 introspection auth rule as the ``@auth`` rule it was compiled from."""
    parts = [f"allow: {rule['allow']}"]
    if rule.get("provider"):
        parts.append(f"provider: {rule['provider']}")
    parts.extend(f"{key}: {_string(str(rule[key]))}" for key in _RULE_STRINGS if rule.get(key))
    if rule.get("groups"):
        parts.append(f"groups: {_strings(list(rule['groups']))}")
    if rule.get("operations"):
        parts.append(f"operations: [{', '.join(str(o) for o in rule['operations'])}]")
    return "{" + ", ".join(parts) + "}"


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


__all__ = [
    "Gen2Schema",
    "ModelKey",
    "ModelSchemaError",
    "builtin_schema",
    "introspection_schema",
    "introspection_to_schema",
    "model_keys",
]
