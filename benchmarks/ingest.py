"""Push ingest: beats/s through `ose-mesh serve`, against a bare Starlette endpoint served
the same way (uvicorn, one process on CPU 0, no access log) with the same load (wrk on CPU 1).
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import httpx

from benchmarks.common import (
    free_port,
    median,
    serve_bare,
    serve_mesh,
    stop,
    wrk_requests_per_second,
)

SERVICES = 1000
SCRIPT = Path(__file__).with_name("beat.lua")


@dataclass
class IngestResult:
    mesh_per_second: list[float]
    bare_per_second: list[float]

    @property
    def ratio(self) -> float:
        return median(self.mesh_per_second) / median(self.bare_per_second)


def _wrk(url: str, seconds: int) -> float:
    args = ["-t1", "-c64", f"-d{seconds}s", "-s", str(SCRIPT), url]
    return wrk_requests_per_second(args, "beats")


def _serve_mesh(port: int, workdir: str) -> subprocess.Popen[bytes]:
    process = serve_mesh(port, workdir)
    with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
        for i in range(SERVICES):
            client.post("/api/v1/heartbeat/register", json={"service_id": f"svc-{i}"})
    return process


def run(seconds: int = 8, rounds: int = 3) -> IngestResult:
    if not shutil.which("wrk"):
        raise RuntimeError("the ingest benchmark needs wrk: apt-get install wrk")
    result = IngestResult([], [])
    with tempfile.TemporaryDirectory() as workdir:
        mesh_port, bare_port = free_port(), free_port()
        mesh = _serve_mesh(mesh_port, workdir)
        bare = serve_bare(bare_port, "/")
        try:
            for _ in range(rounds):  # alternate, so both see the same machine noise
                result.mesh_per_second.append(_wrk(f"http://127.0.0.1:{mesh_port}", seconds))
                result.bare_per_second.append(_wrk(f"http://127.0.0.1:{bare_port}", seconds))
        finally:
            stop(mesh)
            stop(bare)
    return result
