"""The help screen: what the current screen is for and every key it answers to."""

from __future__ import annotations

import re
from typing import ClassVar

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding, BindingsMap
from textual.containers import Vertical, VerticalScroll
from textual.dom import DOMNode
from textual.screen import ModalScreen, Screen
from textual.widgets import Label, Static

from fabriqueterm.i18n import LANGUAGES, N_, _, current_language

#: Textual's names of keys, as a keyboard of the UI language labels them ("échap", "entrée").
KEY_NAMES = {
    "esc": N_("esc"),
    "escape": N_("esc"),
    "enter": N_("enter"),
    "del": N_("del"),
    "delete": N_("del"),
    "pgup": N_("pgup"),
    "pgdn": N_("pgdn"),
    "space": N_("space"),
}


def key_label(display: str) -> str:
    """A key as shown (``esc``, ``shift+tab``, ``↑ ↓ pgup pgdn``) in the UI language: each name
    Textual writes in English is translated, symbols and letters are kept."""
    return re.sub(
        r"[a-z]+",
        lambda word: _(KEY_NAMES[word[0]]) if word[0] in KEY_NAMES else word[0],
        display,
    )


def binding_language(binding: Binding) -> str | None:
    """The language a binding is for, when its id ends with one (``confirm.yes.fr``), else None:
    the help lists only the UI language's."""
    last = (binding.id or "").rpartition(".")[2]
    return last if last in LANGUAGES else None


def declared_bindings(node: DOMNode) -> list[Binding]:
    """The bindings the classes of ``node`` declare in ``BINDINGS``, merged down the class tree as
    Textual merges them (a key bound again in a subclass replaces the base's binding, in place).

    Not ``active_bindings``: those depend on the focus and on ``check_action``, and the help lists
    every key of the screen."""
    by_key: dict[str, list[Binding]] = {}
    for cls in reversed(type(node).__mro__):
        if issubclass(cls, DOMNode):
            by_key.update(BindingsMap(cls.__dict__.get("BINDINGS", [])).key_to_bindings)
    return [binding for bindings in by_key.values() for binding in bindings]


def bindings_table(title: str, bindings: list[tuple[str, str]]) -> Table:
    table = Table(
        title=title, title_justify="left", show_header=False, box=None, padding=(0, 2, 0, 0)
    )
    table.add_column(style="bold", no_wrap=True)
    table.add_column()
    for key, description in bindings:
        table.add_row(key, description)
    return table


class HelpScreen(ModalScreen[None]):
    """Keys of the screen below and of the whole app."""

    BINDINGS: ClassVar = [
        Binding("escape,f1,question_mark,q", "dismiss", N_("close"), id="help.close")
    ]

    def __init__(self, below: Screen) -> None:
        super().__init__()
        self.below = below

    def describe(self, node: DOMNode) -> list[tuple[str, str]]:
        seen: set[str] = set()
        rows = []
        for binding in declared_bindings(node):
            # Ours all have an id "<where>.<what>"; Textual's own (focus, copy…) are left out.
            if (
                not binding.description
                or not binding.id
                or "." not in binding.id
                or binding.action in seen
                or binding_language(binding) not in (None, current_language())
            ):
                continue
            seen.add(binding.action)
            rows.append((key_label(self.app.get_key_display(binding)), _(binding.description)))
        return rows

    def compose(self) -> ComposeResult:
        with Vertical(id="help-dialog", classes="dialog"):
            yield Label(_("Keys"), classes="dialog-title")
            with VerticalScroll():
                purpose = getattr(self.below, "HELP", "")
                if purpose:
                    yield Static(_(purpose), classes="dialog-help")
                screen_keys = self.describe(self.below)
                if screen_keys:
                    yield Static(bindings_table(_("On this screen"), screen_keys))
                everywhere = [
                    *self.describe(self.app),
                    ("ctrl+p", _("command palette: find a learner, a cohort, a site, a partner")),
                    ("ctrl+q", _("quit")),
                ]
                yield Static(bindings_table(_("Everywhere"), everywhere))
                yield Static(
                    bindings_table(
                        _("In lists and forms"),
                        [
                            (key_label("↑ ↓ pgup pgdn"), _("move in a list")),
                            (key_label("enter"), _("open the highlighted line")),
                            ("tab / shift+tab", _("next / previous field")),
                            ("ctrl+s", _("save a form")),
                            (key_label("esc"), _("cancel a form, go back")),
                        ],
                    )
                )
            yield Static(_("esc close"), classes="dialog-keys")
