"""GraphQL errors: a caller's mistake is told plainly and logged at INFO in one line; an
unexpected exception is masked for the client and logged with its traceback."""

from __future__ import annotations

import logging

import httpx
import pytest
from starlette.applications import Starlette

from tests.api.conftest import gql


async def test_an_unexpected_error_is_masked_and_logged_with_its_traceback(
    app: Starlette,
    client: httpx.AsyncClient,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken() -> None:
        raise RuntimeError("connection string postgres://admin:hunter2@db")

    monkeypatch.setattr(app.state.mesh.health, "summary", broken)
    with caplog.at_level(logging.INFO):
        result = await gql(client, "{ heartbeatSummary { total } }")
    [error] = result["errors"]
    assert error["message"] == "Unexpected error; the server has logged it."
    assert error["extensions"] == {"code": "INTERNAL_SERVER_ERROR"}
    assert "hunter2" not in str(result)
    [logged] = [r for r in caplog.records if r.exc_info and "hunter2" in str(r.exc_info[1])]
    assert logged.levelno == logging.ERROR


async def test_a_callers_mistake_is_told_and_logged_in_one_line(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        result = await gql(client, "{ services(limit: 0) { id } }")
    [error] = result["errors"]
    assert "limit must be from 1" in error["message"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    refused = [r for r in caplog.records if "limit must be from 1" in r.getMessage()]
    assert refused
    assert all(r.levelno == logging.INFO and not r.exc_info for r in refused)


@pytest.mark.parametrize(
    ("query", "variables", "told"),
    [
        ("query ($n: Int!) { services(limit: $n) { id } }", {"n": "ten"}, "Int cannot represent"),
        (
            'mutation ($t: DependencyType!) { addDependency(input: {source: "a", '
            'target: "b", type: $t}) { __typename } }',
            {"t": "CIRCULAR"},
            "CIRCULAR",
        ),
    ],
    ids=["wrong-type", "unknown-enum-value"],
)
async def test_a_bad_variable_is_the_callers_mistake(
    client: httpx.AsyncClient,
    caplog: pytest.LogCaptureFixture,
    query: str,
    variables: dict[str, object],
    told: str,
) -> None:
    with caplog.at_level(logging.INFO):
        result = await gql(client, query, **variables)
    [error] = result["errors"]
    assert told in error["message"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
