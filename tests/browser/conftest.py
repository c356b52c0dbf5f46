"""A real server (`ose-mesh serve`) and Debian's Chromium driven by Playwright.

Every page is opened with every request to a host other than 127.0.0.1 blocked and
recorded: the tests assert none was made. Screenshots go to screenshots/ (git-ignored).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tests.integration.server import MeshProcess

CHROMIUM = "/usr/bin/chromium"  # Debian's; .ci/run installs it (apt-get install chromium)
SCREENSHOTS = Path(__file__).resolve().parents[2] / "screenshots"
LOCAL = ("http://127.0.0.1", "ws://127.0.0.1", "data:", "blob:")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    # WebGL (the 3D view) in software, as on a machine with no GPU
    "--use-angle=swiftshader",
    "--enable-unsafe-swiftshader",
]


@pytest.fixture(scope="session")
def mesh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MeshProcess]:
    folder = tmp_path_factory.mktemp("browser-mesh")
    server = MeshProcess(f"sqlite+aiosqlite:///{folder / 'mesh.db'}", folder)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def api(mesh: MeshProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=mesh.url, timeout=10) as client:
        yield client


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield chromium
        chromium.close()


@dataclass
class Watched:
    """A page with what went wrong on it: console errors, uncaught exceptions, and
    requests that tried to leave the machine."""

    page: Page
    errors: list[str] = field(default_factory=list)
    external: list[str] = field(default_factory=list)

    def assert_clean(self) -> None:
        assert self.errors == [], self.errors
        assert self.external == [], self.external

    def screenshot(self, name: str) -> None:
        SCREENSHOTS.mkdir(exist_ok=True)
        self.page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


@pytest.fixture
def watched(browser: Browser, mesh: MeshProcess) -> Iterator[Watched]:
    context = browser.new_context(
        base_url=mesh.url, viewport={"width": 1400, "height": 900}, accept_downloads=True
    )
    page = context.new_page()
    watch = Watched(page)
    page.on("console", lambda m: m.type == "error" and watch.errors.append(m.text))
    page.on("pageerror", lambda e: watch.errors.append(str(e)))

    def route(handle: Any) -> None:
        if handle.request.url.startswith(LOCAL):
            handle.continue_()
        else:
            watch.external.append(handle.request.url)
            handle.abort()

    page.route("**/*", route)
    try:
        yield watch
    finally:
        context.close()
