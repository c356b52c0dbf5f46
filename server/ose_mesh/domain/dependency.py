"""Dependencies between services: A -> B means "A depends on B"."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from ose_mesh.domain.errors import InvalidField
from ose_mesh.domain.service import validate_service_id
from ose_mesh.domain.text import storable

MAX_DESCRIPTION = 1000


class DependencyType(StrEnum):
    """How much the dependent suffers when the dependency fails.

    `circular` is never declared: outputs show it for edges inside a cycle.
    """

    HARD = "hard"
    SOFT = "soft"
    OPTIONAL = "optional"


CIRCULAR = "circular"


class Relationship(StrEnum):
    SYNC_API = "sync_api"
    ASYNC_EVENT = "async_event"
    MESSAGE_QUEUE = "message_queue"
    DATABASE = "database"
    CACHE = "cache"
    SERVICE_MESH = "service_mesh"


@dataclass(frozen=True, slots=True)
class Dependency:
    source: str
    target: str
    type: DependencyType = DependencyType.HARD
    relationship: Relationship = Relationship.SYNC_API
    description: str | None = None

    @property
    def key(self) -> tuple[str, str]:
        return (self.source, self.target)

    def validated(self) -> Dependency:
        try:
            validate_service_id(self.source)
        except InvalidField as exc:
            raise InvalidField("source", exc.reason) from None
        try:
            validate_service_id(self.target)
        except InvalidField as exc:
            raise InvalidField("target", exc.reason) from None
        if self.source == self.target:
            raise InvalidField("target", f"a service cannot depend on itself ({self.source!r})")
        storable("description", self.description)
        if self.description is not None and len(self.description) > MAX_DESCRIPTION:
            raise InvalidField("description", f"must be at most {MAX_DESCRIPTION} characters")
        return self


def parse_dependency_type(value: str, field: str = "type") -> DependencyType:
    if value == CIRCULAR:
        raise InvalidField(
            field,
            "'circular' is derived from the graph and cannot be declared; "
            "use hard, soft or optional",
        )
    try:
        return DependencyType(value)
    except ValueError:
        allowed = ", ".join(t.value for t in DependencyType)
        raise InvalidField(field, f"must be one of {allowed}, got {value!r}") from None


def parse_relationship(value: str, field: str = "relationship") -> Relationship:
    try:
        return Relationship(value)
    except ValueError:
        allowed = ", ".join(r.value for r in Relationship)
        raise InvalidField(field, f"must be one of {allowed}, got {value!r}") from None
