"""Sites: the places a network runs its cohorts in."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, func, or_
from sqlmodel import Session, col, select

from fabriqueterm.domain.models import Cohort, Learner, Site
from fabriqueterm.domain.search import fold, folded_contains
from fabriqueterm.store.repositories.base import Page, Repository
from fabriqueterm.store.repositories.read_models import SiteLine


def _fold_value(value: object) -> object:
    return fold(value) if isinstance(value, str) else value


def words_found(session: Session, columns: Sequence[Any], needle: str) -> Any:
    """The condition "every word of ``needle`` is in one of ``columns``", accents and case ignored
    (:func:`fabriqueterm.domain.search.fold`, made an SQL function of the session's connection):
    for the short lists (sites, partners, cohorts), where SQLite calling it on each row costs
    less than a millisecond."""
    driver = session.connection().connection.driver_connection
    driver.create_function("fold", 1, _fold_value, deterministic=True)  # type: ignore[union-attr]
    return and_(
        *(
            or_(*(func.fold(col(column)).like(pattern, escape="\\") for column in columns))
            for pattern in folded_contains(needle)
        )
    )


class SiteRepository(Repository[Site]):
    model = Site
    entity = "site"
    dependents = ((Cohort, "site_id"),)

    def all(self, *, include_inactive: bool = True) -> list[Site]:
        with self.store.read() as session:
            query = select(Site).where(col(Site.deleted_at).is_(None))
            if not include_inactive:
                query = query.where(col(Site.active).is_(True))
            return list(session.exec(query.order_by(col(Site.name))))

    def page(self, needle: str = "", *, limit: int = 200, offset: int = 0) -> Page[SiteLine]:
        """Sites whose name, city or region holds each word of ``needle`` (accents and case
        ignored), by name, with their running cohorts and live learners counted."""
        with self.store.read() as session:
            where: list[Any] = [col(Site.deleted_at).is_(None)]
            if needle.strip():
                where.append(words_found(session, (Site.name, Site.city, Site.region), needle))
            total = session.exec(select(func.count()).select_from(Site).where(*where)).one()
            running = (
                select(func.count())
                .select_from(Cohort)
                .where(
                    col(Cohort.site_id) == col(Site.id),
                    col(Cohort.deleted_at).is_(None),
                    col(Cohort.status) == "running",
                )
                .scalar_subquery()
            )
            learners = (
                select(func.count())
                .select_from(Learner)
                .where(col(Learner.site_id) == col(Site.id), col(Learner.deleted_at).is_(None))
                .scalar_subquery()
            )
            query = (
                select(Site, running, learners)
                .where(*where)
                .order_by(col(Site.name), col(Site.id))
                .limit(limit)
                .offset(offset)
            )
            rows = [SiteLine(site, int(r), int(n)) for site, r, n in session.exec(query)]
            return Page(rows, int(total), offset, limit)

    def names(self) -> dict[str, str]:
        """Every live site's name by id (a coordinator has a handful of sites)."""
        with self.store.read() as session:
            query = select(Site.id, Site.name).where(col(Site.deleted_at).is_(None))
            return {row_id: name for row_id, name in session.exec(query)}
