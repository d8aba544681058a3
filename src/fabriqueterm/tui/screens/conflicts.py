"""Conflicts as a person decides them: what each is about in words (the learner and their cohort,
or the cohort, partner or site), each field by its form label, each value in words, and who made
each value and when (docs/sync.md, "Conflicts").

:class:`ConflictScreen` lists one record's conflicts with the focus on the list: ``m`` keeps
mine, ``t`` takes theirs, ``e`` types another value; the choice is applied at once and the next
conflict is highlighted. The sync screen offers the same keys on its own list.
"""

from __future__ import annotations

import json
import types
import typing
from datetime import date, datetime
from enum import StrEnum
from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, DataTable, Label, Static

from fabriqueterm.domain.enums import Milestone, PartnerKind
from fabriqueterm.domain.labels import entity_label, field_label
from fabriqueterm.domain.validation import (
    INPUT_MODELS,
    DomainValidationError,
)
from fabriqueterm.i18n import N_, _, current_language
from fabriqueterm.store.replica import Replica
from fabriqueterm.store.repositories.conflicts import ConflictLine, ConflictRepository
from fabriqueterm.tui.format import format_date, format_phone, yes_no
from fabriqueterm.tui.screens.base import AppAccess
from fabriqueterm.tui.screens.modal import FormField, ModalForm, render_field, save_and_cancel

#: Entities whose conflicts a repository update can settle ("take mine", "edit").
REPOSITORIES = {
    "site": "sites",
    "partner": "partners",
    "cohort": "cohorts",
    "learner": "learners",
    "placement": "placements",
    "follow_up": "follow_ups",
}
#: Entities a learner's history covers: there, "mine" is known to be this computer's change.
_HISTORY_ENTITIES = ("learner", "follow_up", "placement")
#: Fields whose value a person may type again ("edit"): text, numbers, dates, phone, email.
_TYPED = ("str", "int", "date")


