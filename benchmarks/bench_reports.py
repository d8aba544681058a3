"""Reports: the weekly summary exported in each format, and a 10,000-row learner CSV import.

python benchmarks/run.py --only reports                  # at 100,000 learners
python benchmarks/run.py --only reports --learners 20000
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from pathlib import Path

from common import Row, timed
from fabriqueterm.domain.dates import Clock
from fabriqueterm.i18n import set_language

TODAY = date(2026, 11, 25)
WEEK = "2026-W48"
IMPORT_ROWS = 10_000
#: Rows created one by one for the import's baseline (a sample: 10,000 would take a minute).
SINGLE_ROWS = 1_000

_FIRST = (
    "Aïcha",
    "Bastien",
    "Chloé",
    "Dylan",
    "Élodie",
    "Farid",
    "Gaëlle",
    "Hugo",
    "Inès",
    "Jules",
)
_LAST = (
    "Benali",
    "Durand",
    "Nguyen",
    "Traoré",
    "Lefèvre",
    "Da Silva",
    "Moreau",
    "Haddad",
    "Petit",
    "Cœur",
)


def _write_import_csv(path: Path, rows: int, seed: int) -> None:
    """A realistic partner file: UTF-8 with BOM, ";", French headers and French ways of writing."""
    rng = random.Random(seed)
    lines = [
        "Prénom;Nom;Courriel;Téléphone;Année de naissance;Genre;QPV;Niveau;Demandeur d'emploi;Réfugié·e;Statut"
    ]
    for i in range(rows):
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        lines.append(
            ";".join(
                [
                    first,
                    last,
                    f"import.{i}@bench.example.org",
                    f"07 80 {i // 10_000 % 100:02d} {i // 100 % 100:02d} {i % 100:02d}",
                    str(rng.randint(1970, 2005)),
                    rng.choice(("Femme", "Homme", "F", "H", "X")),
                    rng.choice(("oui", "non")),
                    rng.choice(("sans diplôme", "CAP", "bac", "bac+2", "4", "3")),
                    rng.choice(("oui", "non")),
                    rng.choice(("non", "non", "oui")),
                    "inscrit·e",
                ]
            )
        )
    path.write_bytes(b"\xef\xbb\xbf" + "\r\n".join(lines).encode("utf-8") + b"\r\n")


def rows(workdir: Path, *, learners: int, seed: int) -> list[Row]:
    from fabriqueterm import demo
    from fabriqueterm.domain.validation import validate
    from fabriqueterm.reports.exporters import FORMATS, render
    from fabriqueterm.reports.importer import apply_import, prepare_import
    from fabriqueterm.reports.summary import weekly_summary
    from fabriqueterm.store.db import Store
    from fabriqueterm.store.reports import ReportRepository

    set_language("fr")
    folder = workdir / "reports"
    folder.mkdir(parents=True, exist_ok=True)
    store = Store.open(folder / "fabriqueterm.sqlite3", clock=Clock(TODAY))
    results: list[Row] = []
    try:
        demo.write(store, demo.generate(learners=learners, seed=seed, today=TODAY))
        sunday = date.fromisocalendar(2026, 48, 7)
        weekly_summary(store, WEEK)  # warm the page cache like a second export would
        seconds, _report = timed(lambda: store.indicators.report(sunday), repeat=3)
        results.append(
            Row(
                "reports",
                "of which store.indicators.report (cumulative indicators)",
                seconds,
                learners,
            )
        )
        activity_seconds, _activity = timed(
            lambda: ReportRepository(store).weekly_activity(sunday - timedelta(days=6), sunday),
            repeat=3,
        )
        results.append(
            Row(
                "reports",
                "of which the week's activity (enrolments, dropouts, placements)",
                activity_seconds,
                learners,
            )
        )
        seconds, summary = timed(lambda: weekly_summary(store, WEEK), repeat=3)
        sites = len(summary.sites)  # type: ignore[attr-defined]
        results.append(
            Row(
                "reports",
                f"weekly summary figures ({sites} sites)",
                seconds,
                learners,
                target="< 1 s",
            )
        )
        for fmt in FORMATS:
            render_seconds, data = timed(lambda fmt=fmt: render(summary, fmt), repeat=3)
            seconds, _data = timed(
                lambda fmt=fmt: render(weekly_summary(store, WEEK), fmt), repeat=3
            )
            results.append(
                Row(
                    "reports",
                    f"export {fmt}: figures + file ({len(data):,} bytes; file alone {render_seconds * 1000:,.0f} ms)",  # type: ignore[arg-type]
                    seconds,
                    learners,
                    target="< 1 s",
                )
            )

        csv_path = folder / "import.csv"
        _write_import_csv(csv_path, IMPORT_ROWS, seed)
        cohort = next(c for c in demo_cohorts(store))
        prepare_seconds, plan = timed(lambda: prepare_import(store, csv_path, cohort))
        values = [row.values for row in plan.rows]  # type: ignore[union-attr]
        # The floor of the check: the domain's validation of the same rows, nothing else.
        validate_seconds, _checked = timed(lambda: [validate("learner", v) for v in values])
        results.append(
            Row(
                "reports",
                "import: read + validate + duplicates (10,000-row CSV)",
                prepare_seconds,
                len(values),
                baseline="validate() alone, same rows",
                ratio=prepare_seconds / validate_seconds,
            )
        )
        apply_seconds, result = timed(lambda: apply_import(store, plan))  # type: ignore[arg-type]
        created = len(result.created_ids)  # type: ignore[union-attr]
        # The baseline: rows like these created one by one through create(), on a sample.
        sample = [
            {**v, "email": f"one.{i}@bench.example.org", "phone": None}
            for i, v in enumerate(values[:SINGLE_ROWS])
        ]
        single_seconds, _created = timed(lambda: [store.learners.create(v) for v in sample])
        per_row = single_seconds / len(sample)
        results.append(
            Row(
                "reports",
                "import: write in bulk (create_many, one transaction)",
                apply_seconds,
                created,
                baseline=f"create() one by one, {1 / per_row:,.0f}/s",
                ratio=apply_seconds / (per_row * created),
            )
        )
        results.append(
            Row("reports", "import 10,000-row CSV, total", prepare_seconds + apply_seconds, created)
        )
    finally:
        store.close()
    return results


def demo_cohorts(store) -> list[str]:  # type: ignore[no-untyped-def]
    """Ids of running cohorts first, then the others."""
    from fabriqueterm.store.reports import ReportRepository

    labels = ReportRepository(store).cohorts()
    return [c.id for c in sorted(labels, key=lambda c: c.status != "running")]
