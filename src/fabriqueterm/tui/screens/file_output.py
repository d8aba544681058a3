"""Writing a file from the app: where to (a path input that completes folder and file names), a
question before replacing a file, and the write itself, readable by its owner only.

Files go where people find them: the documents folder by default (:attr:`Paths.documents_dir`),
a relative path is relative to it, a bare name gets the format's extension, and the full path is
said once written."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Iterable
from pathlib import Path, PurePath
from typing import ClassVar

from textual import on
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.suggester import Suggester
from textual.widgets import Button, Input, Label, Static

from fabriqueterm.config import Paths
from fabriqueterm.files import create_private_file
from fabriqueterm.i18n import N_, _


class TargetError(ValueError):
    """A path the app cannot write to; the message says why and what to type instead."""


def complete_path(
    value: str, suffixes: tuple[str, ...] = (), base: Path | None = None
) -> str | None:
    """``value`` completed with the first folder or file name it starts (folders end with "/";
    files only with one of ``suffixes`` when given), a relative ``value`` inside ``base`` (else the
    current folder); None when nothing matches."""
    if not value:
        return None
    typed = Path(value).expanduser()
    if base is not None and not typed.is_absolute():
        typed = base / typed
    folder, start = (typed, "") if value.endswith(os.sep) else (typed.parent, typed.name)
    try:
        entries = sorted(os.scandir(folder), key=lambda entry: entry.name.casefold())
    except OSError:
        return None
    for entry in entries:
        name = entry.name
        if (
            not name.startswith(start)
            or name == start
            or (name.startswith(".") and not start.startswith("."))
        ):
            continue
        try:
            is_dir = entry.is_dir()
        except OSError:
            continue
        if not is_dir and suffixes and not name.casefold().endswith(suffixes):
            continue
        return value + name[len(start) :] + (os.sep if is_dir else "")
    return None


class PathSuggester(Suggester):
    """Suggests the rest of a folder or file name while a path is typed (→ accepts it)."""

    def __init__(self, suffixes: tuple[str, ...] = (), base: Path | None = None) -> None:
        # Not cached: folders change while the app runs.
        super().__init__(use_cache=False, case_sensitive=True)
        self.suffixes = suffixes
        self.base = base

    async def get_suggestion(self, value: str) -> str | None:
        return await asyncio.to_thread(complete_path, value, self.suffixes, self.base)


def documents_folder(app: App[object]) -> Path:
    """Where the app writes files for people by default: the documents folder of the app's paths
    (``$FABRIQUETERM_HOME/documents`` in tests and the demo)."""
    paths = getattr(app, "paths", None)
    return (paths if isinstance(paths, Paths) else Paths.default()).documents_dir


def shown_path(path: Path) -> str:
    """A path as a person would type it: ~/… inside their home folder."""
    home = Path.home()
    if path.is_relative_to(home) and path != home:
        return f"~{os.sep}{path.relative_to(home)}"
    return str(path)


def has_extension(name: str) -> bool:
    """Whether a file name ends with an extension ("notes.txt", "bilan.S48"), not a bare name
    ("synthese", "bilan 23.11.2026": digits only are no extension)."""
    suffix = PurePath(name).suffix[1:]
    return suffix.isalnum() and not suffix.isdigit()


def with_extension(text: str, extension: str, known: Iterable[str]) -> str:
    """``text`` (a typed path) ending with ``.extension`` when it ends with another of the
    ``known`` extensions (case aside); unchanged otherwise."""
    stripped = text.rstrip()
    if not stripped or stripped.endswith(os.sep):
        return text
    suffix = PurePath(stripped).suffix
    others = {other.casefold() for other in known} - {extension.casefold()}
    if suffix[1:].casefold() in others:
        return f"{stripped[: -len(suffix)]}.{extension}"
    return text


def resolve_target(
    text: str,
    default_name: str,
    folder: Path,
    *,
    extension: str = "",
    known: Iterable[str] = (),
) -> Path:
    """The file to write for the path a person typed: ``~`` expanded, relative to ``folder`` (the
    documents folder), ``default_name`` inside it when it is a folder. With ``extension``, a bare
    name gets it and a name ending with another of the ``known`` extensions gets it instead (the
    extension follows the format). ``folder`` is created when missing; :class:`TargetError` when
    the text is empty or names a folder that does not exist (a typo should not create folders)."""
    text = text.strip()
    if not text:
        raise TargetError(_("Give the file's name, e.g. {example}.").format(example=default_name))
    if extension:
        text = with_extension(text, extension, known)
    path = Path(text).expanduser()
    if not path.is_absolute():
        path = folder / path
    try:
        if folder in (path, path.parent):
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        if path.is_dir():
            path = path / default_name
        elif extension and not has_extension(path.name):
            path = path.with_name(f"{path.name}.{extension}")
        folder_exists = path.parent.is_dir()
        if folder_exists and path.exists() and not path.is_file():
            raise TargetError(
                _("{file} is not a file: choose another name.").format(file=shown_path(path))
            )
    except OSError as error:  # a name too long, a folder that cannot be listed…
        raise TargetError(write_error_message(path, error)) from None
    if not folder_exists:
        raise TargetError(
            _("The folder {folder} does not exist: choose an existing folder.").format(
                folder=shown_path(path.parent)
            )
        )
    return path


def write_private_file(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path``, replacing it, readable by its owner only (mode 0600)."""
    create_private_file(path)
    descriptor = os.open(path, os.O_WRONLY | os.O_TRUNC)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)
    # A file that existed before keeps its old mode through O_TRUNC: made private too.
    os.chmod(path, 0o600)


