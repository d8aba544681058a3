"""The sections of the app (Textual modes, one key each) and how their screens are loaded.

Only the dashboard and the settings are imported with the app: the other sections' screens import
the data layer, so they are imported in a thread once the first frame is shown
(:mod:`fabriqueterm.tui.startup`), and made from their module when first opened.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable
from dataclasses import dataclass

from textual.binding import Binding
from textual.screen import Screen

from fabriqueterm.i18n import N_
from fabriqueterm.tui.screens.dashboard import DashboardScreen
from fabriqueterm.tui.screens.settings import SettingsScreen

#: Set once the data layer and every screen module are imported (see tui.startup).
MODULES_READY = threading.Event()
#: How long anything waits for the store to open before giving up with a message.
STORE_WAIT_SECONDS = 120.0


def screen_class(module: str, name: str) -> type[Screen]:
    """A screen class of :mod:`fabriqueterm.tui.screens`, once the background imports are done (no
    two threads import the same modules at once)."""
    MODULES_READY.wait(STORE_WAIT_SECONDS)
    return getattr(importlib.import_module(f"fabriqueterm.tui.screens.{module}"), name)


@dataclass(frozen=True)
class LazyScreen:
    """A section's screen, made from its module once imported (Textual's MODES accept callables)."""

    module: str
    name: str

    def __call__(self) -> Screen:
        return screen_class(self.module, self.name)()


_SECTIONS_GROUP = Binding.Group(N_("sections"), compact=True)


@dataclass(frozen=True)
class Section:
    """A section of the app: a Textual mode, reached by its key, in the palette and the help."""

    mode: str
    #: An English msgid (marked with ``N_``), translated where it is shown.
    label: str
    key: str
    #: A screen class, or a :class:`LazyScreen`.
    screen: Callable[[], Screen]

    def binding(self) -> Binding:
        return Binding(
            self.key,
            f"switch_section('{self.mode}')",
            self.label,
            id=f"section.{self.mode}",
            group=_SECTIONS_GROUP,
        )


#: The sections of the app, in the order of their keys.
SECTIONS = (
    Section("dashboard", N_("Dashboard"), "1", DashboardScreen),
    Section("queue", N_("To call"), "2", LazyScreen("queue", "FollowUpQueueScreen")),
    Section("cohorts", N_("Cohorts"), "3", LazyScreen("cohorts", "CohortsScreen")),
    Section("learners", N_("Learners"), "4", LazyScreen("learners", "LearnersScreen")),
    Section("partners", N_("Partners"), "5", LazyScreen("partners", "PartnersScreen")),
    Section("sites", N_("Sites"), "6", LazyScreen("sites", "SitesScreen")),
    Section("sync", N_("Sync"), "7", LazyScreen("sync", "SyncScreen")),
    Section("settings", N_("Settings"), "8", SettingsScreen),
    Section("summary", N_("Summary"), "9", LazyScreen("summary", "SummaryScreen")),
    Section("import", N_("Import"), "0", LazyScreen("importing", "ImportScreen")),
)

#: The screen modules imported in the background after the store is open: the sections' and
#: those of screens opened from them.
SCREEN_MODULES = (
    *(s.screen.module for s in SECTIONS if isinstance(s.screen, LazyScreen)),
    "forms",
    "personal_data",
)
