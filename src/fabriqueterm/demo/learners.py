"""The demo's learners: the network's public (gender, age, qualification, situation), contact
details, and a status that follows their cohort's (candidates, enrolled, dropped out, completers)."""

from __future__ import annotations

from datetime import date, timedelta

from fabriqueterm.demo.base import BaseGenerator, Weighted

# Shares of the network's public (docs/domain.md: the network exists for level 4 or below).
_WOMEN, _NON_BINARY = 0.40, 0.02
_QPV, _JOB_SEEKERS, _REFUGEES = 0.30, 0.70, 0.05
_QUALIFICATIONS = Weighted(
    ("none", "3", "4", "5", "6", "7", "8"), (16, 20, 24, 20, 12, 7, 1)
)  # ≤ 4: 60 %
_FINISHED_DROPOUT = 0.12
_GRADUATED_SHARE = 0.60  # of completers; the others are certified
_WITH_PRESCRIBER = 0.85


class Learners(BaseGenerator):
    def make_learners(self) -> None:
        rng, today = self.rng, self.today
        random_ = rng.random
        for cohort in self.cohorts:
            c = cohort.row
            start, end, status = c["start_date"], c["end_date"], c["status"]
            site = cohort.site
            created_high = min(today, start - timedelta(days=1))
            created_low = min(cohort.created.date() + timedelta(days=1), created_high)
            for _index in range(cohort.size):
                r = random_()
                gender = "F" if r < _WOMEN else "X" if r < _WOMEN + _NON_BINARY else "M"
                first, last = self.person_name(gender)
                age = int(rng.triangular(18, 58, 22))
                birth_year = min(2008, max(1966, start.year - age))
                learner_status, dropout_date, dropout_reason = self.learner_status(
                    status, start, end
                )
                created = self.stamp(self.day_between(created_low, created_high))
                if learner_status == "dropped_out":
                    updated_day = dropout_date
                elif learner_status in ("graduated", "certified"):
                    updated_day = end
                elif learner_status == "enrolled" and status == "running":
                    updated_day = start
                else:
                    updated_day = None
                updated = self.stamp(updated_day) if updated_day is not None else None
                self.synced(
                    "learner",
                    created,
                    updated,
                    site_id=site.row["id"],
                    cohort_id=c["id"],
                    first_name=first,
                    last_name=last,
                    email=self.learner_email(first, last) if random_() < 0.95 else None,
                    phone=self.mobile() if random_() < 0.98 else None,
                    birth_year=birth_year,
                    gender=gender,
                    qpv=random_() < _QPV,
                    qualification=_QUALIFICATIONS.pick(rng),
                    job_seeker=random_() < _JOB_SEEKERS,
                    refugee=random_() < _REFUGEES,
                    prescriber_id=(
                        rng.choice(site.prescribers)
                        if site.prescribers and random_() < _WITH_PRESCRIBER
                        else None
                    ),
                    status=learner_status,
                    dropout_date=dropout_date,
                    dropout_reason=dropout_reason,
                )

    def learner_status(
        self, cohort_status: str, start: date, end: date
    ) -> tuple[str, date | None, str]:
        rng, today = self.rng, self.today
        if cohort_status == "planned":
            soon = (start - today).days <= 30
            enrolled = rng.random() < (0.8 if soon else 0.25)
            return ("enrolled" if enrolled else "candidate"), None, ""
        if cohort_status == "running":
            elapsed = (today - start).days / max(1, (end - start).days)
            if rng.random() < 0.14 * elapsed and today >= start + timedelta(days=3):
                day = self.day_between(start + timedelta(days=3), today)
                return "dropped_out", day, rng.choice(self.words.dropout_reasons)
            return "enrolled", None, ""
        if rng.random() < _FINISHED_DROPOUT:
            low, high = start + timedelta(days=3), end - timedelta(days=1)
            day = low + timedelta(days=int(rng.triangular(0, max(0, (high - low).days), 0)))
            return "dropped_out", day, rng.choice(self.words.dropout_reasons)
        return ("graduated" if rng.random() < _GRADUATED_SHARE else "certified"), None, ""

    def leave_one_cohort_to_close(self) -> None:
        """The coordinator has not closed the last cohort that ended before the one of last week:
        still "running", its completers still enrolled (the dashboard's "cohorts to close").
        Made after the draws, so every cohort and learner is what it would be without it."""
        ended = sorted(
            (c.row for c in self.cohorts if c.row["status"] == "finished"),
            key=lambda row: (row["end_date"], row["id"]),
        )
        if len(ended) < 2:
            return
        cohort = ended[-2]  # the last one ended last week: its calls are due now
        cohort["status"] = "running"  # timestamps kept: they order nothing (audit only)
        for learner in self.rows["learner"]:
            if learner["cohort_id"] == cohort["id"] and learner["status"] in (
                "graduated",
                "certified",
            ):
                learner["status"] = "enrolled"
