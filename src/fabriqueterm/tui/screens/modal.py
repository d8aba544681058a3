"""A modal form: its fields (how each is drawn, read and told what is wrong) and what every form
does with its keys and buttons: ctrl+s, Enter in a field or Save saves; escape or Cancel cancels.
Nothing is saved while anything is invalid. And the keys of a yes/no question (o/n in French,
y/n in English)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Button, Checkbox, Input, Label, Select, SelectionList, Static

from fabriqueterm.domain.labels import field_label as field_in_words
from fabriqueterm.domain.validation import DomainValidationError, FieldError
from fabriqueterm.i18n import N_, _, current_language
from fabriqueterm.tui.keys import TypingKeys
from fabriqueterm.tui.screens.base import AppAccess

ResultT = TypeVar("ResultT")


def field_label(name: str) -> str:
    text = field_in_words(name)
    return text[:1].upper() + text[1:]


@dataclass
class FormField:
    """One field of a form. ``kind``: text, date, int, choice, bool, multi."""

    name: str
    kind: str = "text"
    value: Any = None
    options: Sequence[tuple[str, Any]] = ()
    label: str = ""
    placeholder: str = ""
    allow_blank: bool = True
    required: bool = False
    #: Shown only when this other bool field is checked.
    shown_with: str | None = None
    classes: str = ""

    def title(self) -> str:
        text = self.label or field_label(self.name)
        return text + (" *" if self.required else "")


def enum_options(enum: Any) -> list[tuple[str, str]]:
    return [(member.label, member.value) for member in enum]


def render_field(spec: FormField) -> ComposeResult:
    """The widgets of one field: label, input and the slot for its error message."""
    with Vertical(classes=f"form-field {spec.classes}".strip(), id=f"row-{spec.name}"):
        if spec.kind != "bool":
            yield Label(spec.title(), classes="form-label")
        yield make_input(spec)
        yield Static("", id=f"error-{spec.name}", classes="form-error")


def field_rows(fields: Sequence[FormField]) -> list[list[FormField]]:
    """Fields laid out two per line (checkboxes three per line, lists alone), in their order."""

    def group(spec: FormField) -> str:
        return spec.kind if spec.kind in ("bool", "multi") else "input"

    rows: list[list[FormField]] = []
    for spec in fields:
        per_row = {"bool": 3, "multi": 1, "input": 2}[group(spec)]
        if rows and group(rows[-1][0]) == group(spec) and len(rows[-1]) < per_row:
            rows[-1].append(spec)
        else:
            rows.append([spec])
    return rows


def make_input(spec: FormField) -> Widget:
    widget_id = f"field-{spec.name}"
    if spec.kind == "choice":
        values = [value for _label, value in spec.options]
        return Select(
            list(spec.options),
            value=spec.value if spec.value in values else Select.NULL,
            allow_blank=spec.allow_blank or spec.value not in values,
            prompt=_("Choose…"),
            id=widget_id,
        )
    if spec.kind == "bool":
        return Checkbox(spec.title(), value=bool(spec.value), id=widget_id)
    if spec.kind == "multi":
        chosen = set(spec.value or ())
        return SelectionList(
            *((label, value, value in chosen) for label, value in spec.options), id=widget_id
        )
    placeholder = spec.placeholder or (_("dd/mm/yyyy") if spec.kind == "date" else "")
    text = "" if spec.value is None else str(spec.value)
    return Input(value=text, placeholder=placeholder, id=widget_id)


def read_field(screen: Any, spec: FormField) -> Any:
    widget = screen.query_one(f"#field-{spec.name}")
    if isinstance(widget, Select):
        if widget.value is Select.NULL:
            return "" if spec.required else None  # "" reads "empty; a value is required"
        return widget.value
    if isinstance(widget, Checkbox):
        return widget.value
    if isinstance(widget, SelectionList):
        return list(widget.selected)
    value = widget.value
    if spec.kind == "int" and not value.strip():
        return None
    return value


def show_errors(
    screen: Any, specs: Sequence[FormField], errors: Sequence[FieldError], summary_id: str
) -> None:
    """Put each message next to its field; messages about fields the form lacks go in the summary."""
    names = {spec.name for spec in specs}
    by_field: dict[str, list[str]] = {}
    others: list[str] = []
    for error in errors:
        if error.field in names:
            by_field.setdefault(error.field, []).append(str(error))
        else:
            others.append(str(error))
    for spec in specs:
        slot = screen.query_one(f"#error-{spec.name}", Static)
        messages = by_field.get(spec.name, [])
        slot.update("\n".join(messages))
        slot.set_class(bool(messages), "-shown")
        screen.query_one(f"#field-{spec.name}").set_class(bool(messages), "-error")
    summary = screen.query_one(f"#{summary_id}", Static)
    summary.update("\n".join(others))
    summary.set_class(bool(others), "-shown")
    for spec in specs:
        if spec.name in by_field:
            screen.query_one(f"#field-{spec.name}").focus()
            break


def show_error(widget: Static, message: str) -> None:
    """Fill (or empty) one of the screen's error lines."""
    widget.update(message)
    widget.set_class(bool(message), "-shown")


