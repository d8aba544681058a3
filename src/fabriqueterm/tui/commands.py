"""Command palette providers: find learners (name, email, phone), cohorts, sites and partners.

Each provider queries the store in a thread (``asyncio.to_thread``) with a small limit, so the
palette stays responsive on 100,000 learners.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, cast

from textual.command import DiscoveryHit, Hit, Hits, Provider

from fabriqueterm.i18n import N_, _
from fabriqueterm.tui.format import format_phone

if TYPE_CHECKING:
    from fabriqueterm.tui.app import FabriqueApp

#: Results per provider.
LIMIT = 8


class _StoreProvider(Provider):
    @property
    def fabrique(self) -> FabriqueApp:
        return cast("FabriqueApp", self.app)

    def score(self, query: str, text: str) -> float:
        """The fuzzy score, but never 0 for a row the store found (phone digits match too)."""
        return max(self.matcher(query).match(text), 0.3)


class LearnerCommands(_StoreProvider):
    """Learners by any part of their name, email or phone number."""

    async def search(self, query: str) -> Hits:
        if len(query.strip()) < 2:
            return
        store = self.fabrique.store
        learners, _total = await asyncio.to_thread(store.learners.search, query, limit=LIMIT)
        matcher = self.matcher(query)
        for learner in learners:
            name = f"{learner.first_name} {learner.last_name}"
            details = " · ".join(
                part
                for part in (
                    format_phone(learner.phone) if learner.phone else "",
                    learner.email or "",
                )
                if part
            )
            yield Hit(
                self.score(query, name),
                matcher.highlight(name),
                partial(self.fabrique.open_learner, learner.id),
                text=name,
                help=_("Learner") + (f" · {details}" if details else ""),
            )


class CohortCommands(_StoreProvider):
    """Cohorts by name or programme."""

    async def search(self, query: str) -> Hits:
        if len(query.strip()) < 2:
            return
        store = self.fabrique.store
        page = await asyncio.to_thread(store.cohorts.page, query, limit=LIMIT)
        matcher = self.matcher(query)
        for line in page.rows:
            cohort = line.cohort
            yield Hit(
                self.score(query, cohort.name),
                matcher.highlight(cohort.name),
                partial(self.fabrique.open_cohort, cohort.id),
                text=cohort.name,
                help=_("Cohort") + f" · {line.site_name} · {cohort.programme}",
            )


class SiteCommands(_StoreProvider):
    """Sites by name, city or region: open their cohorts."""

    async def search(self, query: str) -> Hits:
        store = self.fabrique.store
        page = await asyncio.to_thread(store.sites.page, query, limit=LIMIT)
        matcher = self.matcher(query)
        for line in page.rows:
            site = line.site
            yield Hit(
                self.score(query, site.name),
                matcher.highlight(site.name),
                partial(self.fabrique.show_cohorts, site_id=site.id),
                text=site.name,
                help=_("Site") + f" · {site.city}",
            )


class PartnerCommands(_StoreProvider):
    """Partners by name, city or contact."""

    async def search(self, query: str) -> Hits:
        if len(query.strip()) < 2:
            return
        store = self.fabrique.store
        page = await asyncio.to_thread(store.partners.page, query, limit=LIMIT)
        matcher = self.matcher(query)
        for partner in page.rows:
            yield Hit(
                self.score(query, partner.name),
                matcher.highlight(partner.name),
                partial(self.fabrique.open_partner, partner.id),
                text=partner.name,
                help=_("Partner") + f" · {partner.city}",
            )


class NavigationCommands(Provider):
    """The app's sections, by their translated names."""

    async def discover(self) -> Hits:
        app = cast("FabriqueApp", self.app)
        for section in app.SECTIONS:
            yield DiscoveryHit(
                _(section.label),
                partial(app.switch_section, section.mode),
                help=_("Go to this section"),
            )

    async def search(self, query: str) -> Hits:
        app = cast("FabriqueApp", self.app)
        matcher = self.matcher(query)
        for section in app.SECTIONS:
            label = _(section.label)
            score = matcher.match(label)
            if score > 0:
                yield Hit(
                    score,
                    matcher.highlight(label),
                    partial(app.switch_section, section.mode),
                    text=label,
                    help=_("Go to this section"),
                )


@dataclass(frozen=True)
class ReportCommand:
    """Something people do with reports, by what they would type; it opens the section ``mode``.
    ``name`` and ``help`` are English msgids (marked with ``N_``)."""

    name: str
    help: str
    mode: str


REPORT_COMMANDS = (
    ReportCommand(
        N_("Export the weekly summary"),
        N_("CSV, Markdown, Excel or HTML, for the week and sites you choose"),
        "summary",
    ),
    ReportCommand(
        N_("Import learners from a CSV file"),
        N_("Check the file, then add its rows to a cohort"),
        "import",
    ),
)


class ReportCommands(Provider):
    """Export the weekly summary, import learners: they open the section that does it."""

    async def discover(self) -> Hits:
        app = cast("FabriqueApp", self.app)
        for command in REPORT_COMMANDS:
            yield DiscoveryHit(
                _(command.name), partial(app.switch_section, command.mode), help=_(command.help)
            )

    async def search(self, query: str) -> Hits:
        app = cast("FabriqueApp", self.app)
        matcher = self.matcher(query)
        for command in REPORT_COMMANDS:
            name, help_text = _(command.name), _(command.help)
            score = max(matcher.match(name), matcher.match(help_text) * 0.8)
            if score > 0:
                yield Hit(
                    score,
                    matcher.highlight(name),
                    partial(app.switch_section, command.mode),
                    text=name,
                    help=help_text,
                )


PROVIDERS = (
    NavigationCommands,
    ReportCommands,
    LearnerCommands,
    CohortCommands,
    SiteCommands,
    PartnerCommands,
)
