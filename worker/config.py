"""Worker settings, read once from the Lambda environment at cold start.

Every problem is collected and reported in one ``ConfigError`` so a broken deployment is fixed in one go,
not one redeploy per missing variable.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from worker.names import (
    ACCOUNT_RE,
    APPSYNC_ENDPOINT_RE,
    EVENT_SOURCE_RE,
    EXTERNAL_ID_RE,
    FIELD_NAME_RE,
    GRAPHQL_PATH,
    REGION_RE,
    ROLE_ARN_RE,
    SESSION_NAME_RE,
    SQS_QUEUE_ARN_RE,
    assumed_role_arn,
    format_model_fields,
    parse_model_fields,
)
from worker.rights import (
    ENV_PRODUCER_RULES,
    ENV_PROTECTED_FIELDS,
    ProducerRule,
    format_producer_rules,
    format_protected_fields,
    parse_producer_rules,
    parse_protected_fields,
)

# Environment variable names: the contract between infra/, the sandbox and the worker.
ENV_APPSYNC_URL = "APPSYNC_URL"
ENV_APPSYNC_REGION = "APPSYNC_REGION"
ENV_ROLE_ARN = "MUTATOR_ROLE_ARN"
ENV_SESSION_NAME = "MUTATOR_SESSION_NAME"
ENV_EXTERNAL_ID = "MUTATOR_EXTERNAL_ID"
ENV_SESSION_SECONDS = "MUTATOR_SESSION_SECONDS"
ENV_REQUEST_TIMEOUT = "REQUEST_TIMEOUT_SECONDS"
ENV_MAX_CONCURRENCY = "MAX_CONCURRENCY"
ENV_ALLOWED_MUTATIONS = "ALLOWED_MUTATIONS"
ENV_DEAD_LETTER_QUEUE_URL = "DEAD_LETTER_QUEUE_URL"
ENV_MAX_RECEIVE_COUNT = "MAX_RECEIVE_COUNT"
ENV_LOG_LEVEL = "LOG_LEVEL"
ENV_MAX_ATTEMPTS = "MAX_ATTEMPTS"
ENV_CREATE_ID_FROM_MESSAGE = "CREATE_ID_FROM_MESSAGE"
ENV_MODEL_KEYS = "MODEL_KEYS"
# Who may make the worker write: whatever these do not name is refused before anything is sent.
ENV_SOURCE_QUEUE_ARN = "SOURCE_QUEUE_ARN"  # an SQS record's eventSourceARN must be this queue (unset: no SQS)
ENV_EVENT_ACCOUNTS = (
    "EVENT_ACCOUNTS"  # an EventBridge event's ``account`` must be one of these (comma-separated)
)
ENV_EVENT_SOURCES = "EVENT_SOURCES"  # ... and its ``source`` one of these (comma-separated, compared exactly)
ENV_DIRECT_INVOCATION = "DIRECT_INVOCATION"  # "true": envelopes invoked directly are applied

#: Direct invocation (``lambda:InvokeFunction`` with an envelope) is off unless named: Lambda does not say who
#: invoked, so nothing else could tell such a caller from any principal allowed to invoke the function.
DEFAULT_DIRECT_INVOCATION = False

#: A create that names no record is sent only with its whole request timeout and this much more left (to
#: dead-letter it if its answer is lost): the function's timeout must leave room for both, and the handler's margin.
NO_RECORD_RESERVE_SECONDS = 2.0
HANDLER_MARGIN_MAX_SECONDS = 1.0

#: A role chained from the Lambda execution role may live at most one hour (AWS hard limit).
MAX_CHAINED_SESSION_SECONDS = 3600
MIN_SESSION_SECONDS = 900

#: Defaults and ranges, written once: the worker's environment, the settings file and infra's props read them.
DEFAULT_REQUEST_TIMEOUT_SECONDS = 10.0
DEFAULT_MAX_CONCURRENCY = 10
MAX_CONCURRENCY_RANGE = (1, 1000)
DEFAULT_MAX_ATTEMPTS = 6
MAX_ATTEMPTS_RANGE = (1, 20)
DEFAULT_PORTS = {"https": 443, "http": 80}

#: Variables the worker no longer reads. A silently ignored variable misleads, so one still set fails the
#: cold start with the reason.
REMOVED_VARIABLES = {
    "APPSYNC_HOST": (
        "APPSYNC_HOST was removed and must be unset: a request is signed for the Host header it is sent "
        "with, which is always APPSYNC_URL's own host (plus :port when not the default), so any other value "
        "made every signature invalid. For a custom domain put the domain in APPSYNC_URL and set "
        "APPSYNC_REGION"
    ),
}


class ConfigError(ValueError):
    """Raised at cold start when the environment is incomplete or malformed; lists every problem."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(
            "worker configuration is invalid:\n" + "\n".join(f"  - {problem}" for problem in problems)
        )


