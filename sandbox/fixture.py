"""The local two-account sandbox: start it, use it like AWS, stop it.

``Sandbox.start(settings)`` brings up, on 127.0.0.1 and free ports only:
- moto (STS, IAM, SQS, DynamoDB) behind the STS gate that enforces trust and identity policies;
- account A (``settings.accounts.worker``): the worker's execution role, the source queue and its DLQ;
- account B (``settings.accounts.api``): the mutator role, every ``@model``'s table of the schema (the built-in
  ``Todo`` schema, or ``schema=`` the project's own: ``<Model>-<apiId>-<env>``, keyed as ``@primaryKey`` says),
  a ``custom-roles.json`` (Gen 1 only);
- the AppSync stand-in (Todo schema), which verifies SigV4 and applies Amplify's admin-role rule (Gen 1) or
  Gen 2's IAM-access rule (``amplify.generation = 2``: the IAM policy is the only gate);
- a "Lambda container": an execution-role session started the way the Lambda service does.

Everything is created from the same settings and policy documents the infra stacks use; tests may pass other
documents (e.g. ones read back from synthesized CloudFormation) to prove the pieces agree.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from project_settings import Settings
from project_settings.amplify_files import deployed_facts
from project_settings.policies import (
    execution_role_assume_policy,
    execution_role_trust_policy,
    mutator_identity_policy,
    mutator_trust_policy,
    operator_identity_policy,
    operator_trust_policy,
)
from sandbox.aws.identities import (
    LAMBDA_SERVICE_KEY,
    LAMBDA_SERVICE_SECRET,
    OPERATOR_ACCOUNT,
    OPERATOR_KEY,
    OPERATOR_SECRET,
    SandboxIdentities,
)
from sandbox.aws.server import MotoServer
from sandbox.aws.sts_gate import StsGate
from sandbox.lambda_runtime import (
    DrainStats,
    Handler,
    LambdaContext,
    eventbridge_event,
    failed_ids,
    sqs_record,
)

ADMIN_ROLE = "SandboxAdmin"
#: The Amplify environment the sandbox stands for, where the generation has environments (Gen 1).
ENV_NAME = "sandbox"


def read_schema(schema: str | Path | None) -> str:
    """Schema text: ``None`` is the built-in Todo schema; a Path (or an existing file's name) is read."""
    if schema is None:
        from sandbox.appsync.models import builtin_schema

        return builtin_schema()
    if isinstance(schema, Path) or ("\n" not in schema and "{" not in schema and Path(schema).is_file()):
        return Path(schema).read_text(encoding="utf-8")
    return schema


class Sandbox:
    _running: Sandbox | None = None  # moto's backends are process-global: one sandbox at a time

    def __init__(
        self, settings: Settings, *, cli_behaviour: str | None = None, schema: str | Path | None = None
    ) -> None:
        from sandbox.appsync.models import model_keys

        self.settings = settings
        self.cli_behaviour = cli_behaviour or settings.amplify.cli_behaviour
        #: From ``amplify.generation``: whether custom-roles.json is the gate, and how tables are named.
        self.generation = settings.amplify.generation
        self.env_name = self.generation.table_env_name or ENV_NAME
        #: The Amplify source schema the API is built from (``@model`` types with Amplify's directives).
        self.schema = read_schema(schema)
        self.schema_is_builtin = schema is None
        #: Every model's primary key (``ModelKey``), in schema order.
        self.models = {key.model: key for key in model_keys(self.schema)}
        #: Model name -> its table in account B, named as Amplify names it.
        self.table_names = {
            name: key.table_name(settings.appsync.api_id, self.env_name) for name, key in self.models.items()
        }
        #: What the settings' Amplify project says about its API (None: no project, or unreadable).
        self.project_facts = deployed_facts(
            settings.amplify.project_dir, self.generation, settings.amplify.api_name
        )
        #: The API's authorization modes as the Amplify project's files say (empty: not known, AWS_IAM taken as
        #: present). Without AWS_IAM the fronts refuse every signed request, as AppSync does.
        self.auth_modes = self.project_facts.auth_modes if self.project_facts is not None else ()
        self.account_a = settings.accounts.worker
        self.account_b = settings.accounts.api
        self.region = settings.accounts.region
        self.identities = SandboxIdentities([self.account_a, self.account_b, OPERATOR_ACCOUNT])
        self._moto = MotoServer(self.identities)
        self._clients: dict[tuple[str, str], Any] = {}
        self._admin_credentials: dict[str, dict[str, str]] = {}
        self._lambda_credentials: dict[str, str] = {}
        self.project_dir = Path(tempfile.mkdtemp(prefix="sandbox-amplify-"))
        self.endpoint_url = ""
        self.appsync_url = ""
        self.appsync: Any = None
        self.queue_url = self.dlq_url = self.queue_arn = self.dlq_arn = ""
        #: The Todo table (the stand-in's), else the first model's.
        self.table_name = self.table_names.get("Todo") or next(iter(self.table_names.values()))

    # --- lifecycle -----------------------------------------------------------------------------------
    @classmethod
    def start(
        cls,
        settings: Settings,
        *,
        custom_roles_entries: Sequence[str] | None = None,
        create_custom_roles: bool | None = None,
        cli_behaviour: str | None = None,
        schema: str | Path | None = None,
        trust_policy: dict[str, Any] | None = None,
        mutator_identity_policy_document: dict[str, Any] | None = None,
        visibility_timeout: int = 30,
    ) -> Sandbox:
        if cls._running is not None:
            raise RuntimeError(
                "another Sandbox is still running in this process: moto's state is process-global, so only one "
                "sandbox may run at a time (use module-scoped fixtures, not session- or package-scoped ones)"
            )
        """Start everything; ``schema`` (text or a Path; default the built-in Todo schema) decides the tables.

        ``create_custom_roles`` defaults to True under Gen 1 (the worker's entry, or ``custom_roles_entries``)
        and False under Gen 2, which has no such file.
        """
        sandbox = cls(settings, cli_behaviour=cli_behaviour, schema=schema)
        if create_custom_roles is None:
            create_custom_roles = sandbox.generation.custom_roles_gate
        cls._running = sandbox
        try:
            sandbox._start(
                custom_roles_entries=custom_roles_entries,
                create_custom_roles=create_custom_roles,
                trust_policy=trust_policy,
                identity_policy=mutator_identity_policy_document,
                visibility_timeout=visibility_timeout,
            )
        except BaseException:
            sandbox.stop()
            raise
        return sandbox

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    def stop(self) -> None:
        if Sandbox._running is self:
            Sandbox._running = None
        if self.appsync is not None:
            self.appsync.stop()
            self.appsync = None
        if self.endpoint_url:
            try:
                import urllib.request

                urllib.request.urlopen(
                    urllib.request.Request(f"{self.endpoint_url}/moto-api/reset", method="POST"), timeout=5
                )
            except OSError:
                pass
        self._moto.stop()
        self.endpoint_url = ""
        self._clients.clear()
        shutil.rmtree(self.project_dir, ignore_errors=True)

    def _start(
        self,
        *,
        custom_roles_entries: Sequence[str] | None,
        create_custom_roles: bool,
        trust_policy: dict[str, Any] | None,
        identity_policy: dict[str, Any] | None,
        visibility_timeout: int,
    ) -> None:
        self.endpoint_url = self._moto.start()
        import urllib.request

        urllib.request.urlopen(
            urllib.request.Request(f"{self.endpoint_url}/moto-api/reset", method="POST"), timeout=5
        )
        self._bootstrap_admins()
        self._create_account_a(visibility_timeout)
        self._create_account_b(trust_policy, identity_policy)
        if create_custom_roles:
            self.write_custom_roles(list(custom_roles_entries or self.default_custom_roles_entries()))
        self._start_appsync()
        self._start_lambda_container()

    # --- accounts ---------------------------------------------------------------------------------------
    def _bootstrap_admins(self) -> None:
        """An admin role per account, trusted by the operator's management account (AWS Organizations style)."""
        from moto.iam.models import iam_backends

        trust = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{OPERATOR_ACCOUNT}:root"},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
        admin_policy = {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
        }
        operator_sts = self._raw_client("sts", OPERATOR_KEY, OPERATOR_SECRET)
        for account in (self.account_a, self.account_b):
            backend = iam_backends[account]["aws"]
            backend.create_role(ADMIN_ROLE, json.dumps(trust), "/", None, "sandbox bootstrap", [], "43200")
            backend.put_role_policy(ADMIN_ROLE, "admin", json.dumps(admin_policy))
            creds = operator_sts.assume_role(
                RoleArn=f"arn:aws:iam::{account}:role/{ADMIN_ROLE}",
                RoleSessionName="sandbox-operator",
                DurationSeconds=43200,
            )["Credentials"]
            self._admin_credentials[account] = {
                "aws_access_key_id": creds["AccessKeyId"],
                "aws_secret_access_key": creds["SecretAccessKey"],
                "aws_session_token": creds["SessionToken"],
            }

    def _create_account_a(self, visibility_timeout: int) -> None:
        worker = self.settings.worker
        iam = self.client("iam", "A")
        sqs = self.client("sqs", "A")
        fifo = {"FifoQueue": "true"} if worker.fifo else {}
        self.dlq_url = sqs.create_queue(QueueName=worker.dead_letter_queue_name, Attributes={**fifo})[
            "QueueUrl"
        ]
        self.dlq_arn = sqs.get_queue_attributes(QueueUrl=self.dlq_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        redrive = json.dumps(
            {"deadLetterTargetArn": self.dlq_arn, "maxReceiveCount": str(worker.max_receive_count)}
        )
        self.queue_url = sqs.create_queue(
            QueueName=worker.queue_name,
            Attributes={**fifo, "RedrivePolicy": redrive, "VisibilityTimeout": str(visibility_timeout)},
        )["QueueUrl"]
        self.queue_arn = sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        iam.create_role(
            RoleName=worker.execution_role_name,
            AssumeRolePolicyDocument=json.dumps(execution_role_trust_policy()),
            MaxSessionDuration=43200,
        )
        iam.put_role_policy(
            RoleName=worker.execution_role_name,
            PolicyName="assume-mutator-role",
            PolicyDocument=json.dumps(execution_role_assume_policy(self.settings)),
        )
        dlq_send = {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": self.dlq_arn}],
        }
        iam.put_role_policy(
            RoleName=worker.execution_role_name,
            PolicyName="dead-letters",
            PolicyDocument=json.dumps(dlq_send),
        )

    def _create_account_b(
        self, trust_policy: dict[str, Any] | None, identity_policy: dict[str, Any] | None
    ) -> None:
        iam = self.client("iam", "B")
        name = self.settings.mutator_role.name
        iam.create_role(
            RoleName=name,
            AssumeRolePolicyDocument=json.dumps(trust_policy or mutator_trust_policy(self.settings)),
            MaxSessionDuration=3600,
        )
        iam.put_role_policy(
            RoleName=name,
            PolicyName="appsync-mutations",
            PolicyDocument=json.dumps(identity_policy or mutator_identity_policy(self.settings)),
        )
        operator = self.settings.operator_role
        if operator.enabled:  # the operators' own role, from the very documents infra deploys
            iam.create_role(
                RoleName=operator.name,
                AssumeRolePolicyDocument=json.dumps(operator_trust_policy(self.settings)),
                MaxSessionDuration=3600,
            )
            iam.put_role_policy(
                RoleName=operator.name,
                PolicyName="appsync-mutations",
                PolicyDocument=json.dumps(operator_identity_policy(self.settings)),
            )
        dynamodb = self.client("dynamodb", "B")
        for model, key in self.models.items():
            dynamodb.create_table(**key.create_table_params(self.table_names[model]))

    def ensure_tables(self, tables: Sequence[dict[str, Any]]) -> None:
        """Make account B hold these tables (as Amplify's transformer defines them): create missing ones,
        add missing global secondary indexes; a table whose key schema differs is an error.

        Each entry: ``tableName``, ``KeySchema``, ``AttributeDefinitions``, optional ``GlobalSecondaryIndexes``
        (CloudFormation's shapes, which are DynamoDB's) and ``model``.
        """
        dynamodb = self.client("dynamodb", "B")
        for table in tables:
            name = str(table["tableName"])
            if "model" in table:
                self.table_names.setdefault(str(table["model"]), name)
            wanted_indexes = list(table.get("GlobalSecondaryIndexes") or [])
            try:
                existing = dynamodb.describe_table(TableName=name)["Table"]
            except dynamodb.exceptions.ResourceNotFoundException:
                params: dict[str, Any] = {
                    "TableName": name,
                    "KeySchema": table["KeySchema"],
                    "AttributeDefinitions": table["AttributeDefinitions"],
                    "BillingMode": "PAY_PER_REQUEST",
                }
                if wanted_indexes:
                    params["GlobalSecondaryIndexes"] = wanted_indexes
                dynamodb.create_table(**params)
                continue
            if existing["KeySchema"] != table["KeySchema"]:
                raise RuntimeError(
                    f"table {name} has key schema {existing['KeySchema']}, but the schema compiles to "
                    f"{table['KeySchema']}"
                )
            have = {index["IndexName"] for index in existing.get("GlobalSecondaryIndexes") or ()}
            for index in wanted_indexes:
                if index["IndexName"] in have:
                    continue
                dynamodb.update_table(
                    TableName=name,
                    AttributeDefinitions=table["AttributeDefinitions"],
                    GlobalSecondaryIndexUpdates=[{"Create": index}],
                )

    def set_trust_policy(self, document: dict[str, Any]) -> None:
        self.client("iam", "B").update_assume_role_policy(
            RoleName=self.settings.mutator_role.name, PolicyDocument=json.dumps(document)
        )

    def _start_appsync(self) -> None:
        from sandbox.appsync import AppSyncStandIn

        self.appsync = AppSyncStandIn(
            identities=self.identities,
            dynamodb_client=self.client("dynamodb", "B"),
            table_name=self.table_name,
            api_id=self.settings.appsync.api_id,
            region=self.region,
            account_id=self.account_b,
            custom_roles_path=self.custom_roles_path,
            cli_behaviour=self.cli_behaviour,
            env_name=self.env_name,
            generation=self.generation,
            auth_modes=self.auth_modes,
        )
        self.appsync_url = self.appsync.start()

    def _start_lambda_container(self) -> None:
        """The Lambda service assumes the execution role; session name = function name, as on AWS."""
        lambda_sts = self._raw_client("sts", LAMBDA_SERVICE_KEY, LAMBDA_SERVICE_SECRET)
        creds = lambda_sts.assume_role(
            RoleArn=self.settings.execution_role_arn,
            RoleSessionName=self.settings.worker.function_name,
            DurationSeconds=43200,
        )["Credentials"]
        self._lambda_credentials = {
            "AWS_ACCESS_KEY_ID": creds["AccessKeyId"],
            "AWS_SECRET_ACCESS_KEY": creds["SecretAccessKey"],
            "AWS_SESSION_TOKEN": creds["SessionToken"],
        }

    # --- what the worker sees ---------------------------------------------------------------------------
    def lambda_environment(self, **worker_overrides: Any) -> dict[str, str]:
        """The environment of a Lambda container running the worker in account A."""
        worker_overrides.setdefault("source_queue_arn", self.queue_arn)  # the queue records come from here
        worker_env = self.settings.worker_environment(
            appsync_url=self.appsync_url, dead_letter_queue_url=self.dlq_url, **worker_overrides
        )
        return {
            **self._lambda_credentials,
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_LAMBDA_FUNCTION_NAME": self.settings.worker.function_name,
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_EC2_METADATA_DISABLED": "true",
            **worker_env,
        }

    @property
    def execution_role_session_arn(self) -> str:
        return (
            f"arn:aws:sts::{self.account_a}:assumed-role/{self.settings.worker.execution_role_name}/"
            f"{self.settings.worker.function_name}"
        )

    @property
    def sts(self) -> StsGate:
        assert self._moto.gate is not None
        return self._moto.gate

    @property
    def custom_roles_path(self) -> Path:
        return (
            self.project_dir
            / "amplify"
            / "backend"
            / "api"
            / self.settings.amplify.api_name
            / "custom-roles.json"
        )

    def default_custom_roles_entries(self) -> list[str]:
        """What ``make custom-roles`` writes: the worker's entry, and the operator role's when configured."""
        entries = [self.settings.assumed_role_arn]
        if self.settings.operator_role.enabled:
            entries.append(self.settings.operator_assumed_role_prefix)
        return entries

    def write_custom_roles(self, entries: Sequence[str] | str) -> Path:
        path = self.custom_roles_path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(
            json.dumps({"adminRoleNames": entries if isinstance(entries, str) else list(entries)}, indent=2)
            + "\n"
        )
        return path

    # --- clients ----------------------------------------------------------------------------------------
    def _raw_client(self, service: str, key: str, secret: str, token: str | None = None) -> Any:
        import boto3

        return boto3.client(
            service,
            region_name=self.region,
            endpoint_url=self.endpoint_url,
            aws_access_key_id=key,
            aws_secret_access_key=secret,
            aws_session_token=token,
        )

    def client(self, service: str, account: str = "A") -> Any:
        """An admin client in account "A" or "B" (the sandbox's own: not what the worker uses)."""
        account_id = {"A": self.account_a, "B": self.account_b}.get(account, account)
        key = (service, account_id)
        if key not in self._clients:
            creds = self._admin_credentials[account_id]
            self._clients[key] = self._raw_client(
                service,
                creds["aws_access_key_id"],
                creds["aws_secret_access_key"],
                creds["aws_session_token"],
            )
        return self._clients[key]

    def lambda_client(self, service: str) -> Any:
        """A client with the Lambda container's credentials (the execution-role session), as the worker has."""
        creds = self._lambda_credentials
        return self._raw_client(
            service, creds["AWS_ACCESS_KEY_ID"], creds["AWS_SECRET_ACCESS_KEY"], creds["AWS_SESSION_TOKEN"]
        )

    def create_user_keys(self, user_name: str = "developer", account: str = "A") -> dict[str, str]:
        """Long-term IAM user keys (AKIA...), e.g. to show environment keys shadowing the execution role."""
        iam = self.client("iam", account)
        iam.create_user(UserName=user_name)
        key = iam.create_access_key(UserName=user_name)["AccessKey"]
        return {"AWS_ACCESS_KEY_ID": key["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"]}

    # --- SQS as the event source mapping sees it ------------------------------------------------------
    def send_messages(self, bodies: Sequence[str], group_id: str | None = None) -> list[str]:
        """Put messages on the source queue, in order; returns their message ids."""
        sqs = self.client("sqs", "A")
        ids = []
        for body in bodies:
            params: dict[str, Any] = {"QueueUrl": self.queue_url, "MessageBody": body}
            if self.settings.worker.fifo:
                params["MessageGroupId"] = group_id or "default"
                params["MessageDeduplicationId"] = uuid.uuid4().hex
            ids.append(sqs.send_message(**params)["MessageId"])
        return ids

    def sqs_event(self, max_messages: int = 10, wait_seconds: int = 0) -> dict[str, Any]:
        sqs = self.client("sqs", "A")
        messages: list[dict[str, Any]] = []
        while len(messages) < max_messages:
            batch = sqs.receive_message(
                QueueUrl=self.queue_url,
                MaxNumberOfMessages=min(10, max_messages - len(messages)),
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
                WaitTimeSeconds=wait_seconds,
            ).get("Messages", [])
            if not batch:
                break
            messages.extend(batch)
        return {"Records": [sqs_record(m, self.queue_arn, self.region) for m in messages]}

    def apply_batch_response(self, event: dict[str, Any], response: Any) -> set[str]:
        """Delete what succeeded; make what failed visible again. Returns the failed message ids."""
        sqs = self.client("sqs", "A")
        failed = failed_ids(event, response)
        for record in event["Records"]:
            if record["messageId"] in failed:
                sqs.change_message_visibility(
                    QueueUrl=self.queue_url, ReceiptHandle=record["receiptHandle"], VisibilityTimeout=0
                )
            else:
                sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=record["receiptHandle"])
        return failed

    def drain_queue(
        self, handler: Handler, *, batch_size: int = 10, max_rounds: int = 1000, timeout_ms: int = 60_000
    ) -> DrainStats:
        """Poll the source queue like the event source mapping until it is empty (or ``max_rounds``)."""
        stats = DrainStats()
        started = time.monotonic()
        for _ in range(max_rounds):
            event = self.sqs_event(max_messages=batch_size)
            if not event["Records"]:
                if self.queue_depth() == 0:
                    break
                time.sleep(0.05)
                continue
            context = LambdaContext(
                function_name=self.settings.worker.function_name,
                timeout_ms=timeout_ms,
                region=self.region,
                account_id=self.account_a,
            )
            try:
                response: Any = handler(event, context)
            except Exception as exc:  # Lambda: the whole batch failed
                response = exc
                stats.whole_batch_failures += 1
            failed = self.apply_batch_response(event, response)
            stats.invocations += 1
            stats.records += len(event["Records"])
            stats.failures_reported += len(failed)
        stats.seconds = time.monotonic() - started
        return stats

    def queue_depth(self, queue_url: str | None = None) -> int:
        attributes = self.client("sqs", "A").get_queue_attributes(
            QueueUrl=queue_url or self.queue_url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"]) + int(
            attributes["ApproximateNumberOfMessagesNotVisible"]
        )

    def dlq_messages(self, limit: int = 1000) -> list[dict[str, Any]]:
        """Every DLQ message (up to ``limit``), without removing any (they are made visible again)."""
        sqs = self.client("sqs", "A")
        seen: dict[str, dict[str, Any]] = {}
        handles = []
        for _ in range(limit // 10 + 20):
            batch = sqs.receive_message(
                QueueUrl=self.dlq_url,
                MaxNumberOfMessages=10,
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
                VisibilityTimeout=max(30, limit // 50),
            ).get("Messages", [])
            if not batch:
                break
            for message in batch:
                seen[message["MessageId"]] = message
                handles.append(message["ReceiptHandle"])
        for handle in handles:
            sqs.change_message_visibility(QueueUrl=self.dlq_url, ReceiptHandle=handle, VisibilityTimeout=0)
        return list(seen.values())

    def purge_dlq(self) -> int:
        """Delete every DLQ message (receive + delete: PurgeQueue is limited to once a minute)."""
        sqs = self.client("sqs", "A")
        deleted = 0
        while True:
            batch = sqs.receive_message(
                QueueUrl=self.dlq_url, MaxNumberOfMessages=10, VisibilityTimeout=30
            ).get("Messages", [])
            if not batch:
                return deleted
            for message in batch:
                sqs.delete_message(QueueUrl=self.dlq_url, ReceiptHandle=message["ReceiptHandle"])
                deleted += 1

    def eventbridge_event(self, detail: Any) -> dict[str, Any]:
        eventbridge = self.settings.worker
        return eventbridge_event(
            detail,
            source=eventbridge.eventbridge_source,
            detail_type=eventbridge.eventbridge_detail_type,
            account=self.account_a,
            region=self.region,
        )

    # --- account B, as its owner would look at it ------------------------------------------------------
    def table_items(self, model: str | None = None) -> list[dict[str, Any]]:
        """Every item of a model's table in account B (default: ``table_name``, the Todo table)."""
        from boto3.dynamodb.types import TypeDeserializer

        deserializer = TypeDeserializer()
        dynamodb = self.client("dynamodb", "B")
        items: list[dict[str, Any]] = []
        table = self.table_name if model is None else self.table_names[model]
        kwargs: dict[str, Any] = {"TableName": table}
        while True:
            page = dynamodb.scan(**kwargs)
            items.extend({k: deserializer.deserialize(v) for k, v in item.items()} for item in page["Items"])
            if "LastEvaluatedKey" not in page:
                return items
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def issued_secrets(self) -> set[str]:
        """Every secret key and session token the sandbox issued (for log scans)."""
        secrets = self.identities.issued_secrets()
        secrets.update(v for k, v in self._lambda_credentials.items() if k != "AWS_ACCESS_KEY_ID")
        for creds in self._admin_credentials.values():
            secrets.update((creds["aws_secret_access_key"], creds["aws_session_token"]))
        return secrets
