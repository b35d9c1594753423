"""``doctor``: walk the chain from the operator's credentials to a signed AppSync answer; name the first
broken link and its fix. Sends no mutation: the last link is a ``query { __typename }``.

Links, in order: configuration -> base credentials (which provider won; environment keys shadowing the role)
-> base identity (is it the execution role the trust policy admits?) -> AssumeRole with the pinned session name
-> the caller ARN AppSync will see -> custom-roles.json admits it (verbatim and normalize CLI behaviours) ->
the role's IAM policy allows appsync:GraphQL on each allowed Mutation field (iam:SimulatePrincipalPolicy, when
permitted) -> a signed request through the ``send`` path -> (``--probe``) Amplify's authorization itself.

``--as-operator``: the base identity must be one of ``[operator_role] principals``; the role
assumed is the operator role, with the person's source identity, and an AssumeRole *without* one must be
refused (a hostile probe); the caller ARN, custom-roles.json and the IAM policy are then the operator role's.

Amplify Gen 2 (``amplify.generation = 2``): there is no custom-roles.json (``defineData`` authorizes every IAM
principal that is not a Cognito identity-pool identity), so that link is skipped with a note and the IAM policy
on the API's field ARNs is the only gate; when it cannot be simulated, ``--probe`` proves it.

Warnings about the settings themselves (``project_settings.checks.settings_warnings``: the sandbox's account ids
still there, allowed mutations the project's schema lacks) are notes on the configuration link, except against
the local sandbox (an AppSync URL on the loopback interface), where the sandbox's ids are the right ones.

``query { __typename }`` never runs Amplify's auth resolver, so a correct local custom-roles.json that was never
pushed passes every link above while every mutation is Unauthorized. ``--probe`` sends one mutation that runs
the real authorization path and cannot write: a delete (else an update) of a random id that cannot exist
(``doctor-probe-<random>``). Authorized, the resolver reaches DynamoDB and meets ``attribute_exists(id)``
(ConditionalCheckFailed); unauthorized, it answers Unauthorized. One attempt, never retried, never dead-lettered.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from amplify_custom_roles.admin_rule import CLI_BEHAVIOURS, NORMALIZE, VERBATIM, admin_roles, is_admitted
from mutation_cli.config import CliContext
from mutation_cli.diagnose import diagnose
from mutation_cli.session import ViaRoleError, base_session
from project_settings.generation import AmplifyGeneration
from worker.config import ENV_APPSYNC_URL, WorkerConfig
from worker.credentials import inspect_base_credentials
from worker.errors import (
    ConditionalCheckFailedError,
    IAMDeniedError,
    MutationError,
    ResolverUnauthorizedError,
)
from worker.names import ASSUMED_ROLE_ARN_RE

OK, FAILED, SKIPPED = "ok", "failed", "skipped"
_CHECK_NAMES = (
    "configuration",
    "base credentials",
    "base identity",
    "assume account-B role",
    "caller identity",
    "custom-roles.json",
    "IAM policy",
    "signed request",
)
PROBE_PREFIX = "doctor-probe-"
#: Worker variables that only count when APPSYNC_URL is set (without it the settings file is used).
_WORKER_VARIABLE_PREFIXES = ("MUTATOR_",)
_WORKER_VARIABLES = ("DEAD_LETTER_QUEUE_URL", "ALLOWED_MUTATIONS", "APPSYNC_REGION")
NEVER_PUSHED = "custom-roles.json admits the worker but the deployed resolvers refuse it: run `amplify push`"
#: The sandbox (``make sandbox``) names its own custom-roles.json here (it is not in the Amplify project).
CUSTOM_ROLES_VARIABLE = "APPSYNC_MUTATIONS_CUSTOM_ROLES"


@dataclass
class Check:
    name: str
    status: str
    detail: str
    fix: str | None = None
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "status": self.status,
            "detail": self.detail,
            "fix": self.fix,
            "notes": self.notes,
        }


class Broken(Exception):
    """Raised by a link that is broken: the walk stops there."""

    def __init__(self, detail: str, fix: str) -> None:
        super().__init__(detail)
        self.detail, self.fix = detail, fix


@dataclass
class DoctorOptions:
    via_role_arn: str | None = None
    via_session_name: str | None = None
    custom_roles: str | None = None
    cli_behaviour: str | None = None
    amplify_env: str | None = None  # replaces ${env} in entries, as the Amplify CLI does
    verbose: bool = False
    skip_custom_roles: bool = False  # no Amplify checkout here: do not read custom-roles.json
    probe: bool = False  # run Amplify's authorization with a mutation that cannot write
    as_operator: bool = False  # check the operator role with the person's own credentials
    source_identity: str | None = None


class Doctor:
    def __init__(self, ctx: CliContext, options: DoctorOptions) -> None:
        self.ctx, self.config, self.options = ctx, ctx.config, options
        self.checks: list[Check] = []
        self.session: Any = None
        self.runtime: Any = None
        self.caller_arn: str | None = None
        self._plain_sts: Any = None  # an STS client that never sets a source identity (operator probe)

    def run(self) -> list[Check]:
        configuration = Check("configuration", OK, _describe(self.ctx))
        ignored = ignored_worker_variables(self.ctx.source, os.environ)
        if ignored:
            configuration.notes.append(
                f"{ENV_APPSYNC_URL} is unset, so the configuration comes from the settings file and "
                f"{', '.join(ignored)} {'is' if len(ignored) == 1 else 'are'} ignored: set {ENV_APPSYNC_URL} "
                "(with the rest of the Lambda's environment) to check exactly what the Lambda sees"
            )
        configuration.notes.extend(self.settings_warnings())
        configuration.notes.extend(producer_notes(self.config))
        configuration.notes.extend(operator_notes(self.ctx, as_operator=self.options.as_operator))
        self.checks.append(configuration)
        links: list[tuple[str, Callable[[], Check]]] = [
            ("base credentials", self.base_credentials),
            ("base identity", self.base_identity),
            ("assume account-B role", self.assume_role),
            ("caller identity", self.caller_identity),
            ("custom-roles.json", self.custom_roles),
            ("IAM policy", self.iam_policy),
            ("signed request", self.signed_request),
        ]
        if self.options.probe:
            links.append(("authorization probe", self.authorization_probe))
        try:
            for index, (name, link) in enumerate(links):
                try:
                    self.checks.append(link())
                except Exception as exc:  # a diagnostic tool reports, it does not crash mid-list
                    broken = exc if isinstance(exc, Broken) else _unexpected(exc)
                    self.checks.append(Check(name, FAILED, broken.detail, broken.fix))
                    self.checks.extend(
                        Check(later, SKIPPED, "not checked: an earlier link is broken")
                        for later, _ in links[index + 1 :]
                    )
                    break
        finally:
            if self.runtime is not None:
                self.runtime.close()
        return self.checks

    @property
    def generation(self) -> AmplifyGeneration:
        """The Amplify generation of the target API (from the settings; Gen 1 when there are none, so the
        custom-roles.json link is still checked against ``--custom-roles``)."""
        settings = self.ctx.settings
        return settings.amplify.generation if settings is not None else AmplifyGeneration.GEN1

    def targets_local_sandbox(self) -> bool:
        """The AppSync URL is on the loopback interface: the local sandbox, never a deployed API."""
        from mutation_cli.config import is_loopback_url

        return is_loopback_url(self.config.appsync_url)

    def settings_warnings(self) -> list[str]:
        settings = self.ctx.settings
        if settings is None or self.targets_local_sandbox():
            return []
        from project_settings.checks import settings_warnings

        return settings_warnings(settings)

    # --- links ---------------------------------------------------------------------------------------------
    def base_credentials(self) -> Check:
        try:
            self.session = base_session(self.options.via_role_arn, self.options.via_session_name)
        except ViaRoleError as exc:
            raise Broken(
                str(exc), "run with credentials the intermediate role's trust policy admits"
            ) from None
        report = inspect_base_credentials(self.session)
        detail = f"provider {report.provider!r}, {report.access_key_kind} key"
        if report.provider is None:
            raise Broken(
                "no base credentials found (environment, profile, SSO, container or instance role)",
                "present a session of the worker's execution role (or use --via-role-arn with credentials "
                "that may assume it)",
            )
        if (
            report.access_key_kind.startswith("long-term")
            and report.provider == "env"
            and not self.options.via_role_arn
            and not self.options.as_operator  # a person's own keys are what the operator role trusts
        ):
            raise Broken(
                f"{detail}: long-term IAM user keys in AWS_ACCESS_KEY_ID shadow any role session; the "
                "account-B trust policy admits only the worker's execution role",
                "unset AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN), or keep them and pass "
                "--via-role-arn <execution role ARN> to assume that role first",
            )
        check = Check("base credentials", OK, detail)
        if report.warning:
            check.notes.append(report.warning)
        return check

    def base_identity(self) -> Check:
        from botocore.exceptions import BotoCoreError, ClientError

        sts = self.session.create_client("sts", region_name=self.config.region)
        try:
            arn = str(sts.get_caller_identity()["Arn"])
        except (ClientError, BotoCoreError) as exc:
            raise Broken(
                f"sts:GetCallerIdentity failed with the base credentials: {exc}",
                "the base credentials are invalid or expired: refresh them (e.g. aws sso login) and retry",
            ) from None
        if self.options.as_operator:
            self._plain_sts = sts
            return self._operator_identity(arn)
        settings = self.ctx.deployment_settings
        if settings is None:
            return Check(
                "base identity",
                OK,
                arn,
                notes=["no settings for this deployment: the trust policy's principal is not compared"],
            )
        expected = settings.execution_role_arn
        match = ASSUMED_ROLE_ARN_RE.match(arn)
        principal = f"arn:{match['partition']}:iam::{match['account']}:role/{match['role']}" if match else arn
        if principal != expected:
            raise Broken(
                f"you are {arn}; the account-B trust policy admits only sessions of {expected} "
                "(ArnEquals aws:PrincipalArn)",
                f"run with a session of {expected}, or pass --via-role-arn {expected} if its trust policy "
                "admits you",
            )
        return Check("base identity", OK, f"{arn} (a session of the execution role the trust policy admits)")

    def assume_role(self) -> Check:
        from mutation_cli.runtime import worker_runtime

        self.runtime = worker_runtime(self.config, self.session, verbose=self.options.verbose)
        credentials = self.runtime.credentials
        try:
            credentials.get_frozen_credentials()
        except MutationError as exc:
            fix = exc.diagnosis or "check the role's trust policy against settings.toml"
            settings = self.ctx.deployment_settings
            pinned = settings.mutator_role.session_name if settings is not None else None
            if pinned is not None and pinned != self.config.session_name:
                fix = (
                    f"settings.toml pins session name {pinned!r} in the trust policy, but this configuration "
                    f"uses {self.config.session_name!r}: set MUTATOR_SESSION_NAME={pinned} (or re-deploy both "
                    f"stacks from one settings file). Otherwise, {fix}"
                )
            raise Broken(
                f"AssumeRole {self.config.role_arn} with session name {self.config.session_name!r}: {exc.reason}",
                fix,
            ) from None
        self.caller_arn = credentials.caller_arn
        check = Check(
            "assume account-B role",
            OK,
            f"{self.config.role_arn} as session {self.config.session_name!r} "
            f"({self.config.session_seconds} s, expires in {int(credentials.seconds_left())} s)",
        )
        if self.options.as_operator:
            check.detail += f" with source identity {self.ctx.source_identity!r}"
            check.notes.append(self._source_identity_required())
        return check

    # --- the operator role ---------------------------------------------------------------------
    def _operator_identity(self, arn: str) -> Check:
        from mutation_cli.errors import UsageError
        from mutation_cli.operator import (
            NOT_CONFIGURED,
            operator_context,
            set_source_identity,
            source_identity_of,
        )

        settings = self.ctx.settings
        if settings is None or not settings.operator_role.enabled:
            raise Broken(f"you are {arn}; --as-operator needs an operator role", NOT_CONFIGURED)
        principal = _principal_arn(arn)
        named = settings.operator_role.principals
        if not any(_arn_like(principal, pattern) for pattern in named):
            raise Broken(
                f"you are {arn}; the operator role's trust admits only {', '.join(named)} (ArnLike "
                "aws:PrincipalArn)",
                "run with credentials of a named principal, or add yours to [operator_role] principals and "
                "re-deploy the account-B stack",
            )
        try:
            identity = self.options.source_identity or source_identity_of(arn)
            self.ctx = operator_context(self.ctx, identity)
        except UsageError as exc:
            raise Broken(str(exc), "pass --source-identity NAME") from None
        self.config = self.ctx.config
        set_source_identity(self.session, self.config.role_arn, identity)
        return Check(
            "base identity",
            OK,
            f"{arn} (named in [operator_role] principals); source identity {identity!r}",
            notes=[
                f"operator role {self.config.role_arn}: allow-list {', '.join(sorted(self.config.allowed_mutations))}"
            ],
        )

    def _source_identity_required(self) -> str:
        """Hostile probe: the operator role must refuse an AssumeRole that sets no source identity."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self._plain_sts.assume_role(
                RoleArn=self.config.role_arn,
                RoleSessionName=self.config.session_name,
                DurationSeconds=900,
            )
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code == "AccessDenied":
                return "its trust requires sts:SourceIdentity: an AssumeRole without one was refused (AccessDenied)"
            return f"could not check that its trust requires sts:SourceIdentity ({code or exc})"
        except BotoCoreError as exc:
            return f"could not check that its trust requires sts:SourceIdentity ({exc})"
        raise Broken(
            f"{self.config.role_arn} was assumed WITHOUT a source identity: its trust does not require "
            "sts:SourceIdentity",
            "re-deploy the account-B stack from settings.toml (its trust has Null sts:SourceIdentity false)",
        )

    def caller_identity(self) -> Check:
        from botocore.exceptions import BotoCoreError, ClientError

        frozen = self.runtime.credentials.get_frozen_credentials()
        notes = []
        try:
            sts = self.session.create_client(
                "sts",
                region_name=self.config.region,
                aws_access_key_id=frozen.access_key,
                aws_secret_access_key=frozen.secret_key,
                aws_session_token=frozen.token,
            )
            self.caller_arn = str(sts.get_caller_identity()["Arn"])
        except (ClientError, BotoCoreError) as exc:
            notes.append(
                f"sts:GetCallerIdentity with the account-B credentials failed ({exc}); using AssumeRole's answer"
            )
        expected = self.config.assumed_role_arn
        if self.caller_arn != expected:
            raise Broken(
                f"AppSync will see {self.caller_arn}, not {expected}",
                "MUTATOR_ROLE_ARN / MUTATOR_SESSION_NAME and settings.toml disagree with what STS returned; "
                "custom-roles.json is generated for the expected ARN",
            )
        return Check("caller identity", OK, f"AppSync will see {expected}", notes=notes)

    def custom_roles(self) -> Check:
        settings = self.ctx.deployment_settings
        if self.options.skip_custom_roles:
            return Check(
                "custom-roles.json",
                SKIPPED,
                "not read (--skip-custom-roles: no Amplify checkout here)",
                notes=["only --probe shows whether the deployed resolvers admit the worker"]
                if not self.options.probe
                else [],
            )
        if not self.generation.custom_roles_gate:
            return Check(
                "custom-roles.json",
                SKIPPED,
                f"not used: {self.generation.setting_text} (Amplify {self.generation.label} has no "
                "custom-roles.json; its resolvers authorize every IAM principal that is not a Cognito "
                "identity-pool identity)",
                notes=[
                    "the account-B role's IAM policy on the API's field ARNs is the only gate (next link)"
                ],
            )
        from_environment = os.environ.get(CUSTOM_ROLES_VARIABLE, "").strip()
        path = (
            Path(self.options.custom_roles)
            if self.options.custom_roles
            else Path(from_environment)
            if from_environment
            else (settings.custom_roles_path if settings is not None else None)
        )
        if path is None:
            return Check(
                "custom-roles.json", SKIPPED, "no settings for this deployment and no --custom-roles PATH"
            )
        caller = self.caller_arn or self.config.assumed_role_arn
        entry = self.config.assumed_role_arn
        if self.options.as_operator and settings is not None:
            entry = settings.operator_assumed_role_prefix  # sessions are named by the person
        fix = (
            f"adminRoleNames in {path} must list {entry!r} (an arn:aws:iam::...:role/... entry never matches): "
            "run `make custom-roles`, then `amplify push`"
        )
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise Broken(f"{path} does not exist: Amplify's resolvers admit no IAM admin role", fix) from None
        except (OSError, ValueError) as exc:
            raise Broken(f"{path} cannot be read as JSON: {exc}", fix) from None
        names = data.get("adminRoleNames") if isinstance(data, dict) else None
        entries = [names] if isinstance(names, str) else names
        if not isinstance(entries, list) or not all(isinstance(e, str) for e in entries):
            raise Broken(f"{path} has no adminRoleNames list", fix)
        behaviour = self.options.cli_behaviour or (settings.amplify.cli_behaviour if settings else VERBATIM)
        env = self.options.amplify_env
        admitted = {b: is_admitted(caller, admin_roles(entries, b, env)) for b in CLI_BEHAVIOURS}
        label = {
            VERBATIM: "verbatim (@aws-amplify/amplify-category-api <= 5.15.6)",
            NORMALIZE: "normalize (@aws-amplify/amplify-category-api 5.15.7+)",
        }
        if not admitted[behaviour]:
            raise Broken(f"{path} does not admit {caller} under CLI behaviour {label[behaviour]}", fix)
        check = Check("custom-roles.json", OK, f"{path} admits {caller} under {label[behaviour]}")
        other = NORMALIZE if behaviour == VERBATIM else VERBATIM
        if not admitted[other]:
            check.notes.append(
                f"not admitted under {label[other]}: it breaks when the Amplify CLI changes; {fix}"
            )
        exact = f"{self.config.role_name}/{self.config.session_name}"
        if not self.options.as_operator and not any(
            role.endswith(exact) for role in admin_roles(entries, behaviour, env) if role in caller
        ):
            check.notes.append(
                "admitted by an entry without the session name: it also admits other sessions (and longer "
                f"role names); the exact entry is {entry!r}"
            )
        if any("${env}" in e for e in entries):
            check.notes.append(
                "entries with ${env} are compared before the CLI substitutes the environment name"
            )
        no_iam = self._project_iam_problem()
        if no_iam:
            raise Broken(f"{path} admits {caller}, but {no_iam}", "add IAM to the API's authorization modes")
        refused = self._sandbox_mode_refusals()
        if refused:
            from project_settings.schema import sandbox_mode_problem

            problems = [sandbox_mode_problem(m, model) for m, model in refused.items()]
            raise Broken(
                f"{path} admits {caller}, but " + "; ".join(problems),
                "add an @auth rule to each model named above (keeping its API-key access: "
                "`@auth(rules: [{ allow: public }])`), then `amplify push`",
            )
        return check

    def _project_iam_problem(self) -> str | None:
        """The Amplify project's own files say the API has no AWS_IAM mode (None: it has, or no project)."""
        settings = self.ctx.deployment_settings
        if settings is None or not self.generation.custom_roles_gate:
            return None
        from project_settings.amplify_files import deployed_facts

        facts = deployed_facts(settings.amplify.project_dir, self.generation, settings.amplify.api_name)
        return facts.iam_problem() if facts is not None else None

    def _sandbox_mode_refusals(self) -> dict[str, str]:
        """Allowed mutations whose model the schema leaves in sandbox mode (IAM refused) -> that model."""
        settings = self.ctx.deployment_settings
        if settings is None or not self.generation.custom_roles_gate:
            return {}  # the admin-role resolvers' sandbox mode; under the IAM policy alone it does not apply
        from project_settings.schema import SchemaError, project_schema

        try:
            schema = project_schema(settings)
        except SchemaError:
            return {}  # the settings checks report an unreadable schema
        return schema.refused_for_iam(sorted(self.config.allowed_mutations)) if schema is not None else {}

    def iam_policy(self) -> Check:
        from botocore.config import Config
        from botocore.exceptions import ClientError

        api_arn = self._api_arn()
        if api_arn is None:
            return Check(
                "IAM policy",
                SKIPPED,
                "API id unknown: no settings.toml for this deployment (its appsync.api_id; the endpoint's host is "
                "not the API id)",
            )
        fields = sorted(self.config.allowed_mutations)
        resources = [f"{api_arn}/types/Mutation/fields/{name}" for name in fields]
        settings = self.ctx.deployment_settings
        if settings is not None and not self.options.as_operator:
            # The read-backs a refused versioned write needs to be reported superseded ([appsync] version_reads).
            reads = [f"get{model}" for model in settings.appsync.version_reads]
            resources += [f"{api_arn}/types/Query/fields/{name}" for name in reads]
            fields += reads
        frozen = self.runtime.credentials.get_frozen_credentials()
        iam = self.session.create_client(
            "iam",
            region_name=self.config.region,
            config=Config(retries={"total_max_attempts": 1}),
            aws_access_key_id=frozen.access_key,
            aws_secret_access_key=frozen.secret_key,
            aws_session_token=frozen.token,
        )
        try:
            results = iam.simulate_principal_policy(
                PolicySourceArn=self.config.role_arn, ActionNames=["appsync:GraphQL"], ResourceArns=resources
            )["EvaluationResults"]
        except (
            Exception
        ) as exc:  # AccessDenied (least privilege), or not implemented (moto): a note, not a fault
            code = exc.response.get("Error", {}).get("Code", "") if isinstance(exc, ClientError) else ""
            notes = [
                f"not checked: {', '.join(fields)}: a field missing from the policy fails every such mutation "
                "with IAMDenied; the role's policy from `make synth` lets it simulate itself (redeploy the "
                "account-B stack)",
                "the signed request below still proves signing",
            ]
            if self.generation.iam_policy_only_gate:
                only_gate = f"{self.generation.label}: this policy is the only gate"
                notes.append(
                    f"{only_gate}; run `doctor --probe` to prove it with a mutation that cannot write"
                    if not self.options.probe
                    else f"{only_gate}; the authorization probe below proves it"
                )
            return Check(
                "IAM policy",
                SKIPPED,
                "iam:SimulatePrincipalPolicy is not available with the account-B credentials "
                f"({code or type(exc).__name__})",
                notes=notes,
            )
        denied = [
            r.get("EvalResourceName", "?").rsplit("/", 1)[-1]
            for r in results
            if r.get("EvalDecision") != "allowed"
        ]
        if denied:
            gate = (
                f" (under {self.generation.label} the only gate)"
                if self.generation.iam_policy_only_gate
                else ""
            )
            raise Broken(
                f"the identity policy of {self.config.role_arn} does not allow appsync:GraphQL on "
                f"{', '.join(denied)} of {api_arn}{gate}",
                "derive the policy from settings.toml (appsync.allowed_mutations, appsync.version_reads) and "
                "re-deploy the account-B stack",
            )
        detail = f"appsync:GraphQL allowed on {', '.join(fields)}"
        if self.generation.iam_policy_only_gate:
            detail += f" of {api_arn} ({self.generation.label}: the only gate)"
        return Check("IAM policy", OK, detail)

    def signed_request(self) -> Check:
        from mutation_cli.signed_http import SignedGraphQL

        http = SignedGraphQL(self.config, self.runtime.credentials)
        try:
            answer = http.post({"query": "query { __typename }"})
        finally:
            http.close()
        where = f"{self.config.appsync_url} (signed for host {self.config.host}, region {self.config.region})"
        if answer.error is None:
            return Check("signed request", OK, f"HTTP {answer.status} from {where}")
        error = answer.error
        if isinstance(error, IAMDeniedError):
            return Check(
                "signed request",
                OK,
                f"HTTP {answer.status} from {where}: signature accepted",
                notes=[
                    f"AppSync's IAM check refused the probe query (the role may only call mutations): {error.reason}"
                ],
            )
        if answer.status == 200:
            return Check(
                "signed request",
                OK,
                f"HTTP 200 from {where}: signature accepted",
                notes=[f"the API answered: {error.reason}"],
            )
        diagnose(error, self.config, "__typename", self.caller_arn)
        raise Broken(
            f"{error.error_type}: {error.reason} ({where})",
            error.diagnosis
            or ("check the URL and the network path to it" if answer.status == 0 else "see the reason"),
        )

    def authorization_probe(self) -> Check:
        """One mutation through Amplify's real auth resolver that cannot write (see the module docstring)."""
        from mutation_cli.signed_http import SignedGraphQL

        keyed = set(getattr(self.config, "model_keys", None) or {})
        field_name = probe_field(self.config.allowed_mutations, keyed)
        if field_name is None:
            reason = "no delete or update mutation on the allow-list: a create could write, so none is sent"
            if keyed and probe_field(self.config.allowed_mutations):
                reason = (
                    "every delete or update on the allow-list is of a model with a custom primary key "
                    f"({', '.join(sorted(keyed))}): the probe needs an id-keyed model, so none is sent"
                )
            return Check("authorization probe", SKIPPED, reason)
        probe_id = f"{PROBE_PREFIX}{secrets.token_hex(8)}"
        document = f'mutation DoctorProbe {{ {field_name}(input: {{id: "{probe_id}"}}) {{ id }} }}'
        http = SignedGraphQL(self.config, self.runtime.credentials)
        try:
            answer = http.post({"query": document, "operationName": "DoctorProbe"})
        finally:
            http.close()
        caller = self.caller_arn or self.config.assumed_role_arn
        sent = f"{field_name} of {probe_id!r} (no such record)"
        error = answer.error
        if isinstance(error, ConditionalCheckFailedError):
            return Check(
                "authorization probe",
                OK,
                f"Amplify's resolver for {field_name} admitted {caller}: {sent} reached DynamoDB and met "
                "its condition; nothing was written",
            )
        if isinstance(error, ResolverUnauthorizedError) and self.generation.iam_policy_only_gate:
            raise Broken(
                f"{sent}: {error.error_type}: {error.reason}: AppSync's IAM check let {caller} through, but the "
                "resolvers refuse it: this API does not authorize IAM principals by their policy, as Amplify "
                f"{self.generation.label}'s defineData does",
                "check amplify.generation and the API (a Gen 1 API needs custom-roles.json: set "
                "amplify.generation = 1 and run `make custom-roles`, then `amplify push`)",
            )
        if isinstance(error, ResolverUnauthorizedError) and field_name in self._sandbox_mode_refusals():
            from project_settings.schema import sandbox_mode_problem

            model = self._sandbox_mode_refusals()[field_name]
            raise Broken(
                f"{sent}: {error.error_type}: {error.reason}: {sandbox_mode_problem(field_name, model)}",
                f"add `@auth(rules: [{{ allow: public }}])` to type {model}, then `amplify push`",
            )
        if isinstance(error, ResolverUnauthorizedError):
            local = next((c for c in self.checks if c.name == "custom-roles.json"), None)
            if local is not None and local.status == OK:
                raise Broken(f"{sent}: {error.error_type}: {error.reason}; {NEVER_PUSHED}", NEVER_PUSHED)
            raise Broken(
                f"{sent}: {error.error_type}: {error.reason}: the deployed resolvers refuse {caller}",
                f"list {self.config.assumed_role_arn!r} in custom-roles.json (`make custom-roles`), then "
                "`amplify push`",
            )
        if isinstance(error, IAMDeniedError):
            raise Broken(
                f"{sent}: {error.reason}: the role's IAM policy does not allow appsync:GraphQL on {field_name}",
                "derive the policy from settings.toml (appsync.allowed_mutations) and re-deploy the account-B stack",
            )
        if error is None:
            raise Broken(
                f"{sent} answered with data: {answer.body[:200]}; a record with a random id existed, or the "
                "resolver does not guard deletes with attribute_exists(id)",
                "look at the API's resolvers: this is not what Amplify generates",
            )
        diagnose(error, self.config, field_name, self.caller_arn)
        raise Broken(f"{sent}: {error.error_type}: {error.reason}", error.diagnosis or "see the reason")

    def _api_arn(self) -> str | None:
        """From the settings' ``appsync.api_id`` only: the endpoint's host is not the API id (another string)."""
        settings = self.ctx.deployment_settings
        return settings.appsync_api_arn if settings is not None else None