@dataclass(frozen=True)
class WorkerConfig:
    appsync_url: str
    role_arn: str
    session_name: str
    region: str
    allowed_mutations: frozenset[str]
    external_id: str | None = None
    session_seconds: int = MAX_CHAINED_SESSION_SECONDS
    request_timeout: float = DEFAULT_REQUEST_TIMEOUT_SECONDS
    max_concurrency: int = DEFAULT_MAX_CONCURRENCY
    dead_letter_queue_url: str | None = None
    max_receive_count: int | None = None
    log_level: str = "INFO"
    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    #: A create with no id of its own gets the message's id (SQS message id, EventBridge event id) as its id.
    create_ids_from_message: bool = True
    #: Models whose primary key is not ``id`` (Amplify's ``@primaryKey``): the key field, then its sort keys.
    model_keys: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    #: The named producers (``worker.producers``): the one source queue, the EventBridge accounts and sources,
    #: and whether direct invocations are applied. The defaults name nobody.
    source_queue_arn: str | None = None
    event_accounts: frozenset[str] = frozenset()
    event_sources: frozenset[str] = frozenset()
    direct_invocation: bool = DEFAULT_DIRECT_INVOCATION
    #: What each producer may write (``worker.rights``): fields no producer sets unless a rule names it, and the
    #: per-producer rules (mutations, protected fields).
    protected_fields: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    producer_rules: tuple[ProducerRule, ...] = ()

    @property
    def host(self) -> str:
        """What the request is signed for: the Host header the HTTP client sends to ``appsync_url``."""
        return endpoint_host(self.appsync_url)

    @property
    def role_account(self) -> str:
        match = ROLE_ARN_RE.match(self.role_arn)
        assert match is not None  # validated at construction
        return match["account"]

    @property
    def role_name(self) -> str:
        match = ROLE_ARN_RE.match(self.role_arn)
        assert match is not None
        return match["name"]

    @property
    def assumed_role_arn(self) -> str:
        """The caller ARN AppSync will see: what custom-roles.json has to admit (no role path)."""
        return assumed_role_arn(self.role_account, self.role_name, self.session_name)

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> WorkerConfig:
        env = os.environ if environ is None else environ
        problems: list[str] = []

        def get(name: str, *, required: bool = False) -> str | None:
            value = env.get(name, "").strip()
            if not value:
                if required:
                    problems.append(f"{name} is required but not set")
                return None
            return value

        def integer(name: str, default: int, low: int, high: int, why: str = "") -> int:
            raw = get(name)
            if raw is None:
                return default
            try:
                value = int(raw)
            except ValueError:
                problems.append(f"{name}={raw!r} is not a whole number")
                return default
            if not low <= value <= high:
                problems.append(f"{name}={value} must be between {low} and {high}{why}")
            return value

        for name, why in REMOVED_VARIABLES.items():
            if get(name) is not None:
                problems.append(why)
        raw_url = get(ENV_APPSYNC_URL, required=True)
        url: str | None = None
        region = get(ENV_APPSYNC_REGION)
        if region is not None and not REGION_RE.match(region):
            problems.append(f"{ENV_APPSYNC_REGION}={region!r} is not an AWS region name (e.g. eu-west-1)")
        if raw_url is not None:
            url_problems, url = check_appsync_url(raw_url)
            problems.extend(f"{ENV_APPSYNC_URL}={_shown(raw_url)!r}: {p}" for p in url_problems)
            if url is not None:
                host = endpoint_host(url)
                match = APPSYNC_ENDPOINT_RE.match(urlsplit(url).hostname or "")
                if match and region is not None and region != match["region"]:
                    problems.append(
                        f"{ENV_APPSYNC_REGION}={region!r} contradicts the endpoint {host!r}, which is in "
                        f"{match['region']!r}: requests must be signed for the API's own region; unset "
                        f"{ENV_APPSYNC_REGION} (it is read from the host) or set it to {match['region']}"
                    )
                region = region or (match["region"] if match else None)
                if region is None:
                    problems.append(
                        f"{ENV_APPSYNC_REGION} is required: the region cannot be read from host {host!r} "
                        "(custom domain or local endpoint)"
                    )

        role_arn = get(ENV_ROLE_ARN, required=True)
        if role_arn is not None and not ROLE_ARN_RE.match(role_arn):
            problems.append(
                f"{ENV_ROLE_ARN}={role_arn!r} is not an IAM role ARN (arn:aws:iam::<12-digit account>:role/<name>)"
            )
        session_name = get(ENV_SESSION_NAME, required=True)
        if session_name is not None and not SESSION_NAME_RE.match(session_name):
            problems.append(
                f"{ENV_SESSION_NAME}={session_name!r} must be 2-64 characters of letters, digits and +=,.@_-"
            )
        external_id = get(ENV_EXTERNAL_ID)
        if external_id is not None and not EXTERNAL_ID_RE.match(external_id):
            problems.append(f"{ENV_EXTERNAL_ID} must be 2-1224 characters of letters, digits and +=,.@:/_-")
        session_seconds = integer(
            ENV_SESSION_SECONDS,
            MAX_CHAINED_SESSION_SECONDS,
            MIN_SESSION_SECONDS,
            MAX_CHAINED_SESSION_SECONDS,
            " (the worker assumes the role from the Lambda execution role's session: that is role "
            "chaining, which AWS caps at one hour)",
        )
        timeout_raw = get(ENV_REQUEST_TIMEOUT)
        request_timeout = DEFAULT_REQUEST_TIMEOUT_SECONDS
        if timeout_raw is not None:
            try:
                request_timeout = float(timeout_raw)
                if not 0 < request_timeout <= 30:
                    problems.append(
                        f"{ENV_REQUEST_TIMEOUT}={timeout_raw} must be above 0 and at most 30 "
                        "(AppSync's own request limit)"
                    )
            except ValueError:
                problems.append(f"{ENV_REQUEST_TIMEOUT}={timeout_raw!r} is not a number of seconds")
        max_concurrency = integer(ENV_MAX_CONCURRENCY, DEFAULT_MAX_CONCURRENCY, *MAX_CONCURRENCY_RANGE)
        max_attempts = integer(ENV_MAX_ATTEMPTS, DEFAULT_MAX_ATTEMPTS, *MAX_ATTEMPTS_RANGE)
        model_keys = parse_model_keys(get(ENV_MODEL_KEYS) or "", problems)
        create_ids_raw = (get(ENV_CREATE_ID_FROM_MESSAGE) or "true").lower()
        if create_ids_raw not in ("true", "false"):
            problems.append(f"{ENV_CREATE_ID_FROM_MESSAGE}={create_ids_raw!r} must be true or false")
        allowed_raw = get(ENV_ALLOWED_MUTATIONS, required=True)
        allowed: frozenset[str] = frozenset()
        if allowed_raw is not None:
            names = [name.strip() for name in allowed_raw.split(",") if name.strip()]
            bad = [name for name in names if not FIELD_NAME_RE.match(name)]
            if bad:
                problems.append(f"{ENV_ALLOWED_MUTATIONS} has names that are not GraphQL field names: {bad}")
            if not names:
                problems.append(f"{ENV_ALLOWED_MUTATIONS} lists no mutation field")
            allowed = frozenset(names)
        dlq_url = get(ENV_DEAD_LETTER_QUEUE_URL)
        max_receive = integer(ENV_MAX_RECEIVE_COUNT, 0, 1, 1000) if get(ENV_MAX_RECEIVE_COUNT) else None
        source_queue_arn = get(ENV_SOURCE_QUEUE_ARN)
        if source_queue_arn is not None and not SQS_QUEUE_ARN_RE.fullmatch(source_queue_arn):
            problems.append(
                f"{ENV_SOURCE_QUEUE_ARN}={source_queue_arn!r} is not an SQS queue ARN "
                "(arn:aws:sqs:<region>:<12-digit account>:<queue name>)"
            )
        event_accounts = _names(get(ENV_EVENT_ACCOUNTS))
        bad_accounts = sorted(a for a in event_accounts if not ACCOUNT_RE.fullmatch(a))
        if bad_accounts:
            problems.append(
                f"{ENV_EVENT_ACCOUNTS} has entries that are not 12-digit account ids: {bad_accounts}"
            )
        event_sources = _names(get(ENV_EVENT_SOURCES))
        bad_sources = sorted(s for s in event_sources if not EVENT_SOURCE_RE.fullmatch(s))
        if bad_sources:
            problems.append(
                f"{ENV_EVENT_SOURCES} has entries that are not EventBridge sources (1-256 of A-Za-z0-9._/-, not "
                f"aws.*; compared exactly, no wildcard): {bad_sources}"
            )
        protected_fields = parse_protected_fields(get(ENV_PROTECTED_FIELDS) or "", problems)
        producer_rules = parse_producer_rules(get(ENV_PRODUCER_RULES) or "", problems)
        direct_raw = (get(ENV_DIRECT_INVOCATION) or str(DEFAULT_DIRECT_INVOCATION)).lower()
        if direct_raw not in ("true", "false"):
            problems.append(f"{ENV_DIRECT_INVOCATION}={direct_raw!r} must be true or false")
        log_level = (get(ENV_LOG_LEVEL) or "INFO").upper()
        if log_level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            problems.append(f"{ENV_LOG_LEVEL}={log_level!r} must be DEBUG, INFO, WARNING or ERROR")

        if problems:
            raise ConfigError(problems)
        assert url and role_arn and session_name and region
        return cls(
            appsync_url=url,
            role_arn=role_arn,
            session_name=session_name,
            region=region,
            allowed_mutations=allowed,
            external_id=external_id,
            session_seconds=session_seconds,
            request_timeout=request_timeout,
            max_concurrency=max_concurrency,
            dead_letter_queue_url=dlq_url,
            max_receive_count=max_receive,
            log_level=log_level,
            max_attempts=max_attempts,
            create_ids_from_message=create_ids_raw != "false",
            model_keys=model_keys,
            source_queue_arn=source_queue_arn,
            event_accounts=event_accounts,
            event_sources=event_sources,
            direct_invocation=direct_raw == "true",
            protected_fields=protected_fields,
            producer_rules=producer_rules,
        )

    def to_environ(self) -> dict[str, str]:
        """The Lambda environment that reproduces this config (used by infra/ and the sandbox)."""
        env = {
            ENV_APPSYNC_URL: self.appsync_url,
            ENV_APPSYNC_REGION: self.region,
            ENV_ROLE_ARN: self.role_arn,
            ENV_SESSION_NAME: self.session_name,
            ENV_SESSION_SECONDS: str(self.session_seconds),
            ENV_REQUEST_TIMEOUT: _format_number(self.request_timeout),
            ENV_MAX_CONCURRENCY: str(self.max_concurrency),
            ENV_ALLOWED_MUTATIONS: ",".join(sorted(self.allowed_mutations)),
            ENV_LOG_LEVEL: self.log_level,
            ENV_MAX_ATTEMPTS: str(self.max_attempts),
            ENV_CREATE_ID_FROM_MESSAGE: "true" if self.create_ids_from_message else "false",
            ENV_DIRECT_INVOCATION: "true" if self.direct_invocation else "false",
        }
        if self.source_queue_arn:
            env[ENV_SOURCE_QUEUE_ARN] = self.source_queue_arn
        if self.event_accounts:
            env[ENV_EVENT_ACCOUNTS] = ",".join(sorted(self.event_accounts))
        if self.event_sources:
            env[ENV_EVENT_SOURCES] = ",".join(sorted(self.event_sources))
        if self.model_keys:
            env[ENV_MODEL_KEYS] = format_model_keys(self.model_keys)
        if self.protected_fields:
            env[ENV_PROTECTED_FIELDS] = format_protected_fields(self.protected_fields)
        if self.producer_rules:
            env[ENV_PRODUCER_RULES] = format_producer_rules(self.producer_rules)
        if self.external_id:
            env[ENV_EXTERNAL_ID] = self.external_id
        if self.dead_letter_queue_url:
            env[ENV_DEAD_LETTER_QUEUE_URL] = self.dead_letter_queue_url
        if self.max_receive_count:
            env[ENV_MAX_RECEIVE_COUNT] = str(self.max_receive_count)
        return env


