"""Unit tests run the core and the pure parts over fakes: no network. A test that connects or
listens fails here; it belongs in tests/edges (or contract, api, integration)."""

from __future__ import annotations

import socket
from typing import Any

import pytest


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refused(self: socket.socket, *args: Any) -> None:
        raise RuntimeError("a unit test opened a network connection; move it to tests/edges")

    for name in ("connect", "connect_ex", "bind"):
        monkeypatch.setattr(socket.socket, name, refused)
