"""Read models: the lines of the app's lists and the learner detail, each read in one snapshot by a
repository (plain values, usable after the session)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from fabriqueterm.domain.models import (
    Cohort,
    FollowUp,
    FollowUpAttempt,
    Learner,
    Placement,
    Site,
)


@dataclass(frozen=True)
class AttemptsSoFar:
    """What the attempts of one follow-up add up to."""

    count: int = 0
    last_outcome: str | None = None
    last_on: date | None = None
    callback_date: date | None = None
    #: The attempts may close it as unreachable (docs/domain.md: enough unanswered ones, spread).
    may_close_unreachable: bool = False
    #: The last attempt found a wrong number and the learner's contact was not changed since.
    contact_doubtful: bool = False


@dataclass(frozen=True)
class DueFollowUp:
    """A line of the follow-up queue ("À appeler")."""

    follow_up: FollowUp
    learner: Learner
    site_name: str
    cohort_name: str
    attempts: AttemptsSoFar = field(default_factory=AttemptsSoFar)
    #: The cohort's end date: the milestone's cut-off for a placement's start date.
    cohort_end: date | None = None

    @property
    def call_back(self) -> bool:
        """Tried before and back on its call-back date ("à rappeler")."""
        return self.attempts.count > 0


@dataclass(frozen=True)
class AttemptLine:
    """One attempt of a learner's follow-up, for the learner's file."""

    attempt: FollowUpAttempt
    milestone: str


@dataclass(frozen=True)
class SiteLine:
    """A line of the sites list."""

    site: Site
    cohorts_running: int
    learners: int


@dataclass(frozen=True)
class CohortLine:
    """A line of the cohorts list."""

    cohort: Cohort
    site_name: str
    learners: int


@dataclass(frozen=True)
class RosterLine:
    """A learner of a cohort with their latest placement and next follow-up not done."""

    learner: Learner
    latest_placement: Placement | None
    next_follow_up: FollowUp | None


@dataclass(frozen=True)
class PlacedLine:
    """A placement at a partner, with who was placed."""

    placement: Placement
    learner: Learner
    cohort_name: str


@dataclass(frozen=True)
class LocalChange:
    """A local edit of a row still in the outbox (not yet answered by the commons)."""

    seq: int
    op: str
    created_at: str
    state: str
    fields: str


@dataclass(frozen=True)
class LearnerProfile:
    """Everything the learner detail screen shows."""

    learner: Learner
    cohort_name: str
    site_name: str
    prescriber_name: str
    placements: list[Placement]
    partner_names: dict[str, str]
    follow_ups: list[FollowUp]
    local_changes: list[LocalChange]
