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
