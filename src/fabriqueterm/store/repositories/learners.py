"""Learners: one-by-one and bulk creation, search, erasure and the detail screen's profile."""

from __future__ import annotations

import json
import string
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import func, insert, text
from sqlmodel import Session, col, select

from fabriqueterm.domain.enums import COMPLETER_STATUSES
from fabriqueterm.domain.followups import generated_follow_ups
from fabriqueterm.domain.ids import uuid7
from fabriqueterm.domain.models import (
    ERASED_LEARNER_VALUES,
    Cohort,
    FollowUp,
    FollowUpAttempt,
    Learner,
    Partner,
    Placement,
    Site,
)
from fabriqueterm.domain.search import SearchTerms, search_terms
from fabriqueterm.domain.validation import INPUT_MODELS, DomainValidationError, FieldError, validate
from fabriqueterm.store.repositories.base import NotFound, Page, Repository, create_mutation
from fabriqueterm.store.repositories.read_models import LearnerProfile, LocalChange

#: Rows per INSERT statement of LearnerRepository.create_many (and per progress report).
_BULK_BATCH = 500
_LEARNER_FIELDS = frozenset(INPUT_MODELS["learner"].model_fields)
_FROM_COHORT = frozenset({"cohort_id", "site_id"})
#: Up to this many matches a search sorts them by name; beyond, walking the name index until a page
#: is full costs less (about 10 ms against 50 at 20,000 matches of 100,000 learners).
_SORTED_AT_MOST = 2_000
_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)
_LEARNER_TABLE: Any = Learner.__table__  # type: ignore[attr-defined]
_FOLLOW_UP_TABLE: Any = FollowUp.__table__  # type: ignore[attr-defined]


def _bulk_learner_values(values: Mapping[str, Any], cohort: Cohort) -> dict[str, Any]:
    """``values`` (validated) placed in ``cohort``; ValueError for values not shaped by
    ``validate("learner", …)`` or meant for another cohort: a caller's mistake, not bad input."""
    missing = _LEARNER_FIELDS - _FROM_COHORT - values.keys()
    unknown = values.keys() - _LEARNER_FIELDS
    if missing or unknown:
        raise ValueError(
            f"not validated learner values: missing {sorted(missing)}, unknown {sorted(unknown)}"
        )
    if values.get("cohort_id", cohort.id) != cohort.id:
        raise ValueError(
            f"values of cohort {values['cohort_id']} given to create learners in cohort {cohort.id}"
        )
    return {**values, "cohort_id": cohort.id, "site_id": cohort.site_id}


def match_expression(terms: SearchTerms) -> str:
    """The FTS5 query of the learner search index finding ``terms``: each phrase from the start of
    a word of the names or email, each number from the start of a phone form (migration v6)."""
    parts = [f'words : "{" ".join(phrase)}" *' for phrase in terms.phrases]
    parts += [f'phones : "{digits}" *' for digits in terms.phones]
    return " AND ".join(parts)


