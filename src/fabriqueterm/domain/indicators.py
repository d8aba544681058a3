"""The network's indicators (docs/domain.md, "Indicators"), as plain values.

The store counts (:class:`fabriqueterm.store.indicators.IndicatorRepository`); this module only
holds the counts and turns them into rates. Counts are additive, so a site's figures are the sum of
its cohorts' and the total is the sum of the sites'.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from fabriqueterm.i18n import _, current_language

#: The "+N months" milestones of exit rates, in the order of the per-milestone count tuples.
EXIT_MONTHS: tuple[int, ...] = (0, 3, 6, 12)

_NARROW_NO_BREAK_SPACE = "\u202f"


def _milestone_index(months: int) -> int:
    try:
        return EXIT_MONTHS.index(months)
    except ValueError:
        raise ValueError(
            f"no exit figures at +{months} months; expected one of {EXIT_MONTHS}"
        ) from None


@dataclass(frozen=True)
class Rate:
    """A share ``numerator / denominator``; "n/a" when nobody is in the denominator."""

    numerator: int
    denominator: int

    @property
    def value(self) -> float | None:
        """The share between 0 and 1, or None when the denominator is 0."""
        if self.denominator == 0:
            return None
        return self.numerator / self.denominator

    def format(self) -> str:
        """A percentage with one decimal in the UI language ("62,5 %" in French, "62.5%" in
        English), or a translated "n/a"."""
        if self.denominator == 0:
            return _("n/a")
        percent = (Decimal(self.numerator) * 100 / Decimal(self.denominator)).quantize(
            Decimal("0.1"), rounding=ROUND_HALF_UP
        )
        if current_language() == "fr":
            return f"{percent}".replace(".", ",") + _NARROW_NO_BREAK_SPACE + "%"
        return f"{percent}%"

    def __str__(self) -> str:
        return self.format()


@dataclass(frozen=True)
class AttemptsMedian:
    """A median number of attempts, from counts of 1, 2, 3 and "4 or more" attempts: None when
    nothing was reached; ``at_least`` when the median falls among the "4 or more"."""

    value: float | None
    at_least: bool = False

    @classmethod
    def of(cls, counts: Sequence[int]) -> AttemptsMedian:
        total = sum(counts)
        if not total:
            return cls(None)

        def nth(position: int) -> int:  # 1-based position among the sorted attempt counts
            seen = 0
            for attempts, count in enumerate(counts, start=1):
                seen += count
                if position <= seen:
                    return attempts
            return len(counts)

        low, high = nth((total + 1) // 2), nth(total // 2 + 1)
        top = len(counts)
        if top in (low, high):
            return cls(float(top), at_least=True)
        return cls((low + high) / 2)

    def format(self, language: str | None = None) -> str:
        if self.value is None:
            return "—"
        text = f"{self.value:g}"
        if (language or current_language()) == "fr":
            text = text.replace(".", ",")
        return text + ("+" if self.at_least else "")

    def __str__(self) -> str:
        return self.format()


def _zeros() -> tuple[int, int, int, int]:
    return (0, 0, 0, 0)


#: The per-milestone fields of :class:`IndicatorCounts` (4-tuples indexed like EXIT_MONTHS).
PER_MILESTONE_FIELDS = ("exit_denominator", "positive", "employment", "never_reached")


@dataclass(frozen=True)
class IndicatorCounts:
    """Additive counts of one cohort (or a sum of cohorts), as of a date.

    The per-milestone fields (:data:`PER_MILESTONE_FIELDS`) are 4-tuples indexed like
    :data:`EXIT_MONTHS` (+0, +3, +6, +12 months); read them with :meth:`at`, e.g.
    ``counts.at("positive", 6)``. :meth:`flat` and :meth:`from_flat` give the same counts as one
    flat tuple of ints, in the order of :meth:`flat_names`, for whoever counts them in bulk.
    """

    enrolled: int = 0
    women: int = 0
    qpv: int = 0
    level_4_or_below: int = 0
    job_seekers: int = 0
    refugees: int = 0
    dropped_out: int = 0
    completers: int = 0
    #: Learners enrolled in a running cohort.
    in_training: int = 0
    cohorts_running: int = 0
    #: Completers of cohorts whose end date + N months is on or before the date.
    exit_denominator: tuple[int, int, int, int] = field(default_factory=_zeros)
    #: Of those, learners with a positive placement started by end date + N months.
    positive: tuple[int, int, int, int] = field(default_factory=_zeros)
    #: Of those, learners with an employment placement started by end date + N months.
    employment: tuple[int, int, int, int] = field(default_factory=_zeros)
    #: Of the denominator, learners with no follow-up done with the outcome "reached".
    never_reached: tuple[int, int, int, int] = field(default_factory=_zeros)
    completers_never_reached: int = 0
    followups_due: int = 0
    followups_overdue: int = 0
    followups_done_this_week: int = 0
    followups_done: int = 0
    followups_reached: int = 0
    #: Follow-ups closed as unreachable (after enough unanswered attempts).
    followups_unreachable: int = 0
    #: Follow-ups closed as reached, by how many attempts it took: 1, 2, 3, 4 or more.
    reached_in_1: int = 0
    reached_in_2: int = 0
    reached_in_3: int = 0
    reached_in_4_or_more: int = 0

    def at(self, name: str, months: int) -> int:
        """The per-milestone count ``name`` at +``months`` months (0, 3, 6 or 12)."""
        if name not in PER_MILESTONE_FIELDS:
            raise ValueError(
                f"{name} is not a per-milestone count; expected one of {PER_MILESTONE_FIELDS}"
            )
        return getattr(self, name)[_milestone_index(months)]

    @staticmethod
    def flat_names() -> tuple[str, ...]:
        """Names of the flat counts: the fields in order, ``positive_6`` for a per-milestone one."""
        return _FLAT_NAMES

    def flat(self) -> tuple[int, ...]:
        """Every count as one flat tuple, in the order of :meth:`flat_names`."""
        values: list[int] = []
        for name, per_milestone in _LAYOUT:
            value = getattr(self, name)
            if per_milestone:
                values.extend(value)
            else:
                values.append(value)
        return tuple(values)

    @classmethod
    def from_flat(cls, values: Sequence[int]) -> IndicatorCounts:
        """The counts from a flat sequence in the order of :meth:`flat_names`."""
        if len(values) != len(_FLAT_NAMES):
            raise ValueError(f"expected {len(_FLAT_NAMES)} counts, got {len(values)}")
        return cls(*[values[at] if type(at) is int else tuple(values[at]) for at in _ARGUMENTS])

    @classmethod
    def sum_of(cls, counts: Iterable[IndicatorCounts]) -> IndicatorCounts:
        """The sum of ``counts`` (all zeros for none), column by column."""
        return cls.sum_of_flat(c.flat() for c in counts)

    @classmethod
    def sum_of_flat(cls, rows: Iterable[Sequence[int]]) -> IndicatorCounts:
        """The sum of flat count rows (see :meth:`flat`), column by column."""
        return cls.from_flat([sum(column) for column in zip(*rows, strict=True)] or _ZERO_FLAT)

    def __add__(self, other: IndicatorCounts) -> IndicatorCounts:
        if not isinstance(other, IndicatorCounts):
            return NotImplemented
        return IndicatorCounts.from_flat(
            [a + b for a, b in zip(self.flat(), other.flat(), strict=True)]
        )

    def __radd__(self, other: object) -> IndicatorCounts:
        # So that the builtin ``sum(list_of_counts)`` works (it starts from 0).
        if other == 0:
            return self
        return NotImplemented


_WIDTH = len(EXIT_MONTHS)
_LAYOUT = tuple((f.name, f.name in PER_MILESTONE_FIELDS) for f in fields(IndicatorCounts))
_STARTS = tuple(
    sum(_WIDTH if per_milestone else 1 for _name, per_milestone in _LAYOUT[:i])
    for i in range(len(_LAYOUT))
)
_FLAT_NAMES = tuple(
    name_n
    for name, per_milestone in _LAYOUT
    for name_n in ([f"{name}_{n}" for n in EXIT_MONTHS] if per_milestone else [name])
)
_ZERO_FLAT = [0] * len(_FLAT_NAMES)
#: Where each field's value sits in a flat sequence: an index, or a slice for a per-milestone tuple.
_ARGUMENTS: tuple[int | slice, ...] = tuple(
    slice(start, start + _WIDTH) if per_milestone else start
    for (_name, per_milestone), start in zip(_LAYOUT, _STARTS, strict=True)
)


@dataclass(frozen=True)
class Indicators:
    """The indicators of docs/domain.md for a cohort, a site or a total, built from its counts."""

    counts: IndicatorCounts = field(default_factory=IndicatorCounts)

    # --- who ------------------------------------------------------------------------------

    @property
    def enrolled(self) -> int:
        return self.counts.enrolled

    @property
    def completers(self) -> int:
        return self.counts.completers

    @property
    def in_training(self) -> int:
        return self.counts.in_training

    @property
    def cohorts_running(self) -> int:
        return self.counts.cohorts_running

    @property
    def women_pct(self) -> Rate:
        return Rate(self.counts.women, self.counts.enrolled)

    @property
    def qpv_pct(self) -> Rate:
        return Rate(self.counts.qpv, self.counts.enrolled)

    @property
    def level_4_or_below_pct(self) -> Rate:
        return Rate(self.counts.level_4_or_below, self.counts.enrolled)

    @property
    def job_seekers_pct(self) -> Rate:
        return Rate(self.counts.job_seekers, self.counts.enrolled)

    @property
    def refugees_pct(self) -> Rate:
        return Rate(self.counts.refugees, self.counts.enrolled)

    @property
    def dropout_rate(self) -> Rate:
        return Rate(self.counts.dropped_out, self.counts.enrolled)

    # --- exits ----------------------------------------------------------------------------

    def exit_denominator(self, months: int) -> int:
        """Completers of cohorts that ended at least ``months`` months before the date."""
        return self.counts.at("exit_denominator", months)

    def positive_exit_rate(self, months: int) -> Rate:
        """Share of those completers with a positive placement by end + ``months`` months."""
        return Rate(self.counts.at("positive", months), self.exit_denominator(months))

    def employment_rate(self, months: int) -> Rate:
        """Share of those completers with an employment placement by end + ``months`` months."""
        return Rate(self.counts.at("employment", months), self.exit_denominator(months))

    def never_reached_share(self, months: int) -> Rate:
        """Share of the +``months`` denominator never reached by a follow-up."""
        return Rate(self.counts.at("never_reached", months), self.exit_denominator(months))

    @property
    def completers_never_reached_share(self) -> Rate:
        return Rate(self.counts.completers_never_reached, self.counts.completers)

    # --- follow-ups -----------------------------------------------------------------------

    @property
    def followups_due(self) -> int:
        return self.counts.followups_due

    @property
    def followups_overdue(self) -> int:
        return self.counts.followups_overdue

    @property
    def followups_done_this_week(self) -> int:
        return self.counts.followups_done_this_week

    @property
    def followups_done(self) -> int:
        return self.counts.followups_done

    @property
    def reach_rate(self) -> Rate:
        """Follow-ups closed as reached / follow-ups closed."""
        return Rate(self.counts.followups_reached, self.counts.followups_done)

    @property
    def followups_unreachable(self) -> int:
        return self.counts.followups_unreachable

    @property
    def attempts_per_reached(self) -> AttemptsMedian:
        """The median number of attempts a follow-up closed as reached took."""
        c = self.counts
        return AttemptsMedian.of(
            (c.reached_in_1, c.reached_in_2, c.reached_in_3, c.reached_in_4_or_more)
        )


class CohortIndicators(Mapping[str, Indicators]):
    """Indicators by cohort id, made from flat count rows (see :meth:`IndicatorCounts.flat`) when
    first read: a network report holds thousands of cohorts and its readers look at a few."""

    def __init__(self, flat_rows: Mapping[str, Sequence[int]]):
        self._flat_rows = flat_rows
        self._made: dict[str, Indicators] = {}

    def __getitem__(self, cohort_id: str) -> Indicators:
        made = self._made.get(cohort_id)
        if made is None:
            made = self._made[cohort_id] = Indicators(
                IndicatorCounts.from_flat(self._flat_rows[cohort_id])
            )
        return made

    def __iter__(self) -> Iterator[str]:
        return iter(self._flat_rows)

    def __len__(self) -> int:
        return len(self._flat_rows)

    def __contains__(self, cohort_id: object) -> bool:
        return cohort_id in self._flat_rows

    def __repr__(self) -> str:
        return f"CohortIndicators({len(self)} cohorts)"


@dataclass(frozen=True)
class IndicatorReport:
    """Indicators as of ``as_of`` per cohort (by id), per site (by id) and in total."""

    as_of: date
    by_cohort: Mapping[str, Indicators]
    by_site: dict[str, Indicators]
    total: Indicators
