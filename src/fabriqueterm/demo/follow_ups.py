"""The demo's follow-ups: the generated end/+3/+6 milestones of every completer, most of the past
ones done (a call, an outcome, sometimes a note), and a queue that always has work in it."""

from __future__ import annotations

from datetime import timedelta

from fabriqueterm.demo.base import BaseGenerator, Row, Weighted
from fabriqueterm.domain.enums import GENERATED_MILESTONES, Channel, Outcome
from fabriqueterm.domain.followups import due_date
from fabriqueterm.domain.ids import follow_up_id

_CHANNELS = Weighted(
    (Channel.PHONE.value, Channel.SMS.value, Channel.EMAIL.value, Channel.VISIT.value),
    (75, 12, 10, 3),
)
_DONE_DELAYS = Weighted(
    (0, 1, 2, 3, 4, 5, 7, 10, 14), (10, 22, 20, 15, 10, 9, 7, 5, 2)
)  # days after due


class FollowUps(BaseGenerator):
    def make_follow_ups(self) -> dict[str, list[Row]]:
        """The generated end/+3/+6 follow-ups of every completer; returns them by learner id."""
        rng, today = self.rng, self.today
        random_ = rng.random
        week_ago = today - timedelta(days=7)
        due_dates = {
            c.row["id"]: [
                (milestone.value, due_date(c.row["end_date"], milestone))
                for milestone in GENERATED_MILESTONES
            ]
            for c in self.cohorts
        }
        by_learner: dict[str, list[Row]] = {}
        for learner in self.rows["learner"]:
            if learner["status"] not in ("graduated", "certified"):
                continue
            hard_to_reach = random_() < 0.15
            rows = []
            for milestone, due in due_dates[learner["cohort_id"]]:
                done = None
                if due <= today:
                    delay = _DONE_DELAYS.pick(rng)
                    if due >= week_ago:  # due this week: some already called
                        left = random_() >= 0.35 or due + timedelta(days=delay) > today
                    else:  # the coordinator is a little behind on the last month only
                        left = random_() < (0.15 if (today - due).days <= 30 else 0.002)
                    if not left:
                        done = min(due + timedelta(days=delay), today)
                channel = outcome = None
                notes = ""
                if done is not None:
                    channel = _CHANNELS.pick(rng)
                    outcome = self.outcome(hard_to_reach, channel)
                    notes = self.note(outcome)
                row = self.synced(
                    "follow_up",
                    learner["updated_at"],
                    self.stamp(done) if done is not None else None,
                    id=follow_up_id(learner["id"], milestone),
                    site_id=learner["site_id"],
                    learner_id=learner["id"],
                    milestone=milestone,
                    due_date=due,
                    done_date=done,
                    channel=channel,
                    outcome=outcome,
                    notes=notes,
                )
                rows.append(row)
            by_learner[learner["id"]] = rows
        self.keep_queue_busy()
        return by_learner

    def outcome(self, hard_to_reach: bool, channel: str) -> str:
        r = self.rng.random()
        if hard_to_reach:
            if r < 0.2:
                return Outcome.REACHED.value
            if r < 0.8 or channel not in ("phone", "sms"):
                return Outcome.NO_ANSWER.value
            return Outcome.WRONG_NUMBER.value
        if r < 0.88:
            return Outcome.REACHED.value
        if r < 0.97:
            return Outcome.NO_ANSWER.value
        return Outcome.DECLINED.value

    def note(self, outcome: str) -> str:
        rng = self.rng
        if outcome == "reached":
            return rng.choice(self.notes_reached) if rng.random() < 0.6 else ""
        if outcome == "no_answer":
            return rng.choice(self.notes_no_answer) if rng.random() < 0.5 else ""
        if outcome == "wrong_number":
            return rng.choice(self.notes_wrong) if rng.random() < 0.7 else ""
        return ""

    def keep_queue_busy(self) -> None:
        """Make sure the queue shows at least one overdue follow-up and one due this week."""
        week_ago = self.today - timedelta(days=7)
        rows = self.rows["follow_up"]
        for wanted in (lambda due: due < week_ago, lambda due: week_ago <= due <= self.today):
            if any(r["done_date"] is None and wanted(r["due_date"]) for r in rows):
                continue
            done = [r for r in rows if r["done_date"] is not None and wanted(r["due_date"])]
            if done:
                latest = max(done, key=lambda r: (r["due_date"], r["id"]))
                latest.update(
                    done_date=None,
                    channel=None,
                    outcome=None,
                    notes="",
                    updated_at=latest["created_at"],
                )
