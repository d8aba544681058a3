"""The demo network: a deterministic, realistic coordinator's data, built from the word lists of
``fixtures/demo`` and a seed.

Same seed, same ``today`` and same size give the same rows, byte for byte: the only source of
randomness is one ``random.Random(seed)``; ids are UUIDv7 made from synthetic timestamps (derived
from the data's own dates) and seeded bytes; nothing reads the wall clock.

The data stands for rows already synced from the commons: every row has a server ``version`` and
no outbox entry is written.

How many sites: a coordinator runs 3 to 5 (3 up to 300 learners, 4 up to 1,000, 5 up to 7,500);
beyond 7,500 learners (benchmarks) there is one site per 1,500 learners, since 100,000 learners
cannot fit in 5 realistic fabriques. The first sites are in one region, the next ones anywhere.
"""

from __future__ import annotations

import bisect
import itertools
import math
import random
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fabriqueterm.domain.dates import Clock, add_months
from fabriqueterm.domain.enums import (
    GENERATED_MILESTONES,
    Channel,
    CohortStatus,
    Outcome,
    PlacementKind,
)
from fabriqueterm.domain.ids import follow_up_id, partner_site_id, uuid7
from fabriqueterm.domain.models import ENTITIES
from fabriqueterm.i18n import _
from fabriqueterm.resources import data_path

if TYPE_CHECKING:
    from fabriqueterm.store.db import Store

Row = dict[str, Any]


class _Weighted:
    """A weighted choice, drawn exactly like ``Random.choices`` but without rebuilding the
    cumulative weights on every draw."""

    def __init__(self, items: Sequence[Any], weights: Sequence[float]):
        self.items = tuple(items)
        self.cumulative = list(itertools.accumulate(weights))
        self.total = self.cumulative[-1]

    def pick(self, rng: random.Random) -> Any:
        return self.items[bisect.bisect(self.cumulative, rng.random() * self.total)]


_MONTHS_FR = (
    "janvier", "février", "mars", "avril", "mai", "juin",
    "juillet", "août", "septembre", "octobre", "novembre", "décembre",
)  # fmt: skip

# Shares of the network's public (DOMAIN.md: the network exists for level 4 or below).
_WOMEN, _NON_BINARY = 0.40, 0.02
_QPV, _JOB_SEEKERS, _REFUGEES = 0.30, 0.70, 0.05
_QUALIFICATIONS = _Weighted(
    ("none", "3", "4", "5", "6", "7", "8"), (16, 20, 24, 20, 12, 7, 1)
)  # ≤ 4: 60 %
_FINISHED_DROPOUT = 0.12
_GRADUATED_SHARE = 0.60  # of completers; the others are certified
_WITH_PRESCRIBER = 0.85
_DURATIONS = _Weighted((3, 4, 5, 6, 7, 8, 9, 10, 12), (10, 14, 10, 20, 10, 10, 12, 5, 9))  # months

# What completers do after the training (positive exit at +6 months lands around 70 %).
_EXITS = _Weighted(("employment", "further_training", "other", "none"), (64, 17, 5, 14))
_EMPLOYMENT = _Weighted(
    ("cdi", "cdd_6m_plus", "cdd_short", "interim", "apprenticeship", "business_creation"),
    (24, 19, 16, 12, 23, 6),
)
_SECOND_JOBS = _Weighted(("cdi", "cdd_6m_plus", "cdd_short", "interim"), (40, 30, 15, 15))

_CHANNELS = _Weighted(
    (Channel.PHONE.value, Channel.SMS.value, Channel.EMAIL.value, Channel.VISIT.value),
    (75, 12, 10, 3),
)
_DONE_DELAYS = _Weighted(
    (0, 1, 2, 3, 4, 5, 7, 10, 14), (10, 22, 20, 15, 10, 9, 7, 5, 2)
)  # days after due

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


_MILESTONES = tuple((m.value, m.months) for m in GENERATED_MILESTONES)

#: Valid French mobile prefixes after +33 (phonenumbers: 60-62, 630-638, 64-68, 695, 698, 699, 73-79).
_MOBILE_PREFIXES = tuple(
    [f"6{n:02d}" for n in range(0, 30)]
    + [f"63{n}" for n in range(9)]
    + [f"6{n:02d}" for n in range(40, 90)]
    + ["695", "698", "699"]
    + [f"7{n:02d}" for n in range(30, 100)]
)


