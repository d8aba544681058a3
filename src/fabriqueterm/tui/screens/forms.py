"""Forms to create and edit every entity, with the domain's validation messages shown next to
the field they are about. Nothing is saved while anything is invalid; Escape cancels."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.notifications import SeverityLevel
from textual.widgets import Button, Label, Static

from fabriqueterm.domain.enums import (
    Channel,
    Closing,
    CohortStatus,
    Gender,
    LearnerStatus,
    Milestone,
    PartnerKind,
    QualificationLevel,
)
from fabriqueterm.domain.models import Cohort, FollowUp, Learner, Partner, Site
from fabriqueterm.i18n import _
from fabriqueterm.store.db import Store
from fabriqueterm.tui.format import date_for_input, format_phone_for_input
from fabriqueterm.tui.screens.modal import (
    FormField,
    ModalForm,
    YesNoQuestion,
    answer_bindings,
    enum_options,
    field_rows,
    read_field,
    render_field,
    save_and_cancel,
    yes_key,
)


class FormScreen(ModalForm[str | None]):
    """A modal form. ``save`` gets the values read from the fields and returns the saved row's
    id, or raises :class:`DomainValidationError` (then nothing was saved)."""

    BINDINGS: ClassVar = save_and_cancel("form")

    def __init__(
        self,
        title: str,
        fields: Sequence[FormField],
        save: Callable[[dict[str, Any]], str],
        *,
        help_text: str = "",
    ) -> None:
        super().__init__()
        self.form_title = title
        self.fields = list(fields)
        self.save = save
        self.help_text = help_text
        #: Said once the form is saved (``save`` may set it): what the save did beyond the row.
        self.notice = ""
        self.notice_severity: SeverityLevel = "information"

    def compose(self) -> ComposeResult:
        with Vertical(id="form-dialog", classes="dialog"):
            yield Label(self.form_title, id="form-title", classes="dialog-title")
            if self.help_text:
                yield Static(self.help_text, classes="dialog-help")
            with VerticalScroll(id="form-fields", can_focus=False):
                for row in field_rows(self.fields):
                    if len(row) == 1:
                        yield from render_field(row[0])
                    else:
                        with Horizontal(classes="form-pair"):
                            for spec in row:
                                yield from render_field(spec)
            yield Static("", id="form-errors", classes="form-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button(_("Save"), variant="primary", id="form-save")
                yield Button(_("Cancel"), id="form-cancel")
            yield Static(_("ctrl+s save · esc cancel · tab next field"), classes="dialog-keys")

    def on_mount(self) -> None:
        if self.fields:
            self.query_one(f"#field-{self.fields[0].name}").focus()

    def values(self) -> dict[str, Any]:
        return {spec.name: read_field(self, spec) for spec in self.fields}

    def form_fields(self) -> list[FormField]:
        return self.fields

    def submit(self) -> str:
        self.notice = ""
        row_id = self.save(self.values())
        self.data_changed()
        if self.notice:
            self.app.notify(self.notice, severity=self.notice_severity, timeout=12)
        return row_id


class ConfirmScreen(YesNoQuestion):
    """Ask before something that cannot be undone from this device (a delete): o (oui) or y (yes),
    as the language says, deletes; n or escape keeps."""

    BINDINGS: ClassVar = answer_bindings("confirm")

    def __init__(self, question: str, detail: str = "") -> None:
        super().__init__()
        self.question = question
        self.detail = detail

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-dialog", classes="dialog"):
            yield Label(self.question, classes="dialog-title")
            if self.detail:
                yield Static(self.detail, classes="dialog-help")
            with Horizontal(classes="dialog-buttons"):
                yield Button(_("Delete"), variant="error", id="confirm-yes")
                yield Button(_("Keep"), id="confirm-no")
            yield Static(
                _("{yes} delete · n or esc keep").format(yes=yes_key()), classes="dialog-keys"
            )

    def on_mount(self) -> None:
        self.query_one("#confirm-no", Button).focus()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "confirm-yes")


# --- the entities' forms ----------------------------------------------------------------------


def choices(rows: Sequence[Any]) -> list[tuple[str, str]]:
    """Rows as the options of a choice: (name, id)."""
    return [(row.name, row.id) for row in rows]


def site_form(store: Store, site: Site | None = None) -> FormScreen:
    values = site.model_dump() if site else {"active": True}
    fields = [
        FormField("name", value=values.get("name"), required=True),
        FormField("city", value=values.get("city"), required=True),
        FormField("region", value=values.get("region")),
        FormField("operator", value=values.get("operator")),
        FormField("address", value=values.get("address")),
        FormField("active", "bool", value=values.get("active")),
    ]

    def save(data: dict[str, Any]) -> str:
        row = store.sites.update(site.id, data) if site else store.sites.create(data)
        return row.id

    return FormScreen(_("Edit site") if site else _("New site"), fields, save)


def cohort_form(
    store: Store, cohort: Cohort | None = None, *, site_id: str | None = None
) -> FormScreen:
    values: dict[str, Any] = (
        cohort.model_dump() if cohort else {"site_id": site_id, "status": "planned", "capacity": 16}
    )
    fields = [
        FormField(
            "site_id", "choice", values.get("site_id"), choices(store.sites.all()), required=True
        ),
        FormField("name", value=values.get("name"), required=True),
        FormField("programme", value=values.get("programme"), required=True),
        FormField("start_date", "date", date_for_input(values.get("start_date")), required=True),
        FormField("end_date", "date", date_for_input(values.get("end_date")), required=True),
        FormField("capacity", "int", values.get("capacity")),
        FormField("funders", value=values.get("funders"), placeholder=_("separated by “; ”")),
        FormField(
            "status", "choice", values.get("status"), enum_options(CohortStatus), allow_blank=False
        ),
    ]

    def save(data: dict[str, Any]) -> str:
        row = store.cohorts.update(cohort.id, data) if cohort else store.cohorts.create(data)
        return row.id

    return FormScreen(_("Edit cohort") if cohort else _("New cohort"), fields, save)


def learner_form(store: Store, *, learner: Learner | None = None, cohort: Cohort) -> FormScreen:
    """Enrol a learner in ``cohort``, or edit ``learner`` (who may move to another cohort of
    the same site)."""
    values: dict[str, Any] = (
        learner.model_dump() if learner else {"cohort_id": cohort.id, "status": "enrolled"}
    )
    cohorts = store.cohorts.for_site(cohort.site_id)
    prescribers = [
        p
        for p in store.partners.for_site(cohort.site_id)
        if PartnerKind.PRESCRIBER.value in p.kinds.split(",")
    ]
    fields = [
        FormField(
            "cohort_id",
            "choice",
            values.get("cohort_id"),
            choices(cohorts),
            required=True,
            allow_blank=False,
        ),
        FormField("first_name", value=values.get("first_name"), required=True),
        FormField("last_name", value=values.get("last_name"), required=True),
        FormField("email", value=values.get("email"), placeholder="prenom.nom@example.org"),
        FormField(
            "phone", value=format_phone_for_input(values.get("phone")), placeholder="06 12 34 56 78"
        ),
        FormField("birth_year", "int", values.get("birth_year")),
        FormField("gender", "choice", values.get("gender"), enum_options(Gender), required=True),
        FormField(
            "qualification",
            "choice",
            values.get("qualification"),
            enum_options(QualificationLevel),
            required=True,
        ),
        FormField("qpv", "bool", values.get("qpv")),
        FormField("job_seeker", "bool", values.get("job_seeker")),
        FormField("refugee", "bool", values.get("refugee")),
        FormField("prescriber_id", "choice", values.get("prescriber_id"), choices(prescribers)),
        FormField(
            "status", "choice", values.get("status"), enum_options(LearnerStatus), allow_blank=False
        ),
        FormField("dropout_date", "date", date_for_input(values.get("dropout_date"))),
        FormField("dropout_reason", value=values.get("dropout_reason")),
    ]

    def save(data: dict[str, Any]) -> str:
        saved = store.learners.update(learner.id, data) if learner else store.learners.create(data)
        form.notice = capacity_notice(store, learner, saved)
        form.notice_severity = "warning"
        return saved.id

    help_text = ""
    if learner is None:
        taken, capacity = store.cohorts.seats(cohort.id)
        if capacity and taken >= capacity:
            help_text = (
                _("Cohort full: {taken}/{capacity}").format(taken=taken, capacity=capacity)
                + ". "
                + _("You can still enrol: the cohort goes beyond its planned capacity.")
            )
    form = FormScreen(
        _("Edit learner") if learner else _("Enrol a learner"), fields, save, help_text=help_text
    )
    return form


def capacity_notice(store: Store, before: Learner | None, saved: Learner) -> str:
    """ "Cohort full: 17/16" when this save took a seat (enrolled, or moved into the cohort)
    beyond the cohort's planned capacity: a warning, never a refusal."""
    candidate = LearnerStatus.CANDIDATE.value
    seated_before = (
        before is not None and before.cohort_id == saved.cohort_id and before.status != candidate
    )
    if saved.status == candidate or seated_before:
        return ""
    taken, capacity = store.cohorts.seats(saved.cohort_id)
    if not capacity or taken <= capacity:
        return ""
    return (
        _("Cohort full: {taken}/{capacity}").format(taken=taken, capacity=capacity)
        + ". "
        + _("{name} is enrolled beyond the planned capacity.").format(
            name=f"{saved.first_name} {saved.last_name}"
        )
    )


