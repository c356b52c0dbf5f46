"""A service's own heartbeats: register once, then beat every interval in the background.

The client is built to be harmless to the application it runs in: every call to the mesh
has a timeout, nothing it does raises into the application, and while the mesh is away it
backs off (doubling up to `max_backoff`, with jitter, or as long as a 429/503 `Retry-After`
asks) instead of hammering it. What went wrong last is in `last_error`.

With tokens on the server, give a write token (`token`) to register and deregister; the
registration answer carries the service's beat token, which the beats then use. A service
registered by someone else can beat with only its beat token (`beat_token`).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import random
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self
from urllib.parse import quote

import httpx

log = logging.getLogger("ose_mesh.client")

MAX_MESSAGE_CHARS = 1000  # what the beat route takes


@dataclass(frozen=True, slots=True)
class CheckResult:
    """What a check function may return (or just a bool)."""

    ok: bool
    message: str | None = None
    latency_ms: float | None = None  # measured around the call when not given


CheckFunction = Callable[[], "bool | CheckResult | Awaitable[bool | CheckResult]"]


class MeshRefused(Exception):
    """The mesh answered 4xx: retrying the same request will not help."""


class HeartbeatClient:
    def __init__(
        self,
        mesh_url: str,
        service_id: str,
        *,
        service_name: str | None = None,
        interval: float = 10.0,
        jitter: float = 0.1,
        check: CheckFunction | None = None,
        check_timeout: float | None = None,
        token: str | None = None,
        beat_token: str | None = None,
        register: bool = True,
        registration: dict[str, Any] | None = None,
        request_timeout: float = 5.0,
        max_backoff: float = 300.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        """`check` is called before each beat; its result (a bool or a CheckResult) and
        how long it took go into the beat, and an exception or `check_timeout` (default:
        half the interval) makes a failed beat that says why. `registration` adds fields to
        the registration (cluster, public, timeout_seconds, …). `jitter` spreads beats by
        ± that fraction of the interval, so that many replicas do not beat in step."""
        if interval <= 0:
            raise ValueError("interval must be positive")
        if not 0 <= jitter < 1:
            raise ValueError("jitter must be from 0 to less than 1")
        self.service_id = service_id
        self.interval = interval
        self.jitter = jitter
        self.last_error: str | None = None
        self.beats_sent = 0
        self._name = service_name
        self._check = check
        self._check_timeout = check_timeout or interval / 2
        self._token = token
        self._beat_token = beat_token
        self._register = register
        self._registration = registration or {}
        self._max_backoff = max_backoff
        self._http = httpx.AsyncClient(
            base_url=mesh_url.rstrip("/"), timeout=request_timeout, transport=transport
        )
        self._registered = not register
        self._task: asyncio.Task[None] | None = None
        self._failures = 0
        self._retry_after: float | None = None  # what the mesh's last 429/503 asked for

    # -- the application's side ----------------------------------------------------------

    async def start(self) -> None:
        """Start beating in the background; returns at once. Registration happens in the
        background too, and is tried again until the mesh takes it."""
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self, *, deregister: bool = False) -> None:
        """Stop beating; with `deregister`, also remove the service from the mesh."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if deregister:
            await self._call("DELETE", self._path("register"), token=self._token)
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    async def beat(
        self, ok: bool = True, *, latency_ms: float | None = None, message: str | None = None
    ) -> bool:
        """Send one beat now; True when the mesh counted it. Never raises."""
        try:
            return await self._beat(ok, latency_ms, message)
        except MeshRefused:
            return False

    async def _beat(self, ok: bool, latency_ms: float | None, message: str | None) -> bool:
        if not self._registered:  # a beat asked for before the background registered it
            await self._register_now()
            if not self._registered:
                return False
        body: dict[str, Any] = {"ok": ok}
        if latency_ms is not None:
            body["latency_ms"] = round(min(max(latency_ms, 0.0), 3_600_000.0), 3)
        if message:
            body["message"] = message[:MAX_MESSAGE_CHARS]
        answer = await self._call(
            "POST", self._path("beat"), json=body, token=self._beat_token or self._token
        )
        if answer is not None:
            self.beats_sent += 1
        return answer is not None

    # -- the background loop ---------------------------------------------------------------

    async def _run(self) -> None:
        while True:
            delay = await self._turn()
            await asyncio.sleep(delay)

    async def _turn(self) -> float:
        """One round: register if still needed, check, beat; how long to wait next."""
        try:
            if not self._registered:
                await self._register_now()
            if self._registered:
                result = await self._run_check()
                counted = await self._beat(result.ok, result.latency_ms, result.message)
                if counted:
                    self._failures = 0
                    return self._jittered(self.interval)
        except MeshRefused:
            return self._jittered(max(self.interval, 60.0))  # told no: ask again rarely
        except Exception:  # never let a bug of ours end the beats, nor reach the app
            log.exception("heartbeat client for %s", self.service_id)
        return self._backoff()

    async def _register_now(self) -> None:
        body = {"service_id": self.service_id, "check_type": "push", **self._registration}
        body.setdefault("interval_seconds", self.interval)
        if self._name:
            body.setdefault("service_name", self._name)
        answer = await self._call(
            "POST", "/api/v1/heartbeat/register", json=body, token=self._token
        )
        if answer is None:
            return
        self._registered = True
        self._beat_token = self._beat_token or answer.get("beat_token")

    async def _run_check(self) -> CheckResult:
        if self._check is None:
            return CheckResult(True)
        started = time.perf_counter()
        try:
            async with asyncio.timeout(self._check_timeout):
                value = self._check()
                if inspect.isawaitable(value):
                    value = await value
        except TimeoutError:
            return CheckResult(False, f"the check took longer than {self._check_timeout:g}s")
        except Exception as exc:
            return CheckResult(False, f"the check raised {type(exc).__name__}: {exc}")
        took = round((time.perf_counter() - started) * 1000, 3)
        if isinstance(value, CheckResult):
            latency = value.latency_ms if value.latency_ms is not None else took
            return CheckResult(value.ok, value.message, latency)
        return CheckResult(bool(value), None, took)

    def _jittered(self, seconds: float) -> float:
        return seconds * (1 + random.uniform(-self.jitter, self.jitter))

    def _backoff(self) -> float:
        self._failures += 1
        delay = min(self._max_backoff, self.interval * 2 ** min(self._failures - 1, 16))
        retry_after, self._retry_after = self._retry_after, None
        return self._jittered(max(delay, retry_after or 0.0))

    # -- talking to the mesh ---------------------------------------------------------------

    def _path(self, action: str) -> str:
        service = quote(self.service_id, safe="")
        if action == "beat":
            return f"/api/v1/heartbeat/{service}/beat"
        return f"/api/v1/heartbeat/register/{service}"

    async def _call(
        self, method: str, path: str, *, json: Any = None, token: str | None
    ) -> dict[str, Any] | None:
        """The answer's JSON when the mesh took the request, else None (with last_error
        set); MeshRefused for a 4xx that retrying would not change."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        try:
            response = await self._http.request(method, path, json=json, headers=headers)
        except httpx.HTTPError as exc:
            self._note(f"the mesh cannot be reached: {type(exc).__name__}: {exc}")
            return None
        if response.is_success:
            if self.last_error is not None:
                log.info("heartbeat client for %s: the mesh answers again", self.service_id)
            self.last_error = None
            answer = response.json() if response.content else {}
            return answer if isinstance(answer, dict) else {}
        detail = _detail(response)
        if response.status_code in (429, 503) or response.status_code >= 500:
            self._retry_after = _seconds(response.headers.get("Retry-After"))
            self._note(f"the mesh answered {response.status_code}: {detail}")
            return None
        if response.status_code == 404 and path.endswith("/beat") and self._register:
            self._registered = False  # deregistered meanwhile: register again
            self._note(f"{self.service_id} is not registered; registering it again")
            return None
        self._note(f"the mesh refused {method} {path} ({response.status_code}): {detail}")
        if method == "DELETE":
            return None
        raise MeshRefused(detail)

    def _note(self, error: str) -> None:
        if error != self.last_error:
            log.warning("heartbeat client for %s: %s", self.service_id, error)
        self.last_error = error


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    return str(body.get("detail", body))[:200] if isinstance(body, dict) else str(body)[:200]


def _seconds(value: str | None) -> float | None:
    try:
        return min(float(value), 3600.0) if value else None
    except ValueError:
        return None


class SyncHeartbeatClient:
    """HeartbeatClient for programs without asyncio: it runs in a thread of its own.

    client = SyncHeartbeatClient("http://mesh:8000", "billing-worker", interval=30)
    client.start()
    ...
    client.stop()
    """

    def __init__(self, mesh_url: str, service_id: str, **options: Any) -> None:
        self._options = (mesh_url, service_id, options)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name=f"ose-mesh-heartbeat-{service_id}", daemon=True
        )
        self.client: HeartbeatClient | None = None

    def start(self) -> None:
        if not self._thread.is_alive():
            self._thread.start()
        self._wait(self._start())

    async def _start(self) -> None:
        mesh_url, service_id, options = self._options
        self.client = HeartbeatClient(mesh_url, service_id, **options)
        await self.client.start()

    def beat(self, ok: bool = True, **fields: Any) -> bool:
        assert self.client is not None, "start() first"
        return bool(self._wait(self.client.beat(ok, **fields)))

    def stop(self, *, deregister: bool = False) -> None:
        if self.client is not None:
            self._wait(self.client.stop(deregister=deregister))
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        if not self._thread.is_alive():
            self._loop.close()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _wait(self, work: Awaitable[Any]) -> Any:
        future = asyncio.run_coroutine_threadsafe(_awaited(work), self._loop)
        return future.result(timeout=60)


async def _awaited(work: Awaitable[Any]) -> Any:
    return await work