# --- word lists ------------------------------------------------------------------------------


@dataclass(frozen=True)
class WordLists:
    """The demo's word lists (``fixtures/demo``), one entry per line."""

    first_names_f: list[str]
    first_names_m: list[str]
    first_names_x: list[str]
    last_names: list[str]
    cities: list[tuple[str, str, str]]  # city, region, postcode
    streets: list[str]
    programmes: list[str]
    operators: list[str]
    employers: list[str]
    funders: list[str]
    prescribers: list[str]
    training_orgs: list[str]
    job_titles: list[str]
    dropout_reasons: list[str]
    followup_notes: list[str]


def _read_lines(folder: Path, name: str) -> list[str]:
    path = folder / name
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FileNotFoundError(
            _("The demo word list {file} is missing from this installation.").format(file=path)
        ) from None
    lines = [line.strip() for line in text.splitlines()]
    entries = list(dict.fromkeys(line for line in lines if line))  # order kept, duplicates dropped
    if not entries:
        raise ValueError(_("The demo word list {file} is empty.").format(file=path))
    return entries


@lru_cache(maxsize=1)
def load_word_lists() -> WordLists:
    """Read the word lists shipped in ``fixtures/demo``."""
    folder = data_path("fixtures") / "demo"
    cities = []
    for line in _read_lines(folder, "cities.tsv"):
        city, region, postcode = (line.split("\t") + ["", ""])[:3]
        cities.append((city.strip(), region.strip(), postcode.strip()))
    return WordLists(
        first_names_f=_read_lines(folder, "first_names_f.txt"),
        first_names_m=_read_lines(folder, "first_names_m.txt"),
        first_names_x=_read_lines(folder, "first_names_x.txt"),
        last_names=_read_lines(folder, "last_names.txt"),
        cities=cities,
        streets=_read_lines(folder, "streets.txt"),
        programmes=_read_lines(folder, "programmes.txt"),
        operators=_read_lines(folder, "operators.txt"),
        employers=_read_lines(folder, "employers.txt"),
        funders=_read_lines(folder, "funders.txt"),
        prescribers=_read_lines(folder, "prescribers.txt"),
        training_orgs=_read_lines(folder, "training_orgs.txt"),
        job_titles=_read_lines(folder, "job_titles.txt"),
        dropout_reasons=_read_lines(folder, "dropout_reasons.txt"),
        followup_notes=_read_lines(folder, "followup_notes.txt"),
    )


# --- helpers ---------------------------------------------------------------------------------


def site_count(learners: int) -> int:
    """Number of sites for ``learners`` learners (see the module's docstring)."""
    if learners <= 300:
        return 3
    if learners <= 1_000:
        return 4
    if learners <= 7_500:
        return 5
    return math.ceil(learners / 1_500)


@lru_cache(maxsize=4096)
def ascii_slug(text: str) -> str:
    """``text`` folded to lowercase ASCII letters and digits, other runs turned into one hyphen."""
    text = text.lower().replace("œ", "oe").replace("æ", "ae")
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", folded).strip("-")


def _contains_any(text: str, words: Sequence[str]) -> bool:
    lowered = text.lower()
    return any(word in lowered for word in words)


