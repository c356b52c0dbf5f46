"""Loading a catalog (services and dependencies) all at once: everything or nothing."""

from __future__ import annotations

from dataclasses import dataclass, field

from ose_mesh.core.dependencies import DependencyService
from ose_mesh.core.ports import DependencyRepository
from ose_mesh.core.registry import ServiceRegistry, ServiceSpec
from ose_mesh.domain import Dependency


@dataclass(frozen=True, slots=True)
class Catalog:
    services: list[ServiceSpec] = field(default_factory=list)
    dependencies: list[Dependency] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class CatalogResult:
    created: int
    updated: int
    dependencies: int


class CatalogImporter:
    def __init__(
        self,
        registry: ServiceRegistry,
        dependencies: DependencyService,
        repository: DependencyRepository,
    ) -> None:
        self._registry = registry
        self._dependencies = dependencies
        self._repository = repository

    async def apply(self, catalog: Catalog, *, demo: bool = False) -> CatalogResult:
        """Validate everything, store everything in one transaction, then apply it in memory.
        Loading the same catalog twice changes nothing the second time."""
        async with self._registry.changing(*(spec.service_id for spec in catalog.services)):
            prepared = [self._registry.prepare(spec, demo=demo) for spec in catalog.services]
            dependencies = [dependency.validated() for dependency in catalog.dependencies]
            await self._repository.save_catalog([s for s, _ in prepared], dependencies)
            for service, created in prepared:
                self._registry.apply(service, created, tell_others=False)
        self._dependencies.graph.add_dependencies(dependencies)
        self._dependencies.announce("imported")
        self._dependencies.told_imported()
        new = sum(1 for _, is_new in prepared if is_new)
        return CatalogResult(new, len(prepared) - new, len(dependencies))
