"""A learner's personal data from their detail screen: export everything held about them as JSON
(right of access) and erase them (right to be forgotten), through
:mod:`fabriqueterm.reports.personal_data`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Button, Input, Label, Static

from fabriqueterm.domain.models import Learner
from fabriqueterm.i18n import N_, _
from fabriqueterm.reports.personal_data import (
    ErasePreview,
    LearnerNotFound,
    erase_learner,
    erase_preview,
    personal_data_json,
)
from fabriqueterm.tui.keys import TypingKeys
from fabriqueterm.tui.screens.base import FabriqueScreen
from fabriqueterm.tui.screens.file_output import (
    FilePathScreen,
    documents_folder,
    unless_kept,
    write_error_message,
    write_private_file,
)


@dataclass(frozen=True)
class Done:
    """A background step finished: ``error`` says what went wrong, if anything."""

    error: str = ""


def full_name(learner: Learner) -> str:
    return f"{learner.first_name} {learner.last_name}".strip()


def personal_data_filename(learner: Learner) -> str:
    """``apprenant-<id>.json``: no name in it, file names show in folder listings."""
    return f"apprenant-{learner.id}.json"


def export_personal_data(screen: FabriqueScreen, learner: Learner) -> None:
    """Ask where (the documents folder by default), then write everything held about ``learner``
    as JSON (mode 0600) and say the file's full path."""
    store, name = screen.store, full_name(learner)

    def write(path: Path) -> None:
        def job() -> Done:
            try:
                data = personal_data_json(store, learner.id).encode("utf-8")
            except LearnerNotFound:
                return Done(_("This learner no longer exists."))
            try:
                write_private_file(path, data)
            except OSError as error:
                return Done(write_error_message(path, error))
            return Done()

        def done(outcome: Done) -> None:
            if outcome.error:
                screen.notify(
                    outcome.error, title=_("Nothing written"), severity="error", timeout=10
                )
            else:
                screen.notify(
                    _("Personal data of {name} written to {file} (readable by you only).").format(
                        name=name, file=path
                    ),
                    timeout=10,
                )

        screen.load("personal-data", job, done)

    def chosen(path: Path | None) -> None:
        if path is not None:
            unless_kept(screen.app, path, lambda: write(path))

    screen.app.push_screen(
        FilePathScreen(
            _("Export the personal data of {name}").format(name=name),
            _(
                "Everything this computer holds about them (profile, cohort, placements, follow-ups, history of "
                "changes, changes not yet synced), as a JSON file readable by you only. Hand it to them, then delete it."
            ),
            documents_folder(screen.app) / personal_data_filename(learner),
            extension="json",
        ),
        chosen,
    )


def ask_to_erase(screen: FabriqueScreen, learner: Learner) -> None:
    """Show what erasing ``learner`` wipes; erase once the person typed their last name; then go
    back from ``screen`` (the learner is a tombstone from then on)."""
    store, learner_id = screen.store, learner.id

    def erase(preview: ErasePreview) -> None:
        def job() -> Done:
            try:
                erase_learner(store, learner_id)
            except LearnerNotFound:
                return Done(_("This learner no longer exists."))
            return Done()

        def done(outcome: Done) -> None:
            screen.data_changed()
            if outcome.error:
                screen.notify(outcome.error, severity="warning")
            else:
                screen.notify(
                    _("{name} erased. The erasure reaches the commons at the next sync.").format(
                        name=preview.name
                    ),
                    timeout=10,
                )
            if screen.is_current and len(screen.app.screen_stack) > 1:
                screen.app.pop_screen()

        screen.load("personal-data", job, done)

    def confirm(preview: ErasePreview | None) -> None:
        if preview is None:
            screen.notify(_("This learner no longer exists."), severity="warning")
            return
        if preview.already_erased:
            screen.notify(_("Learner {id} is already erased.").format(id=preview.learner_id))
            return

        def answer(yes: bool | None) -> None:
            if yes:
                erase(preview)

        screen.app.push_screen(EraseLearnerScreen(preview, learner.last_name), answer)

    def query() -> ErasePreview | None:
        try:
            return erase_preview(store, learner_id)
        except LearnerNotFound:
            return None

    screen.load("personal-data", query, confirm)


class EraseLearnerScreen(TypingKeys, ModalScreen[bool]):
    """What erasing wipes, that it cannot be undone and reaches the commons; the erase button
    works only once the learner's last name is typed. Escape, "Keep" and a wrong name keep them."""

    BINDINGS: ClassVar = [Binding("escape", "keep", N_("keep"), id="erase.keep")]

    def __init__(self, preview: ErasePreview, last_name: str) -> None:
        super().__init__()
        self.preview = preview
        # With no last name on file (never saved without one), the id is typed instead.
        self.expected = last_name.strip() or preview.learner_id

    def compose(self) -> ComposeResult:
        preview = self.preview
        with Vertical(id="erase-dialog", classes="dialog"):
            yield Label(_("Erase a learner: right to be forgotten"), classes="dialog-title")
            yield Static(
                _(
                    "Erase {name} ({cohort}, {site})? Their name, email, phone, birth year and dropout reason are "
                    "wiped, and the notes of their {placements} placements and {follow_ups} follow-ups; the "
                    "erasure reaches the commons at the next sync. This cannot be undone."
                ).format(
                    name=preview.name or preview.learner_id,
                    cohort=preview.cohort_name,
                    site=preview.site_name,
                    placements=preview.placements,
                    follow_ups=preview.follow_ups,
                ),
                classes="dialog-help",
            )
            yield Label(
                _("To confirm, type their last name: {name}").format(name=self.expected),
                classes="form-label",
            )
            yield Input(id="erase-name")
            with Horizontal(classes="dialog-buttons"):
                yield Button(_("Erase for good"), variant="error", id="erase-yes", disabled=True)
                yield Button(_("Keep"), id="erase-no")
            yield Static(_("type the last name, then enter · esc keep"), classes="dialog-keys")

    def on_mount(self) -> None:
        self.query_one("#erase-name", Input).focus()

    def escape_target(self) -> Widget | None:
        return self.query_one("#erase-no", Button)  # never the erase button, even once it works

    def confirmed(self) -> bool:
        typed = self.query_one("#erase-name", Input).value
        return typed.strip().casefold() == self.expected.casefold()

    @on(Input.Changed, "#erase-name")
    def _typed(self) -> None:
        self.query_one("#erase-yes", Button).disabled = not self.confirmed()

    @on(Input.Submitted, "#erase-name")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if self.confirmed():
            self.dismiss(True)
        else:
            self.app.bell()

    @on(Button.Pressed, "#erase-yes")
    def _erase_pressed(self) -> None:
        if self.confirmed():
            self.dismiss(True)

    @on(Button.Pressed, "#erase-no")
    def _keep_pressed(self) -> None:
        self.dismiss(False)

    def action_keep(self) -> None:
        self.dismiss(False)
