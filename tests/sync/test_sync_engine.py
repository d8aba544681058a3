"""The sync engine against a real commons: merges, conflicts, deletions, erasures, scope changes."""

from __future__ import annotations

import json

from sync_helpers import COHORT, LEARNER

from fabriqueterm.store.repositories import NotFound
from fabriqueterm.sync.engine import sync_status


def _seeded(device, team):
    """Device ``a`` with a cohort and a learner it created and pushed; device ``b`` synced after."""
    a = device("a")
    first = a.sync()
    assert first.ok, first.errors
    cohort = a.store.cohorts.create({**COHORT, "site_id": team.site1})
    learner = a.store.learners.create({**LEARNER, "cohort_id": cohort.id})
    report = a.sync()
    assert report.ok, report.errors
    assert report.pushed == 2
    assert a.store.outbox.count("pending") == 0
    b = device("b")
    assert b.sync().ok
    return a, b, learner.id


def test_first_sync_brings_the_sites_and_sets_cursors(device, team):
    a = device("a")
    report = a.sync()
    assert report.ok, report.errors
    assert set(a.rows("site")) == {team.site1, team.site2}
    assert set(a.replica.cursors()) == {team.site1, team.site2}
    status = sync_status(a.store)
    assert status.online is True and status.pending == 0 and status.last_success is not None


def test_rows_pushed_by_one_client_reach_the_other(device, team):
    a, b, learner_id = _seeded(device, team)
    got = b.store.learners.get(learner_id)
    assert (got.first_name, got.email) == ("Inès", "ines.martin@example.org")
    assert got.version == a.store.learners.get(learner_id).version is not None


def test_edits_of_different_fields_both_survive(device, team):
    a, b, learner_id = _seeded(device, team)
    a.store.learners.update(learner_id, {"phone": "+33611111111"})
    b.store.learners.update(learner_id, {"email": "ines@example.net"})
    assert a.sync().ok and b.sync().ok and a.sync().ok
    for one in (a, b):
        got = one.store.learners.get(learner_id)
        assert (got.phone, got.email) == ("+33611111111", "ines@example.net")
        assert one.store.outbox.count("pending") == 0
    assert a.rows("learner")[learner_id] == b.rows("learner")[learner_id]


def test_same_field_makes_one_conflict_with_both_values(device, team):
    a, b, learner_id = _seeded(device, team)
    a.store.learners.update(learner_id, {"phone": "+33611111111"})
    b.store.learners.update(learner_id, {"phone": "+33622222222"})
    assert a.sync().conflicts == 0
    second = b.sync()
    assert second.conflicts == 1
    conflicts = [c for c in b.rows("conflict").values() if c["row_id"] == learner_id]
    assert len(conflicts) == 1
    conflict = conflicts[0]
    assert conflict["field"] == "phone"
    assert json.loads(conflict["server_value"]) == "+33611111111"
    assert json.loads(conflict["client_value"]) == "+33622222222"
    # The commons kept the first value; the second client converged on it, its own value is in the record.
    assert b.store.learners.get(learner_id).phone == "+33611111111"
    assert sync_status(b.store).conflicts_open == 1
    assert a.sync().ok
    assert list(a.rows("conflict")) == [conflict["id"]]


def test_deletion_propagates(device, team):
    a, b, learner_id = _seeded(device, team)
    a.store.learners.delete(learner_id)
    assert a.sync().ok
    assert b.sync().ok
    try:
        b.store.learners.get(learner_id)
    except NotFound:
        pass
    else:
        raise AssertionError("the deletion did not reach the other client")
    assert b.rows("learner")[learner_id]["deleted_at"] is not None


def test_erasure_propagates_and_wipes_pending_personal_edits(device, team):
    a, b, learner_id = _seeded(device, team)
    b.store.learners.update(learner_id, {"email": "new@example.net"})  # pending on b, never pushed
    a.store.learners.erase(learner_id)
    assert a.sync().ok
    report = b.sync()
    assert report.erased >= 1
    row = b.rows("learner")[learner_id]
    assert row["deleted_at"] is not None
    assert (row["first_name"], row["last_name"], row["email"], row["phone"]) == ("", "", None, None)
    assert "new@example.net" not in json.dumps(
        [e.fields for e in b.store.outbox.entries(state=None)]
    )