def partner_form(
    store: Store, partner: Partner | None = None, *, site_ids: Sequence[str] = ()
) -> FormScreen:
    values: dict[str, Any] = partner.model_dump() if partner else {}
    linked = [s.id for s in store.partners.sites_of(partner.id)] if partner else list(site_ids)
    fields = [
        FormField("name", value=values.get("name"), required=True),
        FormField(
            "kinds",
            "multi",
            (values.get("kinds") or "").split(","),
            enum_options(PartnerKind),
            required=True,
        ),
        FormField("contact_name", value=values.get("contact_name")),
        FormField("email", value=values.get("email")),
        FormField("phone", value=format_phone_for_input(values.get("phone"))),
        FormField("city", value=values.get("city")),
        FormField("notes", value=values.get("notes")),
        FormField("site_ids", "multi", linked, choices(store.sites.all()), label=_("Linked sites")),
    ]

    def save(data: dict[str, Any]) -> str:
        chosen = data.pop("site_ids")
        if partner is None:
            return store.partners.create_for_sites(data, chosen).id
        row = store.partners.update(partner.id, data)
        for site_id in chosen:
            if site_id not in linked:
                store.partners.link(partner.id, site_id)
        for site_id in linked:
            if site_id not in chosen:
                store.partners.unlink(partner.id, site_id)
        return row.id

    return FormScreen(_("Edit partner") if partner else _("New partner"), fields, save)


