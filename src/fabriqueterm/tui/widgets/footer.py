"""The footer, showing binding descriptions in the UI language.

Bindings are declared once per class with English msgids (marked with ``N_``); the language can
change while the app runs, so they are translated when the footer is drawn.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Footer

# Private module: Textual 8.2.8 exports only Footer, not the FooterKey/FooterLabel it composes, and
# has no hook to translate a binding's description as it is drawn. Check on each Textual upgrade.
from textual.widgets._footer import FooterKey, FooterLabel

from fabriqueterm.i18n import _


class TranslatedFooter(Footer):
    """Textual's footer with every description passed through ``_()``."""

    def compose(self) -> ComposeResult:
        for widget in super().compose():
            if isinstance(widget, FooterKey):
                widget.description = _(widget.description) if widget.description else ""
                if widget.tooltip:
                    widget.tooltip = _(str(widget.tooltip))
            elif isinstance(widget, FooterLabel):
                widget.update(_(str(widget.content)))
            yield widget
