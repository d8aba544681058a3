"""The weekly summary's figures against numbers worked out by hand, and the same figures in
every format (CSV, Markdown, XLSX read back with openpyxl, HTML)."""

from __future__ import annotations

import csv
import html
import io
import re
import zipfile
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

import openpyxl
import pytest

from fabriqueterm.domain.indicators import AttemptsMedian, Rate
from fabriqueterm.i18n import set_language
from fabriqueterm.reports.exporters import render, sheet_title, to_csv, to_markdown
from fabriqueterm.reports.summary import IsoWeek, SummaryError, resolve_sites, weekly_summary

NA = None
# Worked out by hand from conftest.network (see the comments there), week 2026-W48.
# Counts are ints; rates (numerator, denominator); NA when nobody is in the denominator.
ZERO_PLACEMENTS = {
    f"placements_{k}": 0
    for k in (
        "cdi",
        "cdd_6m_plus",
        "cdd_short",
        "interim",
        "apprenticeship",
        "business_creation",
        "further_training",
        "other",
    )
}
EXPECTED = {
    "Fabrique Lyon": {
        "new_enrolments": 1,  # a6 (a9 is a candidate, a10 deleted)
        "dropouts": 1,  # a8 on 27/11 (a3 dropped out in March)
        "placements": 2,
        **ZERO_PLACEMENTS,
        "placements_cdi": 1,  # a1 (a7's cdi deleted; a2's training logged in October)
        "placements_other": 1,  # a4
        # Closed this week: a2 +3 (reached 26/11), a4 end (unreachable 25/11); a2 end's
        # unanswered call on 24/11 keeps it open.
        "followups_done_this_week": 2,
        "cohorts_running": 1,
        "in_training": 2,  # a6, a7
        "followups_due": 3,  # a1 +3, a2 end, a4 +3
        "followups_overdue": 3,
        "enrolled": 7,  # a1-a4, a6-a8
        "completers": 3,  # a1, a2, a4
        "women_pct": (3, 7),
        "qpv_pct": (2, 7),
        "level_4_or_below_pct": (5, 7),  # a1, a3, a4, a6, a8
        "job_seekers_pct": (3, 7),
        "refugees_pct": (1, 7),
        "dropout_rate": (2, 7),
        "positive_exit_rate_0": (0, 3),  # nobody placed by 30/06
        "positive_exit_rate_3": (1, 3),  # a1's cdi 15/07 ≤ 30/09; a2's training starts 01/10
        "positive_exit_rate_6": NA,  # 30/12 is after Sunday 29/11
        "positive_exit_rate_12": NA,
        "employment_rate_0": (0, 3),
        "employment_rate_3": (1, 3),
        "employment_rate_6": NA,
        "employment_rate_12": NA,
        "completers_never_reached": (1, 3),  # a4
        "reach_rate": (2, 3),  # a1 end, a2 +3 reached; a4 end unreachable
        "followups_unreachable": 1,  # a4 end
        "attempts_per_reached": 1.5,  # a1 end in 1 call, a2 +3 in 2
    },
    "Fabrique Roubaix": {
        "new_enrolments": 2,  # b1, b2 (b2 created on Sunday 29/11)
        "dropouts": 0,  # b3 dropped out on 20/11, the week before
        "placements": 1,
        **ZERO_PLACEMENTS,
        "placements_apprenticeship": 1,
        "followups_done_this_week": 0,
        "cohorts_running": 1,
        "in_training": 2,
        "followups_due": 0,
        "followups_overdue": 0,
        "enrolled": 3,
        "completers": 0,
        "women_pct": (2, 3),
        "qpv_pct": (1, 3),
        "level_4_or_below_pct": (2, 3),
        "job_seekers_pct": (1, 3),
        "refugees_pct": (0, 3),
        "dropout_rate": (1, 3),
        **{
            f"{name}_{n}": NA
            for name in ("positive_exit_rate", "employment_rate")
            for n in (0, 3, 6, 12)
        },
        "completers_never_reached": NA,
        "reach_rate": NA,
        "followups_unreachable": 0,
        "attempts_per_reached": None,
    },
}
EXPECTED["Fabrique Vide"] = {
    key: (0 if isinstance(value, int) else NA)
    for key, value in EXPECTED["Fabrique Roubaix"].items()
}
EXPECTED["Total"] = {
    key: (
        EXPECTED["Fabrique Lyon"][key] + EXPECTED["Fabrique Roubaix"][key]
        if isinstance(EXPECTED["Fabrique Lyon"][key], int)
        else None
    )
    for key in EXPECTED["Fabrique Lyon"]
}
EXPECTED["Total"].update(
    {
        "women_pct": (5, 10),
        "qpv_pct": (3, 10),
        "level_4_or_below_pct": (7, 10),
        "job_seekers_pct": (4, 10),
        "refugees_pct": (1, 10),
        "dropout_rate": (3, 10),
        "positive_exit_rate_0": (0, 3),
        "positive_exit_rate_3": (1, 3),
        "employment_rate_0": (0, 3),
        "employment_rate_3": (1, 3),
        "completers_never_reached": (1, 3),
        "reach_rate": (2, 3),
        "attempts_per_reached": 1.5,
    }
)
SECTIONS = ["Total", "Fabrique Lyon", "Fabrique Roubaix", "Fabrique Vide"]


