"""The docs/sync.md rules on the server, in process, on SQLite and PostgreSQL: idempotency by
(client_id, mutation number), gaps, rejections that advance the number, field-by-field merges and
conflict records, tombstones, erasure, paged pulls with per-site cursors, resync after a purge."""

from __future__ import annotations

import json
from datetime import timedelta

from commons_helpers import COHORT, LEARNER, World

from fabriqueterm.domain.ids import follow_up_id, partner_site_id, uuid7
from fabriqueterm.domain.models import LEARNER_PERSONAL_FIELDS
from fabriqueterm.server import admin


def conflicts_of(state: dict, row_id: str) -> list[dict]:
    return [
        row
        for (entity, _id), row in state.items()
        if entity == "conflict" and row and row["row_id"] == row_id
    ]


def test_push_applies_then_duplicates_are_skipped(world: World) -> None:
    device = world.device()
    cohort = uuid7()
    mutation = device.mutation("cohort", cohort, "create", {**COHORT, "site_id": world.site_a1})
    first = device.push(mutation)[0]
    assert first["status"] == "applied"
    assert first["row"]["name"] == "Promo 1" and first["row"]["version"] > 0
    # The same batch again (a retry after a cut connection): nothing applied twice.
    again = device.push_raw([mutation]).json()
    assert again["results"][0]["status"] == "duplicate"
    assert again["results"][0]["row"]["version"] == first["row"]["version"]
    assert again["last_applied_seq"] == mutation["seq"]


def test_gap_is_refused_with_the_number_expected(world: World) -> None:
    device = world.device()
    cohort = device.create_cohort(world.site_a1)  # number 1
    late = {"seq": 5, "entity": "cohort", "id": cohort, "op": "update", "fields": {"capacity": 20}}
    response = device.push_raw([late]).json()
    assert response["results"][0]["status"] == "gap"
    assert response["results"][0]["expected_seq"] == 2
    assert response["last_applied_seq"] == 1
    state, _ = device.pull_all()
    assert state[("cohort", cohort)]["capacity"] == 14


def test_rejection_names_each_field_and_the_number_advances(world: World) -> None:
    device = world.device()
    cohort = device.create_cohort(world.site_a1)
    bad = device.mutation(
        "learner",
        uuid7(),
        "create",
        {
            **LEARNER,
            "site_id": world.site_a1,
            "cohort_id": cohort,
            "gender": "Q",
            "birth_year": "old",
            "email": "nope",
        },
    )
    good = device.mutation(
        "cohort",
        cohort,
        "update",
        {"capacity": 18},
        base_version=None,
        base_values={"capacity": 14},
    )
    results = device.push(bad, good)
    assert results[0]["status"] == "rejected"
    assert {e["field"] for e in results[0]["errors"]} == {"gender", "birth_year", "email"}
    assert all(e["message"] for e in results[0]["errors"])
    assert results[0]["row"] is None
    assert results[1]["status"] == "applied" and results[1]["row"]["capacity"] == 18


def test_unknown_entity_unknown_fields_and_bad_ids_are_rejected(world: World) -> None:
    device = world.device()
    cohort = device.create_cohort(world.site_a1)
    results = device.push(
        device.mutation("spaceship", uuid7(), "create", {"name": "x"}),
        device.mutation("cohort", cohort, "update", {"colour": "blue", "version": 99}),
        device.mutation("cohort", "not-a-uuid", "update", {"capacity": 3}),
        device.mutation("site", uuid7(), "create", {"name": "Fabrique X", "city": "Lyon"}),
        device.mutation("cohort", cohort, "erase"),
    )
    assert [r["status"] for r in results] == ["rejected"] * 5
    assert results[0]["errors"][0]["code"] == "unknown_entity"
    assert {(e["field"], e["code"]) for e in results[1]["errors"]} == {
        ("colour", "unknown_field"),
        ("version", "unknown_field"),
    }
    assert results[2]["errors"][0]["code"] == "bad_id"
    assert results[3]["errors"][0]["code"] == "op_not_allowed"
    assert results[4]["errors"][0]["code"] == "op_not_allowed"


