"""The health read model: pages, filters, root causes and history, from live state."""

from __future__ import annotations

from ose_mesh.core import ServiceSpec
from ose_mesh.domain import CheckType, Dependency, HealthStatus
from tests.unit.core_parts import Core, build_core


async def fail(core: Core, service_id: str) -> None:
    """Beats failing until the service is critical (max_failures is 3)."""
    for _ in range(3):
        await core.registry.beat(service_id, ok=False, message="disk full")


async def registered(*ids: str) -> Core:
    core = build_core()
    for service_id in ids:
        await core.registry.register(
            ServiceSpec(service_id, service_id.title(), check_type=CheckType.PUSH, cluster="c")
        )
    return core


async def test_pages_are_sorted_filtered_and_counted() -> None:
    core = await registered("web", "api", "db", "cache")
    await fail(core, "db")
    found = core.health.page(limit=2, offset=1)
    assert [s.service.service_id for s in found.states] == ["cache", "db"]
    assert found.total == 4
    critical = core.health.page(status=HealthStatus.CRITICAL)
    assert [s.service.service_id for s in critical.states] == ["db"]
    assert core.health.page(search="CAC").total == 1
    assert core.health.page(cluster="other").total == 0


async def test_each_answer_carries_its_root_causes() -> None:
    core = await registered("web", "api", "db")
    await core.dependencies.add(Dependency("web", "api"))
    await core.dependencies.add(Dependency("api", "db"))
    for service_id in ("web", "api", "db"):
        await fail(core, service_id)
    assert core.health.get("web").root_causes == ["db"]
    assert core.health.get("db").root_causes == []
    page = core.health.page()
    views = {
        s.service.service_id: core.health.view(s, page.root_causes.get(s.service.service_id, []))
        for s in page.states
    }
    assert views["api"].root_causes == ["db"]


async def test_summary_and_history() -> None:
    core = await registered("web", "db")
    await core.registry.beat("web", ok=True)
    await fail(core, "db")
    summary = core.health.summary()
    assert summary.total == 2
    assert summary.counts[HealthStatus.HEALTHY] == 1
    assert summary.overall_status is HealthStatus.CRITICAL
    await core.history.flush()  # half written, half still pending: both are shown
    await core.registry.beat("db", ok=True)
    changes = await core.health.history("db")
    assert [(c.previous, c.current) for c in changes] == [
        (HealthStatus.CRITICAL, HealthStatus.HEALTHY),
        (HealthStatus.DEGRADED, HealthStatus.CRITICAL),
        (HealthStatus.UNKNOWN, HealthStatus.DEGRADED),
    ]


async def test_the_status_timeline_walks_back_through_the_transitions() -> None:
    core = await registered("web", "db", "cache")
    core.clock.advance(3 * 3600)
    await core.registry.register(ServiceSpec("late", check_type=CheckType.PUSH))
    await core.registry.beat("web", ok=True)  # unknown -> healthy
    await core.registry.beat("db", ok=True)
    core.clock.advance(3600)  # an hour later db fails; the first transitions are written
    await core.history.flush()
    await fail(core, "db")  # healthy -> degraded -> critical, still pending
    core.clock.advance(1800)
    timeline = await core.health.status_timeline()
    assert len(timeline) == 97  # 24 h in 15-minute steps, both ends
    assert [p.at for p in timeline] == sorted(p.at for p in timeline)
    now, an_hour_ago, a_day_ago = timeline[-1], timeline[-5], timeline[0]
    assert now.counts[HealthStatus.CRITICAL] == 1
    assert now.counts[HealthStatus.HEALTHY] == 1
    assert now.counts[HealthStatus.UNKNOWN] == 2  # cache never beat, nor late
    assert an_hour_ago.counts[HealthStatus.CRITICAL] == 0
    assert an_hour_ago.counts[HealthStatus.HEALTHY] == 2
    assert a_day_ago.counts == dict.fromkeys(HealthStatus, 0)  # nothing registered yet
    # three registered 4.5 h ago (18 steps), the late one 1.5 h ago (6 steps)
    assert [sum(p.counts.values()) for p in timeline[-24:]] == [0] * 5 + [3] * 12 + [4] * 7
