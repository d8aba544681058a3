"""One rule set, both sides (issue #13, findings 1 and 6): every bad value derived from the rules of
domain/rules.py is refused by the app before it reaches the outbox (the validation its forms, CSV
import and repositories call) AND by the commons in a real push, naming the field; the OpenAPI
schema publishes the same patterns and bounds.

The bad values are not listed by hand: they come from iterating :func:`rules.field_rules` over the
input models — for each one-line text field every control-character class (C0, line break, tab,
DEL, C1), for each note field the same but line break and tab, for each date field out-of-range,
compact and impossible dates, for each reference upper-case and non-canonical UUIDs, for each whole
number a boolean, a fraction and text with junk.

On the server, a refused value must come back as that mutation ``rejected`` with the field named
(never a 422 for the whole push: the commons answers each mutation on its own, docs/sync.md).
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from commons_helpers import COHORT, LEARNER, Device, World

from fabriqueterm.domain import rules
from fabriqueterm.domain.ids import uuid7
from fabriqueterm.domain.rules import (
    C0,
    C1,
    DEL,
    DayRule,
    IdRule,
    MomentRule,
    TextRule,
    WholeRule,
    field_rules,
)
from fabriqueterm.domain.validation import INPUT_MODELS, DomainValidationError, validate
from fabriqueterm.sync.protocol import Mutation

#: Representatives of each control-character class (every C0 and C1 character would be 65 pushes
#: a field: the class's ends and the characters the probe used are enough to catch a range slip).
CONTROL_SAMPLES: dict[str, tuple[str, ...]] = {
    "C0": ("\x00", "\x01", "\x07", "\x08", "\x0b", "\x0c", "\r", "\x1b", "\x1f"),
    "line break and tab": ("\n", "\t"),
    "DEL": (DEL,),
    "C1": ("\x80", "\x85", "\x9b", "\x9f"),
}
assert all(ch in C0 for ch in CONTROL_SAMPLES["C0"] + CONTROL_SAMPLES["line break and tab"])
assert all(ch in C1 for ch in CONTROL_SAMPLES["C1"])

SAMPLE_ID = "0190f3b2-6a1e-7c3d-9b2a-4e5f6a7b8c9d"


def bad_values(rule: rules.Rule) -> list[Any]:
    """The values ``rule`` must refuse, derived from its definition."""
    if isinstance(rule, TextRule):
        return [
            f"Ab{ch}cd"
            for samples in CONTROL_SAMPLES.values()
            for ch in samples
            if ch not in rule.allowed
        ]
    if isinstance(rule, DayRule):
        before, after = (
            rule.low.replace(year=rule.low.year - 1),
            rule.high.replace(year=rule.high.year + 1),
        )
        return [
            "0001-01-05",
            before.isoformat(),
            after.isoformat(),
            "9999-12-31",
            before.strftime("%d/%m/%Y"),
            "20260105",
            "2026-02-30",
            "31/02/2026",
            "2026-W02-1",
        ]
    if isinstance(rule, IdRule):
        return [
            SAMPLE_ID.upper(),
            "{" + SAMPLE_ID + "}",
            SAMPLE_ID.replace("-", ""),
            "urn:uuid:" + SAMPLE_ID,
            " " + SAMPLE_ID,
            "site-1",
        ]
    if isinstance(rule, WholeRule):
        return [True, False, 12.5, "12 ans", "1e3", "0x10", "douze"]
    if isinstance(rule, MomentRule):
        return [
            "0001-01-01T00:00:00+01:00",
            "9999-12-31T23:59:59-01:00",
            "1899-12-31T23:59:59+00:00",
            "2026-13-01T00:00:00+00:00",
            "hier",
        ]
    raise AssertionError(f"no bad values for {rule!r}")


CASES = [
    (entity, field, rule, bad)
    for entity, field, rule in field_rules(INPUT_MODELS)
    for bad in bad_values(rule)
]


def test_the_rule_set_covers_every_kind_of_field() -> None:
    kinds = {type(rule) for _entity, _field, rule in field_rules(INPUT_MODELS)}
    assert kinds == {TextRule, DayRule, IdRule, WholeRule}
    fields = {(entity, field) for entity, field, _rule in field_rules(INPUT_MODELS)}
    for must in [
        ("learner", "first_name"),
        ("learner", "last_name"),
        ("site", "city"),
        ("follow_up", "notes"),
        ("cohort", "start_date"),
        ("cohort", "capacity"),
        ("learner", "birth_year"),
        ("learner", "cohort_id"),
        ("placement", "job_title"),
    ]:
        assert must in fields
    notes = {f for _e, f, r in field_rules(INPUT_MODELS) if isinstance(r, TextRule) and r.multiline}
    assert notes == {"notes"}
    assert len(CASES) >= 400


# --- the app -------------------------------------------------------------------------------------

VALID_IN_APP: dict[str, dict[str, Any]] = {
    "site": {"name": "Fabrique de Roubaix", "city": "Roubaix"},
    "cohort": {**COHORT, "site_id": SAMPLE_ID},
    "partner": {"name": "France Travail Roubaix", "kinds": "prescriber"},
    "partner_site": {"partner_id": SAMPLE_ID, "site_id": SAMPLE_ID},
    "learner": {**LEARNER, "site_id": SAMPLE_ID, "cohort_id": SAMPLE_ID},
    "placement": {
        "site_id": SAMPLE_ID,
        "learner_id": SAMPLE_ID,
        "kind": "cdi",
        "start_date": "2026-08-01",
    },
    "follow_up": {
        "site_id": SAMPLE_ID,
        "learner_id": SAMPLE_ID,
        "milestone": "m3",
        "due_date": "2026-10-03",
    },
    "follow_up_attempt": {
        "site_id": SAMPLE_ID,
        "learner_id": SAMPLE_ID,
        "follow_up_id": SAMPLE_ID,
        "attempted_on": "2026-12-07",
        "outcome": "no_answer",
    },
}


def test_the_app_refuses_every_bad_value_naming_the_field() -> None:
    missed = []
    for entity, field, _rule, bad in CASES:
        validate(entity, VALID_IN_APP[entity])  # the example itself is valid
        try:
            validate(entity, {**VALID_IN_APP[entity], field: bad})
        except DomainValidationError as error:
            if [e.field for e in error.errors] != [field] or "\x1b" in str(error):
                missed.append((entity, field, bad, str(error)))
        else:
            missed.append((entity, field, bad, "accepted"))
    assert missed == []


def test_notes_keep_their_line_breaks_and_tabs_and_dates_their_bounds() -> None:
    notes = "Appelée le 07/12.\n\tRappeler lundi."
    assert validate("follow_up", {**VALID_IN_APP["follow_up"], "notes": notes})["notes"] == notes
    for day in ("1900-01-01", "2100-12-31", "01/01/1900", "5/1/2026"):
        validate("follow_up", {**VALID_IN_APP["follow_up"], "due_date": day})
    assert validate("cohort", {**VALID_IN_APP["cohort"], "capacity": "12"})["capacity"] == 12
    assert validate("cohort", {**VALID_IN_APP["cohort"], "capacity": 12.0})["capacity"] == 12


def test_the_store_writes_nothing_for_a_bad_value(store: Any) -> None:
    """The repositories validate before writing: no row, no outbox entry."""
    before = store.outbox.count("pending")
    for name in ("Ines\x00", "Ines\x1b[2J", "Ines\x07", "Ines\nMartin"):
        with pytest.raises(DomainValidationError):
            store.sites.create({"name": name, "city": "Lille"})
    with pytest.raises(DomainValidationError):
        store.sites.create({"name": "Fabrique", "city": "Lille", "region": "Nord\x85Est"})
    assert store.outbox.count("pending") == before


# --- the commons ---------------------------------------------------------------------------------


def _server_examples(world: World, device: Device) -> dict[str, dict[str, Any]]:
    """A valid create of each entity on the commons, with real references (sites by update)."""
    site = world.site_a1
    cohort = device.create_cohort(site)
    learner = device.create_learner(site, cohort)
    partner = uuid7()
    partner_fields = {"name": f"Partenaire {partner[-6:]}", "kinds": "prescriber"}
    assert device.push_one("partner", partner, "create", partner_fields)["status"] == "applied"
    link = {"partner_id": partner, "site_id": site}
    assert device.push_one("partner_site", uuid7(), "create", link)["status"] == "applied"
    follow_up = uuid7()
    follow_up_fields = {
        "site_id": site,
        "learner_id": learner,
        "milestone": "m3",
        "due_date": "2026-10-03",
    }
    assert device.push_one("follow_up", follow_up, "create", follow_up_fields)["status"] in (
        "applied",
        "duplicate",
    )
    return {
        "site": {"name": "Fabrique", "city": "Lille"},
        "cohort": {**COHORT, "site_id": site},
        "partner": partner_fields,
        "partner_site": link,
        "learner": {**LEARNER, "site_id": site, "cohort_id": cohort},
        "placement": {
            "site_id": site,
            "learner_id": learner,
            "kind": "cdi",
            "start_date": "2026-08-01",
        },
        "follow_up": follow_up_fields,
        "follow_up_attempt": {
            "site_id": site,
            "learner_id": learner,
            "follow_up_id": follow_up,
            "attempted_on": "2026-12-07",
            "outcome": "no_answer",
        },
    }


def _refused(device: Device, mutation: dict[str, Any], field: str) -> str:
    """ "" when the commons refused ``mutation`` naming ``field``, else what it said."""
    response = device.push_raw([mutation])
    if response.status_code != 200:
        return f"{response.status_code}: {response.text[:200]}"
    result = response.json()["results"][0]
    if result["status"] == "rejected" and field in {e["field"] for e in result["errors"]}:
        return ""
    return f"{result['status']}: {result.get('errors')}"


def test_the_commons_refuses_every_bad_value_naming_the_field(world: World) -> None:
    device = world.device()
    examples = _server_examples(world, device)
    missed = []
    for entity, field, _rule, bad in CASES:
        fields = {**examples[entity], field: bad}
        if entity == "site":  # sites are made by an administrator: a coordinator updates one
            mutation = device.mutation("site", world.site_a1, "update", {field: bad})
        else:
            mutation = device.mutation(entity, uuid7(), "create", fields)
        problem = _refused(device, mutation, field)
        if problem:
            missed.append((entity, field, bad, problem))
    assert missed == []


def test_the_commons_refuses_non_canonical_mutation_ids(world: World) -> None:
    device = world.device()
    cohort = {**COHORT, "site_id": world.site_a1}
    for bad in bad_values(rules.ID):
        result = device.push_one("cohort", bad, "create", cohort)
        assert (result["status"], result["errors"][0]["code"]) == ("rejected", "bad_id"), bad
    # Nothing was stored under an upper-case id, so nothing can be pulled under one.
    state, _cursors = device.pull_all()
    assert all(row_id == row_id.lower() for _entity, row_id in state)


def test_a_negative_base_version_is_refused(world: World) -> None:
    device = world.device()
    cohort = device.create_cohort(world.site_a1)
    mutation = device.mutation("cohort", cohort, "update", {"capacity": 3}, base_version=-1)
    response = device.push_raw([mutation])
    assert response.status_code == 200  # the mutation is answered on its own
    [result] = response.json()["results"]
    assert result["status"] == "rejected"
    assert "base_version" in {error["field"] for error in result["errors"]}


# --- the published schema says the same -----------------------------------------------------------


def _schema_pattern(pattern: str) -> re.Pattern[str]:
    """The schema's pattern as Python reads it (the \\xNN escapes mean the same in ECMA 262)."""
    return re.compile(pattern)


