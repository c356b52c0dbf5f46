"""Where the event loop stalls: a profiling aid for `ose-mesh serve` (not loaded otherwise).

    OSE_STALLWATCH=/tmp/stalls.txt PYTHONPATH=benchmarks/stallwatch:. \
        python -m benchmarks.smoothness http 30

Python loads this file at start-up in every process started with that PYTHONPATH; it acts
only in a server process, once uvicorn has started. A task stamps the time every 5 ms; a
thread notices when a stamp is over 30 ms old (the loop is held) and samples the loop
thread's stack, so each stall is written with the stacks that held it. Garbage collections
over 5 ms, and every full one, are listed with how much they collected. The file is
rewritten every 5 seconds and at exit.
"""

from __future__ import annotations

import os

if os.environ.get("OSE_STALLWATCH"):
    import asyncio
    import atexit
    import collections
    import gc
    import sys
    import threading
    import time
    import traceback
    from typing import Any

    import ose_mesh.serving as serving

    OUTPUT = os.environ["OSE_STALLWATCH"]
    HELD_SECONDS = 0.03
    stalls: list[tuple[float, list[float], collections.Counter[str]]] = []
    collections_seen: list[tuple[float, int, float, int]] = []
    stamp = [time.monotonic()]
    gc_started = [0.0]

    def _on_gc(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            gc_started[0] = time.perf_counter()
            return
        took = time.perf_counter() - gc_started[0]
        if took > 0.005 or info["generation"] == 2:
            collections_seen.append(
                (time.monotonic(), info["generation"], took * 1000, info["collected"])
            )

    def _watch(loop_thread: int) -> None:
        current: tuple[float, list[float], collections.Counter[str]] | None = None
        while True:
            time.sleep(0.005)
            held = time.monotonic() - stamp[0]
            if held <= HELD_SECONDS:
                current = None
                continue
            frame = sys._current_frames().get(loop_thread)
            stack = "".join(traceback.format_stack(frame, limit=30)) if frame else "?"
            if current is None:
                current = (time.monotonic() - held, [held], collections.Counter())
                stalls.append(current)
            current[1][0] = held
            current[2][stack] += 1

    def _write() -> None:
        with open(OUTPUT, "w") as out:
            out.write(f"garbage collections over 5 ms, and full ones: {len(collections_seen)}\n")
            for at, generation, ms, collected in collections_seen:
                out.write(f"  gen{generation} {ms:.1f} ms, {collected} collected, at {at:.1f}\n")
            for started, (held,), stacks in sorted(stalls, key=lambda s: -s[1][0]):
                out.write(f"=== loop held {held * 1000:.0f} ms at {started:.2f}\n")
                for stack, samples in stacks.most_common(3):
                    out.write(f"--- {samples} samples\n{stack}\n")

    original_startup = serving.MeshServer.startup

    async def _startup(self: serving.MeshServer, sockets: Any = None) -> None:
        await original_startup(self, sockets)
        gc.callbacks.append(_on_gc)

        async def tick() -> None:
            while True:
                stamp[0] = time.monotonic()
                await asyncio.sleep(0.005)

        stamp[0] = time.monotonic()
        self.stallwatch = asyncio.get_running_loop().create_task(tick())  # type: ignore[attr-defined]
        threading.Thread(target=_watch, args=(threading.get_ident(),), daemon=True).start()

        def every_five_seconds() -> None:
            while True:
                time.sleep(5)
                _write()

        threading.Thread(target=every_five_seconds, daemon=True).start()
        atexit.register(_write)

    serving.MeshServer.startup = _startup  # type: ignore[method-assign]
