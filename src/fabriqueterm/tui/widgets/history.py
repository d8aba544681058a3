"""A learner's change history as lines a coordinator reads: when, from where, what, and each field
before → after, values shown the way the rest of the app shows them."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

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
from fabriqueterm.domain.labels import field_label
from fabriqueterm.i18n import N_, _
from fabriqueterm.store.history import HistoryEntry
from fabriqueterm.tui.format import format_date, format_phone, yes_no
from fabriqueterm.tui.widgets.cards import label_of

#: Fields whose values are enumeration codes, by the table they belong to.
_ENUMS: dict[str, type] = {
    "status": LearnerStatus,
    "gender": Gender,
    "qualification": QualificationLevel,
    "kind": PlacementKind,
    "milestone": Milestone,
    "channel": Channel,
    "outcome": Outcome,
    "situation": Situation,
}
#: Fields that hold another row's id: the history says that it changed, not the id.
_REFERENCES = frozenset({"cohort_id", "partner_id", "prescriber_id", "source_followup_id"})

_WHAT: dict[tuple[str, str], str] = {
    ("learner", "create"): N_("Learner created"),
    ("learner", "update"): N_("Learner updated"),
    ("learner", "delete"): N_("Learner deleted"),
    ("learner", "erase"): N_("Learner erased (right to be forgotten)"),
    ("placement", "create"): N_("Placement added"),
    ("placement", "update"): N_("Placement updated"),
    ("placement", "delete"): N_("Placement deleted"),
    ("follow_up", "create"): N_("Follow-up scheduled"),
    ("follow_up", "update"): N_("Follow-up updated"),
    ("follow_up", "delete"): N_("Follow-up deleted"),
    ("follow_up_attempt", "create"): N_("Call logged"),
    ("follow_up_attempt", "delete"): N_("Call deleted"),
}
_SOURCE = {"local": N_("this device"), "commons": N_("the commons")}
#: What a creation line shows (the rest is in the row itself).
_CREATED_SUMMARY = {
    "placement": ("kind", "start_date", "job_title"),
    "follow_up": ("milestone", "due_date"),
    "follow_up_attempt": ("attempted_on", "outcome", "callback_date"),
    "learner": ("status",),
}


def when(entry: HistoryEntry) -> str:
    """The entry's time in the device's time zone: 25/11/2026 14:02 in French."""
    try:
        moment = datetime.fromisoformat(entry.at).astimezone()
    except ValueError:
        return entry.at
    return f"{format_date(moment.date())} {moment:%H:%M}"


def source(entry: HistoryEntry) -> str:
    return _(_SOURCE.get(entry.source, entry.source))


def what(entry: HistoryEntry) -> str:
    label = _WHAT.get((entry.entity, entry.op))
    return _(label) if label else f"{entry.entity} {entry.op}"


def shown_value(field: str, value: Any) -> str:
    """One value as the app shows it elsewhere."""
    if value is None or value == "":
        return "—"
    if field == "outcome" and str(value) in {c.value for c in Closing}:
        return label_of(Closing, str(value))  # a follow-up's closing (an attempt's outcome else)
    if field in _ENUMS:
        return label_of(_ENUMS[field], str(value))
    if isinstance(value, bool) or field in ("qpv", "job_seeker", "refugee", "active"):
        return yes_no(bool(value))
    if field.endswith("_date"):
        try:
            return format_date(date.fromisoformat(str(value)[:10]))
        except ValueError:
            return str(value)
    if field == "phone":
        return format_phone(str(value))
    text = str(value)
    return text if len(text) <= 40 else text[:39] + "…"


def details(entry: HistoryEntry) -> str:
    """The fields the entry changed: "status: enrolled → graduated · phone: — → 06 11 11 11 11"."""
    if entry.op == "erase":
        return _("personal details wiped")
    if entry.op == "delete":
        return ""
    changes = entry.changes
    if entry.op == "create":
        shown = [
            shown_value(name, changes[name][1])
            for name in _CREATED_SUMMARY.get(entry.entity, ())
            if name in changes and changes[name][1] not in (None, "")
        ]
        return " · ".join(shown)
    parts = []
    for name, (before, after) in sorted(changes.items()):
        label = field_label(name)
        if name in _REFERENCES:
            parts.append(_("{field} changed").format(field=label))
        else:
            parts.append(
                _("{field}: {before} → {after}").format(
                    field=label, before=shown_value(name, before), after=shown_value(name, after)
                )
            )
    return " · ".join(parts)
