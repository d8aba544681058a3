"""Partners: the list (filter by text and kind) and a partner's detail (for an employer, the
learners placed there)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import DataTable, Select, Static

from fabriqueterm.domain.enums import PartnerKind, PlacementKind
from fabriqueterm.domain.models import Partner, Site
from fabriqueterm.i18n import N_, _
from fabriqueterm.store.repositories import NotFound, Page, PlacedLine
from fabriqueterm.tui.format import format_date, format_phone, shown_of
from fabriqueterm.tui.screens.base import FabriqueScreen
from fabriqueterm.tui.screens.forms import ConfirmScreen, partner_form
from fabriqueterm.tui.screens.lists import Column, ListScreen
from fabriqueterm.tui.screens.modal import enum_options
from fabriqueterm.tui.widgets.cards import label_of


def kinds_label(kinds: str) -> str:
    return ", ".join(label_of(PartnerKind, kind) for kind in kinds.split(",") if kind)


class PartnersScreen(ListScreen[Partner]):
    """Employers, funders, prescribers, operators and training bodies."""

    HELP = N_(
        "The organisations your sites work with. Enter opens one; for an employer, who was placed there."
    )

    def __init__(self) -> None:
        super().__init__()
        self.kind: str | None = None

    def screen_title(self) -> str:
        return _("Partners")

    def nouns(self) -> tuple[str, str]:
        return _("partner"), _("partners")

    def filter_placeholder(self) -> str:
        return _("Filter by name, city or contact…")

    def compose_filters(self) -> ComposeResult:
        yield Select(enum_options(PartnerKind), prompt=_("All kinds"), id="filter-kind")

    def columns(self) -> Iterable[Column]:
        return [
            Column(_("Partner"), "name", middle=True, min_width=26),
            Column(_("Kinds"), "kinds", min_width=16, drop=2),
            Column(_("City"), "city", 16, drop=3),
            Column(_("Contact"), "contact", 20, drop=1),
            Column(_("Phone"), "phone", 14),
        ]

    def fetch(self, needle: str, offset: int, limit: int) -> Page[Partner]:
        return self.store.partners.page(needle, kind=self.kind, limit=limit, offset=offset)

    def cells(self, row: Partner) -> tuple[Any, ...]:
        return (
            row.name,
            kinds_label(row.kinds),
            row.city,
            row.contact_name,
            format_phone(row.phone),
        )

    def row_id(self, row: Partner) -> str:
        return row.id

    @on(Select.Changed, "#filter-kind")
    def _kind_changed(self, event: Select.Changed) -> None:
        self.kind = None if event.value is Select.NULL else str(event.value)
        self.reload(from_top=True)

    def open_row(self, row: Partner) -> None:
        self.fabrique.open_partner(row.id)

    def action_new(self) -> None:
        self.app.push_screen(partner_form(self.store), self.after_form)

    def action_edit(self) -> None:
        row = self.current_row()
        if row is not None:
            self.app.push_screen(partner_form(self.store, row), self.after_form)

    def action_delete(self) -> None:
        row = self.current_row()
        if row is None:
            return

        def answer(yes: bool | None) -> None:
            if yes:
                self.store.partners.delete(row.id)
                self.after_write()

        self.app.push_screen(
            ConfirmScreen(
                _("Delete the partner {name}?").format(name=row.name),
                _("Placements and learners that refer to it keep their history."),
            ),
            answer,
        )


@dataclass(frozen=True)
class PartnerData:
    partner: Partner
    sites: list[Site]
    placed: Page[PlacedLine]


class PartnerDetailScreen(FabriqueScreen):
    """A partner: contact, linked sites and, for employers and training bodies, who went there."""

    HELP = N_("A partner and the learners placed there. Enter opens a learner.")

    BINDINGS: ClassVar = [
        Binding("escape", "app.back", N_("back"), id="detail.back"),
        Binding("e", "edit", N_("edit"), id="partner.edit"),
    ]

    def __init__(self, partner_id: str) -> None:
        super().__init__()
        self.partner_id = partner_id
        self.data: PartnerData | None = None

    def screen_title(self) -> str:
        return _("Partner")

    def compose_body(self) -> ComposeResult:
        with Vertical(id="partner-detail"):
            yield Static("", id="partner-card")
            yield Static("", id="placed-count", classes="section-title")
            table: DataTable[Any] = DataTable(id="placed", cursor_type="row", zebra_stripes=True)
            table.add_column(_("Start"), key="start")
            table.add_column(_("Learner"), key="learner", width=24)
            table.add_column(_("Cohort"), key="cohort", width=36)
            table.add_column(_("Kind"), key="kind", width=20)
            table.add_column(_("Job title"), key="job", width=20)
            yield table

    def reload(self) -> None:
        store, partner_id = self.store, self.partner_id

        def query() -> PartnerData | None:
            try:
                partner = store.partners.get(partner_id)
            except NotFound:
                return None
            return PartnerData(
                partner,
                store.partners.sites_of(partner_id),
                store.placements.for_partner(partner_id),
            )

        self.load("partner", query, self.show)

    def show(self, data: PartnerData | None) -> None:
        if data is None:
            self.notify(_("This partner no longer exists."), severity="warning")
            self.app.pop_screen()
            return
        self.data = data
        partner = data.partner
        self.title = partner.name
        card = Text()
        card.append(partner.name + "\n", style="bold")
        card.append(kinds_label(partner.kinds) + "\n")
        contact = " · ".join(
            part
            for part in (
                partner.contact_name,
                partner.email or "",
                format_phone(partner.phone) if partner.phone else "",
                partner.city,
            )
            if part
        )
        if contact:
            card.append(contact + "\n")
        card.append(
            _("Sites: {sites}").format(sites=", ".join(s.name for s in data.sites) or "—") + "\n",
            style="dim",
        )
        if partner.notes:
            card.append(partner.notes + "\n", style="italic")
        self.query_one("#partner-card", Static).update(card)
        placed = data.placed
        self.query_one("#placed-count", Static).update(
            _("Placed here: {count}").format(
                count=shown_of(placed.total, len(placed.rows), _("placement"), _("placements"))
            )
            if placed.total
            else _("No learner placed here yet.")
        )
        table = self.query_one("#placed", DataTable)
        table.clear()
        for line in placed.rows:
            table.add_row(
                format_date(line.placement.start_date),
                f"{line.learner.last_name.upper()} {line.learner.first_name}",
                line.cohort_name,
                label_of(PlacementKind, line.placement.kind),
                line.placement.job_title or "—",
                key=line.learner.id,
            )

    @on(DataTable.RowSelected, "#placed")
    def _open(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value:
            self.fabrique.open_learner(str(event.row_key.value))

    def action_edit(self) -> None:
        if self.data is not None:
            self.app.push_screen(partner_form(self.store, self.data.partner), self.after_form)
