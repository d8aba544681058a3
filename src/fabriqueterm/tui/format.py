"""How values are shown: dates the French way in French, numbers with the language's separators."""

from __future__ import annotations

from datetime import date

from rich.cells import cell_len, set_cell_size

from fabriqueterm.i18n import N_, _, current_language

_NARROW_NO_BREAK_SPACE = "\u202f"


def format_date(day: date | None) -> str:
    """25/11/2026 in French, 2026-11-25 in English; an em dash for no date."""
    if day is None:
        return "—"
    if current_language() == "fr":
        return day.strftime("%d/%m/%Y")
    return day.isoformat()


def date_for_input(day: date | None) -> str:
    """A date as a person types it in a form (both forms are accepted back)."""
    return "" if day is None else format_date(day)


def format_int(value: int) -> str:
    """8 385 in French (narrow no-break space), 8,385 in English."""
    text = f"{value:,}"
    if current_language() == "fr":
        return text.replace(",", _NARROW_NO_BREAK_SPACE)
    return text


def yes_no(value: bool) -> str:
    return _("yes") if value else _("no")


def shown_of(total: int, shown: int, noun_one: str, noun_many: str) -> str:
    """ "8 385 learners, 200 shown" (the nouns already translated)."""
    noun = noun_one if total == 1 else noun_many
    if shown >= total:
        return f"{format_int(total)} {noun}"
    return _("{total} {noun}, {shown} shown").format(
        total=format_int(total), noun=noun, shown=format_int(shown)
    )


def bar(value: float | None, width: int) -> str:
    """A horizontal bar of block characters for a share between 0 and 1 (eighths of a cell)."""
    if value is None:
        return "·" * width
    eighths = round(max(0.0, min(1.0, value)) * width * 8)
    full, rest = divmod(eighths, 8)
    partial = " ▏▎▍▌▋▊▉"[rest].strip()
    return ("█" * full + partial).ljust(width, "░")


def format_phone(phone: str | None) -> str:
    """A stored E.164 number as people read it: 06 12 34 56 78 for French numbers."""
    if not phone:
        return "—"
    import phonenumbers  # its metadata loads in ~25 ms: not before the first frame

    try:
        number = phonenumbers.parse(phone, "FR")
    except phonenumbers.NumberParseException:
        return phone
    if number.country_code == 33:
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def format_phone_for_input(phone: str | None) -> str:
    return "" if not phone else format_phone(phone)


ELLIPSIS = "…"
#: Where a word ends, for cutting text without cutting a word.
_WORD_BREAKS = " -—–·/,;:("


def fit_words(text: str, width: int) -> str:
    """``text`` if it fits ``width`` cells, else cut at the last word boundary that leaves room
    for "…" ("pas de réponse", 12 → "pas de…"); a single word too long is cut with "…"."""
    if cell_len(text) <= width:
        return text
    if width <= 1:
        return ELLIPSIS[:width]
    head = set_cell_size(text, width - 1)
    cut = max(head.rfind(mark) for mark in _WORD_BREAKS)
    if cut > 0 and text[len(head)] not in _WORD_BREAKS:
        head = head[:cut]
    return head.rstrip(_WORD_BREAKS) + ELLIPSIS


def shorten_middle(text: str, width: int) -> str:
    """``text`` if it fits ``width`` cells, else its start and its end around "…", cut at word
    boundaries when one is near: rows that differ only at the end stay distinct
    ("Développeur·se web et web mobile — Lens — 2026-09", 38 → "Développeur·se…mobile — Lens —
    2026-09")."""
    if cell_len(text) <= width:
        return text
    if width < 8:
        return fit_words(text, width)
    room = width - 1
    tail_room = room * 3 // 5  # the end tells rows apart: it gets more room
    begin = len(text) - tail_room
    word_start = text.rfind(" ", 0, begin) + 1  # the end begins with a whole word…
    if begin - word_start <= tail_room // 3:
        begin = word_start
    elif (space := text.find(" ", begin)) != -1 and space - begin <= tail_room // 3:
        begin = space + 1  # …or the next one, unless either loses too much
    tail = text[begin:]
    head = set_cell_size(text, room - cell_len(tail))
    cut = head.rfind(" ")
    if cut > len(head) * 2 // 3 and text[len(head)] != " ":
        head = head[:cut]
    return head.rstrip() + ELLIPSIS + tail.lstrip()


#: Short weekday names, Monday first: the call-back day reads "Wed. 09/12" ("mer. 09/12").
WEEKDAYS = (N_("Mon."), N_("Tue."), N_("Wed."), N_("Thu."), N_("Fri."), N_("Sat."), N_("Sun."))


def short_day(day: date) -> str:
    """A day as people say it on the phone: "mer. 09/12" (weekday, day and month)."""
    return f"{_(WEEKDAYS[day.weekday()])} {day:%d/%m}"
