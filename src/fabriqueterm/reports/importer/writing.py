"""Writing the checked rows: in bulk through the learner repository, in one transaction, so each
row gets its outbox mutation and syncs."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from fabriqueterm.domain.validation import DomainValidationError
from fabriqueterm.i18n import _
from fabriqueterm.reports.importer.plan import ImportFileError, ImportPlan, ImportResult
from fabriqueterm.reports.importer.showing import visible

if TYPE_CHECKING:
    from fabriqueterm.store.db import Store


def apply_import(
    store: Store,
    plan: ImportPlan,
    *,
    valid_only: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> ImportResult:
    """Write the plan's valid rows in one transaction, in bulk through the learner repository
    (so each gets its outbox mutation and syncs); the rows were validated by
    :func:`prepare_import` and are not validated again. All or nothing: when a row is bad and
    ``valid_only`` is False, nothing is written; when writing fails, nothing is either.
    ``progress(done, total)`` is called every 500 rows."""
    if not plan.ok and not valid_only:
        return ImportResult(plan, [])
    try:
        created = store.learners.create_many(
            plan.cohort.id, [row.values for row in plan.rows], progress=progress
        )
    except DomainValidationError as error:  # a prescriber or the cohort deleted since the check
        raise ImportFileError(
            _(
                "Nothing imported: the database changed since the file was checked ({problems}); check the file again."
            ).format(problems=" ".join(visible(e) for e in error.errors))
        ) from None
    return ImportResult(plan, created)
