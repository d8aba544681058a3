"""The weekly summary of docs/domain.md ("Weekly summary"), as plain values every exporter
(CSV, Markdown, XLSX, HTML) and the app's preview render the same way.

Per site and in total, for one ISO week (Monday to Sunday):

- **this week**: new enrolments, dropouts, placements logged by kind, follow-ups done;
- **as of Sunday**: cohorts running, learners in training, follow-ups due and overdue;
- **cumulative indicators as of Sunday**: :mod:`fabriqueterm.domain.indicators`.

Definitions the domain leaves open, chosen here:

- *new enrolments*: learners created in the local store during the week (their UTC creation day)
  whose status now counts as enrolled (enrolled, dropped out, graduated, certified). The store keeps
  no enrolment date: a candidate entered in an earlier week and enrolled this week is not counted,
  and a learner entered this week as a candidate counts once enrolled (a summary made again later
  for the same week may then say more).
- *dropouts*: learners dropped out whose dropout date falls in the week.
- *placements logged*: placements created during the week (their UTC creation day), whatever
  their contract start date.
- *cohorts running* and *learners in training* use the cohorts' and learners' current status.

Aggregates only: no names, no contact details; cohorts appear by name in the exit-rate chart.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from fabriqueterm.domain.dates import utcnow
from fabriqueterm.domain.enums import PlacementKind
from fabriqueterm.domain.indicators import EXIT_MONTHS, AttemptsMedian, Indicators, Rate
from fabriqueterm.i18n import N_, _, current_language
from fabriqueterm.store.reports import CohortLabel, ReportRepository, WeeklyActivity

if TYPE_CHECKING:
    from fabriqueterm.store.db import Store

#: Cohorts shown in the exit-rate chart: the most recently ended ones with completers.
CHART_COHORTS = 12

_WEEK = re.compile(r"^\s*(\d{4})\s*-?\s*[Ww]?\s*(\d{1,2})\s*$")


class SummaryError(ValueError):
    """A week or a site the summary cannot be made for; the message says what to type."""


@dataclass(frozen=True)
class IsoWeek:
    """An ISO week, e.g. 2026-W48 (Monday 23 to Sunday 29 November 2026)."""

    year: int
    week: int

    @classmethod
    def parse(cls, text: str) -> IsoWeek:
        """Read "2026-W48" (also "2026W48", "2026-48"); :class:`SummaryError` otherwise."""
        match = _WEEK.match(text or "")
        if match:
            year, week = int(match.group(1)), int(match.group(2))
            try:
                date.fromisocalendar(year, week, 1)
            except ValueError:
                pass
            else:
                return cls(year, week)
        raise SummaryError(
            _("“{value}” is not an ISO week; expected YEAR-Wnn, e.g. 2026-W48.").format(value=text)
        )

    @classmethod
    def of(cls, day: date) -> IsoWeek:
        year, week, _weekday = day.isocalendar()
        return cls(year, week)

    @property
    def monday(self) -> date:
        return date.fromisocalendar(self.year, self.week, 1)

    @property
    def sunday(self) -> date:
        return self.monday + timedelta(days=6)

    def __str__(self) -> str:
        return f"{self.year}-W{self.week:02d}"


@dataclass(frozen=True)
class Figure:
    """One line of a summary: a stable key, a translated label, a count, a rate or a median."""

    key: str
    label: str
    value: int | Rate | AttemptsMedian
    group: str

    @property
    def is_rate(self) -> bool:
        return isinstance(self.value, Rate)


#: Groups of figures, in the order they are shown.
GROUPS: dict[str, str] = {
    "week": N_("This week"),
    "now": N_("As of Sunday"),
    "indicators": N_("Cumulative indicators as of Sunday"),
}


def group_title(group: str) -> str:
    return _(GROUPS[group])


def _exit_label(template_end: str, template_n: str, months: int) -> str:
    return _(template_end) if months == 0 else _(template_n).format(n=months)


@dataclass(frozen=True)
class SectionSummary:
    """The summary of one site, or of all the sites of the report (``site_id`` None)."""

    site_id: str | None
    name: str
    activity: WeeklyActivity
    indicators: Indicators

    @property
    def placements_total(self) -> int:
        return sum(self.activity.placements.values())

    def placements(self, kind: PlacementKind | str) -> int:
        return self.activity.placements.get(str(kind), 0)

    def figures(self) -> list[Figure]:
        """Every figure of the section, in display order (the same in every format)."""
        ind = self.indicators
        figures = [
            Figure("new_enrolments", _("New enrolments"), self.activity.new_enrolments, "week"),
            Figure("dropouts", _("Dropouts"), self.activity.dropouts, "week"),
            Figure("placements", _("Placements logged"), self.placements_total, "week"),
        ]
        figures += [
            Figure(
                f"placements_{kind.value}",
                _("Placements logged: {kind}").format(kind=kind.label),
                self.placements(kind),
                "week",
            )
            for kind in PlacementKind
        ]
        figures += [
            Figure(
                "followups_done_this_week",
                _("Follow-ups done"),
                ind.followups_done_this_week,
                "week",
            ),
            Figure("cohorts_running", _("Cohorts running"), ind.cohorts_running, "now"),
            Figure("in_training", _("Learners in training"), ind.in_training, "now"),
            Figure("followups_due", _("Follow-ups due"), ind.followups_due, "now"),
            Figure(
                "followups_overdue",
                _("Follow-ups overdue (due more than 7 days ago)"),
                ind.followups_overdue,
                "now",
            ),
            Figure("enrolled", _("Learners enrolled"), ind.enrolled, "indicators"),
            Figure(
                "completers", _("Completers (graduated or certified)"), ind.completers, "indicators"
            ),
            Figure("women_pct", _("Women"), ind.women_pct, "indicators"),
            Figure(
                "qpv_pct", _("Living in a priority neighbourhood (QPV)"), ind.qpv_pct, "indicators"
            ),
            Figure(
                "level_4_or_below_pct",
                _("Level 4 or below"),
                ind.level_4_or_below_pct,
                "indicators",
            ),
            Figure(
                "job_seekers_pct", _("Registered job seekers"), ind.job_seekers_pct, "indicators"
            ),
            Figure("refugees_pct", _("Refugees"), ind.refugees_pct, "indicators"),
            Figure("dropout_rate", _("Dropout rate"), ind.dropout_rate, "indicators"),
        ]
        for months in EXIT_MONTHS:
            figures.append(
                Figure(
                    f"positive_exit_rate_{months}",
                    _exit_label(
                        N_("Positive exit rate at the end of training"),
                        N_("Positive exit rate at +{n} months"),
                        months,
                    ),
                    ind.positive_exit_rate(months),
                    "indicators",
                )
            )
        for months in EXIT_MONTHS:
            figures.append(
                Figure(
                    f"employment_rate_{months}",
                    _exit_label(
                        N_("Employment rate at the end of training"),
                        N_("Employment rate at +{n} months"),
                        months,
                    ),
                    ind.employment_rate(months),
                    "indicators",
                )
            )
        figures += [
            Figure(
                "completers_never_reached",
                _("Completers never reached by a follow-up"),
                ind.completers_never_reached_share,
                "indicators",
            ),
            Figure(
                "reach_rate",
                _("Follow-up reach rate (reached / closed)"),
                ind.reach_rate,
                "indicators",
            ),
            Figure(
                "followups_unreachable",
                _("Follow-ups closed as unreachable"),
                ind.followups_unreachable,
                "indicators",
            ),
            Figure(
                "attempts_per_reached",
                _("Attempts per follow-up reached (median)"),
                ind.attempts_per_reached,
                "indicators",
            ),
        ]
        return figures

    def figure(self, key: str) -> Figure:
        for item in self.figures():
            if item.key == key:
                return item
        raise KeyError(key)


@dataclass(frozen=True)
class CohortExits:
    """A cohort's exit rates, for the chart (no personal data)."""

    cohort: CohortLabel
    site_name: str
    indicators: Indicators


