"""TUI rows at 100k learners: process start to the first screen ready (beside a bare Textual app),
a keystroke in the learners filter to the updated list, and peak memory.

Each measurement runs in its own process, the app headless (Textual's test driver) on a database
built once with the demo generator."""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

from common import Row
from fabriqueterm import demo
from fabriqueterm.domain.dates import Clock
from fabriqueterm.store import Store

TODAY = date(2026, 11, 25)
#: What each run types in the learners filter ("\b": backspace); the first is the reference row's.
TYPED = ("martin" + "\b" * 3 + "ine", "zoé mar", "06 12 34")

_BARE = """
import asyncio, sys
from textual.app import App
from textual.widgets import Footer, Header, Static

class Bare(App):
    def compose(self):
        yield Header()
        yield Static("ready")
        yield Footer()

    def on_ready(self):  # Textual: "the DOM is ready and the first frame has been displayed"
        print("ready", flush=True)

async def main():
    async with Bare().run_test(size=(120, 40)) as pilot:
        await pilot.pause()

asyncio.run(main())
"""

# The app as `fabriqueterm` opens it (run_app): the store is opened by the app after its first frame.
# "ready" = first frame displayed (as for the bare app); "figures" = the dashboard shows its table.
_APP_START = """
import asyncio, sys, time
from datetime import date
from pathlib import Path
from fabriqueterm.config import Config
from fabriqueterm.domain.dates import Clock
from fabriqueterm.tui.app import FabriqueApp

class Timed(FabriqueApp):
    def on_ready(self):
        print("ready", flush=True)
        super().on_ready()

async def main():
    clock = Clock(date(2026, 11, 25))

    def open_store():
        from fabriqueterm.store import Store
        return Store.open(Path(sys.argv[1]), clock=clock)

    app = Timed(open_store, Config(), clock)
    async with app.run_test(size=(120, 40)) as pilot:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not app.screen.query_one("#sites-indicators").row_count:
            await asyncio.sleep(0.005)
        print("figures", flush=True)
    app.close_store()

asyncio.run(main())
"""

_APP = """
import asyncio, statistics, sys, time
from datetime import date
from pathlib import Path
from fabriqueterm.config import Config
from fabriqueterm.domain.dates import Clock
from fabriqueterm.store import Store
from fabriqueterm.tui.app import FabriqueApp
from fabriqueterm.tui.screens import lists
from fabriqueterm.tui.widgets.virtual_table import VirtualTable

from textual.worker import WorkerState

async def settle(app, pilot):
    # wait until no worker runs (bounded), then let the screen repaint
    deadline = time.perf_counter() + 60
    while time.perf_counter() < deadline and any(
        w.state in (WorkerState.PENDING, WorkerState.RUNNING) for w in app.workers
    ):
        await asyncio.sleep(0.005)
    await pilot.pause()

# The list is updated when the table renders after the filter's rows were delivered to it.
shown = []
delivered = [False]
original_show = lists.ListScreen.show_page
def show_page(self, page, **context):
    original_show(self, page, **context)
    delivered[0] = True
lists.ListScreen.show_page = show_page
original_render = VirtualTable.render_lines
def render_lines(self, crop):
    lines = original_render(self, crop)
    if delivered[0]:
        delivered[0] = False
        shown.append(time.perf_counter())
    return lines
VirtualTable.render_lines = render_lines
# The debounce each keystroke got (none unless the previous query still ran).
debounces = []
original_reload = lists.ListScreen.reload
def reload(self, *, debounce=0.0, **options):
    debounces.append(debounce)
    original_reload(self, debounce=debounce, **options)
lists.ListScreen.reload = reload

async def main():
    clock = Clock(date(2026, 11, 25))
    store = Store.open(Path(sys.argv[1]), clock=clock)
    app = FabriqueApp(store, Config(), clock)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        print("ready", flush=True)
        await pilot.press("4")
        await pilot.pause()
        await settle(app, pilot)
        await pilot.press("slash")
        latencies = []
        del debounces[:]
        for key in sys.argv[2]:  # "\\b" is a backspace
            before = len(shown)
            start = time.perf_counter()
            await pilot.press("backspace" if key == "\\b" else key)
            deadline = start + 5
            while len(shown) == before and time.perf_counter() < deadline:
                await asyncio.sleep(0.002)
            latencies.append(shown[-1] - start if len(shown) > before else float("nan"))
        await pilot.press("2")
        await settle(app, pilot)
        print("latency", statistics.median(latencies), flush=True)
        print("debounce", statistics.median(debounces), flush=True)
        # VmHWM, not ru_maxrss: after fork+exec ru_maxrss still holds the parent's peak.
        hwm = next(l for l in open("/proc/self/status") if l.startswith("VmHWM:"))
        print("maxrss_kb", int(hwm.split()[1]), flush=True)
    store.close()

asyncio.run(main())
"""


