"""Read models: the lines of the app's lists and the learner detail, each read in one snapshot by a
repository (plain values, usable after the session)."""

from __future__ import annotations

from dataclasses import dataclass

from fabriqueterm.domain.models import Cohort, FollowUp, Learner, Placement, Site


@dataclass(frozen=True)
class DueFollowUp:
    """A line of the follow-up queue ("À appeler")."""

    follow_up: FollowUp
    learner: Learner
    site_name: str
    cohort_name: str


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