@dataclass(frozen=True)
class WeeklySummary:
    """The weekly summary of some sites for one ISO week."""

    week: IsoWeek
    sites: list[SectionSummary]
    total: SectionSummary
    #: Most recently ended cohorts with completers, for the exit-rate chart.
    cohorts: list[CohortExits] = field(default_factory=list)
    #: True when the report covers every site of the local store.
    all_sites: bool = True
    generated_at: datetime = field(default_factory=utcnow)

    @property
    def as_of(self) -> date:
        return self.week.sunday

    @property
    def sections(self) -> list[SectionSummary]:
        """The total first, then each site by name."""
        return [self.total, *self.sites]

    @property
    def title(self) -> str:
        return _("Weekly summary, week {week}").format(week=self.week)


def format_day(day: date) -> str:
    """A date as people write it in the UI language (25/11/2026 in French)."""
    return day.strftime("%d/%m/%Y") if current_language() == "fr" else day.isoformat()


def period_text(summary: WeeklySummary) -> str:
    return _("from Monday {monday} to Sunday {sunday}").format(
        monday=format_day(summary.week.monday), sunday=format_day(summary.week.sunday)
    )


def resolve_sites(store: Store, references: Sequence[str]) -> list[str]:
    """Site ids for ``references`` (ids, or names ignoring case); :class:`SummaryError` naming the
    known sites when one matches none or several."""
    sites = ReportRepository(store).sites()
    ids: list[str] = []
    for reference in references:
        wanted = reference.strip()
        matches = [s for s in sites if s.id == wanted] or [
            s for s in sites if s.name.casefold() == wanted.casefold()
        ]
        if len(matches) != 1:
            known = "; ".join(f"{s.name} ({s.id})" for s in sites) or _("none")
            message = (
                _("Several sites are named “{value}”: give its id.")
                if matches
                else _("No site “{value}”.")
            )
            raise SummaryError(
                message.format(value=reference)
                + " "
                + _("Known sites: {known}.").format(known=known)
            )
        if matches[0].id not in ids:
            ids.append(matches[0].id)
    return ids


