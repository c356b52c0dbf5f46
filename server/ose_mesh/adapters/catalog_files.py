"""Reading catalogs and the files people already have (docker-compose, Backstage) into a
Catalog. Every problem is reported with the file and the line it is on."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    ValidationError,
)

from ose_mesh.core.catalog import Catalog
from ose_mesh.core.registry import ServiceSpec
from ose_mesh.domain import (
    CheckType,
    Dependency,
    DependencyType,
    DomainError,
    HttpAssertions,
    Relationship,
    parse_dependency_type,
    parse_relationship,
    storable,
    validate_service_id,
)
from ose_mesh.domain.service import validate_health_url, validate_host


class CatalogError(Exception):
    """`file:line: what is wrong`."""

    def __init__(self, path: str, line: int | None, message: str) -> None:
        where = f"{path}:{line}" if line else path
        super().__init__(f"{where}: {message}")


# -- our own catalog format ------------------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AssertionsEntry(_Strict):
    status_codes: list[int] | None = None
    body_contains: str | None = None
    json_path: str | None = None
    json_equals: StrictBool | StrictInt | StrictFloat | StrictStr | None = None
    max_response_ms: float | None = None


class CheckEntry(_Strict):
    type: Literal["http", "tcp", "push", "grpc", "traces"] | None = None
    url: str | None = None
    host: str | None = None
    port: int | None = None
    interval_seconds: float | None = None
    timeout_seconds: float | None = None
    max_failures: int | None = None
    probe_timeout_seconds: float | None = None
    recovery_successes: int | None = None
    latency_threshold_ms: float | None = None
    grpc_service: str | None = None
    tls: bool | None = None
    cert_expiry_days: int | None = None
    assertions: AssertionsEntry | None = None
    trace_error_percent: float | None = None


class DemoEntry(_Strict):
    behaviour: Literal["steady", "flapping", "slowing", "failing", "strained"]


class ServiceEntry(_Strict):
    id: str
    name: str | None = None
    cluster: str | None = None
    public: bool | None = None
    check: CheckEntry | None = None
    demo: DemoEntry | None = None

    def check_target(self) -> None:
        """The rules that need no defaults (the rest are checked when it is registered)."""
        validate_service_id(self.id)
        storable("name", self.name)
        storable("cluster", self.cluster)
        if self.check is not None and self.check.url is not None:
            validate_health_url(self.check.url)
        if self.check is not None and self.check.host is not None:
            validate_host("host", self.check.host)

    def to_spec(self) -> ServiceSpec:
        check = self.check or CheckEntry()
        return ServiceSpec(
            service_id=self.id,
            service_name=self.name,
            cluster=self.cluster,
            public=self.public,
            check_type=CheckType(check.type) if check.type else None,
            health_url=check.url,
            host=check.host,
            port=check.port,
            interval_seconds=check.interval_seconds,
            timeout_seconds=check.timeout_seconds,
            max_failures=check.max_failures,
            probe_timeout_seconds=check.probe_timeout_seconds,
            recovery_successes=check.recovery_successes,
            latency_threshold_ms=check.latency_threshold_ms,
            grpc_service=check.grpc_service,
            tls=check.tls,
            cert_expiry_days=check.cert_expiry_days,
            trace_error_percent=check.trace_error_percent,
            assertions=None
            if check.assertions is None
            else HttpAssertions.from_json(check.assertions.model_dump()),
        )


class DependencyEntry(_Strict):
    source: str
    target: str
    type: str = "hard"
    relationship: str = "sync_api"
    description: str | None = None


class CatalogFile(_Strict):
    description: str | None = None
    services: list[ServiceEntry] = Field(default_factory=list)
    dependencies: list[DependencyEntry] = Field(default_factory=list)


def parse_catalog(text: str, path: str) -> tuple[Catalog, CatalogFile]:
    """Parse a catalog (YAML or JSON) and check every entry against the domain's rules."""
    root = _compose(text, path)
    data = _data(root, text, path)
    try:
        parsed = CatalogFile.model_validate(data)
    except ValidationError as exc:
        raise _validation_error(exc, root, path) from None
    _refuse_duplicates(parsed, root, path)
    for index, service in enumerate(parsed.services):
        try:
            service.check_target()
        except DomainError as exc:
            raise CatalogError(path, _line(root, ("services", index)), exc.message) from None
    dependencies = []
    for index, entry in enumerate(parsed.dependencies):
        try:
            dependencies.append(
                Dependency(
                    entry.source,
                    entry.target,
                    parse_dependency_type(entry.type),
                    parse_relationship(entry.relationship),
                    entry.description,
                ).validated()
            )
        except DomainError as exc:
            raise CatalogError(path, _line(root, ("dependencies", index)), exc.message) from None
    return Catalog([s.to_spec() for s in parsed.services], dependencies), parsed


