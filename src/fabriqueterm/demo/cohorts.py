"""The demo's cohorts: sizes of 12 to 24 learners, dates over the last three years and the next
six months (one just ended, so the queue has calls due now), names, funders and status."""

from __future__ import annotations

from datetime import date, timedelta

from fabriqueterm.demo.base import BaseGenerator, GeneratedCohort, Weighted
from fabriqueterm.domain.dates import add_months
from fabriqueterm.domain.enums import CohortStatus

_MONTHS_FR = (
    "janvier", "février", "mars", "avril", "mai", "juin",
    "juillet", "août", "septembre", "octobre", "novembre", "décembre",
)  # fmt: skip
_DURATIONS = Weighted((3, 4, 5, 6, 7, 8, 9, 10, 12), (10, 14, 10, 20, 10, 10, 12, 5, 9))  # months


def _monday_on_or_before(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _friday_on_or_before(day: date) -> date:
    return day - timedelta(days=(day.weekday() - 4) % 7)


class Cohorts(BaseGenerator):
    def cohort_sizes(self, learners: int) -> list[int]:
        """Sizes of 12 to 24 that add up to ``learners`` (one smaller cohort below 12 learners)."""
        if learners < 12:
            return [learners]
        sizes: list[int] = []
        left = learners
        while left >= 12:
            size = self.rng.randint(12, 24)
            if left - size < 12:  # never leave fewer than 12 for the last cohort
                size = left if left <= 24 else left - 12
            sizes.append(size)
            left -= size
        return sizes

    def make_cohorts(self, learners: int) -> None:
        rng, today = self.rng, self.today
        sizes = self.cohort_sizes(learners)
        weights = [rng.uniform(0.6, 1.4) for _ in self.sites]
        span = (self.window_end - self.window_start).days
        plans = []
        for index, size in enumerate(sizes):
            site = rng.choices(self.sites, weights=weights)[0]
            months = _DURATIONS.pick(rng)
            if index == 0 and size >= 12:
                # One cohort ended in the last week, so "À appeler" has follow-ups due now.
                end = _friday_on_or_before(today - timedelta(days=1))
                start = _monday_on_or_before(add_months(end + timedelta(days=1), -months))
            else:
                start = self.window_start + timedelta(days=rng.randrange(span + 1))
                if size < 12:  # a cohort still recruiting
                    start = today + timedelta(days=rng.randint(30, 150))
                start = _monday_on_or_before(start)
                end = _friday_on_or_before(add_months(start, months) - timedelta(days=1))
            plans.append((start, site.row["name"], index, site, size, end))
        plans.sort(key=lambda plan: plan[:3])
        names: set[tuple[str, str]] = set()
        for start, _name, _index, site, size, end in plans:
            status = (
                CohortStatus.PLANNED
                if start > today
                else CohortStatus.RUNNING
                if end >= today
                else CohortStatus.FINISHED
            ).value
            programme = rng.choice(site.programmes)
            name = f"{programme} — {site.city} — {_MONTHS_FR[start.month - 1]} {start.year}"
            suffix = 2
            while (site.row["id"], name) in names:
                name = f"{programme} — {site.city} — {_MONTHS_FR[start.month - 1]} {start.year} ({suffix})"
                suffix += 1
            names.add((site.row["id"], name))
            funders = []
            if site.regional_funders and rng.random() < 0.6:
                funders.append(rng.choice(site.regional_funders))
            if not funders or rng.random() < 0.5:
                funders.append(
                    rng.choice([f for f in site.funders if f not in funders] or site.funders)
                )
            created_day = start - timedelta(days=rng.randint(30, 90))
            if created_day > today:
                created_day = today - timedelta(days=rng.randint(0, 30))
            created = self.stamp(created_day)
            updated_day = {"planned": created_day, "running": start}.get(status, end)
            capacity = max(size, rng.choice((12, 14, 15, 16, 18, 20, 24)))
            row = self.synced(
                "cohort",
                created,
                self.stamp(updated_day) if updated_day != created_day else None,
                site_id=site.row["id"],
                name=name,
                programme=programme,
                start_date=start,
                end_date=end,
                capacity=capacity,
                funders="; ".join(funders),
                status=status,
            )
            self.cohorts.append(GeneratedCohort(row=row, site=site, size=size, created=created))
