"""Helpers shared by the benchmark suites."""

from __future__ import annotations

import statistics
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass
class Row:
    suite: str
    what: str
    seconds: float
    rows: int | None = None
    baseline: str = ""
    ratio: float | None = None
    target: str = ""
    #: Shown instead of the time for rows that measure something else (memory…).
    value: str = ""

    @property
    def rate(self) -> str:
        if not self.rows or self.seconds <= 0:
            return ""
        return f"{self.rows / self.seconds:,.0f}/s"


def timed(function: Callable[[], object], *, repeat: int = 1) -> tuple[float, object]:
    """Median wall time of ``repeat`` runs, and the last result."""
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def print_table(rows: list[Row]) -> None:
    header = ("suite", "measure", "time", "rows", "rate", "baseline", "ratio", "target")
    lines = [
        (
            r.suite,
            r.what,
            r.value or (f"{r.seconds * 1000:,.1f} ms" if r.seconds < 1 else f"{r.seconds:,.2f} s"),
            f"{r.rows:,}" if r.rows else "",
            r.rate,
            r.baseline,
            f"{r.ratio:.2f}x" if r.ratio is not None else "",
            r.target,
        )
        for r in rows
    ]
    widths = [
        max(len(h), *(len(line[i]) for line in lines)) if lines else len(h)
        for i, h in enumerate(header)
    ]
    print(" | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    print("-|-".join("-" * w for w in widths))
    for line in lines:
        print(" | ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)))


@contextmanager
def pg_schema(base: str, prefix: str = "bench") -> Iterator[str]:
    """A fresh schema on ``base``, dropped afterwards; yields a URL whose search_path is it."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    engine = create_engine(base)
    with engine.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{name}"'))
    try:
        url = make_url(base).update_query_dict({"options": f"-csearch_path={name}"})
        yield url.render_as_string(hide_password=False)
    finally:
        with engine.begin() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
        engine.dispose()
