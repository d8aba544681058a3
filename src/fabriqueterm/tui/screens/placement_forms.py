"""The placement forms: a placement's fields (also part of the call form), the sentence saying
which exit figures a late start date misses, and the small dialog creating an employer or a
training body from a form that needs one."""

from __future__ import annotations

from datetime import date
from typing import Any

from textual import on
from textual.widgets import Input, Static

from fabriqueterm.domain.enums import PartnerKind, PlacementKind
from fabriqueterm.domain.followups import milestones_not_counted
from fabriqueterm.domain.models import Learner, Placement
from fabriqueterm.domain.validation import parse_date
from fabriqueterm.i18n import _
from fabriqueterm.store.db import Store
from fabriqueterm.tui.format import date_for_input, format_date
from fabriqueterm.tui.screens.forms import FormScreen, choices
from fabriqueterm.tui.screens.modal import FormField, enum_options

#: The partner choice that opens the small dialog creating an employer or a training body.
NEW_PARTNER = "--new-partner--"


def placement_partner_options(
    store: Store, site_id: str, new_partner: bool = False
) -> list[tuple[str, str]]:
    """Employers and training bodies linked to the site, for a placement's partner; with
    ``new_partner``, first the choice that creates one without leaving the form."""
    wanted = {PartnerKind.EMPLOYER.value, PartnerKind.TRAINING.value}
    options = choices(
        [p for p in store.partners.for_site(site_id) if wanted & set(p.kinds.split(","))]
    )
    if new_partner:
        options.insert(0, (_("New employer or training body…"), NEW_PARTNER))
    return options


def placement_fields(
    store: Store,
    site_id: str,
    values: dict[str, Any],
    *,
    shown_with: str | None = None,
    new_partner: bool = False,
) -> list[FormField]:
    """A placement's kind and start date (required, first), partner and job title. The start date
    has no default:
    people say when the job or the training started (docs/domain.md, "Placements: dates")."""
    return [
        FormField(
            "kind",
            "choice",
            values.get("kind"),
            enum_options(PlacementKind),
            required=True,
            shown_with=shown_with,
        ),
        FormField(
            "start_date",
            "date",
            date_for_input(values.get("start_date")),
            required=True,
            shown_with=shown_with,
        ),
        FormField(
            "partner_id",
            "choice",
            values.get("partner_id"),
            placement_partner_options(store, site_id, new_partner),
            shown_with=shown_with,
        ),
        FormField("job_title", value=values.get("job_title"), shown_with=shown_with),
    ]


def not_counted_sentence(text: str, cohort_end: date | None) -> str:
    """What a placement starting on ``text`` (as typed) will not count in: "starts after
    30/09/2026: does not count in the exits at +6 months" ("" for a date that counts everywhere,
    or not a date yet)."""
    try:
        start = parse_date(text)
    except ValueError:  # not a date (yet): the field says so when saving
        return ""
    if not isinstance(start, date) or cohort_end is None:
        return ""
    missed = milestones_not_counted(start, cohort_end)
    if not missed:
        return ""
    return _("starts after {date}: does not count in the exits at {milestones}").format(
        date=format_date(max(cutoff for _milestone, cutoff in missed)),
        milestones=", ".join(milestone.label for milestone, _cutoff in missed),
    )


class PlacementFormScreen(FormScreen):
    """The placement form: as soon as a start date is typed, it says which exit figures it will
    not count in (the cohort ends on ``cohort_end``)."""

    def __init__(self, *args: Any, cohort_end: date | None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.cohort_end = cohort_end

    def on_mount(self) -> None:
        super().on_mount()
        warning = Static(self.sentence(), id="warning-start_date", classes="form-warning")
        warning.display = bool(self.sentence())
        self.query_one("#row-start_date").mount(warning)

    def sentence(self) -> str:
        return not_counted_sentence(
            self.query_one("#field-start_date", Input).value, self.cohort_end
        )

    @on(Input.Changed, "#field-start_date")
    def _start_changed(self, _event: Input.Changed) -> None:
        for warning in self.query("#warning-start_date").results(Static):
            sentence = self.sentence()
            warning.update(sentence)
            warning.display = bool(sentence)


def new_partner_form(store: Store, site_id: str) -> FormScreen:
    """A small form creating an employer or a training body linked to ``site_id``, from a form
    that needs one (the call form); dismissed with the new partner's id."""
    fields = [
        FormField("name", required=True),
        FormField(
            "kinds",
            "choice",
            PartnerKind.EMPLOYER.value,
            [
                (PartnerKind.EMPLOYER.label, PartnerKind.EMPLOYER.value),
                (PartnerKind.TRAINING.label, PartnerKind.TRAINING.value),
            ],
            label=_("Kind"),
            allow_blank=False,
        ),
        FormField("city"),
        FormField("contact_name"),
        FormField("phone", placeholder="03 20 00 00 00"),
        FormField("email"),
    ]

    def save(data: dict[str, Any]) -> str:
        return store.partners.create_for_sites(data, [site_id]).id

    return FormScreen(
        _("New employer or training body"),
        fields,
        save,
        help_text=_("Linked to this site; complete it later in Partners (key 5)."),
    )


def placement_form(
    store: Store, learner: Learner, placement: Placement | None = None
) -> FormScreen:
    values: dict[str, Any] = placement.model_dump() if placement else {}
    fields = [
        *placement_fields(store, learner.site_id, values),
        FormField("notes", value=values.get("notes")),
    ]

    def save(data: dict[str, Any]) -> str:
        if placement:
            return store.placements.update(placement.id, data).id
        return store.placements.create({**data, "learner_id": learner.id}).id

    name = f"{learner.first_name} {learner.last_name}"
    title = _("Edit placement of {name}") if placement else _("New placement for {name}")
    cohort = store.cohorts.get(learner.cohort_id)
    return PlacementFormScreen(title.format(name=name), fields, save, cohort_end=cohort.end_date)
