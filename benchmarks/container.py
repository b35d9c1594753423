"""A Lambda container in its own process: the handler runs here, the sandbox stays in the parent.

In one process, the sandbox (moto and the AppSync stand-in) and the worker share one interpreter lock, so the
benchmark would measure their sum. On Lambda the worker has its own machine; a child process gives it its own
core. Protocol: one JSON object per line on stdin (``{"event": ..., "timeout_ms": ...}``), one per line back
(``{"response": ..., "wall": s, "cpu": s, "rss_mb": MB}``: CPU of the whole process, every thread, and its
resident set after the invocation; or ``{"error": "..."}``); the handler's own log lines go to
/dev/null (CloudWatch's job, not the benchmark's).
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
import time
from typing import IO, Any

from benchmarks.common import rss_mb
from sandbox.lambda_runtime import LambdaContext


def serve(handler_path: str) -> None:
    protocol: IO[str] = os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1)
    sys.stdout = open(os.devnull, "w")  # noqa: SIM115 (the container's lifetime)
    module, _, name = handler_path.partition(":")
    handler = getattr(importlib.import_module(module), name)
    for line in sys.stdin:
        request = json.loads(line)
        context = LambdaContext(
            function_name=request.get("function_name", "bench"), timeout_ms=request["timeout_ms"]
        )
        cpu0, wall0 = time.process_time(), time.perf_counter()
        try:
            response: Any = handler(request["event"], context)
            answer = {"response": response}
        except Exception as exc:  # Lambda: the whole batch failed
            answer = {"error": f"{type(exc).__name__}: {exc}"}
        answer.update(wall=time.perf_counter() - wall0, cpu=time.process_time() - cpu0, rss_mb=rss_mb())
        protocol.write(json.dumps(answer) + "\n")
    reset = getattr(sys.modules.get("worker.handler"), "reset_runtime", None)
    if reset is not None:  # close the connection pool: no "Unclosed client session" at exit
        reset()


class ContainerProcess:
    """Calls a handler in a child process with ``environment`` as its whole AWS environment."""

    def __init__(self, handler_path: str, environment: dict[str, str]) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(environment)
        self._process = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.container", handler_path],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            text=True,
            bufsize=1,
        )
        self.last_wall = 0.0
        self.last_cpu = 0.0
        self.last_rss_mb = 0.0

    def __call__(self, event: dict[str, Any], context: Any) -> Any:
        assert self._process.stdin is not None and self._process.stdout is not None
        request = {"event": event, "timeout_ms": context.get_remaining_time_in_millis()}
        self._process.stdin.write(json.dumps(request) + "\n")
        line = self._process.stdout.readline()
        if not line:
            raise RuntimeError("the container process exited")
        answer = json.loads(line)
        self.last_wall, self.last_cpu = answer["wall"], answer["cpu"]
        self.last_rss_mb = answer.get("rss_mb", 0.0)
        if "error" in answer:
            return RuntimeError(answer["error"])
        return answer["response"]

    def close(self) -> None:
        if self._process.stdin is not None:
            self._process.stdin.close()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()


if __name__ == "__main__":
    serve(sys.argv[1])
