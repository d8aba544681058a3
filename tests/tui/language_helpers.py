"""Helpers of tests/tui/test_languages.py: the French proposed for the msgids issue 12 adds (until
the catalogue has them), and the text a screen shows."""

from __future__ import annotations

import contextlib
import copy
import gettext
import html
import re
from collections.abc import Iterator
from typing import Any

from rich.text import Text
from textual.content import Content
from textual.widgets import Static

from fabriqueterm import i18n
from fabriqueterm.i18n import set_language

PROPOSED: dict[Any, Any] = {
    ("at most {limit} character", "at most {limit} characters"): (
        "au plus {limit} caractère",
        "au plus {limit} caractères",
    ),
    (
        "{file}: {rows} row, {encoding}, cells separated by “{delimiter}”.",
        "{file}: {rows} rows, {encoding}, cells separated by “{delimiter}”.",
    ): (
        "{file} : {rows} ligne, {encoding}, cellules séparées par « {delimiter} ».",
        "{file} : {rows} lignes, {encoding}, cellules séparées par « {delimiter} ».",
    ),
    (
        "{count} learner imported into the cohort “{cohort}”.",
        "{count} learners imported into the cohort “{cohort}”.",
    ): (
        "{count} apprenant·e importé·e dans la promotion « {cohort} ».",
        "{count} apprenant·es importé·es dans la promotion « {cohort} ».",
    ),
    ("{count} row ready to import", "{count} rows ready to import"): (
        "{count} ligne prête à importer",
        "{count} lignes prêtes à importer",
    ),
    ("{count} bad row", "{count} bad rows"): (
        "{count} ligne en erreur",
        "{count} lignes en erreur",
    ),
    ("{count} duplicate (never imported)", "{count} duplicates (never imported)"): (
        "{count} doublon (jamais importé)",
        "{count} doublons (jamais importés)",
    ),
    "Checked, nothing written: {ready}, {bad}, {duplicates}.": (
        "Vérifié, rien n'a été écrit : {ready}, {bad}, {duplicates}."
    ),
    (
        "Importing: {done} of {total} row written…",
        "Importing: {done} of {total} rows written…",
    ): ("Import : {done} sur {total} ligne écrite…", "Import : {done} sur {total} lignes écrites…"),
    (
        "{skipped} row not imported (listed below).",
        "{skipped} rows not imported (listed below).",
    ): (
        "{skipped} ligne non importée (listée ci-dessous).",
        "{skipped} lignes non importées (listées ci-dessous).",
    ),
    (
        "Nothing imported: {bad} bad row. Fix it in the file and import again, or tick "
        "“Import only the valid rows”.",
        "Nothing imported: {bad} bad rows. Fix them in the file and import again, or tick "
        "“Import only the valid rows”.",
    ): (
        "Rien n'a été importé : {bad} ligne en erreur. Corrigez-la dans le fichier puis importez à "
        "nouveau, ou cochez « Importer seulement les lignes valides ».",
        "Rien n'a été importé : {bad} lignes en erreur. Corrigez-les dans le fichier puis importez "
        "à nouveau, ou cochez « Importer seulement les lignes valides ».",
    ),
    (
        "{name} has {count} learner: move or delete them first.",
        "{name} has {count} learners: move or delete them first.",
    ): (
        "{name} a {count} apprenant·e : déplacez ou supprimez d'abord sa fiche.",
        "{name} a {count} apprenant·es : déplacez-les ou supprimez-les d'abord.",
    ),
    (
        "Nothing imported: {count} bad row. Fix it in the file, or import only the valid rows with "
        "--valid-only.",
        "Nothing imported: {count} bad rows. Fix them in the file, or import only the valid rows "
        "with --valid-only.",
    ): (
        "Rien n'a été importé : {count} ligne incorrecte. Corrigez-la dans le fichier, ou importez "
        "seulement les lignes valides avec --valid-only.",
        "Rien n'a été importé : {count} lignes incorrectes. Corrigez-les dans le fichier, ou "
        "importez seulement les lignes valides avec --valid-only.",
    ),
    ("{count} placement", "{count} placements"): ("{count} sortie", "{count} sorties"),
    ("{count} follow-up", "{count} follow-ups"): ("{count} suivi", "{count} suivis"),
    "Erase {name} ({cohort}, {site})? Their name, email, phone, birth year and dropout reason are "
    "wiped, and the notes of their {placements} and {follow_ups}; the erasure reaches the commons "
    "at the next sync. This cannot be undone.": (
        "Effacer {name} ({cohort}, {site}) ? Nom, e-mail, téléphone, année de naissance et motif "
        "d'abandon sont effacés, ainsi que les notes de ses {placements} et de ses {follow_ups} ; "
        "l'effacement atteindra les communs à la prochaine synchronisation. C'est irréversible."
    ),
    'read a column as a field named in words or by its code, e.g. "Usual name=last name"; '
    '"Column=" ignores it; repeatable': (
        "lire une colonne comme un champ, nommé en toutes lettres ou par son code, par exemple "
        '"Nom usuel=nom" ; "Colonne=" l\'ignore ; répétable'
    ),
    "“{value}” is not a column mapping; expected “Column=field”, e.g. “Usual name=last name”.": (
        "« {value} » n'est pas une correspondance de colonne ; attendu : « Colonne=champ », par "
        "exemple « Nom usuel=nom »."
    ),
    (
        "Logged in as {name} <{email}>: {count} site.",
        "Logged in as {name} <{email}>: {count} sites.",
    ): (
        "Connecté·e en tant que {name} <{email}> : {count} fabrique.",
        "Connecté·e en tant que {name} <{email}> : {count} fabriques.",
    ),
    ("{count} unsent change written to {file}.", "{count} unsent changes written to {file}."): (
        "{count} modification en attente d'envoi écrite dans {file}.",
        "{count} modifications en attente d'envoi écrites dans {file}.",
    ),
    "No cohort has ended with completers yet.": "Aucune promotion terminée n'a encore de diplômé·es.",
    "Exit rates per cohort": "Taux de sorties par promotion",
    "No placement logged this week.": "Aucune sortie enregistrée cette semaine.",
    "Placements logged this week by kind": "Sorties enregistrées cette semaine, par type",
    "Positive exit rate per cohort (most recently ended)": (
        "Taux de sorties positives par promotion (les dernières terminées)"
    ),
    "Made by fabriqueterm on {when}.": "Produit par fabriqueterm le {when}.",
    "birth date": "date de naissance",
    "e.g. Usual name=last name; Remarks=": "p. ex. Nom usuel=nom; Remarques=",
    "Import now": "Importer",
    "Line {line}, {field}: {problem}": "Ligne {line}, {field} : {problem}",
    "{yes} delete · n or esc keep": "{yes} supprimer · n ou échap garder",
    "Search for commands…": "Chercher une commande…",
    "No matches found": "Aucun résultat",
    "Search for themes…": "Chercher un thème…",
    "Change the current theme": "Changer de thème",
    "Quit": "Quitter",
    "Quit the application as soon as possible": "Quitter l'application tout de suite",
    "Maximize": "Agrandir",
    "Maximize the focused widget": "Agrandir l'élément actif",
    "Minimize": "Réduire",
    "Minimize the widget and restore to normal size": "Rendre à l'élément sa taille normale",
    "esc": "échap",
    "enter": "entrée",
    "del": "suppr",
    "pgup": "pg préc",
    "pgdn": "pg suiv",
    "space": "espace",
    "Import learners from a CSV file (“;” or “,”, UTF-8 or Windows-1252, French or English column "
    "names). Check lists the bad rows and the duplicates without writing; Import now writes every "
    "row, or nothing if a row is bad, unless you tick “Import only the valid rows”. Columns to read "
    "differently: “Column=field”, the field by its name (“Usual name=last name”), “Column=” to "
    "ignore one.": (
        "Importer des apprenant·es depuis un fichier CSV (« ; » ou « , », UTF-8 ou Windows-1252, "
        "noms de colonnes en français ou en anglais). Vérifier liste les lignes en erreur et les "
        "doublons sans rien écrire ; Importer écrit toutes les lignes, ou rien si une ligne est en "
        "erreur, sauf si vous cochez « Importer seulement les lignes valides ». Colonnes à lire "
        "autrement : « Colonne=champ », le champ par son nom (« Nom usuel=nom »), « Colonne= » pour "
        "en ignorer une."
    ),
}


