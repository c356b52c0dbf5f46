"""Three replicas on one PostgreSQL database and one RabbitMQ vhost behave as one mesh.

A fleet of health endpoints notes which replica probes each service (the probe's
User-Agent names it) and when. The replicas run for the whole module; a test that stops
one starts it again before it ends. Bounds on waiting are generous (the machine is shared
and has two cores): the figures themselves are measured by `make bench`.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets

from ose_mesh.adapters.broker import AmqpBroker
from ose_mesh.adapters.db import SqlRepository
from ose_mesh.bus import MessageBus
from ose_mesh.domain import EventMessage
from tests.conftest import POSTGRES_URL, RABBITMQ_URL
from tests.eventually import eventually
from tests.integration.cluster import INTERVAL, CuttableProxy, Fleet, Replicas
from tests.integration.server import free_port, reset_database

pytestmark = [pytest.mark.integration, pytest.mark.postgres, pytest.mark.rabbitmq]

IDS = ["r1", "r2", "r3"]
SERVICES = [f"svc-{n:02d}" for n in range(45)]


class Webhooks:
    """A webhook receiver: every alert the cluster sends, as JSON."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        hooks = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                hooks.received.append(json.loads(body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/alerts"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture(scope="module")
def fleet() -> Iterator[Fleet]:
    running = Fleet()
    yield running
    running.close()


@pytest.fixture(scope="module")
def webhooks() -> Iterator[Webhooks]:
    hooks = Webhooks()
    yield hooks
    hooks.server.shutdown()
    hooks.server.server_close()


@pytest.fixture(scope="module")
def replicas(
    tmp_path_factory: pytest.TempPathFactory, fleet: Fleet, webhooks: Webhooks
) -> Iterator[Replicas]:
    reset_database(POSTGRES_URL)
    workdir = tmp_path_factory.mktemp("cluster")
    cluster = Replicas(POSTGRES_URL, RABBITMQ_URL, workdir, OSE_MESH_WEBHOOK_URLS=webhooks.url)
    try:
        for replica_id in IDS:
            cluster.start(replica_id)
        for n, service_id in enumerate(SERVICES):
            replica = IDS[n % 3]
            answer = httpx.post(
                f"{cluster.url(replica)}/api/v1/heartbeat/register",
                json={"service_id": service_id, "health_url": fleet.url(service_id)},
            )
            assert answer.status_code == 201, answer.text
        yield cluster
    finally:
        cluster.stop_all()
        reset_database(POSTGRES_URL)


def owners(fleet: Fleet, since: float) -> dict[str, set[str]]:
    return {sid: {p.replica for p in probes} for sid, probes in fleet.by_service(since).items()}


def wait_until_balanced(replicas: Replicas, expected: int = 3) -> None:
    def balanced() -> bool:
        view = replicas.cluster(next(iter(replicas.members)))
        held = [r["shards"] for r in view["replicas"]]
        return len(held) == expected and min(held) > 0 and view["unowned_services"] == 0

    deadline = time.monotonic() + 30
    while not balanced():
        assert time.monotonic() < deadline, replicas.cluster(next(iter(replicas.members)))
        time.sleep(0.2)


def statuses(replicas: Replicas, replica_id: str) -> dict[str, Any]:
    answer: dict[str, Any] = httpx.get(f"{replicas.url(replica_id)}/api/v1/heartbeat/status").json()
    return answer


def test_every_service_is_probed_by_exactly_one_replica(replicas: Replicas, fleet: Fleet) -> None:
    wait_until_balanced(replicas)
    time.sleep(INTERVAL)  # past the first probes after the last replica joined
    start = time.monotonic()
    time.sleep(3 * INTERVAL)
    seen = fleet.by_service(start)
    assert set(seen) == set(SERVICES)
    for service_id, probes in seen.items():
        assert len({p.replica for p in probes}) == 1, (service_id, probes)
        gaps = [b.at - a.at for a, b in itertools.pairwise(probes)]
        assert min(gaps) > INTERVAL / 2, (service_id, gaps)  # no duplicate probes
        assert len(probes) <= 4
    # The work is spread: each replica checks some services.
    assert {next(iter(r)) for r in owners(fleet, start).values()} == set(IDS)
    view = replicas.cluster("r2")
    assert sum(r["owned_services"] for r in view["replicas"]) == view["services"]
    # and each replica's /metrics says what it owns
    owned = 0
    for replica_id in IDS:
        text = httpx.get(f"{replicas.url(replica_id)}/metrics").text
        [line] = [x for x in text.splitlines() if x.startswith("ose_replica_owned_services{")]
        assert f'replica="{replica_id}"' in line
        owned += int(float(line.rsplit(" ", 1)[1]))
    assert owned == view["services"]


