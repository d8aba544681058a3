"""Partners (employers, funders, prescribers…) and their links to sites."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from fabriqueterm.domain.ids import partner_site_id
from fabriqueterm.domain.models import Partner, PartnerSite, Site
from fabriqueterm.domain.validation import validate
from fabriqueterm.store.repositories.base import Page, Repository
from fabriqueterm.store.repositories.sites import words_found


class PartnerRepository(Repository[Partner]):
    model = Partner
    entity = "partner"

    def page(
        self, needle: str = "", *, kind: str | None = None, limit: int = 200, offset: int = 0
    ) -> Page[Partner]:
        """Partners whose name, city or contact holds each word of ``needle`` (accents and case
        ignored), of ``kind`` when given, by name."""
        with self.store.read() as session:
            where: list[Any] = [col(Partner.deleted_at).is_(None)]
            if needle.strip():
                columns = (Partner.name, Partner.city, Partner.contact_name)
                where.append(words_found(session, columns, needle))
            if kind:
                where.append(col(Partner.kinds).like(f"%{kind}%"))
            total = session.exec(select(func.count()).select_from(Partner).where(*where)).one()
            query = select(Partner).where(*where).order_by(col(Partner.name), col(Partner.id))
            rows = list(session.exec(query.limit(limit).offset(offset)))
            return Page(rows, int(total), offset, limit)

    def sites_of(self, partner_id: str) -> list[Site]:
        """The live sites ``partner_id`` is linked to, by name."""
        with self.store.read() as session:
            query = (
                select(Site)
                .join(PartnerSite, col(PartnerSite.site_id) == col(Site.id))
                .where(
                    col(PartnerSite.partner_id) == partner_id,
                    col(PartnerSite.deleted_at).is_(None),
                    col(Site.deleted_at).is_(None),
                )
                .order_by(col(Site.name))
            )
            return list(session.exec(query))

    def unlink(self, partner_id: str, site_id: str) -> None:
        """Remove the link between a partner and a site (a tombstone on the link row)."""
        with self.store.write() as session:
            link = session.get(PartnerSite, partner_site_id(partner_id, site_id))
            if link is None or link.deleted_at is not None:
                return
            self._delete_link(session, link)

    def _delete_link(self, session: Session, link: PartnerSite) -> None:
        link.deleted_at = link.updated_at = self.store.clock.now()
        session.add(link)
        session.flush()
        self.store.outbox.append(
            session,
            entity="partner_site",
            row_id=link.id,
            op="delete",
            fields={},
            base_version=link.version,
            base_values={},
        )

    def create_for_sites(self, data: dict[str, Any], site_ids: Sequence[str]) -> Partner:
        """Create a partner and link it to ``site_ids``, in one transaction."""
        with self.store.write() as session:
            partner = self.create_in(session, data)
            for site_id in site_ids:
                self._link(session, partner.id, site_id)
            return partner

    def link(self, partner_id: str, site_id: str) -> None:
        with self.store.write() as session:
            self._get(session, partner_id)
            self._link(session, partner_id, site_id)

    def _link(self, session: Session, partner_id: str, site_id: str) -> None:
        self._require(session, Site, "site_id", site_id)
        link_id = partner_site_id(partner_id, site_id)
        existing = session.get(PartnerSite, link_id)
        if existing is not None and existing.deleted_at is None:
            return
        values = validate("partner_site", {"partner_id": partner_id, "site_id": site_id})
        now = self.store.clock.now()
        if existing is None:
            session.add(PartnerSite(id=link_id, created_at=now, updated_at=now, **values))
            op, base = "create", None
        else:  # a link removed earlier and made again
            existing.deleted_at, existing.updated_at, base = None, now, existing.version
            session.add(existing)
            op = "update"
        session.flush()
        self.store.outbox.append(
            session,
            entity="partner_site",
            row_id=link_id,
            op=op,
            fields=values,
            base_version=base,
            base_values={},
        )

    def for_site(self, site_id: str) -> list[Partner]:
        with self.store.read() as session:
            query = (
                select(Partner)
                .join(PartnerSite, col(PartnerSite.partner_id) == col(Partner.id))
                .where(
                    col(PartnerSite.site_id) == site_id,
                    col(PartnerSite.deleted_at).is_(None),
                    col(Partner.deleted_at).is_(None),
                )
                .order_by(col(Partner.name))
            )
            return list(session.exec(query))

    def all(self) -> list[Partner]:
        with self.store.read() as session:
            return list(
                session.exec(
                    select(Partner)
                    .where(col(Partner.deleted_at).is_(None))
                    .order_by(col(Partner.name))
                )
            )
