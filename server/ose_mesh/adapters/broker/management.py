"""The RabbitMQ management API, for listing every queue and exchange of the vhost with
their counts (AMQP itself cannot list them). Pages as the API pages."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import quote

import aiohttp

from ose_mesh.domain import InvalidField, Unavailable

TIMEOUT_SECONDS = 5.0


@dataclass(frozen=True, slots=True)
class Page:
    items: list[dict[str, Any]]
    page: int
    page_size: int
    page_count: int
    total: int


class ManagementClient:
    def __init__(self, url: str, user: str, password: str, vhost: str) -> None:
        self.url = url.rstrip("/")
        self._auth = aiohttp.BasicAuth(user, password)
        self._vhost = quote(vhost, safe="")

    async def page(self, kind: Literal["queues", "exchanges"], page: int, page_size: int) -> Page:
        address = f"{self.url}/api/{kind}/{self._vhost}"
        params = {"page": str(page), "page_size": str(page_size)}
        timeout = aiohttp.ClientTimeout(total=TIMEOUT_SECONDS)
        try:
            async with (
                aiohttp.ClientSession(auth=self._auth, timeout=timeout) as session,
                session.get(address, params=params) as response,
            ):
                if response.status == 400:
                    raise InvalidField("page", f"page {page} is beyond the last page")
                if response.status != 200:
                    raise Unavailable(
                        f"The RabbitMQ management API answered HTTP {response.status}."
                    )
                data = await response.json()
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise Unavailable(f"The RabbitMQ management API is unreachable: {exc}") from exc
        return Page(
            items=list(data.get("items", [])),
            page=int(data.get("page", page)),
            page_size=int(data.get("page_size", page_size)),
            page_count=int(data.get("page_count", 1)),
            total=int(data.get("filtered_count", data.get("total_count", 0))),
        )
