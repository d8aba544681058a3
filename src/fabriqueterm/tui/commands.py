"""Command palette providers: find learners (name, email, phone), cohorts, sites and partners.

Each provider queries the store in a thread (``asyncio.to_thread``) with a small limit, so the
palette stays responsive on 100,000 learners. The store finds them as people type them (accents
and case ignored, words in any order: domain/search.py); the hits highlight the words typed the
same way, where Textual's fuzzy matcher would miss "zoe" in "Zoé".
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any, cast

from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.content import Content

from fabriqueterm.domain.search import fold, words
from fabriqueterm.i18n import N_, _
from fabriqueterm.tui.format import format_phone

if TYPE_CHECKING:
    from fabriqueterm.tui.app import FabriqueApp

#: Results per provider.
LIMIT = 8


def _word_at(folded: str, word: str) -> int:
    """Where ``word`` is in ``folded``: at the start of a word if it is there, else anywhere
    (-1: nowhere)."""
    start = folded.find(word)
    first = start
    while start >= 0:
        if start == 0 or not folded[start - 1].isalnum():
            return start
        start = folded.find(word, start + 1)
    return first


def highlight_words(text: str, query: str, style: Any) -> tuple[Content, float]:
    """``text`` with the words of ``query`` in ``style`` where they are, accents and case ignored,
    and the share of its letters they cover (0 to 1)."""
    pieces = [fold(ch) for ch in text]  # "é" is "e", "æ" is "ae", a lone combining mark is ""
    folded = "".join(pieces)
    owner = [index for index, piece in enumerate(pieces) for _ in piece]
    marked: set[int] = set()
    for word in words(query):
        start = _word_at(folded, word)
        if start >= 0:
            marked.update(owner[start : start + len(word)])
    content = Content(text)
    for index in sorted(marked):
        content = content.stylize(style, index, index + 1)
    letters = sum(1 for ch in text if ch.isalnum())
    return content, (len(marked) / letters if letters else 0.0)


class _StoreProvider(Provider):
    @property
    def fabrique(self) -> FabriqueApp:
        return cast("FabriqueApp", self.app)

    def shown(self, query: str, text: str) -> tuple[Content, float]:
        """``text`` with the words typed highlighted, and its score: never 0 for a row the store
        found (by a phone number or an email, the name shows no match), higher the more of the
        name the words cover."""
        content, share = highlight_words(text, query, self.matcher(query).match_style)
        return content, 0.3 + 0.7 * share


class LearnerCommands(_StoreProvider):
    """Learners by the start of their names (in any order), email or phone number."""

    async def search(self, query: str) -> Hits:
        if len(query.strip()) < 2:
            return
        store = self.fabrique.store
        learners, _total = await asyncio.to_thread(store.learners.search, query, limit=LIMIT)
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
            display, score = self.shown(query, name)
            yield Hit(
                score,
                display,
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
        for line in page.rows:
            cohort = line.cohort
            display, score = self.shown(query, cohort.name)
            yield Hit(
                score,
                display,
                partial(self.fabrique.open_cohort, cohort.id),
                text=cohort.name,
                help=_("Cohort") + f" · {line.site_name} · {cohort.programme}",
            )


class SiteCommands(_StoreProvider):
    """Sites by name, city or region: open their cohorts."""

    async def search(self, query: str) -> Hits:
        store = self.fabrique.store
        page = await asyncio.to_thread(store.sites.page, query, limit=LIMIT)
        for line in page.rows:
            site = line.site
            display, score = self.shown(query, site.name)
            yield Hit(
                score,
                display,
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
        for partner in page.rows:
            display, score = self.shown(query, partner.name)
            yield Hit(
                score,
                display,
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