def test_the_openapi_schema_carries_the_rules(app: Any) -> None:
    schema = app.openapi()["components"]["schemas"]
    mutation = schema["Mutation"]["properties"]
    assert mutation["id"]["pattern"] == rules.UUID_PATTERN
    version = next(m for m in mutation["base_version"]["anyOf"] if m["type"] == "integer")
    assert version["minimum"] == 0
    for name in ("fields", "base_values"):
        text = next(
            m for m in mutation[name]["additionalProperties"]["anyOf"] if m["type"] == "string"
        )
        assert text["pattern"] == rules.TEXT_PATTERN
    # The schema refuses what the rules refuse: every bad id, every control character of a note.
    ids = _schema_pattern(mutation["id"]["pattern"])
    assert all(not ids.fullmatch(bad) for bad in bad_values(rules.ID))
    assert ids.fullmatch(uuid7())
    text = _schema_pattern(rules.TEXT_PATTERN)
    for bad in bad_values(rules.NOTE):
        assert not text.fullmatch(bad), repr(bad)
    assert text.fullmatch("Appelée le 07/12.\n\tRappeler.")
    # A one-line field refuses line breaks and tabs too: its rule's pattern says so.
    line = _schema_pattern(rules.LINE.pattern)
    assert all(not line.fullmatch(bad) for bad in bad_values(rules.LINE))
    # Every rule the models use and the schema's patterns come from the one module.
    assert Mutation.model_json_schema()["properties"]["id"]["pattern"] == rules.UUID_PATTERN