def save_and_cancel(where: str) -> list[Binding]:
    """A form's keys: ctrl+s saves, escape cancels (their ids start with ``where``, for the help
    screen)."""
    return [
        Binding("ctrl+s", "save", N_("save"), id=f"{where}.save", priority=True),
        Binding("escape", "cancel", N_("cancel"), id=f"{where}.cancel"),
    ]


#: The key that answers yes, per language (oui / yes); n answers no in both.
YES_KEYS = {"fr": "o", "en": "y"}


def yes_key() -> str:
    """The key that answers yes in the UI language."""
    return YES_KEYS.get(current_language(), "y")


def answer_bindings(where: str) -> list[Binding]:
    """The keys of a yes/no question: the yes key of every language (only the UI language's
    works and is shown), n or escape for no. Ids start with ``where``, for the help screen, and
    end with the language of the yes key (:func:`~fabriqueterm.tui.screens.help.binding_language`)."""
    return [
        *(
            Binding(key, f"yes('{language}')", N_("yes"), id=f"{where}.yes.{language}")
            for language, key in YES_KEYS.items()
        ),
        Binding("n,escape", "answer(False)", N_("no"), id=f"{where}.no"),
    ]


class YesNoQuestion(TypingKeys, ModalScreen[bool]):
    """A question answered with the keys of :func:`answer_bindings` or its buttons."""

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "yes":  # the yes key of the other language does nothing
            return parameters == (current_language(),)
        return True

    def action_yes(self, _language: str) -> None:
        self.dismiss(True)

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)


class ModalForm(TypingKeys, AppAccess, ModalScreen[ResultT]):
    """A modal form's save and cancel (Esc in a field goes to the buttons first:
    :mod:`fabriqueterm.tui.keys`). Its buttons are ``#<FORM>-save`` and ``#<FORM>-cancel`` and
    the line for the messages about no field of the form ``#<FORM>-errors``; a form says how it
    saves (:meth:`submit`) and which fields its messages go next to (:meth:`form_fields`)."""

    #: The start of the ids of the form's buttons and error line.
    FORM: ClassVar[str] = "form"
    #: What the form is dismissed with when cancelled.
    CANCELLED: ClassVar[Any] = None

    def form_fields(self) -> Sequence[FormField]:
        raise NotImplementedError

    def submit(self) -> ResultT:
        """Save what the fields hold and return what the form is dismissed with, or raise
        :class:`DomainValidationError` (then nothing was saved)."""
        raise NotImplementedError

    def action_save(self) -> None:
        try:
            result = self.submit()
        except DomainValidationError as error:
            self.show_field_errors(error.errors)
            return
        self.dismiss(result)

    def show_field_errors(self, errors: Sequence[FieldError]) -> None:
        show_errors(self, self.form_fields(), errors, f"{self.FORM}-errors")
        self.app.bell()

    def action_cancel(self) -> None:
        self.dismiss(self.CANCELLED)

    @on(Button.Pressed)
    def _button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == f"{self.FORM}-save":
            self.action_save()
        elif event.button.id == f"{self.FORM}-cancel":
            self.action_cancel()

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_save()
