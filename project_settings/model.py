"""Typed, validated view of ``settings.toml``; invalid files fail with every problem listed at once."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from project_settings.generation import AmplifyGeneration
from worker.config import (
    DEFAULT_DIRECT_INVOCATION,
    DEFAULT_MAX_CONCURRENCY,
    DEFAULT_REQUEST_TIMEOUT_SECONDS,
    HANDLER_MARGIN_MAX_SECONDS,
    MAX_CHAINED_SESSION_SECONDS,
    MAX_CONCURRENCY_RANGE,
    MIN_SESSION_SECONDS,
    NO_RECORD_RESERVE_SECONDS,
    WorkerConfig,
    check_appsync_url,
)
from worker.names import (
    ACCOUNT_RE,
    APPSYNC_API_ID_RE,
    APPSYNC_ENDPOINT_RE,
    CLI_BEHAVIOURS,
    EVENT_SOURCE_RE,
    EXTERNAL_ID_RE,
    FIELD_NAME_RE,
    PRODUCER_PRINCIPAL_ARN_RE,
    REGION_RE,
    ROLE_NAME_RE,
    SESSION_NAME_RE,
    assumed_role_arn,
    host_posing_as_api_id,
    role_arn,
    sqs_queue_arn,
)
from worker.names import (
    appsync_api_arn as _api_arn,
)
from worker.rights import ENV_PRODUCER_RULES, ProducerRule, parse_producer_rules

DEFAULT_PATH = Path(__file__).resolve().parent.parent / "settings.toml"
QUEUE_NAME_RE = re.compile(r"^[\w-]{1,75}(\.fifo)?$", re.ASCII)
API_NAME_RE = re.compile(r"^[A-Za-z0-9]+$")
FUNCTION_NAME_RE = re.compile(r"^[\w-]{1,64}$", re.ASCII)
SNS_TOPIC_ARN_RE = re.compile(r"^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[\w-]{1,256}(\.fifo)?$", re.ASCII)
ARCHITECTURES = ("arm64", "x86_64")
VERSION_RE = re.compile(r"^(\d+)\.(\d+)\.(\d+)$")
# @aws-amplify/amplify-category-api 5.15.7 (PR #3528) started normalizing custom-roles.json entries.
FIRST_NORMALIZING_VERSION = (5, 15, 7)


def behaviour_for_version(version: str) -> str:
    """The custom-roles.json behaviour of an ``@aws-amplify/amplify-category-api`` version ("5.15.6")."""
    match = VERSION_RE.match(version.strip())
    if match is None:
        raise ValueError(f"{version!r} is not a version like 5.15.6")
    return "normalize" if tuple(int(p) for p in match.groups()) >= FIRST_NORMALIZING_VERSION else "verbatim"


class SettingsError(ValueError):
    """Every problem found in a settings file, reported together."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        super().__init__(f"{source} is invalid:\n" + "\n".join(f"  - {p}" for p in problems))


@dataclass(frozen=True)
class AccountsSettings:
    worker: str
    api: str
    region: str


@dataclass(frozen=True)
class MutatorRoleSettings:
    name: str
    session_name: str
    external_id: str | None
    session_seconds: int


@dataclass(frozen=True)
class AppSyncSettings:
    api_id: str
    url: str
    allowed_mutations: tuple[str, ...]
    #: Models whose primary key is not ``id``: key field, then sort key fields (``[appsync.model_keys]``).
    model_keys: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    #: Models whose versioned writes may be read back: ``appsync:GraphQL`` on ``Query.get<Model>``.
    #: Without it a refused versioned write is never reported superseded (``VersionUnproven``).
    version_reads: tuple[str, ...] = ()
    #: Per model, the input fields its @auth rules read identity from (``[appsync.protected_fields]``, which
    #: ``init`` fills): no producer sets them unless one of ``[[producers.rules]]`` names it.
    protected_fields: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class AmplifySettings:
    project_dir: Path
    api_name: str
    cli_behaviour: str
    include_session_in_entry: bool
    #: Amplify Gen 1 (custom-roles.json is the gate) or Gen 2 (the IAM policy only): ask it what differs.
    generation: AmplifyGeneration = AmplifyGeneration.GEN1
    category_api_version: str | None = None  # @aws-amplify/amplify-category-api, when known

    def __post_init__(self) -> None:
        # ``with_changes(amplify={"generation": 2})`` and older callers pass the settings' number: the field
        # always holds the type, so every reader can ask it what differs (a bad number raises ValueError).
        object.__setattr__(self, "generation", AmplifyGeneration.from_setting(self.generation))


