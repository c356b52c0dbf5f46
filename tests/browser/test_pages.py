"""The web client in a real browser: every page, live updates, the graph explorer, hostile
names, GraphiQL and Swagger UI."""

from __future__ import annotations

import itertools
import json
import math
import re
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, expect

from tests.browser.conftest import Watched
from tests.integration.server import MeshProcess, free_port

# The explorer's Cytoscape instance, as Cytoscape registers it on its container (the page
# keeps no test hook of its own).
CY = "document.querySelector('[data-testid=graph-2d]')?._cyreg?.cy"

pytestmark = pytest.mark.browser

PAGES = {
    "overview": "/",
    "heartbeat-dashboard": "/heartbeat-dashboard",
    "dependencies": "/dependencies",
    "events": "/events",
    "status": "/status",
    "graphql": "/graphql",
    "api-docs": "/api/docs",
}
HOSTILE = [
    "<img src=x onerror=window.__pwned=1>",
    '"; DROP TABLE services; --',
    "x" * 200,
    "\u202eright-to-left \u05e9\u05dc\u05d5\u05dd \u0645\u0631\u062d\u0628\u0627",
]


def push_service(api: httpx.Client, name: str | None = None, **fields: object) -> str:
    """Register a service that pushes its beats (it stays unknown until it beats)."""
    service_id = f"svc-{uuid.uuid4().hex[:10]}"
    body = {"service_id": service_id, "service_name": name or service_id, **fields}
    assert api.post("/api/v1/heartbeat/register", json=body).status_code == 201
    return service_id


def beat(api: httpx.Client, service_id: str, ok: bool = True) -> str:
    answer = api.post(f"/api/v1/heartbeat/{service_id}/beat", json={"ok": ok, "latency_ms": 5})
    assert answer.status_code == 200, answer.text
    status: str = answer.json()["status"]
    return status


def wait_for_graph(watched: Watched) -> None:
    watched.page.wait_for_function(f"{CY} && {CY}.nodes().length > 0")


@pytest.mark.parametrize("name", list(PAGES))
def test_every_page_loads_with_no_error_and_no_request_leaving_the_machine(
    watched: Watched, api: httpx.Client, name: str
) -> None:
    service_id = push_service(api)
    beat(api, service_id)
    watched.page.goto(PAGES[name])
    watched.page.wait_for_load_state("networkidle")
    if name in ("overview", "heartbeat-dashboard"):
        expect(watched.page.get_by_text(service_id).first).to_be_visible()
    watched.screenshot(name)
    watched.assert_clean()


def test_the_dashboard_and_the_graph_follow_the_api_without_reload(
    watched: Watched, api: httpx.Client
) -> None:
    page = watched.page
    page.goto("/heartbeat-dashboard")
    expect(page.get_by_role("status")).to_have_text("Live")
    # registered after the page loaded: it appears without reload (searched for, since the
    # list draws only the rows in view and the session's services fill it)
    service_id = push_service(api, max_failures=1)
    page.get_by_label("Search services").fill(service_id)
    row = page.locator(f'[data-service="{service_id}"]')
    expect(row).to_contain_text("unknown", timeout=2000)
    assert beat(api, service_id) == "healthy"
    expect(row).to_contain_text("healthy", timeout=2000)
    assert beat(api, service_id, ok=False) == "critical"
    expect(row).to_contain_text("critical", timeout=2000)

    # the graph: the same service recoloured when it changes
    other = push_service(api)
    assert api.post(
        "/api/v1/dependencies",
        json={"source": service_id, "target": other, "type": "hard", "relationship": "sync_api"},
    ).is_success
    page.goto("/dependencies")
    wait_for_graph(watched)
    colour = f"{CY}.getElementById({json.dumps(service_id)}).style('background-color')"
    critical = page.evaluate(colour)
    assert beat(api, service_id) == "healthy"
    page.wait_for_function(f"{colour} !== {json.dumps(critical)}", timeout=2000)
    watched.assert_clean()