def test_pull_does_not_overwrite_pending_local_edits(device, team):
    a, b, learner_id = _seeded(device, team)
    a.store.learners.update(learner_id, {"phone": "+33611111111"})
    assert a.sync().ok
    b.store.learners.update(learner_id, {"email": "b@example.net"})
    # Pull only: the pending email stays, the server's phone and version arrive.
    from fabriqueterm.sync.client import CommonsClient
    from fabriqueterm.sync.engine import SyncEngine, SyncReport

    with CommonsClient(b.url, team.token) as client:
        SyncEngine(b.store, client).pull(SyncReport())
    got = b.store.learners.get(learner_id)
    assert (got.email, got.phone) == ("b@example.net", "+33611111111")
    assert got.version == a.store.learners.get(learner_id).version
    assert b.sync().ok and a.sync().ok
    assert a.store.learners.get(learner_id).email == "b@example.net"


def test_site_granted_mid_life_backfills_alone(device, team, commons):
    a, b, _learner = _seeded(device, team)
    # Rows already on site3 from someone else: the commons' own admin load, through another team member.
    from sync_helpers import Device, Team

    from fabriqueterm.server import admin

    other_email = f"x-{team.email}"
    admin.add_coordinator(commons.engine, email=other_email, name="Other")
    admin.grant(commons.engine, email=other_email, site_id=team.site3)
    other = Team(
        commons,
        other_email,
        admin.issue_token(commons.engine, email=other_email).value,
        team.site3,
        team.site3,
        team.site3,
    )
    c = Device(a.store.path.with_name("other.sqlite3"), other)
    try:
        assert c.sync().ok
        cohort = c.store.cohorts.create({**COHORT, "site_id": team.site3, "name": "Promo Brest"})
        assert c.sync().ok
    finally:
        c.close()
    cursors_before = a.replica.cursors()
    team.grant(team.site3)
    report = a.sync()
    assert report.ok, report.errors
    assert report.backfilled_sites == [team.site3]
    assert report.pulled == 2  # the site and its cohort: the other sites are not pulled again
    assert a.store.cohorts.get(cohort.id).name == "Promo Brest"
    cursors = a.replica.cursors()
    assert set(cursors) == {team.site1, team.site2, team.site3}
    assert cursors[team.site1] >= cursors_before[team.site1]


def test_revoked_site_is_evicted_except_rows_with_pending_edits(device, team):
    a, b, learner_id = _seeded(device, team)
    other = a.store.learners.create(
        {**LEARNER, "first_name": "Paul", "cohort_id": a.store.learners.get(learner_id).cohort_id}
    )
    assert a.sync().ok
    a.store.learners.update(learner_id, {"phone": "+33633333333"})  # pending when the site goes
    team.revoke(team.site1)
    report = a.sync()
    assert ("learner", learner_id) in report.kept
    assert team.site1 in report.evicted_sites
    learners = a.rows("learner")
    assert learner_id in learners and other.id not in learners
    assert learners[learner_id]["phone"] == "+33633333333"
    assert team.site1 not in a.replica.cursors()
    assert (
        a.store.outbox.count("pending") == 0 or report.rejected
    )  # the edit was answered (out of scope)


def test_a_conflict_resolved_on_one_client_is_resolved_everywhere(device, team):
    a, b, learner_id = _seeded(device, team)
    a.store.learners.update(learner_id, {"phone": "+33611111111"})
    b.store.learners.update(learner_id, {"phone": "+33622222222"})
    assert a.sync().ok and b.sync().conflicts == 1
    [conflict] = b.replica.open_conflicts()
    # The person takes their own value: a new mutation, and the conflict marked resolved.
    b.store.learners.update(learner_id, {"phone": json.loads(conflict["client_value"])})
    b.replica.resolve_conflict(conflict["id"], "took_client")
    assert b.sync().ok
    assert a.sync().ok
    assert a.replica.open_conflicts() == [] and b.replica.open_conflicts() == []
    assert a.rows("conflict")[conflict["id"]]["resolution"] == "took_client"
    assert (
        a.store.learners.get(learner_id).phone
        == b.store.learners.get(learner_id).phone
        == "+33622222222"
    )


def test_a_rejected_edit_is_set_aside_with_its_reason_and_does_not_block(device, team):
    from fabriqueterm.sync.engine import rejection_message

    a, b, learner_id = _seeded(device, team)
    team.revoke(team.site1)  # the edit below is now out of scope: refused
    a.store.learners.update(learner_id, {"phone": "+33655555555"})
    cohort = a.store.cohorts.create({**COHORT, "site_id": team.site2})
    report = a.sync()
    assert report.rejected == 1 and report.pushed == 1 and not report.ok
    [entry] = a.store.outbox.entries(state="rejected")
    assert entry.row_id == learner_id
    assert rejection_message(entry.reason)
    assert json.loads(entry.reason)[0]["code"] == "not_found"
    assert a.store.cohorts.get(cohort.id).version is not None
    assert sync_status(a.store).rejected == 1


