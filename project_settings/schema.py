"""The mutation fields an Amplify API defines, read from the project's own schema files.

- Gen 1: ``amplify/backend/api/<api>/schema.graphql`` or every ``*.graphql`` under ``.../schema/`` (the Amplify
  CLI accepts either). ``@model`` types get ``create<T>``, ``update<T>`` and ``delete<T>`` unless
  ``@model(mutations: null)`` or ``@model(mutations: {create: "addT", delete: null})`` says otherwise; fields of
  ``type Mutation`` / ``extend type Mutation`` are custom mutations.
- Gen 2: ``amplify_outputs.json``'s ``data.model_introspection``: every model gets the three mutations (its
  ``models``), custom ones are listed under ``mutations``.

The files are parsed as GraphQL syntax only (no validation), so Amplify's directives need no declarations; what
the Amplify CLI itself refuses is refused here too, with its words, so ``init`` does not accept what ``amplify
push`` (and the sandbox) would not:

- transformer v1 directives (``@key``, ``@connection``, ``@versioned``): the v2 transformer's
  ``validateDirectivesFromOlderTransformerVersionAreNotUsed`` (aws-amplify/amplify-cli, amplify-util-graphql-
  schema-validator) refuses them with a pointer to the migration guide;
- ``input AMPLIFY`` declared twice.

It also records what decides whether the worker can write at all:

- the starter schema's global rule ``input AMPLIFY { globalAuthRule: AuthRule = { allow: public } }`` puts every
  model without an ``@auth`` of its own in sandbox mode: API keys only, IAM callers (Amplify admin roles
  included) refused (transformer 1.8.4 output: "Sandbox Mode Enabled, IAM Access Disabled");
- ``@manyToMany(relationName: "X")`` creates a join model ``X`` with its own mutations;
- custom mutation fields (``type Mutation``) are backed by ``@function``, ``@http``, ``@predictions`` or a custom
  resolver, not by Amplify's model resolvers (the sandbox cannot serve them).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
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
    #: Models compiled in sandbox mode (no ``@auth`` of their own under the global ``allow: public`` rule):
    #: IAM callers, Amplify admin roles included, are refused on them.
    sandbox_mode_models: tuple[str, ...] = ()
    #: Custom mutation fields and what backs them (``@function``, ``@http``, a Gen 2 handler...).
    custom_backing: Mapping[str, str] = field(default_factory=dict)
    #: Per model, the input fields its @auth rules read identity from: owner fields (``ownerField``, default
    #: ``owner``) and ``groupsField``. The worker writes as an admin, whom these rules never bind: a producer
    #: that sets them can give a record to anyone.
    protected_fields: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    #: Mutations named other than ``<op><Model>`` (``@model(mutations: {create: "recordAudit"})``) -> their model.
    renamed: Mapping[str, str] = field(default_factory=dict)

    def model_mutations(self) -> tuple[str, ...]:
        return tuple(m for m in self.mutations if self.model_of(m) is not None)

    def model_of(self, mutation: str) -> str | None:
        """The model a ``create|update|delete<Model>`` mutation writes (None: a custom mutation)."""
        if mutation in self.renamed:
            return self.renamed[mutation]
        for op in OPERATIONS:
            if mutation.startswith(op) and mutation[len(op) :] in self.models:
                return mutation[len(op) :]
        return None

    def refused_for_iam(self, mutations: Sequence[str]) -> dict[str, str]:
        """Of ``mutations``, those whose model is in sandbox mode -> that model."""
        return {
            m: model
            for m in mutations
            if (model := self.model_of(m)) is not None and model in self.sandbox_mode_models
        }


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


#: Transformer v1 directives the v2 transformer refuses (amplify-cli's schema validator), and its pointer.
V1_DIRECTIVES = ("key", "connection", "versioned")
MIGRATION_GUIDE = "https://docs.amplify.aws/cli/migration/transformer-migration/"
#: Directives that back a field with something other than Amplify's model resolvers.
CUSTOM_BACKINGS = ("function", "http", "predictions", "sql")


def _directives(document: Any) -> Any:
    """Every directive node of the document (types, fields, arguments)."""
    from graphql.language import DirectiveNode, Visitor, visit

    found: list[DirectiveNode] = []

    class Collect(Visitor):
        def enter_directive(self, node: DirectiveNode, *_: Any) -> None:
            found.append(node)

    visit(document, Collect())
    return found


#: The Amplify CLI's words when ``globalAuthRule`` is anything but ``{ allow: public }`` (sandbox-mode-helpers.ts).
AUTH_DOC_LINK = "https://docs.amplify.aws/cli/graphql/authorization-rules"


def _global_rule_is_public(document: Any, source: str) -> bool:
    """Sandbox mode, as the Amplify CLI decides it (aws-amplify/amplify-category-api@826ffe880a,
    packages/amplify-category-api/src/graphql-transformer/sandbox-mode-helpers.ts, schemaHasSandboxModeEnabled):
    the first ``input AMPLIFY``'s ``globalAuthRule`` (or ``global_auth_rule``) of type ``AuthRule`` whose default's
    FIRST field is ``allow: public``; no such field: off; anything else: the CLI refuses the schema."""
    from graphql.language import InputObjectTypeDefinitionNode, NamedTypeNode, ObjectValueNode

    inputs = [
        n
        for n in document.definitions
        if isinstance(n, InputObjectTypeDefinitionNode) and n.name.value == "AMPLIFY"
    ]
    if len(inputs) > 1:
        raise SchemaError(
            f'{source}: There can be only one type named "AMPLIFY" (Amplify refuses a schema that declares '
            "`input AMPLIFY` twice; keep one, usually the starter's global auth rule)"
        )
    if not inputs:
        return False
    rule = next(
        (f for f in inputs[0].fields or () if f.name.value in ("global_auth_rule", "globalAuthRule")), None
    )
    if rule is None:
        return False
    default = rule.default_value
    first = default.fields[0] if isinstance(default, ObjectValueNode) and default.fields else None
    if (
        isinstance(rule.type, NamedTypeNode)
        and rule.type.name.value == "AuthRule"
        and first is not None
        and first.name.value == "allow"
        and getattr(first.value, "value", None) == "public"
    ):
        return True
    raise SchemaError(
        f"{source}: There was a problem with your auth configuration. Learn more about auth here: {AUTH_DOC_LINK} "
        "(the Amplify CLI accepts only `input AMPLIFY { globalAuthRule: AuthRule = { allow: public } }`)"
    )


def _many_to_many_models(document: Any) -> dict[str, list[str]]:
    """The join models ``@manyToMany(relationName: "X")`` creates -> the models that name the relation."""
    from graphql.language import ObjectTypeDefinitionNode, StringValueNode

    joins: dict[str, list[str]] = {}
    types = {n.name.value for n in document.definitions if isinstance(n, ObjectTypeDefinitionNode)}
    for node in document.definitions:
        if not isinstance(node, ObjectTypeDefinitionNode):
            continue
        for definition in node.fields or ():
            for directive in definition.directives or ():
                if directive.name.value != "manyToMany":
                    continue
                for argument in directive.arguments or ():
                    if argument.name.value == "relationName" and isinstance(argument.value, StringValueNode):
                        # Amplify capitalises the type's name: "userBlogs" -> type UserBlogs, createUserBlogs
                        # (Rnad95/MomToBe's compiled build/schema.graphql).
                        # graphql-transformer-common's graphqlName(toUpper(relationName)): capitalised, and
                        # whatever is not [_0-9A-Za-z] removed ("user-blogs" -> UserBlogs).
                        relation = argument.value.value
                        name = re.sub(r"[^_0-9A-Za-z]", "", relation[:1].upper() + relation[1:])
                        if name in types:
                            raise SchemaError(
                                f"@manyToMany relation name '{name}' (derived from '{relation}') already exists as a "
                                "type in the schema (Amplify refuses it: rename the relation)"
                            )
                        joins.setdefault(name, []).append(node.name.value)
    return joins


def _identity_fields(rules: Sequence[Mapping[str, Any]]) -> tuple[str, ...]:
    """The fields @auth rules read identities from (owner rules: ``ownerField`` or ``owner``; ``groupsField``)."""
    found: list[str] = []
    for rule in rules:
        if rule.get("allow") == "owner":
            found.append(str(rule.get("ownerField") or "owner"))
        if rule.get("allow") == "groups" and rule.get("groupsField"):
            found.append(str(rule["groupsField"]))
    return tuple(dict.fromkeys(found))


def _auth_rules(directive: Any) -> list[dict[str, Any]]:
    """``@auth(rules: [...])`` as plain dicts (strings and enums as text, lists as lists)."""
    from graphql import value_from_ast_untyped

    for argument in directive.arguments or ():
        if argument.name.value == "rules":
            rules = value_from_ast_untyped(argument.value)
            return [r for r in rules if isinstance(r, dict)] if isinstance(rules, list) else []
    return []


def parse_gen1_schema(text: str, source: str) -> ApiSchema:
    """Models and mutation fields of one Amplify Gen 1 schema document (transformer v2)."""
    from graphql import GraphQLError, parse
    from graphql.language import ObjectTypeDefinitionNode, ObjectTypeExtensionNode

    try:
        document = parse(text, no_location=True)
    except GraphQLError as exc:
        raise SchemaError(f"{source}: not valid GraphQL: {exc.message}") from None
    old = sorted({d.name.value for d in _directives(document) if d.name.value in V1_DIRECTIVES})
    if old:
        raise SchemaError(
            f"{source}: Your GraphQL Schema is using {', '.join('@' + d for d in old)} directives from an older "
            f"version of the GraphQL Transformer (v1), which the Amplify CLI no longer compiles. Visit "
            f"{MIGRATION_GUIDE} to learn how to migrate your GraphQL schema (@key -> @primaryKey/@index, "
            "@connection -> @hasMany/@hasOne/@belongsTo/@manyToMany), push it, then run init again"
        )
    sandbox_mode = _global_rule_is_public(document, source)
    models: list[str] = []
    model_mutations: list[str] = []
    custom: list[str] = []
    backing: dict[str, str] = {}
    keys: dict[str, tuple[str, ...]] = {}
    unguarded: list[str] = []
    protected: dict[str, tuple[str, ...]] = {}
    renamed: dict[str, str] = {}
    for node in document.definitions:
        if not isinstance(node, ObjectTypeDefinitionNode | ObjectTypeExtensionNode):
            continue
        name = node.name.value
        if name == "Mutation":
            for definition in node.fields or ():
                custom.append(definition.name.value)
                used = [d.name.value for d in definition.directives or () if d.name.value in CUSTOM_BACKINGS]
                backing[definition.name.value] = (
                    ", ".join(f"@{d}" for d in used) if used else "a custom resolver"
                )
            continue
        model = next((d for d in node.directives or () if d.name.value == "model"), None)
        if model is not None:
            models.append(name)
            auth = next((d for d in node.directives or () if d.name.value == "auth"), None)
            if auth is None:
                unguarded.append(name)
            elif fields_of := _identity_fields(_auth_rules(auth)):
                protected[name] = fields_of
            key = _primary_key(node)
            if key is not None and key != ("id",):
                keys[name] = key
            try:
                generated = _model_mutations(name, model)
                model_mutations.extend(generated)
                renamed.update(
                    {m: name for m in generated if not any(m == f"{op}{name}" for op in OPERATIONS)}
                )
            except SchemaError as exc:
                raise SchemaError(f"{source}: {exc}") from None
    try:
        joins = _many_to_many_models(document)
    except SchemaError as exc:
        raise SchemaError(f"{source}: {exc}") from None
    for join, sides in joins.items():
        if join not in models:
            # Amplify's join model gets the @auth rules of the models it joins: it is in sandbox mode only when
            # none of them has rules (transformer 1.8.4: createUserChatroom admits admin roles when either side
            # has @auth, and only API keys when neither has).
            models.append(join)
            if all(side in unguarded for side in sides):
                unguarded.append(join)
            model_mutations.extend(f"{op}{join}" for op in OPERATIONS)
    mutations = tuple(dict.fromkeys([*model_mutations, *custom]))
    return ApiSchema(
        source,
        tuple(models),
        mutations,
        keys,
        sandbox_mode_models=tuple(unguarded) if sandbox_mode else (),
        custom_backing=backing,
        protected_fields=protected,
        renamed=renamed,
    )


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
    protected: dict[str, tuple[str, ...]] = {}
    for model in models_raw.values():
        if not isinstance(model, Mapping):
            continue
        rules = [
            rule
            for attribute in model.get("attributes") or ()
            if isinstance(attribute, Mapping) and attribute.get("type") == "auth"
            for rule in (attribute.get("properties") or {}).get("rules") or ()
            if isinstance(rule, Mapping)
        ]
        if fields_of := _identity_fields(rules):
            protected[str(model.get("name"))] = fields_of
    mutations = [f"{op}{model}" for model in models for op in OPERATIONS]
    mutations += [str(key) for key in custom_raw]
    return ApiSchema(
        f"{source} (data.model_introspection)",
        tuple(models),
        tuple(dict.fromkeys(mutations)),
        keys,
        custom_backing={
            str(key): "a Gen 2 custom mutation (a.mutation().handler(...))" for key in custom_raw
        },
        protected_fields=protected,
    )


GLOBAL_RULE = "input AMPLIFY { globalAuthRule: AuthRule = { allow: public } }"


def sandbox_mode_problem(mutation: str, model: str) -> str:
    """Why IAM callers are refused on a sandbox-mode model, and the fix that keeps the model's current access."""
    return (
        f"{mutation} writes {model}, which has no @auth rule of its own under the schema's global rule "
        f"`{GLOBAL_RULE}`: Amplify compiles it in sandbox mode (API keys only) and refuses every IAM caller, the "
        "worker's admin role included, whatever custom-roles.json lists. Fix: add "
        f"`@auth(rules: [{{ allow: public }}])` to `type {model} @model` (it keeps {model}'s API-key access, and a "
        "model with @auth rules admits Amplify admin roles), then `amplify push`"
    )


