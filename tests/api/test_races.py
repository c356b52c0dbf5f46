"""Concurrent changes to one service id take turns: memory and database always agree, and
exactly one of many concurrent registrations of a new id creates it."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx

from ose_mesh.adapters.db import SqlRepository
from tests.conftest import sqlite_url

REGISTER = "/api/v1/heartbeat/register"


async def test_exactly_one_of_concurrent_registrations_creates(client: httpx.AsyncClient) -> None:
    for trial in range(3):
        body = {"service_id": f"new-{trial}", "check_type": "push"}
        answers = await asyncio.gather(*(client.post(REGISTER, json=body) for _ in range(50)))
        codes = sorted(answer.status_code for answer in answers)
        assert codes == [200] * 49 + [201]


async def in_database(tmp_path: Path) -> set[str]:
    repository = SqlRepository.from_url(sqlite_url(tmp_path))
    try:
        return {service.service_id for service in await repository.list_services()}
    finally:
        await repository.close()


async def in_memory(client: httpx.AsyncClient) -> set[str]:
    return set((await client.get("/api/v1/heartbeat/status")).json())


async def test_concurrent_register_and_deregister_leave_memory_and_database_agreeing(
    client: httpx.AsyncClient, tmp_path: Path
) -> None:
    for trial in range(30):
        service_id = f"racer-{trial}"
        if trial % 2:
            await client.post(REGISTER, json={"service_id": service_id, "check_type": "push"})
        requests = [
            client.post(REGISTER, json={"service_id": service_id, "check_type": "push"}),
            client.delete(f"{REGISTER}/{service_id}"),
            client.post(REGISTER, json={"service_id": service_id, "service_name": "again"}),
            client.delete(f"{REGISTER}/{service_id}"),
        ]
        if trial % 3 == 0:
            requests.reverse()
        answers = await asyncio.gather(*requests)
        assert all(answer.status_code < 500 for answer in answers), [a.text for a in answers]
    memory = {s for s in await in_memory(client) if s.startswith("racer-")}
    database = {s for s in await in_database(tmp_path) if s.startswith("racer-")}
    assert memory == database