def percent(pair: tuple[int, int] | None) -> Decimal | None:
    """What a reader sees: the percentage with one decimal."""
    if pair is None:
        return None
    return (Decimal(pair[0]) * 100 / Decimal(pair[1])).quantize(
        Decimal("0.1"), rounding=ROUND_HALF_UP
    )


def expected_shown(section: str) -> dict[str, int | Decimal | None]:
    return {
        k: (
            v
            if isinstance(v, int)
            else Decimal(str(v))
            if isinstance(v, float)
            else None
            if k == "attempts_per_reached"
            else percent(v)
        )
        for k, v in EXPECTED[section].items()
    }


def test_figures_match_the_hand_count(network):
    summary = weekly_summary(network.store, "2026-W48")
    assert [s.name for s in summary.sections] == SECTIONS
    for section in summary.sections:
        got = {}
        for figure in section.figures():
            value = figure.value
            if isinstance(value, Rate):
                got[figure.key] = (
                    None if value.denominator == 0 else (value.numerator, value.denominator)
                )
            elif isinstance(value, AttemptsMedian):
                got[figure.key] = value.value
            else:
                got[figure.key] = value
        assert got == EXPECTED[section.name], section.name
    assert summary.week.monday == date(2026, 11, 23) and summary.as_of == date(2026, 11, 29)


def test_default_week_is_the_stores_current_week(network):
    assert str(weekly_summary(network.store).week) == "2026-W48"


def test_an_earlier_week_counts_as_of_its_sunday(network):
    summary = weekly_summary(network.store, date(2026, 11, 18))  # 2026-W47, Sunday 22/11
    total = summary.total
    assert str(summary.week) == "2026-W47"
    assert total.activity.dropouts == 1  # b3 on 20/11
    assert total.activity.new_enrolments == 0
    assert total.placements_total == 0
    # Not yet done on 22/11: a2's end (done 24/11) and +3 (done 26/11) were still due.
    assert total.indicators.followups_due == 5
    assert total.indicators.followups_done_this_week == 0
    assert total.indicators.reach_rate == Rate(1, 1)


def test_site_filter(network):
    ids = resolve_sites(network.store, ["fabrique roubaix"])
    assert ids == [network.sites["roubaix"]]
    summary = weekly_summary(network.store, "2026-W48", site_ids=ids)
    assert [s.name for s in summary.sections] == ["Total", "Fabrique Roubaix"]
    assert not summary.all_sites
    assert summary.total.figures() != [] and {f.key: f.value for f in summary.total.figures()} == {
        f.key: f.value for f in summary.sites[0].figures()
    }
    with pytest.raises(SummaryError, match="Fabrique Lyon"):
        resolve_sites(network.store, ["Nowhere"])


