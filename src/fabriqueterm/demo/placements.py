"""The demo's placements: what completers did after the training (positive exit at +6 months
lands around 70 %), as the coordinator learned it, and the few who left early for a job or another
training."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from fabriqueterm.demo.base import BaseGenerator, GeneratedSite, Row, Weighted
from fabriqueterm.domain.enums import PlacementKind

# What completers do after the training (positive exit at +6 months lands around 70 %).
_EXITS = Weighted(("employment", "further_training", "other", "none"), (64, 17, 5, 14))
_EMPLOYMENT = Weighted(
    ("cdi", "cdd_6m_plus", "cdd_short", "interim", "apprenticeship", "business_creation"),
    (24, 19, 16, 12, 23, 6),
)
_SECOND_JOBS = Weighted(("cdi", "cdd_6m_plus", "cdd_short", "interim"), (40, 30, 15, 15))


class Placements(BaseGenerator):
    def make_placements(self, follow_ups: dict[str, list[Row]]) -> None:
        rng = self.rng
        random_ = rng.random
        cohort_by_id = {c.row["id"]: c for c in self.cohorts}
        for learner in self.rows["learner"]:
            status = learner["status"]
            cohort = cohort_by_id[learner["cohort_id"]]
            site = cohort.site
            c = cohort.row
            if status == "dropped_out":
                self.dropout_placement(learner, site, c)
                continue
            if status not in ("graduated", "certified"):
                continue
            exit_kind = _EXITS.pick(rng)
            if exit_kind == "none":
                continue
            kind = _EMPLOYMENT.pick(rng) if exit_kind == "employment" else exit_kind
            start = max(
                c["start_date"], c["end_date"] + timedelta(days=int(rng.triangular(-30, 240, 45)))
            )
            reached = [f for f in follow_ups.get(learner["id"], ()) if f["outcome"] == "reached"]
            first = self.placement(learner, site, kind, start, reached, known_otherwise=0.5)
            if (
                first is None
                or kind not in ("cdd_short", "interim", "apprenticeship")
                or random_() >= 0.35
            ):
                continue
            second_start = start + timedelta(days=rng.randint(60, 240))
            second_kind = _SECOND_JOBS.pick(rng)
            self.placement(learner, site, second_kind, second_start, reached, known_otherwise=0.6)

    def placement(
        self,
        learner: Row,
        site: GeneratedSite,
        kind: str,
        start: date,
        reached: list[Row],
        *,
        known_otherwise: float,
    ) -> Row | None:
        """A placement as the coordinator learned it: at the first reached follow-up done on or
        after its start, or otherwise (an email, the employer) with some chance; None if unknown."""
        rng = self.rng
        if start > self.today:
            return None
        source = next((f for f in reached if f["done_date"] >= start), None)
        if source is None and rng.random() >= known_otherwise:
            return None
        if source is not None:
            created = source["updated_at"]
            call = self.reached_attempts.get(source["id"])
            if call is not None:
                call["situation"] = "placements"
                fitting = self.notes_placement.get(kind)
                if fitting:  # what was said on that call, or nothing written
                    call["notes"] = rng.choice(fitting) if rng.random() < 0.7 else ""
        else:
            created = self.stamp(min(self.today, start + timedelta(days=rng.randint(0, 20))))
        return self.add_placement(
            learner, site, kind, start, created, source["id"] if source else None
        )

    def add_placement(
        self,
        learner: Row,
        site: GeneratedSite,
        kind: str,
        start: date,
        created: datetime,
        source_id: str | None,
    ) -> Row:
        rng = self.rng
        partner_id = None
        job_title = ""
        if kind == PlacementKind.FURTHER_TRAINING.value:
            if site.training and rng.random() < 0.95:
                partner_id = rng.choice(site.training)
        elif kind != PlacementKind.OTHER.value:
            if (
                kind != PlacementKind.BUSINESS_CREATION.value
                and site.employers
                and rng.random() < 0.9
            ):
                partner_id = rng.choice(site.employers)
            job_title = rng.choice(self.job_titles[learner["gender"]])
        return self.synced(
            "placement",
            created,
            site_id=learner["site_id"],
            learner_id=learner["id"],
            kind=kind,
            partner_id=partner_id,
            job_title=job_title,
            start_date=start,
            source_followup_id=source_id,
            notes="",
        )

    def dropout_placement(self, learner: Row, site: GeneratedSite, cohort: Row) -> None:
        """A few learners leave for a job or another training, and the coordinator knows it."""
        rng = self.rng
        reason = learner["dropout_reason"].lower()
        if "emploi" in reason:
            chance, kinds = 0.7, ("cdi", "cdd_6m_plus", "cdd_short", "interim")
        elif "autre formation" in reason:
            chance, kinds = 0.7, ("further_training",)
        else:
            chance, kinds = 0.02, ("cdd_short", "interim", "other")
        if rng.random() >= chance:
            return
        start = min(self.today, learner["dropout_date"] + timedelta(days=rng.randint(0, 14)))
        start = max(start, cohort["start_date"])
        created = self.stamp(min(self.today, start + timedelta(days=rng.randint(0, 10))))
        self.add_placement(learner, site, rng.choice(kinds), start, created, None)
