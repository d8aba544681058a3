"""Each mutation of a push is answered on its own (issue #13, finding 1): one bad mutation — a
wrong shape, text holding NUL, a value the server cannot represent, an exception while deciding
it or a database error while writing it — is rejected with a reason, and every other mutation of
the batch is applied exactly as it would have been without it. Never a 5xx, never a 422 for the
whole batch once the envelope (client_id, the list) is right."""

from __future__ import annotations

import json
from itertools import count
from typing import Any

import pytest
from commons_helpers import COHORT, LEARNER, Device, World
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from fabriqueterm.domain.ids import uuid7

#: Cases tried by the tests below (the lead's note counts them).
CASES: dict[str, int] = {}


def _count(name: str, n: int = 1) -> None:
    CASES[name] = CASES.get(name, 0) + n


def _good_bad_good(world: World, bad_name: str) -> list[dict[str, Any]]:
    """Push three cohort creates, the middle one named ``bad_name`` (which a test makes fail): the
    results, checked to be applied, rejected, applied."""
    device = world.device("a")
    names = [COHORT["name"], bad_name, COHORT["name"]]
    response = device.push_raw(
        [
            device.mutation(
                "cohort", uuid7(), "create", {**COHORT, "name": name, "site_id": world.site_a1}
            )
            for name in names
        ]
    )
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [r["status"] for r in results] == ["applied", "rejected", "applied"]
    return results


def _a_conflict(world: World) -> tuple[Device, str]:
    """A device of A holding an open conflict record (its id)."""
    one, two = world.device("a"), world.device("a")
    cohort = one.create_cohort(world.site_a1)
    version = one.pull_all()[0][("cohort", cohort)]["version"]
    one.rename_cohort(cohort, "Promo A", version, COHORT["name"])
    result = two.rename_cohort(cohort, "Promo B", version, COHORT["name"])
    assert result["status"] == "conflict", result
    return two, result["conflicts"][0]["id"]


def test_text_with_nul_rejects_that_mutation_only(world: World) -> None:
    device = world.device("a")
    cohort = device.create_cohort(world.site_a1)
    good1, good2 = uuid7(), uuid7()
    bad = uuid7()
    response = device.push_raw(
        [
            device.mutation("cohort", good1, "create", {**COHORT, "site_id": world.site_a1}),
            device.mutation(
                "learner",
                bad,
                "create",
                {
                    **LEARNER,
                    "first_name": "In\x00ès",
                    "site_id": world.site_a1,
                    "cohort_id": cohort,
                },
            ),
            device.mutation("cohort", good2, "create", {**COHORT, "site_id": world.site_a1}),
        ]
    )
    _count("nul in one mutation")
    assert response.status_code == 200, response.text
    answer = response.json()
    assert [r["status"] for r in answer["results"]] == ["applied", "rejected", "applied"]
    rejected = answer["results"][1]
    assert rejected["id"] == bad and rejected["row"] is None
    assert [e["field"] for e in rejected["errors"]] == ["first_name"]
    assert rejected["errors"][0]["message"]
    assert answer["last_applied_seq"] == 4
    state, _ = device.pull_all()
    assert ("learner", bad) not in state and ("cohort", good2) in state


