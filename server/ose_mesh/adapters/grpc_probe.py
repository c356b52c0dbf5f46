"""gRPC checks: the standard health protocol, grpc.health.v1.Health/Check.

SERVING is a success; NOT_SERVING, SERVICE_UNKNOWN and errors are failures with the reason.
A server that cannot be reached or does not answer in time gave no answer (dead after the
timeout); one that answers with an error status is alive but failing.

gRPC resolves and connects on its own, so the probe resolves the name first, keeps the
first address the network policy permits, and has gRPC connect to that address only; with
TLS the certificate is still checked against the name.
"""

from __future__ import annotations

import time

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from ose_mesh.adapters.network import NetworkPolicy, describe, elapsed_ms, permitted_address
from ose_mesh.adapters.tls import CertificateReader
from ose_mesh.core import ProbeOutcome
from ose_mesh.domain import Service

MAX_ANSWER_BYTES = 64 * 1024  # a health answer is a few bytes
# No answer at all, as a refused connection or a timeout is for HTTP.
_NO_ANSWER = (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)


class GrpcProber:
    def __init__(
        self,
        policy: NetworkPolicy,
        root_certificates: bytes | None,
        certificates: CertificateReader,
        user_agent: str,
    ) -> None:
        self._policy = policy
        self._roots = root_certificates
        self._certificates = certificates
        self._user_agent = user_agent

    async def probe(self, service: Service) -> ProbeOutcome:
        check = service.check
        host, port = check.host or "", check.port or 0
        started = time.perf_counter()
        try:
            address, _ = await permitted_address(host, port, self._policy)
        except (OSError, ValueError) as exc:
            return ProbeOutcome(False, elapsed_ms(started), describe(exc), answered=False)
        request = health_pb2.HealthCheckRequest(service=check.grpc_service or "")
        async with self._channel(address, host, port, tls=check.tls) as channel:
            try:
                answer = await health_pb2_grpc.HealthStub(channel).Check(
                    request, timeout=check.probe_timeout_seconds, wait_for_ready=False
                )
            except grpc.aio.AioRpcError as exc:
                answered = exc.code() not in _NO_ANSWER
                message = _failure(exc, check.grpc_service)
                return ProbeOutcome(False, elapsed_ms(started), message, answered=answered)
        latency = elapsed_ms(started)
        status = health_pb2.HealthCheckResponse.ServingStatus.Name(answer.status)
        serving = answer.status == health_pb2.HealthCheckResponse.SERVING
        expiry = None
        if check.tls and check.cert_expiry_days:
            expiry = await self._certificates.not_after(host, port, check.probe_timeout_seconds)
        return ProbeOutcome(serving, latency, status, cert_not_after=expiry)

    def _channel(self, address: str, host: str, port: int, *, tls: bool) -> grpc.aio.Channel:
        target = f"ipv6:[{address}]:{port}" if ":" in address else f"ipv4:{address}:{port}"
        options: list[tuple[str, str | int]] = [
            ("grpc.enable_retries", 0),
            ("grpc.max_receive_message_length", MAX_ANSWER_BYTES),
            ("grpc.primary_user_agent", self._user_agent),
            ("grpc.default_authority", f"{host}:{port}"),
        ]
        if not tls:
            return grpc.aio.insecure_channel(target, options=options)
        credentials = grpc.ssl_channel_credentials(root_certificates=self._roots)
        # The connection goes to the vetted address; the certificate must name the host.
        options.append(("grpc.ssl_target_name_override", host))
        return grpc.aio.secure_channel(target, credentials, options=options)


def _failure(exc: grpc.aio.AioRpcError, service_name: str | None) -> str:
    code = exc.code()
    if code is grpc.StatusCode.NOT_FOUND:
        return f"the server does not know the service {service_name or ''!r}"
    if code is grpc.StatusCode.UNIMPLEMENTED:
        return "the server has no grpc.health.v1 Health service"
    if code is grpc.StatusCode.DEADLINE_EXCEEDED:
        return "no answer within the probe timeout"
    details = (exc.details() or "").replace("\n", " ")
    return f"{code.name.lower()}: {details}"[:300]
