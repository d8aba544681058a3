"""Repositories: the only way the app reads and writes its data, one module per entity.

:mod:`.base` holds what they share (:class:`Repository`, :class:`Page`, the errors), and
:mod:`.read_models` the lines of the app's lists. Everything is importable from here.
"""

from __future__ import annotations

from fabriqueterm.store.repositories.base import (
    DeleteRefused,
    NotFound,
    Page,
    Repository,
    row_values,
)
from fabriqueterm.store.repositories.cohorts import CohortRepository
from fabriqueterm.store.repositories.follow_ups import CallLogValidationError, FollowUpRepository
from fabriqueterm.store.repositories.learners import LearnerRepository
from fabriqueterm.store.repositories.partners import PartnerRepository
from fabriqueterm.store.repositories.placements import PlacementRepository
from fabriqueterm.store.repositories.read_models import (
    CohortLine,
    DueFollowUp,
    LearnerProfile,
    LocalChange,
    PlacedLine,
    RosterLine,
    SiteLine,
)
from fabriqueterm.store.repositories.sites import SiteRepository

__all__ = [
    "CallLogValidationError",
    "CohortLine",
    "CohortRepository",
    "DeleteRefused",
    "DueFollowUp",
    "FollowUpRepository",
    "LearnerProfile",
    "LearnerRepository",
    "LocalChange",
    "NotFound",
    "Page",
    "PartnerRepository",
    "PlacedLine",
    "PlacementRepository",
    "Repository",
    "RosterLine",
    "SiteLine",
    "SiteRepository",
    "row_values",
]