def test_edits_to_different_fields_merge(world: World) -> None:
    one, two = world.device(), world.device()
    cohort = one.create_cohort(world.site_a1)
    version = one.pull_all()[0][("cohort", cohort)]["version"]
    r1 = one.push_one(
        "cohort",
        cohort,
        "update",
        {"capacity": 16},
        base_version=version,
        base_values={"capacity": 14},
    )
    r2 = two.push_one(
        "cohort",
        cohort,
        "update",
        {"funders": "FSE"},
        base_version=version,
        base_values={"funders": "Région"},
    )
    assert r1["status"] == "applied" and r2["status"] == "applied"
    assert r2["row"]["capacity"] == 16 and r2["row"]["funders"] == "FSE"
    assert r2["row"]["version"] > r1["row"]["version"]


def test_same_field_edited_on_both_sides_keeps_server_value_and_records_a_conflict(
    world: World,
) -> None:
    one, two = world.device(), world.device()
    cohort = one.create_cohort(world.site_a1)
    version = one.pull_all()[0][("cohort", cohort)]["version"]
    one.push_one(
        "cohort",
        cohort,
        "update",
        {"capacity": 16},
        base_version=version,
        base_values={"capacity": 14},
    )
    result = two.push_one(
        "cohort",
        cohort,
        "update",
        {"capacity": 20, "name": "Promo Lille"},
        base_version=version,
        base_values={"capacity": 14, "name": "Promo 1"},
    )
    assert result["status"] == "conflict"
    assert result["row"]["capacity"] == 16  # the server's value stays
    assert result["row"]["name"] == "Promo Lille"  # the other field merged
    [conflict] = result["conflicts"]
    assert (
        conflict["kind"],
        conflict["field"],
        conflict["server_value"],
        conflict["client_value"],
        conflict["base_value"],
    ) == (
        "field",
        "capacity",
        16,
        20,
        14,
    )
    # The conflict record is a row of the site, pulled like any other.
    state, _ = two.pull_all()
    [record] = conflicts_of(state, cohort)
    assert record["site_id"] == world.site_a1 and record["field"] == "capacity"
    assert json.loads(record["server_value"]) == 16 and json.loads(record["client_value"]) == 20
    assert record["coordinator_name"] == "Alice Coordinatrice" and record["resolved_at"] is None
    # The decision: a new mutation plus the conflict marked resolved.
    fix = two.push(
        two.mutation(
            "cohort",
            cohort,
            "update",
            {"capacity": 20},
            base_version=result["row"]["version"],
            base_values={"capacity": 16},
        ),
        two.mutation(
            "conflict",
            record["id"],
            "update",
            {"resolved_at": "2026-11-25T10:00:00+00:00", "resolution": "took_client"},
        ),
    )
    assert [r["status"] for r in fix] == ["applied", "applied"]
    assert fix[1]["row"]["resolution"] == "took_client" and fix[1]["row"]["resolved_at"].startswith(
        "2026-11-25T10:00"
    )


def test_an_edit_already_on_the_server_is_nothing_to_do(world: World) -> None:
    one, two = world.device(), world.device()
    cohort = one.create_cohort(world.site_a1)
    version = one.pull_all()[0][("cohort", cohort)]["version"]
    one.push_one(
        "cohort",
        cohort,
        "update",
        {"capacity": 16},
        base_version=version,
        base_values={"capacity": 14},
    )
    result = two.push_one(
        "cohort",
        cohort,
        "update",
        {"capacity": 16},
        base_version=version,
        base_values={"capacity": 14},
    )
    assert result["status"] == "applied" and result["conflicts"] == []


def test_update_after_delete_keeps_the_tombstone_and_records_a_conflict(world: World) -> None:
    one, two = world.device(), world.device()
    cohort = one.create_cohort(world.site_a1)
    version = one.pull_all()[0][("cohort", cohort)]["version"]
    deleted = one.push_one("cohort", cohort, "delete", base_version=version)
    assert deleted["status"] == "applied" and deleted["row"]["deleted_at"] is not None
    result = two.push_one(
        "cohort",
        cohort,
        "update",
        {"capacity": 30},
        base_version=version,
        base_values={"capacity": 14},
    )
    assert result["status"] == "conflict"
    assert result["row"]["deleted_at"] is not None and result["row"]["capacity"] == 14
    assert [(c["kind"], c["field"], c["client_value"]) for c in result["conflicts"]] == [
        ("deleted", "capacity", 30)
    ]


