"""`ose-mesh run SERVICE_ID -- command args…`: a cron job or script reports to the mesh.

Like Healthchecks' runners: a beat "started" before, the command, then a beat with its
outcome (exit code 0 is a success) and duration, which the mesh records as the beat's
latency. The command runs whatever happens to the mesh: a mesh that cannot be reached or
refuses a beat costs a warning on stderr, never the job. The exit code is the command's.
"""

from __future__ import annotations

import asyncio
import shlex
import sys
import time

from ose_mesh.client.heartbeat import HeartbeatClient

MAX_REPORT_SECONDS = 10.0  # a beat may not hold the job up longer than this


async def run_job(
    mesh_url: str,
    service_id: str,
    command: list[str],
    *,
    token: str | None = None,
    request_timeout: float = MAX_REPORT_SECONDS / 2,
) -> int:
    """Run `command` between two beats; return its exit code (127: it could not start)."""
    client = HeartbeatClient(
        mesh_url, service_id, token=token, register=False, request_timeout=request_timeout
    )
    shown = shlex.join(command)
    try:
        await _report(client, await client.beat(True, message=f"started: {shown}"[:1000]))
        started = time.perf_counter()
        try:
            process = await asyncio.create_subprocess_exec(*command)
        except OSError as exc:
            code, outcome = 127, f"could not start: {exc.strerror or exc}"
        else:
            code = await process.wait()
            outcome = f"exit code {code}"
        seconds = time.perf_counter() - started
        message = f"{outcome} after {seconds:.1f}s: {shown}"[:1000]
        sent = await client.beat(code == 0, latency_ms=seconds * 1000, message=message)
        await _report(client, sent)
    finally:
        await client.stop()
    return code


async def _report(client: HeartbeatClient, sent: bool) -> None:
    if not sent:
        print(f"ose-mesh run: beat not counted: {client.last_error}", file=sys.stderr)
