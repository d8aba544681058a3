"""The demo network of one coordinator, generated whole: the parts (:mod:`.sites`, :mod:`.cohorts`,
:mod:`.learners`, :mod:`.follow_ups`, :mod:`.placements`) drawn in that order from one seeded
random generator, then written into the app's store.

How many sites: a coordinator runs 3 to 5 (3 up to 300 learners, 4 up to 1,000, 5 up to 7,500);
beyond 7,500 learners (benchmarks) there is one site per 1,500 learners, since 100,000 learners
cannot fit in 5 realistic fabriques. The first sites are in one region, the next ones anywhere.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING

from fabriqueterm.demo.base import Row
from fabriqueterm.demo.cohorts import Cohorts
from fabriqueterm.demo.follow_ups import FollowUps
from fabriqueterm.demo.learners import Learners
from fabriqueterm.demo.placements import Placements
from fabriqueterm.demo.sites import SitesAndPartners
from fabriqueterm.demo.words import load_word_lists

if TYPE_CHECKING:
    from fabriqueterm.store.db import Store


def site_count(learners: int) -> int:
    """Number of sites for ``learners`` learners (see the module's docstring)."""
    if learners <= 300:
        return 3
    if learners <= 1_000:
        return 4
    if learners <= 7_500:
        return 5
    return math.ceil(learners / 1_500)


@dataclass(frozen=True)
class DemoData:
    """Generated rows as plain dicts (every column of the table), per entity, parents first
    (the order of :data:`fabriqueterm.domain.models.ENTITIES`)."""

    seed: int
    today: date
    rows: dict[str, list[Row]] = field(repr=False)

    def count(self, entity: str) -> int:
        return len(self.rows.get(entity, ()))

    @property
    def counts(self) -> dict[str, int]:
        return {entity: len(rows) for entity, rows in self.rows.items()}


class Generator(SitesAndPartners, Cohorts, Learners, FollowUps, Placements):
    """Every part of the generator on one shared state (:class:`.base.BaseGenerator`)."""

    def run(self, learners: int) -> dict[str, list[Row]]:
        self.make_sites(site_count(learners))
        self.make_partners()
        self.make_cohorts(learners)
        self.make_learners()
        self.leave_one_cohort_to_close()
        follow_ups = self.make_follow_ups()
        self.make_placements(follow_ups)
        version = 0
        for rows in self.rows.values():  # parents first, like a pull from the commons
            for row in rows:
                version += 1
                row["version"] = version
        return self.rows


def generate(*, learners: int = 600, seed: int = 2026, today: date) -> DemoData:
    """The demo network of one coordinator as of ``today``: sites, partners and their links,
    cohorts, learners, follow-ups and placements. Deterministic: same arguments, same rows."""
    if learners < 1:
        raise ValueError("learners must be at least 1")
    generator = Generator(random.Random(seed), load_word_lists(), today)
    return DemoData(seed=seed, today=today, rows=generator.run(learners))


def write(store: Store, data: DemoData) -> None:
    """Write ``data`` into ``store`` in one transaction, as rows already synced (no outbox), and
    remember the seed and date it was made with."""
    store.bulk_insert(
        data.rows, meta={"demo_seed": str(data.seed), "demo_today": data.today.isoformat()}
    )
