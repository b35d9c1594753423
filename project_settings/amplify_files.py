"""What an Amplify project already knows about its API, read from the files the Amplify tooling writes.

Gen 1 (the Amplify CLI, file shapes as in aws-amplify/amplify-cli and committed projects):

- ``amplify/.config/local-env-info.json``: ``{"projectPath": ..., "defaultEditor": ..., "envName": "dev"}``, the
  checked-out environment.
- ``amplify/team-provider-info.json``: ``{"<env>": {"awscloudformation": {"Region", "StackId", "AuthRoleArn",
  "UnauthRoleArn", "StackName", "AmplifyAppId", ...}, "categories": {...}}}``, one entry per environment.
- ``amplify/backend/amplify-meta.json``: the checked-out environment only: ``providers.awscloudformation``
  (same keys as above) and ``api.<name>`` with ``"service": "AppSync"`` and, once pushed,
  ``output.GraphQLAPIIdOutput`` / ``output.GraphQLAPIEndpointOutput``.

The account is the one in ``StackId`` (``arn:aws:cloudformation:<region>:<account>:stack/...``) or
``AuthRoleArn`` (``arn:aws:iam::<account>:role/...``).

Gen 2 (``npx ampx``): ``amplify_outputs.json`` with ``data.url``, ``data.aws_region`` and
``data.model_introspection``; it names neither the account nor the API id (client-config schema v1,
``additionalProperties: false``), so both come from elsewhere (``init --api-id`` / ``--lookup-api-id``).

The API id is never read from the endpoint: AppSync's host ``<X>.appsync-api.<region>.amazonaws.com`` carries
a different 26-character string than the id in the API's ARN (real pairs from committed amplify-meta.json files:
AdhamOmari/taskmaster ``GraphQLAPIIdOutput`` o4mqhzt2... with host uc7by7pi...; AnthonyDinhTNguyen/GraphQLTest
nmfooxd6... with p2rt5j4a...; localstack/localstack#7578). Only the region may be read from the host.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from project_settings.generation import AmplifyGeneration
from worker.names import APPSYNC_ENDPOINT_RE

_STACK_ID = re.compile(r"^arn:aws[a-z-]*:cloudformation:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):stack/")
_ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::(?P<account>\d{12}):role/")


class AmplifyProjectError(ValueError):
    """The project's files cannot be read as an Amplify project: every problem, together."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        super().__init__(f"{source}:\n" + "\n".join(f"  - {p}" for p in problems))


@dataclass(frozen=True)
class ProjectFacts:
    """What was read (None: not known from the files) and notes on what was not, and why."""

    generation: AmplifyGeneration
    source: str
    env_name: str | None = None
    account: str | None = None
    region: str | None = None
    api_name: str | None = None
    api_id: str | None = None
    url: str | None = None
    notes: tuple[str, ...] = field(default=())
    #: The API's authorization modes (AWS_IAM, AMAZON_COGNITO_USER_POOLS, API_KEY...), default first; empty:
    #: not known from the files.
    auth_modes: tuple[str, ...] = ()
    #: The conflict resolution strategy when conflict detection is on (AUTOMERGE, OPTIMISTIC_CONCURRENCY,
    #: LAMBDA): Amplify's update and delete resolvers then require ``_version``.
    conflict_strategy: str | None = None

    def iam_problem(self) -> str | None:
        """Why an IAM-signed request cannot reach this API's resolvers, when the files say so."""
        if not self.auth_modes or IAM_MODE in self.auth_modes:
            return None
        return (
            f"the API's authorization modes are {', '.join(self.auth_modes)}, without AWS_IAM: AppSync refuses "
            "every IAM-signed request before any resolver runs (custom-roles.json cannot help). Fix: `amplify "
            "update api` -> add IAM as an additional authorization type, then `amplify push`"
        )

    def conflict_note(self) -> str | None:
        if self.conflict_strategy is None:
            return None
        return (
            f"conflict detection is on ({self.conflict_strategy}, DataStore): Amplify's update and delete "
            "resolvers require the record's current `_version` in the input, or they answer ConflictUnhandled; "
            "the worker sends what the envelope says (it reads no version), so producers of updates and deletes "
            "must send `_version`. Creates are unaffected"
        )


IAM_MODE = "AWS_IAM"


