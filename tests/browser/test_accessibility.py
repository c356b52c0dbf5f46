"""Every page, light and dark, at phone and desktop widths: axe-core finds no serious or
critical violation, nothing scrolls sideways, and a screenshot is kept for review
(screenshots/, git-ignored)."""

from __future__ import annotations

import itertools
import json
import uuid
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import SCREENSHOTS
from tests.browser.test_pages import PAGES
from tests.integration.server import MeshProcess

pytestmark = pytest.mark.browser

AXE = Path(__file__).resolve().parents[1] / "node" / "node_modules" / "axe-core" / "axe.min.js"
WIDTHS = {"phone": 375, "desktop": 1440}


@pytest.fixture(scope="module")
def populated(mesh: MeshProcess) -> MeshProcess:
    """A few services with every status worth drawing, edges, and one public service."""
    with httpx.Client(base_url=mesh.url, timeout=10) as api:
        ids = [f"a11y-{uuid.uuid4().hex[:6]}" for _ in range(4)]
        for n, service_id in enumerate(ids):
            body = {"service_id": service_id, "service_name": f"Service {n}", "public": n < 2}
            assert api.post("/api/v1/heartbeat/register", json=body).status_code == 201
        for source, target in itertools.pairwise(ids):
            edge = {"source": source, "target": target, "relationship": "sync_api"}
            assert api.post("/api/v1/dependencies", json=edge).status_code == 201
        for service_id, ok in zip(ids, (True, False, True, True), strict=True):
            assert api.post(f"/api/v1/heartbeat/{service_id}/beat", json={"ok": ok}).is_success
    return mesh


def open_page(browser: Browser, mesh: MeshProcess, path: str, width: int, scheme: str) -> Page:
    context = browser.new_context(
        base_url=mesh.url, viewport={"width": width, "height": 900}, color_scheme=scheme
    )
    page = context.new_page()
    page.goto(path)
    page.wait_for_load_state("networkidle")
    return page


def serious_violations(page: Page) -> list[dict[str, object]]:
    page.add_script_tag(path=str(AXE))
    found = page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
    )
    return [
        {"rule": v["id"], "impact": v["impact"], "where": [n["target"] for n in v["nodes"]][:5]}
        for v in found
        if v["impact"] in ("serious", "critical")
    ]


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("name", list(PAGES))
def test_axe_finds_no_serious_violation(
    browser: Browser, populated: MeshProcess, name: str, scheme: str
) -> None:
    page = open_page(browser, populated, PAGES[name], 1440, scheme)
    try:
        serious = serious_violations(page)
        assert serious == [], json.dumps(serious, indent=1)
    finally:
        page.context.close()


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("in_maintenance", [False, True])
def test_axe_finds_nothing_in_a_service_panel_with_its_maintenance_form(
    browser: Browser, populated: MeshProcess, scheme: str, in_maintenance: bool
) -> None:
    service_id = f"a11y-panel-{uuid.uuid4().hex[:6]}"
    with httpx.Client(base_url=populated.url, timeout=10) as api:
        body = {"service_id": service_id, "health_url": "https://127.0.0.1:9/health"}
        assert api.post("/api/v1/heartbeat/register", json=body).status_code == 201
        if in_maintenance:
            window = {"reason": "disk swap", "service_ids": [service_id], "duration_minutes": 30}
            assert api.post("/api/v1/maintenance", json=window).status_code == 201
    page = open_page(browser, populated, f"/heartbeat-dashboard?search={service_id}", 1440, scheme)
    try:
        page.locator(f'[data-service="{service_id}"]').click()
        form = page.get_by_test_id("maintenance")
        expect(form).to_contain_text("In maintenance" if in_maintenance else "Reason")
        serious = serious_violations(page)
        assert serious == [], json.dumps(serious, indent=1)
    finally:
        page.context.close()


@pytest.mark.parametrize("width", list(WIDTHS))
@pytest.mark.parametrize("name", list(PAGES))
def test_no_page_scrolls_sideways(
    browser: Browser, populated: MeshProcess, name: str, width: str
) -> None:
    page = open_page(browser, populated, PAGES[name], WIDTHS[width], "light")
    try:
        expect(page.locator("body")).to_be_visible()
        overflow = page.evaluate(
            "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        SCREENSHOTS.mkdir(exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{name}-{width}.png"), full_page=True)
        assert overflow <= 0, f"{name} at {WIDTHS[width]} px scrolls {overflow} px sideways"
    finally:
        page.context.close()
