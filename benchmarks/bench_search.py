"""Search rows at 100k learners: what the learners list and the palette ask the store as people type
(names in any order, accents ignored, phone numbers), beside the list's first page unfiltered read
in the same run (the baseline: what the list shows before anything is typed).

Each row is the median of a few runs of one query as the list makes it: count the matches and read
a screen's worth of rows, sorted by name."""

from __future__ import annotations

import statistics
import time
from datetime import date
from pathlib import Path

from common import Row, timed
from fabriqueterm import demo
from fabriqueterm.domain.dates import Clock
from fabriqueterm.store import Store

TODAY = date(2026, 11, 25)
#: Rows a list reads for its first screen (a 40-line terminal).
SCREEN = 40
#: What people type, and what it stands for.
INPUTS = (
    ("zoé mar", "first name and the start of the last"),
    ("martin zoe", "full name, last name first, no accent"),
    ("saidi", "a last name without its diaeresis"),
    ("06 12", "the start of a mobile number"),
    ("+33 6 12 34", "the same written internationally"),
    ("m", "a first keystroke: a fifth of everyone"),
    ("06", "two digits: every other learner"),
)
#: Typing a name then a number, one keystroke at a time: each prefix is a query.
TYPED = ("zoé martin", "06 12 34 56 78")


def _median_ms(store: Store, needle: str, repeat: int = 7) -> tuple[float, int]:
    seconds, page = timed(lambda: store.learners.page(needle, limit=SCREEN), repeat=repeat)
    return seconds, page.total  # type: ignore[union-attr]


def rows(workdir: Path, *, learners: int, seed: int) -> list[Row]:
    database = workdir / "search.sqlite3"
    if not database.exists():
        with Store.open(database, clock=Clock(TODAY)) as store:
            demo.write(store, demo.generate(learners=learners, seed=seed, today=TODAY))
    label = f"{learners:,} learners"
    with Store.open(database, clock=Clock(TODAY)) as store:
        _median_ms(store, "warm")  # the first query of a connection reads the schema
        baseline, _ = _median_ms(store, "")
        result = [
            Row(
                "search",
                f"learners list, first {SCREEN} rows unfiltered, by name ({label}, baseline)",
                baseline,
            )
        ]
        for needle, meaning in INPUTS:
            seconds, total = _median_ms(store, needle)
            result.append(
                Row(
                    "search",
                    f"  {needle!r}: {meaning} ({total:,} found)",
                    seconds,
                    baseline="unfiltered",
                    ratio=seconds / baseline,
                    target="< 50 ms",
                )
            )
        for typed in TYPED:
            times = []
            for end in range(1, len(typed) + 1):
                start = time.perf_counter()
                store.learners.page(typed[:end], limit=SCREEN)
                times.append(time.perf_counter() - start)
            median = statistics.median(times)
            result.append(
                Row(
                    "search",
                    f"  {typed!r} typed key by key: median, slowest {max(times) * 1000:.0f} ms",
                    median,
                    baseline="unfiltered",
                    ratio=median / baseline,
                    target="< 50 ms",
                )
            )
    return result