@dataclass(frozen=True)
class WorkerSettings:
    function_name: str
    execution_role_name: str
    queue_name: str
    dead_letter_queue_name: str
    fifo: bool
    batch_size: int
    batching_window_seconds: int
    max_concurrency: int
    max_function_concurrency: int
    function_timeout_seconds: int
    request_timeout_seconds: float
    max_receive_count: int
    memory_mb: int
    log_retention_days: int
    log_level: str
    eventbridge_source: str
    eventbridge_detail_type: str
    #: SNS topic every alarm notifies (alarm and OK); None: alarms without actions (``make synth`` warns).
    alarm_topic_arn: str | None = None
    #: Lambda architecture: "arm64" (default) or "x86_64"; ``make package`` builds wheels for it.
    architecture: str = "arm64"
    #: X-Ray active tracing on the function.
    tracing: bool = False
    #: Lambda SnapStart on published versions (Python 3.12+): a version and a ``live`` alias are published.
    snapstart: bool = False
    #: Reserved concurrency of the function: bounds the SQS and the EventBridge paths together.
    reserved_concurrency: int = 10


@dataclass(frozen=True)
class ProducersSettings:
    """``[producers]``: who may make the worker write. The defaults name nobody."""

    #: Principals allowed ``sqs:SendMessage`` on the source queue (``aws:PrincipalArn``: role or user ARNs, ``*``
    #: within the name); the queue policy denies every other principal.
    sqs_senders: tuple[str, ...] = ()
    #: Accounts whose events on the worker's bus are applied (the bus policy admits them, the rule pins them).
    eventbridge_accounts: tuple[str, ...] = ()
    #: Event sources applied (compared exactly); empty in the file: ``[worker.eventbridge] source``.
    eventbridge_sources: tuple[str, ...] = ()
    #: Whether envelopes invoked directly (``lambda:InvokeFunction``) are applied.
    direct_invocation: bool = DEFAULT_DIRECT_INVOCATION
    #: ``[[producers.rules]]``: per producer pattern, its mutations and the protected fields it may set.
    rules: tuple[ProducerRule, ...] = ()


#: The operator role's default name in account B (``[operator_role] name``).
DEFAULT_OPERATOR_ROLE_NAME = "AppSyncMutationOperator"
#: Operator sessions are named ``operator-<source identity>`` (the person, as CloudTrail shows them).
OPERATOR_SESSION_PREFIX = "operator-"


@dataclass(frozen=True)
class OperatorRoleSettings:
    """``[operator_role]``: the account-B role people assume for ``send``/``replay``/``doctor``.

    Its trust admits account A's root only under ``ArnLike aws:PrincipalArn`` = ``principals`` and only with a
    source identity (``sts:SourceIdentity``); its policy allows ``appsync:GraphQL`` on ``allowed_mutations``.
    No principals (the default): no operator role is created.
    """

    name: str = DEFAULT_OPERATOR_ROLE_NAME
    #: Role or user ARNs in account A allowed to assume it (``*`` only within the name, as sqs_senders).
    principals: tuple[str, ...] = ()
    #: Its own allow-list (default: ``[appsync] allowed_mutations``).
    allowed_mutations: tuple[str, ...] = ()

    @property
    def enabled(self) -> bool:
        return bool(self.principals)


