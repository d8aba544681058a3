"""A choice among a few options, each shown with its number: the number key picks one (the call
form's outcome and situation)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Label, RadioButton, RadioSet, Static

from fabriqueterm.tui.screens.modal import FormField


class KeyedChoice(RadioSet):
    """A choice among a few options shown with their number: the number key picks one."""

    BINDINGS: ClassVar = [
        Binding(str(number), f"pick({number - 1})", show=False) for number in range(1, 10)
    ]

    def __init__(self, options: Sequence[tuple[str, str]], *, id: str) -> None:
        self.codes = [value for _label, value in options]
        buttons = [RadioButton(f"{n} {label}") for n, (label, _value) in enumerate(options, 1)]
        super().__init__(*buttons, id=id)

    def action_pick(self, index: int) -> None:
        buttons = list(self.query(RadioButton))
        if 0 <= index < len(buttons):
            buttons[index].value = True
            self._selected = index
            self.refresh()

    @property
    def code(self) -> str | None:
        """The value of the option picked, None while none is."""
        index = self.pressed_index
        return self.codes[index] if index >= 0 else None


def render_choice(spec: FormField) -> ComposeResult:
    """A :class:`KeyedChoice` laid out as a form field (label, the options, the error slot)."""
    with Vertical(classes="form-field", id=f"row-{spec.name}"):
        yield Label(spec.title(), classes="form-label")
        yield KeyedChoice(spec.options, id=f"field-{spec.name}")
        yield Static("", id=f"error-{spec.name}", classes="form-error")
