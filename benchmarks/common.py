"""Helpers shared by the benchmarks: CPU pinning, child processes, percentiles, null stores."""

from __future__ import annotations

import contextlib
import ctypes
import gc
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path

import httpx

from ose_mesh.core import Rollup
from ose_mesh.domain import HealthStatus, StatusChange


def pin_to_cpu(cpu: int) -> None:
    """Keep this process on one core, so 'per core' figures mean what they say."""
    if hasattr(os, "sched_setaffinity") and cpu < (os.cpu_count() or 1):
        os.sched_setaffinity(0, {cpu})


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def spawn(
    args: Sequence[str], cpu: int, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """Start a child process pinned to `cpu` (taskset). Its output goes to a temporary file:
    a pipe nobody reads fills up after 64 KB of log lines and then blocks the child."""
    command = ["taskset", "-c", str(cpu), *args] if _has_taskset() else list(args)
    with tempfile.TemporaryFile() as log:  # the child keeps its own handle on it
        return subprocess.Popen(
            command, env={**os.environ, **(env or {})}, stdout=subprocess.DEVNULL, stderr=log
        )


def init_database(catalog: dict[str, object], folder: Path, name: str) -> str:
    """A fresh SQLite database holding `catalog`, written by `ose-mesh init`; its URL."""
    database = f"sqlite+aiosqlite:///{folder / f'{name}.db'}"
    path = folder / f"{name}.json"
    path.write_text(json.dumps(catalog))
    command = ["init", "--catalog", str(path), "--database-url", database]
    subprocess.run([python(), "-m", "ose_mesh.cli", *command], check=True, capture_output=True)
    return database


def wait_http(url: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {seconds} s")


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def serve_mesh(
    port: int, folder: str, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """`ose-mesh serve` on CPU 0 on a fresh SQLite file in `folder`, with no access log,
    once it answers."""
    url = f"sqlite+aiosqlite:///{folder}/bench.db"
    args = [python(), "-m", "ose_mesh.cli", "serve", "--port", str(port), "--no-access-log"]
    process = spawn([*args, "--database-url", url, "--log-level", "warning"], cpu=0, env=env)
    wait_http(f"http://127.0.0.1:{port}/health")
    return process


def serve_bare(port: int, ready_path: str) -> subprocess.Popen[bytes]:
    """The bare Starlette baselines (benchmarks/bare.py), served the same way."""
    args = [python(), "-m", "uvicorn", "benchmarks.bare:app", "--port", str(port)]
    process = spawn([*args, "--no-access-log", "--log-level", "warning"], cpu=0)
    wait_http(f"http://127.0.0.1:{port}{ready_path}")
    return process


def wrk_requests_per_second(args: Sequence[str], what: str) -> float:
    """Run wrk (on CPU 1 when taskset is there) and return its requests/s; a refused
    request (non-2xx) fails the benchmark, naming `what` was refused."""
    command = ["wrk", *args]
    if shutil.which("taskset"):
        command = ["taskset", "-c", "1", *command]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    if errors:
        raise RuntimeError(f"{errors.group(1)} {what} were refused:\n{output}")
    match = re.search(r"Requests/sec:\s+([\d.]+)", output)
    assert match, output
    return float(match.group(1))


def percentile(values: Sequence[float], fraction: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def rss_bytes() -> int:
    """Resident memory after a full collection and returning freed memory to the OS."""
    gc.collect()
    with contextlib.suppress(OSError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def python() -> str:
    return sys.executable


def _has_taskset() -> bool:
    return subprocess.run(["which", "taskset"], capture_output=True).returncode == 0


class NullHistory:
    """A HistoryRepository that keeps nothing: benchmarks measure the monitor, not a DB."""

    async def add_transitions(self, changes: Sequence[StatusChange]) -> None:
        return None

    async def list_transitions(self, service_id: str, limit: int) -> list[StatusChange]:
        return []

    async def transitions_since(self, since: datetime, limit: int) -> list[StatusChange]:
        return []

    async def last_statuses(self) -> dict[str, HealthStatus]:
        return {}

    async def add_rollups(self, rollups: Sequence[Rollup]) -> None:
        return None

    async def uptime_since(self, since: datetime) -> dict[str, tuple[int, int]]:
        return {}

    async def daily_uptime(
        self, service_ids: Sequence[str], since: datetime
    ) -> dict[str, dict[date, tuple[int, int]]]:
        return {}

    async def minute_rollups(self, service_id: str, since: datetime) -> list[Rollup]:
        return []


def write_section(lines: list[str], benchmarks_md: Path, module: str) -> None:
    """Put one section (its `## ` title first) into BENCHMARKS.md in place of the one
    there, up to the next section; the others stay as their last run wrote them. Says when
    and at which commit it was written."""
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
    ).stdout.strip()
    stamp = (
        f"Written by `python -m {module} --write` on "
        f"{time.strftime('%Y-%m-%d %H:%M', time.gmtime())} UTC at commit `{commit}`, apart "
        "from the other sections."
    )
    text = benchmarks_md.read_text()
    head, found, rest = text.partition(lines[0] + "\n")
    _, next_title, tail = rest.partition("\n## ")
    after = f"\n## {tail}" if found and next_title else ""
    if not found:
        head = text.rstrip("\n") + "\n\n"
    benchmarks_md.write_text(head + "\n".join([lines[0], "", stamp, *lines[1:]]) + "\n" + after)