def _auth_modes(output: Mapping[str, Any], cli_inputs: Mapping[str, Any]) -> tuple[str, ...]:
    """Default mode first: ``output.authConfig`` (amplify-meta.json), else ``cli-inputs.json``'s own."""
    config = output.get("authConfig")
    if isinstance(config, Mapping):
        default = (config.get("defaultAuthentication") or {}).get("authenticationType")
        extra = [
            p.get("authenticationType")
            for p in config.get("additionalAuthenticationProviders") or ()
            if isinstance(p, Mapping)
        ]
        modes = [default, *extra]
    else:
        service = cli_inputs.get("serviceConfiguration") or {}
        modes = [(service.get("defaultAuthType") or {}).get("mode")]
        modes += [p.get("mode") for p in service.get("additionalAuthTypes") or () if isinstance(p, Mapping)]
    return tuple(dict.fromkeys(m for m in modes if isinstance(m, str)))


def _conflict_strategy(api_dir: Path, cli_inputs: Mapping[str, Any]) -> str | None:
    """``cli-inputs.json`` ``conflictResolution.defaultResolutionStrategy.type``, or an older project's
    ``transform.conf.json`` ``ResolverConfig.project.ConflictHandler`` (both as the Amplify CLI writes them)."""
    service = cli_inputs.get("serviceConfiguration") or {}
    strategy = ((service.get("conflictResolution") or {}).get("defaultResolutionStrategy") or {}).get("type")
    if isinstance(strategy, str) and strategy:
        return strategy
    transform = _read_json(api_dir / "transform.conf.json")
    project = (
        ((transform or {}).get("ResolverConfig") or {}).get("project")
        if isinstance(transform, Mapping)
        else None
    )
    handler = project.get("ConflictHandler") if isinstance(project, Mapping) else None
    return handler if isinstance(handler, str) and handler else None


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise AmplifyProjectError(str(path), [f"cannot be read as JSON: {exc}"]) from None


def _object(value: Any, where: str, problems: list[str]) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        problems.append(f"{where} must be a JSON object, not {type(value).__name__}")
        return {}
    return value


def _provider_account(
    provider: Mapping[str, Any], where: str, problems: list[str]
) -> tuple[str | None, str | None]:
    """(account, region) from a provider block's StackId / AuthRoleArn / Region."""
    accounts: dict[str, str] = {}
    region = provider.get("Region") if isinstance(provider.get("Region"), str) else None
    stack = provider.get("StackId")
    if isinstance(stack, str) and (match := _STACK_ID.match(stack)):
        accounts["StackId"] = match["account"]
        region = region or match["region"]
    for key in ("AuthRoleArn", "UnauthRoleArn"):
        value = provider.get(key)
        if isinstance(value, str) and (match := _ROLE_ARN.match(value)):
            accounts[key] = match["account"]
    if len(set(accounts.values())) > 1:
        problems.append(
            f"{where} names more than one account: "
            + ", ".join(f"{key} {account}" for key, account in accounts.items())
        )
        return None, region
    return next(iter(accounts.values()), None), region


def is_gen1_project(directory: Path) -> bool:
    return (directory / "amplify" / "backend" / "amplify-meta.json").is_file() or (
        directory / "amplify" / "team-provider-info.json"
    ).is_file()


def gen2_outputs_path(directory: Path) -> Path | None:
    """``amplify_outputs.json`` in ``directory`` (or ``directory`` itself when it is that file)."""
    if directory.is_file() and directory.name.endswith(".json"):
        return directory
    candidate = directory / "amplify_outputs.json"
    return candidate if candidate.is_file() else None


