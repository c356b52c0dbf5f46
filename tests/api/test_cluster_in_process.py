"""Two cluster replicas in one process, on the tests' PostgreSQL database and RabbitMQ vhost,
each with a scripted prober: what one changes the other serves, each service is probed by
one of them, beats and transitions cross over, and a replica that stops hands everything
over (tests/integration/test_cluster.py does the same with real processes and signals)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass

import httpx
import pytest
from starlette.applications import Starlette

from ose_mesh.adapters.broker import AmqpBroker
from ose_mesh.app import create_app
from ose_mesh.config import load_settings
from ose_mesh.core import STATUS
from ose_mesh.core.catalog import Catalog
from ose_mesh.core.registry import ServiceSpec
from ose_mesh.core.shards import SHARDS, shard_of
from ose_mesh.domain import CheckConfig, CheckType, Dependency, Service
from tests.api.conftest import HttpInbox, gql
from tests.conftest import POSTGRES_URL, RABBITMQ_URL, _fresh_schema
from tests.eventually import eventually
from tests.fakes import ScriptedProber

pytestmark = [pytest.mark.postgres, pytest.mark.rabbitmq]


@dataclass
class Replica:
    app: Starlette
    prober: ScriptedProber
    client: httpx.AsyncClient


@contextlib.asynccontextmanager
async def replica(replica_id: str) -> AsyncIterator[Replica]:
    settings = load_settings(
        database_url=POSTGRES_URL,
        cluster=True,
        replica_id=replica_id,
        history_flush_seconds=0.2,
        heartbeat_interval=1,
        heartbeat_timeout=3,
    )
    prober = ScriptedProber()
    app = create_app(settings, prober=prober, broker=AmqpBroker(RABBITMQ_URL))
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client,
    ):
        await eventually(lambda: app.state.parts.link.attached)
        yield Replica(app, prober, client)


@pytest.fixture
async def database() -> AsyncIterator[None]:
    async with _fresh_schema(POSTGRES_URL):
        yield


async def cluster_view(member: Replica) -> dict[str, object]:
    answer: dict[str, object] = (await member.client.get("/api/v1/cluster")).json()
    return answer


async def balanced(member: Replica) -> bool:
    """Two replicas, each holding half the shards."""
    view = await cluster_view(member)
    return sorted(r["shards"] for r in view["replicas"]) == [SHARDS // 2] * 2  # type: ignore[index, union-attr]


async def test_two_replicas_share_the_work_and_answer_for_everything(database: None) -> None:
    async with replica("a") as a, replica("b") as b:
        await eventually(lambda: balanced(a), within=10)
        ids = [f"svc-{n}" for n in range(16)]
        for service_id in ids:
            body = {"service_id": service_id, "health_url": f"http://127.0.0.1:9/{service_id}"}
            assert (await a.client.post("/api/v1/heartbeat/register", json=body)).status_code == 201
        await eventually(lambda: set(a.prober.calls) | set(b.prober.calls) >= set(ids))
        assert not (set(a.prober.calls) & set(b.prober.calls) & set(ids))  # one prober each
        listed = (await b.client.get("/api/v1/heartbeat/status")).json()
        assert set(ids) <= set(listed)  # B serves what A registered

        # a push service: its beats count wherever they arrive
        await b.client.post("/api/v1/heartbeat/register", json={"service_id": "push"})
        counts = []
        for member in (a, b, a, b):
            answer = await member.client.post("/api/v1/heartbeat/push/beat")
            assert answer.status_code == 200, answer.text
            counts.append(answer.json()["heartbeat_count"])
        assert counts == [1, 2, 3, 4]

        # a transition made by A reaches B's subscribers, once
        mine = next(sid for sid in ids if sid in a.prober.calls)

        # B shows the strip of A's last checks, and its status page A's public services
        strip = "{ service(id: $id) { health { metrics { recentChecks } } } }"
        query = {"query": f"query($id: String!) {strip}", "variables": {"id": mine}}

        async def strip_on(member: Replica) -> str:
            answer = (await member.client.post("/graphql", json=query)).json()
            return str(answer["data"]["service"]["health"]["metrics"]["recentChecks"])

        await eventually(lambda: strip_on(b), within=10)
        assert set(await strip_on(b)) <= {"+"}
        public = {"service_id": "storefront", "public": True}
        assert (await a.client.post("/api/v1/heartbeat/register", json=public)).is_success

        async def on_bs_status_page() -> bool:
            page = (await b.client.get("/api/v1/status-page")).json()
            return [s["service_id"] for s in page["services"]] == ["storefront"]

        await eventually(on_bs_status_page, within=15)  # the page is kept for 10 s
        watching = b.app.state.mesh.hub.subscribe(STATUS, accept=lambda c: c.service_id == mine)
        a.prober.fail.add(mine)
        change = await eventually(
            lambda: not watching.queue.empty() and watching.queue.get_nowait()
        )
        assert (change.previous.value, change.current.value) == ("healthy", "degraded")

        query = "{ cluster { mode replicas { id ownedServices this } } }"
        data = (await b.client.post("/graphql", json={"query": query})).json()["data"]
        assert data["cluster"]["mode"] == "cluster"
        assert {r["id"] for r in data["cluster"]["replicas"]} == {"a", "b"}
        metrics = (await a.client.get("/metrics")).text
        assert 'ose_replica_owned_services{replica="a"}' in metrics

        # an import through A: one message, and B compares everything with the database
        imported = Catalog(
            services=[ServiceSpec(f"imported-{n}", check_type=CheckType.PUSH) for n in range(30)],
            dependencies=[Dependency("imported-0", "imported-1")],
        )
        sent = a.app.state.parts.link.sent
        await a.app.state.parts.catalog.apply(imported)
        graph = b.app.state.parts.use_cases.dependencies.graph
        await eventually(lambda: graph.has_dependency("imported-0", "imported-1"))
        assert all(f"imported-{n}" in b.app.state.parts.monitor for n in range(30))
        assert a.app.state.parts.link.sent - sent < 5


async def test_a_stopping_replica_hands_over_and_the_state_continues(database: None) -> None:
    async with replica("b") as b:
        async with replica("a") as a:

            async def both() -> bool:
                view = await cluster_view(b)
                return all(r["shards"] > 0 for r in view["replicas"]) and len(view["replicas"]) == 2  # type: ignore[arg-type, union-attr]

            await eventually(both, within=10)
            for n in range(16):
                body = {"service_id": f"svc-{n}", "health_url": f"http://127.0.0.1:9/svc-{n}"}
                await a.client.post("/api/v1/heartbeat/register", json=body)
            await eventually(lambda: len(set(a.prober.calls)) >= 3)
            theirs = set(a.prober.calls) - {"ose-service-mesh"}
            mirror = b.app.state.parts.monitor  # B's copy of what A reports
            await eventually(
                lambda: all(sid in mirror and mirror.state(sid).heartbeat_count for sid in theirs)
            )
        # A has stopped (its lifespan ended): B holds everything and probes A's services
        await eventually(
            lambda: b.app.state.parts.shards.held_shards().keys() == set(range(SHARDS))
        )
        calls_before = len(b.prober.calls)
        await eventually(lambda: set(b.prober.calls[calls_before:]) >= theirs, within=5)
        monitor = b.app.state.parts.monitor
        assert all(monitor.state(sid).status.value == "healthy" for sid in theirs)
        view = await cluster_view(b)
        assert [r["id"] for r in view["replicas"]] == ["b"]  # type: ignore[index, union-attr]


async def test_a_beat_for_a_service_its_owner_has_not_heard_of_yet_is_counted(
    database: None,
) -> None:
    """The owner may get a forwarded beat before the news of the registration: it reads the
    service from the database, as the replica the beat reached did, instead of a 404."""
    async with replica("a") as a, replica("b") as b:
        await eventually(lambda: balanced(a), within=10)
        held_by_b = (await eventually(lambda: b.app.state.parts.shards.held_shards())).keys()
        service_id = next(f"quiet-{n}" for n in range(1000) if shard_of(f"quiet-{n}") in held_by_b)
        await eventually(lambda: a.app.state.parts.shards.owner_of(service_id) == "b")
        # Stored as a registration through a third replica would be, with no news sent yet
        service = Service(service_id, service_id, CheckConfig(check_type=CheckType.PUSH))
        await a.app.state.parts.repository.upsert_service(service)
        assert service_id not in b.app.state.parts.monitor
        answer = await a.client.post(f"/api/v1/heartbeat/{service_id}/beat")  # A forwards to B
        assert answer.status_code == 200, answer.text
        assert answer.json()["heartbeat_count"] == 1
        unknown = await a.client.post("/api/v1/heartbeat/never-registered/beat")
        assert unknown.status_code == 404


async def test_a_maintenance_window_made_on_one_replica_is_on_for_the_other_at_once(
    database: None,
) -> None:
    async with replica("a") as a, replica("b") as b:
        await eventually(lambda: balanced(a), within=10)
        for n in range(6):
            body = {"service_id": f"batch-{n}", "labels": {"team": "batch"}}
            assert (await a.client.post("/api/v1/heartbeat/register", json=body)).is_success
        window = {"reason": "rack move", "label": "team=batch", "duration_minutes": 10}
        created = await a.client.post("/api/v1/maintenance", json=window)
        assert created.status_code == 201, created.text

        async def marked_on_b() -> bool:
            statuses = (await b.client.get("/api/v1/heartbeat/status")).json()
            batch = [s for sid, s in statuses.items() if sid.startswith("batch-")]
            return len(batch) == 6 and all(s["in_maintenance"] for s in batch)

        await eventually(marked_on_b, within=1)  # told over the cluster link, not polled
        # both owners flag their services' transitions (each decides for its own)
        for n in range(6):  # (503 while a shard changes hands: the client tries again)
            path = f"/api/v1/heartbeat/batch-{n}/beat"
            await eventually(lambda path=path: _succeeds(a.client.post(path)))  # type: ignore[misc]

        async def flagged_events() -> list[dict[str, object]]:
            query = '{ events(last: 100, pattern: "*.health.*") { payload } }'
            events = (await gql(a.client, query))["data"]["events"]
            batch = [e for e in events if e["payload"]["service_id"].startswith("batch-")]
            return batch if len(batch) == 6 else []

        events = await eventually(flagged_events)
        assert all(event["payload"]["in_maintenance"] is True for event in events)  # type: ignore[index]
        owners = {a.app.state.parts.shards.owner_of(f"batch-{n}") for n in range(6)}
        assert owners == {"a", "b"}  # so both replicas' decisions were looked at
        deleted = await b.client.delete(f"/api/v1/maintenance/{created.json()['window_id']}")
        assert deleted.status_code == 200

        async def cleared_on_a() -> bool:
            statuses = (await a.client.get("/api/v1/heartbeat/status")).json()
            return not any(s["in_maintenance"] for s in statuses.values())

        await eventually(cleared_on_a, within=1)


async def _succeeds(request: Awaitable[httpx.Response]) -> bool:
    return (await request).is_success


async def test_a_target_added_on_one_replica_gets_each_transition_once_from_the_owner(
    database: None, http_inbox: HttpInbox
) -> None:
    async with replica("a") as a, replica("b") as b:
        await eventually(lambda: balanced(a), within=10)
        target = {"name": "hook", "url": f"json://127.0.0.1:{http_inbox.port}/hook"}
        assert (await a.client.post("/api/v1/notifications/targets", json=target)).is_success
        await eventually(lambda: b.app.state.mesh.notifications.targets())  # told at once
        for n in range(6):
            body = {"service_id": f"pager-{n}", "max_failures": 1}
            assert (await a.client.post("/api/v1/heartbeat/register", json=body)).is_success
        for n in range(6):
            path = f"/api/v1/heartbeat/pager-{n}/beat"
            await eventually(lambda path=path: _succeeds(a.client.post(path, json={"ok": False})))  # type: ignore[misc]
        await eventually(lambda: len(http_inbox.received) >= 6)
        await asyncio.sleep(0.5)  # a duplicate would come now
        titles = sorted(body["title"] for _, body in http_inbox.received)
        assert titles == sorted(f"pager-{n} is critical" for n in range(6))
        owners = {a.app.state.parts.shards.owner_of(f"pager-{n}") for n in range(6)}
        assert owners == {"a", "b"}

        async def counted_alike() -> bool:
            """Each replica shows every delivery of both (they go dead meanwhile, too)."""
            shown = []
            for member in (a, b):
                [listed] = (await member.client.get("/api/v1/notifications/targets")).json()
                shown.append(listed["delivered"])
            return shown == [len(http_inbox.received)] * 2

        await eventually(counted_alike, within=15)


def _spans(service: str, spans: list[dict[str, object]]) -> dict[str, object]:
    resource = {"attributes": [{"key": "service.name", "value": {"stringValue": service}}]}
    return {"resource": resource, "scopeSpans": [{"spans": spans}]}


def _span(
    kind: int, trace: str, span: str, parent: str = "", **attributes: str
) -> dict[str, object]:
    return {
        "traceId": trace, "spanId": span, "parentSpanId": parent, "kind": kind,
        "attributes": [{"key": k.replace("_", "."), "value": {"stringValue": v}}
                       for k, v in attributes.items()],
    }  # fmt: skip


async def test_spans_reaching_either_replica_add_up_and_pairs_meet(database: None) -> None:
    async with replica("a") as a, replica("b") as b:
        await eventually(lambda: balanced(a), within=10)
        # Named outright: 10 calls to A and 15 to B add up to 25 on both.
        for member, count in ((a, 10), (b, 15)):
            spans = [
                _span(3, f"{n:032x}", f"{n + 1:016x}", peer_service="ledger") for n in range(count)
            ]
            body = {"resourceSpans": [_spans("billing", spans)]}
            assert (await member.client.post("/v1/traces", json=body)).status_code == 200
        # Pairs split over the replicas: every client span to A, its server span to B.
        # The traces' homes fall on both replicas, so half the pairs meet away from both.
        clients = [_span(3, f"{n:032x}", f"{n:016x}", server_address="10.9.9.9") for n in range(40)]
        servers = [_span(2, f"{n:032x}", f"{n + 100:016x}", parent=f"{n:016x}") for n in range(40)]
        await a.client.post("/v1/traces", json={"resourceSpans": [_spans("checkout", clients)]})
        await b.client.post("/v1/traces", json={"resourceSpans": [_spans("payments", servers)]})

        async def calls(member: Replica, source: str, target: str) -> int:
            drift = (await member.client.get("/api/v1/dependencies/drift")).json()
            for edge in drift["undeclared"]:
                if (edge["source"], edge["target"]) == (source, target):
                    return int(edge["traffic"]["last_1h"]["calls"])
            return 0

        for member in (a, b):
            await eventually(lambda m=member: _equals(calls(m, "billing", "ledger"), 25), within=15)
            await eventually(
                lambda m=member: _equals(calls(m, "checkout", "payments"), 40), within=15
            )
        assert await calls(a, "checkout", "10.9.9.9") == 0  # no pair fell back to the address


async def _equals(value: Awaitable[int], wanted: int) -> bool:
    return await value == wanted
