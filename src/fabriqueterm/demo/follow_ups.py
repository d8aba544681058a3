"""The demo's follow-ups: the generated end/+3/+6 milestones of every completer, most of the past
ones closed after one or more call attempts (reached, declined, or unreachable after several
unanswered ones), some waiting for their call-back date, and a queue that always has work in it:
overdue calls, calls due this week and call-backs ("à rappeler")."""

from __future__ import annotations

from datetime import date, timedelta

from fabriqueterm.demo.base import BaseGenerator, Row, Weighted
from fabriqueterm.domain.enums import GENERATED_MILESTONES, Channel, Outcome, Situation
from fabriqueterm.domain.followups import default_callback, due_date, unreachable_allowed
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
        self.reached_attempts = {}
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
                    None,
                    id=follow_up_id(learner["id"], milestone),
                    site_id=learner["site_id"],
                    learner_id=learner["id"],
                    milestone=milestone,
                    due_date=due,
                    done_date=None,
                    channel=None,
                    outcome=None,
                    notes="",
                )
                if done is not None and outcome is not None and channel is not None:
                    self.attempts(row, due, done, outcome, channel, notes)
                elif due <= today and random_() < 0.25:
                    # Tried once already, no answer: back on its call-back date, or waiting.
                    tried = min(today, due + timedelta(days=_DONE_DELAYS.pick(rng)))
                    self.attempt(row, tried, Outcome.NO_ANSWER.value, Channel.PHONE.value, "")
                rows.append(row)
            by_learner[learner["id"]] = rows
        self.keep_queue_busy()
        return by_learner

    def attempt(self, follow_up: Row, day: date, outcome: str, channel: str, notes: str) -> Row:
        """One attempt on ``day``; an unanswered one with its call-back date (default rule)."""
        calls_back = Outcome(outcome).calls_back
        return self.synced(
            "follow_up_attempt",
            self.stamp(day),
            None,
            site_id=follow_up["site_id"],
            learner_id=follow_up["learner_id"],
            follow_up_id=follow_up["id"],
            attempted_on=day,
            channel=channel,
            outcome=outcome,
            callback_date=default_callback(day) if calls_back else None,
            situation=Situation.STILL_LOOKING.value if outcome == "reached" else "",
            notes=notes,
            made_by="",
        )

    def attempts(
        self, follow_up: Row, due: date, last: date, outcome: str, channel: str, notes: str
    ) -> None:
        """The attempts that ended on ``last`` with ``outcome``, and the follow-up's closing:
        unanswered calls before a reached or declined one (fewer for the easy to reach), or a
        string of unanswered ones that closes as unreachable once the rule allows it."""
        rng = self.rng
        if outcome in ("no_answer", "wrong_number"):
            self.unanswered_attempts(follow_up, due, last, outcome, channel, notes)
            return
        days: list[date] = []
        day = last
        for _ in range(Weighted((0, 1, 2), (55, 30, 15)).pick(rng)):
            day = day - timedelta(days=rng.randint(2, 4))
            if day < due:
                break
            days.append(day)
        for earlier in reversed(days):
            kind = Outcome.MESSAGE_LEFT.value if rng.random() < 0.3 else Outcome.NO_ANSWER.value
            self.attempt(follow_up, earlier, kind, Channel.PHONE.value, "")
        final = self.attempt(follow_up, last, outcome, channel, notes)
        follow_up.update(done_date=last, channel=channel, outcome=outcome)
        follow_up["updated_at"] = max(follow_up["updated_at"], final["created_at"])
        if outcome == "reached":
            self.reached_attempts[follow_up["id"]] = final

    def unanswered_attempts(
        self, follow_up: Row, due: date, first: date, outcome: str, channel: str, notes: str
    ) -> None:
        """Calls that went unanswered from ``first`` on, each on the call-back date of the one
        before (a few days late at times): a follow-up still being tried, or, once the rule
        allows it and the coordinator decides to, closed as unreachable."""
        rng, today = self.rng, self.today
        day, tried = first, []
        old = (today - first).days > 45  # long enough ago: the coordinator has settled it
        for number in range(6 if old else rng.choice((3, 4, 4, 5))):
            if day > today or (old and unreachable_allowed([(d, k) for d, k, _ in tried])):
                break
            last_one = not old and number > 0 and rng.random() < 0.2
            kind = (
                outcome if number == 0 else rng.choice(("no_answer", "no_answer", "message_left"))
            )
            made = self.attempt(follow_up, day, kind, channel if number == 0 else "phone", notes)
            tried.append((day, kind, made))
            day = default_callback(day) + timedelta(days=rng.randint(0, 6))
            if last_one:
                break
        if unreachable_allowed([(d, k) for d, k, _ in tried]) and (old or rng.random() < 0.85):
            closed_on, _kind, made = tried[-1]
            follow_up.update(done_date=closed_on, channel=None, outcome="unreachable")
            follow_up["updated_at"] = max(follow_up["updated_at"], made["created_at"])

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
                self.rows["follow_up_attempt"] = [
                    a for a in self.rows["follow_up_attempt"] if a["follow_up_id"] != latest["id"]
                ]
                self.reached_attempts.pop(latest["id"], None)
