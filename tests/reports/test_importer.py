"""Learner CSV import: the sample files of fixtures/import, bad rows, all-or-nothing, duplicates."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.exc import IntegrityError

from fabriqueterm.domain.enums import CohortStatus
from fabriqueterm.i18n import _, set_language
from fabriqueterm.reports.importer import (
    TARGETS,
    ImportFileError,
    apply_import,
    decode,
    parse_mapping,
    prepare_import,
    sniff_delimiter,
    target_label,
)

SAMPLES = Path(__file__).resolve().parents[2] / "fixtures" / "import"


def import_file(store, path, cohort_id, *, valid_only=False, mapping=None):
    """Check the file, then write it: what the command and the import screen do."""
    plan = prepare_import(store, path, cohort_id, mapping=mapping)
    return apply_import(store, plan, valid_only=valid_only)


def learners_by_name(store, cohort_id):
    return {f"{x.first_name} {x.last_name}": x for x in store.learners.in_cohort(cohort_id)}


def outbox_creates(store) -> int:
    return sum(
        1 for e in store.outbox.entries(limit=10_000) if e.entity == "learner" and e.op == "create"
    )


def test_utf8_bom_semicolon_french(network):
    store, cohort = network.store, network.cohorts["B1"]
    before = outbox_creates(store)
    result = import_file(store, SAMPLES / "apprenants-utf8-bom-point-virgule.csv", cohort)
    plan = result.plan
    assert (plan.encoding, plan.delimiter, plan.total_rows) == ("utf-8-sig", ";", 6)
    assert (
        plan.columns["Réfugié·e"] == "refugee" and plan.columns["Date d'abandon"] == "dropout_date"
    )
    assert len(result.created_ids) == 6
    people = learners_by_name(store, cohort)
    aicha = people["Aïcha Benali"]
    assert (aicha.gender, aicha.qpv, aicha.qualification, aicha.job_seeker, aicha.status) == (
        "F",
        True,
        "4",
        True,
        "enrolled",
    )
    assert aicha.phone == "+33612345678" and aicha.site_id == network.sites["roubaix"]
    assert people["Jean-Baptiste N'Diaye"].gender == "M"  # "H"
    assert (
        people["Camille Leroux"].qualification == "none"
        and people["Camille Leroux"].status == "candidate"
    )
    assert people["Mamadou Traoré"].refugee is True
    lea = people["Léa Da Silva"]
    assert lea.status == "dropped_out" and lea.dropout_date.isoformat() == "2026-10-15"
    assert people["Sofiane Haddad"].phone == "+33612457890"  # the spreadsheet dropped the 0
    # Imported through the repository: one outbox mutation per learner, so they sync.
    assert outbox_creates(store) == before + 6


def test_windows_1252(network):
    store, cohort = network.store, network.cohorts["B1"]
    result = import_file(store, SAMPLES / "apprenants-windows-1252.csv", cohort)
    assert result.plan.encoding == "cp1252" and len(result.created_ids) == 4
    people = learners_by_name(store, cohort)
    helene = people["Hélène Lefèvre"]
    assert helene.birth_year == 1996 and helene.qualification == "4" and helene.qpv
    assert people["François Cœurdevey"].qualification == "3"
    assert people["Zoé Müller"].refugee is True
    assert people["Gaëlle Noël"].birth_year == 1994 and people["Gaëlle Noël"].status == "candidate"


def test_utf8_comma_english(network):
    store, cohort = network.store, network.cohorts["B1"]
    result = import_file(store, SAMPLES / "learners-utf8-comma-english.csv", cohort)
    assert (result.plan.encoding, result.plan.delimiter) == ("utf-8", ",")
    people = learners_by_name(store, cohort)
    assert "Marie-Claire Dupont, née Martin" in people  # a quoted comma stays in the cell
    assert people["Tomasz Kowalski"].qualification == "5" and people["Tomasz Kowalski"].refugee
    assert people["Yusuf Demir"].status == "candidate"
    assert len(result.created_ids) == 4


BAD = SAMPLES / "apprenants-lignes-en-erreur.csv"


def test_bad_rows_are_listed_with_line_and_field(network):
    plan = prepare_import(network.store, BAD, network.cohorts["B1"])
    by_line = {error.line: error for error in plan.errors}
    assert sorted(by_line) == [3, 4, 6, 9]  # line 7 is blank: lines count as in the file
    assert by_line[3].fields == ["email"]
    assert by_line[4].fields == ["gender"]
    assert sorted(by_line[6].fields) == sorted(
        ["last_name", "phone", "birth_year", "qpv", "qualification"]
    )
    assert by_line[9].fields == ["dropout_date"]
    text = str(by_line[3])
    assert text.startswith("line 3: ") and "paul.martin@" in text and "email" in text
    assert "1850" in str(by_line[6]) and "1920" in str(by_line[6])
    assert "{" not in str(by_line[9])  # the value shown is the cell, not the whole row
    assert [row.line for row in plan.rows] == [2, 5, 8]


def test_all_or_nothing(network):
    store = network.store
    learners, outbox = store.learners.count(), store.outbox.count()
    plan = prepare_import(store, BAD, network.cohorts["B1"])
    result = apply_import(store, plan)
    assert result.created_ids == [] and not result.written
    assert store.learners.count() == learners and store.outbox.count() == outbox


def test_valid_only_imports_the_good_rows(network):
    store, cohort = network.store, network.cohorts["B1"]
    learners = store.learners.count()
    result = import_file(store, BAD, cohort, valid_only=True)
    assert len(result.created_ids) == 3
    assert store.learners.count() == learners + 3
    assert {"Nadia Cherif", "Kevin Morel", "Lucas Petit"} <= set(learners_by_name(store, cohort))


def test_a_failure_while_writing_writes_nothing(network):
    store = network.store
    learners, outbox = store.learners.count(), store.outbox.count()
    plan = prepare_import(
        store, SAMPLES / "apprenants-utf8-bom-point-virgule.csv", network.cohorts["B1"]
    )
    # A row the table refuses (gender is NOT NULL), after three good ones: the whole batch goes.
    plan.rows[3].values["gender"] = None
    with pytest.raises(IntegrityError):
        apply_import(store, plan)
    assert store.learners.count() == learners and store.outbox.count() == outbox
    assert store.learners.search("Aïcha") == ([], 0)  # nor any entry of the search index


def test_a_prescriber_deleted_since_the_check_writes_nothing(network, tmp_path):
    store = network.store
    path = tmp_path / "prescribed.csv"
    path.write_text(
        "Prénom;Nom;Genre;Niveau;Prescripteur\nAna;Un;F;4;\nBo;Deux;M;3;Mission locale Lyon\n",
        encoding="utf-8",
    )
    plan = prepare_import(store, path, network.cohorts["A2"])
    assert plan.ok and len(plan.rows) == 2
    prescriber = plan.rows[1].values["prescriber_id"]
    learners, outbox = store.learners.count(), store.outbox.count()
    store.partners.delete(prescriber)
    with pytest.raises(ImportFileError, match="check the file again") as caught:
        apply_import(store, plan)
    assert prescriber in str(caught.value)
    assert (
        store.learners.count() == learners and store.outbox.count() == outbox + 1
    )  # the deletion only


def test_imported_rows_are_searchable_and_completers_get_their_follow_ups(network, tmp_path):
    store, cohort = network.store, network.cohorts["A1"]  # ended 30 June 2026
    path = tmp_path / "graduates.csv"
    path.write_text(
        "Prénom;Nom;Téléphone;Genre;Niveau;Statut\n"
        "Ophélie;Wrzesniak;06 98 76 54 32;F;4;diplômée\n"
        "Noé;Kasprzyk;;M;3;inscrit\n",
        encoding="utf-8",
    )
    result = import_file(store, path, cohort)
    graduate, enrolled = (store.learners.get(i) for i in result.created_ids)
    assert store.learners.search("Wrzes")[0] == [graduate]
    assert store.learners.search("98 76")[0] == [graduate]  # phone digits, through the index
    assert [f.due_date.isoformat() for f in store.follow_ups.for_learner(graduate.id)] == [
        "2026-06-30",
        "2026-09-30",
        "2026-12-30",
    ]
    assert store.follow_ups.for_learner(enrolled.id) == []
    entries = [(e.entity, e.row_id) for e in store.outbox.entries(limit=10_000)][-5:]
    follow_up_ids = [f.id for f in store.follow_ups.for_learner(graduate.id)]
    assert entries == [
        ("learner", graduate.id),
        *(("follow_up", i) for i in follow_up_ids),
        ("learner", enrolled.id),
    ]


def test_duplicates_in_the_file_and_in_the_database(network):
    store, cohort = network.store, network.cohorts["B1"]
    held = store.learners.create(
        {
            "cohort_id": network.cohorts["A2"],
            "first_name": "Déjà",
            "last_name": "Connue",
            "email": "Deja.Connue@exemple.fr",
            "gender": "F",
            "qualification": "5",
        }
    )
    result = import_file(store, SAMPLES / "apprenants-doublons.csv", cohort)
    plan = result.plan
    assert plan.ok and plan.errors == []
    duplicates = {d.line: d for d in plan.duplicates}
    assert sorted(duplicates) == [4, 5, 6]
    assert (duplicates[4].field, duplicates[4].first_line) == ("email", 2)
    assert (duplicates[5].field, duplicates[5].first_line) == ("phone", 3)  # +33 7 … = 07 …
    assert (duplicates[6].field, duplicates[6].existing_id) == ("email", held.id)
    assert "line 6" in str(duplicates[6]) and held.id in str(duplicates[6])
    assert len(result.created_ids) == 3
    names = set(learners_by_name(store, cohort))
    assert {"Rose Vidal", "Adam Benoit", "Yanis Garnier"} <= names
    assert not names & {"Rosie Vidal", "Adam Benoît", "Déjà Connue"}
    # Importing the same file again adds nobody.
    again = import_file(store, SAMPLES / "apprenants-doublons.csv", cohort)
    assert again.created_ids == [] and len(again.plan.duplicates) == 6


def test_mapping_override(network):
    store, cohort = network.store, network.cohorts["B1"]
    path = SAMPLES / "apprenants-colonnes-a-renommer.csv"
    with pytest.raises(ImportFileError, match="last name"):
        prepare_import(store, path, cohort)
    mapping = parse_mapping(["Nom usuel=last_name", "Remarques="])
    result = import_file(store, path, cohort, mapping=mapping)
    assert len(result.created_ids) == 2
    assert result.plan.columns["Nom usuel"] == "last_name"
    assert "Remarques" in result.plan.ignored_columns
    with pytest.raises(ImportFileError, match="not a field"):
        parse_mapping(["Nom=surname"])
    with pytest.raises(ImportFileError, match="Column=field"):
        parse_mapping(["Nom"])
    with pytest.raises(ImportFileError, match="does not have"):
        prepare_import(store, path, cohort, mapping={"Nom de jeune fille": "last_name"})


def test_two_columns_for_one_field(network, tmp_path):
    path = tmp_path / "two.csv"
    path.write_text(
        "Prénom;Nom;Nom de famille;Genre;Niveau\nAda;L;Lovelace;F;7\n", encoding="utf-8"
    )
    with pytest.raises(ImportFileError, match="Nom de famille"):
        prepare_import(network.store, path, network.cohorts["B1"])
    result = import_file(network.store, path, network.cohorts["B1"], mapping={"Nom": ""})
    assert [network.store.learners.get(i).last_name for i in result.created_ids] == ["Lovelace"]


def test_encoding_detection_and_override():
    text = "Prénom;Nom\nHélène;Cœur\n"
    assert decode(b"\xef\xbb\xbf" + text.encode("utf-8")) == (text, "utf-8-sig")
    assert decode(text.encode("utf-8")) == (text, "utf-8")
    assert decode(text.encode("cp1252")) == (text, "cp1252")
    with pytest.raises(ImportFileError, match="utf-8"):
        decode(text.encode("cp1252"), "utf-8")
    with pytest.raises(ImportFileError, match="Unknown encoding"):
        decode(b"", "klingon")


def test_delimiter_sniffing():
    assert sniff_delimiter("a;b;c\n1;2;3\n") == ";"
    assert sniff_delimiter("a,b,c\n1,2,3\n") == ","
    assert sniff_delimiter('"Nom, prénom";b\n') == ";"
    assert sniff_delimiter("a\tb\n") == "\t"


def test_french_dates_and_values(network, tmp_path):
    path = tmp_path / "dates.csv"
    path.write_text(
        "Prénom;Nom;Sexe;Niveau;Statut;Date d'abandon;Date de naissance;Prescripteur\n"
        "Ana;Un;Mme;Niveau IV;Abandon;3/11/26;05/06/1999;mission locale lyon\n"
        "Bo;Deux;Monsieur;bac + 2;abandonné;1er octobre 2026;1 février 2001;\n"
        "Cy;Trois;F;4;inscrit;;;Inconnu\n",
        encoding="utf-8",
    )
    plan = prepare_import(network.store, path, network.cohorts["A2"])
    assert [r.line for r in plan.errors] == [4]
    assert plan.errors[0].fields == ["prescriber_id"]
    first, second = (row.values for row in plan.rows)
    assert (first["gender"], first["qualification"], first["dropout_date"].isoformat()) == (
        "F",
        "4",
        "2026-11-03",
    )
    assert first["birth_year"] == 1999 and first["prescriber_id"] is not None
    assert (second["gender"], second["qualification"], second["dropout_date"].isoformat()) == (
        "M",
        "5",
        "2026-10-01",
    )
    assert second["birth_year"] == 2001


def test_file_level_problems(network, tmp_path):
    store, cohort = network.store, network.cohorts["B1"]
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"\xef\xbb\xbf\r\n")
    with pytest.raises(ImportFileError, match="empty"):
        prepare_import(store, empty, cohort)
    with pytest.raises(ImportFileError, match="cannot be read"):
        prepare_import(store, tmp_path / "missing.csv", cohort)
    with pytest.raises(ImportFileError, match="No cohort"):
        prepare_import(store, SAMPLES / "apprenants-doublons.csv", "no-such-cohort")
    extra = tmp_path / "extra.csv"
    extra.write_text("Prénom;Nom;Genre;Niveau\nAda;Lovelace;F;7;oops\n", encoding="utf-8")
    plan = prepare_import(store, extra, cohort)
    assert [r.line for r in plan.errors] == [2] and "oops" in str(plan.errors[0])


def test_progress_is_reported(network):
    seen = []
    plan = prepare_import(
        network.store, SAMPLES / "learners-utf8-comma-english.csv", network.cohorts["B1"]
    )
    apply_import(network.store, plan, progress=lambda done, total: seen.append((done, total)))
    assert seen == [(4, 4)]


def test_cohort_by_name_or_a_helpful_list(network, tmp_path):
    plan = prepare_import(
        network.store, SAMPLES / "learners-utf8-comma-english.csv", "data 2026-2027"
    )
    assert plan.cohort.id == network.cohorts["B1"]
    with pytest.raises(ImportFileError) as caught:
        prepare_import(network.store, SAMPLES / "learners-utf8-comma-english.csv", "Nope")
    message = str(caught.value)
    # The cohorts one can import into are listed with their ids; finished ones are not.
    assert (
        network.cohorts["B1"] in message
        and "TAI 2026-2027" in message
        and "Dev web 2026" not in message
    )


# --- fields and values by their labels (issue 12, finding 8) -------------------------------------


@pytest.mark.parametrize("language", ["fr", "en"])
def test_a_mapping_names_the_field_by_its_label_in_the_ui_language(network, language):
    """The mapping showed and asked for codes ("Nom usuel=last_name"): a person names the field."""
    set_language(language)
    store, cohort = network.store, network.cohorts["B1"]
    path = SAMPLES / "apprenants-colonnes-a-renommer.csv"
    label = target_label("last_name")  # "nom" in French, "last name" in English
    plan = prepare_import(store, path, cohort, mapping=parse_mapping([f"Nom usuel={label}"]))
    assert plan.columns["Nom usuel"] == "last_name" and plan.ok
    # The English label works in both languages, and the code still does (scripts written before).
    for target in ("last_name", "LAST NAME", "Last name"):
        assert parse_mapping([f"Nom usuel={target}"]) == {"Nom usuel": target}
        plan = prepare_import(store, path, cohort, mapping={"Nom usuel": target})
        assert plan.columns["Nom usuel"] == "last_name"


@pytest.mark.parametrize("language", ["fr", "en"])
def test_mapping_errors_list_the_fields_by_their_labels(network, language, tmp_path):
    set_language(language)
    with pytest.raises(ImportFileError) as caught:
        parse_mapping(["Nom=pointure"])
    message = str(caught.value)
    assert target_label("birth_date") in message and target_label("dropout_reason") in message
    assert not [code for code in TARGETS if "_" in code and code in message]
    path = tmp_path / "no-name.csv"
    path.write_text("Prénom;Genre\nAda;F\n", encoding="utf-8")
    with pytest.raises(ImportFileError) as caught:
        prepare_import(network.store, path, network.cohorts["B1"])
    message = str(caught.value)
    assert target_label("last_name") in message and target_label("qualification") in message
    assert not [code for code in TARGETS if "_" in code and code in message]


def test_birth_date_is_shown_by_its_label(network):
    set_language("fr")
    plan = prepare_import(
        network.store, SAMPLES / "apprenants-windows-1252.csv", network.cohorts["B1"]
    )
    assert plan.columns["Date de naissance"] == "birth_date"
    assert target_label("birth_date") == _("birth date") != "birth_date"


def test_cells_holding_the_labels_an_error_lists_are_read(network, tmp_path):
    """An error lists the labels of the current language: typing one of them must then work."""
    set_language("fr")
    from fabriqueterm.domain.enums import Gender, LearnerStatus, QualificationLevel

    path = tmp_path / "labels.csv"
    path.write_text(
        "Prénom;Nom;Genre;Niveau;Statut\n"
        f"Ana;Un;{Gender.X.label};{QualificationLevel.L6.label};{LearnerStatus.ENROLLED.label}\n"
        f"Bo;Deux;{Gender.F.label.upper()};{QualificationLevel.NONE.label};{LearnerStatus.CANDIDATE.label}\n",
        encoding="utf-8",
    )
    plan = prepare_import(network.store, path, network.cohorts["B1"])
    assert plan.ok, [str(e) for e in plan.errors]
    values = [
        (row.values["gender"], row.values["qualification"], row.values["status"])
        for row in plan.rows
    ]
    assert values == [("X", "6", "enrolled"), ("F", "none", "candidate")]


def test_the_cohort_list_shows_statuses_by_their_labels(network):
    set_language("fr")
    with pytest.raises(ImportFileError) as caught:
        prepare_import(network.store, SAMPLES / "learners-utf8-comma-english.csv", "Nope")
    message = str(caught.value)
    assert CohortStatus.RUNNING.label in message or CohortStatus.PLANNED.label in message
    assert ", running)" not in message and ", planned)" not in message