def test_the_dashboard_puts_the_worst_first_and_keeps_its_order_in_the_url(
    watched: Watched, api: httpx.Client
) -> None:
    prefix = f"sev-{uuid.uuid4().hex[:6]}"

    def service(name: str, **fields: object) -> str:
        body = {"service_id": f"{prefix}-{name}", "interval_seconds": 60, **fields}
        assert api.post("/api/v1/heartbeat/register", json=body).status_code == 201
        return f"{prefix}-{name}"

    # named so that alphabetical order is the reverse of severity
    healthy, unknown, degraded, critical = (service(n) for n in ("a", "b", "c", "d"))
    dead = service("e", interval_seconds=1, timeout_seconds=1)  # never beats
    beat(api, healthy)
    assert beat(api, degraded, ok=False) == "degraded"
    for _ in range(3):
        beat(api, critical, ok=False)
    page = watched.page
    page.goto(f"/heartbeat-dashboard?search={prefix}")
    rows = page.locator("[data-service]")
    expect(page.locator(f'[data-service="{dead}"] .badge')).to_have_text("dead", timeout=5000)
    by_severity = [dead, critical, degraded, unknown, healthy]
    expect(rows).to_have_count(5)
    assert [rows.nth(n).get_attribute("data-service") for n in range(5)] == by_severity

    page.locator('[data-sort="name"]').click()  # by name, A to Z
    expect(page).to_have_url(re.compile(r"sort=name&dir=asc"))
    expect(rows.first).to_have_attribute("data-service", healthy)
    page.locator('[data-sort="name"]').click()  # again: Z to A
    expect(rows.first).to_have_attribute("data-service", dead)
    expect(page).to_have_url(re.compile(r"sort=name&dir=desc"))
    page.reload()  # the order is in the URL
    expect(rows.first).to_have_attribute("data-service", dead)
    expect(page.locator('[data-sort="name"]')).to_have_text("Service ▼")
    watched.assert_clean()


def test_the_beat_strip_follows_each_check_live_and_details_it_on_hover(
    watched: Watched, api: httpx.Client
) -> None:
    service_id = push_service(api)
    page = watched.page
    page.goto(f"/heartbeat-dashboard?search={service_id}")
    row = page.locator(f'[data-service="{service_id}"]')
    expect(row.get_by_text("no checks yet")).to_be_visible()
    for ok in (True, True, False):
        beat(api, service_id, ok=ok)
    beats = row.locator(".beat:not(.beat-empty)")
    expect(beats).to_have_count(3, timeout=15_000)  # the dashboard refreshes metrics every 5 s
    expect(row.locator(".beat-ok")).to_have_count(2)
    expect(row.locator(".beat-failed")).to_have_count(1)
    beat(api, service_id)
    expect(beats).to_have_count(4, timeout=15_000)
    expect(beats.last).to_have_class(re.compile("beat-ok"))
    beats.first.hover()
    expect(beats.first).to_have_attribute("title", re.compile(r"succeeded · 5\.0 ms"))
    watched.assert_clean()


def test_a_service_panel_tells_its_story_with_charts_checks_and_neighbours(
    watched: Watched, api: httpx.Client
) -> None:
    database = push_service(api, "Orders DB")
    service_id = push_service(api)
    edge = {"source": service_id, "target": database, "relationship": "database"}
    assert api.post("/api/v1/dependencies", json=edge).status_code == 201
    beat(api, database)
    for ok in (True, False, True):
        beat(api, service_id, ok=ok)
    page = watched.page
    page.goto(f"/heartbeat-dashboard?search={service_id}")
    page.locator(f'[data-service="{service_id}"]').click()
    panel = page.get_by_test_id("service-panel")
    chart = panel.get_by_test_id("latency-chart")
    # once the minute is written (every 5 s) and the chart drawn again (every 15 s)
    expect(chart.locator("canvas")).to_have_count(1, timeout=30_000)
    # uPlot draws the axes (ms on the left, % on the right) on the canvas; the legend is text
    for series in ("p50", "p95", "uptime"):
        expect(chart.locator(".u-legend")).to_contain_text(series)
    panel.get_by_role("button", name="7 d").click()
    expect(panel.get_by_role("button", name="7 d")).to_have_attribute("aria-pressed", "true")
    expect(chart.locator(".u-title")).to_have_text("Latency and uptime, last 7 d")
    expect(panel.locator(".beats .beat:not(.beat-empty)")).to_have_count(3)
    expect(panel.get_by_text(database)).to_be_visible()  # what it depends on, with its status
    expect(panel.locator(".timeline li").first).to_contain_text("healthy")
    watched.screenshot("service-panel")
    watched.assert_clean()


