"""Per-container state: built once at cold start, reused by every warm invocation.

One event loop for the container's whole life: aiohttp sessions are bound to the loop that created them, so a
fresh ``asyncio.run`` per invocation would break the pooled connections ("Event loop is closed").
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Mapping, Sequence
from typing import Any, TypeVar

from worker.batch import BatchProcessor
from worker.client import MutationClient, RetryPolicy
from worker.config import WorkerConfig
from worker.credentials import AssumedRoleCredentials, inspect_base_credentials
from worker.dead_letters import DeadLetterPublisher
from worker.logs import bound_logger, configure_logging
from worker.metrics import emit, function_name, invocation_documents
from worker.producers import Producers

T = TypeVar("T")

#: Seconds; a blocked STS or SQS call ends its thread within about (connect + read) x 2 attempts.
AWS_CONNECT_TIMEOUT = 2.0
AWS_READ_TIMEOUT = 5.0


def aws_client_config() -> Any:
    """STS and SQS calls block a worker thread; the loop stops waiting when the invocation's time runs out, and
    these timeouts end the thread's call soon after. Retries are the worker's own (a shared backoff)."""
    import botocore.config

    return botocore.config.Config(
        connect_timeout=AWS_CONNECT_TIMEOUT,
        read_timeout=AWS_READ_TIMEOUT,
        retries={"mode": "standard", "max_attempts": 2},
    )


def account_b_credentials(config: WorkerConfig, base_session: Any) -> AssumedRoleCredentials:
    """The account-B role's credentials, assumed through an STS client built once from the base (execution
    role) session: every AssumeRole goes through it, never through the credentials it produced."""
    sts = base_session.create_client("sts", region_name=config.region, config=aws_client_config())
    return AssumedRoleCredentials.assuming(
        sts,
        role_arn=config.role_arn,
        session_name=config.session_name,
        duration_seconds=config.session_seconds,
        external_id=config.external_id,
    )


class WorkerRuntime:
    def __init__(
        self,
        config: WorkerConfig,
        *,
        base_session: Any = None,
        retry_policy: RetryPolicy | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        import botocore.session

        self.config = config
        self.producers = Producers.from_config(config)
        self.log = bound_logger("worker")
        self.base_session = base_session or botocore.session.get_session()
        report = inspect_base_credentials(self.base_session, dict(environ) if environ is not None else None)
        log_method = self.log.warning if report.warning else self.log.info
        log_method("base_credentials", **report.as_log())
        client_config = aws_client_config()
        self.credentials = account_b_credentials(config, self.base_session)
        self.client = MutationClient(
            config,
            self.credentials,
            retry_policy=retry_policy or RetryPolicy(max_attempts=config.max_attempts),
        )
        dead_letters = None
        if config.dead_letter_queue_url:
            region = _queue_region(config.dead_letter_queue_url) or config.region
            dead_letters = DeadLetterPublisher(
                config.dead_letter_queue_url,
                lambda: self.base_session.create_client("sqs", region_name=region, config=client_config),
            )
        self.batch = BatchProcessor(
            self.client,
            allowed_fields=config.allowed_mutations,
            max_concurrency=config.max_concurrency,
            dead_letters=dead_letters,
            max_receive_count=config.max_receive_count,
            create_ids_from_message=config.create_ids_from_message,
            model_keys=config.model_keys,
            protected_fields=config.protected_fields,
            producer_rules=config.producer_rules,
        )
        self.loop = asyncio.new_event_loop()
        self.invocations = 0
        self._assume_role_calls_reported = 0

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None, **kwargs: Any) -> WorkerRuntime:
        """Cold start: validate the environment (one error listing every problem), configure logs, build clients."""
        config = WorkerConfig.from_environ(environ)
        configure_logging(config.log_level)
        return cls(config, environ=environ, **kwargs)

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(coroutine)

    def warm_up(self) -> None:
        """Assume the role and open the connection pool ahead of the first message (optional)."""
        self.run(self._warm_up())

    async def _warm_up(self) -> None:
        await self.credentials.get()
        await self.client.connect()

    def emit_metrics(self, outcomes: Sequence[Any]) -> None:
        """This invocation's EMF lines (``worker.metrics``): outcomes, attempts, latency, AssumeRole calls."""
        try:
            calls = self.credentials.assume_role_calls
            documents = invocation_documents(
                outcomes, assume_role_calls=calls - self._assume_role_calls_reported, function=function_name()
            )
            self._assume_role_calls_reported = calls
            emit(documents)
        except Exception as exc:  # metrics never fail an invocation whose outcomes are already decided
            self.log.warning("metrics_not_written", error_type=type(exc).__name__)

    def close(self) -> None:
        if self.loop.is_closed():
            return
        self.run(self.client.close())
        self.loop.close()


def _queue_region(queue_url: str) -> str | None:
    """``https://sqs.<region>.amazonaws.com/<account>/<name>``: the DLQ may not be in the API's region."""
    from urllib.parse import urlsplit

    parts = (urlsplit(queue_url).hostname or "").split(".")
    if len(parts) >= 4 and parts[0] == "sqs":
        return parts[1]
    return None