def weekly_summary(
    store: Store,
    week: IsoWeek | str | date | None = None,
    *,
    site_ids: Sequence[str] | None = None,
) -> WeeklySummary:
    """The weekly summary of ``week`` (an :class:`IsoWeek`, "2026-W48", any day of it, or None for
    the store's current week) for ``site_ids`` (ids of live sites; None: every site)."""
    if week is None:
        week = IsoWeek.of(store.clock.today())
    elif isinstance(week, str):
        week = IsoWeek.parse(week)
    elif isinstance(week, date):
        week = IsoWeek.of(week)
    queries = ReportRepository(store)
    sites = queries.sites(site_ids)
    if site_ids is not None:
        missing = set(site_ids) - {s.id for s in sites}
        if missing:
            raise SummaryError(_("No site “{value}”.").format(value=", ".join(sorted(missing))))
    scope = None if site_ids is None else [s.id for s in sites]
    report = store.indicators.report(week.sunday, site_ids=scope)
    activity = queries.weekly_activity(week.monday, week.sunday, site_ids=scope)

    sections = [
        SectionSummary(
            site.id,
            site.name,
            activity.get(site.id, WeeklyActivity()),
            report.by_site.get(site.id, Indicators()),
        )
        for site in sites
    ]
    placements: dict[str, int] = {}
    for section in sections:
        for kind, count in section.activity.placements.items():
            placements[kind] = placements.get(kind, 0) + count
    total = SectionSummary(
        None,
        _("Total"),
        WeeklyActivity(
            new_enrolments=sum(s.activity.new_enrolments for s in sections),
            dropouts=sum(s.activity.dropouts for s in sections),
            placements=placements,
        ),
        report.total,
    )
    site_names = {s.id: s.name for s in sites}
    # Looks a little further back than the chart shows, past ended cohorts without completers.
    cohorts = [
        CohortExits(label, site_names.get(label.site_id, ""), report.by_cohort[label.id])
        for label in queries.cohorts(scope, ended_by=week.sunday, limit=CHART_COHORTS * 10)
        if label.id in report.by_cohort and report.by_cohort[label.id].exit_denominator(0) > 0
    ][:CHART_COHORTS]
    return WeeklySummary(
        week=week,
        sites=sections,
        total=total,
        cohorts=cohorts,
        all_sites=site_ids is None,
        generated_at=store.clock.now(),
    )