def read_gen1(project_dir: Path, env: str | None = None, api_name: str | None = None) -> ProjectFacts:
    """The API's id, endpoint, region and account for ``env`` (default: the checked-out environment)."""
    amplify = project_dir / "amplify"
    problems: list[str] = []
    notes: list[str] = []
    local = _object(_read_json(amplify / ".config" / "local-env-info.json"), "local-env-info.json", problems)
    current = local.get("envName") if isinstance(local.get("envName"), str) else None
    teams = _object(_read_json(amplify / "team-provider-info.json"), "team-provider-info.json", problems)
    meta_path = amplify / "backend" / "amplify-meta.json"
    meta = _object(_read_json(meta_path), "amplify-meta.json", problems)
    if not meta and not teams:
        raise AmplifyProjectError(
            str(project_dir),
            [
                "not an Amplify Gen 1 project: neither amplify/backend/amplify-meta.json nor "
                "amplify/team-provider-info.json is there (run `amplify pull` or `amplify init` in it first)"
            ],
        )
    wanted = env or current
    if env is not None and teams and env not in teams:
        problems.append(
            f"environment {env!r} is not in amplify/team-provider-info.json (it has: {', '.join(teams) or 'none'})"
        )
    account = region = None
    if wanted is not None and wanted in teams:
        block = _object(teams[wanted], f"team-provider-info.json {wanted!r}", problems)
        provider = _object(block.get("awscloudformation"), f"{wanted}.awscloudformation", problems)
        account, region = _provider_account(provider, f"team-provider-info.json {wanted!r}", problems)
    # amplify-meta.json describes the checked-out environment only.
    meta_is_wanted = wanted is None or current is None or wanted == current
    providers = _object(meta.get("providers"), "amplify-meta.json providers", problems)
    if meta_is_wanted and providers:
        provider = _object(providers.get("awscloudformation"), "providers.awscloudformation", problems)
        meta_account, meta_region = _provider_account(provider, "amplify-meta.json providers", problems)
        if account and meta_account and account != meta_account:
            problems.append(
                f"team-provider-info.json puts {wanted!r} in account {account}, amplify-meta.json in "
                f"{meta_account}: run `amplify pull` to bring them in line"
            )
        account = account or meta_account
        region = region or meta_region
    apis = {
        name: value
        for name, value in _object(meta.get("api"), "amplify-meta.json api", problems).items()
        if isinstance(value, Mapping) and value.get("service") == "AppSync"
    }
    chosen = api_name
    if chosen is None:
        if len(apis) == 1:
            chosen = next(iter(apis))
        elif len(apis) > 1:
            problems.append(
                f"amplify-meta.json has more than one AppSync API ({', '.join(apis)}): pass --api-name"
            )
        else:
            api_root = amplify / "backend" / "api"
            folders = sorted(p.name for p in api_root.iterdir() if p.is_dir()) if api_root.is_dir() else []
            if len(folders) == 1:
                chosen = folders[0]
            else:
                notes.append(
                    "no AppSync API found in amplify-meta.json: `amplify add api`, then `amplify push`"
                )
    elif meta and chosen not in apis:
        problems.append(
            f"amplify-meta.json has no AppSync API {chosen!r} (it has: {', '.join(apis) or 'none'})"
        )
    api_id = url = None
    auth_modes: tuple[str, ...] = ()
    conflict = None
    if chosen is not None:
        api_dir = amplify / "backend" / "api" / chosen
        cli_inputs = _object(_read_json(api_dir / "cli-inputs.json"), "cli-inputs.json", problems)
        output = apis[chosen].get("output") if chosen in apis else None
        auth_modes = _auth_modes(output if isinstance(output, Mapping) else {}, cli_inputs)
        conflict = _conflict_strategy(api_dir, cli_inputs)
    if chosen in apis and meta_is_wanted:
        output = _object(apis[chosen].get("output"), f"api.{chosen}.output", problems)
        api_id = (
            output.get("GraphQLAPIIdOutput") if isinstance(output.get("GraphQLAPIIdOutput"), str) else None
        )
        url = output.get("GraphQLAPIEndpointOutput")
        url = url if isinstance(url, str) else None
        if api_id is None and url is None:
            notes.append(f"API {chosen!r} has no outputs in amplify-meta.json yet: run `amplify push` first")
        elif api_id is None or url is None:
            missing = "GraphQLAPIIdOutput" if api_id is None else "GraphQLAPIEndpointOutput"
            notes.append(
                f"api.{chosen}.output has no {missing} (one is not derived from the other): `amplify pull` to "
                "refresh amplify-meta.json, or give it (--api-id / the URL in settings)"
            )
    elif chosen is not None and not meta_is_wanted:
        notes.append(
            f"amplify-meta.json describes environment {current!r}, not {wanted!r}: the API id and endpoint of "
            f"{wanted!r} are not on disk; run `amplify env checkout {wanted}` and init again"
        )
    if url is not None and (match := APPSYNC_ENDPOINT_RE.match((urlsplit(url).hostname or "").lower())):
        region = region or match["region"]  # the host names the region, never the API id
    if account is None:
        notes.append("no account id found (providers.awscloudformation StackId / AuthRoleArn)")
    if problems:
        raise AmplifyProjectError(str(project_dir), problems)
    return ProjectFacts(
        generation=AmplifyGeneration.GEN1,
        source=str(meta_path if meta else amplify / "team-provider-info.json"),
        env_name=wanted,
        account=account,
        region=region,
        api_name=chosen,
        api_id=api_id,
        url=url,
        notes=tuple(notes),
        auth_modes=auth_modes,
        conflict_strategy=conflict,
    )


