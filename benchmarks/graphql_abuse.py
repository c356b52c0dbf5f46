"""Hostile GraphQL documents: the server CPU each one costs, and /health while 20 clients
send the worst of them to a real server (ose-mesh serve on CPU 0, the clients on CPU 1).

The documents are the worst we could construct against the guard (api/graphql/permissions):
the reviewer's fragment fan-out, and the largest documents that pass each limit or just
fail it. A document costs parse + measure + validate (+ execution when accepted); the
in-process figure is the CPU time of `schema.execute` for it, median and most of 5 runs.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import httpx
from graphql import get_introspection_query

from benchmarks.common import (
    free_port,
    median,
    percentile,
    pin_to_cpu,
    python,
    spawn,
    stop,
    wait_http,
)
from ose_mesh.api.access import Access
from ose_mesh.api.graphql import schema

ATTACKERS = 20
SECONDS = 30
HEALTH_EVERY = 0.05


def _fan_out(levels: int) -> str:
    fragments = " ".join(
        f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} }}" for i in range(levels)
    )
    return f"query {{ ...F0 }} {fragments} fragment F{levels} on Query {{ __typename }}"


def _at_the_limits() -> str:
    """Accepted, and as much work for validation as the limits allow: 20 spreads of 20
    fragments, each 10 same-named fields with sub-selections, 30 aliases."""
    fragments = " ".join(
        f"fragment S{i} on Service {{ {' '.join(['id name status'] * 3)} }}" for i in range(20)
    )
    spreads = " ".join(f"...S{i}" for i in range(20))
    fields = " ".join(f"a{i}: services(limit: 1) {{ {spreads} }}" for i in range(9))
    return f"{{ {fields} }} {fragments}"


DOCUMENTS = {
    "fragment fan-out, 20 levels (the review's)": _fan_out(20),
    "fragment fan-out, 60 levels": _fan_out(60),
    "at every limit (accepted)": _at_the_limits(),
    "one field 998 times (1,000 tokens)": "{" + " __typename" * 998 + "}",
    "300 fragments spread in one set": "{"
    + "".join(f" ...F{i}" for i in range(300))
    + "}"
    + "".join(f" fragment F{i} on Query {{ services {{ id }} }}" for i in range(300)),
    "1,001 tokens": "{" + " __typename" * 999 + "}",
    "20 KB comment": "{ __typename } #" + "x" * 19_900,
    "1 MB string literal": '{ service(id: "' + "x" * 1_000_000 + '") { id } }',
    "introspection (GraphiQL's, accepted)": get_introspection_query(descriptions=True),
}


@dataclass
class AbuseResult:
    cpu_ms: dict[str, tuple[float, float]]  # median and most of 5 runs, per document
    health_quiet_ms: tuple[float, float, float]  # p50, p99, max without attackers
    health_attacked_ms: tuple[float, float, float]  # the same with 20 attackers
    attacks_answered: int


async def _cpu_per_document() -> dict[str, tuple[float, float]]:
    context = {"access": Access.READ, "streaming": False}
    costs: dict[str, tuple[float, float]] = {}
    for name, document in DOCUMENTS.items():
        runs = []
        for _ in range(5):
            started = time.process_time()
            await schema.execute(document, context_value=dict(context))
            runs.append((time.process_time() - started) * 1000)
        costs[name] = (median(runs), max(runs))
    return costs


async def _health_latencies(client: httpx.AsyncClient, until: float) -> list[float]:
    latencies = []
    while time.monotonic() < until:
        started = time.perf_counter()
        await client.get("/health")
        latencies.append((time.perf_counter() - started) * 1000)
        await asyncio.sleep(HEALTH_EVERY)
    return latencies


async def _attack(client: httpx.AsyncClient, until: float) -> int:
    worst = [d for n, d in DOCUMENTS.items() if "accepted" not in n or "limit" in n]
    answered = 0
    while time.monotonic() < until:
        for document in worst:
            await client.post("/graphql", json={"query": document})
            answered += 1
    return answered


def _summary(values: list[float]) -> tuple[float, float, float]:
    return median(values), percentile(values, 0.99), max(values)


async def _under_attack(url: str) -> tuple[list[float], list[float], int]:
    # Every client exists before the clock starts: making one (its SSL context) takes this
    # process ~40 ms, which would show up as the server's latency.
    clients = [httpx.AsyncClient(base_url=url, timeout=60) for _ in range(ATTACKERS + 1)]
    health, attackers = clients[0], clients[1:]
    try:
        for document in DOCUMENTS.values():  # the server's first sight of each is not timed
            await health.post("/graphql", json={"query": document})
        quiet = await _health_latencies(health, time.monotonic() + SECONDS / 2)
        until = time.monotonic() + SECONDS
        attacks = [asyncio.create_task(_attack(client, until)) for client in attackers]
        attacked = await _health_latencies(health, until)
        answered = sum(await asyncio.gather(*attacks))
    finally:
        for client in clients:
            await client.aclose()
    return quiet, attacked, answered


def run() -> AbuseResult:
    costs = asyncio.run(_cpu_per_document())
    port = free_port()
    args = [python(), "-m", "ose_mesh.cli", "serve", "--port", str(port), "--no-access-log"]
    process = spawn([*args, "--log-level", "error", "--database-url", "sqlite+aiosqlite://"], 0)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_http(f"{url}/health")
        pin_to_cpu(1)
        quiet, attacked, answered = asyncio.run(_under_attack(url))
    finally:
        stop(process)
    return AbuseResult(costs, _summary(quiet), _summary(attacked), answered)


if __name__ == "__main__":
    result = run()
    for name, (typical, most) in result.cpu_ms.items():
        print(f"{typical:8.2f} ms {most:8.2f} ms  {name}")
    print("health quiet p50/p99/max", result.health_quiet_ms)
    print("health attacked p50/p99/max", result.health_attacked_ms, result.attacks_answered)
