"""A learner's personal data: everything the local database holds about one person, as readable
JSON (right of access), and erasing it (right to be forgotten) through the learner repository."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from fabriqueterm.domain.enums import (
    Channel,
    Closing,
    Gender,
    LearnerStatus,
    Milestone,
    Outcome,
    PlacementKind,
    QualificationLevel,
    Situation,
)
from fabriqueterm.domain.models import LEARNER_PERSONAL_FIELDS
from fabriqueterm.i18n import _
from fabriqueterm.store.reports import LearnerRecord, ReportRepository

if TYPE_CHECKING:
    from fabriqueterm.store.db import Store


class LearnerNotFound(LookupError):
    """No learner row with that id in the local database."""


def _value(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _label(enum: type, value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return enum(value).label
    except ValueError:
        return value


def _sync_state(row: Any) -> dict[str, Any]:
    return {
        "created_at": _value(row.created_at),
        "updated_at": _value(row.updated_at),
        "deleted_at": _value(row.deleted_at),
        "server_version": row.version,
    }


def learner_record(store: Store, learner_id: str) -> LearnerRecord:
    """Everything held about ``learner_id`` (even erased or deleted); :class:`LearnerNotFound`."""
    record = ReportRepository(store).learner_record(learner_id.strip())
    if record is None:
        raise LearnerNotFound(learner_id)
    return record


def personal_data(store: Store, learner_id: str) -> dict[str, Any]:
    """What the local database holds about one learner, as a JSON-ready dict: profile, cohort and
    site, placements, follow-ups, the history of changes to their record, and the changes waiting
    in the outbox that concern them."""
    record = learner_record(store, learner_id)
    learner = record.learner
    profile = {
        "id": learner.id,
        "first_name": learner.first_name,
        "last_name": learner.last_name,
        "email": learner.email,
        "phone": learner.phone,
        "birth_year": learner.birth_year,
        "gender": learner.gender,
        "gender_label": _label(Gender, learner.gender),
        "lives_in_qpv": learner.qpv,
        "qualification": learner.qualification,
        "qualification_label": _label(QualificationLevel, learner.qualification),
        "registered_job_seeker": learner.job_seeker,
        "refugee": learner.refugee,
        "status": learner.status,
        "status_label": _label(LearnerStatus, learner.status),
        "dropout_date": _value(learner.dropout_date),
        "dropout_reason": learner.dropout_reason,
        "prescriber": None
        if record.prescriber is None
        else {"id": record.prescriber.id, "name": record.prescriber.name},
        **_sync_state(learner),
        "erased": learner.deleted_at is not None
        and all(getattr(learner, f) in (None, "") for f in LEARNER_PERSONAL_FIELDS),
    }
    cohort = record.cohort
    site = record.site
    return {
        "about": _(
            "Everything the fabriqueterm database on this computer holds about one learner."
        ),
        "generated_at": _value(store.clock.now()),
        "learner": profile,
        "cohort": None
        if cohort is None
        else {
            "id": cohort.id,
            "name": cohort.name,
            "programme": cohort.programme,
            "start_date": _value(cohort.start_date),
            "end_date": _value(cohort.end_date),
            "status": cohort.status,
        },
        "site": None if site is None else {"id": site.id, "name": site.name, "city": site.city},
        "placements": [
            {
                "id": item.placement.id,
                "kind": item.placement.kind,
                "kind_label": _label(PlacementKind, item.placement.kind),
                "partner": item.partner_name,
                "job_title": item.placement.job_title,
                "start_date": _value(item.placement.start_date),
                "notes": item.placement.notes,
                "from_follow_up": item.placement.source_followup_id,
                **_sync_state(item.placement),
            }
            for item in record.placements
        ],
        "follow_ups": [
            {
                "id": f.id,
                "milestone": f.milestone,
                "milestone_label": _label(Milestone, f.milestone),
                "due_date": _value(f.due_date),
                "done_date": _value(f.done_date),
                "channel": f.channel,
                "channel_label": _label(Channel, f.channel),
                "outcome": f.outcome,
                "outcome_label": _label(Closing, f.outcome),
                "notes": f.notes,
                "attempts": [
                    {
                        "id": a.id,
                        "date": _value(a.attempted_on),
                        "channel": a.channel,
                        "channel_label": _label(Channel, a.channel),
                        "outcome": a.outcome,
                        "outcome_label": _label(Outcome, a.outcome),
                        "call_back": _value(a.callback_date),
                        "situation": a.situation or None,
                        "situation_label": _label(Situation, a.situation or None),
                        "notes": a.notes,
                        "made_by": a.made_by,
                        **_sync_state(a),
                    }
                    for a in record.attempts
                    if a.follow_up_id == f.id
                ],
                **_sync_state(f),
            }
            for f in record.follow_ups
        ],
        "outbox": [
            {
                "seq": e.seq,
                "entity": e.entity,
                "row_id": e.row_id,
                "operation": e.op,
                "fields": e.fields,
                "base_values": e.base_values,
                "state": e.state,
                "reason": e.reason,
                "created_at": e.created_at,
            }
            for e in record.outbox
        ],
        "history": [
            {
                "at": h.at,
                "entity": h.entity,
                "row_id": h.row_id,
                "operation": h.op,
                "source": h.source,
                "changes": {
                    name: {"before": before, "after": after}
                    for name, (before, after) in h.changes.items()
                },
            }
            for h in store.history.of_learner(learner_id, limit=-1)
        ],
    }


def personal_data_json(store: Store, learner_id: str) -> str:
    """:func:`personal_data` as indented UTF-8 JSON a person can read."""
    return json.dumps(personal_data(store, learner_id), ensure_ascii=False, indent=2) + "\n"


@dataclass(frozen=True)
class ErasePreview:
    """What a confirmation step shows before erasing."""

    learner_id: str
    name: str
    cohort_name: str
    site_name: str
    placements: int
    follow_ups: int
    already_erased: bool


def erase_preview(store: Store, learner_id: str) -> ErasePreview:
    record = learner_record(store, learner_id)
    learner = record.learner
    return ErasePreview(
        learner_id=learner.id,
        name=f"{learner.first_name} {learner.last_name}".strip(),
        cohort_name=record.cohort.name if record.cohort else "",
        site_name=record.site.name if record.site else "",
        placements=len(record.placements),
        follow_ups=len(record.follow_ups),
        already_erased=learner.deleted_at is not None
        and all(getattr(learner, f) in (None, "") for f in LEARNER_PERSONAL_FIELDS),
    )


def erase_learner(store: Store, learner_id: str) -> None:
    """Erase the learner (``store.learners.erase``): personal fields wiped, a tombstone and its
    outbox "erase" mutation in one transaction; :class:`LearnerNotFound` if no such row."""
    try:
        store.learners.erase(learner_id.strip())
    except LookupError:
        raise LearnerNotFound(learner_id) from None
