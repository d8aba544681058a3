"""The French catalogue: complete, placeholders intact, the committed .mo up to date, and the language
switch working. When a test here fails after adding strings, run:

    python scripts/i18n.py extract && python scripts/i18n.py update   # then translate in fr .po
    python scripts/i18n.py compile && python scripts/i18n.py check
"""

from __future__ import annotations

import gettext
import importlib.util
import re
import string
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
from babel.messages.catalog import Catalog

from fabriqueterm.domain import enums
from fabriqueterm.i18n import LANGUAGES, N_, _, current_language, ngettext, set_language
from fabriqueterm.resources import locale_dir

ROOT = Path(__file__).resolve().parents[1]
FIX = "run `python scripts/i18n.py extract && python scripts/i18n.py update`, translate, then `... compile`"


def load_tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "fabriqueterm_i18n_tool", ROOT / "scripts" / "i18n.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


tool = load_tool()


@pytest.fixture(scope="module")
def template() -> Catalog:
    """What the code marks for translation today (not the committed .pot, which may be stale)."""
    return tool.extract_template()


@pytest.fixture(scope="module")
def french() -> Catalog:
    return tool.read_catalog(tool.po_path("fr"), "fr")


def format_fields(text: str) -> list[str]:
    """The ``str.format`` fields of ``text``, in order, with their spec (``{count:,}`` → ``count:,``)."""
    fields = []
    for _literal, field, spec, conversion in string.Formatter().parse(text):
        if field is not None:
            fields.append(
                f"{field}{'!' + conversion if conversion else ''}{':' + spec if spec else ''}"
            )
    return fields


def ids(message) -> tuple[str, ...]:  # type: ignore[no-untyped-def]
    return message.id if isinstance(message.id, tuple) else (message.id,)


def strings(message) -> tuple[str, ...]:  # type: ignore[no-untyped-def]
    return tuple(message.string) if isinstance(message.string, tuple | list) else (message.string,)


def test_catalogues_live_where_the_app_looks(french: Catalog) -> None:
    assert locale_dir() == tool.LOCALE_DIR
    assert tool.DOMAIN == "fabriqueterm"
    assert french.locale_identifier == "fr"
    assert LANGUAGES == ("fr", "en")


def test_extraction_finds_the_marked_strings(template: Catalog) -> None:
    found = {m.id for m in template if m.id}
    # _() in config.py, N_() in enums.py and validation.py, _() in cli.py
    for msgid in (
        "no diploma",
        "end of training",
        "first name",
        "{file} cannot be read ({detail}).",
    ):
        assert msgid in found
    assert len(found) > 100


def test_every_message_has_a_french_translation(template: Catalog, french: Catalog) -> None:
    missing = []
    for message in template:
        if not message.id:
            continue
        translated = french.get(message.id, context=message.context)
        if (
            translated is None
            or translated.fuzzy
            or not all(s and s.strip() for s in strings(translated))
        ):
            missing.append(ids(message)[0])
    assert missing == [], f"{len(missing)} message(s) not translated in French: {FIX}"


def test_placeholders_are_kept_exactly(french: Catalog) -> None:
    wrong = []
    for message in french:
        if not message.id or not message.string or message.fuzzy:
            continue
        expected = sorted(format_fields(ids(message)[0]))
        for translated in strings(message):
            if translated and sorted(format_fields(translated)) != expected:
                wrong.append((ids(message)[0], translated))
    assert wrong == []


def test_translations_format_with_the_msgids_arguments(french: Catalog) -> None:
    for message in french:
        if not message.id or not message.string or message.fuzzy:
            continue
        arguments = {name.split("!")[0].split(":")[0]: 1 for name in format_fields(ids(message)[0])}
        for translated in strings(message):
            translated.format(**arguments)  # no KeyError, no stray brace