def test_headless_sync_modules_import_neither_textual_nor_fastapi():
    import subprocess
    import sys

    code = (
        "import sys, fabriqueterm.sync.engine, fabriqueterm.sync.cli, fabriqueterm.sync.client, "
        "fabriqueterm.store.replica; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'fastapi', 'starlette')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


def test_status_of_a_database_never_synced(tmp_path):
    from fabriqueterm.store.db import Store

    with Store.open(tmp_path / "fresh.sqlite3") as store:
        status = sync_status(store)
    assert (
        status.online,
        status.pending,
        status.conflicts_open,
        status.last_success,
        status.last_error,
    ) == (None, 0, 0, None, None)


def test_a_row_moved_to_a_site_not_held_leaves_the_replica(device, team, commons):
    from sync_helpers import Device, Team

    from fabriqueterm.server import admin

    a, b, learner_id = _seeded(device, team)
    email = f"mover-{team.email}"
    admin.add_coordinator(commons.engine, email=email, name="Mover")
    for site in (team.site1, team.site3):
        admin.grant(commons.engine, email=email, site_id=site)
    mover = Device(
        a.store.path.with_name("mover.sqlite3"),
        Team(
            commons,
            email,
            admin.issue_token(commons.engine, email=email).value,
            team.site1,
            team.site3,
            team.site3,
        ),
    )
    try:
        assert mover.sync().ok
        elsewhere = mover.store.cohorts.create(
            {**COHORT, "site_id": team.site3, "name": "Promo Brest"}
        )
        mover.store.learners.update(learner_id, {"cohort_id": elsewhere.id})
        assert mover.sync().ok
        assert mover.rows("learner")[learner_id]["site_id"] == team.site3
    finally:
        mover.close()
    report = a.sync()
    assert report.ok and report.removed >= 1
    assert learner_id not in a.rows("learner")


def test_a_learners_history_keeps_local_edits_and_what_the_commons_brought(device, team, clock):
    a, b, learner_id = _seeded(device, team)
    before = len(b.store.history.of_learner(learner_id))  # a first sync records nothing
    assert before == 0
    a.store.learners.update(learner_id, {"phone": "+33611111111", "status": "graduated"})
    assert a.sync().ok
    local = a.store.history.of_learner(learner_id)
    # Graduating schedules the end, +3 and +6 months follow-ups: they are part of the story.
    assert [(e.entity, e.op) for e in local] == [
        ("follow_up", "create"),
        ("follow_up", "create"),
        ("follow_up", "create"),
        ("learner", "update"),
        ("learner", "create"),  # made on device a: its creation is there too
    ]
    assert {e.source for e in local} == {"local"}
    update = local[3]
    assert update.changes == {
        "phone": ("+33612345678", "+33611111111"),
        "status": ("enrolled", "graduated"),
    }
    assert local[0].changes["milestone"] == (None, "m6") and "learner_id" not in local[0].changes
    # Device b had the learner: the pulled change is recorded field by field, as from the commons.
    assert b.sync().ok
    pulled = b.store.history.of_learner(learner_id)
    assert len(pulled) == 1
    assert (pulled[0].source, pulled[0].op) == ("commons", "update")
    assert pulled[0].changes == update.changes
    # A placement logged on b shows in the learner's history on both devices.
    b.store.placements.create(
        {
            "learner_id": learner_id,
            "kind": "cdi",
            "job_title": "Développeuse",
            "start_date": "2026-08-01",
        }
    )
    assert b.sync().ok and a.sync().ok
    assert b.store.history.of_learner(learner_id)[0].entity == "placement"
    # An erasure forgets the history (it holds the person's values) on the device that erased and
    # on the other one, leaving only the fact that it happened.
    a.store.learners.erase(learner_id)
    assert [(e.op, e.changes) for e in a.store.history.of_learner(learner_id)] == [("erase", {})]
    assert a.sync().ok and b.sync().ok
    assert [(e.op, e.source) for e in b.store.history.of_learner(learner_id)] == [
        ("erase", "commons")
    ]
    assert "+33611111111" not in json.dumps(
        [e.changes for e in b.store.history.of_learner(learner_id)]
    )
