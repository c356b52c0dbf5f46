"""TLS certificate expiry: when a check's certificate warns, and the event when it starts to.

The prober reports the certificate's notAfter; whether that is a warning is decided here,
on the monitor's clock, against the service's `cert_expiry_days`. A certificate that has
already expired never gets this far: the TLS handshake fails and the check with it.
"""

from __future__ import annotations

from datetime import UTC, datetime

from ose_mesh.core.broker import EVENTS
from ose_mesh.core.ports import OutboxEntry
from ose_mesh.domain import CheckConfig, EventMessage, MessagePriority

SECONDS_PER_DAY = 86_400.0


def days_left(not_after: float, wall_now: float) -> float:
    return round((not_after - wall_now) / SECONDS_PER_DAY, 2)


def certificate_warning(check: CheckConfig, not_after: float | None, wall_now: float) -> str | None:
    """The reason a successful check still degrades the service, or None."""
    if not_after is None or check.cert_expiry_days == 0:
        return None
    days = days_left(not_after, wall_now)
    if days >= check.cert_expiry_days:
        return None
    when = datetime.fromtimestamp(not_after, UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (
        f"TLS certificate expires in {days:.1f} days ({when}), "
        f"under the {check.cert_expiry_days}-day warning"
    )


def certificate_event(
    service_id: str, check: CheckConfig, not_after: float, wall_now: float, *, expiring: bool
) -> OutboxEntry:
    """`service.certificate.expiring` when a certificate crosses its warning threshold,
    `service.certificate.renewed` when a renewed one no longer warns."""
    kind = "expiring" if expiring else "renewed"
    event = EventMessage(
        event_type=f"service.certificate.{kind}",
        source_service=service_id,
        payload={
            "service_id": service_id,
            "not_after": datetime.fromtimestamp(not_after, UTC).isoformat(),
            "days_left": days_left(not_after, wall_now),
            "warning_days": check.cert_expiry_days,
        },
        priority=MessagePriority.HIGH if expiring else MessagePriority.LOW,
    )
    return OutboxEntry(EVENTS, f"{service_id}.certificate.{kind}", event)
