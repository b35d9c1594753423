"""A fast AppSync stand-in in its own process: SigV4 verified against a fixed key table, a resolver-like answer,
a fixed added latency. The harness whose ceiling is above the worker.

The sandbox's stand-in (moto lookups, GraphQL execution, DynamoDB writes, one interpreter lock shared with moto)
tops out below ``MAX_CONCURRENCY / latency``; this one does only what a benchmark needs, on a bare
``asyncio.Protocol`` HTTP/1.1 server (keep-alive, ``Content-Length`` bodies):

- ``POST /graphql``: the SigV4 signature is checked the way AppSync's front door does (the canonical request
  rebuilt from the received method, path, signed headers -- Host included -- and the SHA-256 of the received
  body; the access key looked up in ``KEYS``, the session token compared, the date within 5 minutes). A bad
  signature is a 403 ``InvalidSignatureException``. Otherwise, after the added latency, it answers as a
  resolver would: ``{"data": {"<field>": {"id": <input.id or a new id>}}}``.
- ``POST /`` with ``Action=AssumeRole`` (botocore's STS query protocol): the key table's one credential set, so
  the worker's real ``AssumedRoleCredentials`` path runs unchanged. Counted; not signature-checked (the caller's
  base credentials are fake).
- ``POST /_control`` (JSON ``{"latency_ms": ...}``) sets the added latency; ``GET /_stats`` returns counters.
- ``POST /_capture`` (JSON ``{"limit": n}``) keeps the next ``n`` GraphQL requests that passed the signature check
  (received headers and body), dropping any kept before; ``GET /_captured`` returns them (bodies base64). The CPU
  bench's floor replays a client's exact requests with them (``benchmarks.cpu``).

Run: ``python -m benchmarks.standin`` prints ``{"port": N}`` on its first line, then serves until stdin closes.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import heapq
import hmac
import json
import os
import re
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from email.utils import formatdate
from typing import Any

REGION = "us-east-1"
ACCESS_KEY = "ASIABENCHSTANDIN0001"
SECRET_KEY = "bench-stand-in-secret-key-0000000000000000"
SESSION_TOKEN = "bench-stand-in-session-token-" + "x" * 300
#: Access key id -> (secret, session token): the only identities the stand-in admits.
KEYS = {ACCESS_KEY: (SECRET_KEY, SESSION_TOKEN)}
ROLE_ARN = "arn:aws:iam::222222222222:role/AppSyncMutationWorker"
MAX_SKEW_SECONDS = 300.0

_FIELD = re.compile(rb"\{\s*([_A-Za-z][_0-9A-Za-z]*)")
_ASSUMED = """<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
<AssumeRoleResult><Credentials><AccessKeyId>{key}</AccessKeyId><SecretAccessKey>{secret}</SecretAccessKey>
<SessionToken>{token}</SessionToken><Expiration>{expiration}</Expiration></Credentials>
<AssumedRoleUser><AssumedRoleId>AROABENCH:{session}</AssumedRoleId>
<Arn>arn:aws:sts::222222222222:assumed-role/AppSyncMutationWorker/{session}</Arn></AssumedRoleUser>
</AssumeRoleResult><ResponseMetadata><RequestId>{request_id}</RequestId></ResponseMetadata></AssumeRoleResponse>"""


class Stats:
    def __init__(self) -> None:
        self.graphql = 0
        self.refused = 0
        self.assume_role = 0
        self.other = 0
        #: Added latency as achieved (response written minus request parsed), GraphQL requests only.
        self.delayed = 0
        self.delay_sum = 0.0
        self.delay_max = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "graphql": self.graphql,
            "refused": self.refused,
            "assume_role": self.assume_role,
            "other": self.other,
            "added_latency_ms_mean": round(self.delay_sum / self.delayed * 1000, 3) if self.delayed else None,
            "added_latency_ms_max": round(self.delay_max * 1000, 3),
        }


class Verifier:
    """SigV4 for service ``appsync`` against ``KEYS``; signing keys cached per (key, date, region)."""

    def __init__(self) -> None:
        self._keys: dict[tuple[str, str, str], bytes] = {}
        self._dates: dict[str, float] = {}  # X-Amz-Date -> epoch seconds (one strptime per second signed)

    def signing_key(self, access_key: str, date: str, region: str) -> bytes | None:
        cached = self._keys.get((access_key, date, region))
        if cached is None:
            entry = KEYS.get(access_key)
            if entry is None:
                return None
            key = ("AWS4" + entry[0]).encode()
            for part in (date, region, "appsync", "aws4_request"):
                key = hmac.new(key, part.encode(), hashlib.sha256).digest()
            self._keys[(access_key, date, region)] = cached = key
        return cached

    def check(self, method: str, path: str, headers: dict[str, str], body: bytes) -> str | None:
        """None if the request is signed right, else what is wrong."""
        authorization = headers.get("authorization")
        if not authorization or not authorization.startswith("AWS4-HMAC-SHA256 "):
            return "Valid authorization header not provided."
        try:
            parts = dict(p.strip().split("=", 1) for p in authorization[17:].split(","))
            access_key, date, region, service, terminator = parts["Credential"].split("/")
            signed = parts["SignedHeaders"].split(";")
            signature = parts["Signature"]
        except (KeyError, ValueError):
            return "Authorization header is malformed."
        if service != "appsync" or terminator != "aws4_request":
            return "Credential should be scoped to service appsync."
        entry = KEYS.get(access_key)
        if entry is None:
            return "The security token included in the request is invalid."
        if headers.get("x-amz-security-token") != entry[1]:
            return "The security token included in the request is invalid."
        amz_date = headers.get("x-amz-date", "")
        when = self._dates.get(amz_date)
        if when is None:
            try:
                when = datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC).timestamp()
            except ValueError:
                return "X-Amz-Date is missing or malformed."
            if len(self._dates) > 10_000:
                self._dates.clear()
            self._dates[amz_date] = when
        if abs(time.time() - when) > MAX_SKEW_SECONDS or not amz_date.startswith(date):
            return "Signature expired or dated outside its scope."
        if "host" not in signed:
            return "Host is not signed."
        canonical_headers = "".join(f"{name}:{' '.join(headers.get(name, '').split())}\n" for name in signed)
        canonical = "\n".join(
            (
                method,
                path,
                "",
                canonical_headers,
                ";".join(signed),
                hashlib.sha256(body).hexdigest(),
            )
        )
        scope = f"{date}/{region}/appsync/aws4_request"
        to_sign = f"AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
        key = self.signing_key(access_key, date, region)
        assert key is not None
        expected = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, signature):
            return (
                "The request signature we calculated does not match the signature you provided. Check your AWS "
                "Secret Access Key and signing method."
            )
        return None


class Server:
    def __init__(self, latency_ms: float = 0.0) -> None:
        self.latency = latency_ms / 1000.0
        self.stats = Stats()
        self.verifier = Verifier()
        self.delays = Delays(self.stats)
        self.capture_limit = 0
        self.captured: list[tuple[dict[str, str], bytes]] = []

    def answer(self, method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, bytes, str]:
        """(status, body, content type) for one request."""
        if path == "/graphql" and method == "POST":
            problem = self.verifier.check(method, path, headers, body)
            if problem is not None:
                self.stats.refused += 1
                kind = "InvalidSignatureException" if "signature" in problem else "UnauthorizedException"
                return 403, json.dumps({"errors": [{"errorType": kind, "message": problem}]}).encode(), kind
            self.stats.graphql += 1
            if len(self.captured) < self.capture_limit:
                self.captured.append((headers, body))
            return 200, resolver_answer(body), "application/json"
        if path == "/" and method == "POST" and b"Action=AssumeRole" in body:
            self.stats.assume_role += 1
            session = re.search(rb"RoleSessionName=([^&]+)", body)
            expiration = (datetime.now(UTC) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
            xml = _ASSUMED.format(
                key=ACCESS_KEY,
                secret=SECRET_KEY,
                token=SESSION_TOKEN,
                expiration=expiration,
                session=session.group(1).decode() if session else "bench",
                request_id=uuid.uuid4(),
            )
            return 200, xml.encode(), "text/xml"
        if path == "/_control" and method == "POST":
            self.latency = float(json.loads(body or b"{}").get("latency_ms", 0)) / 1000.0
            self.stats.delayed, self.stats.delay_sum, self.stats.delay_max = 0, 0.0, 0.0
            return 200, b"{}", "application/json"
        if path == "/_capture" and method == "POST":
            self.capture_limit = int(json.loads(body or b"{}").get("limit", 0))
            self.captured = []
            return 200, b"{}", "application/json"
        if path == "/_captured":
            kept = [{"headers": h, "body": base64.b64encode(b).decode()} for h, b in self.captured]
            return 200, json.dumps({"requests": kept}).encode(), "application/json"
        if path == "/_stats":
            return 200, json.dumps(self.stats.as_dict()).encode(), "application/json"
        self.stats.other += 1
        return 404, b'{"message": "not found"}', "application/json"


def resolver_answer(body: bytes) -> bytes:
    """``{"data": {"<field>": {"id": ...}}}``: the mutation field's data, as an Amplify resolver returns it."""
    try:
        payload = json.loads(body)
        query = payload["query"].encode()
        field = _FIELD.search(query[query.index(b"{") :])
        name = field.group(1).decode() if field else "mutation"
        record_id = ((payload.get("variables") or {}).get("input") or {}).get("id") or uuid.uuid4().hex
    except (ValueError, KeyError, AttributeError, TypeError):
        return b'{"data":null,"errors":[{"message":"Validation error: not a GraphQL request"}]}'
    return b'{"data":{"%s":{"id":%s}}}' % (name.encode(), json.dumps(record_id).encode())