# --- a date and time: the resolution of a conflict -------------------------------------------------


def _a_conflict(world: World) -> tuple[Device, str]:
    one, two = world.device(), world.device()
    cohort = one.create_cohort(world.site_a1)
    version = one.pull_all()[0][("cohort", cohort)]["version"]
    edit = {"base_version": version, "base_values": {"capacity": 14}}
    one.push_one("cohort", cohort, "update", {"capacity": 16}, **edit)
    result = two.push_one("cohort", cohort, "update", {"capacity": 20}, **edit)
    assert result["status"] == "conflict"
    return two, result["conflicts"][0]["id"]


def test_a_conflict_resolution_out_of_range_is_refused_on_both_sides(world: World) -> None:
    """Finding 1: "0001-01-01T00:00:00+01:00" made the push answer 500 (OverflowError) and the
    batch roll back; now the rule refuses it in the app and the commons rejects that mutation."""
    device, conflict = _a_conflict(world)
    for bad in bad_values(rules.MOMENT):
        with pytest.raises(ValueError):
            rules.MOMENT.parse(bad)  # the app's side: the same rule
        mutation = device.mutation("conflict", conflict, "update", {"resolved_at": bad})
        response = device.push_raw([mutation])
        assert response.status_code == 200, (bad, response.status_code)
        [result] = response.json()["results"]
        assert result["status"] == "rejected", bad
        [reason] = result["errors"]
        assert reason["field"] == "resolved_at" and reason["code"] in ("datetime", "date_range")
        assert "2100" in reason["message"] or reason["code"] == "datetime"
    fine = device.push_one(
        "conflict", conflict, "update", {"resolved_at": "2026-12-07T10:00:00+01:00"}
    )
    assert fine["status"] == "applied" and fine["row"]["resolved_at"].startswith("2026-12-07T09:00")
    edge = device.push_one(
        "conflict", conflict, "update", {"resolved_at": "2100-12-31T23:59:59-01:00"}
    )
    assert edge["status"] == "rejected"  # 2101-01-01 00:59:59 in UTC
