"""What an import found: the plan of rows to write, the bad rows and the duplicates, and the
error for a file that cannot be imported at all."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fabriqueterm.domain.labels import FIELD_LABELS
from fabriqueterm.domain.models import Cohort
from fabriqueterm.domain.validation import FieldError
from fabriqueterm.i18n import _
from fabriqueterm.reports.importer.showing import visible


class ImportFileError(Exception):
    """The file cannot be imported as a whole (unreadable, no header, a required column missing,
    a bad mapping); the message says what to do. ``about_columns``: the fix is to say which column
    holds which field ("Column=field"): the command line adds how (``--map``), the app where (its
    "Columns to read differently" field)."""

    def __init__(self, message: str, *, about_columns: bool = False):
        super().__init__(message)
        self.about_columns = about_columns


@dataclass(frozen=True)
class ExtraCells(FieldError):
    """Cells beyond the header's last column (often a ";" typed inside a value)."""

    @property
    def label(self) -> str:
        return _("cells after the last column")

    @property
    def expected(self) -> str:
        return _("nothing there (the header has no column for them)")


@dataclass(frozen=True)
class RowError:
    """A bad row: its line in the file (the header is line 1) and what is wrong with it."""

    line: int
    errors: tuple[FieldError, ...]

    @property
    def fields(self) -> list[str]:
        return [e.field for e in self.errors]

    def __str__(self) -> str:
        return _("line {line}: {problems}").format(
            line=self.line, problems=" ".join(visible(e) for e in self.errors)
        )


@dataclass(frozen=True)
class Duplicate:
    """A row not imported because its email or phone is already held (or earlier in the file)."""

    line: int
    #: "email" or "phone".
    field: str
    value: str
    #: The learner already in the database, if any.
    existing_id: str | None = None
    existing_name: str | None = None
    #: The earlier line of the same file, if any.
    first_line: int | None = None

    def __str__(self) -> str:
        label = _(FIELD_LABELS[self.field])
        if self.first_line is not None:
            return _("line {line}: same {field} “{value}” as line {first}; imported once.").format(
                line=self.line, field=label, value=visible(self.value), first=self.first_line
            )
        return _(
            "line {line}: same {field} “{value}” as {name} ({id}), already held; not imported."
        ).format(
            line=self.line,
            field=label,
            value=visible(self.value),
            name=visible(self.existing_name),
            id=self.existing_id,
        )


@dataclass(frozen=True)
class ImportRow:
    """A valid row: its line and the values the learner repository will write."""

    line: int
    values: dict[str, Any]


@dataclass
class ImportPlan:
    """What an import would do: read and checked, nothing written yet."""

    path: Path
    cohort: Cohort
    encoding: str
    delimiter: str
    #: Column header -> field it is read as.
    columns: dict[str, str]
    #: Columns read as nothing (unknown names, or ignored by the mapping).
    ignored_columns: list[str]
    rows: list[ImportRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    duplicates: list[Duplicate] = field(default_factory=list)
    #: Data rows in the file (blank lines excluded).
    total_rows: int = 0
    #: Learners already taking a seat in the cohort (everyone but candidates) when checked.
    seats_taken: int = 0

    @property
    def ok(self) -> bool:
        """True when every row is valid (duplicates are skipped, not errors)."""
        return not self.errors

    @property
    def seats_after(self) -> int:
        """Seats taken in the cohort once the plan's rows are written (candidates take none)."""
        return self.seats_taken + sum(1 for row in self.rows if row.values["status"] != "candidate")

    def capacity_warning(self) -> str:
        """A sentence when writing the plan's rows takes the cohort beyond its planned capacity
        (a warning: the import goes ahead), else ""."""
        capacity, after = self.cohort.capacity, self.seats_after
        if not capacity or after <= capacity or after == self.seats_taken:
            return ""
        return _(
            "This import takes the cohort “{cohort}” to {after}/{capacity}, beyond its planned capacity."
        ).format(cohort=self.cohort.name, after=after, capacity=capacity)


@dataclass(frozen=True)
class ImportResult:
    plan: ImportPlan
    #: Ids of the learners created (empty when nothing was written).
    created_ids: list[str]

    @property
    def written(self) -> bool:
        return bool(self.created_ids)
