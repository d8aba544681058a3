"""Property: random creates, edits, deletes and syncs across three clients converge, after a final
sync round, to the commons' state, and every conflict the commons recorded reaches every client."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from sync_helpers import COHORT, LEARNER, Device, make_team

PHONES = ["+33611111111", "+33622222222", "+33633333333"]
NAMES = ["Inès", "Paul", "Awa"]

operation = st.tuples(
    st.integers(0, 2),  # which client
    st.sampled_from(["create", "phone", "name", "delete", "sync", "sync"]),
    st.integers(0, 20),  # which learner (modulo the live ones)
    st.integers(0, 2),  # which value
)


def _server_state(commons, site: str) -> tuple[dict, set]:
    with commons.engine.connect() as connection:
        learners = {
            r[0]: (r[1], r[2] is not None, r[3], r[4])
            for r in connection.execute(
                text(
                    "SELECT id, version, deleted_at, first_name, phone FROM learner WHERE site_id = :s"
                ),
                {"s": site},
            )
        }
        conflicts = {
            r[0]
            for r in connection.execute(
                text("SELECT id FROM conflict WHERE site_id = :s"), {"s": site}
            )
        }
    return learners, conflicts


def _local_state(device: Device) -> tuple[dict, set]:
    learners = {
        i: (r["version"], r["deleted_at"] is not None, r["first_name"], r["phone"])
        for i, r in device.rows("learner").items()
    }
    return learners, set(device.rows("conflict"))


@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(operation, min_size=1, max_size=25))
def test_random_interleavings_converge(commons, operations):
    team = make_team(commons)
    folder = Path(tempfile.mkdtemp(prefix="sync-property-"))
    devices = [Device(folder / f"{n}.sqlite3", team) for n in range(3)]
    try:
        assert devices[0].sync().ok
        cohort = devices[0].store.cohorts.create({**COHORT, "site_id": team.site1})
        for device in devices:
            assert device.sync().ok
        for who, action, pick, value in operations:
            device = devices[who]
            live = sorted(i for i, r in device.rows("learner").items() if r["deleted_at"] is None)
            if action == "create":
                device.store.learners.create(
                    {**LEARNER, "cohort_id": cohort.id, "phone": PHONES[value]}
                )
            elif action == "sync":
                report = device.sync()
                assert not report.errors, report.errors
            elif live:
                target = live[pick % len(live)]
                if action == "phone":
                    device.store.learners.update(target, {"phone": PHONES[value]})
                elif action == "name":
                    device.store.learners.update(target, {"first_name": NAMES[value]})
                else:
                    device.store.learners.delete(target)
        for _round in range(2):
            for device in devices:
                report = device.sync()
                assert not report.errors, report.errors
        server = _server_state(commons, team.site1)
        for device in devices:
            assert device.store.outbox.count("pending") == 0
            assert _local_state(device) == server
    finally:
        for device in devices:
            device.close()
        shutil.rmtree(folder, ignore_errors=True)
