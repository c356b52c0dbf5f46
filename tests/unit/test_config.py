"""Settings: the reference's variables, CLI overrides, and errors that name the variable."""

from __future__ import annotations

import pytest

from ose_mesh.bootstrap import probe_policy
from ose_mesh.config import ConfigError, load_settings


def test_defaults_match_the_reference(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SERVICE_MESH_PORT", "HEARTBEAT_INTERVAL", "HEARTBEAT_TIMEOUT", "DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    settings = load_settings()
    assert (settings.port, settings.host) == (8000, "127.0.0.1")
    assert (settings.heartbeat_interval, settings.heartbeat_timeout) == (10, 30)
    assert settings.heartbeat_max_failures == 3
    assert settings.database_url == "sqlite+aiosqlite:///./data/ose-mesh.db"
    assert settings.bus().rabbitmq_vhost == "/"


def test_environment_is_read_and_flags_override_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SERVICE_MESH_PORT", "9001")
    monkeypatch.setenv("HEARTBEAT_INTERVAL", "5")
    monkeypatch.setenv("RABBITMQ_HOST", "broker")
    monkeypatch.setenv("DATABASE_URL", "postgresql://postgres@db/mesh")
    settings = load_settings()
    assert settings.port == 9001
    assert settings.heartbeat_interval == 5
    assert settings.bus().rabbitmq_host == "broker"
    assert settings.database_url == "postgresql+asyncpg://postgres@db/mesh"
    assert load_settings(port=9100).port == 9100


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("SERVICE_MESH_PORT", "eighty"),
        ("SERVICE_MESH_PORT", "70000"),
        ("HEARTBEAT_INTERVAL", "0"),
        ("HEARTBEAT_MAX_FAILURES", "0"),
        ("HEARTBEAT_TIMEOUT", "1"),
        ("DATABASE_URL", "mysql://db/mesh"),
    ],
)
def test_invalid_settings_name_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError, match=variable):
        load_settings()


def test_listening_beyond_loopback_keeps_probes_off_local_networks() -> None:
    from ose_mesh.config import load_settings

    local = probe_policy(load_settings(host="127.0.0.1"))
    assert local.permits("127.0.0.1")
    assert local.permits("10.0.0.5")
    public = probe_policy(load_settings(host="0.0.0.0"))
    assert not public.permits("127.0.0.1")
    assert not public.permits("10.0.0.5")
    assert not public.permits("::ffff:192.168.1.1")
    assert public.permits("93.184.216.34")
    allowed = probe_policy(load_settings(host="0.0.0.0", probe_allow="10.0.0.0/8"))
    assert allowed.permits("10.0.0.5")
    assert not allowed.permits("127.0.0.1")
    for host in ("0.0.0.0", "::", "192.168.1.10", "mesh.example.com"):
        assert not load_settings(host=host).listens_on_loopback
    for host in ("127.0.0.1", "::1", "localhost", "127.0.0.2", "[::1]"):
        assert load_settings(host=host).listens_on_loopback


def test_the_sdk_reaches_rabbitmq_unless_memory_is_asked_for(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from ose_mesh.bus.settings import BusSettings
    from ose_mesh.config import load_settings

    for name in ("OSE_BUS", "RABBITMQ_URL", "RABBITMQ_HOST"):
        monkeypatch.delenv(name, raising=False)
    sdk = BusSettings()
    assert sdk.backend == "amqp"
    assert sdk.safe_url == "amqp://***@localhost:5672/%2F"
    assert load_settings().bus().backend == "memory"  # the embedded server keeps its own
    monkeypatch.setenv("OSE_BUS", "memory")
    assert BusSettings().backend == "memory"