def schema_warnings(schema: ApiSchema, allowed: Sequence[str]) -> list[str]:
    """What will refuse or not be served for the ``allowed`` mutations, read from the schema alone."""
    warnings = [sandbox_mode_problem(m, model) for m, model in schema.refused_for_iam(allowed).items()]
    for mutation in allowed:
        backing = schema.custom_backing.get(mutation)
        if backing is not None:
            warnings.append(
                f"{mutation} is a custom mutation ({backing}), not a model mutation: the worker sends it as a "
                "query-form envelope, never counts it as already applied, and the local sandbox cannot serve it"
            )
    return warnings


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
    if settings.amplify.generation.described_by_outputs:
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
    operator = settings.operator_role
    unknown = [m for m in operator.allowed_mutations if m not in schema.mutations] if operator.enabled else []
    if unknown:
        problems.append(
            f"operator_role.allowed_mutations lists {', '.join(unknown)}, which {schema.source} does not define "
            f"(it defines: {', '.join(schema.mutations) or 'none'}); send and replay would refuse or AppSync "
            "would reject every such mutation"
        )
    if dict(settings.appsync.model_keys) != dict(schema.keys):
        wanted = ", ".join(f"{m} = {list(k)}" for m, k in sorted(schema.keys.items())) or "none"
        problems.append(
            f"appsync.model_keys does not match the primary keys {schema.source} declares ({wanted}): the "
            "worker names records by these keys (duplicates, default fields); set [appsync.model_keys] to them"
        )
    return problems


__all__ = [
    "GLOBAL_RULE",
    "ApiSchema",
    "SchemaError",
    "gen1_schema_files",
    "introspection_schema",
    "mutation_problems",
    "parse_gen1_schema",
    "project_schema",
    "read_gen1_schema",
    "read_outputs",
    "sandbox_mode_problem",
    "schema_warnings",
]