@pytest.mark.parametrize("stamp", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"])
def test_a_resolution_time_out_of_range_rejects_that_mutation_only(
    world: World, stamp: str
) -> None:
    device, conflict = _a_conflict(world)
    good = uuid7()
    response = device.push_raw(
        [
            device.mutation(
                "conflict",
                conflict,
                "update",
                {"resolved_at": stamp, "resolution": "kept_server"},
                base_version=1,
                base_values={},
            ),
            device.mutation("cohort", good, "create", {**COHORT, "site_id": world.site_a1}),
        ]
    )
    _count("resolved_at out of range")
    assert response.status_code == 200, response.text
    first, second = response.json()["results"]
    assert first["status"] == "rejected" and [e["field"] for e in first["errors"]] == [
        "resolved_at"
    ]
    assert second["status"] == "applied"
    state, _ = device.pull_all()
    assert state[("conflict", conflict)]["resolved_at"] is None
    assert ("cohort", good) in state


BAD_ITEMS: list[Any] = [
    42,
    "x",
    None,
    [],
    {},
    {"seq": "one"},
    {"seq": True, "entity": "cohort", "id": "x", "op": "create"},
    {"entity": "cohort", "op": "create"},
    {"seq": -3, "entity": "cohort", "id": "x", "op": "create", "fields": {}},
    {"seq": 2**60, "entity": "cohort", "id": "x", "op": "create", "fields": {}},
    {"seq": 1.5, "entity": "cohort", "id": "x", "op": "create", "fields": {}},
]


@pytest.mark.parametrize("item", BAD_ITEMS, ids=[repr(i)[:30] for i in BAD_ITEMS])
def test_an_item_without_a_usable_number_is_answered_and_moves_nothing(
    world: World, item: Any
) -> None:
    device = world.device("a")
    good1, good2 = uuid7(), uuid7()
    response = device.push_raw(
        [
            device.mutation("cohort", good1, "create", {**COHORT, "site_id": world.site_a1}),
            item,
            device.mutation("cohort", good2, "create", {**COHORT, "site_id": world.site_a1}),
        ]
    )
    _count("item without a usable seq")
    assert response.status_code == 200, response.text
    answer = response.json()
    statuses = [r["status"] for r in answer["results"]]
    assert statuses == ["applied", "rejected", "applied"], answer
    bad = answer["results"][1]
    assert bad["errors"] and all(e["message"] for e in bad["errors"])
    assert answer["last_applied_seq"] == 2  # the item's number, unusable, moved nothing


def test_a_wrong_shape_with_a_number_is_rejected_and_the_number_advances(world: World) -> None:
    device = world.device("a")
    good = uuid7()
    response = device.push_raw(
        [
            {"seq": 1, "entity": "cohort", "id": uuid7(), "op": "explode", "fields": {}},
            {"seq": 2, "entity": "cohort", "id": uuid7(), "op": "create", "fields": [1, 2]},
            {"seq": 3, "entity": "cohort", "id": uuid7(), "op": "update", "base_version": -1},
            {"seq": 4, "entity": "cohort", "id": uuid7(), "op": "create", "colour": "red"},
            {
                "seq": 5,
                "entity": "cohort",
                "id": good,
                "op": "create",
                "fields": {**COHORT, "site_id": world.site_a1},
            },
        ]
    )
    _count("wrong shape with a usable seq", 4)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert [r["status"] for r in answer["results"]] == ["rejected"] * 4 + ["applied"]
    assert [r["errors"][0]["field"] for r in answer["results"][:4]] == [
        "op",
        "fields",
        "base_version",
        "colour",
    ]
    assert answer["last_applied_seq"] == 5
    # A retry of the same numbers only finds duplicates.
    again = device.push_raw([{"seq": 1, "entity": "cohort", "id": "x", "op": "explode"}])
    assert again.status_code == 200 and again.json()["results"][0]["status"] == "duplicate"


def test_an_unbounded_entity_or_id_is_not_echoed(world: World) -> None:
    device = world.device("a")
    response = device.push_raw(
        [{"seq": 1, "entity": "c" * 10000, "id": "\x1b[2J" * 1000, "op": "delete"}]
    )
    assert response.status_code == 200, response.text
    [result] = response.json()["results"]
    assert result["status"] == "rejected"
    assert len(response.text) < 2000 and "\x1b" not in result["id"] + result["entity"]


def test_the_envelope_is_still_checked_as_a_whole(world: World) -> None:
    device = world.device("a")
    headers = {**device.headers, "Content-Type": "application/json"}
    for body in (
        {"client_id": 5, "mutations": []},
        {"client_id": "abc\x00defgh", "mutations": []},
        {"client_id": device.client_id, "mutations": "x"},
        {"client_id": device.client_id},
        {"client_id": device.client_id, "mutations": [], "extra": 1},
    ):
        response = world.http.post("/v1/push", content=json.dumps(body), headers=headers)
        _count("bad envelope")
        assert response.status_code == 422, (body, response.text)


def test_an_exception_while_deciding_rejects_that_mutation_only(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A fault injected into one mutation's decision (a validator that raises): that mutation is
    rejected as invalid, its half-made changes forgotten, the rest applied."""
    from fabriqueterm.server.push import decide as decide_module

    real = decide_module.checked

    def exploding(entity: str, data: dict[str, Any]) -> dict[str, Any]:
        if data.get("name") == "boom":
            raise RuntimeError("injected")
        return real(entity, data)

    monkeypatch.setattr(decide_module, "checked", exploding)
    results = _good_bad_good(world, "boom")
    _count("exception while deciding")
    assert results[1]["errors"][0]["code"] == "invalid"


def test_a_database_error_while_writing_rejects_that_mutation_only(world: World) -> None:
    """A real database refusal of one row at write time (a trigger that aborts): that mutation is
    rejected, the others are written, nothing of the refused one is."""
    from fabriqueterm.server.db import is_postgres

    if is_postgres(world.engine):
        with world.engine.begin() as connection:
            connection.execute(
                text(
                    "CREATE OR REPLACE FUNCTION refuse_boom() RETURNS trigger AS $$ BEGIN "
                    "IF NEW.name = 'boom-db' THEN RAISE check_violation USING MESSAGE = 'boom'; "
                    "END IF; RETURN NEW; END $$ LANGUAGE plpgsql"
                )
            )
            connection.execute(text("DROP TRIGGER IF EXISTS refuse_boom ON cohort"))
            connection.execute(
                text(
                    "CREATE TRIGGER refuse_boom BEFORE INSERT OR UPDATE ON cohort "
                    "FOR EACH ROW EXECUTE FUNCTION refuse_boom()"
                )
            )
    else:
        with world.engine.begin() as connection:
            connection.execute(text("DROP TRIGGER IF EXISTS refuse_boom"))
            connection.execute(
                text(
                    "CREATE TRIGGER refuse_boom BEFORE INSERT ON cohort "
                    "WHEN NEW.name = 'boom-db' BEGIN SELECT RAISE(ABORT, 'boom'); END"
                )
            )
    try:
        device = world.device("a")
        good1, bad, good2 = uuid7(), uuid7(), uuid7()
        response = device.push_raw(
            [
                device.mutation("cohort", good1, "create", {**COHORT, "site_id": world.site_a1}),
                device.mutation(
                    "cohort", bad, "create", {**COHORT, "name": "boom-db", "site_id": world.site_a1}
                ),
                device.mutation("cohort", good2, "create", {**COHORT, "site_id": world.site_a1}),
            ]
        )
        _count("database error while writing")
        assert response.status_code == 200, response.text
        answer = response.json()
        assert [r["status"] for r in answer["results"]] == ["applied", "rejected", "applied"]
        assert answer["results"][1]["errors"][0]["code"] == "invalid"
        assert answer["last_applied_seq"] == 3
        state, _ = device.pull_all()
        assert ("cohort", bad) not in state
        assert state[("cohort", good1)]["version"] < state[("cohort", good2)]["version"]
        # The next push of this client goes on as usual.
        assert device.push_one("cohort", good1, "delete")["status"] == "applied"
    finally:
        with world.engine.begin() as connection:
            connection.execute(
                text(
                    "DROP TRIGGER IF EXISTS refuse_boom"
                    + (" ON cohort" if is_postgres(world.engine) else "")
                )
            )


# --- property: one arbitrary item anywhere changes nothing for the others ----------------------

_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
_bad_value = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
    st.just("\x00"),
    st.just("0001-01-01T00:00:00+01:00"),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=4), st.integers(), max_size=2),
)
_near = st.fixed_dictionaries(
    {
        "seq": st.just(0),  # renumbered in place
        "entity": st.sampled_from(["cohort", "learner", "conflict", "nope"]),
        "id": st.one_of(st.builds(uuid7), st.just("not-a-uuid")),
        "op": st.sampled_from(["create", "update", "delete", "erase"]),
    }
).flatmap(
    lambda base: st.sampled_from(
        ["seq", "entity", "id", "op", "fields", "base_version", "base_values", "extra"]
    ).flatmap(
        lambda key: _bad_value.map(
            lambda value: {**base, "fields": {"name": value, "capacity": value}, key: value}
        )
    )
)


def _usable(value: Any) -> bool:
    """A number the protocol would take as a mutation number (such junk would make a gap)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return value == value and abs(value) != float("inf") and value == int(value) and value >= 1


_junk = st.one_of(_json, _near).filter(
    lambda j: not (isinstance(j, dict) and j.get("seq") != 0 and _usable(j.get("seq")))
)


def _valid_batch(device: Device, world: World, ids: dict[str, str]) -> list[dict[str, Any]]:
    return [
        {
            "entity": "cohort",
            "id": ids["c1"],
            "op": "create",
            "fields": {**COHORT, "site_id": world.site_a1},
        },
        {
            "entity": "learner",
            "id": ids["l1"],
            "op": "create",
            "fields": {**LEARNER, "site_id": world.site_a1, "cohort_id": ids["c1"]},
        },
        {
            "entity": "cohort",
            "id": ids["c1"],
            "op": "update",
            "fields": {"name": "Promo 2"},
            "base_version": None,
            "base_values": {"name": "Promo 1"},
        },
        {"entity": "learner", "id": ids["l1"], "op": "delete", "fields": {}},
        {
            "entity": "cohort",
            "id": ids["c2"],
            "op": "create",
            "fields": {**COHORT, "site_id": world.site_a2},
        },
    ]


def _numbered(items: list[Any], junk_at: int | None, junk: Any) -> tuple[list[Any], int | None]:
    """Number the valid items 1, 2, 3…; a dict junk with a ``seq`` key takes the number of its
    place (its other keys are what is wrong with it)."""
    numbers = count(1)
    out: list[Any] = []
    junk_index = None
    for index, item in enumerate([*items, None]):
        if index == junk_at:
            junk_index = len(out)
            if isinstance(junk, dict) and "seq" in junk and junk["seq"] == 0:
                junk = {**junk, "seq": next(numbers)}
            out.append(junk)
        if index < len(items):
            out.append({**item, "seq": next(numbers)})
    return out, junk_index


def _normal(result: dict[str, Any], ids: dict[str, str]) -> str:
    kept = {k: v for k, v in result.items() if k != "seq"}
    if kept.get("row"):
        kept["row"] = {
            k: v for k, v in kept["row"].items() if k not in ("version", "created_at", "updated_at")
        }
        kept["row"]["deleted_at"] = kept["row"].get("deleted_at") is not None
    text_form = json.dumps(kept, sort_keys=True)
    for name, value in ids.items():
        text_form = text_form.replace(value, f"<{name}>")
    return text_form


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(junk=_junk, where=st.integers(min_value=0, max_value=5))
def test_one_arbitrary_item_changes_nothing_for_the_valid_ones(
    world: World, junk: Any, where: int
) -> None:
    plain_ids = {k: uuid7() for k in ("c1", "l1", "c2")}
    mixed_ids = {k: uuid7() for k in ("c1", "l1", "c2")}
    plain, mixed = world.device("a"), world.device("a")
    plain_body, _ = _numbered(_valid_batch(plain, world, plain_ids), None, None)
    mixed_body, junk_index = _numbered(_valid_batch(mixed, world, mixed_ids), where, junk)
    plain_answer = plain.push_raw(plain_body)
    mixed_answer = mixed.push_raw(mixed_body)
    _count("property: arbitrary item inserted")
    assert plain_answer.status_code == 200, plain_answer.text
    assert mixed_answer.status_code == 200, (junk, mixed_answer.text)
    mixed_results = mixed_answer.json()["results"]
    assert junk_index is not None
    junk_result = mixed_results.pop(junk_index)
    assert junk_result["status"] == "rejected" and junk_result["errors"], junk_result
    assert [_normal(r, plain_ids) for r in plain_answer.json()["results"]] == [
        _normal(r, mixed_ids) for r in mixed_results
    ]
    numbered = isinstance(mixed_body[junk_index], dict) and _usable(
        mixed_body[junk_index].get("seq")
    )
    assert mixed_answer.json()["last_applied_seq"] == len(plain_body) + (1 if numbered else 0)


def test_a_mutation_refused_after_making_conflicts_leaves_no_record(world: World) -> None:
    """The merge is refused after a conflict record was made (the commons' start date with the
    client's end date would end before it starts): the mark forgets the record too."""
    one, two = world.device("a"), world.device("a")
    cohort = one.create_cohort(world.site_a1)
    version = one.pull_all()[0][("cohort", cohort)]["version"]
    moved = one.push_one(
        "cohort",
        cohort,
        "update",
        {"start_date": "2026-06-01"},
        base_version=version,
        base_values={"start_date": COHORT["start_date"]},
    )
    assert moved["status"] == "applied"
    result = two.push_one(
        "cohort",
        cohort,
        "update",
        {"start_date": "2026-01-12", "end_date": "2026-03-01"},
        base_version=version,
        base_values={"start_date": COHORT["start_date"], "end_date": COHORT["end_date"]},
    )
    _count("refused after conflicts")
    assert result["status"] == "rejected", result
    assert result["conflicts"] == []
    state, _ = one.pull_all()
    assert not [
        row
        for (entity, _id), row in state.items()
        if entity == "conflict" and row and row["row_id"] == cohort
    ]


def test_an_exception_while_writing_one_row_rejects_that_mutation_only(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A fault injected while one row is written (its JSON for the change log): the batch is
    written again one mutation at a time and only that one is refused."""
    from fabriqueterm.server.push import batch as batch_module

    real = batch_module.row_json

    def exploding(row: dict[str, Any], *args: Any) -> str:
        if row.get("name") == "boom-write":
            raise OverflowError("injected")
        return real(row, *args)

    monkeypatch.setattr(batch_module, "row_json", exploding)
    results = _good_bad_good(world, "boom-write")
    _count("exception while writing")
    assert results[1]["errors"][0]["code"] == "invalid" and results[1]["row"] is None
    monkeypatch.undo()
    state, _ = world.device("a").pull_all()
    assert ("cohort", results[1]["id"]) not in state and ("cohort", results[2]["id"]) in state