def _annotation_parts(annotation: Any) -> list[Any]:
    """The plain types inside an annotation (``Annotated``, ``X | None`` unwrapped)."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _annotation_parts(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return [p for a in typing.get_args(annotation) for p in _annotation_parts(a)]
    return [annotation]


def field_kind(entity: str, field: str) -> Any:
    """What a field holds, from its input rule: a StrEnum class, or "bool", "date", "int", "str",
    "ref" (another row's id), "kinds" (partner kinds) or "" when unknown."""
    if field == "kinds":
        return "kinds"
    if field.endswith("_id"):
        return "ref"
    model = INPUT_MODELS.get(entity)
    info = model.model_fields.get(field) if model else None
    if info is None:
        return ""
    for part in _annotation_parts(info.annotation):
        if isinstance(part, type) and issubclass(part, StrEnum):
            return part
        for plain in (bool, date, int, str):  # bool before int: a bool is an int
            if isinstance(part, type) and issubclass(part, plain):
                return plain.__name__
    return ""


def field_name(field: str) -> str:
    """A field as the forms label it ("phone" -> "téléphone"); "*" is the whole record."""
    if field == "*":
        return _("the whole record")
    return field_label(field)


def value_in_words(
    line: ConflictLine, text: str | None, names: dict[str, str] | None = None
) -> str:
    """A conflict value (JSON text) as a person reads it: enum values by their label, dates as
    dd/mm/yyyy, booleans yes/no, an empty value "(empty)", never a code."""
    if text is None:
        return _("(deleted)") if line.kind == "deleted" else _("(erased)")
    try:
        value = json.loads(text)
    except ValueError:
        return text
    if value is None or value == "":
        return _("(empty)")
    kind = field_kind(line.row_entity, line.field)
    if isinstance(value, bool) or kind == "bool":
        return yes_no(bool(value))
    if isinstance(kind, type) and issubclass(kind, StrEnum):
        try:
            return str(kind(value).label)  # type: ignore[attr-defined]
        except ValueError:
            return str(value)
    if kind == "kinds":
        labels = []
        for code in str(value).split(","):
            try:
                labels.append(PartnerKind(code.strip()).label)
            except ValueError:
                labels.append(code)
        return ", ".join(labels)
    if kind == "date":
        try:
            return format_date(date.fromisoformat(str(value)))
        except ValueError:
            return str(value)
    if kind == "ref":
        return (names or {}).get(str(value), _("(another record)"))
    if line.field == "phone":
        return format_phone(str(value))
    return str(value)


def _day(local: datetime) -> str:
    return local.strftime("%d/%m") if current_language() == "fr" else local.strftime("%m/%d")


def _when(stamp: datetime) -> str:
    """ "on 07/12 at 10:42", in local time."""
    local = stamp.astimezone()
    return _("on {day} at {time}").format(day=_day(local), time=local.strftime("%H:%M"))


def theirs_by(line: ConflictLine, *, short: bool = False) -> str:
    """Who made the commons' value, and when: the colleague whose write is on the commons
    ("Camille Martin (colleague), on 07/12 at 10:40"; ``short``: "Camille Martin, 07/12 10:40")."""
    if line.server_author_id is not None and line.server_author_id == line.coordinator_id:
        who = _("you, on another device")
    elif line.server_author_name:
        who = line.server_author_name
        if not short:
            who = _("{name} (colleague)").format(name=who)
    else:
        who = _("a colleague")
    if line.server_changed_at is None:
        return who
    if short:
        local = line.server_changed_at.astimezone()
        return f"{who}, {_day(local)} {local.strftime('%H:%M')}"
    return f"{who}, {_when(line.server_changed_at)}"


def mine_by(line: ConflictLine) -> str:
    """Who made the value sent from here, and when."""
    if line.mine_changed_at is not None or line.row_entity not in _HISTORY_ENTITIES:
        return _("you, on this computer, {when}").format(
            when=_when(line.mine_changed_at or line.detected_at)
        )
    who = line.coordinator_name or _("a colleague")
    return f"{who}, {_when(line.detected_at)}"


def subject(line: ConflictLine, *, short: bool = False) -> str:
    """What the conflict is about, in words: "Inès Martin (Promo 1) · follow-up 3 months", a
    cohort's, partner's or site's name (``short``: without the cohort)."""
    if line.row_entity in _HISTORY_ENTITIES:
        name = line.learner_name or _("an erased learner")
        text = f"{name} ({line.cohort_name})" if line.cohort_name and not short else name
        if line.row_entity == "follow_up" and line.milestone:
            try:
                milestone = Milestone(line.milestone).label
            except ValueError:
                milestone = ""
            return f"{text} · {entity_label('follow_up')} {milestone}".rstrip()
        if line.row_entity == "placement":
            return f"{text} · {entity_label('placement')}"
        return text
    if line.row_entity == "cohort":
        return line.cohort_name or entity_label("cohort")
    return line.other_name or entity_label(line.row_entity)


def reference_ids(lines: list[ConflictLine]) -> set[str]:
    """The ids held by reference fields' values, to name them."""
    found: set[str] = set()
    for line in lines:
        if field_kind(line.row_entity, line.field) != "ref":
            continue
        for text in (line.server_value, line.client_value, line.base_value):
            value = json.loads(text) if text else None
            if isinstance(value, str):
                found.add(value)
    return found


class Decider:
    """Applies a choice to one conflict: the record marked resolved, and for mine or an edited
    value a normal update of the field through its repository (a new outbox mutation)."""

    def __init__(self, store: Any):
        self.store = store

    def can_take_mine(self, line: ConflictLine) -> bool:
        return (
            line.kind == "field"
            and line.row_entity in REPOSITORIES
            and line.client_value is not None
        )

    def can_edit(self, line: ConflictLine) -> bool:
        return (
            line.kind == "field"
            and line.row_entity in REPOSITORIES
            and field_kind(line.row_entity, line.field) in _TYPED
        )

    def keep_theirs(self, line: ConflictLine) -> None:
        Replica(self.store).resolve_conflict(line.id, "kept_server")

    def take_mine(self, line: ConflictLine) -> None:
        if not self.can_take_mine(line):
            raise ValueError(_("this conflict can only be settled by keeping the commons' value"))
        assert line.client_value is not None
        self._update(line, json.loads(line.client_value))
        Replica(self.store).resolve_conflict(line.id, "took_client")

    def take_typed(self, line: ConflictLine, value: Any) -> None:
        self._update(line, value)
        Replica(self.store).resolve_conflict(line.id, "edited")

    def _update(self, line: ConflictLine, value: Any) -> None:
        repository = getattr(self.store, REPOSITORIES[line.row_entity])
        repository.update(line.row_id, {line.field: value})


def decide_bindings(where: str) -> list[Binding]:
    """The keys that decide the highlighted conflict (ids start with ``where``)."""
    return [
        Binding("m", "decide('mine')", N_("keep mine"), id=f"{where}.mine"),
        Binding("t", "decide('theirs')", N_("take theirs"), id=f"{where}.theirs"),
        Binding("e", "decide('edit')", N_("type another value"), id=f"{where}.edit"),
    ]


class EditValueForm(ModalForm[bool]):
    """Type a third value for one conflicting field; saved as a normal update of the field and
    the conflict marked ``edited``. Dismissed with True once saved."""

    FORM = "conflict-edit"
    CANCELLED = False
    BINDINGS: ClassVar = save_and_cancel("conflict.edit")

    def __init__(self, line: ConflictLine, names: dict[str, str]):
        super().__init__()
        self.line = line
        kind = field_kind(line.row_entity, line.field)
        mine = json.loads(line.client_value) if line.client_value else None
        if kind == "date" and mine:
            mine = format_date(date.fromisoformat(str(mine)))
        elif line.field == "phone" and mine:
            mine = format_phone(str(mine))
        self.spec = FormField(
            line.field,
            kind="date" if kind == "date" else ("int" if kind == "int" else "text"),
            value=mine,
        )
        self.names = names

    def form_fields(self) -> list[FormField]:
        return [self.spec]

    def compose(self) -> ComposeResult:
        with Vertical(id="conflict-edit-dialog", classes="dialog"):
            yield Label(
                _("Another value for {field} of {what}").format(
                    field=field_name(self.line.field), what=subject(self.line)
                ),
                classes="dialog-title",
            )
            yield Static(
                _("Theirs: {theirs} · mine: {mine}").format(
                    theirs=value_in_words(self.line, self.line.server_value, self.names),
                    mine=value_in_words(self.line, self.line.client_value, self.names),
                ),
                classes="dialog-help",
            )
            yield from render_field(self.spec)
            yield Static("", id="conflict-edit-errors", classes="form-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button(_("Save"), id="conflict-edit-save", variant="primary")
                yield Button(_("Cancel"), id="conflict-edit-cancel")

    def submit(self) -> bool:
        from fabriqueterm.tui.screens.modal import read_field

        Decider(self.store).take_typed(self.line, read_field(self, self.spec))
        return True


class ConflictScreen(AppAccess, ModalScreen[int]):
    """One record's conflicts, field by field: before, theirs (who, when), mine (who, when).
    ``m`` keeps mine, ``t`` takes theirs, ``e`` types another value; the next field is then
    highlighted. Dismissed with the number of fields decided."""

    DEFAULT_CSS = """
    ConflictScreen #conflict-dialog { width: 96%; max-width: 150; }
    ConflictScreen #conflict-fields { height: auto; max-height: 16; }
    """

    BINDINGS: ClassVar = [
        *decide_bindings("conflict"),
        Binding("escape", "close", N_("close"), id="conflict.close"),
    ]

    def __init__(self, lines: list[ConflictLine], names: dict[str, str] | None = None) -> None:
        super().__init__()
        self.lines = {line.id: line for line in lines}
        self.names = names or {}
        self.decided = 0

    def compose(self) -> ComposeResult:
        first = next(iter(self.lines.values()))
        with Vertical(id="conflict-dialog", classes="dialog"):
            yield Label(
                _("Conflict: {what}").format(what=subject(first)),
                id="conflict-title",
                classes="dialog-title",
            )
            yield Static(
                _(
                    "The same field was changed here and on the commons. The commons kept its value "
                    "for now; nothing is lost until you choose."
                ),
                classes="dialog-help",
            )
            table: DataTable[Any] = DataTable(id="conflict-fields", cursor_type="row")
            table.add_column(_("Field"), key="field")
            table.add_column(_("Before"), key="base")
            table.add_column(_("Theirs (commons)"), key="theirs")
            table.add_column(_("Mine"), key="mine")
            for line in self.lines.values():
                table.add_row(
                    field_name(line.field),
                    value_in_words(line, line.base_value, self.names),
                    value_in_words(line, line.server_value, self.names),
                    value_in_words(line, line.client_value, self.names),
                    key=line.id,
                )
            yield table
            yield Static("", id="conflict-who", classes="dialog-help")
            yield Static("", id="conflict-errors", classes="form-error")
            yield Static(
                _("m keep mine · t take theirs · e type another value · esc close"),
                classes="dialog-keys",
            )

    def on_mount(self) -> None:
        self.query_one("#conflict-fields", DataTable).focus()
        self._show_who()

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show_who()

    def highlighted(self) -> ConflictLine | None:
        table = self.query_one("#conflict-fields", DataTable)
        if not table.row_count:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return self.lines.get(str(key))

    def _show_who(self) -> None:
        line = self.highlighted()
        if line is None:
            return
        self.query_one("#conflict-who", Static).update(
            _("Theirs: {theirs}\nMine: {mine}").format(theirs=theirs_by(line), mine=mine_by(line))
        )

    def action_decide(self, choice: str) -> None:
        line = self.highlighted()
        if line is None:
            return
        decider = Decider(self.store)
        if choice == "edit":
            if not decider.can_edit(line):
                self._refuse(_("This value cannot be typed: keep mine or take theirs."))
                return
            self.app.push_screen(
                EditValueForm(line, self.names), lambda saved: saved and self._decided(line)
            )
            return
        try:
            if choice == "mine":
                decider.take_mine(line)
            else:
                decider.keep_theirs(line)
        except (DomainValidationError, LookupError, ValueError) as error:
            self._refuse(_("Could not take your value: {error}").format(error=error))
            return
        self._decided(line)

    def _refuse(self, message: str) -> None:
        self.query_one("#conflict-errors", Static).update(message)
        self.app.bell()

    def _decided(self, line: ConflictLine) -> None:
        self.query_one("#conflict-errors", Static).update("")
        self.decided += 1
        del self.lines[line.id]
        self.query_one("#conflict-fields", DataTable).remove_row(line.id)
        if not self.lines:
            self.dismiss(self.decided)
            return
        self._show_who()  # the row below moved up under the cursor: the next conflict

    def action_close(self) -> None:
        self.dismiss(self.decided)


def load_conflicts(store: Any) -> tuple[list[ConflictLine], dict[str, str]]:
    """The open conflicts and the names of the rows their reference values point to."""
    repository = ConflictRepository(store)
    lines = repository.open()
    return lines, repository.names(reference_ids(lines))