def test_a_link_removed_then_made_again_comes_back(world: World) -> None:
    device = world.device()
    partner = uuid7()
    link = partner_site_id(partner, world.site_a1)
    pair = {"partner_id": partner, "site_id": world.site_a1}
    results = device.push(
        device.mutation(
            "partner", partner, "create", {"name": "Pôle emploi Lille", "kinds": "prescriber"}
        ),
        device.mutation("partner_site", link, "create", pair),
        device.mutation("partner_site", link, "delete", base_version=None),
        # The app re-links by updating the tombstone it made, before hearing back.
        device.mutation("partner_site", link, "update", pair, base_version=None),
    )
    assert [r["status"] for r in results] == ["applied"] * 4
    assert results[3]["row"]["deleted_at"] is None


def test_create_with_existing_id_same_content_is_a_duplicate_and_different_content_a_conflict(
    world: World,
) -> None:
    one, two = world.device(), world.device()
    cohort = one.create_cohort(world.site_a1)
    learner = one.create_learner(world.site_a1, cohort, status="graduated")
    # Two devices generate the same follow-up offline: deterministic id, same content → merged.
    generated = follow_up_id(learner, "m3")
    follow_up = {
        "site_id": world.site_a1,
        "learner_id": learner,
        "milestone": "m3",
        "due_date": "2026-10-03",
    }
    assert one.push_one("follow_up", generated, "create", follow_up)["status"] == "applied"
    same = two.push_one("follow_up", generated, "create", dict(follow_up))
    assert same["status"] == "duplicate" and same["conflicts"] == []
    different = two.push_one(
        "follow_up", generated, "create", {**follow_up, "due_date": "2026-10-10"}
    )
    assert different["status"] == "conflict"
    assert [
        (c["kind"], c["field"], c["server_value"], c["client_value"])
        for c in different["conflicts"]
    ] == [("create", "due_date", "2026-10-03", "2026-10-10")]
    assert different["row"]["due_date"] == "2026-10-03"


def test_erasure_wipes_personal_fields_notes_and_conflict_values(world: World) -> None:
    one, two = world.device(), world.device()
    cohort = one.create_cohort(world.site_a1)
    learner = one.create_learner(world.site_a1, cohort, dropout_reason="déménagement")
    version = one.pull_all()[0][("learner", learner)]["version"]
    follow = uuid7()
    one.push_one(
        "follow_up",
        follow,
        "create",
        {
            "site_id": world.site_a1,
            "learner_id": learner,
            "milestone": "end",
            "due_date": "2026-07-03",
            "notes": "Inès a trouvé un CDI chez Decathlon",
        },
    )
    one.push_one(
        "learner",
        learner,
        "update",
        {"first_name": "Ines"},
        base_version=version,
        base_values={"first_name": "Inès"},
    )
    conflict = two.push_one(
        "learner",
        learner,
        "update",
        {"first_name": "Inés"},
        base_version=version,
        base_values={"first_name": "Inès"},
    )
    assert conflict["status"] == "conflict"
    erased = one.push_one("learner", learner, "erase", {"first_name": ""}, base_version=None)
    assert erased["status"] == "applied"
    row = erased["row"]
    assert row["deleted_at"] is not None
    assert all(row[name] in (None, "") for name in LEARNER_PERSONAL_FIELDS)
    state, _ = two.pull_all()
    assert (
        state[("learner", learner)]["first_name"] == ""
        and state[("learner", learner)]["email"] is None
    )
    assert state[("follow_up", follow)]["notes"] == ""
    [record] = conflicts_of(state, learner)
    assert (
        record["server_value"] is None
        and record["client_value"] is None
        and record["base_value"] is None
    )
    text = json.dumps(list(state.values()))
    assert (
        "Inès" not in text
        and "Ines" not in text
        and "ines.martin" not in text
        and "Decathlon" not in text
    )
    # A late edit from a device that had not heard of the erasure brings nothing back.
    late = two.push_one(
        "learner",
        learner,
        "update",
        {"first_name": "Inès", "phone": "0612345678"},
        base_version=version,
        base_values={},
    )
    assert late["status"] == "conflict"
    assert late["row"]["first_name"] == "" and late["conflicts"][0]["client_value"] is None
    assert "Inès" not in json.dumps(list(two.pull_all()[0].values()))


