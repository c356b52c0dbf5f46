"""Notifications through real local receivers, never the internet: Apprise's json:// to an
HTTP server, mailto:// to an SMTP server (aiosmtpd), and the mesh's own http(s) webhook;
targets made over REST, GraphQL and a file, their secrets never answered."""

from __future__ import annotations

import asyncio
import json
import socket
from datetime import UTC, datetime
from email import message_from_bytes
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller

from ose_mesh.adapters.broker import MemoryBroker, MemoryVirtualHost
from ose_mesh.adapters.notify import NotificationSenders
from ose_mesh.app import create_app
from ose_mesh.config import load_settings
from ose_mesh.core.alerts import DeliveryFailed
from ose_mesh.core.notifications import Notification
from ose_mesh.domain import HealthStatus, NotificationTarget, StatusChange
from tests.api.conftest import HttpInbox, gql
from tests.conftest import sqlite_url
from tests.eventually import eventually
from tests.fakes import ScriptedProber
from tests.integration.server import free_port

TARGETS = "/api/v1/notifications/targets"
REGISTER = "/api/v1/heartbeat/register"


class MailInbox:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"


@pytest.fixture
def mail_inbox() -> Any:
    inbox = MailInbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield inbox, controller.port
    controller.stop()


async def shop(client: httpx.AsyncClient) -> None:
    for body in (
        {"service_id": "payments", "labels": {"team": "pay"}, "max_failures": 2},
        {"service_id": "orders-db"},
    ):
        assert (await client.post(REGISTER, json=body)).status_code == 201
    edge = {"source": "payments", "target": "orders-db", "relationship": "database"}
    assert (await client.post("/api/v1/dependencies", json=edge)).status_code == 201


async def fail_twice(client: httpx.AsyncClient, service_id: str) -> None:
    for _ in range(2):
        body = {"ok": False, "message": "connection refused"}
        assert (await client.post(f"/api/v1/heartbeat/{service_id}/beat", json=body)).is_success
        await asyncio.sleep(0.01)


async def test_one_transition_reaches_apprise_json_email_and_the_webhook_once_each(
    client: httpx.AsyncClient, http_inbox: HttpInbox, mail_inbox: Any
) -> None:
    mail, smtp_port = mail_inbox
    await shop(client)
    targets = {
        "apprise-json": f"json://127.0.0.1:{http_inbox.port}/apprise",
        "email": f"mailto://127.0.0.1:{smtp_port}?from=mesh@example.com&to=ops@example.com",
        "webhook": f"http://127.0.0.1:{http_inbox.port}/webhook?token=s3cret-value",
    }
    for name, url in targets.items():
        created = await client.post(
            TARGETS, json={"name": name, "url": url, "labels": ["team=pay"]}
        )
        assert created.status_code == 201, created.text
        assert "s3cret-value" not in created.text
    await fail_twice(client, "payments")  # degraded, then critical: one notification each
    await eventually(lambda: len(http_inbox.received) == 2 and len(mail.messages) == 1)
    by_path = dict(http_inbox.received)
    story = "payments is critical (2 consecutive failures: connection refused) since"
    apprise_body = by_path["/apprise"]
    assert apprise_body["title"] == "payments is critical"
    assert apprise_body["message"].startswith(story)
    assert apprise_body["type"] == "failure"
    webhook = by_path["/webhook"]
    assert (webhook["event_type"], webhook["current"]) == ("service.health.critical", "critical")
    assert webhook["message"].startswith(story)
    [email] = mail.messages
    assert email["Subject"] == "payments is critical"
    texts = [
        part.get_payload(decode=True).decode()
        for part in email.walk()
        if part.get_content_type() == "text/plain"
    ]
    assert any(story in text for text in texts), texts

    async def counted() -> list[dict[str, Any]]:  # (a receiver has it before Apprise returns)
        listed: list[dict[str, Any]] = (await client.get(TARGETS)).json()
        return listed if all(t["delivered"] for t in listed) else []

    listed = await eventually(counted)
    counts = {t["name"]: (t["delivered"], t["failed"]) for t in listed}
    assert counts == dict.fromkeys(targets, (1, 0))
    assert {t["name"]: t["kind"] for t in listed} == {
        "apprise-json": "JSON",
        "email": "E-Mail",
        "webhook": "webhook",
    }
    assert "s3cret-value" not in json.dumps(listed)
    metrics = (await client.get("/metrics")).text
    assert 'ose_notifications_total{outcome="delivered",target="email"} 1.0' in metrics