@dataclass(frozen=True)
class Settings:
    accounts: AccountsSettings
    mutator_role: MutatorRoleSettings
    appsync: AppSyncSettings
    amplify: AmplifySettings
    worker: WorkerSettings
    source: str = "<settings>"
    producers: ProducersSettings = field(default_factory=ProducersSettings)
    operator_role: OperatorRoleSettings = field(default_factory=OperatorRoleSettings)

    # --- derived names: the only place these strings are assembled -------------------------------
    @property
    def mutator_role_arn(self) -> str:
        return role_arn(self.accounts.api, self.mutator_role.name)

    @property
    def assumed_role_arn(self) -> str:
        """The caller ARN AppSync resolvers see for the worker (what custom-roles.json must admit)."""
        return assumed_role_arn(self.accounts.api, self.mutator_role.name, self.mutator_role.session_name)

    @property
    def operator_role_arn(self) -> str:
        return role_arn(self.accounts.api, self.operator_role.name)

    @property
    def operator_assumed_role_prefix(self) -> str:
        """Every operator session's caller ARN starts with this (sessions are named by the person)."""
        return assumed_role_arn(self.accounts.api, self.operator_role.name)

    def operator_field_arns(self) -> list[str]:
        """``appsync:GraphQL`` resources of the operator role's own allow-list."""
        return [
            f"{self.appsync_api_arn}/types/Mutation/fields/{f}" for f in self.operator_role.allowed_mutations
        ]

    @property
    def execution_role_arn(self) -> str:
        return role_arn(self.accounts.worker, self.worker.execution_role_name)

    @property
    def appsync_api_arn(self) -> str:
        return _api_arn(self.accounts.region, self.accounts.api, self.appsync.api_id)

    def mutation_field_arns(self) -> list[str]:
        """``appsync:GraphQL`` resources for the allowed mutation fields, and nothing else."""
        return [f"{self.appsync_api_arn}/types/Mutation/fields/{f}" for f in self.appsync.allowed_mutations]

    def read_field_arns(self) -> list[str]:
        """``appsync:GraphQL`` resources of the get queries that read a versioned write's record back."""
        return [f"{self.appsync_api_arn}/types/Query/fields/get{m}" for m in self.appsync.version_reads]

    @property
    def source_queue_arn(self) -> str:
        """The queue the worker takes records from: every other ``eventSourceARN`` is refused."""
        return sqs_queue_arn(self.accounts.region, self.accounts.worker, self.worker.queue_name)

    def queue_url(self, endpoint: str, name: str) -> str:
        return f"{endpoint.rstrip('/')}/{self.accounts.worker}/{name}"

    @property
    def custom_roles_path(self) -> Path:
        return (
            self.amplify.project_dir
            / "amplify"
            / "backend"
            / "api"
            / self.amplify.api_name
            / "custom-roles.json"
        )

    def worker_config(self, **overrides: Any) -> WorkerConfig:
        """The worker's configuration as the infra stack deploys it; overrides serve the sandbox."""
        config = WorkerConfig(
            appsync_url=self.appsync.url,
            role_arn=self.mutator_role_arn,
            session_name=self.mutator_role.session_name,
            region=self.accounts.region,
            allowed_mutations=frozenset(self.appsync.allowed_mutations),
            external_id=self.mutator_role.external_id,
            session_seconds=self.mutator_role.session_seconds,
            request_timeout=self.worker.request_timeout_seconds,
            max_concurrency=self.worker.max_concurrency,
            max_receive_count=self.worker.max_receive_count,
            log_level=self.worker.log_level,
            model_keys=dict(self.appsync.model_keys),
            source_queue_arn=self.source_queue_arn,
            event_accounts=frozenset(self.producers.eventbridge_accounts),
            event_sources=frozenset(self.producers.eventbridge_sources),
            direct_invocation=self.producers.direct_invocation,
            protected_fields=dict(self.appsync.protected_fields),
            producer_rules=self.producers.rules,
        )
        return replace(config, **overrides) if overrides else config

    def worker_environment(self, **overrides: Any) -> dict[str, str]:
        """The Lambda environment variables for the worker, validated by the worker's own parser."""
        env = self.worker_config(**overrides).to_environ()
        WorkerConfig.from_environ(env)  # same validation the function runs at cold start
        return env

    def with_changes(self, **sections: Mapping[str, Any]) -> Settings:
        """A copy with some fields changed, e.g. ``with_changes(mutator_role={"session_name": "x"})``."""
        changed = {name: replace(getattr(self, name), **values) for name, values in sections.items()}
        return replace(self, **changed)


