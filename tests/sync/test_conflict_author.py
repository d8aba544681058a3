"""Who made the commons' value of a conflict: the colleague whose write is on the commons (their
name and when the commons took it), not the person who meets the conflict."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime

from sync_helpers import COHORT, LEARNER, Device, Team

from fabriqueterm.server import admin
from fabriqueterm.store.repositories.conflicts import ConflictRepository


def _colleague_of(team: Team, name: str) -> Team:
    """Another coordinator holding the same sites, with their own token."""
    engine = team.commons.engine
    email = f"colleague-{uuid.uuid4().hex[:8]}@example.org"
    admin.add_coordinator(engine, email=email, name=name)
    for site in (team.site1, team.site2):
        admin.grant(engine, email=email, site_id=site)
    token = admin.issue_token(engine, email=email).value
    return dataclasses.replace(team, email=email, token=token)


def test_the_conflict_names_the_colleague_who_made_the_commons_value(tmp_path, team):
    amina = _colleague_of(team, "Amina Diallo")
    a = Device(tmp_path / "a.sqlite3", amina)
    b = Device(tmp_path / "b.sqlite3", team)
    try:
        assert a.sync().ok
        cohort = a.store.cohorts.create({**COHORT, "site_id": team.site1})
        learner = a.store.learners.create({**LEARNER, "cohort_id": cohort.id})
        assert a.sync().ok
        assert b.sync().ok  # b's base: the learner as Amina created it

        before = datetime.now(UTC)
        a.store.learners.update(learner.id, {"phone": "+33611111111"})
        assert a.sync().ok
        after = datetime.now(UTC)
        b.store.learners.update(learner.id, {"phone": "+33622222222"})  # from the older base
        report = b.sync()
        assert report.ok and report.conflicts == 1, report.errors

        [line] = ConflictRepository(b.store).open()
        assert (line.row_entity, line.field) == ("learner", "phone")
        assert line.server_author_name == "Amina Diallo"
        assert line.server_author_id != line.coordinator_id  # not the person looking
        assert line.coordinator_name == "Camille Coordinatrice"
        assert line.server_changed_at is not None and before <= line.server_changed_at <= after
        # What the conflict is about, in words, and when b made its own value.
        assert (line.learner_name, line.cohort_name) == ("Inès Martin", "Promo 1")
        assert line.mine_changed_at is not None and line.mine_changed_at >= after

        # The same record reaches Amina's device with the same author.
        assert a.sync().ok
        conflict = a.rows("conflict")[line.id]
        assert conflict["server_author_name"] == "Amina Diallo"
    finally:
        a.close()
        b.close()
