"""The words people type in a learner spreadsheet, French and English: column names, genders,
yes/no, statuses, qualification levels and month names, each mapped to what the domain stores.

Everything is compared through :func:`plain_key` (or :func:`level_key` for levels), so case,
accents and punctuation never matter (except "+" in levels: "bac+2").
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache


# Cells repeat ("oui", "Femme", "bac+2"…): memoised, the keys cost nothing on a long file.
@lru_cache(maxsize=4096)
def plain_key(text: str) -> str:
    """Lower case, no accents, letters and digits only: "Réfugié·e" -> "refugiee"."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return "".join(ch for ch in plain.casefold() if ch.isalnum())


@lru_cache(maxsize=1024)
def level_key(text: str) -> str:
    """Like ``plain_key`` but keeping "+": "Bac + 2" -> "bac+2"."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed.casefold() if ch.isalnum() or ch == "+")


def synonyms(table: dict[str, tuple[str, ...]]) -> dict[str, str]:
    return {plain_key(word): target for target, words in table.items() for word in words}


# Column names people use, French and English (compared through ``plain_key``).
COLUMN_NAMES = synonyms(
    {
        "first_name": (
            "prénom",
            "prénoms",
            "prénom usuel",
            "first name",
            "firstname",
            "given name",
            "forename",
        ),
        "last_name": (
            "nom",
            "nom de famille",
            "nom d'usage",
            "nom de naissance",
            "last name",
            "lastname",
            "surname",
            "family name",
        ),
        "email": (
            "courriel",
            "e-mail",
            "email",
            "mail",
            "adresse mail",
            "adresse e-mail",
            "adresse courriel",
            "adresse électronique",
            "email address",
            "e-mail address",
        ),
        "phone": (
            "téléphone",
            "tél",
            "tel",
            "portable",
            "mobile",
            "téléphone portable",
            "numéro de téléphone",
            "phone",
            "phone number",
            "mobile phone",
            "telephone",
        ),
        "birth_year": ("année de naissance", "année naissance", "birth year", "year of birth"),
        "birth_date": (
            "date de naissance",
            "né·e le",
            "née le",
            "né le",
            "birth date",
            "date of birth",
            "birthdate",
        ),
        "gender": ("genre", "sexe", "civilité", "gender", "sex"),
        "qpv": (
            "qpv",
            "quartier prioritaire",
            "résident qpv",
            "habite en qpv",
            "habite un qpv",
            "quartier prioritaire de la ville",
            "lives in qpv",
            "priority neighbourhood",
        ),
        "qualification": (
            "niveau",
            "niveau de diplôme",
            "niveau de qualification",
            "niveau d'études",
            "niveau de formation",
            "diplôme",
            "dernier diplôme",
            "qualification",
            "qualification level",
            "level",
            "education level",
        ),
        "job_seeker": (
            "demandeur d'emploi",
            "demandeuse d'emploi",
            "demandeur·euse d'emploi",
            "demandeur·se d'emploi",
            "de",
            "inscrit france travail",
            "inscrit·e france travail",
            "inscrit pôle emploi",
            "job seeker",
            "registered job seeker",
            "jobseeker",
        ),
        "refugee": (
            "réfugié·e",
            "réfugié",
            "réfugiée",
            "statut de réfugié",
            "bpi",
            "protection internationale",
            "refugee",
            "refugee status",
        ),
        "prescriber": (
            "prescripteur",
            "prescripteur·rice",
            "prescriptrice",
            "structure prescriptrice",
            "orienté·e par",
            "orienté par",
            "prescriber",
            "referred by",
        ),
        "status": ("statut", "situation", "état", "status"),
        "dropout_date": (
            "date d'abandon",
            "date abandon",
            "abandon le",
            "dropout date",
            "date of dropout",
        ),
        "dropout_reason": (
            "motif d'abandon",
            "motif abandon",
            "raison de l'abandon",
            "motif",
            "dropout reason",
            "reason for dropout",
        ),
    }
)

GENDERS = synonyms(
    {
        "F": (
            "f",
            "femme",
            "féminin",
            "feminin",
            "fille",
            "female",
            "woman",
            "w",
            "mme",
            "madame",
            "mlle",
        ),
        "M": ("m", "h", "homme", "masculin", "garçon", "male", "man", "monsieur", "mr", "m."),
        "X": (
            "x",
            "autre",
            "non binaire",
            "non-binaire",
            "nb",
            "non précisé",
            "non renseigné",
            "other",
            "non-binary",
            "not stated",
        ),
    }
)
BOOLEANS = synonyms(
    {
        "true": ("oui", "o", "yes", "y", "vrai", "true", "1", "x", "✓"),
        "false": ("non", "n", "no", "faux", "false", "0"),
    }
)
STATUSES = synonyms(
    {
        "candidate": (
            "candidat",
            "candidate",
            "candidat·e",
            "candidat(e)",
            "en attente",
            "positionné·e",
        ),
        "enrolled": (
            "inscrit",
            "inscrite",
            "inscrit·e",
            "inscrit(e)",
            "en formation",
            "entré·e",
            "entré",
            "entrée",
            "enrolled",
            "in training",
        ),
        "dropped_out": (
            "abandon",
            "a abandonné",
            "abandonné·e",
            "abandonné",
            "abandonnée",
            "sortie anticipée",
            "dropped out",
            "dropout",
            "dropped_out",
        ),
        "graduated": ("diplômé", "diplômée", "diplômé·e", "diplômé(e)", "graduated"),
        "certified": ("certifié", "certifiée", "certifié·e", "certifié(e)", "certified"),
    }
)
# Qualification levels: 2019 nomenclature, the older roman one (V = CAP…), and diplomas' names.
LEVELS = {
    level_key(word): level
    for level, words in {
        "none": (
            "sans diplôme",
            "sans",
            "aucun",
            "aucun diplôme",
            "none",
            "no diploma",
            "infra",
            "infra 3",
            "infra v",
            "niveau infra 3",
            "vi",
            "v bis",
            "vbis",
            "brevet",
            "cfg",
            "dnb",
        ),
        "3": ("cap", "bep", "cap/bep", "cap bep", "v", "niveau v"),
        "4": (
            "bac",
            "baccalauréat",
            "bac pro",
            "bac professionnel",
            "bac général",
            "bac technologique",
            "bp",
            "daeu",
            "iv",
            "niveau iv",
        ),
        "5": ("bac+2", "bts", "dut", "deust", "iii", "niveau iii"),
        "6": (
            "bac+3",
            "bac+4",
            "licence",
            "licence pro",
            "licence professionnelle",
            "bachelor",
            "but",
            "ii",
            "niveau ii",
        ),
        "7": ("bac+5", "master", "ingénieur", "diplôme d'ingénieur", "i", "niveau i"),
        "8": ("bac+8", "doctorat", "phd", "doctorate"),
    }.items()
    for word in words
}
LEVEL_NUMBER = re.compile(r"^(?:niveau|niv|level|n)?([3-8])$")

MONTHS = {
    plain_key(name): number
    for number, names in enumerate(
        (
            ("janvier", "janv", "jan", "january"),
            ("février", "fevrier", "févr", "fevr", "fev", "feb", "february"),
            ("mars", "mar", "march"),
            ("avril", "avr", "apr", "april"),
            ("mai", "may"),
            ("juin", "jun", "june"),
            ("juillet", "juil", "jul", "july"),
            ("août", "aout", "aug", "august"),
            ("septembre", "sept", "sep", "september"),
            ("octobre", "oct", "october"),
            ("novembre", "nov", "november"),
            ("décembre", "decembre", "déc", "dec", "december"),
        ),
        start=1,
    )
    for name in names
}
