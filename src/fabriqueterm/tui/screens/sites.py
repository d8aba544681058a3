"""Sites ("fabriques"): the list, with their running cohorts and learners."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rich.text import Text

from fabriqueterm.i18n import N_, _
from fabriqueterm.store.repositories import Page, SiteLine
from fabriqueterm.tui.format import format_int, yes_no
from fabriqueterm.tui.screens.forms import ConfirmScreen, site_form
from fabriqueterm.tui.screens.lists import Column, ListScreen


class SitesScreen(ListScreen[SiteLine]):
    """The sites a coordinator follows. Enter shows a site's cohorts."""

    HELP = N_("Your sites. Enter shows a site's cohorts.")

    def screen_title(self) -> str:
        return _("Sites")

    def nouns(self) -> tuple[str, str]:
        return _("site"), _("sites")

    def filter_placeholder(self) -> str:
        return _("Filter by name, city or region…")

    def columns(self) -> Iterable[Column]:
        # Headers whole (the numbers' columns as wide as their header); narrow, the operator,
        # the region and the city go, in that order.
        return [
            Column(_("Site"), "name", min_width=18),
            Column(_("City"), "city", 14, drop=1),
            Column(_("Region"), "region", drop=2),
            Column(_("Operator"), "operator", 24, drop=3),
            Column(_("Active"), "active", max(6, len(_("Active")))),
            Column(_("Cohorts running"), "running", len(_("Cohorts running"))),
            Column(_("Learners"), "learners", max(8, len(_("Learners")))),
        ]

    def fetch(self, needle: str, offset: int, limit: int) -> Page[SiteLine]:
        return self.store.sites.page(needle, limit=limit, offset=offset)

    def cells(self, row: SiteLine) -> tuple[Any, ...]:
        site = row.site
        return (
            site.name,
            site.city,
            site.region,
            site.operator,
            yes_no(site.active),
            Text(format_int(row.cohorts_running), justify="right"),
            Text(format_int(row.learners), justify="right"),
        )

    def row_id(self, row: SiteLine) -> str:
        return row.site.id

    def open_row(self, row: SiteLine) -> None:
        self.fabrique.show_cohorts(site_id=row.site.id)

    def action_new(self) -> None:
        self.app.push_screen(site_form(self.store), self.after_form)

    def action_edit(self) -> None:
        row = self.current_row()
        if row is not None:
            self.app.push_screen(site_form(self.store, row.site), self.after_form)

    def action_delete(self) -> None:
        row = self.current_row()
        if row is None:
            return
        if row.learners or self.store.cohorts.page(site_id=row.site.id, limit=1).total:
            self.notify(
                _(
                    "{name} still has cohorts: delete or move them first, or mark the site inactive."
                ).format(name=row.site.name),
                severity="warning",
            )
            return

        def answer(yes: bool | None) -> None:
            if yes:
                self.store.sites.delete(row.site.id)
                self.after_write()

        self.app.push_screen(
            ConfirmScreen(_("Delete the site {name}?").format(name=row.site.name)), answer
        )