def test_committed_mo_is_up_to_date_with_the_po(french: Catalog) -> None:
    with tool.mo_path("fr").open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    in_mo = {key: value for key, value in compiled._catalog.items() if key != ""}  # type: ignore[attr-defined]
    in_po = {}
    for message in french:
        if not message.id or message.fuzzy or not message.string:
            continue
        if isinstance(message.id, tuple):
            for index, plural in enumerate(strings(message)):
                in_po[(message.id[0], index)] = plural
        else:
            in_po[message.id] = message.string
    assert in_mo == in_po, "run `python scripts/i18n.py compile`"
    assert tool.mo_is_current(tool.mo_path("fr"), french)


def test_the_mo_check_compares_translations_not_the_compilers_bytes(french: Catalog) -> None:
    """A .mo written by another Babel release differs in its header (``Generated-By``) only: that is
    up to date. A changed translation or plural rule is not."""
    compiled = tool.compile_bytes(french)
    assert b"Generated-By: Babel" in compiled
    # Same length, so that the offsets in the file stay right.
    other_release = re.sub(
        rb"Generated-By: Babel ([0-9.]+)",
        lambda match: b"Generated-By: Babel " + re.sub(rb"[0-9]", b"9", match.group(1)),
        compiled,
    )
    assert other_release != compiled
    assert tool.mo_content(other_release) == tool.mo_content(compiled)

    changed = tool.read_catalog(tool.po_path("fr"), "fr")
    changed.get("end of training").string = "fin du parcours"
    assert tool.mo_content(tool.compile_bytes(changed)) != tool.mo_content(compiled)
    other_plural = compiled.replace(b"plural=(n > 1)", b"plural=(n!= 1)")
    assert other_plural != compiled
    assert tool.mo_content(other_plural) != tool.mo_content(compiled)


def test_update_is_idempotent(template: Catalog) -> None:
    import io

    from babel.messages.pofile import read_po

    catalog = tool.read_catalog(tool.po_path("fr"), "fr")
    catalog.update(template, update_creation_date=False)
    once = tool.render_po(catalog)
    again = read_po(io.BytesIO(once), locale="fr", domain="fabriqueterm")
    again.update(template, update_creation_date=False)
    assert tool.render_po(again) == once
    assert b"POT-Creation-Date: 2026-01-01" in once  # no date churn
    assert b".py:" not in once  # no line numbers


def test_check_command_passes_and_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, french: Catalog
) -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "i18n.py"), "check"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr

    broken = tmp_path / "fr.po"
    source = tool.po_path("fr").read_text(encoding="utf-8")
    source = source.replace('msgstr "fin de formation"', 'msgstr ""', 1)
    source = source.replace(
        'msgstr "une date après la date de début ({start})"', 'msgstr "une date après le {début}"'
    )
    broken.write_text(source, encoding="utf-8")
    monkeypatch.setattr(tool, "po_path", lambda language: broken)
    assert tool.cmd_check() == 1
    problems = tool.problems(tool.extract_template(), tool.read_catalog(broken, "fr"))
    assert "untranslated: 'end of training'" in problems
    assert any(
        p.startswith("placeholders differ: 'a date after the start date ({start})'")
        for p in problems
    )


# --- the language switch ---------------------------------------------------------------------


def test_french_is_the_default_language() -> None:
    assert current_language() == "fr"
    assert _("end of training") == "fin de formation"


def test_set_language_switches_the_output_of_underscore() -> None:
    set_language("en")
    assert current_language() == "en"
    assert _("end of training") == "end of training"
    assert _("no diploma") == "no diploma"
    set_language("fr")
    assert _("end of training") == "fin de formation"
    assert _("no diploma") == "sans diplôme"
    assert _("a message nobody translated") == "a message nobody translated"


def test_unsupported_language_is_refused() -> None:
    with pytest.raises(ValueError, match="de"):
        set_language("de")
    assert current_language() == "fr"


def test_n_marks_without_translating() -> None:
    assert N_("end of training") == "end of training"