def read_settings_file(path: str | Path | None = None) -> tuple[Path, dict[str, Any]]:
    """The file (default: the project's ``settings.toml``) and its TOML, unvalidated."""
    file = Path(path) if path is not None else DEFAULT_PATH
    try:
        return file, tomllib.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SettingsError(str(file), ["file not found"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(str(file), [f"not valid TOML: {exc}"]) from None


def load_settings(path: str | Path | None = None) -> Settings:
    """Read and validate a settings file (default: the project's ``settings.toml``)."""
    file, raw = read_settings_file(path)
    return parse_settings(raw, source=str(file), base_dir=file.parent)


def parse_settings(
    raw: Mapping[str, Any], *, source: str = "<settings>", base_dir: Path | None = None
) -> Settings:
    problems: list[str] = []
    reader = _Reader(raw, problems)

    accounts = AccountsSettings(
        worker=reader.text("accounts", "worker", pattern=ACCOUNT_RE, expect="a 12-digit account id"),
        api=reader.text("accounts", "api", pattern=ACCOUNT_RE, expect="a 12-digit account id"),
        region=reader.text("accounts", "region", pattern=REGION_RE, expect="an AWS region such as eu-west-1"),
    )
    if accounts.worker and accounts.worker == accounts.api:
        problems.append(
            "accounts.worker and accounts.api are the same account; this project is for two accounts"
        )

    session_seconds = reader.integer("mutator_role", "session_seconds", default=MAX_CHAINED_SESSION_SECONDS)
    if not MIN_SESSION_SECONDS <= session_seconds <= MAX_CHAINED_SESSION_SECONDS:
        problems.append(
            f"mutator_role.session_seconds={session_seconds} must be {MIN_SESSION_SECONDS}-"
            f"{MAX_CHAINED_SESSION_SECONDS}: assuming a role from the Lambda execution role is role chaining, "
            "which AWS caps at one hour"
        )
    mutator_role = MutatorRoleSettings(
        name=reader.text("mutator_role", "name", pattern=ROLE_NAME_RE, expect="an IAM role name"),
        session_name=reader.text(
            "mutator_role",
            "session_name",
            pattern=SESSION_NAME_RE,
            expect="2-64 characters of [A-Za-z0-9+=,.@_-]",
        ),
        external_id=reader.text(
            "mutator_role", "external_id", pattern=EXTERNAL_ID_RE, expect="2-1224 characters", optional=True
        )
        or None,
        session_seconds=session_seconds,
    )

    url = reader.text("appsync", "url")
    if reader.text("appsync", "custom_domain_host", optional=True):
        problems.append(
            "appsync.custom_domain_host was removed: requests are signed for the host they are sent to, which is "
            "always appsync.url's own host, so any other value made every signature invalid; put the custom "
            "domain in appsync.url (https://<domain>/graphql) and delete custom_domain_host"
        )
    if url:
        match = APPSYNC_ENDPOINT_RE.match((urlsplit(url).hostname or "").lower())
        url_problems, normal_url = check_appsync_url(url)  # the worker's own rule
        problems.extend(f"appsync.url: {problem}" for problem in url_problems)
        url = normal_url or url  # its normal form (no default port)
        if match and accounts.region and match["region"] != accounts.region:
            problems.append(
                f"appsync.url is in region {match['region']} but accounts.region is {accounts.region}"
            )
    allowed = reader.strings("appsync", "allowed_mutations")
    for name in allowed:
        if not FIELD_NAME_RE.match(name):
            problems.append(f"appsync.allowed_mutations: {name!r} is not a GraphQL field name")
    if not allowed:
        problems.append("appsync.allowed_mutations must list at least one mutation field")
    appsync = AppSyncSettings(
        api_id=reader.text("appsync", "api_id", pattern=APPSYNC_API_ID_RE, expect="a 26-character API id"),
        url=url,
        allowed_mutations=tuple(allowed),
        model_keys=_model_keys(reader),
        protected_fields=_model_fields(
            reader, "protected_fields", "the fields its @auth rules read identity from"
        ),
        version_reads=tuple(_version_reads(reader, allowed)),
    )
    if appsync.api_id and url and host_posing_as_api_id(appsync.api_id, url):
        problems.append(
            f"appsync.api_id {appsync.api_id!r} is appsync.url's host, not the API id: AppSync's host carries "
            "another string, and policies built from it name an API that does not exist (read it with "
            "`appsync-mutations init --lookup-api-id`, or from the AppSync console's API settings)"
        )

    explicit_behaviour = reader.text("amplify", "cli_behaviour", optional=True)
    version = reader.text("amplify", "category_api_version", optional=True) or None
    behaviour = explicit_behaviour or "verbatim"
    if explicit_behaviour and behaviour not in CLI_BEHAVIOURS:
        problems.append(f"amplify.cli_behaviour={behaviour!r} must be one of {', '.join(CLI_BEHAVIOURS)}")
    if version is not None:
        try:
            from_version = behaviour_for_version(version)
        except ValueError as exc:
            problems.append(f"amplify.category_api_version: {exc}")
        else:
            if (
                explicit_behaviour
                and explicit_behaviour in CLI_BEHAVIOURS
                and explicit_behaviour != from_version
            ):
                problems.append(
                    f"amplify.cli_behaviour={explicit_behaviour!r} contradicts amplify.category_api_version="
                    f"{version!r} (@aws-amplify/amplify-category-api {version} is {from_version!r}: entries "
                    "pass verbatim through 5.15.6, 5.15.7+ normalizes them); keep one of the two"
                )
            behaviour = from_version
    generation = AmplifyGeneration.GEN1
    generation_setting = reader.integer("amplify", "generation", default=generation.setting)
    try:
        generation = AmplifyGeneration.from_setting(generation_setting)
    except ValueError as exc:
        problems.append(str(exc))
    project_dir = Path(reader.text("amplify", "project_dir", default="."))
    if not project_dir.is_absolute() and base_dir is not None:
        project_dir = base_dir / project_dir
    amplify = AmplifySettings(
        project_dir=project_dir,
        api_name=reader.text(
            "amplify", "api_name", pattern=API_NAME_RE, expect="an Amplify API name (letters, digits)"
        ),
        cli_behaviour=behaviour,
        include_session_in_entry=reader.boolean("amplify", "include_session_in_entry", default=True),
        generation=generation,
        category_api_version=version,
    )

    fifo = reader.boolean("worker", "fifo", default=False)
    function_timeout = reader.integer("worker", "function_timeout_seconds", default=60, low=3, high=900)
    request_timeout = reader.number(
        "worker", "request_timeout_seconds", default=DEFAULT_REQUEST_TIMEOUT_SECONDS
    )
    if not 0 < request_timeout <= 30:
        problems.append(
            "worker.request_timeout_seconds must be above 0 and at most 30 (AppSync's request limit)"
        )
    elif request_timeout + NO_RECORD_RESERVE_SECONDS + HANDLER_MARGIN_MAX_SECONDS > function_timeout:
        problems.append(
            f"worker.function_timeout_seconds must be at least request_timeout_seconds + "
            f"{NO_RECORD_RESERVE_SECONDS + HANDLER_MARGIN_MAX_SECONDS:g}: a create that names no record is only "
            f"sent with its whole request timeout and {NO_RECORD_RESERVE_SECONDS:g} s to dead-letter it left, "
            f"before the handler's {HANDLER_MARGIN_MAX_SECONDS:g} s margin"
        )
    batch_size = reader.integer("worker", "batch_size", default=10, low=1, high=10 if fifo else 10000)
    window = reader.integer("worker", "batching_window_seconds", default=0, low=0, high=300)
    if batch_size > 10 and window < 1:
        problems.append(
            "worker.batch_size above 10 needs worker.batching_window_seconds of at least 1 (SQS rule)"
        )
    worker = WorkerSettings(
        function_name=reader.text(
            "worker", "function_name", pattern=FUNCTION_NAME_RE, expect="a Lambda function name"
        ),
        execution_role_name=reader.text(
            "worker", "execution_role_name", pattern=ROLE_NAME_RE, expect="an IAM role name"
        ),
        queue_name=reader.text("worker", "queue_name", pattern=QUEUE_NAME_RE, expect="an SQS queue name"),
        dead_letter_queue_name=reader.text(
            "worker", "dead_letter_queue_name", pattern=QUEUE_NAME_RE, expect="an SQS queue name"
        ),
        fifo=fifo,
        batch_size=batch_size,
        batching_window_seconds=window,
        max_concurrency=reader.integer(
            "worker",
            "max_concurrency",
            default=DEFAULT_MAX_CONCURRENCY,
            low=MAX_CONCURRENCY_RANGE[0],
            high=MAX_CONCURRENCY_RANGE[1],
        ),
        max_function_concurrency=reader.integer(
            "worker", "max_function_concurrency", default=5, low=2, high=1000
        ),
        function_timeout_seconds=function_timeout,
        request_timeout_seconds=request_timeout,
        max_receive_count=reader.integer("worker", "max_receive_count", default=5, low=1, high=1000),
        memory_mb=reader.integer("worker", "memory_mb", default=512, low=128, high=10240),
        log_retention_days=reader.integer("worker", "log_retention_days", default=30, low=1, high=3653),
        log_level=reader.text("worker", "log_level", default="INFO").upper(),
        eventbridge_source=reader.text("worker.eventbridge", "source", default="com.example.mutations"),
        eventbridge_detail_type=reader.text("worker.eventbridge", "detail_type", default="AppSyncMutation"),
        alarm_topic_arn=reader.text(
            "worker", "alarm_topic_arn", pattern=SNS_TOPIC_ARN_RE, expect="an SNS topic ARN", optional=True
        )
        or None,
        architecture=reader.text("worker", "architecture", default="arm64").lower(),
        tracing=reader.boolean("worker", "tracing", default=False),
        snapstart=reader.boolean("worker", "snapstart", default=False),
        reserved_concurrency=reader.integer("worker", "reserved_concurrency", default=10, low=1, high=10000),
    )
    if worker.architecture not in ARCHITECTURES:
        problems.append(
            f"worker.architecture={worker.architecture!r} must be one of {', '.join(ARCHITECTURES)}"
        )
    if worker.reserved_concurrency < worker.max_function_concurrency:
        problems.append(
            f"worker.reserved_concurrency={worker.reserved_concurrency} must be at least "
            f"worker.max_function_concurrency={worker.max_function_concurrency}: the SQS event source would be "
            "throttled by the function's own reservation (leave room for EventBridge events too)"
        )
    if worker.queue_name and fifo != worker.queue_name.endswith(".fifo"):
        problems.append("worker.queue_name must end in .fifo exactly when worker.fifo is true")
    if worker.dead_letter_queue_name and fifo != worker.dead_letter_queue_name.endswith(".fifo"):
        problems.append("worker.dead_letter_queue_name must end in .fifo exactly when worker.fifo is true")
    if worker.queue_name and worker.queue_name == worker.dead_letter_queue_name:
        problems.append("worker.queue_name and worker.dead_letter_queue_name must differ")
    producers = _producers(reader, worker)
    operator_role = _operator_role(reader, accounts, mutator_role, allowed)
    problems.extend(reader.unknown_keys())

    if problems:
        raise SettingsError(source, problems)
    return Settings(
        accounts,
        mutator_role,
        appsync,
        amplify,
        worker,
        source=source,
        producers=producers,
        operator_role=operator_role,
    )


_KNOWN: dict[str, set[str]] = {
    "accounts": {"worker", "api", "region"},
    "mutator_role": {"name", "session_name", "external_id", "session_seconds"},
    "appsync": {
        "api_id",
        "url",
        "custom_domain_host",
        "allowed_mutations",
        "model_keys",
        "version_reads",
        "protected_fields",
    },
    "amplify": {
        "project_dir",
        "api_name",
        "cli_behaviour",
        "include_session_in_entry",
        "generation",
        "category_api_version",
    },
    "worker": {
        "function_name",
        "execution_role_name",
        "queue_name",
        "dead_letter_queue_name",
        "fifo",
        "batch_size",
        "batching_window_seconds",
        "max_concurrency",
        "max_function_concurrency",
        "function_timeout_seconds",
        "request_timeout_seconds",
        "max_receive_count",
        "memory_mb",
        "log_retention_days",
        "log_level",
        "eventbridge",
        "alarm_topic_arn",
        "architecture",
        "tracing",
        "snapstart",
        "reserved_concurrency",
    },
    "worker.eventbridge": {"source", "detail_type"},
    "producers": {"sqs_senders", "eventbridge_accounts", "eventbridge_sources", "direct_invocation", "rules"},
    "operator_role": {"name", "principals", "allowed_mutations"},
}


def _operator_role(
    reader: _Reader, accounts: AccountsSettings, mutator_role: MutatorRoleSettings, worker_allowed: list[str]
) -> OperatorRoleSettings:
    """``[operator_role]``: principals checked as the trust policy will compare them."""
    section = "operator_role"
    name = reader.text(
        section, "name", pattern=ROLE_NAME_RE, expect="an IAM role name", default=DEFAULT_OPERATOR_ROLE_NAME
    )
    if name and name == mutator_role.name:
        reader.problems.append(
            f"operator_role.name={name!r} is the worker's role (mutator_role.name): operators get a role of "
            "their own"
        )
    principals = reader.strings(section, "principals")
    for arn in principals:
        match = PRODUCER_PRINCIPAL_ARN_RE.fullmatch(arn)
        if not match:
            reader.problems.append(
                f"operator_role.principals: {arn!r} is not an IAM role or user ARN (arn:aws:iam::<account>:"
                "role/<name> or :user/<name>; * only within the name, after its first character): the trust "
                "policy compares aws:PrincipalArn, which for a role session is the role's ARN"
            )
        elif accounts.worker and match["account"] != accounts.worker:
            reader.problems.append(
                f"operator_role.principals: {arn!r} is not in account A ({accounts.worker}): the trust policy "
                "admits account A's principals only"
            )
    allowed = reader.strings(section, "allowed_mutations") or list(worker_allowed)
    for field_name in allowed:
        if not FIELD_NAME_RE.match(field_name):
            reader.problems.append(
                f"operator_role.allowed_mutations: {field_name!r} is not a GraphQL field name"
            )
    return OperatorRoleSettings(name=name, principals=tuple(principals), allowed_mutations=tuple(allowed))


def _version_reads(reader: _Reader, allowed: list[str]) -> list[str]:
    """``appsync.version_reads``: model names, each with a mutation on the allow-list."""
    models = reader.strings("appsync", "version_reads")
    for model in models:
        if not re.fullmatch(r"[A-Z][_0-9A-Za-z]{0,127}", model):
            reader.problems.append(f"appsync.version_reads: {model!r} is not a model name (e.g. 'Todo')")
        elif not any(f"{verb}{model}" in allowed for verb in ("create", "update", "delete")):
            reader.problems.append(
                f"appsync.version_reads: {model!r} has no create/update/delete{model} on appsync.allowed_mutations"
            )
    return models


def _producers(reader: _Reader, worker: WorkerSettings) -> ProducersSettings:
    """``[producers]``: every entry checked as the worker and the policies will read it."""
    section = "producers"
    senders = reader.strings(section, "sqs_senders")
    for arn in senders:
        if not PRODUCER_PRINCIPAL_ARN_RE.fullmatch(arn):
            reader.problems.append(
                f"producers.sqs_senders: {arn!r} is not an IAM role or user ARN (arn:aws:iam::<account>:role/<name>;"
                " * only within the name, after its first character): the queue policy compares aws:PrincipalArn,"
                " which for a role session is the role's ARN"
            )
    accounts = reader.strings(section, "eventbridge_accounts")
    for account in accounts:
        if not ACCOUNT_RE.fullmatch(account):
            reader.problems.append(
                f"producers.eventbridge_accounts: {account!r} is not a 12-digit account id"
            )
    sources = reader.strings(section, "eventbridge_sources") or (
        [worker.eventbridge_source] if worker.eventbridge_source else []
    )
    for name in sources:
        if not EVENT_SOURCE_RE.fullmatch(name):
            reader.problems.append(
                f"producers.eventbridge_sources: {name!r} is not an EventBridge source (1-256 of A-Za-z0-9._/-, "
                "not aws.*; compared exactly, no wildcard)"
            )
    rules = _producer_rules(reader)
    return ProducersSettings(
        rules=rules,
        sqs_senders=tuple(senders),
        eventbridge_accounts=tuple(accounts),
        eventbridge_sources=tuple(sources),
        direct_invocation=reader.boolean(section, "direct_invocation", default=DEFAULT_DIRECT_INVOCATION),
    )


def _producer_rules(reader: _Reader) -> tuple[ProducerRule, ...]:
    """``[[producers.rules]]``: read by the worker's own parser (``worker.rights``), problems prefixed."""
    import json

    raw = reader._get("producers", "rules", [])
    if not isinstance(raw, list):
        reader.problems.append("producers.rules must be an array of tables ([[producers.rules]])")
        return ()
    problems: list[str] = []
    rules = parse_producer_rules(json.dumps(raw), problems)
    reader.problems.extend(p.replace(ENV_PRODUCER_RULES, "producers.rules") for p in problems)
    return rules


def _model_fields(
    reader: _Reader, key: str, meaning: str, *, non_empty: bool = False
) -> dict[str, tuple[str, ...]]:
    """``[appsync.<key>]``: ``Model = ["field", ...]`` (``non_empty``: an empty list is a problem, not skipped)."""
    raw = reader._get("appsync", key, {})
    if not isinstance(raw, Mapping):
        reader.problems.append(f"appsync.{key} must be a table of Model = [fields]")
        return {}
    found: dict[str, tuple[str, ...]] = {}
    for model, fields in raw.items():
        if (
            not FIELD_NAME_RE.match(str(model))
            or not isinstance(fields, list)
            or (non_empty and not fields)
            or not all(isinstance(f, str) and FIELD_NAME_RE.match(f) for f in fields)
        ):
            reader.problems.append(
                f"appsync.{key}.{model}: expected a list of GraphQL field names ({meaning})"
            )
            continue
        if fields:
            found[str(model)] = tuple(fields)
    return found


def _model_keys(reader: _Reader) -> dict[str, tuple[str, ...]]:
    """``[appsync.model_keys]``: ``Order = ["orderNumber", "placedAt"]`` for every model not keyed by ``id``."""
    return _model_fields(reader, "model_keys", "the key field, then sort keys", non_empty=True)


class _Reader:
    """Typed access to nested TOML tables that records problems instead of stopping at the first."""

    _MISSING = object()

    def __init__(self, raw: Mapping[str, Any], problems: list[str]) -> None:
        self.raw = raw
        self.problems = problems

    def _table(self, section: str) -> Mapping[str, Any]:
        node: Any = self.raw
        for part in section.split("."):
            node = node.get(part, {}) if isinstance(node, Mapping) else {}
        if not isinstance(node, Mapping):
            self.problems.append(f"[{section}] must be a table")
            return {}
        return node

    def _get(self, section: str, key: str, default: Any) -> Any:
        value = self._table(section).get(key, self._MISSING)
        if value is self._MISSING:
            if default is self._MISSING:
                self.problems.append(f"{section}.{key} is required")
            return default
        return value

    def text(
        self,
        section: str,
        key: str,
        *,
        pattern: re.Pattern[str] | None = None,
        expect: str = "",
        optional: bool = False,
        default: Any = _MISSING,
    ) -> str:
        value = self._get(section, key, "" if optional else default)
        if value is self._MISSING:
            return ""
        if not isinstance(value, str):
            self.problems.append(f"{section}.{key} must be a string, not {type(value).__name__}")
            return ""
        value = value.strip()
        if optional and not value:
            return ""
        if pattern is not None and not pattern.match(value):
            self.problems.append(f"{section}.{key}={value!r} is not {expect}")
        return value

    def integer(
        self, section: str, key: str, *, default: int, low: int | None = None, high: int | None = None
    ) -> int:
        value = self._get(section, key, default)
        if isinstance(value, bool) or not isinstance(value, int):
            self.problems.append(f"{section}.{key} must be a whole number, not {value!r}")
            return default
        if (low is not None and value < low) or (high is not None and value > high):
            self.problems.append(f"{section}.{key}={value} must be between {low} and {high}")
        return value

    def number(self, section: str, key: str, *, default: float) -> float:
        value = self._get(section, key, default)
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.problems.append(f"{section}.{key} must be a number, not {value!r}")
            return default
        return float(value)

    def boolean(self, section: str, key: str, *, default: bool) -> bool:
        value = self._get(section, key, default)
        if not isinstance(value, bool):
            self.problems.append(f"{section}.{key} must be true or false, not {value!r}")
            return default
        return value

    def strings(self, section: str, key: str) -> list[str]:
        value = self._get(section, key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.problems.append(f"{section}.{key} must be a list of strings")
            return []
        return list(value)

    def unknown_keys(self) -> list[str]:
        found: list[str] = []
        for section in self.raw:
            if section not in _KNOWN:
                found.append(f"unknown section [{section}]")
        for section, known in _KNOWN.items():
            for key in self._table(section):
                if key not in known:
                    found.append(f"unknown key {section}.{key} (known: {', '.join(sorted(known))})")
        return found
