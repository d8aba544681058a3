"""Finding people as they are typed (issue 12, finding 4): the learner search index (migration
version 6) finds names in any order with accents and case ignored, and phone numbers from the start
of the number or of a group; every write keeps it current (local writes, imports, erasure, pulled
rows, the bulk load); the lists of sites, partners and cohorts ignore accents and case too."""

from __future__ import annotations

import sqlite3
from datetime import date
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fabriqueterm import demo
from fabriqueterm.domain.search import fold
from fabriqueterm.domain.validation import validate
from fabriqueterm.store import Store
from fabriqueterm.store.replica import Change, Replica
from fabriqueterm.store.repositories import learners as learners_module

TODAY = date(2026, 11, 25)


@pytest.fixture
def site(store: Store) -> Any:
    return store.sites.create(
        {"name": "Fabrique de Saint-Étienne", "city": "Saint-Étienne", "region": "Auvergne"}
    )


@pytest.fixture
def cohort(store: Store, site: Any) -> Any:
    return store.cohorts.create(
        {
            "site_id": site.id,
            "name": "Promo 2026-A",
            "programme": "Développeur·se web et web mobile",
            "start_date": "2026-01-05",
            "end_date": "2026-07-03",
            "status": "running",
        }
    )


def add(store: Store, cohort: Any, first: str, last: str, **changes: Any) -> Any:
    data = {
        "cohort_id": cohort.id,
        "first_name": first,
        "last_name": last,
        "gender": "F",
        "qualification": "4",
        "status": "enrolled",
        **changes,
    }
    return store.learners.create(data)


def found(store: Store, needle: str) -> list[str]:
    rows, total = store.learners.search(needle, limit=100)
    assert total == len(rows)
    return [f"{row.first_name} {row.last_name}" for row in rows]


def index_is_exact(store: Store) -> bool:
    """The index holds exactly what its view computes from the live learners (FTS5 checks it)."""
    with sqlite3.connect(store.path) as connection:
        connection.execute(
            "INSERT INTO learner_search (learner_search, rank) VALUES ('integrity-check', 1)"
        )
    return True


@pytest.fixture
def people(store: Store, cohort: Any) -> dict[str, Any]:
    return {
        "zoe": add(store, cohort, "Zoé", "Martin", phone="06 12 34 56 78", email="zm@example.org"),
        "ahmed": add(store, cohort, "Ahmed", "Saïdi", phone="06 51 31 61 27"),
        "martin": add(store, cohort, "Martin", "Zola"),
        "fatou": add(store, cohort, "Fatou", "N'Diaye", phone="+32 470 12 34 56"),
        "lukasz": add(store, cohort, "Łukasz", "Lætitia-Øster"),
    }


# --- names ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "needle", ["Zoé Martin", "zoe martin", "martin zoe", "Zoé Mar", "MARTIN Zoé", "zoe mart"]
)
def test_a_full_name_is_found_in_either_order_accents_and_case_ignored(
    store: Store, people: dict[str, Any], needle: str
) -> None:
    assert found(store, needle) == ["Zoé Martin"]


@pytest.mark.parametrize("needle", ["Ahmed Saïdi", "ahmed saidi", "saidi", "SAÏDI Ahmed", "SAI"])
def test_ahmed_saidi_is_found_as_displayed_and_without_the_diaeresis(
    store: Store, people: dict[str, Any], needle: str
) -> None:
    assert found(store, needle) == ["Ahmed Saïdi"]


def test_each_word_starts_a_word_of_the_names_or_email(
    store: Store, people: dict[str, Any]
) -> None:
    assert found(store, "martin") == ["Zoé Martin", "Martin Zola"]
    assert found(store, "martin zo") == ["Zoé Martin", "Martin Zola"]
    assert found(store, "artin") == []  # the middle of a word is not its start
    assert found(store, "zm@example") == ["Zoé Martin"]
    assert found(store, "n'diaye") == found(store, "ndiaye") == ["Fatou N'Diaye"]
    assert found(store, "lukasz laetitia oster") == ["Łukasz Lætitia-Øster"]
    assert found(store, "laetitiaoster") == ["Łukasz Lætitia-Øster"]
    assert found(store, "—") == [] and found(store, "   ") == []


