"""The dependency graph over GraphQL: the same answers as REST, errors as result types."""

from __future__ import annotations

import httpx

from tests.api.conftest import gql

ADD = """mutation($input: DependencyInput!) { addDependency(input: $input) {
  __typename ... on Dependency { source target type declaredType relationship }
  ... on InvalidFieldError { field message } } }"""


async def test_add_query_and_remove(client: httpx.AsyncClient) -> None:
    added = await gql(
        client, ADD, input={"source": "web", "target": "db", "relationship": "DATABASE"}
    )
    assert added["data"]["addDependency"] == {
        "__typename": "Dependency",
        "source": "web",
        "target": "db",
        "type": "HARD",
        "declaredType": "HARD",
        "relationship": "DATABASE",
    }
    await gql(client, ADD, input={"source": "api", "target": "web", "type": "SOFT"})
    graph = await gql(
        client,
        """{ dependencyGraph { totalServices totalDependencies criticalPath
             clusters { name services } services { id status monitored }
             dependencies { source target type } } }""",
    )
    rest = (await client.get("/api/v1/dependencies/graph")).json()
    data = graph["data"]["dependencyGraph"]
    assert data["totalServices"] == rest["total_services"]
    assert data["criticalPath"] == rest["critical_path"]
    assert {c["name"]: c["services"] for c in data["clusters"]} == rest["clusters"]
    assert [(d["source"], d["target"]) for d in data["dependencies"]] == [
        (d["source"], d["target"]) for d in rest["dependencies"]
    ]
    removed = await gql(
        client,
        """mutation { removeDependency(source: "web", target: "db") {
             __typename ... on RemovedDependency { source target } } }""",
    )
    assert removed["data"]["removeDependency"]["__typename"] == "RemovedDependency"
    again = await gql(
        client,
        """mutation { removeDependency(source: "web", target: "db") {
             __typename ... on DependencyNotFoundError { message } } }""",
    )
    assert again["data"]["removeDependency"]["__typename"] == "DependencyNotFoundError"


async def test_traversal_impact_and_root_causes(client: httpx.AsyncClient) -> None:
    await gql(client, ADD, input={"source": "web", "target": "api"})
    await gql(client, ADD, input={"source": "api", "target": "db"})
    result = await gql(
        client,
        """{ serviceDependencies(id: "db", direction: UPSTREAM, depth: null) {
               dependencies { serviceId } dependents { serviceId } }
             down: serviceDependencies(id: "db", direction: DOWNSTREAM, depth: null) {
               dependents { serviceId distance via { source target } } }
             impact(serviceId: "db") { failed { serviceId path } degraded { serviceId } }
             rootCauses { serviceId rootCauses } }""",
    )
    data = result["data"]
    assert data["serviceDependencies"] == {"dependencies": [], "dependents": None}
    assert data["down"]["dependents"] == [
        {"serviceId": "api", "distance": 1, "via": {"source": "api", "target": "db"}},
        {"serviceId": "web", "distance": 2, "via": {"source": "web", "target": "api"}},
    ]
    assert data["impact"]["failed"] == [
        {"serviceId": "api", "path": ["db", "api"]},
        {"serviceId": "web", "path": ["db", "api", "web"]},
    ]
    assert data["rootCauses"] == []


async def test_bad_dependency_input(client: httpx.AsyncClient) -> None:
    own = await gql(client, ADD, input={"source": "a", "target": "a"})
    assert own["data"]["addDependency"]["__typename"] == "InvalidFieldError"
    circular = await client.post(
        "/graphql",
        json={
            "query": ADD,
            "variables": {"input": {"source": "a", "target": "b", "type": "CIRCULAR"}},
        },
    )
    assert "CIRCULAR" in circular.json()["errors"][0]["message"]
    depth = await gql(client, '{ serviceDependencies(id: "service-mesh", depth: 0) { serviceId } }')
    assert "depth must be a positive" in depth["errors"][0]["message"]
    unknown = await gql(client, '{ impact(serviceId: "nope") { serviceId } }')
    assert "nope" in unknown["errors"][0]["message"]
    graph = (await client.get("/api/v1/dependencies/graph")).json()
    assert graph["total_dependencies"] == 0
