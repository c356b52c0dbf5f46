"""One row the database cannot store never holds back the others: on SQLite and PostgreSQL,
the history writer stores every good row of a batch, drops a refused one (counted), and
still retries rows when the database is merely away."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ose_mesh.adapters.db import SqlRepository
from ose_mesh.core import HistoryRecorder, ManualClock
from ose_mesh.domain import HealthStatus, StatusChange, StorageUnavailable

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def change(service_id: str, reason: str) -> StatusChange:
    return StatusChange(service_id, HealthStatus.UNKNOWN, HealthStatus.HEALTHY, T0, reason)


# Text PostgreSQL cannot store; SQLite stores a NUL but no lone surrogate either.
@pytest.mark.parametrize("bad", ["nul \x00 inside", "lone \ud800 surrogate"])
async def test_a_refused_row_is_dropped_alone(sql_repository: SqlRepository, bad: str) -> None:
    repository = sql_repository
    history = HistoryRecorder(ManualClock(T0), repository)
    history.record_transition(change("before", "fine"))
    history.record_transition(change("bad", bad))
    history.record_transition(change("after", "fine too"))
    await history.flush()
    await history.flush()  # nothing left to retry forever
    stored = {
        service_id: await repository.list_transitions(service_id, 10)
        for service_id in ("before", "bad", "after")
    }
    assert [c.reason for c in stored["before"]] == ["fine"]
    assert [c.reason for c in stored["after"]] == ["fine too"]
    refused = repository.dialect == "postgresql" or "\ud800" in bad
    assert history.rows_refused == (1 if refused else 0)
    assert len(stored["bad"]) == (0 if refused else 1)
    assert history.flush_failures == 0
    assert history.pending_transitions("bad") == []


class AwayOnce:
    """A repository whose first write fails as if the database were away."""

    def __init__(self, repository: SqlRepository) -> None:
        self.repository = repository
        self.failed = False

    def __getattr__(self, name: str) -> object:
        return getattr(self.repository, name)

    async def add_transitions(self, changes: list[StatusChange]) -> None:
        if not self.failed:
            self.failed = True
            raise StorageUnavailable("away")
        await self.repository.add_transitions(changes)


async def test_rows_are_kept_while_the_database_is_away(sql_repository: SqlRepository) -> None:
    repository = sql_repository
    history = HistoryRecorder(ManualClock(T0), AwayOnce(repository))  # type: ignore[arg-type]
    history.record_transition(change("svc", "kept"))
    await history.flush()
    assert history.flush_failures == 1
    assert [c.reason for c in history.pending_transitions("svc")] == ["kept"]
    await history.flush()
    assert [c.reason for c in await repository.list_transitions("svc", 10)] == ["kept"]