# --- phone numbers ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "needle",
    ["06 12", "0612", "+33 6 12", "+33 (0)6 12", "0033 6 12 34", "06.12.34.56.78", "+33612345678"],
)
def test_a_number_is_found_however_its_start_is_written(
    store: Store, people: dict[str, Any], needle: str
) -> None:
    assert found(store, needle) == ["Zoé Martin"]


def test_digits_match_from_the_start_of_the_number_or_of_a_group(
    store: Store, people: dict[str, Any]
) -> None:
    assert found(store, "0612") == ["Zoé Martin"]  # not 06 51 31 61 27, which has "612" inside
    assert "Zoé Martin" in found(store, "612")  # without its leading 0
    assert found(store, "34 56") == found(store, "3456") == ["Zoé Martin"]  # from its third group
    assert found(store, "2 34") == []  # "…12 34…": not from a group's start
    assert found(store, "61 27") == ["Ahmed Saïdi"]
    assert found(store, "06") == ["Zoé Martin", "Ahmed Saïdi"]
    assert found(store, "+33") == ["Zoé Martin", "Ahmed Saïdi"]
    assert found(store, "+32 470 12") == ["Fatou N'Diaye"]
    assert found(store, "martin 06 12") == ["Zoé Martin"]
    assert found(store, "martin 06 51") == []
    for typed in ("0", "06", "06 ", "06 1", "06 12", "06 12 3", "06 12 34 56 78"):
        assert "Zoé Martin" in found(store, typed), typed


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(needle=st.text(max_size=30))
def test_whatever_is_typed_the_search_answers(
    store: Store, people: dict[str, Any], needle: str
) -> None:
    rows, total = store.learners.search(needle, limit=10)  # never an FTS5 syntax error
    assert len(rows) == min(total, 10) and total <= len(people)


# --- one rule for the index and the queries ------------------------------------------------------


def test_the_index_folds_every_latin_letter_as_the_domain_does(store: Store, cohort: Any) -> None:
    letters = [chr(code) for code in range(0xC0, 0x180) if chr(code).isalpha()]
    names = {f"Q{letter}q{code}": code for code, letter in enumerate(letters)}
    values = [
        validate(
            "learner",
            {
                "cohort_id": cohort.id,
                "site_id": cohort.site_id,
                "first_name": name,
                "last_name": "Lettre",
                "gender": "X",
                "qualification": "4",
                "status": "enrolled",
            },
        )
        for name in names
    ]
    store.learners.create_many(cohort.id, values)
    missed = [
        name
        for name in names
        if f"{name} Lettre" not in found(store, fold(name))
        or f"{name} Lettre" not in found(store, name)
    ]
    assert missed == []


# --- every write keeps the index current --------------------------------------------------------


def test_local_writes_erasure_and_imports_keep_the_index_current(
    store: Store, cohort: Any, people: dict[str, Any]
) -> None:
    zoe, ahmed = people["zoe"], people["ahmed"]
    store.learners.update(zoe.id, {"last_name": "Lefèvre", "phone": "07 81 22 33 44"})
    assert found(store, "zoe lefevre") == ["Zoé Lefèvre"] and found(store, "zoe martin") == []
    assert found(store, "07 81") == ["Zoé Lefèvre"] and found(store, "06 12") == []
    store.learners.update(zoe.id, {"status": "graduated"})  # not a searched field
    assert found(store, "zoe") == ["Zoé Lefèvre"]
    store.learners.delete(people["martin"].id)
    assert found(store, "zola") == []
    store.learners.erase(ahmed.id)
    assert found(store, "saidi") == [] and found(store, "06 51") == []
    values = validate(
        "learner",
        {
            "cohort_id": cohort.id,
            "site_id": cohort.site_id,
            "first_name": "Inès",
            "last_name": "Saïdi",
            "phone": "06 51 00 00 00",
            "gender": "F",
            "qualification": "4",
            "status": "enrolled",
        },
    )
    store.learners.create_many(cohort.id, [values])
    assert found(store, "ines saidi") == found(store, "0651") == ["Inès Saïdi"]
    assert index_is_exact(store)


def _pulled(template: dict[str, Any], number: int, **changes: Any) -> Change:
    row_id = f"0199a8a0-0000-7000-8000-{number:012d}"
    return Change("learner", row_id, {**template, "id": row_id, "version": 1, **changes})


