"""Showing the person's file: every piece of it a message holds (a header cell, a value) goes
through :func:`visible`, so no control character from the file reaches a terminal raw (an
``ESC[2J`` in a header cell would clear the screen) and no line is reordered."""

from __future__ import annotations

_NAMED_ESCAPES = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}
#: Characters that reorder or break a line on a terminal although they are not C0/C1 controls.
_INVISIBLE = frozenset(
    "\u061c\u200e\u200f\u2028\u2029\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\ufeff"
)


def visible(text: object) -> str:
    """``text`` from the person's file as a message may show it: each control character (C0, DEL,
    C1, and the invisible ones that reorder a line) written as its escape, the way Python writes
    it ("\\x1b[2J", "\\t", "\\u202e"); everything else, accents included, as it is. Every piece
    of a file the importer puts in a message goes through here, so nothing of it reaches a
    terminal raw."""
    shown = str(text)
    if shown.isprintable() and not _INVISIBLE.intersection(shown):
        return shown
    out = []
    for char in shown:
        code = ord(char)
        if char in _NAMED_ESCAPES:
            out.append(_NAMED_ESCAPES[char])
        elif code < 0x20 or 0x7F <= code < 0xA0:
            out.append(f"\\x{code:02x}")
        elif char in _INVISIBLE:
            out.append(f"\\u{code:04x}")
        else:
            out.append(char)
    return "".join(out)


def visible_lines(text: object) -> str:
    """A whole message, line by line through :func:`visible` (its own line breaks kept)."""
    return "\n".join(visible(line) for line in str(text).split("\n"))