class Delays:
    """Responses held for the added latency, written when due (achieved delays counted in ``Stats``).

    One event-loop timer for the earliest response, not one per response: epoll waits in whole milliseconds,
    rounded up, so a timer per response due a few microseconds after another would be a millisecond late. When
    the timer fires, every response due within ``WINDOW`` is written: each one leaves within half a
    millisecond of its due time, early or late, so the added latency is right on average.
    """

    WINDOW = 0.0005

    def __init__(self, stats: Stats) -> None:
        self.stats = stats
        self.heap: list[tuple[float, int, float, _Connection, bytes]] = []
        self.sequence = 0
        self.timer: asyncio.TimerHandle | None = None
        self.timer_at = float("inf")

    def add(self, connection: _Connection, response: bytes, delay: float) -> None:
        loop = connection.loop
        now = loop.time()
        due = now + delay
        self.sequence += 1
        heapq.heappush(self.heap, (due, self.sequence, now, connection, response))
        self._arm(loop, due)

    def _arm(self, loop: asyncio.AbstractEventLoop, due: float) -> None:
        if due - self.WINDOW < self.timer_at:
            if self.timer is not None:
                self.timer.cancel()
            self.timer_at = due - self.WINDOW
            self.timer = loop.call_at(self.timer_at, self._fire, loop)

    def _fire(self, loop: asyncio.AbstractEventLoop) -> None:
        self.timer, self.timer_at = None, float("inf")
        now = loop.time()
        stats = self.stats
        while self.heap and self.heap[0][0] <= now + self.WINDOW:
            _, _, since, connection, response = heapq.heappop(self.heap)
            delay = now - since
            stats.delayed += 1
            stats.delay_sum += delay
            stats.delay_max = max(stats.delay_max, delay)
            connection.write(response)
        if self.heap:
            self._arm(loop, self.heap[0][0])