def test_pulled_rows_keep_the_index_current(
    store: Store, site: Any, people: dict[str, Any]
) -> None:
    replica = Replica(store)
    template = replica.rows("learner")[people["zoe"].id]
    one = _pulled(template, 1, first_name="Éloïse", last_name="Brûlé", phone="+33699887766")
    replica.apply_page([one], {})
    assert found(store, "eloise brule") == found(store, "06 99 88") == ["Éloïse Brûlé"]
    renamed = Change("learner", one.id, {**one.row, "last_name": "Dupré", "version": 2})  # type: ignore[dict-item]
    replica.apply_page([renamed], {})
    assert found(store, "eloise brule") == [] and found(store, "dupre") == ["Éloïse Dupré"]
    tombstone = {**renamed.row, "deleted_at": "2026-11-25T10:00:00+00:00", "version": 3}  # type: ignore[dict-item]
    replica.apply_page([Change("learner", one.id, tombstone)], {})
    assert found(store, "dupre") == []
    assert index_is_exact(store)

    # A page of many learners takes the bulk path (one INSERT … SELECT of the index's view).
    many = [
        _pulled(template, 100 + i, first_name=f"Anaïs{i}", last_name="Ségur", phone=None)
        for i in range(learners_module_bulk_rows() + 10)
    ]
    replica.apply_page(many, {})
    assert store.learners.search("anais segur")[1] == len(many)
    assert index_is_exact(store)

    replica.apply_page([], {}, evict=[site.id])  # a site no longer granted: its synced rows go
    assert store.learners.search("segur") == ([], 0)
    assert found(store, "zoe") == ["Zoé Martin"]  # kept: her creation is not pushed yet
    assert index_is_exact(store)


def learners_module_bulk_rows() -> int:
    from fabriqueterm.store.upserts import BULK_SEARCH_ROWS

    return BULK_SEARCH_ROWS


def test_the_bulk_load_indexes_every_learner(store: Store) -> None:
    data = demo.generate(learners=120, seed=7, today=TODAY)
    demo.write(store, data)
    learner = data.rows["learner"][5]
    name = f"{fold(learner['last_name']).upper()} {learner['first_name']}"
    assert learner["id"] in [row.id for row in store.learners.search(name, limit=200)[0]]
    assert index_is_exact(store)


# --- pages ----------------------------------------------------------------------------------------


def test_many_matches_walked_by_name_give_the_pages_sorting_gives(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    demo.write(store, demo.generate(learners=200, seed=11, today=TODAY))
    sorted_pages = [store.learners.page("m", limit=9, offset=o) for o in range(0, 60, 9)]
    monkeypatch.setattr(learners_module, "_SORTED_AT_MOST", 0)  # walk the name index instead
    walked_pages = [store.learners.page("m", limit=9, offset=o) for o in range(0, 60, 9)]
    assert [[r.id for r in p.rows] for p in walked_pages] == [
        [r.id for r in p.rows] for p in sorted_pages
    ]
    assert {p.total for p in walked_pages} == {sorted_pages[0].total} and sorted_pages[0].total > 9


# --- the other lists ------------------------------------------------------------------------------


def test_sites_partners_and_cohorts_filters_ignore_accents_and_case(
    store: Store, site: Any, cohort: Any
) -> None:
    store.partners.create_for_sites(
        {
            "name": "Crèche Les Lutins",
            "kinds": "employer",
            "contact_name": "Mme Lefèvre",
            "city": "Saint-Étienne",
        },
        [site.id],
    )
    for needle in ("saint-etienne", "ÉTIENNE fabrique", "etienne"):
        assert [line.site.id for line in store.sites.page(needle).rows] == [site.id], needle
    for needle in ("creche", "LEFEVRE", "lutins creche"):
        assert [p.name for p in store.partners.page(needle).rows] == ["Crèche Les Lutins"], needle
    for needle in ("developpeur web", "DÉVELOPPEUR·SE", "2026-a promo"):
        assert [line.cohort.id for line in store.cohorts.page(needle).rows] == [cohort.id], needle
    assert store.sites.page("lyon").total == 0
    assert store.partners.page("%").total == 0 and store.cohorts.page("_").total == 0