def follow_up_form(store: Store, learner: Learner, follow_up: FollowUp | None = None) -> FormScreen:
    values: dict[str, Any] = (
        follow_up.model_dump() if follow_up else {"milestone": Milestone.M12.value}
    )
    fields = [
        FormField(
            "milestone",
            "choice",
            values.get("milestone"),
            enum_options(Milestone),
            allow_blank=False,
        ),
        FormField("due_date", "date", date_for_input(values.get("due_date")), required=True),
        FormField("done_date", "date", date_for_input(values.get("done_date"))),
        FormField("channel", "choice", values.get("channel"), enum_options(Channel)),
        FormField("outcome", "choice", values.get("outcome"), enum_options(Closing)),
        FormField("notes", value=values.get("notes")),
    ]

    def save(data: dict[str, Any]) -> str:
        if follow_up:
            return store.follow_ups.update(follow_up.id, data).id
        return store.follow_ups.create({**data, "learner_id": learner.id}).id

    name = f"{learner.first_name} {learner.last_name}"
    title = _("Edit follow-up of {name}") if follow_up else _("New follow-up for {name}")
    return FormScreen(title.format(name=name), fields, save)


__all__ = [
    "ConfirmScreen",
    "FormField",
    "FormScreen",
    "choices",
    "cohort_form",
    "follow_up_form",
    "learner_form",
    "partner_form",
    "site_form",
]