def test_maintenance_is_started_and_ended_from_the_service_panel(
    watched: Watched, api: httpx.Client
) -> None:
    service_id = push_service(api)
    beat(api, service_id)
    page = watched.page
    page.goto(f"/heartbeat-dashboard?search={service_id}")
    row = page.locator(f'[data-service="{service_id}"]')
    row.click()
    panel = page.get_by_test_id("service-panel")
    form = panel.get_by_test_id("maintenance")
    start = form.get_by_role("button", name="Start maintenance")
    expect(start).to_be_disabled()  # a reason first
    form.get_by_label("Reason").fill("replacing the disk")
    form.get_by_label("For").select_option(label="4 h")
    start.click()
    expect(form).to_contain_text("In maintenance until")
    expect(form).to_contain_text("replacing the disk")
    expect(row).to_contain_text("in maintenance")
    [window] = [w for w in api.get("/api/v1/maintenance").json() if service_id in w["covers"]]
    assert (window["created_by"], window["service_ids"]) == ("web console", [service_id])
    watched.screenshot("service-panel-maintenance")
    form.get_by_role("button", name="End maintenance now").click()
    expect(form.get_by_role("button", name="Start maintenance")).to_be_visible()
    expect(row).not_to_contain_text("in maintenance")
    assert api.get(f"/api/v1/heartbeat/status/{service_id}").json()["in_maintenance"] is False
    watched.assert_clean()


def test_the_overview_shows_notification_targets_and_their_failures(
    watched: Watched, api: httpx.Client
) -> None:
    service_id = push_service(api, max_failures=1)
    dead_end = f"json://127.0.0.1:{free_port()}/nobody"
    body = {"name": "dead-end", "url": dead_end, "service_ids": [service_id]}
    target = api.post("/api/v1/notifications/targets", json=body).json()
    try:
        beat(api, service_id, ok=False)  # critical: a page, which fails after its retries
        page = watched.page
        page.goto("/")
        targets = page.get_by_test_id("notification-targets")
        expect(targets).to_contain_text("dead-end (JSON): 0 sent")
        expect(targets).to_contain_text(
            "1 failed: JSON: A Connection error occurred sending JSON notification", timeout=20_000
        )
        watched.screenshot("overview-notifications")
    finally:
        api.delete(f"/api/v1/notifications/targets/{target['target_id']}")
    watched.assert_clean()


