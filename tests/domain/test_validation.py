"""Validation at the boundary (domain/validation.py) and the enumerations of docs/domain.md."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from fabriqueterm.domain import enums
from fabriqueterm.domain.validation import (
    INPUT_MODELS,
    DomainValidationError,
    FieldError,
    normalise_phone,
    validate,
)
from fabriqueterm.i18n import _, set_language

SITE = {"name": "Fabrique de Roubaix", "city": "Roubaix", "region": "Hauts-de-France"}
COHORT = {
    "site_id": "0190f3b2-6a1e-7c3d-9b2a-4e5f6a7b8c9d",
    "name": "Promo 2026-A",
    "programme": "Développeur·se web et web mobile",
    "start_date": "2026-01-05",
    "end_date": "2026-07-03",
}
PARTNER = {"name": "France Travail Roubaix", "kinds": "prescriber"}
LEARNER = {
    "site_id": "0190f3b2-6a1e-7c3d-9b2a-4e5f6a7b8c9d",
    "cohort_id": "0190f3b2-6a1e-7c3d-9b2a-4e5f6a7b8c9e",
    "first_name": "Aïcha",
    "last_name": "Benali",
    "gender": "F",
    "qualification": "4",
}
PLACEMENT = {
    "site_id": "0190f3b2-6a1e-7c3d-9b2a-4e5f6a7b8c9d",
    "learner_id": "0190f3b2-6a1e-7c3d-9b2a-4e5f6a7b8c9f",
    "kind": "cdi",
    "start_date": "2026-08-01",
}
FOLLOW_UP = {
    "site_id": "0190f3b2-6a1e-7c3d-9b2a-4e5f6a7b8c9d",
    "learner_id": "0190f3b2-6a1e-7c3d-9b2a-4e5f6a7b8c9f",
    "milestone": "m3",
    "due_date": "2026-10-03",
}
ATTEMPT = {
    "site_id": "0190f3b2-6a1e-7c3d-9b2a-4e5f6a7b8c9d",
    "learner_id": "0190f3b2-6a1e-7c3d-9b2a-4e5f6a7b8c9f",
    "follow_up_id": "0190f3b2-6a1e-7c3d-9b2a-4e5f6a7b8ca1",
    "attempted_on": "2026-12-07",
    "outcome": "no_answer",
}
VALID = {
    "site": SITE,
    "cohort": COHORT,
    "partner": PARTNER,
    "partner_site": {
        "partner_id": "0190f3b2-6a1e-7c3d-9b2a-4e5f6a7b8ca0",
        "site_id": "0190f3b2-6a1e-7c3d-9b2a-4e5f6a7b8c9d",
    },
    "learner": LEARNER,
    "placement": PLACEMENT,
    "follow_up": FOLLOW_UP,
    "follow_up_attempt": ATTEMPT,
}


@pytest.mark.parametrize(
    ("changes", "field", "code"),
    [
        ({"callback_date": "2026-12-04"}, "callback_date", "callback_after_call"),
        (
            {"outcome": "declined", "callback_date": "2026-12-09"},
            "callback_date",
            "callback_only_when_open",
        ),  # fmt: skip
        ({"outcome": "reached", "situation": "other"}, "notes", "other_needs_notes"),
        ({"situation": "still_looking"}, "situation", "situation_only_when_reached"),
    ],
)
def test_an_attempt_is_consistent(changes: dict[str, Any], field: str, code: str) -> None:
    """Issue 12, finding 1: a call-back only keeps an open follow-up open, never before the call;
    the situation is learned from a learner reached, and "other" says what it is."""
    error = only_error("follow_up_attempt", {**ATTEMPT, **changes})
    assert (error.field, error.code) == (field, code)


def test_an_attempt_with_a_call_back_or_a_situation_is_valid() -> None:
    assert validate("follow_up_attempt", {**ATTEMPT, "callback_date": "2026-12-09"})[
        "callback_date"
    ] == date(2026, 12, 9)
    reached = validate(
        "follow_up_attempt",
        {**ATTEMPT, "outcome": "reached", "situation": "other", "notes": "Déménagé à Lyon"},
    )
    assert (reached["situation"], reached["channel"]) == ("other", "phone")


def errors_of(entity: str, data: dict[str, Any]) -> list[FieldError]:
    with pytest.raises(DomainValidationError) as caught:
        validate(entity, data)
    return caught.value.errors


def only_error(entity: str, data: dict[str, Any]) -> FieldError:
    errors = errors_of(entity, data)
    assert len(errors) == 1, [str(e) for e in errors]
    return errors[0]


def test_every_input_model_accepts_its_valid_example() -> None:
    assert set(VALID) == set(INPUT_MODELS)
    for entity, data in VALID.items():
        values = validate(entity, data)
        assert set(values) == set(INPUT_MODELS[entity].model_fields), entity


# --- required names --------------------------------------------------------------------------

REQUIRED_NAMES = [
    ("site", "name"),
    ("site", "city"),
    ("cohort", "name"),
    ("cohort", "programme"),
    ("partner", "name"),
    ("learner", "first_name"),
    ("learner", "last_name"),
]


@pytest.mark.parametrize(("entity", "field"), REQUIRED_NAMES)
@pytest.mark.parametrize("blank", ["", "   ", "\t\n"])
def test_blank_required_name_is_an_error_naming_the_field(
    entity: str, field: str, blank: str
) -> None:
    error = only_error(entity, {**VALID[entity], field: blank})
    assert error.field == field
    assert error.code in {"blank", "required"}


@pytest.mark.parametrize(("entity", "field"), REQUIRED_NAMES)
def test_missing_required_name_is_an_error_naming_the_field(entity: str, field: str) -> None:
    data = {k: v for k, v in VALID[entity].items() if k != field}
    error = only_error(entity, data)
    assert (error.field, error.code) == (field, "required")


def test_names_are_trimmed() -> None:
    values = validate("learner", {**LEARNER, "first_name": "  Aïcha ", "last_name": "\tBenali  "})
    assert (values["first_name"], values["last_name"]) == ("Aïcha", "Benali")


def test_every_missing_field_is_reported_at_once() -> None:
    errors = errors_of("site", {})
    assert [(e.field, e.code) for e in errors] == [("name", "required"), ("city", "required")]


# --- emails ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("prenom.nom@example.org", "prenom.nom@example.org"),
        ("  Prenom.Nom@EXAMPLE.ORG ", "Prenom.Nom@example.org"),
        ("aicha.benali+fabrique@Example.Org", "aicha.benali+fabrique@example.org"),
        ("", None),
        ("   ", None),
        (None, None),
    ],
)
def test_email_is_normalised(typed: str | None, stored: str | None) -> None:
    assert validate("learner", {**LEARNER, "email": typed})["email"] == stored
    assert validate("partner", {**PARTNER, "email": typed})["email"] == stored


@pytest.mark.parametrize(
    "bad",
    [
        "pas-un-email",
        "prenom.nom@",
        "@example.org",
        "prenom nom@example.org",
        "a@@example.org",
        "a@example",
    ],
)
def test_invalid_email_is_rejected(bad: str) -> None:
    error = only_error("learner", {**LEARNER, "email": bad})
    assert (error.field, error.value, error.code) == ("email", bad, "email")


# --- phone numbers ---------------------------------------------------------------------------

FRENCH_FORMS = [
    "06 12 34 56 78",
    "06.12.34.56.78",
    "0612345678",
    "+33 6 12 34 56 78",
    "+33612345678",
    "0033612345678",
    "06-12-34-56-78",
    "  06 12 34 56 78  ",
    "0033 6 12 34 56 78",
]


@pytest.mark.parametrize("typed", FRENCH_FORMS)
def test_french_phone_forms_all_normalise_to_the_same_e164(typed: str) -> None:
    assert normalise_phone(typed) == "+33612345678"
    assert validate("learner", {**LEARNER, "phone": typed})["phone"] == "+33612345678"
    assert validate("partner", {**PARTNER, "phone": typed})["phone"] == "+33612345678"


def test_landline_and_foreign_numbers_are_kept_in_e164() -> None:
    assert normalise_phone("01 23 45 67 89") == "+33123456789"
    assert normalise_phone("+44 20 7946 0958") == "+442079460958"


def test_empty_phone_is_none() -> None:
    assert validate("learner", {**LEARNER, "phone": "  "})["phone"] is None


@pytest.mark.parametrize(
    "bad",
    [
        "12345",
        "06 12 34",
        "06 12 34 56 78 9",
        "abcdefghij",
        "zéro six douze",
        # Letters are refused, never turned into digits as on a phone keypad.
        "0612 TOTO 78",
        "06 12 FL OW ER",
        "06 12 34 56 78a",
    ],
)
def test_invalid_phone_is_rejected(bad: str) -> None:
    error = only_error("learner", {**LEARNER, "phone": bad})
    assert (error.field, error.value, error.code) == ("phone", bad, "phone")


# --- dates -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "typed", ["2026-11-25", "25/11/2026", "25.11.2026", "25-11-2026", " 25/11/2026 "]
)
def test_iso_and_french_dates(typed: str) -> None:
    values = validate("follow_up", {**FOLLOW_UP, "due_date": typed})
    assert values["due_date"] == date(2026, 11, 25)


def test_short_french_date() -> None:
    assert validate("follow_up", {**FOLLOW_UP, "due_date": "5/1/2026"})["due_date"] == date(
        2026, 1, 5
    )


@pytest.mark.parametrize("bad", ["31/02/2026", "2026-13-01", "demain", "25/11/26", "11/25/2026"])
def test_invalid_dates_are_rejected(bad: str) -> None:
    error = only_error("follow_up", {**FOLLOW_UP, "due_date": bad})
    assert (error.field, error.value, error.code) == ("due_date", bad, "date")


def test_cohort_ends_after_it_starts() -> None:
    assert validate("cohort", {**COHORT, "start_date": "05/01/2026", "end_date": "03/07/2026"})[
        "end_date"
    ] == date(2026, 7, 3)
    for end in ("2026-01-05", "2025-12-31"):
        error = only_error("cohort", {**COHORT, "end_date": end})
        assert (error.field, error.code) == ("end_date", "end_after_start")
        assert dict(error.params) == {"start": "2026-01-05"}


def test_dropped_out_learner_needs_a_dropout_date() -> None:
    error = only_error("learner", {**LEARNER, "status": "dropped_out"})
    assert (error.field, error.code) == ("dropout_date", "dropout_needs_date")
    values = validate("learner", {**LEARNER, "status": "dropped_out", "dropout_date": "12/03/2026"})
    assert values["dropout_date"] == date(2026, 3, 12)


def test_placement_does_not_start_before_its_cohort_and_nothing_is_written(store) -> None:
    site = store.sites.create(SITE)
    cohort = store.cohorts.create({**COHORT, "site_id": site.id})
    learner = store.learners.create({**LEARNER, "cohort_id": cohort.id, "status": "graduated"})
    outbox_before = store.outbox.count()
    with store.read() as session:
        placements_before = session.execute(text("SELECT count(*) FROM placement")).scalar()

    with pytest.raises(DomainValidationError) as caught:
        store.placements.create(
            {"learner_id": learner.id, "kind": "cdi", "start_date": "2026-01-04"}
        )

    [error] = caught.value.errors
    assert (error.field, error.code) == ("start_date", "not_before_cohort")
    assert "2026-01-05" in str(error)
    assert store.outbox.count() == outbox_before
    with store.read() as session:
        assert (
            session.execute(text("SELECT count(*) FROM placement")).scalar()
            == placements_before
            == 0
        )
    # The cohort's first day is allowed.
    placement = store.placements.create(
        {"learner_id": learner.id, "kind": "cdi", "start_date": "05/01/2026"}
    )
    assert placement.start_date == date(2026, 1, 5)
    assert store.outbox.count() == outbox_before + 1


# --- other rules -----------------------------------------------------------------------------


@pytest.mark.parametrize("entity", sorted(VALID))
def test_unknown_fields_are_refused(entity: str) -> None:
    error = only_error(entity, {**VALID[entity], "favourite_colour": "vert"})
    assert (error.field, error.value, error.code) == ("favourite_colour", "vert", "unknown_field")


def test_unknown_field_in_an_update_is_refused(store) -> None:
    site = store.sites.create(SITE)
    with pytest.raises(DomainValidationError) as caught:
        store.sites.update(site.id, {"colour": "vert"})
    assert [(e.field, e.code) for e in caught.value.errors] == [("colour", "unknown_field")]


def test_partner_kinds_are_checked_and_put_in_canonical_order() -> None:
    values = validate("partner", {**PARTNER, "kinds": "training, employer,employer"})
    assert values["kinds"] == "employer,training"
    assert (
        validate("partner", {**PARTNER, "kinds": ["funder", "operator"]})["kinds"]
        == "funder,operator"
    )
    for bad in ("boss", "", "employer,boss"):
        error = only_error("partner", {**PARTNER, "kinds": bad})
        assert (error.field, error.code) == ("kinds", "choice")


@pytest.mark.parametrize(
    ("entity", "field", "bad", "choices"),
    [
        ("learner", "gender", "Z", "F, M, X"),
        ("learner", "qualification", "9", "none, 3, 4, 5, 6, 7, 8"),
        ("learner", "status", "expelled", "candidate, enrolled, dropped_out, graduated, certified"),
        ("cohort", "status", "cancelled", "planned, running, finished"),
        (
            "placement",
            "kind",
            "cdd",
            "cdi, cdd_6m_plus, cdd_short, interim, apprenticeship, business_creation, further_training, other",
        ),
        ("follow_up", "milestone", "m9", "end, m3, m6, m12"),
        ("follow_up", "channel", "pigeon", "phone, email, sms, visit"),
        ("follow_up", "outcome", "maybe", "reached, declined, unreachable"),
        (
            "follow_up_attempt",
            "outcome",
            "maybe",
            "reached, no_answer, message_left, wrong_number, declined",
        ),
        ("follow_up_attempt", "situation", "maybe", "placements, still_looking, other"),
    ],
)
def test_enumerated_fields_refuse_other_values(
    entity: str, field: str, bad: str, choices: str
) -> None:
    error = only_error(entity, {**VALID[entity], field: bad})
    assert (error.field, error.value, error.code) == (field, bad, "choice")
    # The codes for a program reading the reason; the enum, to show its labels to a person.
    assert dict(error.params)["choices"] == choices
    enum = getattr(enums, dict(error.params)["enum"])
    assert ", ".join(member.value for member in enum) == choices


@pytest.mark.parametrize("language", ["fr", "en"])
@pytest.mark.parametrize(
    ("entity", "field", "bad", "enum"),
    [
        ("learner", "gender", "Z", enums.Gender),
        ("learner", "qualification", "9", enums.QualificationLevel),
        ("learner", "status", "expelled", enums.LearnerStatus),
        ("placement", "kind", "cdd", enums.PlacementKind),
        ("follow_up", "outcome", "maybe", enums.Closing),
        ("follow_up_attempt", "outcome", "maybe", enums.Outcome),
        ("partner", "kinds", "boss", enums.PartnerKind),
    ],
)
def test_a_refused_choice_lists_the_labels_a_person_reads_never_the_codes(
    language: str, entity: str, field: str, bad: str, enum: Any
) -> None:
    """Finding 8 of issue 12: "l'une des valeurs : F, M, X" showed the stored codes."""
    set_language(language)
    error = only_error(entity, {**VALID.get(entity, PARTNER), field: bad})
    labels = " · ".join(member.label for member in enum)
    assert error.expected == _("one of: {choices}").format(choices=labels)
    assert labels in str(error)
    codes = ", ".join(member.value for member in enum)
    assert codes not in str(error)
    assert not [m.value for m in enum if "_" in m.value and m.value in str(error)]


def test_the_choice_follows_a_language_switch() -> None:
    error = only_error("learner", {**LEARNER, "gender": "Z"})
    set_language("en")
    assert str(error) == (
        "gender: “Z” is not valid; expected one of: woman · man · non-binary / not stated."
    )
    set_language("fr")
    assert str(error).startswith("genre : « Z » n'est pas valide ; attendu : l'une des valeurs : ")
    assert enums.Gender.F.label in str(error)


def test_numbers_out_of_range_say_the_range() -> None:
    error = only_error("learner", {**LEARNER, "birth_year": 1800})
    assert (error.field, error.code, dict(error.params)) == (
        "birth_year",
        "int_range",
        {"low": 1920, "high": 2020},
    )
    error = only_error("cohort", {**COHORT, "capacity": "douze"})
    assert (error.field, error.code) == ("capacity", "int")


def test_too_long_text_says_the_limit() -> None:
    error = only_error("site", {**SITE, "name": "x" * 201})
    assert (error.field, error.code, dict(error.params)) == ("name", "too_long", {"limit": 200})
    set_language("en")
    assert error.expected == "at most 200 characters"
    assert FieldError("name", "xy", "too_long", (("limit", 1),)).expected == "at most 1 character"


# --- enumerations exactly as docs/domain.md --------------------------------------------------------

EXPECTED_ENUMS = {
    "CohortStatus": ["planned", "running", "finished"],
    "Gender": ["F", "M", "X"],
    "QualificationLevel": ["none", "3", "4", "5", "6", "7", "8"],
    "LearnerStatus": ["candidate", "enrolled", "dropped_out", "graduated", "certified"],
    "PartnerKind": ["employer", "funder", "prescriber", "operator", "training"],
    "PlacementKind": [
        "cdi",
        "cdd_6m_plus",
        "cdd_short",
        "interim",
        "apprenticeship",
        "business_creation",
        "further_training",
        "other",
    ],
    "Milestone": ["end", "m3", "m6", "m12"],
    "Channel": ["phone", "email", "sms", "visit"],
    "Outcome": ["reached", "no_answer", "message_left", "wrong_number", "declined"],
    "Closing": ["reached", "declined", "unreachable"],
    "Situation": ["placements", "still_looking", "other"],
}


@pytest.mark.parametrize("name", sorted(EXPECTED_ENUMS))
def test_enumeration_values_are_those_of_domain_md(name: str) -> None:
    assert [member.value for member in getattr(enums, name)] == EXPECTED_ENUMS[name]


def test_enumeration_groups_follow_domain_md() -> None:
    values = lambda members: sorted(m.value for m in members)  # noqa: E731
    assert values(enums.EMPLOYMENT_KINDS) == sorted(
        ["cdi", "cdd_6m_plus", "cdd_short", "interim", "apprenticeship", "business_creation"]
    )
    assert values(enums.DURABLE_EMPLOYMENT_KINDS) == ["cdd_6m_plus", "cdi"]
    assert values(enums.POSITIVE_KINDS) == sorted(set(EXPECTED_ENUMS["PlacementKind"]) - {"other"})
    assert values(enums.LEVEL_4_OR_BELOW) == ["3", "4", "none"]
    assert values(enums.ENROLLED_STATUSES) == ["certified", "dropped_out", "enrolled", "graduated"]
    assert values(enums.COMPLETER_STATUSES) == ["certified", "graduated"]
    assert [m.value for m in enums.GENERATED_MILESTONES] == ["end", "m3", "m6"]
    assert [m.months for m in enums.Milestone] == [0, 3, 6, 12]


DOMAIN_MD = Path(__file__).resolve().parents[2] / "docs" / "domain.md"


def test_codes_in_the_domain_doc_are_the_enumerations() -> None:
    domain = DOMAIN_MD.read_text(encoding="utf-8")
    placement_table = domain.split("## Placement kinds", 1)[1].split("##", 1)[0]
    kinds = re.findall(r"^\| `([a-z0-9_]+)` \|", placement_table, flags=re.MULTILINE)
    assert kinds == [k.value for k in enums.PlacementKind]
    levels_line = domain.split("## Qualification levels", 1)[1].split("\n\n", 1)[0]
    levels = re.findall(r"`([a-z0-9]+)`", levels_line)
    assert levels == [q.value for q in enums.QualificationLevel]


# --- messages --------------------------------------------------------------------------------


def test_error_message_names_field_value_and_expectation_in_french() -> None:
    with pytest.raises(DomainValidationError) as caught:
        validate("learner", {**LEARNER, "email": "pas-un-email", "phone": "12345"})
    message = str(caught.value)
    assert "e-mail : « pas-un-email » n'est pas valide ; attendu : une adresse e-mail" in message
    assert "téléphone : « 12345 » n'est pas valide" in message
    assert "numéro de téléphone français" in message


def test_error_message_in_french_for_a_date_and_a_blank_name() -> None:
    with pytest.raises(DomainValidationError) as caught:
        validate("cohort", {**COHORT, "name": " ", "capacity": "douze"})
    assert str(caught.value).splitlines() == [
        "nom : vide ; attendu : une valeur (ce champ est obligatoire).",
        "capacité prévue : « douze » n'est pas valide ; attendu : un nombre entier.",
    ]
    with pytest.raises(DomainValidationError) as caught:
        validate("cohort", {**COHORT, "end_date": "01/12/2025"})
    assert str(caught.value) == (
        "date de fin : « 01/12/2025 » n'est pas valide ; attendu : une date après la date de début (2026-01-05)."
    )


def test_error_message_follows_the_language_switch() -> None:
    with pytest.raises(DomainValidationError) as caught:
        validate("learner", {**LEARNER, "email": "pas-un-email"})
    error = caught.value
    assert "attendu" in str(error)
    set_language("en")
    assert (
        str(error)
        == "email: “pas-un-email” is not valid; expected an email address such as prenom.nom@example.org."
    )
    set_language("fr")
    assert str(error).startswith("e-mail : « pas-un-email »")


def test_for_field_picks_the_errors_of_one_field() -> None:
    with pytest.raises(DomainValidationError) as caught:
        validate("learner", {**LEARNER, "email": "x", "gender": "Z"})
    assert [e.code for e in caught.value.for_field("gender")] == ["choice"]
    assert caught.value.for_field("first_name") == []


# --- the probe of issue #13 (finding 6): input that was accepted and must not be ------------------

SITE_ID = "0190f3b2-6a1e-7c3d-9b2a-4e5f6a7b8c9d"


@pytest.mark.parametrize(
    ("entity", "changes", "field"),
    [
        ("learner", {"last_name": "Benali\x1b[2J"}, "last_name"),
        ("learner", {"first_name": "Aïcha\x07"}, "first_name"),
        ("learner", {"first_name": "Aï\x00cha"}, "first_name"),
        ("site", {"city": "Roubaix\nLille"}, "city"),
        ("follow_up", {"notes": "rappeler\x1b]0;titre\x07"}, "notes"),
        ("follow_up", {"notes": "nul\x00"}, "notes"),
        ("cohort", {"site_id": SITE_ID.upper()}, "site_id"),
        ("cohort", {"site_id": "fabrique-1"}, "site_id"),
        ("cohort", {"start_date": "0001-01-05"}, "start_date"),
        ("cohort", {"end_date": "9999-07-03"}, "end_date"),
        ("cohort", {"start_date": "20260105"}, "start_date"),
        ("cohort", {"capacity": True}, "capacity"),
        ("cohort", {"capacity": 12.5}, "capacity"),
    ],
)
def test_the_probes_bad_input_is_refused_naming_the_field(
    entity: str, changes: dict[str, Any], field: str
) -> None:
    data = {**VALID[entity], **changes}
    errors = errors_of(entity, data)
    assert [e.field for e in errors] == [field]
    assert "\x1b" not in str(errors[0]) and "\x00" not in str(errors[0])
