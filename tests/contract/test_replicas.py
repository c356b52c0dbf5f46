"""The replica table and the shard leases, on SQLite and PostgreSQL: who may share a
database, how shards are split and handed over, and how a former owner's writes are
refused (fencing). Shard leases and outbox claims across servers need PostgreSQL."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from ose_mesh.adapters.db import SqlRepository
from ose_mesh.core.membership import Identity, Membership, ServerInUse, in_use_message
from ose_mesh.core.ports import OutboxEntry, Replica
from ose_mesh.core.shards import SHARDS
from ose_mesh.domain import EventMessage, HealthStatus
from tests.conftest import POSTGRES_URL, _fresh_schema

NOW = datetime(2026, 12, 1, tzinfo=UTC)


def replica(replica_id: str, mode: str = "cluster", *, host: str = "a", pid: int = 1) -> Replica:
    return Replica(replica_id, mode, host, pid, NOW, NOW, NOW)


def never_stale(_: Replica) -> bool:
    return False


async def test_a_single_server_has_the_database_to_itself(
    sql_repository: SqlRepository,
) -> None:
    assert await sql_repository.join(replica("one", "single"), 15, stale=never_stale) == []
    for other in (replica("two", "single", host="b"), replica("three", "cluster", host="b")):
        [blocking] = await sql_repository.join(other, 15, stale=never_stale)
        assert blocking.replica_id == "one"
    assert [r.replica_id for r in await sql_repository.replicas()] == ["one"]
    await sql_repository.leave("one")
    assert await sql_repository.join(replica("two", "single"), 15, stale=never_stale) == []


async def test_replicas_share_it_but_never_with_a_single_server_or_under_one_id(
    sql_repository: SqlRepository,
) -> None:
    assert await sql_repository.join(replica("r1"), 5, stale=never_stale) == []
    assert await sql_repository.join(replica("r2"), 5, stale=never_stale) == []
    assert [
        b.replica_id
        for b in await sql_repository.join(replica("r1", host="b"), 5, stale=never_stale)
    ] == ["r1"]
    blocking = await sql_repository.join(replica("alone", "single"), 5, stale=never_stale)
    assert {b.replica_id for b in blocking} == {"r1", "r2"}


async def test_an_expired_row_or_one_left_by_a_dead_process_is_no_obstacle(
    sql_repository: SqlRepository,
) -> None:
    assert await sql_repository.join(replica("gone", "single"), 0.01, stale=never_stale) == []
    await asyncio.sleep(0.05)
    assert await sql_repository.join(replica("next", "single"), 15, stale=never_stale) == []
    # "next" is alive by its lease, but its process is gone (killed, then restarted at once)
    left_over = await sql_repository.join(
        replica("again", "single"), 15, stale=lambda other: other.replica_id == "next"
    )
    assert left_over == []
    assert [r.replica_id for r in await sql_repository.replicas()] == ["again"]


async def test_renewing_a_removed_row_says_so(sql_repository: SqlRepository) -> None:
    assert await sql_repository.join(replica("r1"), 5, stale=never_stale) == []
    assert await sql_repository.renew("r1", 5)
    await sql_repository.leave("r1")
    assert not await sql_repository.renew("r1", 5)


async def test_membership_names_the_server_in_the_way_and_how_to_share(
    sql_repository: SqlRepository,
) -> None:
    first = Membership(sql_repository, Identity("first", cluster=False, host="h1", pid=10))
    await first.join()
    second = Membership(sql_repository, Identity("second", cluster=False, host="h2", pid=11))
    expected = "the database is used by the server first (host h1, pid 10"
    assert expected in (await second.problem() or "")
    with pytest.raises(ServerInUse, match="--cluster"):
        await second.join()
    # its own row from before a restart that reused the process id (a container's pid 1)
    again = Membership(sql_repository, Identity("first", cluster=False, host="h1", pid=10))
    await again.join()
    # another server in the same process is no left-over
    beside = Membership(sql_repository, Identity("beside", cluster=False, host="h1", pid=10))
    with pytest.raises(ServerInUse, match="server first"):
        await beside.join()


def test_each_refusal_says_what_to_do() -> None:
    me = Identity("r2", cluster=True, host="h", pid=2)
    single = replace(replica("solo", "single"), last_seen=NOW)
    assert "restart it with --cluster" in in_use_message(me, single)
    assert "own --replica-id" in in_use_message(me, replica("r2"))
    alone = Identity("solo2", cluster=False, host="h", pid=3)
    assert "start this server with --cluster" in in_use_message(alone, replica("r1"))


# -- shards (cluster mode runs on PostgreSQL) ------------------------------------------------


@pytest.fixture
async def postgres() -> SqlRepository:
    async with _fresh_schema(POSTGRES_URL) as repository:
        yield repository


@pytest.mark.postgres
async def test_shards_are_split_fairly_and_each_has_one_owner(postgres: SqlRepository) -> None:
    for name in ("r1", "r2", "r3"):
        assert await postgres.join(replica(name), 5, stale=never_stale) == []
    held = {}
    for name in ("r1", "r2", "r3"):
        held[name], fair = await postgres.balance(name, SHARDS, 5)
        assert fair == -(-SHARDS // 3)
    every = [shard for shards in held.values() for shard in shards]
    assert sorted(every) == list(range(SHARDS))  # each shard once
    assert max(len(s) for s in held.values()) - min(len(s) for s in held.values()) <= 2
    owners = await postgres.shard_owners()
    assert all(owners[shard] == name for name, shards in held.items() for shard in shards)


@pytest.mark.postgres
async def test_released_shards_go_to_the_others_with_a_higher_epoch(
    postgres: SqlRepository,
) -> None:
    for name in ("r1", "r2"):
        await postgres.join(replica(name), 5, stale=never_stale)
    first, _ = await postgres.balance("r1", SHARDS, 5)
    second, _ = await postgres.balance("r2", SHARDS, 5)
    await postgres.release_shards("r1")
    await postgres.leave("r1")
    taken, fair = await postgres.balance("r2", SHARDS, 5)
    assert fair == SHARDS
    assert len(taken) == SHARDS
    assert all(taken[shard] == epoch + 1 for shard, epoch in first.items())
    assert all(taken[shard] == epoch for shard, epoch in second.items())


@pytest.mark.postgres
async def test_a_former_owner_cannot_write_a_state(postgres: SqlRepository) -> None:
    await postgres.join(replica("r1"), 5, stale=never_stale)
    held, _ = await postgres.balance("r1", SHARDS, 5)
    shard, epoch = next(iter(held.items()))
    snapshot = {"status": "healthy", "n": 1}
    row = (shard, epoch, "svc", HealthStatus.HEALTHY, snapshot)
    assert await postgres.save_states("r1", [row]) == 1
    await postgres.release_shards("r1", [shard])  # another replica may hold it now
    stale_row = (shard, epoch, "svc", HealthStatus.DEAD, {"status": "dead", "n": 2})
    assert await postgres.save_states("r1", [stale_row]) == 0
    stored = await postgres.load_states(["svc"])
    assert stored["svc"].status is HealthStatus.HEALTHY
    assert stored["svc"].snapshot == snapshot


@pytest.mark.postgres
async def test_two_relays_never_claim_one_outbox_row(postgres: SqlRepository) -> None:
    event = EventMessage(event_type="t", source_service="s", payload={})
    entries = [OutboxEntry("ose.events", "k", replace(event, event_id=f"e{n}")) for n in range(40)]
    await postgres.add_outbox(entries)
    first, second = await asyncio.gather(
        postgres.pending_outbox(25, "r1"), postgres.pending_outbox(25, "r2")
    )
    ids = [e.id for e in first] + [e.id for e in second]
    assert len(ids) == 40
    assert len(set(ids)) == 40
    # a relay's own rows stay its own; nobody else takes them while the claim holds
    assert await postgres.pending_outbox(100, "r3") == []
    assert {e.id for e in await postgres.pending_outbox(100, "r1")} == {e.id for e in first}


async def test_rows_a_server_writes_are_its_relays_to_publish(
    sql_repository: SqlRepository,
) -> None:
    event = EventMessage(event_type="t", source_service="s", payload={})
    await sql_repository.add_outbox([OutboxEntry("ose.events", "k", event)], "r1")
    assert await sql_repository.pending_outbox(10, "r2") == []
    [mine] = await sql_repository.pending_outbox(10, "r1")
    assert mine.event.event_id == event.event_id
    assert len(await sql_repository.pending_outbox(10)) == 1  # without a claimant: all