def _monday_on_or_before(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _friday_on_or_before(day: date) -> date:
    return day - timedelta(days=(day.weekday() - 4) % 7)


def _title_gender(title: str) -> str:
    """ "F", "M" or "" (either) from the first word of a French job title."""
    first = title.split()[0].lower() if title.split() else ""
    if first.endswith(("euse", "trice", "ienne", "ère", "ée", "ante", "ente")):
        return "F"
    if first.endswith(("eur", "ien", "er", "é", "ant", "ent")):
        return "M"
    return ""


# --- the data --------------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoData:
    """Generated rows as plain dicts (every column of the table), per entity, parents first
    (the order of :data:`fabriqueterm.domain.models.ENTITIES`)."""

    seed: int
    today: date
    rows: dict[str, list[Row]] = field(repr=False)

    def count(self, entity: str) -> int:
        return len(self.rows.get(entity, ()))

    @property
    def counts(self) -> dict[str, int]:
        return {entity: len(rows) for entity, rows in self.rows.items()}


@dataclass(eq=False)
class _Site:
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
class _Cohort:
    row: Row
    site: _Site
    size: int
    created: datetime


class _Generator:
    def __init__(self, rng: random.Random, words: WordLists, today: date):
        self.rng = rng
        self.words = words
        self.today = today
        self.window_start = add_months(today, -36)
        self.window_end = add_months(today, 6)
        self.rows: dict[str, list[Row]] = {entity: [] for entity in ENTITIES}
        self.sites: list[_Site] = []
        self.cohorts: list[_Cohort] = []
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
        self.notes_wrong = [n for n in notes if _contains_any(n, _NOTE_WRONG_NUMBER)] or notes
        self.notes_no_answer = [
            n for n in notes if _contains_any(n, _NOTE_NO_ANSWER) and n not in self.notes_wrong
        ] or notes
        self.notes_placement = {
            kind: [n for n in notes if _contains_any(n, keys)]
            for kind, keys in _NOTE_PLACEMENT.items()
        }
        self.notes_reached = [
            n
            for n in notes
            if not _contains_any(n, _NOTE_JOB_WORDS)
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

    # --- sites and partners --------------------------------------------------------------

    def make_sites(self, count: int) -> None:
        rng, words = self.rng, self.words
        by_region: dict[str, list[tuple[str, str, str]]] = {}
        for city in words.cities:
            by_region.setdefault(city[1], []).append(city)
        wanted = min(count, 5)
        regions = [r for r, cities in by_region.items() if len(cities) >= wanted] or list(by_region)
        home_region = rng.choice(regions)
        home = list(by_region[home_region])
        rng.shuffle(home)
        others = [c for c in words.cities if c[1] != home_region]
        rng.shuffle(others)
        ordered = home + others
        used: dict[str, int] = {}
        for index in range(count):
            city, region, postcode = ordered[index % len(ordered)]
            used[city] = used.get(city, 0) + 1
            name = f"Fabrique {city}" + (f" {used[city]}" if used[city] > 1 else "")
            created = self.stamp(self.window_start - timedelta(days=rng.randint(120, 365)))
            row = self.synced(
                "site",
                created,
                name=name,
                city=city,
                region=region,
                operator=rng.choice(words.operators),
                address=f"{rng.randint(1, 120)} {rng.choice(words.streets)}, {postcode} {city}",
                active=True,
            )
            site = _Site(row=row, created=created, city=city, region=region)
            site.programmes = rng.sample(
                words.programmes, k=min(len(words.programmes), rng.randint(2, 4))
            )
            self.sites.append(site)

    def make_partners(self) -> None:
        rng, words = self.rng, self.words
        sites = self.sites
        links: dict[str, list[_Site]] = {}  # partner key -> sites, in order of appearance
        kinds: dict[str, str] = {}
        names: dict[str, str] = {}

        def link(key: str, name: str, kind: str, site: _Site) -> None:
            names.setdefault(key, name)
            kinds.setdefault(key, kind)
            linked = links.setdefault(key, [])
            if not any(s is site for s in linked):
                linked.append(site)

        city_names = [c[0] for c in words.cities]
        region_of_city = {c[0]: c[1] for c in words.cities}

        def place_of(name: str) -> tuple[str, str]:
            """The city (or region) a partner's name mentions, if any."""
            for city in sorted(city_names, key=len, reverse=True):
                if re.search(rf"\b{re.escape(city)}\b", name):
                    return city, region_of_city[city]
            for region in dict.fromkeys(region_of_city.values()):
                if region in name:
                    return "", region
            return "", ""

        for site in sites:  # operators: one per site, some also train
            operator = site.row["operator"]
            trains = _contains_any(
                operator, ("afpa", "greta", "formation", "école", "lycée", "e2c", "epide")
            )
            kind = "operator,training" if trains else "operator"
            link(f"operator:{site.row['id']}", f"{operator} — {site.city}", kind, site)

        local_prefixes = ("Région", "Département", "Métropole", "Ville")
        national = [f for f in words.funders if not f.startswith(local_prefixes)] or words.funders
        for site in sites:
            local = [
                f
                for f in words.funders
                if f.startswith(local_prefixes) and (site.region in f or site.city in f)
            ]
            chosen = local + rng.sample(national, k=min(len(national), rng.randint(3, 4)))
            for funder in chosen:
                link(f"funder:{funder}", funder, "funder", site)
            site.funders = chosen
            site.regional_funders = local

        prescriber_places = {p: place_of(p) for p in words.prescribers}
        for site in sites:
            same_city = [p for p in words.prescribers if prescriber_places[p][0] == site.city]
            same_region = [
                p
                for p in words.prescribers
                if prescriber_places[p][1] == site.region and p not in same_city
            ]
            rest = [p for p in words.prescribers if p not in same_city and p not in same_region]
            chosen = same_city + rng.sample(same_region, k=min(len(same_region), 3))
            if len(chosen) < 4:
                chosen += rng.sample(rest, k=min(len(rest), 4 - len(chosen)))
            for prescriber in chosen:
                link(f"prescriber:{prescriber}", prescriber, "prescriber", site)

        for site in sites:
            for employer in rng.sample(
                words.employers, k=min(len(words.employers), rng.randint(10, 14))
            ):
                link(f"employer:{employer}", employer, "employer", site)

        training_places = {t: place_of(t) for t in words.training_orgs}
        for site in sites:
            near = [
                t
                for t in words.training_orgs
                if training_places[t][0] == site.city or training_places[t][1] == site.region
            ]
            general = [t for t in words.training_orgs if not any(training_places[t])]
            chosen = near + rng.sample(general, k=min(len(general), max(2, 4 - len(near))))
            for org in chosen:
                link(f"training:{org}", org, "training", site)

        partner_ids: dict[str, str] = {}
        for key, linked in links.items():
            first_site = min(linked, key=lambda s: s.created)
            created = self.stamp(first_site.created.date() + timedelta(days=rng.randint(0, 20)))
            name = names[key]
            kind = kinds[key]
            place = prescriber_places.get(name) or training_places.get(name) or ("", "")
            city = place[0] or ("" if kind == "funder" and name in national else first_site.city)
            contact_first, contact_last = self.person_name("F" if rng.random() < 0.6 else "M")
            email = None
            if rng.random() < 0.9:
                domain = ascii_slug(name)
                if len(domain) > 40:  # cut at a word, never leave a lone "d" or "l"
                    domain = domain[:41].rsplit("-", 1)[0]
                    if "-" in domain and len(domain.rsplit("-", 1)[1]) == 1:
                        domain = domain.rsplit("-", 1)[0]
                domain = domain or "partenaire"
                local = (
                    f"{ascii_slug(contact_first) or 'contact'}.{ascii_slug(contact_last) or 'x'}"
                )
                email = f"{local}@{domain}.example.org"
            phone = self.landline(first_site.region) if rng.random() < 0.85 else None
            row = self.synced(
                "partner",
                created,
                name=name,
                kinds=kind,
                contact_name=f"{contact_first} {contact_last}",
                email=email,
                phone=phone,
                city=city,
                notes="",
            )
            partner_ids[key] = row["id"]
            for site in linked:
                link_created = max(created, site.created)
                self.synced(
                    "partner_site",
                    link_created,
                    id=partner_site_id(row["id"], site.row["id"]),
                    partner_id=row["id"],
                    site_id=site.row["id"],
                )
                if kind == "prescriber":
                    site.prescribers.append(row["id"])
                elif kind == "employer":
                    site.employers.append(row["id"])
                elif kind == "training":
                    site.training.append(row["id"])
        for site in sites:  # an operator that trains counts among the site's training partners
            key = f"operator:{site.row['id']}"
            if "training" in kinds[key]:
                site.training.append(partner_ids[key])

    # --- cohorts -------------------------------------------------------------------------

    def cohort_sizes(self, learners: int) -> list[int]:
        """Sizes of 12 to 24 that add up to ``learners`` (one smaller cohort below 12 learners)."""
        if learners < 12:
            return [learners]
        sizes: list[int] = []
        left = learners
        while left >= 12:
            size = self.rng.randint(12, 24)
            if left - size < 12:  # never leave fewer than 12 for the last cohort
                size = left if left <= 24 else left - 12
            sizes.append(size)
            left -= size
        return sizes

    def make_cohorts(self, learners: int) -> None:
        rng, today = self.rng, self.today
        sizes = self.cohort_sizes(learners)
        weights = [rng.uniform(0.6, 1.4) for _ in self.sites]
        span = (self.window_end - self.window_start).days
        plans = []
        for index, size in enumerate(sizes):
            site = rng.choices(self.sites, weights=weights)[0]
            months = _DURATIONS.pick(rng)
            if index == 0 and size >= 12:
                # One cohort ended in the last week, so "À appeler" has follow-ups due now.
                end = _friday_on_or_before(today - timedelta(days=1))
                start = _monday_on_or_before(add_months(end + timedelta(days=1), -months))
            else:
                start = self.window_start + timedelta(days=rng.randrange(span + 1))
                if size < 12:  # a cohort still recruiting
                    start = today + timedelta(days=rng.randint(30, 150))
                start = _monday_on_or_before(start)
                end = _friday_on_or_before(add_months(start, months) - timedelta(days=1))
            plans.append((start, site.row["name"], index, site, size, end))
        plans.sort(key=lambda plan: plan[:3])
        names: set[tuple[str, str]] = set()
        for start, _name, _index, site, size, end in plans:
            status = (
                CohortStatus.PLANNED
                if start > today
                else CohortStatus.RUNNING
                if end >= today
                else CohortStatus.FINISHED
            ).value
            programme = rng.choice(site.programmes)
            name = f"{programme} — {site.city} — {_MONTHS_FR[start.month - 1]} {start.year}"
            suffix = 2
            while (site.row["id"], name) in names:
                name = f"{programme} — {site.city} — {_MONTHS_FR[start.month - 1]} {start.year} ({suffix})"
                suffix += 1
            names.add((site.row["id"], name))
            funders = []
            if site.regional_funders and rng.random() < 0.6:
                funders.append(rng.choice(site.regional_funders))
            if not funders or rng.random() < 0.5:
                funders.append(
                    rng.choice([f for f in site.funders if f not in funders] or site.funders)
                )
            created_day = start - timedelta(days=rng.randint(30, 90))
            if created_day > today:
                created_day = today - timedelta(days=rng.randint(0, 30))
            created = self.stamp(created_day)
            updated_day = {"planned": created_day, "running": start}.get(status, end)
            capacity = max(size, rng.choice((12, 14, 15, 16, 18, 20, 24)))
            row = self.synced(
                "cohort",
                created,
                self.stamp(updated_day) if updated_day != created_day else None,
                site_id=site.row["id"],
                name=name,
                programme=programme,
                start_date=start,
                end_date=end,
                capacity=capacity,
                funders="; ".join(funders),
                status=status,
            )
            self.cohorts.append(_Cohort(row=row, site=site, size=size, created=created))

    # --- learners, follow-ups, placements ------------------------------------------------

    def make_learners(self) -> None:
        rng, today = self.rng, self.today
        random_ = rng.random
        for cohort in self.cohorts:
            c = cohort.row
            start, end, status = c["start_date"], c["end_date"], c["status"]
            site = cohort.site
            created_high = min(today, start - timedelta(days=1))
            created_low = min(cohort.created.date() + timedelta(days=1), created_high)
            for _index in range(cohort.size):
                r = random_()
                gender = "F" if r < _WOMEN else "X" if r < _WOMEN + _NON_BINARY else "M"
                first, last = self.person_name(gender)
                age = int(rng.triangular(18, 58, 22))
                birth_year = min(2008, max(1966, start.year - age))
                learner_status, dropout_date, dropout_reason = self.learner_status(
                    status, start, end
                )
                created = self.stamp(self.day_between(created_low, created_high))
                if learner_status == "dropped_out":
                    updated_day = dropout_date
                elif learner_status in ("graduated", "certified"):
                    updated_day = end
                elif learner_status == "enrolled" and status == "running":
                    updated_day = start
                else:
                    updated_day = None
                updated = self.stamp(updated_day) if updated_day is not None else None
                self.synced(
                    "learner",
                    created,
                    updated,
                    site_id=site.row["id"],
                    cohort_id=c["id"],
                    first_name=first,
                    last_name=last,
                    email=self.learner_email(first, last) if random_() < 0.95 else None,
                    phone=self.mobile() if random_() < 0.98 else None,
                    birth_year=birth_year,
                    gender=gender,
                    qpv=random_() < _QPV,
                    qualification=_QUALIFICATIONS.pick(rng),
                    job_seeker=random_() < _JOB_SEEKERS,
                    refugee=random_() < _REFUGEES,
                    prescriber_id=(
                        rng.choice(site.prescribers)
                        if site.prescribers and random_() < _WITH_PRESCRIBER
                        else None
                    ),
                    status=learner_status,
                    dropout_date=dropout_date,
                    dropout_reason=dropout_reason,
                )

    def learner_status(
        self, cohort_status: str, start: date, end: date
    ) -> tuple[str, date | None, str]:
        rng, today = self.rng, self.today
        if cohort_status == "planned":
            soon = (start - today).days <= 30
            enrolled = rng.random() < (0.8 if soon else 0.25)
            return ("enrolled" if enrolled else "candidate"), None, ""
        if cohort_status == "running":
            elapsed = (today - start).days / max(1, (end - start).days)
            if rng.random() < 0.14 * elapsed and today >= start + timedelta(days=3):
                day = self.day_between(start + timedelta(days=3), today)
                return "dropped_out", day, rng.choice(self.words.dropout_reasons)
            return "enrolled", None, ""
        if rng.random() < _FINISHED_DROPOUT:
            low, high = start + timedelta(days=3), end - timedelta(days=1)
            day = low + timedelta(days=int(rng.triangular(0, max(0, (high - low).days), 0)))
            return "dropped_out", day, rng.choice(self.words.dropout_reasons)
        return ("graduated" if rng.random() < _GRADUATED_SHARE else "certified"), None, ""

    def make_follow_ups(self) -> dict[str, list[Row]]:
        """The generated end/+3/+6 follow-ups of every completer; returns them by learner id."""
        rng, today = self.rng, self.today
        random_ = rng.random
        week_ago = today - timedelta(days=7)
        due_dates = {
            c.row["id"]: [
                (value, add_months(c.row["end_date"], months)) for value, months in _MILESTONES
            ]
            for c in self.cohorts
        }
        by_learner: dict[str, list[Row]] = {}
        for learner in self.rows["learner"]:
            if learner["status"] not in ("graduated", "certified"):
                continue
            hard_to_reach = random_() < 0.15
            rows = []
            for milestone, due in due_dates[learner["cohort_id"]]:
                done = None
                if due <= today:
                    delay = _DONE_DELAYS.pick(rng)
                    if due >= week_ago:  # due this week: some already called
                        left = random_() >= 0.35 or due + timedelta(days=delay) > today
                    else:  # the coordinator is a little behind on the last month only
                        left = random_() < (0.15 if (today - due).days <= 30 else 0.002)
                    if not left:
                        done = min(due + timedelta(days=delay), today)
                channel = outcome = None
                notes = ""
                if done is not None:
                    channel = _CHANNELS.pick(rng)
                    outcome = self.outcome(hard_to_reach, channel)
                    notes = self.note(outcome)
                row = self.synced(
                    "follow_up",
                    learner["updated_at"],
                    self.stamp(done) if done is not None else None,
                    id=follow_up_id(learner["id"], milestone),
                    site_id=learner["site_id"],
                    learner_id=learner["id"],
                    milestone=milestone,
                    due_date=due,
                    done_date=done,
                    channel=channel,
                    outcome=outcome,
                    notes=notes,
                )
                rows.append(row)
            by_learner[learner["id"]] = rows
        self.keep_queue_busy()
        return by_learner

    def outcome(self, hard_to_reach: bool, channel: str) -> str:
        r = self.rng.random()
        if hard_to_reach:
            if r < 0.2:
                return Outcome.REACHED.value
            if r < 0.8 or channel not in ("phone", "sms"):
                return Outcome.NO_ANSWER.value
            return Outcome.WRONG_NUMBER.value
        if r < 0.88:
            return Outcome.REACHED.value
        if r < 0.97:
            return Outcome.NO_ANSWER.value
        return Outcome.DECLINED.value

    def note(self, outcome: str) -> str:
        rng = self.rng
        if outcome == "reached":
            return rng.choice(self.notes_reached) if rng.random() < 0.6 else ""
        if outcome == "no_answer":
            return rng.choice(self.notes_no_answer) if rng.random() < 0.5 else ""
        if outcome == "wrong_number":
            return rng.choice(self.notes_wrong) if rng.random() < 0.7 else ""
        return ""

    def keep_queue_busy(self) -> None:
        """Make sure the queue shows at least one overdue follow-up and one due this week."""
        week_ago = self.today - timedelta(days=7)
        rows = self.rows["follow_up"]
        for wanted in (lambda due: due < week_ago, lambda due: week_ago <= due <= self.today):
            if any(r["done_date"] is None and wanted(r["due_date"]) for r in rows):
                continue
            done = [r for r in rows if r["done_date"] is not None and wanted(r["due_date"])]
            if done:
                latest = max(done, key=lambda r: (r["due_date"], r["id"]))
                latest.update(
                    done_date=None,
                    channel=None,
                    outcome=None,
                    notes="",
                    updated_at=latest["created_at"],
                )

    def make_placements(self, follow_ups: dict[str, list[Row]]) -> None:
        rng = self.rng
        random_ = rng.random
        cohort_by_id = {c.row["id"]: c for c in self.cohorts}
        for learner in self.rows["learner"]:
            status = learner["status"]
            cohort = cohort_by_id[learner["cohort_id"]]
            site = cohort.site
            c = cohort.row
            if status == "dropped_out":
                self.dropout_placement(learner, site, c)
                continue
            if status not in ("graduated", "certified"):
                continue
            exit_kind = _EXITS.pick(rng)
            if exit_kind == "none":
                continue
            kind = _EMPLOYMENT.pick(rng) if exit_kind == "employment" else exit_kind
            start = max(
                c["start_date"], c["end_date"] + timedelta(days=int(rng.triangular(-30, 240, 45)))
            )
            reached = [f for f in follow_ups.get(learner["id"], ()) if f["outcome"] == "reached"]
            first = self.placement(learner, site, kind, start, reached, known_otherwise=0.5)
            if (
                first is None
                or kind not in ("cdd_short", "interim", "apprenticeship")
                or random_() >= 0.35
            ):
                continue
            second_start = start + timedelta(days=rng.randint(60, 240))
            second_kind = _SECOND_JOBS.pick(rng)
            self.placement(learner, site, second_kind, second_start, reached, known_otherwise=0.6)

    def placement(
        self,
        learner: Row,
        site: _Site,
        kind: str,
        start: date,
        reached: list[Row],
        *,
        known_otherwise: float,
    ) -> Row | None:
        """A placement as the coordinator learned it: at the first reached follow-up done on or
        after its start, or otherwise (an email, the employer) with some chance; None if unknown."""
        rng = self.rng
        if start > self.today:
            return None
        source = next((f for f in reached if f["done_date"] >= start), None)
        if source is None and rng.random() >= known_otherwise:
            return None
        if source is not None:
            created = source["updated_at"]
            fitting = self.notes_placement.get(kind)
            if fitting:  # what was said on that call, or nothing written
                source["notes"] = rng.choice(fitting) if rng.random() < 0.7 else ""
        else:
            created = self.stamp(min(self.today, start + timedelta(days=rng.randint(0, 20))))
        return self.add_placement(
            learner, site, kind, start, created, source["id"] if source else None
        )

    def add_placement(
        self,
        learner: Row,
        site: _Site,
        kind: str,
        start: date,
        created: datetime,
        source_id: str | None,
    ) -> Row:
        rng = self.rng
        partner_id = None
        job_title = ""
        if kind == PlacementKind.FURTHER_TRAINING.value:
            if site.training and rng.random() < 0.95:
                partner_id = rng.choice(site.training)
        elif kind != PlacementKind.OTHER.value:
            if (
                kind != PlacementKind.BUSINESS_CREATION.value
                and site.employers
                and rng.random() < 0.9
            ):
                partner_id = rng.choice(site.employers)
            job_title = rng.choice(self.job_titles[learner["gender"]])
        return self.synced(
            "placement",
            created,
            site_id=learner["site_id"],
            learner_id=learner["id"],
            kind=kind,
            partner_id=partner_id,
            job_title=job_title,
            start_date=start,
            source_followup_id=source_id,
            notes="",
        )

    def dropout_placement(self, learner: Row, site: _Site, cohort: Row) -> None:
        """A few learners leave for a job or another training, and the coordinator knows it."""
        rng = self.rng
        reason = learner["dropout_reason"].lower()
        if "emploi" in reason:
            chance, kinds = 0.7, ("cdi", "cdd_6m_plus", "cdd_short", "interim")
        elif "autre formation" in reason:
            chance, kinds = 0.7, ("further_training",)
        else:
            chance, kinds = 0.02, ("cdd_short", "interim", "other")
        if rng.random() >= chance:
            return
        start = min(self.today, learner["dropout_date"] + timedelta(days=rng.randint(0, 14)))
        start = max(start, cohort["start_date"])
        created = self.stamp(min(self.today, start + timedelta(days=rng.randint(0, 10))))
        self.add_placement(learner, site, rng.choice(kinds), start, created, None)

    # --- all together --------------------------------------------------------------------

    def run(self, learners: int) -> dict[str, list[Row]]:
        self.make_sites(site_count(learners))
        self.make_partners()
        self.make_cohorts(learners)
        self.make_learners()
        follow_ups = self.make_follow_ups()
        self.make_placements(follow_ups)
        version = 0
        for rows in self.rows.values():  # parents first, like a pull from the commons
            for row in rows:
                version += 1
                row["version"] = version
        return self.rows


def generate(*, learners: int = 600, seed: int = 2026, today: date) -> DemoData:
    """The demo network of one coordinator as of ``today``: sites, partners and their links,
    cohorts, learners, follow-ups and placements. Deterministic: same arguments, same rows."""
    if learners < 1:
        raise ValueError("learners must be at least 1")
    generator = _Generator(random.Random(seed), load_word_lists(), today)
    return DemoData(seed=seed, today=today, rows=generator.run(learners))


def write(store: Store, data: DemoData) -> None:
    """Write ``data`` into ``store`` in one transaction, as rows already synced (no outbox), and
    remember the seed and date it was made with."""
    store.bulk_insert(
        data.rows, meta={"demo_seed": str(data.seed), "demo_today": data.today.isoformat()}
    )


def build_demo_home(
    home: Path, *, learners: int, seed: int, today: date | None, replace: bool
) -> str:
    """Build the demo network in its own home (``fabriqueterm demo``) and say what was made."""
    from fabriqueterm.config import Config, Paths, save_config
    from fabriqueterm.store import Store

    home = Path(home)
    home.mkdir(parents=True, exist_ok=True, mode=0o700)
    paths = Paths.under(home)
    paths.ensure()
    database = paths.database
    if not database.resolve().is_relative_to(home.resolve()):  # pragma: no cover - Paths.under
        raise ValueError(f"{database} is not inside the demo home {home}")
    day = today or date.today()
    data = generate(learners=learners, seed=seed, today=day)  # first: a failure keeps the old demo
    if replace:
        for suffix in ("", "-wal", "-shm"):
            database.with_name(database.name + suffix).unlink(missing_ok=True)
    elif database.exists():
        with Store.open(database, clock=Clock(day)) as store:
            if store.sites.count():
                raise FileExistsError(
                    _(
                        "{file} already holds demo data; rebuild it with “fabriqueterm demo --build”."
                    ).format(file=database)
                )
    if not paths.config_file.exists():
        save_config(paths.config_file, Config())
    with Store.open(database, clock=Clock(day)) as store:
        write(store, data)
    return _(
        "Demo network written to {path}: {sites} sites, {cohorts} cohorts, {learners} learners, "
        "{placements} placements and {follow_ups} follow-ups (seed {seed}, as of {today})."
    ).format(
        path=database,
        sites=data.count("site"),
        cohorts=data.count("cohort"),
        learners=data.count("learner"),
        placements=data.count("placement"),
        follow_ups=data.count("follow_up"),
        seed=seed,
        today=day.isoformat(),
    )
