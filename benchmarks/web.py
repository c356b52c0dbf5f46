"""The web client under load, in Debian's Chromium (headless, software rendering).

- Heartbeat dashboard with 5,000 services: time to the first rows, frames per second while
  the list scrolls, and how long a status change made through the API takes to show; then
  the same, sorted by severity, while 50 status changes a second pour in.
- Dependency explorer with 2,000 services and 4,000 dependencies: time to the first drawing
  (the force layout on a first visit, the saved layout on a reload) and frames per second
  while the view pans and zooms.

Frames are counted with requestAnimationFrame in the page while the work happens, so a frame
that takes long to draw lowers the figure. The server runs on CPU 0, Chromium anywhere.
"""

from __future__ import annotations

import random
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
from playwright.sync_api import Page, sync_playwright

from benchmarks.common import free_port, init_database, spawn, stop, wait_http, write_section

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]
DASHBOARD_SERVICES = 5_000
GRAPH_SERVICES = 2_000
GRAPH_EDGES = 4_000
SECONDS = 3.0
CHANGES_PER_SECOND = 50
CHURN_SERVICES = [f"svc-{i:05}" for i in range(4_000, 4_200)]
# The explorer's Cytoscape instance, as Cytoscape registers it on its container.
CY = "document.querySelector('[data-testid=graph-2d]')?._cyreg?.cy"

# Runs in the page: do `step` on every animation frame for `seconds`, then report the frames
# per second and the slowest frame.
FRAMES = """async ([seconds, step]) => {
  const work = new Function("i", step);
  const times = [];
  const started = performance.now();
  let i = 0;
  await new Promise((done) => {
    const frame = (now) => {
      times.push(now);
      work(i++);
      if (now - started < seconds * 1000) requestAnimationFrame(frame); else done();
    };
    requestAnimationFrame(frame);
  });
  const gaps = times.slice(1).map((t, k) => t - times[k]);
  return { fps: gaps.length / ((times.at(-1) - times[0]) / 1000), worst: Math.max(...gaps) };
}"""


@dataclass
class WebFigures:
    dashboard_first_rows_ms: float
    dashboard_scroll_fps: float
    dashboard_worst_frame_ms: float
    status_to_screen_ms: list[float]
    churn_fps: float
    churn_worst_frame_ms: float
    churn_status_to_screen_ms: list[float]
    graph_first_draw_ms: float
    graph_reload_ms: float
    graph_reload_interactive_ms: float
    graph_pan_zoom_fps: float
    graph_worst_frame_ms: float


def catalog(services: int, edges: int, seed: int = 1) -> dict[str, object]:
    rng = random.Random(seed)
    names = [f"svc-{i:05}" for i in range(services)]
    pairs: set[tuple[str, str]] = set()
    while len(pairs) < edges:
        a, b = rng.sample(names, 2)
        pairs.add((a, b))
    return {
        "services": [
            {"id": n, "cluster": rng.choice(["core", "utility", "infrastructure", None])}
            for n in names
        ],
        "dependencies": [
            {"source": a, "target": b, "type": rng.choice(["hard", "soft", "optional"])}
            for a, b in sorted(pairs)
        ],
    }


class Server:
    """`ose-mesh serve` on CPU 0 over a database loaded with `ose-mesh init --catalog`."""

    def __init__(self, folder: Path, services: int, edges: int) -> None:
        database = init_database(catalog(services, edges), folder, f"web-{services}")
        self.url = f"http://127.0.0.1:{free_port()}"
        port = self.url.rsplit(":", 1)[1]
        self.process = spawn(
            [
                sys.executable,
                "-m",
                "ose_mesh.cli",
                "serve",
                "--port",
                port,
                "--no-access-log",
                "--database-url",
                database,
            ],
            cpu=0,
        )
        wait_http(f"{self.url}/health", 60)

    def stop(self) -> None:
        stop(self.process)


def dashboard(page: Page, server: Server) -> tuple[float, float, float, list[float]]:
    started = time.perf_counter()
    page.goto(f"{server.url}/heartbeat-dashboard")
    page.wait_for_selector("[data-service]")
    first_rows = (time.perf_counter() - started) * 1000
    page.wait_for_function(  # every service listed (and the mesh itself)
        "parseInt(document.querySelector('[data-testid=shown-count]').textContent)"
        f" >= {DASHBOARD_SERVICES}"
    )
    scrolled = page.evaluate(
        FRAMES, [SECONDS, "document.querySelector('.vlist').scrollTop = (i * 400) % 200000;"]
    )
    with httpx.Client(base_url=server.url) as api:
        settle(api, DASHBOARD_SERVICES)
        delays = [status_change(page, api, f"svc-{i:05}", ok=True) for i in range(10)]
    return first_rows, scrolled["fps"], scrolled["worst"], delays


