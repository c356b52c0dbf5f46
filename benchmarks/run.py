"""`make bench`: run every benchmark and write BENCHMARKS.md.

Figures vary with the machine and its load; each ratio compares two things measured in the
same run on the same machine.
"""

from __future__ import annotations

import asyncio
import os
import platform
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from benchmarks import (
    bus,
    cluster,
    graph,
    graphql_abuse,
    ingest,
    memory,
    probing,
    smoothness,
    traces,
    web,
)
from benchmarks.common import median, pin_to_cpu

OUTPUT = Path(__file__).parents[1] / "BENCHMARKS.md"


def _machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{os.cpu_count()} cores ({cpu}), Python {platform.python_version()}, {platform.system()}"
    )


def _run_probing() -> list[probing.ProbingResult]:
    pin_to_cpu(0)
    try:
        import uvloop

        return uvloop.run(probing.run_all())
    except ImportError:
        return asyncio.run(probing.run_all())
    finally:
        os.sched_setaffinity(0, set(range(os.cpu_count() or 1)))


def main() -> int:
    print("probing (about 1 minute)…", file=sys.stderr)
    probes = _run_probing()
    print("push ingest (about 1 minute)…", file=sys.stderr)
    beats = ingest.run()
    print("dependency graph at 10,000 services and 50,000 edges (about 1 minute)…", file=sys.stderr)
    graph_figures, (endpoint_cold, endpoint_warm) = graph.run()
    print("event bus against raw aiormq (about 1 minute)…", file=sys.stderr)
    b = bus.run()
    print("memory at 10,000 services over a simulated hour (about 2-3 minutes)…", file=sys.stderr)
    mem = memory.run()
    print(
        "web client in Chromium: 5,000-service dashboard, 2,000-node graph (about 1 minute)…",
        file=sys.stderr,
    )
    w = web.run()
    print("hostile GraphQL documents and /health under attack (about 1 minute)…", file=sys.stderr)
    abuse = graphql_abuse.run()
    print("traces: spans/s through /v1/traces, memory per edge (about 1 minute)…", file=sys.stderr)
    spans = traces.run()
    print("cluster mode: three replicas, five kills (about 3 minutes)…", file=sys.stderr)
    replicas = cluster.run()
    print("smoothness at 10,000 services, from outside (about 6 minutes)…", file=sys.stderr)
    smooth = smoothness.run()
    for result in smooth:
        print(smoothness.report(result), file=sys.stderr)
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()

    lines = [
        "# Benchmarks",
        "",
        "Written by `make bench` (`python -m benchmarks.run`). Do not edit by hand.",
        "",
        f"- When: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, commit `{commit or 'uncommitted'}`",
        f"- Machine: {_machine()}; shared and noisy: compare ratios from the same run.",
        "",
        "## Active probing (monitor pinned to one core, targets served by another process)",
        "",
        "Each service's health URL is its own path on a separate aiohttp process (CPU 1); the",
        f"monitor runs on CPU 0 with at most {probing.CONCURRENCY} probes in flight. Drift is how",
        "late a check started against its slot on the fixed schedule.",
        "",
        "| client | services | interval | offered/s | sustained probes/s | failed "
        "| drift p50 | drift p99 |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in probes:
        lines.append(
            f"| {r.client} | {r.services:,} | {r.interval:g} s | {r.offered_per_second:,.0f} "
            f"| {r.probes_per_second:,.0f} | {r.failed} | {r.drift_p50_ms:.1f} ms "
            f"| {r.drift_p99_ms:.1f} ms |"
        )
    aio, hx = probes[0], probes[1]
    cold = probes[-1]
    lines += [
        "",
        f"aiohttp sustained {aio.probes_per_second / max(hx.probes_per_second, 1):.1f} times the "
        "probes/s of httpx at the same offered load and concurrency, so the server probes with "
        "aiohttp (`ose_mesh.adapters.probes.AiohttpProber`). Target: ≥ 2,000 probes/s with "
        "drift p99 ≤ 100 ms.",
        "",
        f"**Cold start**: {cold.services:,} services restored with a {cold.interval:g} s interval "
        f"were all probed once {cold.cold_start_seconds:.2f} s after the monitor started "
        "(target: within one interval).",
        "",
        "## Push ingest (wrk on CPU 1, one uvicorn process on CPU 0, no access log)",
        "",
        '`wrk -t1 -c64` POSTs `{"latency_ms": 12.5}` to `/api/v1/heartbeat/svc-N/beat` for',
        f"{ingest.SERVICES:,} registered services; the baseline is a bare Starlette endpoint that",
        "reads the JSON body and answers a small JSON object (`benchmarks/bare.py`), served the",
        "same way. Rounds alternate between the two.",
        "",
        "| | beats/s per round | median |",
        "| --- | --- | ---: |",
        f"| ose-mesh | {', '.join(f'{v:,.0f}' for v in beats.mesh_per_second)} "
        f"| {median(beats.mesh_per_second):,.0f} |",
        f"| bare Starlette | {', '.join(f'{v:,.0f}' for v in beats.bare_per_second)} "
        f"| {median(beats.bare_per_second):,.0f} |",
        "",
        f"Ratio ose-mesh / bare Starlette: **{beats.ratio:.2f}** (target ≥ 0.5; ≥ 5,000 beats/s).",
        "",
        "## Dependency graph (10,000 services, 50,000 random edges)",
        "",
        "Medians. The bare side is the same work done with networkx alone, with no validation,",
        "result types or caching (`benchmarks/graph.py`); ose-mesh keeps its own adjacency maps",
        "and runs whole-graph analyses in igraph, so a ratio below 1 means faster than networkx.",
        "Each round starts after a garbage collection, so it pays for its own garbage only.",
        "",
        "| what | ose-mesh | bare networkx | ratio | target |",
        "| --- | ---: | ---: | ---: | ---: |",
        *(
            f"| {f.name} | {f.ours_ms:,.2f} ms | {f.bare_ms:,.2f} ms | {f.ratio:.2f} | {target} |"
            for f, target in zip(graph_figures, ("≤ 250 ms", "≤ 50 ms", "≤ 10 ms"), strict=True)
        ),
        "",
        f"`GET /api/v1/dependencies/graph` for the same graph (in-process, 10,000 nodes and "
        f"50,000 edges in the answer): {endpoint_cold:,.0f} ms for the first answer, which "
        f"computes the analyses, then {endpoint_warm:,.0f} ms (median) while they stay cached "
        "(target: ≤ 1 s).",
        "",
        "## Event bus (RabbitMQ on this machine, against raw aiormq in the same run)",
        "",
        f"{bus.MESSAGES:,} messages of an encoded EventMessage (JSON payload, CloudEvents "
        f"headers), publisher confirms with {bus.WINDOW} in flight; consumers ack manually "
        f"with prefetch 200; medians of {bus.ROUNDS} rounds. The client, the server and "
        "RabbitMQ share the 2 cores. Our consumer holds the acks of handlers that finished "
        "in order for up to 2 ms and sends them as one `basic.ack` with `multiple` "
        "(`ose_mesh.adapters.broker.acks`); the raw baseline acks every message.",
        "",
        "| what | ose-mesh | raw aiormq | ratio | target |",
        "| --- | ---: | ---: | ---: | --- |",
        f"| confirmed publishes/s | {b.publish_ours:,.0f} | {b.publish_raw:,.0f} "
        f"| {b.publish_ours / b.publish_raw:.2f} | ≥ 10,000/s and ≥ 0.8 x raw |",
        f"| consumed (acked) messages/s | {b.consume_ours:,.0f} | {b.consume_raw:,.0f} "
        f"| {b.consume_ours / b.consume_raw:.2f} | ≥ 15,000/s |",
        f"| publish → consume latency p50 / p99 at 1,000 msg/s | {b.latency_ours[0]:.2f} / "
        f"{b.latency_ours[1]:.2f} ms | {b.latency_raw[0]:.2f} / {b.latency_raw[1]:.2f} ms | "
        "| ≤ 2 / ≤ 10 ms |",
        "",
        f"Raw aiormq acking every {bus.RAW_ACK_BATCH}th message with `multiple` (a bound on what "
        f"batching acks can give on this machine): {b.consume_raw_batched:,.0f} "
        f"messages/s; ose-mesh reaches {b.consume_ours / b.consume_raw_batched:.2f} of it.",
        "",
        f"RPC through `ose.tasks` with 64 concurrent callers: {b.rpc_calls_per_second:,.0f} "
        f"calls/s, round trip p50 {b.rpc_p50_ms:.1f} ms. In-memory backend: "
        f"{b.memory_per_second:,.0f} events/s published and consumed through MessageBus.",
        "",
        *memory.section(mem),
        "",
        *traces.section(spans),
        "",
        *web.section(w),
        "",
        "## Hostile GraphQL documents",
        "",
        "Server CPU of `schema.execute` for each document (in-process, 5 runs; parsing,",
        "measuring, validating and, when accepted, executing). Target: ≤ 50 ms each.",
        "",
        "| document | median | most |",
        "| --- | ---: | ---: |",
        *(
            f"| {name} | {typical:.1f} ms | {most:.1f} ms |"
            for name, (typical, most) in abuse.cpu_ms.items()
        ),
        "",
        f"`/health` polled every {graphql_abuse.HEALTH_EVERY * 1000:.0f} ms from CPU 1 against "
        f"`ose-mesh serve` on CPU 0, first alone for {graphql_abuse.SECONDS // 2} s, then for "
        f"{graphql_abuse.SECONDS} s while {graphql_abuse.ATTACKERS} clients send the hostile "
        f"documents above back to back ({abuse.attacks_answered:,} answered):",
        "",
        "| | p50 | p99 | max | target |",
        "| --- | ---: | ---: | ---: | --- |",
        "| quiet | {:.1f} ms | {:.1f} ms | {:.1f} ms | |".format(*abuse.health_quiet_ms),
        "| under attack | {:.1f} ms | {:.1f} ms | {:.1f} ms | p99 ≤ 100 ms |".format(
            *abuse.health_attacked_ms
        ),
        "",
        *_smoothness_section(smooth),
        "",
        *cluster.section(replicas),
    ]
    OUTPUT.write_text("\n".join(lines))
    print(f"wrote {OUTPUT}", file=sys.stderr)
    return 0


def _smoothness_section(results: list[smoothness.SmoothnessResult]) -> list[str]:
    t = smoothness.TARGETS
    lines = [
        "## Smooth at 10,000 services (measured from outside the server)",
        "",
        f"`ose-mesh serve` as users run it (SQLite, no access log) on CPU 0, with "
        f"{smoothness.SERVICES:,} services restored from its database, each checked every "
        f"{smoothness.INTERVAL:g} s. On CPU 1: the fleet (HTTP health endpoints that note when "
        "each probe arrives, or a client beating for every push service), a poller asking "
        f"`/health` every {smoothness.POLL_EVERY * 1000:.0f} ms, and in the last run a client "
        "loading what the web dashboard loads (every service with its metrics) every "
        f"{smoothness.DASHBOARD_EVERY:g} s. Arrival deviation: how far the gap between two "
        "probes of one service strays from the interval, as the target sees it. Recorded "
        "latency: the mesh's own histogram over the window, for targets answering in under "
        "1 ms. `python -m benchmarks.smoothness` runs this section alone.",
        "",
        "| run | window | /health p50 | p99 | max | fleet | fleet p99 | fleet max "
        "| recorded p99 | verdict |",
        "| --- | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | --- |",
    ]
    for r in results:
        p50, p99, worst = r.health_ms
        what = "probe arrival deviation" if r.mode == "http" else "beat round trip"
        recorded = "" if r.recorded_p99_ms is None else f"{r.recorded_p99_ms:.1f} ms"
        stalls = r.stalls()
        verdict = "smooth" if not stalls else "**STALL**: " + "; ".join(stalls)
        lines.append(
            f"| {r.name} | {r.seconds:g} s | {p50:.1f} ms | {p99:.1f} ms | {worst:.1f} ms "
            f"| {what}, {r.fleet_per_second:,.0f}/s | {r.fleet.get('p99_ms', 0):.1f} ms "
            f"| {r.fleet.get('max_ms', 0):.1f} ms | {recorded} | {verdict} |"
        )
    dashboards = [r for r in results if r.dashboard is not None]
    lines += [
        "",
        f"Targets: `/health` p99 ≤ {t['health_p99_ms']:g} ms and max ≤ "
        f"{t['health_max_ms']:g} ms; arrival deviation p99 ≤ {t['arrival_p99_ms']:g} ms; "
        f"recorded latency p99 ≤ {t['recorded_p99_ms']:g} ms; beat round trip p99 ≤ "
        f"{t['beat_p99_ms']:g} ms.",
    ]
    for r in dashboards:
        assert r.dashboard is not None
        lines.append(
            f"The dashboard's snapshot of every service took {r.dashboard.get('p50_ms', 0):,.0f} "
            f"ms (median of {r.dashboard['count']:.0f} loads): answered a step at a time, "
            "beside the beats and polls."
        )
    lines.append("")
    return lines


if __name__ == "__main__":
    sys.exit(main())
