"""The status bar at the bottom of every screen: today's date, the demo badge and the sync slot."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Static

from fabriqueterm.i18n import _
from fabriqueterm.tui.format import format_date
from fabriqueterm.tui.messages import SyncPhase, SyncState

if TYPE_CHECKING:
    from fabriqueterm.tui.app import FabriqueApp


class SyncIndicator(Static):
    """The slot the sync engine feeds (through ``FabriqueApp.report_sync_status``)."""

    def on_mount(self) -> None:
        app = cast("FabriqueApp", self.app)
        app.sync_signal.subscribe(self, self.show_state)
        self.show_state(app.sync_state)

    def show_state(self, state: SyncState) -> None:
        self.update(state.label())
        for phase in SyncPhase:
            self.set_class(state.phase == phase, f"-{phase.value.replace('_', '-')}")


class StatusBar(Horizontal):
    """Bottom line: where and when the coordinator is, and where sync stands."""

    def compose(self) -> ComposeResult:
        app = cast("FabriqueApp", self.app)
        parts = [_("Today: {date}").format(date=format_date(app.clock.today()))]
        if app.demo:
            parts.append(_("demo data"))
        yield Static(" · ".join(parts), id="status-where")
        yield SyncIndicator(id="sync-status")