def test_pull_pages_in_sequence_order_with_per_site_cursors(world: World) -> None:
    device = world.device()
    cohort_1 = device.create_cohort(world.site_a1)
    cohort_2 = device.create_cohort(world.site_a2)
    learners = [device.create_learner(world.site_a1, cohort_1) for _ in range(3)]
    state, cursors = device.pull_all()
    assert set(cursors) == {world.site_a1, world.site_a2}
    assert {("cohort", cohort_1), ("cohort", cohort_2), *(("learner", i) for i in learners)} <= set(
        state
    )
    # Nothing new: an empty page and the same cursors.
    page = device.pull(cursors)
    assert page["changes"] == [] and page["more"] is False and page["cursors"] == cursors
    # A delete arrives as a tombstone, after the cursor.
    device.push_one("learner", learners[0], "delete", base_version=None)
    page = device.pull(cursors)
    assert [(c["entity"], c["id"]) for c in page["changes"]] == [("learner", learners[0])]
    assert page["changes"][0]["row"]["deleted_at"] is not None
    assert page["cursors"][world.site_a1] > cursors[world.site_a1]


def test_pull_limit_pages_and_more(world: World) -> None:
    device = world.device()
    cohort = device.create_cohort(world.site_a1)
    mutations = [
        device.mutation(
            "learner",
            uuid7(),
            "create",
            {**LEARNER, "site_id": world.site_a1, "cohort_id": cohort, "email": None},
        )
        for _ in range(1200)
    ]
    for start in range(0, len(mutations), 500):
        assert {r["status"] for r in device.push(*mutations[start : start + 500])} == {"applied"}
    first = device.pull({}, limit=1000)
    assert len(first["changes"]) == 1000 and first["more"] is True
    seqs = [c["seq"] for c in first["changes"]]
    assert seqs == sorted(seqs)
    second = device.pull(first["cursors"], limit=1000)
    assert second["more"] is False
    ids = {c["id"] for c in first["changes"]} | {c["id"] for c in second["changes"]}
    assert {m["id"] for m in mutations} <= ids
    # Applying a page twice is harmless: asking again from the same cursors gives the same page.
    assert device.pull(first["cursors"], limit=1000)["changes"] == second["changes"]


def test_newly_granted_site_backfills_alone_and_revoked_site_is_listed(world: World) -> None:
    b = world.device("b")
    cohort = b.create_cohort(world.site_b1)
    a = world.device("a")
    _state, cursors = a.pull_all()
    admin.grant(world.engine, email=world.email_a, site_id=world.site_b1)
    page = a.pull(cursors)
    assert ("cohort", cohort) in {(c["entity"], c["id"]) for c in page["changes"]}
    assert world.site_b1 in page["sites"]
    cursors = page["cursors"]
    admin.revoke(world.engine, email=world.email_a, site_id=world.site_b1)
    page = a.pull(cursors)
    assert page["not_granted"] == [world.site_b1] and world.site_b1 not in page["cursors"]


def test_cursor_older_than_purged_tombstones_must_resync(world: World) -> None:
    device = world.device()
    cohort = device.create_cohort(world.site_a2)
    learner = device.create_learner(world.site_a2, cohort)
    _state, cursors = device.pull_all()
    device.push_one("learner", learner, "delete", base_version=None)
    device.push_one(
        "learner",
        device.create_learner(world.site_a2, cohort),
        "update",
        {"last_name": "Durand"},
        base_values={},
    )
    outcome = admin.purge_tombstones(world.engine, older_than=timedelta(0), now=None)
    assert int(outcome.value) >= 1
    page = device.pull(cursors)
    assert world.site_a2 in page["resync_required"] and page["cursors"][world.site_a2] == 0
    assert all(c["site_id"] != world.site_a2 for c in page["changes"])
    state, _ = device.pull_all({**page["cursors"]})
    assert ("learner", learner) not in state and ("cohort", cohort) in state


