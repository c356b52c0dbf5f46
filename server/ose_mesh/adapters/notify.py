"""Sending notifications: through Apprise for its URLs (Slack, Teams, Discord, Telegram,
e-mail, PagerDuty, Opsgenie, ntfy, Gotify, json://, …), and as the mesh's own JSON webhook
for plain http(s) URLs (adapters/webhooks.py).

An Apprise URL carries the target's secrets (tokens, passwords): it is shown only as
Apprise's own privacy form (`slack://T...A/****/…`), and messages from a failed delivery
are read from Apprise's log with the URL scrubbed out.

Where a target may send: its host is resolved before each delivery and refused when any
address is one no probe may reach either (link-local, as the cloud metadata service;
unspecified). Apprise then connects on its own, so a name that changes its answer between
the two lookups is not caught: targets are set by holders of a write token or by the
operator's file, not by strangers (SECURITY.md).
"""

from __future__ import annotations

import asyncio
import logging
import socket
from urllib.parse import urlsplit

import apprise

from ose_mesh.adapters.network import NetworkPolicy
from ose_mesh.adapters.webhooks import HttpWebhooks
from ose_mesh.core.alerts import DeliveryFailed
from ose_mesh.core.notifications import Notification
from ose_mesh.domain import InvalidField
from ose_mesh.domain.addresses import parse_address
from ose_mesh.domain.notifications import NotificationTarget
from ose_mesh.domain.redaction import safe_url, scrub
from ose_mesh.domain.service import validate_health_url, validate_host

SEND_TIMEOUT_SECONDS = 30.0
# Apprise services whose URL names the host they connect to (others go to a cloud service
# at its own address, with tokens where a host would be).
_HOSTED = ("JSON", "Form", "XML", "E-Mail")
# Targets may be on the private network (a mail relay, a chat bridge); never on link-local
# or unspecified addresses, nor an IPv6 address carrying one (the probes' rule for those).
_ANYWHERE_BUT_LINK_LOCAL = NetworkPolicy()
_NOTIFY_TYPES = {
    "failure": apprise.NotifyType.FAILURE,
    "warning": apprise.NotifyType.WARNING,
    "success": apprise.NotifyType.SUCCESS,
    "info": apprise.NotifyType.INFO,
}


class NotificationSenders:
    def __init__(self) -> None:
        self._webhooks = HttpWebhooks()

    def describe(self, url: str) -> tuple[str, str]:
        if url.startswith(("http://", "https://")):
            try:
                validate_health_url(url)  # the same rules as a probed URL
            except InvalidField as exc:
                raise InvalidField("url", exc.reason) from None
            return "webhook", safe_url(url) or ""
        plugin = apprise.Apprise.instantiate(url)
        if plugin is None:
            raise InvalidField(
                "url",
                "is not a URL Apprise can read (slack://…, mailto://…, json://…; see "
                "https://github.com/caronc/apprise/wiki) nor an http(s) webhook",
            )
        kind = str(plugin.service_name)
        host = urlsplit(url).hostname
        if kind in _HOSTED and host:
            try:  # a literal address no probe may reach either is refused now, not at sending
                validate_host("url", host)
            except InvalidField as exc:
                raise InvalidField("url", exc.reason) from None
        return kind, str(plugin.url(privacy=True))

    async def send(self, target: NotificationTarget, notification: Notification) -> None:
        await _check_destination(target)
        if target.kind == "webhook":
            await self._webhooks.send(target.url, notification.webhook_body())
            return
        sender = apprise.Apprise()
        sender.add(target.url)
        with apprise.LogCapture(level=logging.WARNING, fmt="%(message)s") as captured:
            try:
                async with asyncio.timeout(SEND_TIMEOUT_SECONDS):
                    sent = await sender.async_notify(
                        body=notification.body,
                        title=notification.title,
                        notify_type=_NOTIFY_TYPES.get(notification.level, apprise.NotifyType.INFO),
                    )
            except TimeoutError:
                raise DeliveryFailed(
                    f"{target.kind}: no answer within {SEND_TIMEOUT_SECONDS:g}s"
                ) from None
            log_text = captured.getvalue()
        if not sent:
            reason = log_text.strip().splitlines()[-1] if log_text.strip() else "not delivered"
            raise DeliveryFailed(scrub(f"{target.kind}: {reason}", target.url)[:300])

    async def close(self) -> None:
        await self._webhooks.close()


async def _check_destination(target: NotificationTarget) -> None:
    host = urlsplit(target.url).hostname
    if not host or target.kind not in ("webhook", *_HOSTED):
        return  # a cloud service at its own well-known address
    try:
        found = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except OSError:
        return  # Apprise will say it cannot resolve it
    for *_, sockaddr in found:
        address = parse_address(str(sockaddr[0]))
        if address is not None and (reason := _ANYWHERE_BUT_LINK_LOCAL.refusal(address)):
            raise DeliveryFailed(f"{target.kind}: not sent: {reason}")