class _Connection(asyncio.Protocol):
    def __init__(self, server: Server) -> None:
        self.server = server
        self.buffer = b""
        self.transport: asyncio.Transport | None = None
        self.loop = asyncio.get_running_loop()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buffer[:end].decode("latin-1").split("\r\n")
            headers: dict[str, str] = {}
            for line in head[1:]:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            length = int(headers.get("content-length", "0"))
            if len(self.buffer) < end + 4 + length:
                return
            body = self.buffer[end + 4 : end + 4 + length]
            self.buffer = self.buffer[end + 4 + length :]
            method, _, rest = head[0].partition(" ")
            path = rest.rpartition(" ")[0]
            status, payload, content_type = self.server.answer(method, path, headers, body)
            response = _response(status, payload, content_type)
            delay = self.server.latency if path == "/graphql" else 0.0
            if delay > 0:
                self.server.delays.add(self, response, delay)
            else:
                self.write(response)

    def write(self, response: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(response)

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None


_REASONS = {200: "OK", 403: "Forbidden", 404: "Not Found"}


_DATE = [0, ""]


def _http_date() -> str:
    now = int(time.time())
    if _DATE[0] != now:
        _DATE[:] = [now, formatdate(now, usegmt=True)]
    return str(_DATE[1])


def _response(status: int, body: bytes, content_type: str) -> bytes:
    extra = ""
    if status == 403:
        extra, content_type = f"x-amzn-ErrorType: {content_type}\r\n", "application/json"
    return (
        f"HTTP/1.1 {status} {_REASONS.get(status, 'Error')}\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\nDate: {_http_date()}\r\n{extra}\r\n"
    ).encode() + body


async def serve(latency_ms: float = 0.0) -> None:
    server = Server(latency_ms)
    loop = asyncio.get_running_loop()
    listening = await loop.create_server(lambda: _Connection(server), "127.0.0.1", 0, backlog=1024)
    port = listening.sockets[0].getsockname()[1]
    print(json.dumps({"port": port}), flush=True)
    # serve until the parent closes our stdin
    await loop.run_in_executor(None, sys.stdin.read)
    listening.close()


class StandInProcess:
    """The stand-in as a child process; ``url`` is its GraphQL endpoint, ``endpoint`` its STS endpoint."""

    def __init__(self, latency_ms: float = 0.0, cpus: set[int] | None = None) -> None:
        """``cpus``: the CPUs it may run on (every thread it will have), None for any."""
        import subprocess

        self._process = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.standin", str(latency_ms)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            preexec_fn=None if cpus is None else lambda: os.sched_setaffinity(0, cpus),
        )
        assert self._process.stdout is not None
        self.port = int(json.loads(self._process.stdout.readline())["port"])
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.url = f"{self.endpoint}/graphql"
        self.pid = self._process.pid

    def _call(self, method: str, path: str, body: bytes | None = None) -> Any:
        import urllib.request

        request = urllib.request.Request(f"{self.endpoint}{path}", data=body, method=method)
        with urllib.request.urlopen(request, timeout=10) as answer:
            return json.loads(answer.read())

    def set_latency(self, latency_ms: float) -> None:
        self._call("POST", "/_control", json.dumps({"latency_ms": latency_ms}).encode())

    def stats(self) -> dict[str, Any]:
        return dict(self._call("GET", "/_stats"))

    def capture(self, limit: int) -> None:
        """Keep the next ``limit`` GraphQL requests that pass the signature check (any kept before are dropped)."""
        self._call("POST", "/_capture", json.dumps({"limit": limit}).encode())

    def captured(self) -> list[tuple[dict[str, str], bytes]]:
        """The requests kept since ``capture``, in arrival order: (headers as received, lower-case names; body)."""
        kept = self._call("GET", "/_captured")["requests"]
        return [(r["headers"], base64.b64decode(r["body"])) for r in kept]

    def cpu_seconds(self) -> float:
        """The stand-in process's CPU time so far (user + system), from /proc."""
        try:
            with open(f"/proc/{self.pid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            import os

            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except OSError:
            return 0.0

    def close(self) -> None:
        if self._process.stdin is not None:
            self._process.stdin.close()
        try:
            self._process.wait(timeout=10)
        except Exception:
            self._process.kill()


def frozen_credentials() -> Any:
    from botocore.credentials import ReadOnlyCredentials

    return ReadOnlyCredentials(ACCESS_KEY, SECRET_KEY, SESSION_TOKEN)


if __name__ == "__main__":
    asyncio.run(serve(float(sys.argv[1]) if len(sys.argv) > 1 else 0.0))
