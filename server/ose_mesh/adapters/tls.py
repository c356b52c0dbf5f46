"""TLS for probes: whom they trust, and when a server's certificate expires.

Probes trust the system's certificate authorities plus, when OSE_MESH_PROBE_CA_FILE names
one, an operator's own (an internal CA). The expiry of a certificate is read on a TLS
connection of its own, at most once an hour per host and port (a certificate changes
rarely; the check itself runs every interval), to the same addresses the network policy
lets probes reach.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import time
from collections import OrderedDict
from pathlib import Path

from ose_mesh.adapters.network import NetworkPolicy, connect_any

KNOWN_FOR_SECONDS = 3600.0
UNKNOWN_FOR_SECONDS = 300.0  # a failed read is tried again sooner
MAX_REMEMBERED = 50_000


def probe_ssl_context(ca_file: Path | None = None) -> ssl.SSLContext:
    context = ssl.create_default_context()
    if ca_file is not None:
        context.load_verify_locations(cafile=str(ca_file))
    return context


def root_certificates(ca_file: Path | None) -> bytes | None:
    """For gRPC, which takes one PEM bundle: the system's and the operator's CAs, or None
    for gRPC's own roots when no file is given."""
    if ca_file is None:
        return None
    system = ssl.get_default_verify_paths().cafile
    bundle = Path(system).read_bytes() if system and Path(system).is_file() else b""
    return bundle + b"\n" + ca_file.read_bytes()


class CertificateReader:
    def __init__(self, policy: NetworkPolicy, context: ssl.SSLContext) -> None:
        self._policy = policy
        self._context = context
        self._known: OrderedDict[tuple[str, int], tuple[float, float | None]] = OrderedDict()

    async def not_after(self, host: str, port: int, timeout: float) -> float | None:
        """The certificate's expiry (Unix seconds), or None when it could not be read."""
        key = (host, port)
        remembered = self._known.get(key)
        if remembered is not None and remembered[0] > time.monotonic():
            return remembered[1]
        expiry = await self._read(host, port, timeout)
        keep = KNOWN_FOR_SECONDS if expiry is not None else UNKNOWN_FOR_SECONDS
        self._known[key] = (time.monotonic() + keep, expiry)
        self._known.move_to_end(key)
        while len(self._known) > MAX_REMEMBERED:
            self._known.popitem(last=False)
        return expiry

    async def _read(self, host: str, port: int, timeout: float) -> float | None:
        try:
            async with asyncio.timeout(timeout):
                found = await asyncio.get_running_loop().getaddrinfo(
                    host, port, type=socket.SOCK_STREAM
                )
                _, writer = await connect_any(
                    found, self._policy, tls=self._context, server_hostname=host
                )
        except (OSError, ValueError, TimeoutError):
            return None
        try:
            certificate = writer.get_extra_info("peercert") or {}
            return float(ssl.cert_time_to_seconds(str(certificate["notAfter"])))
        except (KeyError, ValueError):
            return None
        finally:
            # No TLS goodbye: waiting for the server's close_notify could take forever.
            writer.transport.abort()