def test_graph_explorer(watched: Watched, api: httpx.Client) -> None:
    first, second = push_service(api), push_service(api)
    assert api.post(
        "/api/v1/dependencies",
        json={"source": first, "target": second, "type": "soft", "relationship": "cache"},
    ).is_success
    page = watched.page
    page.goto("/dependencies")
    wait_for_graph(watched)
    total = api.get("/api/v1/dependencies/graph").json()["total_services"]
    assert page.evaluate(f"{CY}.nodes().length") == total
    expect(page.get_by_test_id("graph-counts")).to_contain_text(f"{total} services")

    # clicking a node opens its details
    box = page.get_by_test_id("graph-2d").bounding_box()
    assert box is not None
    where = page.evaluate(f"{CY}.getElementById('{first}').renderedPosition()")
    page.mouse.click(box["x"] + where["x"], box["y"] + where["y"])
    graph = page.get_by_test_id("graph-2d")
    details = page.get_by_test_id("details")
    expect(details).to_contain_text(first)
    expect(details).to_contain_text(second)
    # beside the graph, never over it: the canvas shrinks to make room
    panel, canvas = details.bounding_box(), graph.bounding_box()
    assert panel is not None
    assert canvas is not None
    assert canvas["x"] + canvas["width"] <= panel["x"]
    page.wait_for_function(f"{CY}.width() <= {canvas['width']}")  # Cytoscape resized to it
    page.keyboard.press("Escape")
    expect(details).to_have_count(0)
    # where the node is now (the graph may have been drawn again meanwhile: a late change)
    page.wait_for_function(f"{CY}.width() > {canvas['width']}")  # the canvas is wide again
    where = page.evaluate(f"{CY}.getElementById('{first}').renderedPosition()")
    page.mouse.click(box["x"] + where["x"], box["y"] + where["y"])
    expect(details).to_contain_text(first)

    # an edge says what it is when the pointer is on it (Cytoscape's own hover event: where
    # a pointer lands on a thin line depends on the layout of every other test's services)
    page.evaluate(f"{CY}.getElementById('{first}->{second}').emit('mouseover')")
    expect(page.get_by_test_id("edge-tooltip")).to_contain_text(f"{first} depends on {second}")
    expect(page.get_by_test_id("edge-tooltip")).to_contain_text("soft, cache")

    # the legend says what colours, rings and lines mean
    legend = page.get_by_test_id("legend")
    legend.locator("summary").click()
    for meaning in ("healthy", "dead", "root cause", "soft dependency", "A depends on B"):
        expect(legend).to_contain_text(meaning)

    # Export PNG downloads a real PNG
    with page.expect_download() as download:
        page.get_by_role("button", name="Export PNG").click()
    path = download.value.path()
    with open(path, "rb") as png:
        assert png.read(8) == b"\x89PNG\r\n\x1a\n"

    # Physics off: dragging a service moves it alone. On: a live simulation, its
    # dependency follows.
    def position(service_id: str) -> dict[str, float]:
        found: dict[str, float] = page.evaluate(f"{CY}.getElementById('{service_id}').position()")
        return found

    def drag(service_id: str, dx: float) -> None:
        at = page.evaluate(f"{CY}.getElementById('{service_id}').renderedPosition()")
        page.mouse.move(box["x"] + at["x"], box["y"] + at["y"])
        page.mouse.down()
        for step in range(1, 11):
            page.mouse.move(box["x"] + at["x"] + dx * step / 10, box["y"] + at["y"])
        page.mouse.up()

    page.get_by_role("button", name="Close").click()
    before = position(second)
    drag(first, 120)
    page.wait_for_timeout(300)
    assert position(second) == before
    page.get_by_role("button", name="Toggle Physics").click()
    page.wait_for_timeout(300)
    before = position(second)
    drag(first, -200)
    page.wait_for_timeout(500)
    assert position(second) != before
    page.get_by_role("button", name="Toggle Physics").click()
    still = graph.screenshot()

    # 3D: a WebGL canvas replaces the 2D drawing
    page.get_by_role("button", name="3D").click()
    canvas = page.get_by_test_id("graph-3d").locator("canvas")
    expect(canvas).to_be_visible(timeout=10_000)
    expect(graph).to_be_hidden()
    page.wait_for_timeout(500)
    assert page.get_by_test_id("graph-3d").screenshot() != still  # a different picture
    three = page.get_by_test_id("graph-3d")
    total = api.get("/api/v1/dependencies/graph").json()["total_services"]
    expect(three).to_have_attribute("data-labelled", str(total))  # every service named
    expect(three).to_have_attribute("data-fitted", "true", timeout=20_000)  # zoomed to fit
    # Focus works in 3D: the service comes to the middle and the rest dims; a click on it
    # opens the same details panel as in 2D.
    page.get_by_label("Focus on a service").fill(first)
    page.get_by_role("button", name="Focus").click()
    expect(three).to_have_attribute("data-lit", "2")  # first and second
    page.wait_for_timeout(1000)  # the camera's move
    page.keyboard.press("Escape")  # the panel the focus opened
    expect(details).to_have_count(0)
    # the canvas takes the room back; the service stays centred
    page.wait_for_function(
        "(() => { const box = document.querySelector('[data-testid=graph-3d]');"
        " return box.querySelector('canvas').width === box.clientWidth * devicePixelRatio; })()"
    )
    middle = three.bounding_box()
    assert middle is not None
    centre = (middle["x"] + middle["width"] / 2, middle["y"] + middle["height"] / 2)
    page.mouse.move(*centre)
    expect(three.locator(".float-tooltip-kap")).to_contain_text(first)  # hovered
    page.mouse.click(*centre)
    expect(details).to_contain_text(first)
    watched.screenshot("dependencies-3d")
    page.get_by_role("button", name="Reset View").click()
    expect(three).to_have_attribute("data-lit", str(total))
    with page.expect_download() as download:
        page.get_by_role("button", name="Export PNG").click()
    with open(download.value.path(), "rb") as png:
        assert png.read(8) == b"\x89PNG\r\n\x1a\n"
    page.get_by_role("button", name="2D").click()
    expect(graph).to_be_visible()
    watched.screenshot("dependencies-explorer")
    watched.assert_clean()


