"""The demo's word lists (``fixtures/demo``): names, cities, employers, notes… one entry per line."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from fabriqueterm.i18n import _
from fabriqueterm.resources import data_path


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
