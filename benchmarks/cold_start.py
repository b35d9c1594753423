"""Cold start of the worker: fresh interpreter -> import the handler module -> build its clients.

Each sample is a new process (what a new Lambda container pays). Reports the median wall time of the import
alone and of import + ``WorkerRuntime`` construction (config, logging, botocore session, STS client, connection pool
objects; no network), peak RSS, and which heavy CLI-only modules the handler pulled in (there must be none).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from typing import Any

PROBE = r"""
import json, resource, sys, time
def peak_rss_mb():
    # VmHWM belongs to this process's memory map; ru_maxrss survives execve and would report the parent's
    # peak when the parent (the benchmark, holding the sandbox) is bigger.
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
t0 = time.perf_counter()
import worker.handler
t1 = time.perf_counter()
from worker.runtime import WorkerRuntime
runtime = WorkerRuntime.from_environment()
t2 = time.perf_counter()
heavy = sorted(m for m in ("requests", "requests_aws4auth", "rich", "mutation_cli", "sandbox") if m in sys.modules)
other = sorted(m for m in ("boto3", "moto", "aiohttp", "gql", "tenacity", "structlog", "yaml") if m in sys.modules)
print(json.dumps({"import_ms": (t1 - t0) * 1000, "ready_ms": (t2 - t0) * 1000,
                  "peak_rss_mb": peak_rss_mb(), "heavy": heavy,
                  "other": other, "modules": len(sys.modules), "where": worker.handler.__file__}))
"""

ENVIRONMENT = {
    "APPSYNC_URL": "https://abcdefghijklmnopqrstuvwxyz.appsync-api.us-east-1.amazonaws.com/graphql",
    "MUTATOR_ROLE_ARN": "arn:aws:iam::222222222222:role/AppSyncMutationWorker",
    "MUTATOR_SESSION_NAME": "appsync-mutation-worker",
    "ALLOWED_MUTATIONS": "createTodo,updateTodo,deleteTodo",
    "AWS_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "ASIAEXAMPLEEXAMPLE00",
    "AWS_SECRET_ACCESS_KEY": "not-a-real-secret-used-only-for-the-cold-start-probe",
    "AWS_SESSION_TOKEN": "not-a-real-token",
    "AWS_LAMBDA_FUNCTION_NAME": "cold-start-probe",
    "LOG_LEVEL": "WARNING",
}


#: Heavy modules only the operator CLI (or the sandbox) needs: the handler must import none of them.
CLI_ONLY_MODULES = ("requests", "requests_aws4auth", "rich", "mutation_cli", "sandbox")


def measure(
    samples: int = 7, python: str = sys.executable, path: str | None = None, *, isolated: bool = False
) -> dict[str, Any]:
    """Median over ``samples`` fresh processes (after one discarded run that warms the OS file cache).

    ``isolated``: only the standard library and ``path`` are importable (``python -S``, run from ``path``):
    a Lambda-like package directory, without the dev venv's site-packages.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and k != "PYTHONPATH"}
    env.update(ENVIRONMENT)
    command = [python, "-c", PROBE]
    cwd = None
    if path:
        env["PYTHONPATH"] = path
    if isolated:
        if not path:
            raise ValueError("isolated needs the package path")
        command = [python, "-S", "-c", PROBE]
        cwd = path
    runs = []
    for _ in range(samples + 1):
        out = subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True, check=True).stdout
        runs.append(json.loads(out.strip().splitlines()[-1]))
    runs = runs[1:]
    return {
        "samples": samples,
        "isolated": isolated,
        "import_ms_median": round(statistics.median(r["import_ms"] for r in runs), 1),
        "ready_ms_median": round(statistics.median(r["ready_ms"] for r in runs), 1),
        "ready_ms_min": round(min(r["ready_ms"] for r in runs), 1),
        "peak_rss_mb_median": round(statistics.median(r["peak_rss_mb"] for r in runs), 1),
        "peak_rss_mb_max": round(max(r["peak_rss_mb"] for r in runs), 1),
        "cli_only_modules_imported": runs[0]["heavy"],
        "other_modules_imported": runs[0]["other"],
        "modules_loaded": runs[0]["modules"],
        "handler_file": runs[0]["where"],
    }


if __name__ == "__main__":
    print(json.dumps(measure(), indent=2))