def test_ngettext_uses_french_plural_rules() -> None:
    # No plural message yet may exist: unknown messages fall back to English rules in both languages.
    assert ngettext("{n} learner", "{n} learners", 1) == "{n} learner"
    assert ngettext("{n} learner", "{n} learners", 2) == "{n} learners"


@pytest.mark.parametrize(
    ("member", "french_label", "english_label"),
    [
        (enums.QualificationLevel.NONE, "sans diplôme", "no diploma"),
        (enums.PlacementKind.CDI, "CDI", "permanent contract (CDI)"),
        (
            enums.PlacementKind.CDD_6M_PLUS,
            "CDD de 6 mois ou plus",
            "fixed-term contract of 6 months or more",
        ),
        (
            enums.PlacementKind.CDD_SHORT,
            "CDD de moins de 6 mois",
            "fixed-term contract under 6 months",
        ),
        (
            enums.PlacementKind.APPRENTICESHIP,
            "alternance (apprentissage, professionnalisation)",
            "work-study (apprenticeship)",
        ),
        (
            enums.PlacementKind.FURTHER_TRAINING,
            "formation qualifiante ou diplômante",
            "qualifying training",
        ),
        (enums.PlacementKind.OTHER, "autre", "other"),
        (enums.Milestone.END, "fin de formation", "end of training"),
        (enums.LearnerStatus.DROPPED_OUT, "abandon", "dropped out"),
        (enums.Outcome.WRONG_NUMBER, "faux numéro", "wrong number"),
    ],
)
def test_enum_labels_in_both_languages(
    member: enums.StrEnum, french_label: str, english_label: str
) -> None:
    assert member.label == french_label  # type: ignore[attr-defined]
    set_language("en")
    assert member.label == english_label  # type: ignore[attr-defined]


def test_every_enum_member_has_a_french_label(french: Catalog) -> None:
    for enum_type in (
        enums.CohortStatus,
        enums.Gender,
        enums.QualificationLevel,
        enums.LearnerStatus,
        enums.PartnerKind,
        enums.PlacementKind,
        enums.Milestone,
        enums.Channel,
        enums.Outcome,
    ):
        for member in enum_type:
            set_language("en")
            english = member.label
            set_language("fr")
            translated = french.get(english)
            assert translated is not None and translated.string, (enum_type.__name__, member.value)
            assert member.label == translated.string


def test_domain_words_in_french() -> None:
    assert _("n/a") == "n.d."
    assert _("cohort") == "promotion"
    assert _("learner") == "apprenant·e"
    assert _("site") == "fabrique"
    assert _("partner") == "partenaire"
    assert _("follow-up") == "suivi"


def test_update_keeps_translations_of_messages_that_leave_and_come_back() -> None:
    def template_of(*msgids: str) -> Catalog:
        template = Catalog(domain="fabriqueterm")
        for msgid in msgids:
            template.add(msgid, None, [("src/fabriqueterm/x.py", None)])
        return template

    catalog = Catalog(locale="fr", domain="fabriqueterm")
    catalog.add("Cohorts", "Promotions")
    catalog.add("Learners", "Apprenant·es")
    tool.merge(catalog, template_of("Cohorts"))  # "Learners" left the code
    assert catalog.get("Learners") is None
    assert catalog.obsolete["Learners"].string == "Apprenant·es"
    tool.merge(catalog, template_of("Cohorts", "Learners", "Learner's file"))  # ... and came back
    assert (catalog.get("Learners").string, catalog.get("Learners").fuzzy) == (
        "Apprenant·es",
        False,
    )
    assert "Learners" not in catalog.obsolete
    assert catalog.get("Cohorts").string == "Promotions"
    assert not catalog.get("Learner's file").string or catalog.get("Learner's file").fuzzy
    assert tool.problems(template_of("Cohorts", "Learners", "Learner's file"), catalog) != []