def _unexpected(exc: Exception) -> Broken:
    return Broken(
        f"{type(exc).__name__}: {exc}",
        "an unexpected error (a broken AWS profile, network, or a bug): run again with --verbose",
    )


def probe_field(allowed: Any, custom_key_models: Any = ()) -> str | None:
    """The mutation the probe sends: a delete, else an update, from the allow-list (never a create), of a model
    keyed by ``id`` (the probe's input is ``{id: ...}``; models in ``custom_key_models`` are passed over)."""
    keyed = set(custom_key_models)
    names = sorted(
        n
        for n in allowed
        if n.removeprefix("delete").removeprefix("update") not in keyed or n[:6] == "create"
    )
    return next((n for n in names if n.startswith("delete")), None) or next(
        (n for n in names if n.startswith("update")), None
    )


def ignored_worker_variables(source: str, environ: Any) -> list[str]:
    """Worker variables set in the environment that a settings-file configuration silently ignores."""
    if source == "environment" or environ.get(ENV_APPSYNC_URL, "").strip():
        return []
    return sorted(
        name
        for name, value in environ.items()
        if value and (name in _WORKER_VARIABLES or name.startswith(_WORKER_VARIABLE_PREFIXES))
    )


def config_failure(message: str) -> list[Check]:
    checks = [
        Check("configuration", FAILED, message, "fix the listed settings (environment or settings.toml)")
    ]
    checks.extend(Check(name, SKIPPED, "not checked: an earlier link is broken") for name in _CHECK_NAMES[1:])
    return checks


