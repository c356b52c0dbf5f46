"""The registry: what a caller registers is stored first, then watched; changes are
announced; a failed write changes nothing."""

from __future__ import annotations

import pytest

from ose_mesh.core import REGISTRY, ServiceSpec
from ose_mesh.domain import CheckType, HealthStatus, ServiceNotFound, StorageUnavailable
from tests.unit.core_parts import build_core


async def test_register_stores_watches_and_announces() -> None:
    core = build_core()
    events = core.hub.subscribe(REGISTRY)
    service, created = await core.registry.register(
        ServiceSpec("pay", "Payments", check_type=CheckType.PUSH, interval_seconds=5)
    )
    assert created
    assert service.check.interval_seconds == 5
    assert service.check.timeout_seconds == 15  # not given: three intervals
    assert [s.service_id for s in await core.store.list_services()] == ["pay"]
    assert core.health.get("pay").status is HealthStatus.UNKNOWN
    assert (await anext(aiter(events))).action == "registered"


async def test_registering_again_updates_and_keeps_what_was_not_given() -> None:
    core = build_core()
    await core.registry.register(ServiceSpec("pay", "Payments", check_type=CheckType.PUSH))
    service, created = await core.registry.register(ServiceSpec("pay", interval_seconds=20))
    assert not created
    assert service.service_name == "Payments"
    assert service.check.interval_seconds == 20


async def test_a_registration_the_database_refuses_changes_nothing() -> None:
    core = build_core()
    core.store.down = True
    with pytest.raises(StorageUnavailable):
        await core.registry.register(ServiceSpec("pay", check_type=CheckType.PUSH))
    with pytest.raises(ServiceNotFound):
        core.health.get("pay")
    core.store.down = False
    assert await core.store.list_services() == []


async def test_beats_and_deregistration() -> None:
    core = build_core()
    await core.registry.register(ServiceSpec("pay", check_type=CheckType.PUSH))
    state = await core.registry.beat("pay", latency_ms=12.0)
    assert state.status is HealthStatus.HEALTHY
    assert state.heartbeat_count == 1
    removed = await core.registry.deregister("pay")
    assert removed.service_id == "pay"
    assert await core.store.list_services() == []
    with pytest.raises(ServiceNotFound):
        await core.registry.beat("pay")
    with pytest.raises(ServiceNotFound):
        await core.registry.deregister("pay")


async def test_restore_watches_what_was_stored_with_its_last_status() -> None:
    first = build_core()
    await first.registry.register(ServiceSpec("pay", check_type=CheckType.PUSH))
    await first.registry.beat("pay", ok=True)
    await first.history.flush()
    again = build_core(first.store)
    assert await again.registry.restore() == 1
    assert again.health.get("pay").status is HealthStatus.HEALTHY