def test_the_explorer_keeps_its_layout_across_reloads_and_places_new_services_nearby(
    watched: Watched, api: httpx.Client
) -> None:
    first, second = push_service(api), push_service(api)
    edge = {"source": first, "target": second, "relationship": "sync_api"}
    assert api.post("/api/v1/dependencies", json=edge).is_success
    page = watched.page
    page.goto("/dependencies")
    wait_for_graph(watched)
    positions = f"Object.fromEntries({CY}.nodes().map((n) => [n.id(), n.position()]))"
    box = page.get_by_test_id("graph-2d").bounding_box()
    assert box is not None
    at = page.evaluate(f"{CY}.getElementById('{first}').renderedPosition()")
    page.mouse.move(box["x"] + at["x"], box["y"] + at["y"])
    page.mouse.down()
    for step in range(1, 11):  # the user moves a service: that is the layout now
        page.mouse.move(box["x"] + at["x"] + 8 * step, box["y"] + at["y"] + 5 * step)
    page.mouse.up()
    page.wait_for_timeout(600)  # kept shortly after the drop
    before = page.evaluate(positions)

    page.reload()
    wait_for_graph(watched)
    after = page.evaluate(positions)
    assert after.keys() == before.keys()
    for service_id, was in before.items():
        assert after[service_id]["x"] == pytest.approx(was["x"], abs=1), service_id
        assert after[service_id]["y"] == pytest.approx(was["y"], abs=1), service_id

    # A new service that depends on `first` is drawn beside it; nothing else moves.
    newcomer = push_service(api)
    edge = {"source": newcomer, "target": first, "relationship": "sync_api"}
    assert api.post("/api/v1/dependencies", json=edge).is_success
    page.reload()
    page.wait_for_function(f"{CY} && {CY}.getElementById('{newcomer}').length > 0")
    again = page.evaluate(positions)
    for service_id, was in after.items():
        assert again[service_id]["x"] == pytest.approx(was["x"], abs=1), service_id
    distance = math.dist(
        (again[newcomer]["x"], again[newcomer]["y"]), (again[first]["x"], again[first]["y"])
    )
    assert distance < 100
    # Re-layout starts over (and keeps the new one)
    page.get_by_role("button", name="Re-layout").click()
    watched.assert_clean()


def test_hostile_names_are_inert_text_everywhere(watched: Watched, api: httpx.Client) -> None:
    ids = []
    for name in HOSTILE:
        service_id = push_service(api, name, cluster=name[:200])
        beat(api, service_id)
        ids.append(service_id)
        published = api.post(
            "/api/v1/messagebus/publish",
            json={"event_type": name, "source_service": name, "payload": {"name": name}},
        )
        assert published.is_success, published.text
    page = watched.page
    for path in ("/", "/heartbeat-dashboard", "/events", "/dependencies"):
        page.goto(path)
        page.wait_for_load_state("networkidle")
        if path == "/heartbeat-dashboard":
            for service_id, name in zip(ids, HOSTILE, strict=True):
                # the list draws only the rows in view: search, as a user would
                page.get_by_label("Search services").fill(service_id)
                row = page.locator(f'[data-service="{service_id}"]')
                expect(row).to_contain_text(name[:60])
                row.click()  # its panel too
                expect(page.get_by_test_id("service-panel")).to_contain_text(service_id)
                page.get_by_role("button", name="Close").click()
        if path == "/events":
            expect(page.get_by_text(HOSTILE[0]).first).to_be_visible()
        if path == "/dependencies":
            wait_for_graph(watched)
            page.get_by_label("Focus on a service").fill(ids[0])
            page.get_by_role("button", name="Focus").click()
            expect(page.get_by_test_id("details")).to_contain_text(HOSTILE[0])
        assert page.evaluate("window.__pwned") is None
        assert page.locator("img[src=x]").count() == 0
    watched.assert_clean()


def run_in_graphiql(watched: Watched, document: str) -> None:
    """Put a document in GraphiQL's editor (CodeMirror) and press its run button."""
    page = watched.page
    editor = page.locator(".graphiql-query-editor .CodeMirror")
    expect(editor).to_be_visible(timeout=10_000)
    editor.evaluate("(element, text) => element.CodeMirror.setValue(text)", document)
    page.wait_for_timeout(800)  # GraphiQL parses the edited text after a debounce
    page.locator(".graphiql-execute-button").click()