def test_every_replica_answers_for_the_whole_mesh(replicas: Replicas) -> None:
    for replica_id in IDS:
        found = statuses(replicas, replica_id)
        assert set(SERVICES) <= set(found)
        assert all(found[sid]["status"] == "healthy" for sid in SERVICES)


def test_a_registration_on_one_replica_is_seen_on_the_others(replicas: Replicas) -> None:
    answer = httpx.post(
        f"{replicas.url('r1')}/api/v1/heartbeat/register",
        json={"service_id": "fresh", "service_name": "Fresh", "interval_seconds": 60},
    )
    assert answer.status_code == 201
    for replica_id in ("r2", "r3"):

        def seen(replica_id: str = replica_id) -> bool:
            url = f"{replicas.url(replica_id)}/api/v1/heartbeat/status/fresh"
            return httpx.get(url).status_code == 200

        asyncio.run(eventually(seen, within=5))
    # an update and a removal travel the same way
    again = {"service_id": "fresh", "service_name": "Renamed"}
    answer = httpx.post(f"{replicas.url('r2')}/api/v1/heartbeat/register", json=again)
    assert answer.status_code == 200, answer.text  # known on r2: an update
    renamed = lambda: statuses(replicas, "r3").get("fresh", {}).get("service_name") == "Renamed"  # noqa: E731
    asyncio.run(eventually(renamed, within=5))
    assert httpx.delete(f"{replicas.url('r3')}/api/v1/heartbeat/register/fresh").status_code == 200
    asyncio.run(eventually(lambda: "fresh" not in statuses(replicas, "r1"), within=5))


async def test_concurrent_writes_of_one_service_end_alike_everywhere(replicas: Replicas) -> None:
    writes = [
        (replica_id, {"service_id": "contested", "service_name": f"{replica_id}-{n}"})
        for n in range(8)
        for replica_id in IDS
    ]
    async with httpx.AsyncClient(timeout=30) as client:
        answers = await asyncio.gather(
            *(
                client.post(f"{replicas.url(r)}/api/v1/heartbeat/register", json=body)
                for r, body in writes
            )
        )
    assert all(answer.status_code in (200, 201) for answer in answers)
    stored = SqlRepository.from_url(POSTGRES_URL)
    try:
        found = await stored.get_service("contested")
    finally:
        await stored.close()
    assert found is not None
    winner = found[0].service_name  # the write that committed last

    def names() -> set[str]:
        return {statuses(replicas, r)["contested"]["service_name"] for r in IDS}

    # within the reconcile period at worst (a replica's own write applied after a newer read)
    await eventually(lambda: names() == {winner}, within=20)
    async with httpx.AsyncClient() as client:
        await client.delete(f"{replicas.url('r1')}/api/v1/heartbeat/register/contested")


def test_a_dependency_declared_on_one_replica_is_seen_on_the_others(replicas: Replicas) -> None:
    edge = {
        "source": SERVICES[0],
        "target": SERVICES[1],
        "type": "hard",
        "relationship": "sync_api",
    }
    assert httpx.post(f"{replicas.url('r1')}/api/v1/dependencies", json=edge).status_code == 201

    def declared_everywhere() -> bool:
        for replica_id in IDS:
            graph = httpx.get(f"{replicas.url(replica_id)}/api/v1/dependencies/graph").json()
            if graph["total_dependencies"] != 1:
                return False
        return True

    asyncio.run(eventually(declared_everywhere, within=5))


def test_a_beat_counts_whichever_replica_it_reaches(replicas: Replicas) -> None:
    url = f"{replicas.url('r1')}/api/v1/heartbeat/register"
    assert httpx.post(url, json={"service_id": "pusher", "interval_seconds": 30}).status_code == 201
    counts = []
    for replica_id in IDS * 3:  # two of the three do not own it
        answer = httpx.post(f"{replicas.url(replica_id)}/api/v1/heartbeat/pusher/beat")
        assert answer.status_code == 200, answer.text
        counts.append(answer.json()["heartbeat_count"])
    assert counts == list(range(1, 10))
    unknown = httpx.post(f"{replicas.url('r2')}/api/v1/heartbeat/nobody/beat")
    assert unknown.status_code == 404


