"""moto in server mode, in this process, on 127.0.0.1 and a free port, behind the STS gate and SQS's limits.

A request goes through ``StsGate`` (trust and identity policies for ``sts:AssumeRole``), then ``SqsSenders`` (the
real ``SenderId`` of every message sent), then ``SqsLimits`` (message size with attributes, and refused
characters, for ``SendMessage``/``SendMessageBatch``), then moto.
"""

from __future__ import annotations

import threading
from typing import Any

from sandbox.aws.identities import SandboxIdentities
from sandbox.aws.sqs_limits import SqsLimits
from sandbox.aws.sqs_senders import SqsSenders
from sandbox.aws.sts_gate import StsGate


class MotoServer:
    def __init__(self, identities: SandboxIdentities) -> None:
        self.identities = identities
        self.gate: StsGate | None = None
        self.sqs_limits: SqsLimits | None = None
        self._server: Any = None
        self._thread: threading.Thread | None = None

    def start(self) -> str:
        from moto.moto_server.threaded_moto_server import MotoRequestHandler
        from moto.server import DomainDispatcherApplication, create_backend_app
        from werkzeug.serving import make_server

        class QuietHandler(MotoRequestHandler):
            def log_request(self, *args: Any, **kwargs: Any) -> None:  # one line per call drowns the output
                pass

        self.sqs_limits = SqsLimits(DomainDispatcherApplication(create_backend_app))
        self.gate = StsGate(SqsSenders(self.sqs_limits, self.identities), self.identities)
        self._server = make_server("127.0.0.1", 0, self.gate, threaded=True, request_handler=QuietHandler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="sandbox-moto", daemon=True)
        self._thread.start()
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server, self._thread = None, None
