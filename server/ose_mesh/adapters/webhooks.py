"""Alert webhooks: a transition POSTed as JSON to a URL (the transport of core/alerts.py).

URLs are shown and logged without their secrets (credentials, query values, key-like path
parts), aiohttp's own messages included.
"""

from __future__ import annotations

from typing import Any

import aiohttp

from ose_mesh.core.alerts import DeliveryFailed
from ose_mesh.domain.redaction import safe_url, scrub

TIMEOUT_SECONDS = 5.0


class HttpWebhooks:
    def __init__(self) -> None:
        self._session: aiohttp.ClientSession | None = None

    async def send(self, target: str, body: dict[str, Any]) -> None:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=TIMEOUT_SECONDS)
            )
        try:
            async with self._session.post(target, json=body) as response:
                if response.status < 300:
                    return
                raise DeliveryFailed(f"{safe_url(target)} answered HTTP {response.status}")
        except (aiohttp.ClientError, TimeoutError) as exc:
            # aiohttp's messages can repeat the URL or its parts: shown and logged hidden
            message = f"{safe_url(target)}: {type(exc).__name__} {exc}".strip()
            raise DeliveryFailed(scrub(message, target)) from None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