async def _subscribe(url: str, service_id: str, into: list[dict[str, Any]]) -> None:
    ws_url = url.replace("http://", "ws://") + "/graphql"
    async with websockets.connect(ws_url, subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
        await ws.send(json.dumps({"type": "connection_init"}))
        await ws.recv()
        query = (
            "subscription ($ids: [String!]) { serviceStatusChanged(serviceIds: $ids) "
            "{ serviceId previous current } }"
        )
        payload = {"query": query, "variables": {"ids": [service_id]}}
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
        while True:
            message = json.loads(await ws.recv())
            if message["type"] == "next":
                into.append(message["payload"]["data"]["serviceStatusChanged"])


async def test_every_subscriber_sees_every_transition_once_in_order(
    replicas: Replicas, fleet: Fleet, webhooks: Webhooks
) -> None:
    service_id = SERVICES[5]
    seen: dict[str, list[dict[str, Any]]] = {replica_id: [] for replica_id in IDS}
    tasks = [asyncio.create_task(_subscribe(replicas.url(r), service_id, seen[r])) for r in IDS]
    await asyncio.sleep(1)  # subscribed
    fleet.failing.add(service_id)  # 500s: degraded, then critical (3 failures)
    try:
        await eventually(lambda: all(len(s) >= 2 for s in seen.values()), within=4 * INTERVAL)
        fleet.failing.discard(service_id)
        await eventually(lambda: all(len(s) >= 3 for s in seen.values()), within=3 * INTERVAL)
        await asyncio.sleep(1)  # nothing more, no duplicate, arrives
    finally:
        fleet.failing.discard(service_id)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)  # the sockets closed
    expected = [("HEALTHY", "DEGRADED"), ("DEGRADED", "CRITICAL"), ("CRITICAL", "HEALTHY")]
    for replica_id in IDS:
        assert [(c["previous"], c["current"]) for c in seen[replica_id]] == expected
    # and the alert webhook fired once per transition for the whole cluster
    await eventually(
        lambda: len([w for w in webhooks.received if w["service_id"] == service_id]) >= 3
    )
    alerts = [
        (w["previous"], w["current"]) for w in webhooks.received if w["service_id"] == service_id
    ]
    first = ("unknown", "healthy")  # from its first probe, before the subscriptions
    assert alerts == [first, *((p.lower(), c.lower()) for p, c in expected)]


async def test_published_events_are_delivered_once_across_the_cluster(
    replicas: Replicas,
) -> None:
    bus = MessageBus(AmqpBroker(RABBITMQ_URL))
    await bus.connect()
    delivered: Counter[str] = Counter()

    async def count(event: EventMessage) -> None:
        delivered[event.event_id] += 1

    queue = await bus.declare_queue("cluster-test-events", durable=False, auto_delete=True)
    await bus.bind(queue, "ose.events", "cluster-test.#")
    await bus.consume(queue, count)
    ids = []
    async with httpx.AsyncClient() as client:
        for n in range(30):
            body = {
                "event_type": "order.created",
                "source_service": "cluster-test",
                "payload": {"n": n},
            }
            answer = await client.post(
                f"{replicas.url(IDS[n % 3])}/api/v1/messagebus/publish", json=body
            )
            assert answer.status_code in (200, 202), answer.text
            ids.append(answer.json()["event_id"])
    try:
        await eventually(lambda: set(ids) <= set(delivered), within=10)
        await asyncio.sleep(1)
    finally:
        await bus.close()
    assert sum(delivered[i] for i in ids) == len(ids)  # none twice


