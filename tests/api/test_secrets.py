"""A secret planted in every URL the mesh is given (webhook, health URL, broker) never shows
up in what it answers (status, services, events, metrics) or in what it logs."""

from __future__ import annotations

import logging
import socket
from pathlib import Path

import httpx
import pytest

from ose_mesh.adapters.broker import MemoryBroker, MemoryVirtualHost
from ose_mesh.app import create_app
from ose_mesh.bus.settings import BusSettings
from ose_mesh.config import load_settings
from ose_mesh.domain.redaction import safe_url, scrub
from tests.conftest import sqlite_url
from tests.eventually import eventually
from tests.fakes import ScriptedProber

PASSWORD, PATH_KEY, QUERY_VALUE = "pw-Planted1", "Xk9s8d7f6g5h4j3k2l1Planted", "qv-Planted3"
SECRETS = (PASSWORD, PATH_KEY, QUERY_VALUE)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port  # nothing listens there now: every delivery fails


def planted(host: str) -> str:
    return f"http://hook-user:{PASSWORD}@{host}/services/T01/{PATH_KEY}?token={QUERY_VALUE}"


def assert_clean(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text


async def test_planted_secrets_are_never_shown_or_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)  # aiosqlite's DEBUG lines carry SQL parameters: serve
    caplog.set_level(logging.DEBUG, logger="ose_mesh")  # keeps them off (cli.py)
    webhook = planted(f"127.0.0.1:{closed_port()}")
    settings = load_settings(database_url=sqlite_url(tmp_path), webhook_urls=webhook)
    app = create_app(settings, prober=ScriptedProber(), broker=MemoryBroker(MemoryVirtualHost()))
    app.state.parts.webhooks.first_backoff = 0.01
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            register = {"service_id": "api", "health_url": planted("api.example.com")}
            assert (await client.post("/api/v1/heartbeat/register", json=register)).is_success
            await client.post("/api/v1/heartbeat/register", json={"service_id": "push"})
            await client.post("/api/v1/heartbeat/push/beat", json={"ok": False})
            await eventually(lambda: app.state.parts.webhooks.stats.failed)  # gave up
            status = await client.get("/api/v1/messagebus/status")
            assert status.json()["webhooks"]["last_error"]
            shown = [
                status.text,
                (await client.get("/api/v1/heartbeat/status")).text,
                (await client.get("/api/v1/heartbeat/status/api")).text,
                (await client.get("/metrics")).text,
                (await client.post("/graphql", json={"query": GRAPHQL})).text,
            ]
    assert "***" in shown[0]
    for text in [*shown, caplog.text]:
        assert_clean(text)


GRAPHQL = """{
  services { id healthUrl }
  busStatus { broker webhooks { lastError } }
  events(last: 100) { payload }
}"""


def test_the_broker_url_is_shown_without_its_password() -> None:
    settings = BusSettings(rabbitmq_url=f"amqp://mesh:{PASSWORD}@rabbit:5672/%2F")
    assert_clean(settings.safe_url)
    assert settings.safe_url == "amqp://***@rabbit:5672/%2F"


@pytest.mark.parametrize(
    "url",
    [
        planted("h.example"),
        f"https://h.example/api/webhooks/123456789012345678/{PATH_KEY}",
        f"https://h.example/hook#{PASSWORD}",
        f"https://user:{PASSWORD}@[::1]:8443/x",
    ],
)
def test_every_spelling_of_a_secret_url_is_hidden(url: str) -> None:
    assert_clean(safe_url(url))
    repeated = ", ".join(secret for secret in SECRETS if secret in url)  # its parts, alone
    message = f"Cannot connect to {url} ({repeated})"
    assert_clean(scrub(message, url))