def settle(api: httpx.Client, services: int) -> None:
    """After a start, the services (which never beat) turn degraded, then dead: waves of
    thousands of transitions a page takes in. Figures are taken once they have settled, so
    that each measures one thing."""
    deadline = time.monotonic() + 90
    while api.get("/api/v1/heartbeat/summary").json()["dead"] < services - 1:
        if time.monotonic() > deadline:
            raise RuntimeError("the services never all turned dead")
        time.sleep(1)
    time.sleep(2)


class Churn:
    """CHANGES_PER_SECOND status changes through the API, from a thread: each beat turns one
    of CHURN_SERVICES healthy, then (a failure) degraded, and so on."""

    def __init__(self, url: str) -> None:
        self._url = url
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.sent = 0

    def __enter__(self) -> Churn:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        with httpx.Client(base_url=self._url) as api:
            started = time.perf_counter()
            while not self._stop.is_set():
                service_id = CHURN_SERVICES[self.sent % len(CHURN_SERVICES)]
                ok = (self.sent // len(CHURN_SERVICES)) % 2 == 0
                api.post(f"/api/v1/heartbeat/{service_id}/beat", json={"ok": ok})
                self.sent += 1
                ahead = started + self.sent / CHANGES_PER_SECOND - time.perf_counter()
                if ahead > 0:
                    time.sleep(ahead)


def dashboard_under_churn(page: Page, server: Server) -> tuple[float, float, list[float]]:
    """Sorted by severity (the default), the whole list, while changes pour in."""
    page.fill("input[type=search]", "")
    with Churn(server.url) as churn, httpx.Client(base_url=server.url) as api:
        time.sleep(2)  # the changes are flowing
        frames = page.evaluate(
            FRAMES, [SECONDS, "document.querySelector('.vlist').scrollTop = (i * 400) % 200000;"]
        )
        delays = [status_change(page, api, f"svc-{i:05}", ok=False) for i in range(10)]
        print(f"  churn: {churn.sent} changes sent", file=sys.stderr)
    return frames["fps"], frames["worst"], delays


def status_change(page: Page, api: httpx.Client, service_id: str, ok: bool) -> float:
    """Milliseconds from a beat through the API until the dashboard row shows its status."""
    page.fill("input[type=search]", service_id)  # the row is then in view
    page.locator(f'[data-service="{service_id}"]').wait_for()
    expected = "healthy" if ok else "degraded"
    started = time.perf_counter()
    api.post(f"/api/v1/heartbeat/{service_id}/beat", json={"ok": ok})
    page.wait_for_function(
        f"document.querySelector('[data-service=\"{service_id}\"]')"
        f"?.textContent.includes('{expected}')"
    )
    return (time.perf_counter() - started) * 1000


MARK = "performance.getEntriesByName('{}')[0]?.startTime"


def first_drawing(page: Page, url: str) -> tuple[float, float]:
    """Milliseconds from the start of the page's navigation until the graph is first
    painted (the preview from the saved layout, else Cytoscape's first render) and until
    Cytoscape has drawn every node (the graph answers the pointer), from the performance
    marks the explorer sets in those frames."""
    page.goto(url)
    page.wait_for_function(f"{CY} && {CY}.nodes().length >= {GRAPH_SERVICES}")
    page.wait_for_function(f"{MARK.format('explorer-graph-drawn')} !== undefined")
    ready: float = page.evaluate(MARK.format("explorer-graph-drawn"))
    preview: float | None = page.evaluate(MARK.format("explorer-preview-drawn"))
    return min(ready, preview or ready), ready


def explorer(page: Page, server: Server) -> tuple[float, float, float, float, float]:
    with httpx.Client(base_url=server.url) as api:
        settle(api, GRAPH_SERVICES)
    page.evaluate("localStorage.clear(); sessionStorage.clear()")
    _, first_draw = first_drawing(page, f"{server.url}/dependencies")  # the force layout
    reloads = [first_drawing(page, f"{server.url}/dependencies") for _ in range(5)]  # saved
    step = (
        f"const cy = {CY};"
        "cy.panBy({x: Math.sin(i / 10) * 20, y: Math.cos(i / 10) * 20});"
        "cy.zoom({level: cy.zoom() * (i % 40 < 20 ? 1.02 : 0.98),"
        " renderedPosition: {x: 400, y: 300}});"
    )
    moved = page.evaluate(FRAMES, [SECONDS, step])
    drawn = statistics.median(drawn for drawn, _ in reloads)
    ready = statistics.median(ready for _, ready in reloads)
    return first_draw, drawn, ready, moved["fps"], moved["worst"]


def run() -> WebFigures:
    with tempfile.TemporaryDirectory() as folder, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        big = Server(Path(folder), DASHBOARD_SERVICES, 0)
        try:
            first_rows, fps, worst, delays = dashboard(page, big)
            churn_fps, churn_worst, churn_delays = dashboard_under_churn(page, big)
        finally:
            big.stop()
        graph = Server(Path(folder), GRAPH_SERVICES, GRAPH_EDGES)
        try:
            page.goto(graph.url + "/health")  # localStorage belongs to the page's origin
            first_draw, reload_ms, reload_ready, graph_fps, graph_worst = explorer(page, graph)
        finally:
            graph.stop()
        browser.close()
    return WebFigures(
        first_rows,
        fps,
        worst,
        delays,
        churn_fps,
        churn_worst,
        churn_delays,
        first_draw,
        reload_ms,
        reload_ready,
        graph_fps,
        graph_worst,
    )


def section(w: WebFigures) -> list[str]:
    """The BENCHMARKS.md section."""
    median = statistics.median
    return [
        "## Web client (Debian's Chromium, headless, software rendering)",
        "",
        "Frames are counted with requestAnimationFrame in the page while it works "
        "(`benchmarks/web.py`); 60 is the display's ceiling. The explorer's times run from "
        "the start of the page's navigation to the performance marks it sets in the frame "
        "that paints the graph.",
        "",
        "| what | figure | target |",
        "| --- | ---: | --- |",
        f"| dashboard, {DASHBOARD_SERVICES:,} services: first rows | "
        f"{w.dashboard_first_rows_ms:,.0f} ms | |",
        f"| dashboard, {DASHBOARD_SERVICES:,} services: scrolling | "
        f"{w.dashboard_scroll_fps:.0f} FPS (slowest frame {w.dashboard_worst_frame_ms:.0f} ms) "
        "| smooth |",
        f"| status change through the API → shown on the dashboard (median of "
        f"{len(w.status_to_screen_ms)}; max) | {median(w.status_to_screen_ms):,.0f} ms; "
        f"{max(w.status_to_screen_ms):,.0f} ms | ≤ 1 s |",
        f"| dashboard sorted by severity, scrolling while {CHANGES_PER_SECOND} status changes "
        f"a second arrive | {w.churn_fps:.0f} FPS (slowest frame {w.churn_worst_frame_ms:.0f} "
        "ms) | ≥ 50 FPS |",
        f"| … and a change shown meanwhile (median of {len(w.churn_status_to_screen_ms)}; max) "
        f"| {median(w.churn_status_to_screen_ms):,.0f} ms; "
        f"{max(w.churn_status_to_screen_ms):,.0f} ms | ≤ 1 s |",
        f"| graph explorer, {GRAPH_SERVICES:,} services and {GRAPH_EDGES:,} dependencies: "
        f"first visit (fcose layout) | {w.graph_first_draw_ms:,.0f} ms | |",
        f"| graph explorer: reload with the saved layout, first drawing (median of 5) | "
        f"{w.graph_reload_ms:,.0f} ms | ≤ 500 ms |",
        f"| … and every node answering the pointer (Cytoscape built and drawn) | "
        f"{w.graph_reload_interactive_ms:,.0f} ms | |",
        f"| graph explorer: panning and zooming | {w.graph_pan_zoom_fps:.0f} FPS (slowest frame "
        f"{w.graph_worst_frame_ms:.0f} ms) | ≥ 30 FPS |",
    ]


if __name__ == "__main__":
    lines = section(run())
    print("\n".join(lines))
    if "--write" in sys.argv:
        write_section(lines, Path(__file__).parents[1] / "BENCHMARKS.md", "benchmarks.web")
