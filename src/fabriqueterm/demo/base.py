"""What every part of the demo generator shares: its state (the one seeded random generator, the
rows made so far, the sites and cohorts) and the primitives that draw times, ids, names, emails
and phone numbers. The parts (:mod:`.sites`, :mod:`.cohorts`, :mod:`.learners`, :mod:`.follow_ups`,
:mod:`.placements`) build on it; :mod:`.network` puts them together in their order of drawing."""

from __future__ import annotations

import bisect
import itertools
import random
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any

from fabriqueterm.demo.words import WordLists
from fabriqueterm.domain.dates import add_months
from fabriqueterm.domain.ids import uuid7
from fabriqueterm.domain.models import ENTITIES

Row = dict[str, Any]


class Weighted:
    """A weighted choice, drawn exactly like ``Random.choices`` but without rebuilding the
    cumulative weights on every draw."""

    def __init__(self, items: Sequence[Any], weights: Sequence[float]):
        self.items = tuple(items)
        self.cumulative = list(itertools.accumulate(weights))
        self.total = self.cumulative[-1]

    def pick(self, rng: random.Random) -> Any:
        return self.items[bisect.bisect(self.cumulative, rng.random() * self.total)]


# Keywords that tie a follow-up note to what it says (matched without case).
_NOTE_NO_ANSWER = (
    "répond",
    "messagerie",
    "rappeler",
    "relance",
    "pas de réponse",
    "pas disponible",
)
_NOTE_WRONG_NUMBER = ("numéro",)
_NOTE_PLACEMENT = {
    "cdi": ("cdi",),
    "cdd_6m_plus": ("cdd", "période d'essai"),
    "cdd_short": ("cdd",),
    "interim": ("intérim",),
    "apprenticeship": ("alternance",),
    "business_creation": ("entreprise",),
    "further_training": ("licence", "bts", "formation complémentaire", "certification"),
}
_NOTE_JOB_WORDS = (
    "cdi",
    "cdd",
    "alternance",
    "intérim",
    "entreprise",
    "employeur",
    "licence",
    "bts",
    "essai",
    "civique",
)

#: Valid French mobile prefixes after +33 (phonenumbers: 60-62, 630-638, 64-68, 695, 698, 699, 73-79).
_MOBILE_PREFIXES = tuple(
    [f"6{n:02d}" for n in range(0, 30)]
    + [f"63{n}" for n in range(9)]
    + [f"6{n:02d}" for n in range(40, 90)]
    + ["695", "698", "699"]
    + [f"7{n:02d}" for n in range(30, 100)]
)


@lru_cache(maxsize=4096)
def ascii_slug(text: str) -> str:
    """``text`` folded to lowercase ASCII letters and digits, other runs turned into one hyphen."""
    text = text.lower().replace("œ", "oe").replace("æ", "ae")
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", folded).strip("-")


def contains_any(text: str, words: Sequence[str]) -> bool:
    lowered = text.lower()
    return any(word in lowered for word in words)


def _title_gender(title: str) -> str:
    """ "F", "M" or "" (either) from the first word of a French job title."""
    first = title.split()[0].lower() if title.split() else ""
    if first.endswith(("euse", "trice", "ienne", "ère", "ée", "ante", "ente")):
        return "F"
    if first.endswith(("eur", "ien", "er", "é", "ant", "ent")):
        return "M"
    return ""


@dataclass(eq=False)
class GeneratedSite:
    row: Row
    created: datetime
    city: str
    region: str
    programmes: list[str] = field(default_factory=list)
    funders: list[str] = field(default_factory=list)  # names
    regional_funders: list[str] = field(default_factory=list)
    prescribers: list[str] = field(default_factory=list)  # partner ids
    employers: list[str] = field(default_factory=list)
    training: list[str] = field(default_factory=list)


@dataclass(eq=False)
class GeneratedCohort:
    row: Row
    site: GeneratedSite
    size: int
    created: datetime