def producer_notes(config: WorkerConfig) -> list[str]:
    """Who can make the worker write, and what: the producer list and the rights the configuration holds."""
    sqs = config.source_queue_arn or "none (SOURCE_QUEUE_ARN unset: every SQS record is refused)"
    events = (
        f"accounts {', '.join(sorted(config.event_accounts))}, sources {', '.join(sorted(config.event_sources)) or 'none'}"
        if config.event_accounts
        else "none"
    )
    notes = [
        f"producers: SQS from {sqs}; EventBridge from {events}; direct invocation "
        f"{'enabled' if config.direct_invocation else 'off'}"
    ]
    for rule in config.producer_rules:
        mutations = (
            ", ".join(sorted(rule.mutations)) if rule.mutations is not None else "every allowed mutation"
        )
        fields = ", ".join(sorted(rule.protected_fields)) or "none"
        notes.append(
            f"producer {rule.producer!r} may send {mutations}; protected fields it may set: {fields}"
        )
    notes.append(
        "the worker writes as an administrator: Gen 1 admin roles skip @auth and Gen 2 admits any IAM principal "
        "its policy allows, so no model's @auth rules bind it; "
        + (
            "protected fields no producer sets unless a rule names it: "
            + "; ".join(f"{m}: {', '.join(f)}" for m, f in sorted(config.protected_fields.items()))
            if config.protected_fields
            else "no protected fields are set (init fills [appsync.protected_fields] from the schema's @auth rules)"
        )
    )
    return notes