def test_graphiql_runs_a_query_and_a_subscription(watched: Watched, api: httpx.Client) -> None:
    page = watched.page
    page.goto("/graphql")
    # its two example tabs are buttons, the selected one pressed, and they still switch
    first, second = (
        page.get_by_role("button", name="Services"),
        page.get_by_role("button", name="StatusChanges"),
    )
    expect(first).to_have_attribute("aria-pressed", "true")
    expect(second).to_have_attribute("aria-pressed", "false")
    second.click()
    expect(second).to_have_attribute("aria-pressed", "true")
    expect(first).to_have_attribute("aria-pressed", "false")
    expect(page.locator(".graphiql-query-editor")).to_contain_text("serviceStatusChanged")
    first.click()
    expect(first).to_have_attribute("aria-pressed", "true")
    run_in_graphiql(watched, "{ heartbeatSummary { total healthy } }")
    expect(page.locator(".result-window")).to_contain_text('"healthy"', timeout=10_000)

    run_in_graphiql(watched, "subscription { servicesChanged { action serviceId } }")
    page.wait_for_timeout(1000)  # let the socket open the subscription
    service_id = push_service(api)
    expect(page.locator(".result-window")).to_contain_text(service_id, timeout=10_000)
    watched.assert_clean()


def test_swagger_ui_lists_every_operation(watched: Watched, api: httpx.Client) -> None:
    document = api.get("/api/openapi.json").json()
    operations = sum(len(methods) for methods in document["paths"].values())
    page = watched.page
    page.goto("/api/docs")
    expect(page.locator(".opblock")).to_have_count(operations, timeout=10_000)
    expect(page.locator(".opblock-summary-path").first).to_contain_text("/api/v1/heartbeat")
    watched.assert_clean()


def test_a_protected_server_asks_for_a_token_and_then_shows_data(
    browser: Browser, tmp_path: Path
) -> None:
    server = MeshProcess(
        f"sqlite+aiosqlite:///{tmp_path / 'mesh.db'}",
        tmp_path,
        env={
            "OSE_MESH_READ_TOKENS": "reader-token-0001",
            "OSE_MESH_WRITE_TOKENS": "writer-token-0001",
        },
    )
    server.start()
    context = browser.new_context(base_url=server.url)
    try:
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto("/heartbeat-dashboard")
        prompt = page.get_by_role("dialog", name="Token needed")
        expect(prompt).to_be_visible()
        page.get_by_label("Token", exact=True).fill("reader-token-0001")
        page.get_by_role("button", name="Use this token").click()
        expect(page.locator('[data-service="service-mesh"]')).to_be_visible()
        expect(prompt).to_be_hidden()
        expect(page.get_by_role("status")).to_have_text("Live")
        # GraphiQL in the same tab uses the token too, for queries and subscriptions
        page.goto("/graphql")
        watched = Watched(page)
        run_in_graphiql(watched, "{ heartbeatSummary { total } }")
        expect(page.locator(".result-window")).to_contain_text('"total"', timeout=10_000)
        run_in_graphiql(watched, "subscription { servicesChanged { serviceId } }")
        page.wait_for_timeout(1000)
        registered = httpx.post(
            f"{server.url}/api/v1/heartbeat/register",
            json={"service_id": "late"},
            headers={"Authorization": "Bearer writer-token-0001"},
        )
        assert registered.status_code == 201
        expect(page.locator(".result-window")).to_contain_text("late", timeout=10_000)
        assert errors == []
    finally:
        context.close()
        server.stop()