class BaseGenerator:
    def __init__(self, rng: random.Random, words: WordLists, today: date):
        self.rng = rng
        self.words = words
        self.today = today
        self.window_start = add_months(today, -36)
        self.window_end = add_months(today, 6)
        self.rows: dict[str, list[Row]] = {entity: [] for entity in ENTITIES}
        #: The reached attempt of each closed follow-up (placements learned there mark it).
        self.reached_attempts: dict[str, Row] = {}
        self.sites: list[GeneratedSite] = []
        self.cohorts: list[GeneratedCohort] = []
        self.phones: set[str] = set()
        self.emails: dict[str, int] = {}
        female_titles = [t for t in words.job_titles if _title_gender(t) != "M"]
        male_titles = [t for t in words.job_titles if _title_gender(t) != "F"]
        self.job_titles = {
            "F": female_titles or words.job_titles,
            "M": male_titles or words.job_titles,
            "X": words.job_titles,
        }
        notes = words.followup_notes
        self.notes_wrong = [n for n in notes if contains_any(n, _NOTE_WRONG_NUMBER)] or notes
        self.notes_no_answer = [
            n for n in notes if contains_any(n, _NOTE_NO_ANSWER) and n not in self.notes_wrong
        ] or notes
        self.notes_placement = {
            kind: [n for n in notes if contains_any(n, keys)]
            for kind, keys in _NOTE_PLACEMENT.items()
        }
        self.notes_reached = [
            n
            for n in notes
            if not contains_any(n, _NOTE_JOB_WORDS)
            and n not in self.notes_wrong
            and n not in self.notes_no_answer
        ] or notes

    # --- primitives ----------------------------------------------------------------------

    def stamp(self, day: date) -> datetime:
        """A UTC time during the working day of ``day`` (never after ``today`` at noon)."""
        if day >= self.today:
            day, minute = self.today, 420 + int(self.rng.random() * 240)
        else:
            minute = 420 + int(self.rng.random() * 600)
        return datetime(day.year, day.month, day.day, minute // 60, minute % 60, tzinfo=UTC)

    def new_id(self, created: datetime) -> str:
        unix_ms = int(created.timestamp()) * 1000 + int(self.rng.random() * 1000)
        return uuid7(unix_ms, self.rng.randbytes(10))

    def day_between(self, low: date, high: date) -> date:
        if high <= low:
            return low
        return low + timedelta(days=int(self.rng.random() * ((high - low).days + 1)))

    def mobile(self) -> str:
        """A French mobile number (06 or 07) in E.164, never given twice."""
        random_ = self.rng.random
        while True:
            head = _MOBILE_PREFIXES[int(random_() * len(_MOBILE_PREFIXES))]
            number = f"+33{head}{int(random_() * 1_000_000):06d}"
            if number not in self.phones:
                self.phones.add(number)
                return number

    def landline(self, region: str) -> str:
        """A fixed-line number of the right French zone (01 Île-de-France … 05 South-West)."""
        zones = {
            "Île-de-France": "1",
            "Bretagne": "2", "Normandie": "2", "Pays de la Loire": "2", "Centre-Val de Loire": "2",
            "Hauts-de-France": "3", "Grand Est": "3", "Bourgogne-Franche-Comté": "3",
            "Auvergne-Rhône-Alpes": "4", "Provence-Alpes-Côte d'Azur": "4", "Corse": "4",
            "Occitanie": "5", "Nouvelle-Aquitaine": "5",
        }  # fmt: skip
        zone = zones.get(region, "9")  # overseas: a non-geographic 09 number
        return f"+33{zone}{self.rng.randrange(1, 6)}{self.rng.randrange(10_000_000):07d}"

    def person_name(self, gender: str) -> tuple[str, str]:
        words, random_ = self.words, self.rng.random
        pool = {"F": words.first_names_f, "M": words.first_names_m}.get(gender, words.first_names_x)
        last_names = words.last_names
        return pool[int(random_() * len(pool))], last_names[int(random_() * len(last_names))]

    def learner_email(self, first: str, last: str) -> str:
        base = f"{ascii_slug(first) or 'apprenant'}.{ascii_slug(last) or 'x'}"
        seen = self.emails.get(base, 0) + 1
        self.emails[base] = seen
        return f"{base}{seen if seen > 1 else ''}@example.org"

    def synced(
        self, entity: str, created: datetime, updated: datetime | None = None, **values: Any
    ) -> Row:
        """A row with its sync columns (the version is set once every row is made)."""
        row: Row = {
            "id": values.pop("id", None) or self.new_id(created),
            "created_at": created,
            "updated_at": created if updated is None or updated < created else updated,
            "version": None,
            "deleted_at": None,
            **values,
        }
        self.rows[entity].append(row)
        return row