def read_gen2(outputs_path: Path) -> ProjectFacts:
    """Endpoint and region from ``amplify_outputs.json`` (it names neither the account nor the API id)."""
    data = _read_json(outputs_path)
    if not isinstance(data, Mapping):
        raise AmplifyProjectError(str(outputs_path), ["must be a JSON object (amplify_outputs.json)"])
    section = data.get("data")
    if not isinstance(section, Mapping):
        raise AmplifyProjectError(
            str(outputs_path), ["has no data section: the Gen 2 backend defines no data (defineData) yet"]
        )
    problems: list[str] = []
    url = section.get("url") if isinstance(section.get("url"), str) else None
    region = section.get("aws_region") if isinstance(section.get("aws_region"), str) else None
    if url is None:
        problems.append("data.url is missing")
    if url is not None:
        match = APPSYNC_ENDPOINT_RE.match((urlsplit(url).hostname or "").lower())
        if match is not None and region is not None and match["region"] != region:
            problems.append(f"data.url is in region {match['region']} but data.aws_region is {region}")
    if problems:
        raise AmplifyProjectError(str(outputs_path), problems)
    modes = [section.get("default_authorization_type"), *(section.get("authorization_types") or ())]
    return ProjectFacts(
        generation=AmplifyGeneration.GEN2,
        source=str(outputs_path),
        region=region,
        url=url,
        auth_modes=tuple(dict.fromkeys(m for m in modes if isinstance(m, str))),
        notes=(
            "amplify_outputs.json names neither account B nor the API id (the endpoint's host is not the id)",
        ),
    )


CATEGORY_API = "@aws-amplify/amplify-category-api"
_CLI_PACKAGES = ("@aws-amplify/cli", "@aws-amplify/cli-internal")


def _global_node_roots() -> list[Path]:
    import os

    roots = [Path("/usr/local/lib/node_modules"), Path("/usr/lib/node_modules")]
    prefix = os.environ.get("NPM_CONFIG_PREFIX")
    if prefix:
        roots.insert(0, Path(prefix) / "lib" / "node_modules")
    roots.append(Path.home() / ".npm-global" / "lib" / "node_modules")
    return roots


def detect_category_api_version(
    project_dir: Path, roots: Sequence[Path] | None = None
) -> tuple[str, str] | None:
    """(version, package.json path) of the ``@aws-amplify/amplify-category-api`` the Amplify CLI would use.

    Looked up in the project's ``node_modules`` first, then in the Amplify CLI's own install (npm global
    roots, nested under ``@aws-amplify/cli`` / ``cli-internal``). None when not found (e.g. the CLI was
    installed as a standalone binary): ``amplify --version`` prints the CLI's number, not this package's.
    """
    search = [project_dir / "node_modules", *(roots if roots is not None else _global_node_roots())]
    for root in search:
        candidates = [root / CATEGORY_API / "package.json"]
        for cli in _CLI_PACKAGES:
            candidates.append(root / cli / "node_modules" / CATEGORY_API / "package.json")
            candidates.append(
                root
                / cli
                / "node_modules"
                / "@aws-amplify"
                / "cli-internal"
                / "node_modules"
                / CATEGORY_API
                / "package.json"
            )
        for candidate in candidates:
            try:
                data = json.loads(candidate.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            version = data.get("version") if isinstance(data, Mapping) else None
            if isinstance(version, str) and data.get("name") == CATEGORY_API:
                return version, str(candidate)
    return None


def project_account(project_dir: Path, api_name: str | None = None) -> str | None:
    """The account the Gen 1 project's checked-out environment is deployed in, when its files say."""
    try:
        return read_gen1(project_dir, api_name=api_name).account if is_gen1_project(project_dir) else None
    except AmplifyProjectError:
        return None


def deployed_facts(
    project_dir: Path, generation: AmplifyGeneration, api_name: str | None = None
) -> ProjectFacts | None:
    """What the settings' Amplify project says about its API (auth modes, conflict detection...): Gen 1 files or
    Gen 2 outputs; None when there is no project there or its files cannot be read (the settings checks say why)."""
    try:
        if generation.described_by_outputs:
            outputs = gen2_outputs_path(project_dir)
            return read_gen2(outputs) if outputs is not None else None
        return read_gen1(project_dir, api_name=api_name) if is_gen1_project(project_dir) else None
    except AmplifyProjectError:
        return None


__all__ = [
    "CATEGORY_API",
    "AmplifyProjectError",
    "ProjectFacts",
    "deployed_facts",
    "detect_category_api_version",
    "gen2_outputs_path",
    "is_gen1_project",
    "project_account",
    "read_gen1",
    "read_gen2",
]
