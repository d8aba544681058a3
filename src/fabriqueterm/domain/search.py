"""How people are found as they are typed: the one rule for comparing names (accents, case and a
few letters French keyboards lack are ignored) and for reading phone digits as French people write
them. Pure: no SQL.

The store applies the same rule on its side: its learner search index (store/migrations.py,
version 6) folds names with SQLite's ``unicode61 remove_diacritics 2`` tokenizer plus
:data:`LETTERS_SPELT_OUT`, which gives what :func:`fold` gives for every Latin letter of Latin-1 and
Latin Extended-A (tests/store/test_search_index.py checks each one), and indexes a French number
(+33 and nine digits) by its national form, that form without its leading 0, and from the start of
each of its two-digit groups. So "0612" finds 06 12 34 56 78 but not 06 51 31 61 27.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

#: Letters that no accent removal turns into ASCII, as people type them on a French keyboard.
LETTERS_SPELT_OUT = {
    "æ": "ae",
    "œ": "oe",
    "ø": "o",
    "ł": "l",
    "đ": "d",
    "ß": "ss",
}
_SPELT_OUT = str.maketrans(LETTERS_SPELT_OUT)
#: What separates words: anything but a letter or a digit (as the index's tokenizer splits).
_SEPARATORS = re.compile(r"[\W_]+")
#: A chunk of a phone number as people type it: digits, maybe a leading +, dots, dashes, brackets.
_PHONE_CHUNK = re.compile(r"\+?[\d.\-/()]*\d[\d.\-/()]*")
_FRENCH_PREFIX = "33"


def fold(text: str) -> str:
    """``text`` in lower case, without accents, with æ, œ, ø, ł, đ and ß spelt out: "Zoé" and
    "ZOE" both give "zoe", "Saïdi" gives "saidi", "Lætitia" gives "laetitia"."""
    decomposed = unicodedata.normalize("NFD", text)
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return bare.lower().translate(_SPELT_OUT)


def words(text: str) -> list[str]:
    """The folded words of ``text``, split at anything but a letter or a digit:
    "Jean-Pierre N'Diaye" gives ["jean", "pierre", "n", "diaye"]."""
    return [word for word in _SEPARATORS.split(fold(text)) if word]


def phone_digits(typed: str) -> str:
    """The digits of a phone number as typed, as the search index holds French numbers: in their
    national form when typed with +33 or 0033 ("+33 6 12" and "06.12" give "0612"), otherwise
    as typed ("612", "12 34"), or as international digits after + or 00 ("+32 470" gives
    "32470")."""
    text = typed.strip()
    digits = "".join(ch for ch in text if ch.isdigit())
    international = text.startswith("+")
    if not international and digits.startswith("00"):
        digits, international = digits[2:], True
    if not international:
        return digits
    if digits.startswith(_FRENCH_PREFIX):  # "+33" alone: any French number, all start with 0
        national = digits[len(_FRENCH_PREFIX) :]
        # "+33 (0)6 12…": the 0 written in brackets is the national form's own.
        return national if national.startswith("0") else "0" + national
    return digits


@dataclass(frozen=True)
class SearchTerms:
    """What someone typed to find a person, each part to match the start of a word of a name or
    an email (``phrases``: the words typed together, "jean-pie" the phrase "jean" "pie") or the
    start of a phone number or of one of its groups (``phones``: digits as :func:`phone_digits`
    gives them). Every part must match, in any order."""

    phrases: tuple[tuple[str, ...], ...] = ()
    phones: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.phrases or self.phones)


def search_terms(typed: str) -> SearchTerms:
    """Read what was typed in a search box: runs of phone-like chunks ("06 12 34", "+33 6") are one
    number, every other chunk a phrase of folded words. "Zoé Mar" gives the phrases ("zoe",) and
    ("mar",); "martin 06 12" the phrase ("martin",) and the number "0612"."""
    phrases: list[tuple[str, ...]] = []
    phones: list[str] = []
    number: list[str] = []

    def end_number() -> None:
        digits = phone_digits(" ".join(number))
        if digits:
            phones.append(digits)
        number.clear()

    for chunk in typed.split():
        if _PHONE_CHUNK.fullmatch(chunk) and (not number or not chunk.startswith("+")):
            number.append(chunk)
            continue
        if number:
            end_number()
        if _PHONE_CHUNK.fullmatch(chunk):  # a new number starting with +
            number.append(chunk)
            continue
        found = words(chunk)
        if found:
            phrases.append(tuple(found))
    if number:
        end_number()
    return SearchTerms(tuple(phrases), tuple(phones))


def folded_contains(needle: str) -> list[str]:
    """The LIKE patterns a list filter checks, one per folded word of ``needle`` (``%`` and ``_``
    taken literally, escape ``\\``), each to be found in a folded text: "Roubaix france" gives
    ["%roubaix%", "%france%"]."""
    patterns = []
    for word in fold(needle).split():
        escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        patterns.append(f"%{escaped}%")
    return patterns