class LearnerRepository(Repository[Learner]):
    model = Learner
    entity = "learner"

    def _complete(self, session: Session, data: dict[str, Any]) -> dict[str, Any]:
        cohort = self._require(session, Cohort, "cohort_id", data.get("cohort_id") or None)
        if cohort is not None:
            data["site_id"] = cohort.site_id
        return data

    def _check(self, session: Session, values: dict[str, Any], current: Learner | None) -> None:
        # create_many checks the same for a whole batch in one query: change both together.
        self._require(session, Partner, "prescriber_id", values.get("prescriber_id"))

    def _after_write(self, session: Session, row: Learner, before: dict[str, Any] | None) -> None:
        # create_many makes the same follow-ups in bulk (domain.followups.generated_follow_ups).
        if row.status in COMPLETER_STATUSES:
            self.store.follow_ups.generate_for_completer(session, row)

    def create_many(
        self,
        cohort_id: str,
        validated: Sequence[Mapping[str, Any]],
        *,
        progress: Callable[[int, int], None] | None = None,
    ) -> list[str]:
        """Create learners of the cohort ``cohort_id`` in bulk, in one transaction: each row, its
        outbox mutation and a completer's generated follow-ups are what :meth:`create` makes, and
        the search index is kept by its trigger.

        ``validated`` holds values returned by ``validate("learner", …)`` (an importer checks every
        row to show its preview): they are not validated again, and their ``site_id`` is set from the
        cohort. The rules spanning rows are checked for the whole batch: the cohort and every
        prescriber must be live records, else :class:`DomainValidationError`. All or nothing: when
        any row cannot be written, nothing is. ``progress(done, total)`` is called after each batch
        of rows written. Returns the new learners' ids in the order given (ids, not rows: reading
        10,000 rows back as objects costs more than writing them).
        """
        total = len(validated)
        with self.store.write() as session:
            cohort = self._require(session, Cohort, "cohort_id", cohort_id)
            rows = [_bulk_learner_values(values, cohort) for values in validated]
            prescribers = sorted(
                {v["prescriber_id"] for v in rows if v["prescriber_id"] is not None}
            )
            if prescribers:
                live = set(
                    session.exec(
                        select(Partner.id).where(
                            col(Partner.id).in_(prescribers), col(Partner.deleted_at).is_(None)
                        )
                    )
                )
                unknown = [p for p in prescribers if p not in live]
                if unknown:
                    raise DomainValidationError(
                        [FieldError("prescriber_id", p, "unknown_reference") for p in unknown]
                    )
            now = self.store.clock.now()
            created: list[str] = []
            for start in range(0, total, _BULK_BATCH):
                batch = rows[start : start + _BULK_BATCH]
                learners: list[dict[str, Any]] = []
                follow_ups: list[dict[str, Any]] = []
                mutations: list[dict[str, Any]] = []  # in the order create() would append them
                for values in batch:
                    row_id = uuid7()
                    created.append(row_id)
                    learners.append({**values, "id": row_id, "created_at": now, "updated_at": now})
                    mutations.append(create_mutation("learner", row_id, values))
                    if values["status"] not in COMPLETER_STATUSES:
                        continue
                    # A new learner's follow-ups cannot exist yet: no lookup (generate_for_completer looks).
                    for follow_up_row_id, data in generated_follow_ups(row_id, cohort.end_date):
                        checked = validate("follow_up", {**data, "site_id": values["site_id"]})
                        follow_ups.append(
                            {
                                **checked,
                                "id": follow_up_row_id,
                                "created_at": now,
                                "updated_at": now,
                            }
                        )
                        mutations.append(create_mutation("follow_up", follow_up_row_id, checked))
                # RETURNING makes SQLAlchemy send the batch as multi-row INSERTs, and FTS5 writes its
                # pending index once per statement: the search trigger costs ten times less than row by row.
                session.execute(
                    insert(_LEARNER_TABLE).returning(_LEARNER_TABLE.c.id), learners
                ).all()
                if follow_ups:
                    session.execute(insert(_FOLLOW_UP_TABLE), follow_ups)
                self.store.outbox.append_many(session, mutations)
                if progress is not None:
                    progress(start + len(batch), total)
            return created

    def holding_contacts(self, emails: Sequence[str], phones: Sequence[str]) -> list[Learner]:
        """Live learners whose email is one of ``emails`` (ignoring the case of ASCII letters, as
        SQLite's lower() does) or whose phone (E.164) is one of ``phones``, oldest first: one pass
        over the table whatever the number of values, instead of reading every contact."""
        if not emails and not phones:
            return []
        held = text(
            "lower(email) IN (SELECT value FROM json_each(:emails))"
            " OR phone IN (SELECT value FROM json_each(:phones))"
        ).bindparams(
            emails=json.dumps([e.translate(_ASCII_LOWER) for e in emails]),
            phones=json.dumps(list(phones)),
        )
        with self.store.read() as session:
            query = (
                select(Learner)
                .where(col(Learner.deleted_at).is_(None), held)
                .order_by(col(Learner.created_at), col(Learner.id))
            )
            return list(session.exec(query))

    def erase(self, row_id: str) -> None:
        """Right to be forgotten: wipe the personal fields and write a tombstone, in one transaction
        with its outbox mutation, so the erasure reaches the commons and every other device."""
        with self.store.write() as session:
            row = session.get(Learner, row_id)
            if row is None:
                raise NotFound(f"learner {row_id}")
            wiped = dict(ERASED_LEARNER_VALUES)
            for key, value in wiped.items():
                setattr(row, key, value)
            row.deleted_at = row.updated_at = self.store.clock.now()
            session.add(row)
            children: list[tuple[str, str]] = []
            for model in (FollowUp, FollowUpAttempt, Placement):
                for child in session.exec(select(model).where(col(model.learner_id) == row_id)):
                    child.notes = ""
                    session.add(child)
                    children.append((model.__tablename__, child.id))  # type: ignore[attr-defined]
            session.flush()
            for entity, child_id in children:  # unsent notes about the person go too
                self.store.outbox.scrub(
                    session, entity=entity, row_id=child_id, wiped={"notes": ""}
                )
            self.store.outbox.scrub(session, entity="learner", row_id=row_id, wiped=wiped)
            self.store.outbox.append(
                session,
                entity="learner",
                row_id=row_id,
                op="erase",
                fields=wiped,
                base_version=row.version,
                base_values={},
            )

    def in_cohort(self, cohort_id: str) -> list[Learner]:
        with self.store.read() as session:
            query = (
                select(Learner)
                .where(col(Learner.cohort_id) == cohort_id, col(Learner.deleted_at).is_(None))
                .order_by(func.lower(Learner.last_name), func.lower(Learner.first_name))
            )
            return list(session.exec(query))

    def search(
        self, needle: str, *, limit: int = 50, offset: int = 0, total: int | None = None
    ) -> tuple[list[Learner], int]:
        """Learners found by ``needle`` as people type it (:func:`fabriqueterm.domain.search.
        search_terms`): each word starts a word of their names or email, in any order, accents
        and case ignored ("zoe mar", "Martin Zoé"), and each number starts their phone number or
        one of its groups ("06 12", "+33 6 12", "612"). Returns ``limit`` of them by name from
        ``offset``, and their total (``total`` when given: a later page is not counted again).

        The search index (migration version 6) holds live learners only: it counts the matches
        itself. A few thousand matches are sorted by name; more, as a first letter typed finds,
        are taken in the order of the name index until the page is full.
        """
        match = match_expression(search_terms(needle))
        if not match:
            return [], 0
        found = "SELECT rowid FROM learner_search WHERE learner_search MATCH :match"
        with self.store.read() as session:
            if total is None:
                total = int(
                    session.execute(
                        text(
                            "SELECT count(*) FROM learner_search WHERE learner_search MATCH :match"
                        ),
                        {"match": match},
                    ).scalar()
                    or 0
                )
            if offset >= total:
                return [], total
            walk = "INDEXED BY ix_learner_name " if total > _SORTED_AT_MOST else ""
            # rowid breaks ties between namesakes, so consecutive pages never overlap.
            ids = [
                r[0]
                for r in session.execute(
                    text(
                        f"SELECT id FROM learner {walk}WHERE rowid IN ({found})"
                        " ORDER BY last_name COLLATE NOCASE, first_name COLLATE NOCASE, rowid"
                        " LIMIT :limit OFFSET :offset"
                    ),
                    {"match": match, "limit": limit, "offset": offset},
                )
            ]
            rows = {r.id: r for r in session.exec(select(Learner).where(col(Learner.id).in_(ids)))}
            return [rows[i] for i in ids if i in rows], total

    def page(
        self, needle: str = "", *, limit: int = 200, offset: int = 0, total: int | None = None
    ) -> Page[Learner]:
        """Learners matching ``needle`` (see :meth:`search`), or everyone by name when it is
        empty: a bounded page and the total (``total`` when given: not counted again)."""
        if needle.strip():
            rows, total = self.search(needle, limit=limit, offset=offset, total=total)
            return Page(rows, total, offset, limit)
        with self.store.read() as session:
            if total is None:
                total = session.exec(
                    select(func.count())
                    .select_from(Learner)
                    .where(col(Learner.deleted_at).is_(None))
                ).one()
            ids = [
                r[0]
                for r in session.execute(
                    text(
                        "SELECT id FROM learner WHERE deleted_at IS NULL"
                        " ORDER BY last_name COLLATE NOCASE, first_name COLLATE NOCASE, rowid LIMIT :limit OFFSET :offset"
                    ),
                    {"limit": limit, "offset": offset},
                )
            ]
            found = {r.id: r for r in session.exec(select(Learner).where(col(Learner.id).in_(ids)))}
            return Page([found[i] for i in ids if i in found], int(total), offset, limit)

    def profile(self, learner_id: str) -> LearnerProfile:
        """A learner with everything their detail screen shows, read in one snapshot."""
        with self.store.read() as session:
            learner = self._get(session, learner_id)
            cohort = session.get(Cohort, learner.cohort_id)
            site = session.get(Site, learner.site_id)
            prescriber = (
                session.get(Partner, learner.prescriber_id) if learner.prescriber_id else None
            )
            placements = list(
                session.exec(
                    select(Placement)
                    .where(
                        col(Placement.learner_id) == learner_id, col(Placement.deleted_at).is_(None)
                    )
                    .order_by(col(Placement.start_date), col(Placement.id))
                )
            )
            partner_ids = [p.partner_id for p in placements if p.partner_id]
            partner_names = (
                {
                    row_id: name
                    for row_id, name in session.exec(
                        select(Partner.id, Partner.name).where(col(Partner.id).in_(partner_ids))
                    )
                }
                if partner_ids
                else {}
            )
            follow_ups = list(
                session.exec(
                    select(FollowUp)
                    .where(
                        col(FollowUp.learner_id) == learner_id, col(FollowUp.deleted_at).is_(None)
                    )
                    .order_by(col(FollowUp.due_date), col(FollowUp.id))
                )
            )
            changes = [
                LocalChange(r["seq"], r["op"], r["created_at"], r["state"], r["fields"])
                for r in session.execute(
                    text(
                        "SELECT seq, op, created_at, state, fields FROM outbox"
                        " WHERE entity = 'learner' AND row_id = :id ORDER BY seq DESC LIMIT 20"
                    ),
                    {"id": learner_id},
                ).mappings()
            ]
            return LearnerProfile(
                learner=learner,
                cohort_name=cohort.name if cohort else "",
                site_name=site.name if site else "",
                prescriber_name=prescriber.name if prescriber else "",
                placements=placements,
                partner_names=partner_names,
                follow_ups=follow_ups,
                local_changes=changes,
            )
