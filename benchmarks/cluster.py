"""Cluster mode: three `ose-mesh serve --cluster` replicas on this machine's PostgreSQL and
RabbitMQ (a database and a vhost of their own), with the integration suite's harness
(tests/integration/cluster.py): a fleet of HTTP health endpoints that notes which replica
probes it and when.

Measured: takeover after SIGKILL (5 kills of the replica owning most services), probes of
one service by two replicas less than half an interval apart (duplicates), a transition's
latency to a GraphQL subscriber on another replica, beats through a non-owner against the
owner in the same run, and resident memory per service on each replica.

`python -m benchmarks.cluster` runs this alone and prints the figures.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import httpx
import websockets
from tests.integration.cluster import INTERVAL, Fleet, Replicas

from benchmarks.common import median, percentile, write_section
from ose_mesh.core.shards import shard_of

IDS = ["r1", "r2", "r3"]
HTTP_SERVICES = 300
PUSH_SERVICES = 60
MEMORY_SERVICES = 3000
KILLS = 5
TRANSITIONS = 100
REGISTRATIONS = 100
BEAT_SECONDS = 4.0
BEAT_ROUNDS = 3
BEAT_CONNECTIONS = 32


@dataclass
class ClusterResult:
    takeover_seconds: list[float] = field(default_factory=list)
    duplicate_probes: int = 0
    probes_during_kills: int = 0
    transition_ms: list[float] = field(default_factory=list)
    registration_ms: list[float] = field(default_factory=list)
    owner_beats_per_second: list[float] = field(default_factory=list)
    forwarded_beats_per_second: list[float] = field(default_factory=list)
    owner_beat_ms: tuple[float, float] = (0.0, 0.0)
    forwarded_beat_ms: tuple[float, float] = (0.0, 0.0)
    bytes_per_service: dict[str, float] = field(default_factory=dict)

    @property
    def beat_ratio(self) -> float:
        return median(self.forwarded_beats_per_second) / median(self.owner_beats_per_second)


@contextmanager
def _own_database_and_vhost() -> Iterator[tuple[str, str]]:
    name = f"ose_bench_cluster_{uuid.uuid4().hex[:8]}"
    admin = "postgresql://postgres@127.0.0.1:5432/postgres"

    async def sql(statement: str) -> None:
        connection = await asyncpg.connect(admin)
        try:
            await connection.execute(statement)
        finally:
            await connection.close()

    asyncio.run(sql(f'CREATE DATABASE "{name}"'))
    ctl = ["rabbitmqctl", "-q"]
    subprocess.run([*ctl, "add_vhost", name], check=True, capture_output=True)
    subprocess.run(
        [*ctl, "set_permissions", "-p", name, "guest", ".*", ".*", ".*"],
        check=True,
        capture_output=True,
    )
    try:
        yield (
            f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}",
            f"amqp://guest:guest@127.0.0.1:5672/{name}",
        )
    finally:
        asyncio.run(sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        subprocess.run([*ctl, "delete_vhost", name], capture_output=True)


def _rss(pid: int) -> int:
    with open(f"/proc/{pid}/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _balanced(replicas: Replicas) -> None:
    deadline = time.monotonic() + 60
    while True:
        view = replicas.cluster(IDS[0])
        held = [r["shards"] for r in view["replicas"]]
        if len(held) == len(IDS) and min(held) > 0 and view["unowned_services"] == 0:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"the cluster did not balance: {view}")
        time.sleep(0.2)


async def _owners(database_url: str) -> dict[int, str]:
    """Which replica holds each shard, from the lease table."""
    connection = await asyncpg.connect(database_url.replace("+asyncpg", ""))
    try:
        rows = await connection.fetch(
            "SELECT shard, owner FROM shard_leases WHERE expires_at > now()"
        )
    finally:
        await connection.close()
    return {row["shard"]: row["owner"] for row in rows}


def _register(replicas: Replicas, fleet: Fleet) -> None:
    with httpx.Client(timeout=30) as client:
        for n in range(HTTP_SERVICES):
            body = {"service_id": f"web-{n:03d}", "health_url": fleet.url(f"web-{n:03d}")}
            client.post(f"{replicas.url(IDS[n % 3])}/api/v1/heartbeat/register", json=body)
        for n in range(PUSH_SERVICES):
            body = {"service_id": f"push-{n:02d}", "interval_seconds": 600}
            client.post(f"{replicas.url(IDS[n % 3])}/api/v1/heartbeat/register", json=body)


def _takeovers(replicas: Replicas, fleet: Fleet, result: ClusterResult) -> None:
    started = time.monotonic()
    for _ in range(KILLS):
        _balanced(replicas)
        time.sleep(INTERVAL + 1)
        view = replicas.cluster(IDS[0])
        victim = max(view["replicas"], key=lambda r: r["owned_services"])["id"]
        recent = fleet.by_service(time.monotonic() - INTERVAL - 0.5)
        theirs = {sid for sid, probes in recent.items() if probes[-1].replica == victim}
        replicas.members[victim].kill()
        killed = time.monotonic()
        while True:
            after = fleet.by_service(killed)
            if all(sid in after for sid in theirs):
                result.takeover_seconds.append(
                    max(min(p.at for p in after[sid]) for sid in theirs) - killed
                )
                break
            if time.monotonic() - killed > 60:
                raise RuntimeError("no takeover within 60 s")
            time.sleep(0.05)
        replicas.start(victim)  # and the shards move back: counted for duplicates too
    _balanced(replicas)
    time.sleep(INTERVAL + 1)
    for probes in fleet.by_service(started).values():
        result.probes_during_kills += len(probes)
        for first, second in itertools.pairwise(probes):
            if first.replica != second.replica and second.at - first.at < INTERVAL / 2:
                result.duplicate_probes += 1


async def _transitions(replicas: Replicas, database_url: str, result: ClusterResult) -> None:
    """Beats sent to a push service's owner; the transition timed at a subscriber on
    another replica."""
    owners = await _owners(database_url)
    received: dict[tuple[str, str], float] = {}
    awaited: list[tuple[str, str]] = []  # the (replica, service) the loop waits for
    arrived = asyncio.Event()

    async def listen(replica_id: str) -> None:
        url = replicas.url(replica_id).replace("http://", "ws://") + "/graphql"
        async with websockets.connect(url, subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
            await ws.send(json.dumps({"type": "connection_init"}))
            await ws.recv()
            query = "subscription { serviceStatusChanged { serviceId current } }"
            await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": query}}))
            while True:
                message = json.loads(await ws.recv())
                change = message["payload"]["data"]["serviceStatusChanged"]
                key = (replica_id, change["serviceId"])
                received.setdefault(key, time.monotonic())
                if awaited and key == awaited[0]:
                    arrived.set()

    listeners = [asyncio.create_task(listen(r)) for r in IDS]
    await asyncio.sleep(1)
    services = [f"push-{n:02d}" for n in range(PUSH_SERVICES)]
    async with httpx.AsyncClient(timeout=10) as client:
        for n in range(TRANSITIONS):
            service_id = services[n % len(services)]
            owner = owners[shard_of(service_id)]
            other = next(r for r in IDS if r != owner)
            for key in [k for k in received if k[1] == service_id]:
                del received[key]
            awaited[:] = [(other, service_id)]
            arrived.clear()
            sent = time.monotonic()
            await client.post(
                f"{replicas.url(owner)}/api/v1/heartbeat/{service_id}/beat",
                json={"ok": n // len(services) % 2 == 1},  # each beat changes the status
            )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(arrived.wait(), 5)
            if (other, service_id) in received:
                result.transition_ms.append((received[(other, service_id)] - sent) * 1000)
    for task in listeners:
        task.cancel()
    await asyncio.gather(*listeners, return_exceptions=True)


def _wrk(url: str, services: list[str], workdir: Path) -> tuple[float, float, float]:
    """(beats/s, p50 ms, p99 ms) of `wrk` beating for `services` at random."""
    script = workdir / "beats.lua"
    names = ", ".join(f'"{name}"' for name in services)
    script.write_text(
        'wrk.method = "POST"\n'
        'wrk.headers["Content-Type"] = "application/json"\n'
        "wrk.body = '{\"latency_ms\": 12.5}'\n"
        f"local services = {{{names}}}\n"
        "request = function()\n"
        '  local path = "/api/v1/heartbeat/" .. services[math.random(#services)] .. "/beat"\n'
        "  return wrk.format(nil, path)\n"
        "end\n"
    )
    command = ["wrk", "-t1", f"-c{BEAT_CONNECTIONS}", f"-d{BEAT_SECONDS:g}s", "--latency"]
    output = subprocess.run(
        [*command, "-s", str(script), url], capture_output=True, text=True, check=True
    ).stdout
    if errors := re.search(r"Non-2xx or 3xx responses: (\d+)", output):
        raise RuntimeError(f"{errors.group(1)} beats were refused:\n{output}")
    rate = re.search(r"Requests/sec:\s+([\d.]+)", output)
    p50 = re.search(r"50%\s+([\d.]+)(us|ms|s)", output)
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", output)
    if not (rate and p50 and p99):
        raise RuntimeError(f"unexpected wrk output:\n{output}")
    return float(rate.group(1)), _ms(p50), _ms(p99)


def _ms(match: re.Match[str]) -> float:
    return float(match.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[match.group(2)]


async def _beats(
    replicas: Replicas, database_url: str, result: ClusterResult, workdir: Path
) -> None:
    """wrk beats for push services owned by r1, through r1 (the owner) and through r2
    (which forwards them), rounds alternating."""
    owners = await _owners(database_url)
    mine = [
        f"push-{n:02d}" for n in range(PUSH_SERVICES) if owners[shard_of(f"push-{n:02d}")] == "r1"
    ]
    owner_ms: list[tuple[float, float]] = []
    forwarded_ms: list[tuple[float, float]] = []
    for _ in range(BEAT_ROUNDS):
        rate, p50, p99 = await asyncio.to_thread(_wrk, replicas.url("r1"), mine, workdir)
        result.owner_beats_per_second.append(rate)
        owner_ms.append((p50, p99))
        rate, p50, p99 = await asyncio.to_thread(_wrk, replicas.url("r2"), mine, workdir)
        result.forwarded_beats_per_second.append(rate)
        forwarded_ms.append((p50, p99))
    result.owner_beat_ms = (median([a for a, _ in owner_ms]), median([b for _, b in owner_ms]))
    result.forwarded_beat_ms = (
        median([a for a, _ in forwarded_ms]),
        median([b for _, b in forwarded_ms]),
    )


def _registrations(replicas: Replicas, result: ClusterResult) -> None:
    """A registration answered by one replica, timed until another one shows it."""
    with httpx.Client(timeout=10) as client:
        for n in range(REGISTRATIONS):
            here, there = IDS[n % 3], IDS[(n + 1) % 3]
            body = {"service_id": f"new-{n:03d}", "interval_seconds": 600}
            client.post(f"{replicas.url(here)}/api/v1/heartbeat/register", json=body)
            answered = time.monotonic()
            url = f"{replicas.url(there)}/api/v1/heartbeat/status/new-{n:03d}"
            while client.get(url).status_code != 200:
                if time.monotonic() - answered > 10:
                    raise RuntimeError(f"new-{n:03d} not seen on {there} within 10 s")
            result.registration_ms.append((time.monotonic() - answered) * 1000)


def _memory(replicas: Replicas, result: ClusterResult) -> None:
    pids = {r: replicas.members[r].process.pid for r in IDS}  # type: ignore[union-attr]
    before = {r: _rss(pid) for r, pid in pids.items()}
    with httpx.Client(timeout=30) as client:
        for n in range(MEMORY_SERVICES):
            body = {"service_id": f"mem-{n:05d}", "interval_seconds": 3600}
            client.post(f"{replicas.url(IDS[n % 3])}/api/v1/heartbeat/register", json=body)
    time.sleep(3)  # every replica has read them all back
    for replica_id, pid in pids.items():
        result.bytes_per_service[replica_id] = (_rss(pid) - before[replica_id]) / MEMORY_SERVICES


def run() -> ClusterResult:
    result = ClusterResult()
    with (
        _own_database_and_vhost() as (database_url, rabbitmq_url),
        tempfile.TemporaryDirectory() as workdir,
    ):
        fleet = Fleet()
        replicas = Replicas(
            database_url, rabbitmq_url, Path(workdir), OSE_MESH_BEATS_PER_SECOND="100000"
        )
        try:
            for replica_id in IDS:
                replicas.start(replica_id)
            _register(replicas, fleet)
            _takeovers(replicas, fleet, result)
            asyncio.run(_transitions(replicas, database_url, result))
            _registrations(replicas, result)
            asyncio.run(_beats(replicas, database_url, result, Path(workdir)))
            _memory(replicas, result)
        finally:
            replicas.stop_all()
            fleet.close()
    return result


def section(r: ClusterResult) -> list[str]:
    owner_p50, owner_p99 = r.owner_beat_ms
    forwarded_p50, forwarded_p99 = r.forwarded_beat_ms
    return [
        "## Cluster mode (three replicas, PostgreSQL and RabbitMQ on this machine)",
        "",
        f"Three `ose-mesh serve --cluster` processes, {HTTP_SERVICES} HTTP services checked "
        f"every {INTERVAL:g} s and {PUSH_SERVICES} push services, with the integration suite's "
        "fleet (`benchmarks/cluster.py`). The replicas, PostgreSQL, RabbitMQ, the fleet and the "
        "load share the machine's two cores.",
        "",
        "| what | figure | target |",
        "| --- | ---: | --- |",
        f"| takeover after SIGKILL of the busiest replica: every one of its services probed "
        f"by a survivor (median, max of {len(r.takeover_seconds)}) | "
        f"{median(r.takeover_seconds):.1f} s, {max(r.takeover_seconds):.1f} s "
        f"| ≤ {2 * INTERVAL:g} s |",
        f"| probes of one service by two replicas under {INTERVAL / 2:g} s apart, over the "
        "kills and the rejoins that move shards back "
        f"| {r.duplicate_probes} of {r.probes_during_kills:,} probes | 0 |",
        f"| transition → GraphQL subscriber on another replica, p50 / p99 "
        f"({len(r.transition_ms)} transitions) | {percentile(r.transition_ms, 0.5):.1f} / "
        f"{percentile(r.transition_ms, 0.99):.1f} ms | ≤ 1 s |",
        f"| registration answered by one replica → shown by another, p50 / p99 "
        f"({len(r.registration_ms)}) | {percentile(r.registration_ms, 0.5):.1f} / "
        f"{percentile(r.registration_ms, 0.99):.1f} ms | ≤ 1 s |",
        f"| beats/s through the owner, per round | "
        f"{', '.join(f'{v:,.0f}' for v in r.owner_beats_per_second)} | |",
        f"| beats/s through a non-owner (forwarded over RabbitMQ), per round | "
        f"{', '.join(f'{v:,.0f}' for v in r.forwarded_beats_per_second)} | |",
        f"| non-owner / owner, median beats/s | **{r.beat_ratio:.2f}** | |",
        f"| beat latency p50 / p99: owner; non-owner | {owner_p50:.1f} / {owner_p99:.1f} ms; "
        f"{forwarded_p50:.1f} / {forwarded_p99:.1f} ms | |",
        f"| resident memory per service ({MEMORY_SERVICES:,} push services), per replica | "
        + ", ".join(f"{k}: {v:,.0f} B" for k, v in r.bytes_per_service.items())
        + " | ≤ 5 KB |",
        "",
        f"Beats: `wrk -c{BEAT_CONNECTIONS}` for {BEAT_SECONDS:g} s a round, owner and non-owner "
        "alternating (median p50 and p99 of the rounds). A non-owner sends the beats for "
        "one owner that arrive together as one message and answers each with the owner's "
        "answer. Every replica keeps every "
        "service's state (a mirror of what the owner reports), so memory per service is "
        "paid on each replica; probing and its sockets only by the owner.",
    ]


if __name__ == "__main__":
    figures = section(run())
    print("\n".join(figures))
    if "--write" in sys.argv:
        write_section(figures, Path(__file__).parents[1] / "BENCHMARKS.md", "benchmarks.cluster")