def write_error_message(path: Path, error: OSError) -> str:
    """What to tell a person when ``path`` cannot be written."""
    return _("{file} cannot be written ({detail}). Choose another folder or file name.").format(
        file=shown_path(path), detail=error.strerror or error
    )


class ReplaceScreen(ModalScreen[bool]):
    """Ask before replacing an existing file; "no" is the default."""

    BINDINGS: ClassVar = [
        Binding("y", "answer(True)", N_("yes"), id="replace.yes"),
        Binding("n,escape", "answer(False)", N_("no"), id="replace.no"),
    ]

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path

    def compose(self) -> ComposeResult:
        with Vertical(id="replace-dialog", classes="dialog"):
            yield Label(_("Replace {file}?").format(file=self.path.name), classes="dialog-title")
            yield Static(
                _("{file} already exists; its content will be lost.").format(
                    file=shown_path(self.path)
                ),
                classes="dialog-help",
            )
            with Horizontal(classes="dialog-buttons"):
                yield Button(_("Replace"), variant="warning", id="replace-yes")
                yield Button(_("Keep it"), id="replace-no")
            yield Static(_("y replace · n or esc keep"), classes="dialog-keys")

    def on_mount(self) -> None:
        self.query_one("#replace-no", Button).focus()

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "replace-yes")


def unless_kept(app: App[object], path: Path, write: Callable[[], None]) -> None:
    """Run ``write`` now if ``path`` does not exist, or once the person agrees to replace it."""
    try:
        exists = path.exists()
    except OSError:
        exists = False  # the write then says why the path cannot be used
    if not exists:
        write()
        return

    def answer(replace: bool | None) -> None:
        if replace:
            write()

    app.push_screen(ReplaceScreen(path), answer)


class FilePathScreen(ModalScreen[Path | None]):
    """Ask where to write a file (the default path ready to accept); dismissed with the resolved
    path, or None when cancelled."""

    BINDINGS: ClassVar = [
        Binding("ctrl+s", "choose", N_("write"), id="file_path.write", priority=True),
        Binding("escape", "cancel", N_("cancel"), id="file_path.cancel"),
    ]

    def __init__(self, title: str, help_text: str, default: Path, *, extension: str = "") -> None:
        """``default`` is the file offered; a relative path is relative to its folder, and a bare
        name gets ``extension``."""
        super().__init__()
        self.dialog_title = title
        self.help_text = help_text
        self.default = default
        self.extension = extension

    def compose(self) -> ComposeResult:
        with Vertical(id="file-path-dialog", classes="dialog"):
            yield Label(self.dialog_title, classes="dialog-title")
            yield Static(self.help_text, classes="dialog-help")
            yield Label(_("File"), classes="form-label")
            yield Input(
                shown_path(self.default),
                id="file-path",
                suggester=PathSuggester(base=self.default.parent),
            )
            yield Static("", id="file-path-error", classes="form-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button(_("Write"), variant="primary", id="file-path-write")
                yield Button(_("Cancel"), id="file-path-cancel")
            yield Static(
                _("enter or ctrl+s write · esc cancel · → completes a name"), classes="dialog-keys"
            )

    def on_mount(self) -> None:
        self.query_one("#file-path", Input).focus()

    def action_choose(self) -> None:
        error = self.query_one("#file-path-error", Static)
        try:
            path = resolve_target(
                self.query_one("#file-path", Input).value,
                self.default.name,
                self.default.parent,
                extension=self.extension,
            )
        except TargetError as problem:
            error.update(str(problem))
            error.add_class("-shown")
            self.app.bell()
            return
        self.dismiss(path)

    def action_cancel(self) -> None:
        self.dismiss(None)

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_choose()

    @on(Button.Pressed, "#file-path-write")
    def _write_pressed(self) -> None:
        self.action_choose()

    @on(Button.Pressed, "#file-path-cancel")
    def _cancel_pressed(self) -> None:
        self.action_cancel()