@pytest.fixture
def load_balancer(replicas: Replicas, tmp_path: Path) -> Iterator[str]:
    """HAProxy with docker-compose.yml's configuration, pointed at these replicas."""
    config = (Path(__file__).parents[2] / "deploy" / "haproxy.cfg").read_text()
    port = free_port()
    config = config.replace("bind :8000", f"bind 127.0.0.1:{port}")
    for n, replica_id in enumerate(IDS, 1):
        config = config.replace(f"mesh-{n}:8000", f"127.0.0.1:{replicas.members[replica_id].port}")
    path = tmp_path / "haproxy.cfg"
    path.write_text(config)
    subprocess.run(["haproxy", "-c", "-q", "-f", str(path)], check=True)
    process = subprocess.Popen(["haproxy", "-f", str(path)], stdout=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while {_replica_behind(url) for _ in range(6)} != set(IDS):  # every one checked up
            assert time.monotonic() < deadline, "HAProxy did not send to every replica"
            time.sleep(0.5)
        yield url
    finally:
        process.terminate()
        process.wait(10)


def _replica_behind(url: str) -> str | None:
    try:
        return str(httpx.get(f"{url}/api/v1/cluster").json()["replica_id"])
    except (httpx.HTTPError, ValueError):
        return None


async def test_through_the_load_balancer_writes_beats_and_subscriptions_work(
    load_balancer: str,
) -> None:
    seen: list[dict[str, Any]] = []
    task = asyncio.create_task(_subscribe(load_balancer, "behind-lb", seen))  # a WebSocket
    await asyncio.sleep(1)
    try:
        async with httpx.AsyncClient(base_url=load_balancer) as client:
            body = {"service_id": "behind-lb", "interval_seconds": 60}
            assert (await client.post("/api/v1/heartbeat/register", json=body)).status_code == 201
            counts = []
            for ok in (True, False, False, False, True):  # each to the next replica
                answer = await client.post("/api/v1/heartbeat/behind-lb/beat", json={"ok": ok})
                assert answer.status_code == 200, answer.text
                counts.append(answer.json()["heartbeat_count"])
        assert counts == [1, 2, 3, 4, 5]
        await eventually(lambda: len(seen) >= 4)
        await asyncio.sleep(0.5)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert [(c["previous"], c["current"]) for c in seen] == [
        ("UNKNOWN", "HEALTHY"),
        ("HEALTHY", "DEGRADED"),
        ("DEGRADED", "CRITICAL"),
        ("CRITICAL", "HEALTHY"),
    ]


def _busiest(replicas: Replicas, fleet: Fleet) -> tuple[str, set[str]]:
    """Once balanced: the replica owning most services, and those it probed lately."""
    wait_until_balanced(replicas)
    before = time.monotonic()
    time.sleep(INTERVAL + 1)
    view = replicas.cluster(next(iter(replicas.members)))
    busiest = max(view["replicas"], key=lambda r: r["owned_services"])["id"]
    return busiest, _services_of(fleet, busiest, before)


def _services_of(fleet: Fleet, replica_id: str, since: float) -> set[str]:
    return {sid for sid, who in owners(fleet, since).items() if replica_id in who}


def test_sigterm_hands_the_services_over_at_once(replicas: Replicas, fleet: Fleet) -> None:
    leaving, theirs = _busiest(replicas, fleet)
    assert theirs
    replicas.members[leaving].stop()
    stopped = time.monotonic()
    time.sleep(INTERVAL + 2)
    probed = owners(fleet, stopped)
    assert theirs <= set(probed), theirs - set(probed)
    for service_id in theirs:
        first = min(p.at for p in fleet.by_service(stopped)[service_id])
        assert first - stopped <= INTERVAL + 1  # within one interval (and a tick)
        assert leaving not in probed[service_id]
    replicas.start(leaving)
    wait_until_balanced(replicas)


def test_sigkill_the_busiest_replica_loses_nothing(replicas: Replicas, fleet: Fleet) -> None:
    victim, theirs = _busiest(replicas, fleet)
    registered = set(statuses(replicas, victim))
    replicas.members[victim].kill()
    killed = time.monotonic()
    survivors = [r for r in IDS if r != victim]
    unknown_seen: set[str] = set()
    while time.monotonic() - killed < 2 * INTERVAL + 1:
        for replica_id in survivors:
            found = statuses(replicas, replica_id)
            unknown_seen |= {sid for sid in SERVICES if found[sid]["status"] == "unknown"}
        time.sleep(0.5)
    probed = fleet.by_service(killed)
    for service_id in theirs:
        assert service_id in probed, f"{service_id} not probed since the kill"
        first = min(p.at for p in probed[service_id])
        assert first - killed <= 2 * INTERVAL, (service_id, first - killed)
        assert {p.replica for p in probed[service_id]} <= set(survivors)
    assert not unknown_seen
    for replica_id in survivors:
        assert set(statuses(replicas, replica_id)) == registered
    replicas.start(victim)
    wait_until_balanced(replicas)


def test_a_replica_cut_off_from_the_database_stops_and_the_others_take_over(
    replicas: Replicas, fleet: Fleet
) -> None:
    proxy = CuttableProxy(("127.0.0.1", 5432))
    through_proxy = POSTGRES_URL.replace("127.0.0.1:5432", f"127.0.0.1:{proxy.port}")
    try:
        replicas.start("r4", database_url=through_proxy)
        wait_until_balanced(replicas, expected=4)
        time.sleep(INTERVAL + 1)
        settled = time.monotonic()
        time.sleep(INTERVAL + 1)
        theirs = _services_of(fleet, "r4", settled)
        assert theirs
        proxy.cut()
        cut = time.monotonic()
        time.sleep(2 * INTERVAL + 2)
        probed = fleet.by_service(cut + INTERVAL)  # the lease ran out by then
        assert all("r4" not in {p.replica for p in probed.get(sid, [])} for sid in SERVICES)
        assert theirs <= set(probed)  # taken over
        proxy.heal()
        time.sleep(2 * INTERVAL)
        healed = time.monotonic()
        time.sleep(2 * INTERVAL)
        for service_id, who in owners(fleet, healed).items():
            assert len(who) == 1, (service_id, who)
    finally:
        replicas.members.pop("r4").stop()
        proxy.close()
    wait_until_balanced(replicas)
