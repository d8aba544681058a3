"""Keys a person can trust, for every screen and dialog of the app (:class:`TypingKeys`).

- While a text field has focus (an input, a text area, a select), a letter, a digit or a sign is
  typed into it: no single-key shortcut of the screen or the app fires (ctrl+… and function keys
  still do). A key the field itself answers to (space opens a select) still works.
- Esc leaves a text field first, for the screen's next level (its list, the dialog's buttons); a
  second Esc then cancels the dialog, or goes back from a detail screen.
- When a dialog closes, the focus comes back where it was; if that widget is gone or hidden, it
  goes to the screen's next level.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from textual import events
from textual.widgets import Button, Input, OptionList, Select, TextArea

if TYPE_CHECKING:
    from textual.screen import Screen
    from textual.widget import Widget


def is_text_field(widget: Widget | None) -> bool:
    """Whether ``widget`` takes typed characters: an input (masked or not), an editable text area,
    a select (typing searches its options)."""
    if isinstance(widget, TextArea):
        return not widget.read_only
    if isinstance(widget, OptionList):  # the open list of a select: typing searches it
        return isinstance(widget.parent, Select)
    return isinstance(widget, (Input, Select))


def answered_inside(screen: Screen, focused: Widget, key: str) -> bool:
    """Whether the focused widget (or a widget holding it, below the screen) has a binding for
    ``key``: then the key is its own (space on a select, escape in an open select list)."""
    active = screen.active_bindings.get(key)
    if active is None:
        return False
    node = active.node
    return node is not screen and node is not screen.app and node in (focused, *focused.ancestors)


class TypingKeys:
    """Mixed into every screen and modal dialog: see the module docstring. A screen says where Esc
    goes from a text field with :meth:`escape_target`."""

    def escape_target(self) -> Widget | None:
        """Where Esc in a text field sends the focus: a dialog's first button; a screen's
        ``AUTO_FOCUS`` widget (its list) when that is not a text field; else nowhere (the
        screen's and the app's keys then work)."""
        screen = cast("Screen", self)
        buttons = [button for button in screen.query(Button) if button.focusable]
        if screen.is_modal and buttons:
            return buttons[0]
        selector = screen.AUTO_FOCUS
        if selector:
            for widget in screen.query(selector):
                if widget.focusable and not is_text_field(widget):
                    return widget
        return None

    def on_key(self, event: events.Key) -> None:
        screen = cast("Screen", self)
        focused = screen.focused
        if not is_text_field(focused) or focused is None:
            return
        if event.key == "escape":
            if answered_inside(screen, focused, "escape"):
                return
            event.stop()
            event.prevent_default()
            screen.set_focus(self.escape_target())
        elif event.is_printable and not answered_inside(screen, focused, event.key):
            # Typed, not a shortcut: the event goes no further up (the app's bindings are
            # checked when it reaches the app).
            event.stop()

    def on_screen_resume(self) -> None:
        """Back from a dialog: Textual gives the focus back to the widget that had it; when that
        widget is gone or hidden, the screen's next level has it."""
        screen = cast("Screen", self)
        focused = screen.focused
        if focused is not None and (not focused.is_attached or not focused.display):
            screen.set_focus(self.escape_target())
