"""A label and a checkbox that read whole or cut at a word, whatever the width they are given."""

from __future__ import annotations

from textual import events
from textual.widgets import Checkbox, Label

from fabriqueterm.tui.format import fit_words

#: Cells of a checkbox beside its label: the box (3) and the label's padding (1 each side).
_CHECKBOX_CELLS = 5


class FittedLabel(Label):
    """A label as wide as its container, its text cut at a word with "…" when it does not fit
    (:func:`~fabriqueterm.tui.format.fit_words`), never in the middle of a word."""

    DEFAULT_CSS = """
    FittedLabel {
        width: 100%;
    }
    """

    def __init__(self, text: str, *, id: str | None = None, classes: str | None = None) -> None:  # noqa: A002
        super().__init__(text, markup=False, id=id, classes=classes)
        self.text = text

    def on_resize(self, _event: events.Resize) -> None:
        width = self.content_size.width
        if width > 0:
            self.update(fit_words(self.text, width))


class FittedCheckbox(Checkbox):
    """A checkbox whose label is cut at a word with "…" when the width it is given is too short
    (a checkbox's label never wraps)."""

    def __init__(self, text: str, *, id: str | None = None) -> None:  # noqa: A002
        super().__init__(text, id=id)
        self.text = text

    def on_resize(self, _event: events.Resize) -> None:
        width = self.content_size.width - _CHECKBOX_CELLS
        if width > 0:
            self.label = fit_words(self.text, width)