async def test_a_target_that_fails_is_counted_and_a_test_says_why(
    client: httpx.AsyncClient,
) -> None:
    await shop(client)
    url = f"json://127.0.0.1:{free_port()}/nobody-listens"
    created = (await client.post(TARGETS, json={"name": "dead-end", "url": url})).json()
    tested = await client.post(f"{TARGETS}/{created['target_id']}/test")
    assert tested.json()["delivered"] is False
    assert tested.json()["error"].startswith("JSON: ")


async def test_a_name_that_resolves_to_the_metadata_address_is_not_sent_to(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Checked at sending, on what the name resolves to (the literal is refused earlier)."""
    senders = NotificationSenders()
    kind, shown = senders.describe("json://metadata.internal/latest")

    async def resolves_to_metadata(host: str, port: object, **_: object) -> list[Any]:
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("169.254.169.254", 0))]

    loop = asyncio.get_running_loop()
    monkeypatch.setattr(loop, "getaddrinfo", resolves_to_metadata)
    target = NotificationTarget("t", "meta", "json://metadata.internal/latest", kind, shown)
    change = StatusChange("svc", HealthStatus.HEALTHY, HealthStatus.DEAD, datetime.now(UTC), "x")
    with pytest.raises(DeliveryFailed) as refused:
        await senders.send(target, Notification("t", "b", "failure", change, "problem"))
    assert str(refused.value) == (
        "JSON: not sent: 169.254.169.254 is link-local, where clouds serve instance credentials"
    )


async def test_an_ipv6_answer_carrying_the_metadata_address_is_not_sent_to(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    senders = NotificationSenders()
    kind, shown = senders.describe("json://metadata.internal/latest")

    async def resolves_to_mapped(host: str, port: object, **_: object) -> list[Any]:
        return [(socket.AF_INET6, socket.SOCK_STREAM, 6, "", ("::ffff:169.254.169.254", 0, 0, 0))]

    monkeypatch.setattr(asyncio.get_running_loop(), "getaddrinfo", resolves_to_mapped)
    target = NotificationTarget("t", "meta", "json://metadata.internal/latest", kind, shown)
    change = StatusChange("svc", HealthStatus.HEALTHY, HealthStatus.DEAD, datetime.now(UTC), "x")
    with pytest.raises(DeliveryFailed) as refused:
        await senders.send(target, Notification("t", "b", "failure", change, "problem"))
    assert "169.254.169.254" in str(refused.value)


async def test_targets_over_graphql(client: httpx.AsyncClient, http_inbox: HttpInbox) -> None:
    created = await gql(
        client,
        """mutation($input: NotificationTargetInput!) { createNotificationTarget(input: $input) {
             __typename ... on NotificationTarget { id kind url statuses minMinutes } } }""",
        input={
            "name": "ntfy-like",
            "url": f"json://user:p4ssword@127.0.0.1:{http_inbox.port}/hook",
            "statuses": ["DEAD"],
            "minMinutes": 2,
        },
    )
    target = created["data"]["createNotificationTarget"]
    assert (target["kind"], target["statuses"], target["minMinutes"]) == ("JSON", ["DEAD"], 2.0)
    assert "p4ssword" not in target["url"]
    tested = await gql(
        client,
        f'mutation {{ testNotificationTarget(id: "{target["id"]}") '
        "{ ... on TestDelivery { delivered error } } }",
    )
    assert tested["data"]["testNotificationTarget"] == {"delivered": True, "error": None}
    assert http_inbox.received[0][1]["title"].startswith("Test from OSE Service Mesh")
    refused = await gql(
        client,
        """mutation($input: NotificationTargetInput!) { createNotificationTarget(input: $input) {
             __typename ... on InvalidFieldError { field } } }""",
        input={"name": "bad", "url": "not-a-scheme://x"},
    )
    assert refused["data"]["createNotificationTarget"] == {
        "__typename": "InvalidFieldError",
        "field": "url",
    }
    deleted = await gql(
        client,
        f'mutation {{ deleteNotificationTarget(id: "{target["id"]}") '
        "{ ... on TargetDeleted { id } } }",
    )
    assert deleted["data"]["deleteNotificationTarget"] == {"id": target["id"]}
    assert (await gql(client, "{ notificationTargets { id } }"))["data"] == {
        "notificationTargets": []
    }


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "x", "url": "nope://x"}, "url"),
        ({"name": "x", "url": "ftp://example.org/"}, "url"),
        ({"name": "x", "url": "http://169.254.169.254/latest"}, "url"),
        ({"name": "x", "url": "json://169.254.169.254/"}, "url"),
        ({"name": "x", "url": "mailto://0.0.0.0:25?to=a@b.c"}, "url"),
        ({"name": "x", "url": "form://[fe80::1]/hook"}, "url"),
        ({"name": "x", "url": "json://h/", "statuses": ["healthy"]}, "statuses.0"),
        ({"name": "x", "url": "json://h/", "statuses": []}, "statuses"),
        ({"name": "x", "url": "json://h/", "min_minutes": -1}, "min_minutes"),
        ({"name": "x", "url": "json://h/", "repeat_minutes": 0.5}, "repeat_minutes"),
        ({"name": "x", "url": "json://h/", "labels": ["team"]}, "labels"),
        ({"name": "", "url": "json://h/"}, "name"),
        ({"url": "json://h/"}, "name"),
        ({"name": "x", "url": "json://h/", "when": "always"}, "when"),
    ],
)
async def test_bad_targets_are_422_and_change_nothing(
    client: httpx.AsyncClient, body: dict[str, Any], field: str
) -> None:
    response = await client.post(TARGETS, json=body)
    assert response.status_code == 422, response.text
    assert response.json()["field"] == field
    assert (await client.get(TARGETS)).json() == []


async def test_an_unknown_target_is_404(client: httpx.AsyncClient) -> None:
    assert (await client.delete(f"{TARGETS}/nope")).status_code == 404
    assert (await client.post(f"{TARGETS}/nope/test")).status_code == 404


async def test_targets_from_the_file_are_listed_read_only(tmp_path: Path) -> None:
    notify_file = tmp_path / "notify.yaml"
    notify_file.write_text(
        "targets:\n"
        "  - name: ops-slack\n"
        "    url: slack://TokenA/TokenB/TokenC/#ops\n"
        "    statuses: [dead]\n"
        "    repeat_minutes: 60\n"
        "    clusters: [core]\n"
    )
    settings = load_settings(database_url=sqlite_url(tmp_path), notify_file=notify_file)
    app = create_app(settings, prober=ScriptedProber(), broker=MemoryBroker(MemoryVirtualHost()))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            [target] = (await client.get(TARGETS)).json()
            assert (target["name"], target["kind"], target["source"]) == (
                "ops-slack",
                "Slack",
                "file",
            )
            assert target["rule"]["statuses"] == ["dead"]
            assert "TokenB" not in json.dumps(target)
            refused = await client.delete(f"{TARGETS}/{target['target_id']}")
            assert refused.status_code == 422
            assert "OSE_MESH_NOTIFY_FILE" in refused.json()["detail"]
