"""The operator's transport: one synchronous SigV4-signed GraphQL POST with requests + requests-aws4auth.

Signed like the worker's own transport, from the same ``AssumedRoleCredentials`` (``AWS4Auth`` re-reads
``get_frozen_credentials()`` per request: one consistent key set per signature), for service ``appsync``, the
configured region, and the host the worker signs (``config.host``: ``APPSYNC_URL``'s own, as sent). So a region
fault breaks this path exactly where it breaks the worker's, and ``doctor`` can name it.
The answer is read by ``worker.judge.read_answer``, the worker's own reading of HTTP answers; ``send`` takes the
whole verdict from ``worker.judge.judge``.
Redirects are never followed (a 3xx is a permanent failure naming its ``Location``), as in the worker.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import requests
from requests_aws4auth import AWS4Auth

from worker.config import WorkerConfig
from worker.errors import ConnectionFault, MutationError, RequestTimeout
from worker.http11 import HttpAnswer as WireAnswer
from worker.judge import read_answer


@dataclass(frozen=True)
class HttpAnswer:
    status: int
    body: str
    error: MutationError | None  # None: success (``read_answer``'s reading; send judges ``wire`` itself)
    #: The answer as the worker's judge reads it (status, Location, body); None when nothing came back.
    wire: WireAnswer | None = None

    @property
    def payload(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError:
            return None


class _SignedHost(requests.auth.AuthBase):
    """Sign ``host`` (the worker's signed host, ``config.host``) without changing what requests sends as Host."""

    def __init__(self, inner: AWS4Auth, host: str) -> None:
        self.inner, self.host = inner, host

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        had_host = "host" in request.headers
        if not had_host:
            request.headers["host"] = self.host
        try:
            return self.inner(request)
        finally:
            if not had_host:
                del request.headers["host"]


class SignedGraphQL:
    def __init__(
        self, config: WorkerConfig, credentials: Any, session: requests.Session | None = None
    ) -> None:
        self.config = config
        auth = AWS4Auth(refreshable_credentials=credentials, region=config.region, service="appsync")
        self.auth = _SignedHost(auth, config.host)
        self.http = session or requests.Session()

    def post(self, payload: dict[str, Any]) -> HttpAnswer:
        """POST one GraphQL request; network faults come back as classified transient errors."""
        body = json.dumps(payload, separators=(",", ":"))
        try:
            response = self.http.post(
                self.config.appsync_url,
                data=body.encode("utf-8"),
                headers={"content-type": "application/json", "accept": "application/json"},
                auth=self.auth,
                timeout=self.config.request_timeout,
                # never: requests would resend the signed request, session token included, to the new host
                allow_redirects=False,
            )
        except MutationError as refused:  # raised while signing: AssumeRole refused or unavailable
            return HttpAnswer(0, "", refused)
        except requests.Timeout:
            timeout = RequestTimeout(
                f"no response from {self.config.appsync_url} within {self.config.request_timeout:g} s"
            )
            return HttpAnswer(0, "", timeout)
        except requests.ConnectionError as exc:
            return HttpAnswer(0, "", ConnectionFault(f"cannot reach {self.config.appsync_url}: {_root(exc)}"))
        wire = WireAnswer(response.status_code, response.headers.get("Location") or "", response.content)
        _, error = read_answer(wire)
        return HttpAnswer(response.status_code, response.text, error, wire)

    def close(self) -> None:
        self.http.close()


def _root(exc: BaseException) -> str:
    while exc.__cause__ is not None or exc.__context__ is not None:
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]
    return f"{type(exc).__name__}: {exc}"
