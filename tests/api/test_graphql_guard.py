"""Every GraphQL operation is judged on the document strawberry parsed: no spelling of a
request runs an operation without the access it needs, and no document makes the server
expand, validate or walk more than the limits allow."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from graphql import get_introspection_query
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from ose_mesh.api.graphql.document_size import measure
from ose_mesh.api.graphql.permissions import MAX_DOCUMENT_CHARS
from tests.api.test_access import READ, WRITE, as_, make_client

SERVICES = "{ services { id } }"


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with make_client(tmp_path, read_tokens=READ, write_tokens=WRITE) as test_client:
        registered = test_client.post(
            "/api/v1/heartbeat/register", json={"service_id": "secret-service"}, headers=as_(WRITE)
        )
        assert registered.status_code == 201
        yield test_client


@pytest.mark.parametrize(
    "query_string",
    [
        "%71uery=" + quote(SERVICES),  # the attacker's spelling
        "q%75ery=" + quote(SERVICES),
        "%71%75%65%72%79=" + quote(SERVICES),
        "x=1&%71uery=" + quote(SERVICES),
        "query=" + quote(SERVICES),
        "query=" + quote(SERVICES) + "&query=" + quote(SERVICES),
        "query=" + quote("query Q { services { id } }") + "&operationName=Q",
        "query=" + quote("{ __schema { types { name } } }"),
    ],
)
@pytest.mark.parametrize("accept", ["text/html", "application/json", "*/*"])
def test_no_spelling_of_a_get_reads_without_a_token(
    client: TestClient, query_string: str, accept: str
) -> None:
    answer = client.get(f"/graphql?{query_string}", headers={"Accept": accept})
    assert "secret-service" not in answer.text
    assert "__Schema" not in answer.text
    if answer.headers["content-type"].startswith("application/json"):
        assert answer.status_code == 401, answer.text
        assert answer.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        assert answer.headers["www-authenticate"].startswith("Bearer")


def test_the_graphiql_page_stays_open_and_a_read_token_reads(client: TestClient) -> None:
    page = client.get("/graphql", headers={"Accept": "text/html"})
    assert page.status_code == 200
    assert "graphiql" in page.text.lower()
    read = client.get(f"/graphql?%71uery={quote(SERVICES)}", headers=as_(READ))
    assert {"id": "secret-service"} in read.json()["data"]["services"]


def test_a_multipart_subscription_needs_a_token(client: TestClient) -> None:
    subscription = quote("subscription { servicesChanged { serviceId } }")
    answer = client.get(
        f"/graphql?query={subscription}", headers={"Accept": "multipart/mixed;subscriptionSpec=1.0"}
    )
    # The stream has begun (200) when the operation is judged: the refusal is its one part.
    assert "UNAUTHENTICATED" in answer.text
    assert "servicesChanged" not in answer.text


def test_a_read_token_cannot_mutate_by_any_transport(client: TestClient) -> None:
    mutation = 'mutation { deregisterService(id: "secret-service") { __typename } }'
    answer = client.post("/graphql", json={"query": mutation}, headers=as_(READ))
    assert answer.status_code == 403
    via_get = client.get(f"/graphql?query={quote(mutation)}", headers=as_(READ))
    assert via_get.status_code in (400, 403, 405)
    status = client.get("/api/v1/heartbeat/status", headers=as_(READ)).json()
    assert "secret-service" in status


def test_legacy_websocket_operations_without_connection_init_are_refused(
    client: TestClient,
) -> None:
    with client.websocket_connect("ws://127.0.0.1/graphql", subprotocols=["graphql-ws"]) as ws:
        ws.send_json({"id": "1", "type": "start", "payload": {"query": SERVICES}})
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
    assert closed.value.code == 4401


def gql(client: TestClient, query: str) -> dict[str, object]:
    answer = client.post("/graphql", json={"query": query}, headers=as_(READ))
    assert answer.status_code == 200, answer.text
    body: dict[str, object] = answer.json()
    return body


def fan_out(levels: int) -> str:
    """The attacker's document: each fragment spreads the next one twice (2^levels fields)."""
    fragments = " ".join(
        f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} }}" for i in range(levels)
    )
    return f"query {{ ...F0 }} {fragments} fragment F{levels} on Query {{ __typename }}"


def chain(length: int) -> str:
    fragments = " ".join(f"fragment F{i} on Query {{ ...F{i + 1} }}" for i in range(length))
    return f"query {{ ...F0 }} {fragments} fragment F{length} on Query {{ __typename }}"


HOSTILE = {
    "fragment fan-out": fan_out(20),
    "fan-out through fields": "query { ...F0 } "
    + " ".join(
        f"fragment F{i} on Query {{ a{i}: services {{ id }} ...F{i + 1} ...F{i + 1} }}"
        for i in range(16)
    )
    + " fragment F16 on Query { __typename }",
    "many spreads in one set": "{"
    + "".join(f" ...F{i}" for i in range(300))
    + "}"
    + "".join(f" fragment F{i} on Query {{ services {{ id }} }}" for i in range(300)),
    "one field repeated": "{" + " services { id }" * 400 + "}",
    "repeated through inline fragments": "{" + " ... on Query { services { id } }" * 300 + "}",
    "too deep": "{ dependencyGraph " + "{ services " * 12 + "{ id }" + " }" * 13,
    "too many aliases": "{ "
    + " ".join(f"a{i}: heartbeatSummary {{ total }}" for i in range(31))
    + " }",
    "fragment cycle": "{ ...A } fragment A on Query { ...B } fragment B on Query { ...A }",
    "long comment": "{ __typename } #" + "x" * MAX_DOCUMENT_CHARS,
    "long string": '{ service(id: "' + "x" * MAX_DOCUMENT_CHARS + '") { id } }',
    "too many tokens": "{" + " __typename" * 2_500 + "}",
    "nested inline fragments": "{" + " ... on Query {" * 60 + " __typename" + " }" * 60 + "}",
}


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_documents_are_refused_before_they_run(client: TestClient, name: str) -> None:
    body = gql(client, HOSTILE[name])
    assert body.get("data") is None
    errors = body["errors"]
    assert isinstance(errors, list)
    assert errors[0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert client.get("/health").status_code == 200


def test_a_long_fragment_chain_is_measured_without_recursion() -> None:
    from graphql import parse

    size = measure(parse(chain(5_000)))
    assert (size.fields, size.depth) == (1, 1)
    assert measure(parse(fan_out(60))).fields >= 2**40  # saturates, never expanded


def test_real_documents_pass(client: TestClient) -> None:
    introspection = gql(client, get_introspection_query(descriptions=True))
    assert introspection["data"]["__schema"]["queryType"]["name"] == "Query"
    three = "{ a: services { id } b: services { id } c: services { id } }"
    assert {"id": "secret-service"} in gql(client, three)["data"]["a"]
    small_chain = gql(client, chain(10))
    assert small_chain["data"] == {"__typename": "Query"}


def test_a_refused_document_says_why_whatever_operation_it_names(client: TestClient) -> None:
    for query, expected in (
        ("query Q { services { id }", "Syntax Error"),
        ("query Q { __typename } #" + "x" * MAX_DOCUMENT_CHARS, "longer than"),
    ):
        answer = client.post(
            "/graphql", json={"query": query, "operationName": "Q"}, headers=as_(READ)
        )
        assert expected in answer.json()["errors"][0]["message"], answer.text
