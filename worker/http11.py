"""Keep-alive HTTP/1.1 POSTs to one origin: asyncio protocols and ``httptools``' response parser, no client
framework.

The worker sends one kind of request to one host. aiohttp's client path (request and response objects, header
multidicts, cookie jar, tracing hooks, a timer per request) cost about as much CPU as all the worker's own work
and took 140 ms of import at every cold start; what the worker needs from it is small:

- a pool of keep-alive connections to the origin (``https`` through the default TLS context, SNI and host name
  checked), at most ``max_connections`` open, reused last-in first-out; a connection idle for more than
  ``IDLE_SECONDS`` is closed rather than reused (a frozen Lambda container's sockets may have been dropped by the
  far end; aiohttp's ``keepalive_timeout`` is the same 15 s);
- the answer's status, its ``Location`` and its body, parsed by llhttp (``httptools``: Content-Length, chunked,
  read-until-close and ``Connection: close`` all handled there);
- failures that say whether the request could have reached the server: ``ConnectFailed`` (nothing was sent)
  or ``ConnectionDropped`` (the connection ended after the request was written: it may have run).

When the host has several addresses, a connect to one that fails or takes longer than
``CONNECT_ATTEMPT_SECONDS`` goes on to the next; one that failed is tried last while the addresses are cached, and
a connect that fails on every address, or is cut short by the caller, resolves the name again next time.

Cancellation (a timeout around ``post``) closes the connection: a half-read answer never meets the next request.
Redirects are answers like any other (nothing is followed).
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import time
from collections import deque
from typing import NamedTuple, cast
from urllib.parse import urlsplit

import httptools

#: A pooled connection idle for longer than this is closed, not reused.
IDLE_SECONDS = 15.0
#: Resolved addresses are kept this long (aiohttp's ``ttl_dns_cache`` was the same 300 s).
DNS_TTL_SECONDS = 300.0
#: A connect (TCP and TLS) to an address with another behind it is given up after this long: a black-holed
#: address would otherwise hold the request until its timeout and the next address would never be tried.
CONNECT_ATTEMPT_SECONDS = 1.0


class HttpAnswer(NamedTuple):
    status: int
    location: str  # the Location header, "" when absent
    body: bytes


class ConnectFailed(ConnectionError):
    """No connection could be made (DNS, refused, TLS handshake): the request was never sent."""


class ConnectionDropped(ConnectionError):
    """The connection ended, or the answer was not HTTP, after the request was written: it may have run."""


class _Connection(asyncio.Protocol):
    """One keep-alive connection; one request at a time."""

    __slots__ = (
        "_body",
        "_framed",
        "_location",
        "_until_close",
        "closed",
        "idle_since",
        "parser",
        "transport",
        "waiter",
    )

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.waiter: asyncio.Future[HttpAnswer] | None = None
        self.closed = False
        self.idle_since = 0.0
        self._location = ""
        self._body: list[bytes] = []
        self._framed = False  # the answer says where it ends (Content-Length or chunked)
        self._until_close = False  # the answer's head is complete and its body ends with the connection

    # --- asyncio.Protocol -------------------------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # A stream transport whatever the loop (uvloop's are not asyncio.Transport subclasses).
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        if self.waiter is None:  # bytes nobody asked for: this connection cannot be trusted with a request
            self.close()
            return
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(ConnectionDropped(f"the answer is not HTTP/1.1: {exc}"))
            self.close()

    def eof_received(self) -> bool:
        return False  # close our side too

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        waiter = self.waiter
        if waiter is None or waiter.done():
            return
        if self._until_close:  # read-until-close: the end is the answer's end
            self._answer(keep=False)
            return
        why = f": {exc}" if exc else ""
        waiter.set_exception(ConnectionDropped(f"the server closed the connection before answering{why}"))

    # --- httptools callbacks ----------------------------------------------------------------------------------
    def on_message_begin(self) -> None:
        if self.waiter is None:  # a second answer to one request: no later answer here can be trusted
            self.close()

    def on_header(self, name: bytes, value: bytes) -> None:
        lowered = name.lower()
        if lowered == b"location":
            self._location = value.decode("latin-1")
        elif lowered == b"content-length" or (
            lowered == b"transfer-encoding" and value.lower().endswith(b"chunked")
        ):  # any other transfer coding is read until close (llhttp does)
            self._framed = True

    def on_headers_complete(self) -> None:
        self._until_close = not self._framed

    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        if self.parser.get_status_code() < 200:  # an interim answer (1xx): the real one follows
            self._location, self._body, self._framed, self._until_close = "", [], False, False
            return
        self._answer(keep=self.parser.should_keep_alive())

    # --- the pool's side --------------------------------------------------------------------------------------
    def send(self, data: bytes) -> asyncio.Future[HttpAnswer]:
        assert self.transport is not None
        self.waiter = waiter = asyncio.get_running_loop().create_future()
        self.transport.write(data)
        return waiter

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    def abort(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.abort()

    def _answer(self, *, keep: bool) -> None:
        waiter, self.waiter = self.waiter, None
        body = b"".join(self._body) if len(self._body) != 1 else self._body[0]
        answer = HttpAnswer(self.parser.get_status_code(), self._location, body)
        self._location, self._body, self._framed, self._until_close = "", [], False, False
        if not keep:
            self.close()
        if waiter is not None and not waiter.done():
            waiter.set_result(answer)

    def _fail(self, error: Exception) -> None:
        waiter, self.waiter = self.waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_exception(error)


def _expire(waiter: asyncio.Future[HttpAnswer]) -> None:
    if not waiter.done():
        waiter.set_exception(TimeoutError("no answer within the request's time; it may have run"))


class OriginPool:
    """Keep-alive connections to one origin (``url``'s scheme, host and port), POSTing to its path.

    ``host`` is the ``Host`` header (what was signed); ``connect_to`` (host, port) overrides where connections
    go, for a test that serves a URL's name from another port. Bound to the event loop that first uses it.
    """

    def __init__(
        self,
        url: str,
        *,
        host: str,
        max_connections: int,
        connect_to: tuple[str, int] | None = None,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {url!r}")
        self.tls = parts.scheme == "https"
        self.server_name = parts.hostname
        self.address = connect_to or (parts.hostname, parts.port or (443 if self.tls else 80))
        self.max_connections = max(1, max_connections)
        self._head = f"POST {parts.path or '/'} HTTP/1.1\r\nHost: {host}\r\n".encode("latin-1")
        self._idle: list[_Connection] = []
        self._open = 0
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._ssl: ssl.SSLContext | None = None
        self._addresses: list[tuple[str, int]] = []
        self._resolved_at = 0.0
        self.closed = False

    async def post(self, headers: str, body: bytes, timeout: float | None = None) -> HttpAnswer:
        """One POST: ``headers`` are complete ``Name: value\\r\\n`` lines (no Host, no Content-Length).

        ``timeout`` (seconds) bounds the whole request, and the pool knows which side of the write it ran out
        on: waiting for a connection or opening one, ``ConnectFailed`` (nothing was sent); waiting for the
        answer, ``TimeoutError`` (it may have run). A timeout around the call could only say the latter.
        """
        loop = asyncio.get_running_loop()
        when = None if timeout is None else loop.time() + timeout
        # built before a connection is taken: nothing between taking one and the try below can fail
        data = b"%s%sContent-Length: %d\r\n\r\n%s" % (self._head, headers.encode("latin-1"), len(body), body)
        connection = self._idle_connection()
        if connection is None:
            connection = await self._acquire_by(when)
        timer = None
        try:
            waiter = connection.send(data)
            # a timer on the answer itself: cheaper than cancelling the task; the connection is aborted below
            if when is not None:
                timer = loop.call_at(when, _expire, waiter)
            answer = await waiter
        except BaseException:  # timed out, cancelled or dropped: never reuse what may hold half an answer
            connection.abort()
            self._release(connection)
            raise
        finally:
            if timer is not None:
                timer.cancel()
        self._release(connection)
        return answer

    async def close(self) -> None:
        self.closed = True
        idle, self._idle = self._idle, []
        for connection in idle:
            connection.close()
        self._open -= len(idle)  # those in use are counted out as they come back
        waiters, self._waiters = self._waiters, deque()
        for waiter in waiters:  # posts waiting for a connection fail now (``_acquire`` sees ``closed``)
            if not waiter.done():
                waiter.set_result(None)
        await asyncio.sleep(0)  # let the transports finish closing on this loop

    # --- connections ------------------------------------------------------------------------------------------
    def _idle_connection(self) -> _Connection | None:
        """A kept-alive connection ready now (the common case: no coroutine, no timer), or None."""
        if self.closed:
            raise ConnectFailed("the connection pool is closed")
        now = time.time()  # wall time: a frozen container's idle time counts
        while self._idle:
            connection = self._idle.pop()
            if not connection.closed and now - connection.idle_since <= IDLE_SECONDS:
                return connection
            connection.close()
            self._open -= 1
        return None

    async def _acquire_by(self, when: float | None) -> _Connection:
        """``_acquire``, given up at ``when`` (the loop's clock) as ``ConnectFailed``: nothing was sent."""
        if when is None:
            return await self._acquire()
        try:
            async with asyncio.timeout_at(when):
                return await self._acquire()
        except TimeoutError:
            raise ConnectFailed(
                f"no connection to {self.server_name} within the request's time; the request was never sent"
            ) from None

    async def _acquire(self) -> _Connection:
        connection = self._idle_connection()
        if connection is not None:
            return connection
        while self._open >= self.max_connections:
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                await waiter
            except BaseException:  # cancelled: a wake-up already given to this waiter goes to the next one
                if waiter.done() and not waiter.cancelled():
                    self._wake()
                raise
            if self.closed:
                raise ConnectFailed("the connection pool is closed")
            if self._idle:
                return await self._acquire()
        self._open += 1
        try:
            return await self._connect()
        except BaseException:
            self._open -= 1
            self._wake()
            raise

    def _release(self, connection: _Connection) -> None:
        if connection.closed or self.closed:
            self._open -= 1
            connection.close()
        else:
            connection.idle_since = time.time()
            self._idle.append(connection)
        self._wake()

    def _wake(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    async def _connect(self) -> _Connection:
        loop = asyncio.get_running_loop()
        addresses = await self._resolve(loop)
        if self.tls and self._ssl is None:
            self._ssl = ssl.create_default_context()
        last: OSError | None = None
        try:
            for index, (host, port) in enumerate(addresses):
                # Every address but the last is given up after a while; the last has the caller's time.
                bound = CONNECT_ATTEMPT_SECONDS if index < len(addresses) - 1 else None
                try:
                    async with asyncio.timeout(bound):
                        _, connection = await loop.create_connection(
                            _Connection,
                            host,
                            port,
                            ssl=self._ssl if self.tls else None,
                            server_hostname=self.server_name if self.tls else None,
                        )
                except OSError as exc:  # TimeoutError and ssl.SSLError too: nothing was sent
                    last = exc
                    continue
                if index and self._addresses is addresses:  # those that failed are tried last from now on
                    self._addresses = addresses[index:] + addresses[:index]
                return connection
        except BaseException:  # cut short by the caller: the address it was stuck on may be stale
            self._addresses = []
            raise
        self._addresses = []  # a stale address may be why: resolve again next time
        raise ConnectFailed(f"cannot connect to {self.server_name}: {last}") from last

    async def _resolve(self, loop: asyncio.AbstractEventLoop) -> list[tuple[str, int]]:
        if self._addresses and time.monotonic() - self._resolved_at < DNS_TTL_SECONDS:
            return self._addresses
        host, port = self.address
        try:
            infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as exc:
            raise ConnectFailed(f"cannot resolve {host}: {exc}") from exc
        self._addresses = [(str(info[4][0]), int(info[4][1])) for info in infos]
        self._resolved_at = time.monotonic()
        return self._addresses