def _until_ready(script: str, *args: str) -> tuple[float, list[str]]:
    """Seconds from process start to its "ready" line, and every line it printed."""
    start = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-c", script, *args], stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    ready_at, lines = None, []
    for line in process.stdout:
        lines.append(line.strip())
        if line.strip() == "ready" and ready_at is None:
            ready_at = time.perf_counter() - start
    if process.wait(timeout=300) != 0 or ready_at is None:
        raise RuntimeError(f"benchmark process failed: {lines}")
    return ready_at, lines


def _times_of_lines(script: str, *args: str) -> dict[str, float]:
    """Seconds from process start to the first line starting with each word the script printed."""
    start = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-c", script, *args], stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    times: dict[str, float] = {}
    for line in process.stdout:
        times.setdefault(line.split(" ")[0].strip(), time.perf_counter() - start)
    if process.wait(timeout=300) != 0 or "ready" not in times:
        raise RuntimeError(f"benchmark process failed: {sorted(times)}")
    return times


def rows(workdir: Path, *, learners: int, seed: int) -> list[Row]:
    database = workdir / "tui.sqlite3"
    if not database.exists():
        with Store.open(database, clock=Clock(TODAY)) as store:
            demo.write(store, demo.generate(learners=learners, seed=seed, today=TODAY))
    bare = statistics.median(_times_of_lines(_BARE)["ready"] for _ in range(5))
    starts = [_times_of_lines(_APP_START, str(database)) for _ in range(5)]
    ready = statistics.median(times["ready"] for times in starts)
    figures = statistics.median(times["figures"] for times in starts)
    runs = [_until_ready(_APP, str(database), typed) for typed in TYPED]
    measured = []
    for _ready, lines in runs:
        values = {}
        for line in lines:
            key, _, value = line.partition(" ")
            if value:
                values[key] = float(value)
        measured.append(values)
    values = measured[0]
    latency = values["latency"]
    debounce = values["debounce"]
    burst_debounce = __import__(
        "fabriqueterm.tui.screens.lists", fromlist=["FILTER_DEBOUNCE"]
    ).FILTER_DEBOUNCE
    label = f"{learners:,} learners"
    return [
        Row("tui", "bare Textual app: process start to first screen (baseline)", bare),
        Row(
            "tui",
            f"process start to first screen displayed ({label})",
            ready,
            baseline="bare app",
            ratio=ready / bare,
            target="≤ 1.5x",
        ),
        Row(
            "tui",
            f"  to the dashboard's figures shown ({label})",
            figures,
            baseline="bare app",
            ratio=figures / bare,
        ),
        Row(
            "tui",
            f"learners filter: keystroke to updated list, median ({label})",
            latency,
            target="< 50 ms",
        ),
        Row(
            "tui",
            f"  of which debounce, median ({burst_debounce * 1000:.0f} ms only while the previous query runs)",
            debounce,
        ),
        Row("tui", "  query and redraw after the debounce", latency - debounce, target="< 50 ms"),
        *(
            Row(
                "tui",
                f"  typing {typed!r} instead: keystroke to updated list, median",
                found["latency"],
                target="< 50 ms",
            )
            for typed, found in zip(TYPED[1:], measured[1:], strict=True)
        ),
        Row(
            "tui",
            f"peak memory, dashboard + learners + queue ({label})",
            0.0,
            value=f"{values['maxrss_kb'] / 1024:,.0f} MB",
            target="< 200 MB",
        ),
    ]