@pytest.mark.parametrize("text", ["2026-W48", "2026W48", "2026-w48", " 2026-48 "])
def test_iso_week_parse(text):
    assert IsoWeek.parse(text) == IsoWeek(2026, 48)


@pytest.mark.parametrize("text", ["2025-W53", "2026-W00", "W48", "next week", ""])
def test_iso_week_refuses(text):
    with pytest.raises(SummaryError, match="ISO week"):
        IsoWeek.parse(text)


# --- every format shows the same figures ------------------------------------------------------


def _number(text: str) -> int | Decimal | None:
    text = text.strip()
    if text in ("n/a", ""):
        return None
    if re.fullmatch(r"\d+[,.]\d+", text):  # a median such as 1,5
        return Decimal(text.replace(",", "."))
    match = re.match(r"^([\d\s\u202f.,]+?)\s*%", text)
    if match:
        return Decimal(match.group(1).replace(",", ".").replace("\u202f", "").strip())
    return int(re.sub(r"\D", "", text))


def read_csv(data: bytes) -> dict[str, dict[str, object]]:
    assert data.startswith(b"\xef\xbb\xbf"), "CSV starts with a UTF-8 byte-order mark"
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))
    assert "2026-W48" in rows[0][0] and rows[1] == []
    header = rows[2]
    assert header[-1] == "code"
    sections: dict[str, dict[str, object]] = {name: {} for name in header[2:-1]}
    for row in rows[3:]:
        key = row[-1]
        for name, cell in zip(header[2:-1], row[2:-1], strict=True):
            if cell == "n/a":
                sections[name][key] = None
            elif row[1].endswith("(%)") or "," in cell:
                assert "." not in cell, "decimal comma"
                sections[name][key] = Decimal(cell.replace(",", "."))
            else:
                sections[name][key] = int(cell)
    return sections


def read_markdown(text: str, labels: dict[str, str]) -> dict[str, dict[str, object]]:
    sections: dict[str, dict[str, object]] = {}
    for block in text.split("\n## ")[1:]:
        name, _sep, body = block.partition("\n")
        figures: dict[str, object] = {}
        for line in body.splitlines():
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if len(cells) == 2 and cells[0] in labels:
                figures[labels[cells[0]]] = _number(cells[1])
        sections[name.strip()] = figures
    return sections


def read_xlsx(data: bytes, labels: dict[str, str]) -> dict[str, dict[str, object]]:
    workbook = openpyxl.load_workbook(io.BytesIO(data))
    sections: dict[str, dict[str, object]] = {}
    for sheet in workbook.worksheets:
        figures: dict[str, object] = {}
        for label, value, numerator, denominator in sheet.iter_rows(min_row=5, max_col=4):
            key = labels.get(label.value)
            if key is None:
                continue
            if numerator.value is None and value.value == "n/a":  # a median of nothing
                figures[key] = None
            elif numerator.value is None:  # a count (or a median): typed as a number
                assert isinstance(value.value, int | float), key
                figures[key] = (
                    value.value if isinstance(value.value, int) else Decimal(str(value.value))
                )
            elif value.value == "n/a":
                assert denominator.value == 0
                figures[key] = None
            else:
                assert isinstance(value.value, int | float) and value.number_format == "0.0%", key
                assert value.value == pytest.approx(numerator.value / denominator.value)
                figures[key] = percent((numerator.value, denominator.value))
        sections[sheet.title] = figures
    return sections


def read_html(text: str) -> dict[str, dict[str, object]]:
    sections: dict[str, dict[str, object]] = {}
    for match in re.finditer(
        r'<section class="site" data-site="[^"]*"><h2>(.*?)</h2>(.*?)</section>', text, re.S
    ):
        figures = {
            key: _number(html.unescape(value))
            for key, value in re.findall(
                r'<tr data-key="(\w+)"[^>]*><th>.*?</th><td>(.*?)</td></tr>', match.group(2)
            )
        }
        sections[html.unescape(match.group(1))] = figures
    return sections


