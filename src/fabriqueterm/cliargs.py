"""Argument types shared by the command-line modules: a bad value gets a message naming it and
the form expected, in the UI language."""

from __future__ import annotations

import argparse
from datetime import date

from fabriqueterm.i18n import _


def iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            _("“{value}” is not a date; expected YYYY-MM-DD, e.g. 2026-11-25").format(value=text)
        ) from None


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(
            _("“{value}” is not a positive whole number").format(value=text)
        )
    return value