def _names(text: str | None) -> frozenset[str]:
    """A comma-separated list, each entry stripped, empty ones dropped."""
    return frozenset(part.strip() for part in (text or "").split(",") if part.strip())


def parse_model_keys(text: str, problems: list[str]) -> dict[str, tuple[str, ...]]:
    """``Order:orderNumber,placedAt;Customer:email`` -> {"Order": ("orderNumber", "placedAt"), ...}."""
    expect = "<Model>:<keyField>[,<sortKeyField>...] (e.g. Order:orderNumber,placedAt)"
    return parse_model_fields(text, problems, ENV_MODEL_KEYS, expect)


format_model_keys = format_model_fields


def _format_number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def endpoint_host(url: str) -> str:
    """The Host header aiohttp (and requests) send for ``url``: the lower-case host, plus ``:port`` only when
    the port is not the scheme's default. A request is signed for exactly this."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        port = None
    if port is not None and port != DEFAULT_PORTS.get(parts.scheme):
        host = f"{host}:{port}"
    return host


def check_appsync_url(url: str) -> tuple[list[str], str | None]:
    """Every reason ``url`` can never work, and its normal form (``scheme://host[:port]/graphql``) if none.

    Only https, except plain http to a loopback address (the local sandbox). The signer signs
    ``https://<host>/graphql`` with ``host`` exactly as the HTTP client sends it, so the URL must be that
    and nothing more: no user info, query or fragment, no other path; an explicit default port is dropped
    (clients leave it out of the Host header).
    """
    parts = urlsplit(url)
    hostname = parts.hostname or ""
    if not hostname or parts.scheme not in DEFAULT_PORTS:
        what = "not a URL with a host name" if not hostname else f"scheme {parts.scheme!r} is not https"
        return [what], None
    problems: list[str] = []
    if parts.scheme == "http" and not is_loopback_host(hostname):
        problems.append(
            "plain http is refused for non-loopback hosts: signed requests and session tokens must not "
            "cross the network unencrypted; use https"
        )
    if "@" in parts.netloc:
        problems.append(
            "has user info (user:password@ before the host): AppSync takes no credentials in the URL (requests "
            "are signed with the assumed role), and a password in the Lambda environment is readable by anyone "
            "who can read the function's configuration; remove it (and rotate that password)"
        )
    try:
        port = parts.port
    except ValueError:
        port = None
        problems.append("the port is not a number between 1 and 65535")
    if port == 0:
        problems.append("port 0 cannot be connected to")
    elif parts.scheme == "http" and port == DEFAULT_PORTS["https"]:
        problems.append(
            "plain http on port 443 cannot be signed: the signer signs an https URL, in which :443 is the "
            "default and left out of the signed host, while the client sends Host with :443; use another port"
        )
    if parts.path != GRAPHQL_PATH:
        path = repr(parts.path) if parts.path else "empty"
        problems.append(
            f"the path is {path}, not {GRAPHQL_PATH!r}: AppSync and its custom domains serve GraphQL at "
            f"{GRAPHQL_PATH}, and requests are signed for that path; end the URL with {GRAPHQL_PATH}"
        )
    before_fragment, has_fragment, _ = url.partition("#")
    if "?" in before_fragment:
        problems.append(
            "has a query string: AppSync's GraphQL endpoint takes none, and requests are signed without one "
            "(every request would be refused as InvalidSignature); remove it"
        )
    if has_fragment:
        problems.append("has a fragment (#...): it is never sent, so the URL is not what it seems; remove it")
    if problems:
        return problems, None
    return [], f"{parts.scheme}://{endpoint_host(url)}{GRAPHQL_PATH}"


def _shown(url: str) -> str:
    """``url`` as it may appear in an error: user info, query and fragment masked (they may hold secrets)."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        netloc = "***@" + netloc.rpartition("@")[2]
    shown = f"{parts.scheme}://{netloc}{parts.path}" if parts.scheme else f"{netloc}{parts.path}"
    before_fragment, has_fragment, _ = url.partition("#")
    if "?" in before_fragment:
        shown += "?..."
    if has_fragment:
        shown += "#..."
    return shown


def is_loopback_host(host: str) -> bool:
    """``localhost`` or a loopback IP: the only hosts plain http may reach (the local sandbox)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