def test_every_format_shows_the_same_figures(network):
    summary = weekly_summary(network.store, "2026-W48")
    labels = {f.label: f.key for f in summary.total.figures()}
    expected = {name: expected_shown(name) for name in SECTIONS}
    assert read_csv(render(summary, "csv")) == expected
    assert read_markdown(render(summary, "md").decode(), labels) == expected
    assert read_xlsx(render(summary, "xlsx"), labels) == expected
    assert read_html(render(summary, "html").decode()) == expected


def test_xlsx_has_a_sheet_per_site_and_the_total(network):
    workbook = openpyxl.load_workbook(
        io.BytesIO(render(weekly_summary(network.store, "2026-W48"), "xlsx"))
    )
    assert workbook.sheetnames == SECTIONS


def test_sheet_titles_are_valid_and_unique():
    taken: set[str] = set()
    assert sheet_title("Fabrique: Lyon/Vénissieux [2026]", taken) == "Fabrique Lyon Vénissieux 2026"
    long = "Fabrique numérique de Saint-Quentin-en-Yvelines"
    first, second = sheet_title(long, taken), sheet_title(long, taken)
    assert len(first) <= 31 and len(second) <= 31 and first != second and second.endswith("(2)")


def test_html_is_self_contained_with_two_charts(network):
    text = render(weekly_summary(network.store, "2026-W48"), "html").decode()
    assert text.count("<svg") == 2
    assert "Dev web 2026" in text  # the exit-rate chart names the cohort that ended
    for external in ("<script", "<link", "src=", "http://", "https://"):
        assert external not in text.replace('xmlns="http://www.w3.org/2000/svg"', "")


def test_french_formats(network):
    set_language("fr")
    summary = weekly_summary(network.store, "2026-W48")
    csv_text = to_csv(summary).decode("utf-8-sig")
    assert ";42,9;" in csv_text  # Lyon's women %, decimal comma
    markdown = to_markdown(summary)
    assert "42,9\u202f% (3/7)" in markdown and "23/11/2026" in markdown


def test_no_personal_data_in_any_format(network):
    summary = weekly_summary(network.store, "2026-W48")
    secrets = [value for value in network.personal if value] + ["Zanzibarville", "Quixoplex"]
    assert len(secrets) > 40
    for fmt in ("csv", "md", "html"):
        text = render(summary, fmt).decode("utf-8-sig")
        leaked = [s for s in secrets if s in text]
        assert leaked == [], fmt
    with zipfile.ZipFile(io.BytesIO(render(summary, "xlsx"))) as archive:
        xml = "".join(archive.read(name).decode("utf-8") for name in archive.namelist())
    assert [s for s in secrets if s in xml] == []
    assert "Fabrique Lyon" in xml  # the check does read the workbook's text


def test_summary_at_scale_is_counted_in_sql(network, monkeypatch):
    """Guard against a Python loop over learners: the summary reads a fixed number of queries,
    through the ORM or straight on the pool's connections (the indicators read on several)."""
    from sqlalchemy import event

    statements: list[str] = []

    def trace(dbapi_connection, *_args):  # every statement SQLite runs on a checked-out connection
        dbapi_connection.set_trace_callback(statements.append)

    def untrace(dbapi_connection, *_args):
        dbapi_connection.set_trace_callback(None)

    pool = network.store.engine.pool
    event.listen(pool, "checkout", trace)
    event.listen(pool, "checkin", untrace)
    try:
        weekly_summary(network.store, "2026-W48")
    finally:
        event.remove(pool, "checkout", trace)
        event.remove(pool, "checkin", untrace)
    reads = [s for s in statements if s.lstrip().upper().startswith(("SELECT", "WITH"))]
    assert len(reads) >= 5  # the check does see the indicators' statements
    assert len(reads) <= 13  # the indicators' four statements, the activity's, the names
