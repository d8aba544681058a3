"""Scope comes from the token only: coordinator A can neither read nor write nor learn of the
existence of coordinator B's rows, by any endpoint. Every answer about B's ids is compared with the
answer about ids that do not exist."""

from __future__ import annotations

import json
from typing import Any

import pytest
from commons_helpers import COHORT, LEARNER, World

from fabriqueterm.domain.ids import partner_site_id, uuid7


@pytest.fixture
def b_rows(world: World) -> dict[str, str]:
    """B's rows of every kind, including a conflict record and a partner linked to B's site."""
    b, b2 = world.device("b"), world.device("b")
    cohort = b.create_cohort(world.site_b1)
    learner = b.create_learner(world.site_b1, cohort, first_name="Yasmine", last_name="Secret")
    partner = uuid7()
    follow_up, placement = uuid7(), uuid7()
    results = b.push(
        b.mutation(
            "partner", partner, "create", {"name": "Entreprise Secrète", "kinds": "employer"}
        ),
        b.mutation(
            "partner_site",
            partner_site_id(partner, world.site_b1),
            "create",
            {"partner_id": partner, "site_id": world.site_b1},
        ),
        b.mutation(
            "follow_up",
            follow_up,
            "create",
            {
                "site_id": world.site_b1,
                "learner_id": learner,
                "milestone": "end",
                "due_date": "2026-07-03",
            },
        ),
        b.mutation(
            "placement",
            placement,
            "create",
            {
                "site_id": world.site_b1,
                "learner_id": learner,
                "kind": "cdi",
                "partner_id": partner,
                "start_date": "2026-08-01",
            },
        ),
    )
    assert [r["status"] for r in results] == ["applied"] * 4, results
    version = results[0]["row"]["version"]
    b.push_one(
        "partner",
        partner,
        "update",
        {"city": "Brest"},
        base_version=version,
        base_values={"city": ""},
    )
    conflict = b2.push_one(
        "partner",
        partner,
        "update",
        {"city": "Quimper"},
        base_version=version,
        base_values={"city": ""},
    )
    assert conflict["status"] == "conflict"
    return {
        "site": world.site_b1,
        "cohort": cohort,
        "learner": learner,
        "partner": partner,
        "partner_site": partner_site_id(partner, world.site_b1),
        "follow_up": follow_up,
        "placement": placement,
        "conflict": conflict["conflicts"][0]["id"],
    }


def _neutral(result: dict[str, Any]) -> dict[str, Any]:
    """A push answer without what the client itself sent (its number and the id)."""
    return {k: v for k, v in result.items() if k not in ("seq", "id")}


def test_pull_and_me_show_nothing_of_b(world: World, b_rows: dict[str, str]) -> None:
    a = world.device("a")
    a.create_cohort(world.site_a1)
    state, cursors = a.pull_all({world.site_b1: 0})
    text = json.dumps(list(state.values())) + json.dumps(list(state))
    for row_id in b_rows.values():
        assert row_id not in text
    assert "Secret" not in text and "Yasmine" not in text
    assert world.site_b1 not in cursors
    me = world.http.get("/v1/me", headers=a.headers).json()
    assert {s["id"] for s in me["sites"]} == {world.site_a1, world.site_a2}
    # A cursor for B's site is answered exactly like a cursor for a site that does not exist.
    unknown_site = uuid7()
    page = a.pull({b_rows["site"]: 5, unknown_site: 5})
    assert sorted(page["not_granted"]) == sorted([b_rows["site"], unknown_site])
    assert page["resync_required"] == []


@pytest.mark.parametrize(
    "entity",
    ["site", "cohort", "learner", "partner", "partner_site", "follow_up", "placement", "conflict"],
)
def test_writes_to_b_rows_answer_like_missing_rows(
    world: World, b_rows: dict[str, str], entity: str
) -> None:
    a = world.device("a")
    fields = (
        {"resolution": "kept_server"}
        if entity == "conflict"
        else {"notes": "x"}
        if entity in ("partner", "follow_up", "placement")
        else {"name": "x"}
    )
    for op, op_fields in (("update", fields), ("delete", {}), ("erase", {})):
        theirs, missing = a.push(
            a.mutation(entity, b_rows[entity], op, op_fields, base_version=1, base_values={}),
            a.mutation(entity, uuid7(), op, op_fields, base_version=1, base_values={}),
        )
        assert theirs["status"] == "rejected", (entity, op, theirs)
        assert _neutral(theirs) == _neutral(missing), (entity, op)
    # Nothing of B's changed.
    b = world.device("b")
    state, _ = b.pull_all()
    assert state[(entity, b_rows[entity])] is not None
    assert state[(entity, b_rows[entity])].get("deleted_at") is None