class ProposedFrench(gettext.NullTranslations):
    """:data:`PROPOSED`, with French plurals (0 and 1 take the singular)."""

    def gettext(self, message: str) -> str:
        return PROPOSED.get(message, message)

    def ngettext(self, msgid1: str, msgid2: str, n: int) -> str:
        forms = PROPOSED.get((msgid1, msgid2))
        if forms is None:
            return msgid1 if n == 1 else msgid2
        return forms[0] if n <= 1 else forms[1]


@contextlib.contextmanager
def proposing_french() -> Iterator[None]:
    """The catalogue, then :data:`PROPOSED` for what it lacks (i18n's loader swapped meanwhile)."""
    load, cached = i18n._translations, dict(i18n._cache)  # noqa: SLF001

    def with_proposals(language: str) -> gettext.NullTranslations:
        translations = copy.copy(load(language))
        if language == "fr":
            translations.add_fallback(ProposedFrench())
        return translations

    i18n._translations = with_proposals  # noqa: SLF001
    set_language(i18n.current_language())
    try:
        yield
    finally:
        i18n._translations = load  # noqa: SLF001
        i18n._cache.clear()  # noqa: SLF001
        i18n._cache.update(cached)  # noqa: SLF001
        set_language(i18n.current_language())


_TEXT = re.compile(r'<text class="[^"]*-r\d+" x="([\d.]+)" y="([\d.]+)"[^>]*>(.*?)</text>', re.S)
_CELL = 12.2  # the width of a cell in Rich's SVG export


def screen_text(app: Any) -> str:
    """What the screen shows, as a person reads it: Textual's SVG screenshot, its pieces of text put
    back in their cells, line by line; then the text of every label and message of the screen, whole
    (a sentence a dialog wraps over two lines is read in one piece)."""
    lines: dict[float, list[str]] = {}
    for x, y, content in _TEXT.findall(app.export_screenshot()):
        text = html.unescape(content).replace("\xa0", " ")
        cells = lines.setdefault(float(y), [])
        column = round(float(x) / _CELL)
        cells.extend(" " * (column + len(text) - len(cells)))
        cells[column : column + len(text)] = text
    shown = ["".join(cells).rstrip() for _y, cells in sorted(lines.items())]
    for widget in app.screen.query(Static):
        content = widget.content
        if isinstance(content, str | Text | Content):
            shown.append(" ".join(str(content).split()))
    return "\n".join(shown)