def test_the_status_page_shows_public_services_without_a_token_and_hides_private_ones(
    browser: Browser, tmp_path: Path
) -> None:
    writer = {"Authorization": "Bearer writer-token-0002"}
    server = MeshProcess(
        f"sqlite+aiosqlite:///{tmp_path / 'mesh.db'}",
        tmp_path,
        env={"OSE_MESH_WRITE_TOKENS": "writer-token-0002"},
    )
    server.start()
    context = browser.new_context(base_url=server.url, viewport={"width": 1440, "height": 900})
    try:
        with httpx.Client(base_url=server.url, headers=writer) as api:
            for body in (
                {
                    "service_id": "storefront",
                    "service_name": "Storefront",
                    "cluster": "shop",
                    "public": True,
                },
                {"service_id": "secret-ledger", "service_name": "Hidden Ledger", "cluster": "shop"},
            ):
                assert api.post("/api/v1/heartbeat/register", json=body).status_code == 201
            edge = {"source": "storefront", "target": "secret-ledger", "relationship": "database"}
            assert api.post("/api/v1/dependencies", json=edge).status_code == 201
            beat(api, "storefront", ok=False)  # an incident, whose cause is the private one
        page = context.new_page()
        received: list[str] = []
        page.on("response", lambda r: received.append(r.text()) if r.ok else None)
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        for path in ("/status", "/status/shop"):
            page.goto(path)
            expect(page.get_by_test_id("headline")).to_contain_text("Degraded performance")
            expect(page.locator('[data-service="storefront"] .uptime-bars .day')).to_have_count(90)
            expect(page.locator(".incidents")).to_contain_text("Storefront")
            expect(page.get_by_role("dialog", name="Token needed")).to_have_count(0)
            page.wait_for_load_state("networkidle")
            for text in (page.content(), *received):
                assert "secret-ledger" not in text
                assert "Hidden Ledger" not in text
        Watched(page).screenshot("status-page")
        page.goto("/status/nowhere")
        expect(page.get_by_role("alert")).to_contain_text("no public services")
        assert errors == []
    finally:
        context.close()
        server.stop()


def test_a_big_graph_is_drawn_from_its_saved_layout_before_cytoscape_is_ready(
    browser: Browser, tmp_path: Path
) -> None:
    """Over 300 services the explorer first paints the saved layout on a plain canvas, then
    Cytoscape takes over at the same places (benchmarks/web.py measures how soon)."""
    names = [f"node-{n:03}" for n in range(320)]
    catalog = {
        "services": [{"id": name} for name in names],
        "dependencies": [{"source": a, "target": b} for a, b in itertools.pairwise(names)],
    }
    (tmp_path / "catalog.json").write_text(json.dumps(catalog))
    database = f"sqlite+aiosqlite:///{tmp_path / 'big.db'}"
    init = ["init", "--catalog", str(tmp_path / "catalog.json"), "--database-url", database]
    subprocess.run([sys.executable, "-m", "ose_mesh.cli", *init], check=True, capture_output=True)
    server = MeshProcess(database, tmp_path)
    server.start()
    context = browser.new_context(base_url=server.url, viewport={"width": 1400, "height": 900})
    try:
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto("/dependencies")  # the first visit lays the graph out and keeps the layout
        page.wait_for_function(f"{CY} && {CY}.nodes().length === {len(names) + 1}")
        preview = page.get_by_test_id("graph-preview")
        expect(preview).to_be_hidden()
        assert preview.get_attribute("data-drawn") is None  # nothing saved to draw from
        page.reload()
        page.wait_for_function(f"{CY} && {CY}.nodes().length === {len(names) + 1}")
        expect(preview).to_have_attribute("data-drawn", str(len(names) + 1))
        expect(preview).to_be_hidden()  # Cytoscape drew, the preview went
        marks = page.evaluate(
            "['explorer-preview-drawn', 'explorer-graph-drawn']"
            ".map((name) => performance.getEntriesByName(name)[0]?.startTime)"
        )
        assert marks[0] is not None
        assert marks[1] is not None
        assert marks[0] < marks[1]
        assert errors == []
    finally:
        context.close()
        server.stop()


def send_spans(api: httpx.Client, caller: str, callee: str, calls: int, failed: int = 0) -> None:
    """Client spans naming their callee (peer.service), as an OpenTelemetry SDK sends them."""
    spans = [
        {
            "traceId": uuid.uuid4().hex,
            "spanId": uuid.uuid4().hex[:16],
            "kind": 3,
            "startTimeUnixNano": "1000000",
            "endTimeUnixNano": "9000000",
            "status": {"code": 2 if n < failed else 0},
            "attributes": [{"key": "peer.service", "value": {"stringValue": callee}}],
        }
        for n in range(calls)
    ]
    resource = {"attributes": [{"key": "service.name", "value": {"stringValue": caller}}]}
    body = {"resourceSpans": [{"resource": resource, "scopeSpans": [{"spans": spans}]}]}
    assert api.post("/v1/traces", json=body).status_code == 200


