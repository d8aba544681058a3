"""How a person names each field and each kind of record (English msgids, translated where
shown): the forms, the validation messages, the import mapping, a learner's history and the
conflicts all say the same words."""

from __future__ import annotations

from collections.abc import Iterable

from fabriqueterm.i18n import N_, _

#: Each field as a person names it.
FIELD_LABELS: dict[str, str] = {
    "name": N_("name"),
    "city": N_("city"),
    "region": N_("region"),
    "operator": N_("operator"),
    "address": N_("address"),
    "active": N_("active"),
    "site_id": N_("site"),
    "programme": N_("programme"),
    "start_date": N_("start date"),
    "end_date": N_("end date"),
    "capacity": N_("planned capacity"),
    "funders": N_("funders"),
    "status": N_("status"),
    "kinds": N_("kinds"),
    "contact_name": N_("contact person"),
    "email": N_("email"),
    "phone": N_("phone"),
    "notes": N_("notes"),
    "partner_id": N_("partner"),
    "cohort_id": N_("cohort"),
    "first_name": N_("first name"),
    "last_name": N_("last name"),
    "birth_year": N_("birth year"),
    "gender": N_("gender"),
    "qpv": N_("lives in a priority neighbourhood (QPV)"),
    "qualification": N_("qualification level"),
    "job_seeker": N_("registered job seeker"),
    "refugee": N_("refugee status"),
    "prescriber_id": N_("prescriber"),
    "dropout_date": N_("dropout date"),
    "dropout_reason": N_("dropout reason"),
    "learner_id": N_("learner"),
    "kind": N_("kind"),
    "job_title": N_("job title"),
    "source_followup_id": N_("follow-up"),
    "milestone": N_("milestone"),
    "due_date": N_("due date"),
    "done_date": N_("done date"),
    "channel": N_("channel"),
    "outcome": N_("outcome"),
    "follow_up_id": N_("follow-up"),
    "attempted_on": N_("call date"),
    "callback_date": N_("call-back date"),
    "situation": N_("situation"),
    "made_by": N_("made by"),
    "resolution": N_("decision"),
    "resolved_at": N_("decided on"),
}

#: Fields every synced row carries for the sync itself; no person types them.
BOOKKEEPING_FIELDS = frozenset({"id", "created_at", "updated_at", "version", "deleted_at"})

#: Each entity as a person names it (English msgids, translated where shown).
ENTITY_LABELS: dict[str, str] = {
    "site": N_("site"),
    "partner": N_("partner"),
    "partner_site": N_("partner's site"),
    "cohort": N_("cohort"),
    "learner": N_("learner"),
    "follow_up": N_("follow-up"),
    "follow_up_attempt": N_("call attempt"),
    "placement": N_("placement"),
    "conflict": N_("conflict"),
}


def entity_label(entity: str) -> str:
    """An entity's name in the UI language: "follow_up" -> "suivi"."""
    return _(ENTITY_LABELS.get(entity, entity))


def field_label(field: str) -> str:
    """A field's name in the UI language: "due_date" -> "échéance"."""
    return _(FIELD_LABELS.get(field, field))


def fields_in_words(fields: Iterable[str], limit: int = 70) -> str:
    """The fields a change touches, as a person names them, bookkeeping left out, cut at a word."""
    labels = sorted(field_label(f) for f in fields if f not in BOOKKEEPING_FIELDS)
    text = ", ".join(labels)
    if len(text) <= limit:
        return text
    return text[: limit - 1].rsplit(", ", 1)[0] + ", …"