def _describe(ctx: CliContext) -> str:
    config: WorkerConfig = ctx.config
    return (
        f"from {ctx.source}: {config.appsync_url}, role {config.role_arn}, session {config.session_name!r}, "
        f"mutations {', '.join(sorted(config.allowed_mutations))}"
    )


def operator_notes(ctx: CliContext, *, as_operator: bool) -> list[str]:
    """What the settings say about the operator role."""
    settings = ctx.settings
    if settings is None:
        return []
    operator = settings.operator_role
    if not operator.enabled:
        return [
            "no operator role ([operator_role] principals is empty): people can only act as the worker; add "
            "[operator_role] principals to give them their own role (then `--as-operator`)"
        ]
    notes = [
        f"operator role {settings.operator_role_arn}: trust admits only {', '.join(operator.principals)} with "
        f"sts:SourceIdentity; allow-list {', '.join(operator.allowed_mutations)}"
    ]
    if settings.amplify.generation.custom_roles_gate:
        notes.append(
            f"custom-roles.json must list {settings.operator_assumed_role_prefix!r} for operators "
            "(`make custom-roles`)"
        )
    if not as_operator:
        notes.append("`doctor --as-operator` checks the operator role with your own credentials")
    return notes


def _principal_arn(caller_arn: str) -> str:
    """aws:PrincipalArn of a caller: the role ARN for a role session, else the ARN itself."""
    match = ASSUMED_ROLE_ARN_RE.match(caller_arn)
    if match:
        return f"arn:{match['partition']}:iam::{match['account']}:role/{match['role']}"
    return caller_arn


def _arn_like(value: str, pattern: str) -> bool:
    """IAM's ArnLike: ``*`` any run of characters, ``?`` one; the rest literal."""
    import re

    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, re.DOTALL) is not None
