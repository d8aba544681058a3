"""Enumerations exactly as docs/domain.md names them. Values are what is stored and synced."""

from __future__ import annotations

from enum import StrEnum

from fabriqueterm.i18n import N_, _


class _Labelled(StrEnum):
    """A StrEnum whose members carry a translatable label for the UI."""

    @property
    def label(self) -> str:
        return _(_LABELS[type(self).__name__][self.value])


class CohortStatus(_Labelled):
    PLANNED = "planned"
    RUNNING = "running"
    FINISHED = "finished"


class Gender(_Labelled):
    F = "F"
    M = "M"
    X = "X"


class QualificationLevel(_Labelled):
    NONE = "none"
    L3 = "3"
    L4 = "4"
    L5 = "5"
    L6 = "6"
    L7 = "7"
    L8 = "8"


#: "Niveau 4 ou infra": the public the network exists for.
LEVEL_4_OR_BELOW = (QualificationLevel.NONE, QualificationLevel.L3, QualificationLevel.L4)


class LearnerStatus(_Labelled):
    CANDIDATE = "candidate"
    ENROLLED = "enrolled"
    DROPPED_OUT = "dropped_out"
    GRADUATED = "graduated"
    CERTIFIED = "certified"


#: Counted as enrolled by the indicators (candidates excluded).
ENROLLED_STATUSES = (
    LearnerStatus.ENROLLED,
    LearnerStatus.DROPPED_OUT,
    LearnerStatus.GRADUATED,
    LearnerStatus.CERTIFIED,
)
COMPLETER_STATUSES = (LearnerStatus.GRADUATED, LearnerStatus.CERTIFIED)


class PartnerKind(_Labelled):
    EMPLOYER = "employer"
    FUNDER = "funder"
    PRESCRIBER = "prescriber"
    OPERATOR = "operator"
    TRAINING = "training"


class PlacementKind(_Labelled):
    CDI = "cdi"
    CDD_6M_PLUS = "cdd_6m_plus"
    CDD_SHORT = "cdd_short"
    INTERIM = "interim"
    APPRENTICESHIP = "apprenticeship"
    BUSINESS_CREATION = "business_creation"
    FURTHER_TRAINING = "further_training"
    OTHER = "other"


EMPLOYMENT_KINDS = (
    PlacementKind.CDI,
    PlacementKind.CDD_6M_PLUS,
    PlacementKind.CDD_SHORT,
    PlacementKind.INTERIM,
    PlacementKind.APPRENTICESHIP,
    PlacementKind.BUSINESS_CREATION,
)
DURABLE_EMPLOYMENT_KINDS = (PlacementKind.CDI, PlacementKind.CDD_6M_PLUS)
#: Every kind but ``other``.
POSITIVE_KINDS = (*EMPLOYMENT_KINDS, PlacementKind.FURTHER_TRAINING)


class Milestone(_Labelled):
    END = "end"
    M3 = "m3"
    M6 = "m6"
    M12 = "m12"

    @property
    def months(self) -> int:
        return {"end": 0, "m3": 3, "m6": 6, "m12": 12}[self.value]


#: Follow-ups the app creates itself for each completer.
GENERATED_MILESTONES = (Milestone.END, Milestone.M3, Milestone.M6)


class Channel(_Labelled):
    PHONE = "phone"
    EMAIL = "email"
    SMS = "sms"
    VISIT = "visit"


class Outcome(_Labelled):
    """How one call attempt went (docs/domain.md, "Follow-ups as coordinators work them")."""

    REACHED = "reached"
    NO_ANSWER = "no_answer"
    MESSAGE_LEFT = "message_left"
    WRONG_NUMBER = "wrong_number"
    DECLINED = "declined"

    @property
    def closing(self) -> Closing | None:
        """How the follow-up closes after this attempt; None when it stays open."""
        return {"reached": Closing.REACHED, "declined": Closing.DECLINED}.get(self.value)

    @property
    def unanswered(self) -> bool:
        """Counts towards closing as unreachable: the person was not reached."""
        return self.value in ("no_answer", "message_left", "wrong_number")

    @property
    def calls_back(self) -> bool:
        """Keeps the follow-up open with a call-back date."""
        return self.value in ("no_answer", "message_left", "wrong_number")


class Closing(_Labelled):
    """How a follow-up closed (its ``outcome`` column)."""

    REACHED = "reached"
    DECLINED = "declined"
    UNREACHABLE = "unreachable"


class Situation(_Labelled):
    """What a reached learner said about where they stand."""

    PLACEMENTS = "placements"
    STILL_LOOKING = "still_looking"
    OTHER = "other"


_LABELS: dict[str, dict[str, str]] = {
    "CohortStatus": {
        "planned": N_("planned"),
        "running": N_("running"),
        "finished": N_("finished"),
    },
    "Gender": {"F": N_("woman"), "M": N_("man"), "X": N_("non-binary / not stated")},
    "QualificationLevel": {
        "none": N_("no diploma"),
        "3": N_("level 3 (CAP, BEP)"),
        "4": N_("level 4 (baccalauréat)"),
        "5": N_("level 5 (bac+2)"),
        "6": N_("level 6 (bac+3)"),
        "7": N_("level 7 (master)"),
        "8": N_("level 8 (doctorate)"),
    },
    "LearnerStatus": {
        "candidate": N_("candidate"),
        "enrolled": N_("enrolled"),
        "dropped_out": N_("dropped out"),
        "graduated": N_("graduated"),
        "certified": N_("certified"),
    },
    "PartnerKind": {
        "employer": N_("employer"),
        "funder": N_("funder"),
        "prescriber": N_("prescriber"),
        "operator": N_("operator"),
        "training": N_("training"),
    },
    "PlacementKind": {
        "cdi": N_("permanent contract (CDI)"),
        "cdd_6m_plus": N_("fixed-term contract of 6 months or more"),
        "cdd_short": N_("fixed-term contract under 6 months"),
        "interim": N_("temporary work"),
        "apprenticeship": N_("work-study (apprenticeship)"),
        "business_creation": N_("business creation"),
        "further_training": N_("qualifying training"),
        "other": N_("other"),
    },
    "Milestone": {
        "end": N_("end of training"),
        "m3": N_("+3 months"),
        "m6": N_("+6 months"),
        "m12": N_("+12 months"),
    },
    "Channel": {"phone": N_("phone"), "email": N_("email"), "sms": N_("SMS"), "visit": N_("visit")},
    "Outcome": {
        "reached": N_("reached"),
        "no_answer": N_("no answer"),
        "message_left": N_("message left"),
        "wrong_number": N_("wrong number"),
        "declined": N_("declined"),
    },
    "Closing": {
        "reached": N_("reached"),
        "declined": N_("declined"),
        "unreachable": N_("unreachable"),
    },
    "Situation": {
        "placements": N_("found something (placements)"),
        "still_looking": N_("still looking"),
        "other": N_("other (health, moved, no news wanted)"),
    },
}
