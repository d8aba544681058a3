"""The HTML report in the report's language (issue 12, finding 8): its chart titles stayed in English
in French because they were marked inside f-strings, where the catalogue's extractor does not look,
so they never reached the catalogue."""

from __future__ import annotations

import importlib.util
import re
import tokenize
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]
#: A call of a translation function: ``_(``, ``N_(`` or ``ngettext(``.
_MARK = re.compile(r"(?<![\w.])(?:N_|_|ngettext)\(")


def i18n_tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location("i18n_tool", ROOT / "scripts" / "i18n.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_html_reports_texts_reach_the_catalogue() -> None:
    extracted = {message.id for message in i18n_tool().extract_template() if message.id}
    for text in (
        "Positive exit rate per cohort (most recently ended)",
        "Placements logged this week by kind",
        "Exit rates per cohort",
        "No cohort has ended with completers yet.",
        "No placement logged this week.",
        "Made by fabriqueterm on {when}.",
        "Aggregated figures only: no names, no contact details.",
    ):
        assert text in extracted, text


def test_no_text_is_marked_inside_an_f_string() -> None:
    """What ``_()`` marks inside an f-string is translated at run time but never extracted (Python
    3.11 reads an f-string as one token): the text stays English in every language."""
    hidden = []
    for path in sorted((ROOT / "src" / "fabriqueterm").rglob("*.py")):
        with path.open("rb") as file:
            for token in tokenize.tokenize(file.readline):
                prefix = re.match(r"[a-zA-Z]*", token.string)
                if (
                    token.type == tokenize.STRING
                    and prefix is not None
                    and "f" in prefix[0].lower()
                    and re.search(rf"{_MARK.pattern}[\"']", token.string)
                ):
                    hidden.append(f"{path.relative_to(ROOT)}:{token.start[0]}")
    assert hidden == []
