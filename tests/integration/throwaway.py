"""PostgreSQL and RabbitMQ servers of the tests' own, for fault tests that stop and start
them: each has its own port, name and data directory, and only it is ever stopped. The
machine's servers are shared with other people and are never touched."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from tests.integration.server import free_port


def _as(user: str, command: Sequence[str]) -> list[str]:
    """Run as `user` when we are root (PostgreSQL refuses to run as root)."""
    return ["runuser", "-u", user, "--", *command] if os.geteuid() == 0 else list(command)


def _owned_dir(prefix: str, user: str) -> Path:
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    if os.geteuid() == 0:
        entry = pwd.getpwnam(user)
        os.chown(folder, entry.pw_uid, entry.pw_gid)
    return folder


class ThrowawayPostgres:
    def __init__(self) -> None:
        self.bin = Path(sorted(Path("/usr/lib/postgresql").glob("*/bin"))[-1])
        self.folder = _owned_dir("ose-test-pg-", "postgres")
        self.port = free_port()
        self.url = f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"
        command = [str(self.bin / "initdb"), "-D", str(self.folder / "data"), "-A", "trust"]
        subprocess.run(
            _as("postgres", [*command, "-U", "postgres"]), check=True, capture_output=True
        )

    def _ctl(self, *args: str) -> None:
        command = [str(self.bin / "pg_ctl"), "-D", str(self.folder / "data"), *args]
        subprocess.run(_as("postgres", command), check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1"
        self._ctl("-o", options, "-l", str(self.folder / "log"), "-w", "start")

    def stop(self) -> None:
        """Stop at once, as a crash would (`immediate`)."""
        self._ctl("-m", "immediate", "-w", "stop")

    def remove(self) -> None:
        subprocess.run(
            _as("postgres", [str(self.bin / "pg_ctl"), "-D", str(self.folder / "data"),
                             "-m", "immediate", "stop"]),
            capture_output=True,
        )  # fmt: skip
        shutil.rmtree(self.folder, ignore_errors=True)


@contextmanager
def throwaway_postgres() -> Iterator[ThrowawayPostgres]:
    server = ThrowawayPostgres()
    try:
        server.start()
        yield server
    finally:
        server.remove()


class ThrowawayRabbit:
    def __init__(self) -> None:
        self.folder = _owned_dir("ose-test-rabbit-", "rabbitmq")
        self.port = free_port()
        self.name = f"ose-test-{self.port}@localhost"
        self.url = f"amqp://guest:guest@127.0.0.1:{self.port}/"
        (self.folder / "enabled_plugins").write_text("[].\n")  # no management: 15672 is taken
        (self.folder / "rabbitmq.conf").write_text("loopback_users = none\n")
        if os.geteuid() == 0:  # rabbitmq-server runs as the rabbitmq user
            for file in ("enabled_plugins", "rabbitmq.conf"):
                shutil.chown(self.folder / file, "rabbitmq", "rabbitmq")
        self.env = {
            "RABBITMQ_NODENAME": self.name,
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(free_port()),
            "RABBITMQ_MNESIA_BASE": str(self.folder / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.folder / "log"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.folder / "enabled_plugins"),
            "RABBITMQ_PID_FILE": str(self.folder / "pid"),
            "RABBITMQ_CONFIG_FILE": str(self.folder / "rabbitmq"),
        }

    def _ctl(self, *args: str) -> None:
        subprocess.run(
            ["rabbitmqctl", "-n", self.name, *args], check=True, capture_output=True, timeout=120
        )

    def start(self) -> None:
        subprocess.run(
            ["rabbitmq-server", "-detached"],
            env={**os.environ, **self.env},
            check=True,
            capture_output=True,
            timeout=60,
        )
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            check = ["rabbitmq-diagnostics", "-n", self.name, "-q", "check_running"]
            if subprocess.run(check, capture_output=True, timeout=60).returncode == 0:
                return
            time.sleep(0.5)
        raise RuntimeError(f"the throwaway RabbitMQ node {self.name} did not start")

    def stop_app(self) -> None:
        self._ctl("stop_app")

    def start_app(self) -> None:
        self._ctl("start_app")

    def remove(self) -> None:
        subprocess.run(["rabbitmqctl", "-n", self.name, "stop"], capture_output=True, timeout=120)
        shutil.rmtree(self.folder, ignore_errors=True)


@contextmanager
def throwaway_rabbit() -> Iterator[ThrowawayRabbit]:
    server = ThrowawayRabbit()
    try:
        server.start()
        yield server
    finally:
        server.remove()
