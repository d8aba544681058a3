"""The call form: one attempt to reach a learner for a follow-up (docs/domain.md, "Follow-ups as
coordinators work them"), and what it teaches.

The outcome comes first (number keys pick it); the rest of the form follows it: a call-back date
(2 working days later by default) when nobody answered, a corrected phone for a wrong number, the
situation learned when the learner was reached, with one or two placements whose start date has
no default and says at once which exit figures it will not count in. An employer or a training
body can be created without leaving the form. Everything is saved in one transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import date, timedelta
from typing import Any, ClassVar

from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Input, Label, RadioSet, Select, Static

from fabriqueterm.domain.enums import Channel, Closing, Milestone, Outcome, Situation
from fabriqueterm.domain.followups import FollowUpRules, default_callback
from fabriqueterm.domain.validation import DomainValidationError, FieldError, parse_date
from fabriqueterm.i18n import N_, _, ngettext
from fabriqueterm.store.repositories import CallLogValidationError, DueFollowUp
from fabriqueterm.tui.format import date_for_input, format_date, format_phone, short_day
from fabriqueterm.tui.screens.modal import (
    FormField,
    ModalForm,
    enum_options,
    field_label,
    read_field,
    render_field,
    save_and_cancel,
)
from fabriqueterm.tui.screens.placement_forms import (
    NEW_PARTNER,
    new_partner_form,
    not_counted_sentence,
    placement_fields,
    placement_partner_options,
)
from fabriqueterm.tui.widgets.cards import label_of
from fabriqueterm.tui.widgets.keyed_choice import KeyedChoice, render_choice

#: The placement blocks of the form: the first always there, the second added with ctrl+n.
PLACEMENT_BLOCKS = ("", "_2")


def unreachable_rule(rules: FollowUpRules, unanswered: Sequence[date], today: date) -> str:
    """What closing as unreachable still needs, in words, for a follow-up with ``unanswered``
    attempts on those days ("" when nothing was tried yet)."""
    if not unanswered:
        return ""
    missing = max(rules.unreachable_attempts - len(unanswered), 0)
    after = min(unanswered) + timedelta(days=rules.unreachable_days)
    parts = []
    if missing:
        parts.append(
            ngettext(
                "{count} more unanswered attempt",
                "{count} more unanswered attempts",
                missing,
            ).format(count=missing)
        )
    if after > max(max(unanswered), today):
        parts.append(_("an attempt on or after {date}").format(date=format_date(after)))
    if not parts:
        return ""
    return _("Close as unreachable: possible after {needs}.").format(needs=_(" and ").join(parts))


class CallScreen(ModalForm[str | None]):
    """Log one attempt of a follow-up; dismissed with what to tell the person (None: cancelled)."""

    FORM = "call"
    CANCELLED = None

    BINDINGS: ClassVar = [
        *save_and_cancel("call"),
        Binding(
            "ctrl+n",
            "add_placement",
            N_("another placement"),
            id="call.add_placement",
            priority=True,
        ),
        Binding(
            "ctrl+u",
            "close_unreachable",
            N_("close: unreachable"),
            id="call.unreachable",
            priority=True,
        ),
    ]

    def __init__(self, line: DueFollowUp, rules: FollowUpRules = FollowUpRules()) -> None:
        super().__init__()
        self.line = line
        self.rules = rules
        self.callback_offered = ""
        self.second_placement = False

    # --- the fields ---------------------------------------------------------------------------

    def call_fields(self) -> list[FormField]:
        return [
            FormField("outcome", "keyed", None, enum_options(Outcome), required=True),
            FormField(
                "channel", "choice", Channel.PHONE.value, enum_options(Channel), allow_blank=False
            ),
            FormField(
                "attempted_on",
                "date",
                date_for_input(self.today),
                label=_("Call date"),
                required=True,
            ),
            FormField("notes", placeholder=_("what they said, what to do next")),
            FormField(
                "callback_date",
                "date",
                date_for_input(default_callback(self.today, self.rules)),
                label=_("Call back on"),
                required=True,
            ),
            FormField("phone", label=_("Corrected phone"), placeholder="06 12 34 56 78"),
            FormField(
                "situation", "keyed", None, enum_options(Situation), label=_("What they said")
            ),
        ]

    def block_fields(self, suffix: str) -> list[FormField]:
        """The fields of one placement block: ``kind``, … for the first, ``kind_2``, … next."""
        fields = placement_fields(self.store, self.line.learner.site_id, {}, new_partner=True)
        return [
            replace(spec, name=spec.name + suffix, label=spec.label or field_label(spec.name))
            for spec in fields
        ]

    def compose(self) -> ComposeResult:
        learner = self.line.learner
        follow_up = self.line.follow_up
        self.fields = {spec.name: spec for spec in self.call_fields()}
        self.callback_offered = self.fields["callback_date"].value
        self.blocks = {suffix: self.block_fields(suffix) for suffix in PLACEMENT_BLOCKS}
        with Vertical(id="call-dialog", classes="dialog"):
            yield Label(
                _("Call {name}").format(name=f"{learner.first_name} {learner.last_name}"),
                classes="dialog-title",
            )
            yield Static(
                f"☎ {format_phone(learner.phone)}   "
                + _("{milestone} follow-up due {date}").format(
                    milestone=label_of(Milestone, follow_up.milestone),
                    date=format_date(follow_up.due_date),
                )
                + f"   {self.line.cohort_name} · {self.line.site_name}",
                classes="dialog-help",
            )
            yield Static(self.tried_text(), id="call-tried", classes="dialog-help")
            with VerticalScroll(id="call-fields", can_focus=False):
                yield from render_choice(self.fields["outcome"])
                with Horizontal(classes="form-pair"):
                    yield from render_field(self.fields["channel"])
                    yield from render_field(self.fields["attempted_on"])
                yield from render_field(self.fields["notes"])
                with Vertical(id="part-callback"):
                    with Horizontal(classes="form-pair"):
                        yield from render_field(self.fields["callback_date"])
                        yield from render_field(self.fields["phone"])
                    yield Static("", id="callback-says", classes="form-hint")
                with Vertical(id="part-reached"):
                    yield from render_choice(self.fields["situation"])
                    for suffix, block in self.blocks.items():
                        with Vertical(id=f"placement{suffix or '_1'}", classes="placement-block"):
                            yield Label(
                                _("Placement") if not suffix else _("Another placement"),
                                classes="section-title",
                            )
                            with Horizontal(classes="form-pair"):
                                yield from render_field(block[0])
                                yield from render_field(block[1])
                            yield Static(
                                "", id=f"warning-start_date{suffix}", classes="form-warning"
                            )
                            with Horizontal(classes="form-pair"):
                                yield from render_field(block[2])
                                yield from render_field(block[3])
                    yield Static(
                        _("ctrl+n another placement"), id="placement-keys", classes="form-hint"
                    )
            yield Static("", id="call-errors", classes="form-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button(_("Save"), variant="primary", id="call-save")
                if self.line.attempts.may_close_unreachable:
                    yield Button(_("Close: unreachable"), variant="warning", id="call-unreachable")
                yield Button(_("Cancel"), id="call-cancel")
            yield Static(self.keys_text(), classes="dialog-keys")

    def tried_text(self) -> str:
        attempts = self.line.attempts
        if not attempts.count:
            return _("First attempt.")
        text = ngettext(
            "{count} attempt so far, the last on {date}: {outcome}.",
            "{count} attempts so far, the last on {date}: {outcome}.",
            attempts.count,
        ).format(
            count=attempts.count,
            date=format_date(attempts.last_on),
            outcome=label_of(Outcome, attempts.last_outcome),
        )
        if attempts.contact_doubtful:
            text += " " + _("⚠ The number may be wrong.")
        if attempts.may_close_unreachable:
            return text + " " + _("It may be closed as unreachable (ctrl+u).")
        unanswered = [
            a.attempted_on
            for a in self.store.follow_ups.attempts.for_follow_up(self.line.follow_up.id)
            if Outcome(a.outcome).unanswered
        ]
        rule = unreachable_rule(self.rules, unanswered, self.today)
        return f"{text} {rule}".rstrip()

    def keys_text(self) -> str:
        keys = _("1-5 outcome · ctrl+s save · esc cancel")
        if self.line.attempts.may_close_unreachable:
            keys += " · " + _("ctrl+u close: unreachable")
        return keys

    def on_resize(self, _event: events.Resize) -> None:
        self.fit_fields()

    def fit_fields(self) -> None:
        """The fields scroll inside what the terminal leaves of the dialog (80x24 too): the
        title, the learner's line, the buttons and the keys stay in view."""
        fields = self.query_one("#call-fields")
        fields.styles.max_height = max(self.app.size.height - 16, 6)

    def on_mount(self) -> None:
        self.fit_fields()
        self.query_one("#placement_2").display = False
        for warning in self.query(".form-warning"):
            warning.display = False
        self.update_parts()
        self.show_callback_day()
        self.query_one("#field-outcome").focus()

    def form_fields(self) -> list[FormField]:
        return [*self.fields.values(), *(spec for b in self.blocks.values() for spec in b)]

    # --- live parts -------------------------------------------------------------------------

    def outcome(self) -> Outcome | None:
        code = self.query_one("#field-outcome", KeyedChoice).code
        return Outcome(code) if code else None

    def situation(self) -> Situation | None:
        code = self.query_one("#field-situation", KeyedChoice).code
        return Situation(code) if code else None

    def update_parts(self) -> None:
        outcome, situation = self.outcome(), self.situation()
        self.query_one("#part-callback").display = bool(outcome and outcome.calls_back)
        self.query_one("#row-phone").display = outcome == Outcome.WRONG_NUMBER
        self.query_one("#part-reached").display = outcome == Outcome.REACHED
        placements = situation == Situation.PLACEMENTS
        for block in ("#placement_1", "#placement-keys"):
            self.query_one(block).display = placements
        self.query_one("#placement_2").display = placements and self.second_placement
        notes = self.fields["notes"]
        notes.required = outcome == Outcome.REACHED and situation == Situation.OTHER
        self.query_one("#row-notes .form-label", Label).update(notes.title())

    @on(RadioSet.Changed)
    def _choice_changed(self, event: RadioSet.Changed) -> None:
        """Show the parts the choice needs, and go to the next thing to say."""
        self.update_parts()
        after = {
            ("field-outcome", Outcome.REACHED.value): "#field-situation",
            ("field-outcome", Outcome.WRONG_NUMBER.value): "#field-phone",
            ("field-situation", Situation.PLACEMENTS.value): "#field-kind",
            ("field-situation", Situation.OTHER.value): "#field-notes",
        }.get((event.radio_set.id or "", event.radio_set.codes[event.index]))  # type: ignore[attr-defined]
        if after:
            self.call_after_refresh(self.query_one(after).focus)

    @on(Input.Changed, "#field-attempted_on")
    def _call_date_changed(self, event: Input.Changed) -> None:
        called = _date_or_none(event.value)
        callback = self.query_one("#field-callback_date", Input)
        if called is None or callback.value != self.callback_offered:
            return  # the person chose the call-back date: theirs stays
        self.callback_offered = date_for_input(default_callback(called, self.rules))
        callback.value = self.callback_offered

    @on(Input.Changed, "#field-callback_date")
    def _callback_changed(self, _event: Input.Changed) -> None:
        self.show_callback_day()

    def show_callback_day(self) -> None:
        day = _date_or_none(self.query_one("#field-callback_date", Input).value)
        says = _("Call back on {day}").format(day=short_day(day)) if day else ""
        self.query_one("#callback-says", Static).update(says)

    @on(Input.Changed)
    def _start_changed(self, event: Input.Changed) -> None:
        widget_id = event.input.id or ""
        if not widget_id.startswith("field-start_date"):
            return
        suffix = widget_id.removeprefix("field-start_date")
        warning = self.query_one(f"#warning-start_date{suffix}", Static)
        sentence = not_counted_sentence(event.value, self.line.cohort_end)
        warning.update(sentence)
        warning.display = bool(sentence)

    @on(Select.Changed)
    def _partner_changed(self, event: Select.Changed) -> None:
        widget_id = event.select.id or ""
        if not widget_id.startswith("field-partner_id") or event.value != NEW_PARTNER:
            return
        select = event.select
        select.value = Select.NULL
        site_id = self.line.learner.site_id

        def created(partner_id: str | None) -> None:
            if not partner_id:
                select.focus()
                return
            for other in self.query(Select):
                if (other.id or "").startswith("field-partner_id"):
                    current = other.value
                    other.set_options(placement_partner_options(self.store, site_id, True))
                    other.value = current
            select.value = partner_id
            select.focus()

        self.app.push_screen(new_partner_form(self.store, site_id), created)

    def action_add_placement(self) -> None:
        if self.situation() != Situation.PLACEMENTS:
            return
        self.second_placement = True
        self.update_parts()
        self.call_after_refresh(self.query_one("#field-kind_2").focus)

    # --- saving -----------------------------------------------------------------------------

    def placements(self) -> list[dict[str, Any]]:
        suffixes = PLACEMENT_BLOCKS if self.second_placement else PLACEMENT_BLOCKS[:1]
        found = []
        for suffix in suffixes:
            values = {
                spec.name.removesuffix(suffix) if suffix else spec.name: read_field(self, spec)
                for spec in self.blocks[suffix]
            }
            found.append(values)
        return found

    def submit(self) -> str:
        outcome, situation = self.outcome(), self.situation()
        values = {
            name: read_field(self, spec)
            for name, spec in self.fields.items()
            if spec.kind != "keyed"
        }
        if outcome is None:
            raise DomainValidationError([FieldError("outcome", None, "required")])
        if outcome == Outcome.REACHED and situation is None:
            raise DomainValidationError([FieldError("situation", None, "required")])
        attempt: dict[str, Any] = {
            "attempted_on": values["attempted_on"],
            "channel": values["channel"],
            "outcome": outcome.value,
            "notes": values["notes"],
        }
        if outcome.calls_back:
            attempt["callback_date"] = values["callback_date"]
            if not str(values["callback_date"]).strip():
                raise DomainValidationError([FieldError("callback_date", "", "required")])
        placements: list[dict[str, Any]] = []
        if outcome == Outcome.REACHED:
            attempt["situation"] = situation.value if situation else None
            if situation == Situation.PLACEMENTS:
                placements = self.placements()
        phone = values["phone"].strip() if outcome == Outcome.WRONG_NUMBER else ""
        try:
            logged = self.store.follow_ups.log_attempt(
                self.line.follow_up.id,
                attempt,
                placements,
                phone=phone or None,
                rules=self.rules,
            )
        except CallLogValidationError as error:
            raise DomainValidationError(
                [*error.call_errors, *self.placement_errors(placements, error.placement_errors)]
            ) from None
        self.data_changed()
        return self.saved_text(
            logged.follow_up.outcome, logged.attempt.callback_date, len(logged.placements)
        )

    def placement_errors(
        self, placements: list[dict[str, Any]], errors: list[FieldError]
    ) -> list[FieldError]:
        """The store's placement errors, each on the block it is about (the second block's
        fields end in ``_2``): a block's own values are checked again to tell which."""
        if len(placements) < 2 or not errors:
            return errors
        from fabriqueterm.domain.validation import validate

        learner = self.line.learner
        placed: list[FieldError] = []
        for suffix, values in zip(PLACEMENT_BLOCKS, placements, strict=False):
            try:
                validate(
                    "placement", {**values, "site_id": learner.site_id, "learner_id": learner.id}
                )
            except DomainValidationError as error:
                placed += [replace(e, field=e.field + suffix) for e in error.errors]
        return placed or errors

    def saved_text(self, closing: str | None, callback: date | None, placements: int) -> str:
        learner = self.line.learner
        name = f"{learner.first_name} {learner.last_name}"
        if closing is None:
            when = short_day(callback) if callback else "—"
            return _("{name}: call back on {day}.").format(name=name, day=when)
        text = _("{name}: follow-up closed ({closing}).").format(
            name=name, closing=label_of(Closing, closing)
        )
        if placements:
            text += " " + ngettext(
                "{count} placement saved.", "{count} placements saved.", placements
            ).format(count=placements)
        return text

    def action_close_unreachable(self) -> None:
        if not self.line.attempts.may_close_unreachable:
            self.app.bell()
            return
        try:
            self.store.follow_ups.close_unreachable(
                self.line.follow_up.id, self.today, rules=self.rules
            )
        except DomainValidationError as error:
            self.show_field_errors(error.errors)
            return
        self.data_changed()
        learner = self.line.learner
        self.dismiss(
            _("{name}: follow-up closed ({closing}).").format(
                name=f"{learner.first_name} {learner.last_name}",
                closing=label_of(Closing, Closing.UNREACHABLE.value),
            )
        )

    @on(Button.Pressed, "#call-unreachable")
    def _unreachable_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_close_unreachable()


def _date_or_none(text: str) -> date | None:
    try:
        value = parse_date(text.strip())
    except ValueError:  # PydanticCustomError is one
        return None
    return value if isinstance(value, date) else None