def test_references_to_b_rows_answer_like_missing_references(
    world: World, b_rows: dict[str, str]
) -> None:
    a = world.device("a")
    cohort = a.create_cohort(world.site_a1)
    learner = a.create_learner(world.site_a1, cohort)
    missing = uuid7()
    cases = [
        ("cohort", lambda ref: {**COHORT, "site_id": ref}, "site"),
        ("learner", lambda ref: {**LEARNER, "site_id": world.site_a1, "cohort_id": ref}, "cohort"),
        (
            "learner",
            lambda ref: {
                **LEARNER,
                "site_id": world.site_a1,
                "cohort_id": cohort,
                "prescriber_id": ref,
            },
            "partner",
        ),
        (
            "placement",
            lambda ref: {
                "site_id": world.site_a1,
                "learner_id": learner,
                "kind": "cdi",
                "partner_id": ref,
                "start_date": "2026-08-01",
            },
            "partner",
        ),
        (
            "follow_up",
            lambda ref: {
                "site_id": world.site_a1,
                "learner_id": ref,
                "milestone": "end",
                "due_date": "2026-07-03",
            },
            "learner",
        ),
        (
            "placement",
            lambda ref: {
                "site_id": world.site_a1,
                "learner_id": learner,
                "kind": "cdi",
                "source_followup_id": ref,
                "start_date": "2026-08-01",
            },
            "follow_up",
        ),
        ("partner_site", lambda ref: {"partner_id": ref, "site_id": world.site_a1}, "partner"),
    ]
    for entity, make, target in cases:
        theirs, nothing = a.push(
            a.mutation(entity, uuid7(), "create", make(b_rows[target])),
            a.mutation(entity, uuid7(), "create", make(missing)),
        )
        assert theirs["status"] == "rejected", (entity, target, theirs)
        assert _neutral(theirs) == _neutral(nothing), (entity, target)
    # Moving A's own learner into B's cohort is refused the same way.
    version = a.pull_all()[0][("learner", learner)]["version"]
    base = {"cohort_id": cohort, "site_id": world.site_a1}
    theirs, nothing = a.push(
        a.mutation(
            "learner",
            learner,
            "update",
            {"cohort_id": b_rows["cohort"], "site_id": world.site_b1},
            base_version=version,
            base_values=base,
        ),
        a.mutation(
            "learner",
            learner,
            "update",
            {"cohort_id": missing, "site_id": missing},
            base_version=version,
            base_values=base,
        ),
    )
    assert theirs["status"] == "rejected" and {k: v for k, v in theirs.items() if k != "seq"} == {
        k: v for k, v in nothing.items() if k != "seq"
    }


def test_a_create_reusing_b_id_reveals_nothing_of_the_row(
    world: World, b_rows: dict[str, str]
) -> None:
    """Known limit: an id already taken cannot be created again, so that answer differs from a
    fresh id's; it carries no content, and ids are random UUIDs nobody outside B's scope sees."""
    a = world.device("a")
    cohort = a.create_cohort(world.site_a1)
    result = a.push_one(
        "learner",
        b_rows["learner"],
        "create",
        {**LEARNER, "site_id": world.site_a1, "cohort_id": cohort},
    )
    assert result["status"] == "rejected" and result["row"] is None
    assert "Secret" not in json.dumps(result)


def test_a_partner_unlinked_from_all_of_a_sites_leaves_a_scope(world: World) -> None:
    from fabriqueterm.server import admin

    b = world.device("b")
    partner = uuid7()
    b.push(
        b.mutation("partner", partner, "create", {"name": "Mission locale", "kinds": "prescriber"}),
        b.mutation(
            "partner_site",
            partner_site_id(partner, world.site_b1),
            "create",
            {"partner_id": partner, "site_id": world.site_b1},
        ),
    )
    # A, briefly holding B's site too, links the shared partner to A's own site.
    admin.grant(world.engine, email=world.email_a, site_id=world.site_b1)
    a = world.device("a")
    link = partner_site_id(partner, world.site_a1)
    assert (
        a.push_one(
            "partner_site", link, "create", {"partner_id": partner, "site_id": world.site_a1}
        )["status"]
        == "applied"
    )
    admin.revoke(world.engine, email=world.email_a, site_id=world.site_b1)
    state, cursors = a.pull_all()
    assert state[("partner", partner)]["name"] == "Mission locale"
    a.push_one("partner_site", link, "delete", base_version=None)
    page = a.pull(cursors)
    changes = {(c["entity"], c["id"]): c["row"] for c in page["changes"]}
    assert changes[("partner", partner)] is None  # left A's scope: remove it locally
    assert changes[("partner_site", link)]["deleted_at"] is not None
    again = a.push_one("partner", partner, "update", {"city": "Lille"}, base_values={})
    assert again["status"] == "rejected" and again["errors"][0]["code"] == "not_found"
    # B still has it, linked to B's site.
    assert world.device("b").pull_all()[0][("partner", partner)]["name"] == "Mission locale"


def test_a_partner_linked_nowhere_stays_with_its_creator_only(world: World) -> None:
    a = world.device("a")
    partner = uuid7()
    assert (
        a.push_one("partner", partner, "create", {"name": "Atelier", "kinds": "training"})["status"]
        == "applied"
    )
    b = world.device("b")
    theirs = b.push_one("partner", partner, "update", {"city": "Brest"}, base_values={})
    assert theirs["status"] == "rejected" and theirs["errors"][0]["code"] == "not_found"
    link = partner_site_id(partner, world.site_b1)
    assert (
        b.push_one(
            "partner_site", link, "create", {"partner_id": partner, "site_id": world.site_b1}
        )["status"]
        == "rejected"
    )
    mine = a.push_one("partner", partner, "update", {"city": "Lille"}, base_values={"city": ""})
    assert mine["status"] == "applied" and mine["row"]["city"] == "Lille"