def test_a_client_id_is_a_client_only_with_its_coordinator(world: World) -> None:
    """Another coordinator's client_id is a fresh client (tests/server/test_no_oracle.py)."""
    a = world.device("a")
    a.create_cohort(world.site_a1)
    b = world.device("b")
    b.client_id = a.client_id
    response = b.push_raw(
        [b.mutation("cohort", uuid7(), "create", {**COHORT, "site_id": world.site_b1})]
    )
    assert response.status_code == 200 and response.json()["last_applied_seq"] == 1


def test_pulled_rows_are_the_rows_the_database_holds(world: World) -> None:
    """The change log keeps each row's JSON for fast pulls: it must always equal the row itself."""
    from sqlalchemy import select

    from fabriqueterm.server.db import SYNCED_TABLES
    from fabriqueterm.server.rows import row_out

    one, two = world.device(), world.device()
    cohort = one.create_cohort(world.site_a1)
    learner = one.create_learner(world.site_a1, cohort)
    partner = uuid7()
    one.push(
        one.mutation("partner", partner, "create", {"name": "Simplon", "kinds": "training"}),
        one.mutation(
            "partner_site",
            partner_site_id(partner, world.site_a1),
            "create",
            {"partner_id": partner, "site_id": world.site_a1},
        ),
        one.mutation(
            "learner",
            learner,
            "update",
            {"prescriber_id": partner},
            base_values={"prescriber_id": None},
        ),
        one.mutation("partner", partner, "update", {"city": "Lille"}, base_values={"city": ""}),
    )
    two.push_one(
        "cohort", cohort, "update", {"capacity": 9}, base_values={"capacity": 99}
    )  # a conflict
    one.push_one("learner", learner, "erase")
    state, _ = two.pull_all()
    with world.engine.connect() as connection:
        for (entity, row_id), pulled in state.items():
            if pulled is None:
                continue
            table = SYNCED_TABLES[entity]
            stored = row_out(
                dict(connection.execute(select(table).where(table.c.id == row_id)).mappings().one())
            )
            assert pulled == stored, (entity, row_id)


def test_pages_over_several_sites_miss_nothing(world: World) -> None:
    """Per-site cursors move past pages where a site had nothing, without skipping its later rows,
    and a partner linked to both sites (two changes with one number) comes through."""
    device = world.device()
    cohort_1 = device.create_cohort(world.site_a1)
    cohort_2 = device.create_cohort(world.site_a2)
    made: list[str] = []
    partner = uuid7()
    mutations = []
    for index in range(1500):
        if index == 750:
            mutations += [
                device.mutation(
                    "partner", partner, "create", {"name": "Entreprise", "kinds": "employer"}
                ),
                device.mutation(
                    "partner_site",
                    partner_site_id(partner, world.site_a1),
                    "create",
                    {"partner_id": partner, "site_id": world.site_a1},
                ),
                device.mutation(
                    "partner_site",
                    partner_site_id(partner, world.site_a2),
                    "create",
                    {"partner_id": partner, "site_id": world.site_a2},
                ),
            ]
        site, cohort = (
            (world.site_a2, cohort_2)
            if index % 97 == 0 or index >= 1490
            else (world.site_a1, cohort_1)
        )
        made.append(uuid7())
        mutations.append(
            device.mutation(
                "learner",
                made[-1],
                "create",
                {**LEARNER, "site_id": site, "cohort_id": cohort, "email": None},
            )
        )
    for start in range(0, len(mutations), 500):
        results = device.push(*mutations[start : start + 500])
        assert {r["status"] for r in results} == {"applied"}
    seen: set[str] = set()
    cursors: dict[str, int] = {}
    pages = 0
    while True:
        page = device.pull(cursors, limit=1000)
        pages += 1
        seen.update(c["id"] for c in page["changes"] if c["row"] is not None)
        assert all(page["cursors"][s] >= cursors.get(s, 0) for s in page["cursors"])
        cursors = page["cursors"]
        if not page["more"]:
            break
    assert pages >= 2
    assert set(made) <= seen and partner in seen