def read_catalog(path: Path) -> Catalog:
    return parse_catalog(_read(path), str(path))[0]


# -- docker-compose ---------------------------------------------------------------------------

_GUESSES = (
    (("postgres", "mysql", "mariadb", "mongo", "cassandra", "cockroach"), Relationship.DATABASE),
    (("redis", "memcached", "valkey"), Relationship.CACHE),
    (("rabbitmq", "kafka", "nats", "activemq", "mosquitto"), Relationship.MESSAGE_QUEUE),
)


def _guess_relationship(name: str, image: str) -> Relationship:
    text = f"{name} {image}".lower()
    for words, relationship in _GUESSES:
        if any(word in text for word in words):
            return relationship
    return Relationship.SYNC_API


class DependsOnOptions(BaseModel):
    model_config = ConfigDict(extra="allow")  # condition, restart: not ours to judge

    required: bool = True


class ComposeService(BaseModel):
    model_config = ConfigDict(extra="allow")

    image: str | None = None
    depends_on: list[str] | dict[str, DependsOnOptions | None] = Field(default_factory=list)


class ComposeFile(BaseModel):
    model_config = ConfigDict(extra="allow")

    services: dict[str, ComposeService | None]


def read_compose(path: Path) -> Catalog:
    """`depends_on` edges: plain, service_started and service_healthy are hard,
    `required: false` is optional. Relationships are guessed from names and images."""
    text = _read(path)
    root = _compose(text, str(path))
    try:
        compose = ComposeFile.model_validate(_data(root, text, str(path)))
    except ValidationError as exc:
        raise _validation_error(exc, root, str(path)) from None
    services = {name: spec or ComposeService() for name, spec in compose.services.items()}
    dependencies = []
    for name, spec in services.items():
        depends = spec.depends_on
        entries = dict.fromkeys(depends) if isinstance(depends, list) else depends
        for target, options in entries.items():
            optional = options is not None and not options.required
            kind = DependencyType.OPTIONAL if optional else DependencyType.HARD
            image = services[target].image or "" if target in services else ""
            try:
                dependencies.append(
                    Dependency(name, target, kind, _guess_relationship(target, image)).validated()
                )
            except DomainError as exc:
                line = _line(root, ("services", name, "depends_on"))
                raise CatalogError(str(path), line, exc.message) from None
    return Catalog([], dependencies)


# -- Backstage --------------------------------------------------------------------------------


class EntityMetadata(BaseModel):
    model_config = ConfigDict(extra="allow")

    name: str
    title: str | None = None


class EntitySpec(BaseModel):
    model_config = ConfigDict(extra="allow")

    system: str | None = None
    dependsOn: list[str] = Field(default_factory=list)
    consumesApis: list[str] = Field(default_factory=list)
    providesApis: list[str] = Field(default_factory=list)


class Entity(BaseModel):
    model_config = ConfigDict(extra="allow")

    kind: str | None = None
    metadata: EntityMetadata
    spec: EntitySpec = Field(default_factory=EntitySpec)


def _entity_name(ref: str) -> str:
    """`component:default/payments` -> `payments`."""
    return ref.split(":", 1)[-1].split("/")[-1]


def _entities(text: str, path: str) -> list[tuple[Entity, yaml.Node]]:
    try:
        nodes = [node for node in yaml.compose_all(text, Loader=yaml.SafeLoader) if node]
        documents = [doc for doc in yaml.safe_load_all(text) if doc is not None]
    except yaml.YAMLError as exc:
        raise _yaml_error(exc, path) from None
    entities = []
    for doc, node in zip(documents, nodes, strict=True):
        try:
            entities.append((Entity.model_validate(doc), node))
        except ValidationError as exc:
            raise _validation_error(exc, node, path) from None
    return entities