def test_the_explorer_draws_what_traces_show_and_declares_it(
    watched: Watched, api: httpx.Client
) -> None:
    caller, seen, declared = push_service(api), push_service(api), push_service(api)
    never, misnamed = push_service(api), push_service(api)
    for target, relationship in (
        (declared, "sync_api"),
        (never, "sync_api"),
        (misnamed, "database"),
    ):
        edge = {"source": caller, "target": target, "type": "soft", "relationship": relationship}
        assert api.post("/api/v1/dependencies", json=edge).is_success
    send_spans(api, caller, seen, calls=10, failed=4)
    send_spans(api, caller, declared, calls=5)
    send_spans(api, caller, misnamed, calls=2)  # an HTTP call, declared as a database
    observed, both = f"{caller}->{seen}", f"{caller}->{declared}"
    page = watched.page
    page.goto("/dependencies")
    page.wait_for_function(f"{CY} && {CY}.getElementById('{observed}').length === 1")

    # observed only: dotted blue; declared and seen: drawn as declared, with its traffic
    assert page.evaluate(f"{CY}.getElementById('{observed}').data('origin')") == "observed"
    assert page.evaluate(f"{CY}.getElementById('{observed}').style('line-style')") == "dotted"
    assert page.evaluate(f"{CY}.getElementById('{both}').data('origin')") == "both"
    page.evaluate(f"{CY}.getElementById('{observed}').emit('mouseover')")
    tooltip = page.get_by_test_id("edge-tooltip")
    expect(tooltip).to_contain_text("seen in traces, not declared")
    expect(tooltip).to_contain_text("40.00 % errors")
    page.evaluate(f"{CY}.getElementById('{both}').emit('mouseover')")
    expect(tooltip).to_contain_text(f"{caller} depends on {declared}: soft")
    expect(tooltip).to_contain_text(" 0 % errors")

    # the filter: only what traces show and nobody declared
    page.get_by_label("Origin").select_option("drift")
    page.wait_for_function(f"!{CY}.getElementById('{both}').visible()")
    assert page.evaluate(f"{CY}.getElementById('{observed}').visible()") is True
    page.get_by_label("Origin").select_option("")
    page.wait_for_function(f"{CY}.getElementById('{both}').visible()")
    every = page.evaluate(f"{CY}.edges().length")  # declared and observed: all shown again
    expect(page.get_by_test_id("graph-counts")).to_contain_text(f"{every} dependencies shown")

    # coloured by error rate: the failing edge is redder than the healthy one
    page.get_by_role("button", name="Colour by errors").click()
    page.wait_for_function(f"{CY}.getElementById('{observed}').hasClass('by-errors')")
    colours = page.evaluate(
        f"[{CY}.getElementById('{observed}').style('line-color'),"
        f" {CY}.getElementById('{both}').style('line-color')]"
    )
    red = [int(part) for part in re.findall(r"\d+", colours[0])[:3]]
    green = [int(part) for part in re.findall(r"\d+", colours[1])[:3]]
    assert red[0] > green[0]
    assert red[1] < green[1]
    watched.screenshot("explorer-traffic")

    # drift: where the declarations and the traces disagree
    page.get_by_role("button", name="Drift").click()
    page.wait_for_function(f"{CY}.getElementById('{caller}->{never}').hasClass('drift-unseen')")
    for target, mark in ((seen, "drift-undeclared"), (misnamed, "drift-suspect")):
        assert page.evaluate(f"{CY}.getElementById('{caller}->{target}').hasClass('{mark}')")
    assert page.evaluate(f"{CY}.getElementById('{both}').hasClass('dimmed')")
    expect(page.locator(".highlight")).to_contain_text(
        f"{caller} → {misnamed}: declared database, but the spans show sync_api"
    )
    watched.screenshot("explorer-drift")
    page.get_by_role("button", name="Reset View").click()

    # declared from the caller's panel, as soft
    page.evaluate(f"{CY}.getElementById('{caller}').emit('tap')")
    undeclared = page.get_by_test_id("undeclared")
    expect(undeclared).to_contain_text(seen)
    undeclared.get_by_label(re.compile("Type to declare")).select_option("soft")
    undeclared.get_by_role("button", name="Declare").click()
    page.wait_for_function(f"{CY}.getElementById('{observed}').data('origin') === 'both'")
    assert page.evaluate(f"{CY}.getElementById('{observed}').data('type')") == "soft"
    dependency = api.get(f"/api/v1/dependencies/service/{caller}").json()["dependencies"]
    assert {d["service_id"]: d["via"]["type"] for d in dependency}[seen] == "soft"
    watched.assert_clean()
