"""What the cluster tests and benchmarks run: three `ose-mesh serve --cluster` processes on
the tests' PostgreSQL database and RabbitMQ vhost, a fleet of HTTP health endpoints that
notes who probes it and when, and a TCP proxy in front of PostgreSQL that can be cut."""

from __future__ import annotations

import re
import select
import socket
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

from tests.integration.server import MeshProcess, free_port

INTERVAL = 5.0
_REPLICA = re.compile(r"\(replica ([^)]+)\)")


@dataclass(frozen=True, slots=True)
class Probe:
    service: str
    replica: str
    at: float  # time.monotonic() in the test process


class Fleet:
    """Health endpoints `/health/{service}`: 200 unless the service is in `failing`."""

    def __init__(self) -> None:
        self.probes: list[Probe] = []
        self.failing: set[str] = set()
        self._lock = threading.Lock()
        fleet = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                service = self.path.rsplit("/", 1)[-1]
                found = _REPLICA.search(self.headers.get("User-Agent", ""))
                with fleet._lock:
                    fleet.probes.append(
                        Probe(service, found.group(1) if found else "?", time.monotonic())
                    )
                code = 500 if service in fleet.failing else 200
                self.send_response(code)
                self.send_header("content-length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.base = f"http://127.0.0.1:{self._server.server_address[1]}/health"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def url(self, service: str) -> str:
        return f"{self.base}/{service}"

    def since(self, moment: float) -> list[Probe]:
        with self._lock:
            return [p for p in self.probes if p.at >= moment]

    def by_service(self, moment: float) -> dict[str, list[Probe]]:
        found: dict[str, list[Probe]] = defaultdict(list)
        for probe in self.since(moment):
            found[probe.service].append(probe)
        return found

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class Replicas:
    """Three (or more) replicas, each a real server process."""

    def __init__(self, database_url: str, rabbitmq_url: str, workdir: Path, **env: str) -> None:
        self.database_url = database_url
        self.rabbitmq_url = rabbitmq_url
        self.workdir = workdir
        self.env = env
        self.members: dict[str, MeshProcess] = {}

    def start(self, replica_id: str, database_url: str | None = None) -> MeshProcess:
        env = {
            "OSE_MESH_CLUSTER": "true",
            "OSE_MESH_REPLICA_ID": replica_id,
            "RABBITMQ_URL": self.rabbitmq_url,
            "HEARTBEAT_INTERVAL": str(INTERVAL),
            "HEARTBEAT_TIMEOUT": str(3 * INTERVAL),
            "OSE_MESH_HISTORY_FLUSH_SECONDS": "1",
            **self.env,
        }
        process = MeshProcess(database_url or self.database_url, self.workdir, env)
        process.start()
        self.members[replica_id] = process
        return process

    def url(self, replica_id: str) -> str:
        return self.members[replica_id].url

    def cluster(self, replica_id: str) -> dict[str, Any]:
        answer: dict[str, Any] = httpx.get(f"{self.url(replica_id)}/api/v1/cluster").json()
        return answer

    def stop_all(self) -> None:
        for process in self.members.values():
            process.stop()


class CuttableProxy:
    """A TCP proxy to `target`. `cut()` stops relaying (the open connections go silent,
    new ones are taken in and never answered), as a network partition does; `heal()`
    drops the silent ones and relays again."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = free_port()
        self._listener = socket.create_server(("127.0.0.1", self.port))
        self._cut = threading.Event()
        self._pairs: list[tuple[socket.socket, socket.socket | None]] = []
        self._lock = threading.Lock()
        self._running = True
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while self._running:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if self._cut.is_set():
                with self._lock:
                    self._pairs.append((client, None))  # held, never answered
                continue
            upstream = socket.create_connection(self.target)
            with self._lock:
                self._pairs.append((client, upstream))
            threading.Thread(target=self._relay, args=(client, upstream), daemon=True).start()

    def _relay(self, client: socket.socket, upstream: socket.socket) -> None:
        ends = {client: upstream, upstream: client}
        try:
            while self._running:
                readable, _, _ = select.select(list(ends), [], [], 0.2)
                if self._cut.is_set():
                    continue  # silent: nothing passes
                for end in readable:
                    data = end.recv(65536)
                    if not data:
                        return
                    ends[end].sendall(data)
        except (OSError, ValueError):  # closed by heal() or close()
            return
        finally:
            for end in ends:
                end.close()

    def cut(self) -> None:
        self._cut.set()

    def heal(self) -> None:
        with self._lock:
            pairs, self._pairs = self._pairs, []
        for client, upstream in pairs:
            for end in (client, upstream):
                if end is not None:
                    end.close()
        self._cut.clear()

    def close(self) -> None:
        self._running = False
        self._listener.close()
        self.heal()


@contextmanager
def fleet() -> Iterator[Fleet]:
    running = Fleet()
    try:
        yield running
    finally:
        running.close()