def read_backstage(path: Path) -> Catalog:
    """Multi-document catalog-info.yaml: `spec.dependsOn` -> hard, `spec.consumesApis` ->
    soft sync_api on the component that provides the API (or the API itself)."""
    entities = _entities(_read(path), str(path))
    providers = {
        _entity_name(api): entity.metadata.name
        for entity, _ in entities
        for api in entity.spec.providesApis
    }
    services: list[ServiceSpec] = []
    dependencies: list[Dependency] = []
    for entity, node in entities:
        if entity.kind == "API":
            continue
        name, spec = entity.metadata.name, entity.spec
        try:
            validate_service_id(name)
        except DomainError as exc:
            raise CatalogError(str(path), node.start_mark.line + 1, exc.message) from None
        services.append(
            ServiceSpec(
                service_id=name,
                service_name=entity.metadata.title or name,
                cluster=spec.system,
            )
        )
        edges = [(ref, DependencyType.HARD, Relationship.SYNC_API) for ref in spec.dependsOn]
        edges += [
            (providers.get(_entity_name(ref), ref), DependencyType.SOFT, Relationship.SYNC_API)
            for ref in spec.consumesApis
        ]
        for ref, kind, relationship in edges:
            target = _entity_name(ref)
            if ref.startswith("resource:") and kind is DependencyType.HARD:
                relationship = _guess_relationship(target, "")
            try:
                dependencies.append(Dependency(name, target, kind, relationship).validated())
            except DomainError as exc:
                raise CatalogError(str(path), node.start_mark.line + 1, exc.message) from None
    return Catalog(services, dependencies)


# -- YAML with line numbers -------------------------------------------------------------------


def _read(path: Path) -> str:
    try:
        return path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CatalogError(str(path), None, f"cannot read the file: {exc}") from None


def _compose(text: str, path: str) -> yaml.Node | None:
    try:
        return yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        raise _yaml_error(exc, path) from None


def _data(root: yaml.Node | None, text: str, path: str) -> dict[str, Any]:
    try:
        data = yaml.safe_load(text) if root is not None else None
    except yaml.YAMLError as exc:  # e.g. a `!!python/object` tag, refused by the safe loader
        raise _yaml_error(exc, path) from None
    if not isinstance(data, dict):
        raise CatalogError(path, 1, "the file must hold a mapping at the top")
    return data


def _yaml_error(exc: yaml.YAMLError, path: str) -> CatalogError:
    mark = getattr(exc, "problem_mark", None)
    line = mark.line + 1 if mark is not None else None
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    return CatalogError(path, line, f"not valid YAML/JSON: {problem}")


def _walk(node: yaml.Node | None, key: str | int) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            if k.value == key:
                found: yaml.Node = v
                return found
    if isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
        item: yaml.Node = node.value[key]
        return item
    return None


def _line(root: yaml.Node | None, location: tuple[str | int, ...]) -> int | None:
    """The line of the deepest node on the path that exists."""
    node, found = root, root
    for key in location:
        node = _walk(node, key)
        if node is None:
            break
        found = node
    return found.start_mark.line + 1 if found is not None else None


def _validation_error(exc: ValidationError, root: yaml.Node | None, path: str) -> CatalogError:
    error = exc.errors()[0]
    location = tuple(error["loc"])
    field = ".".join(str(p) for p in location)
    return CatalogError(path, _line(root, location), f"{field}: {error['msg']}")


def _refuse_duplicates(parsed: CatalogFile, root: yaml.Node | None, path: str) -> None:
    seen: set[str] = set()
    for index, entry in enumerate(parsed.services):
        if entry.id in seen:
            raise CatalogError(
                path, _line(root, ("services", index)), f"service {entry.id!r} appears twice"
            )
        seen.add(entry.id)


def demo_behaviours(parsed: CatalogFile) -> Iterator[tuple[str, str]]:
    for entry in parsed.services:
        if entry.demo is not None:
            yield entry.id, entry.demo.behaviour
