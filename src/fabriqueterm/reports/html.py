"""The weekly summary as one self-contained, printable HTML file: the figures of each section and
two inline SVG charts (exit rates per cohort, placements logged this week by kind). No script, no
external file: it can be mailed, opened offline and printed on A4."""

from __future__ import annotations

from html import escape

from fabriqueterm.domain.enums import PlacementKind
from fabriqueterm.domain.indicators import Rate
from fabriqueterm.i18n import _, current_language
from fabriqueterm.reports.formatting import format_count, format_figure, percent_value
from fabriqueterm.reports.summary import (
    CohortExits,
    SectionSummary,
    WeeklySummary,
    format_day,
    group_title,
    period_text,
)

#: Exit milestones drawn per cohort (months after the cohort's end) and their bar colours.
_EXIT_BARS = ((0, "#1f4e79"), (3, "#2e75b6"), (6, "#9dc3e6"))
_BAR_COLOUR = "#2e75b6"

_STYLE = """
:root { color-scheme: light; }
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1b1b1b;
       max-width: 60rem; margin: 1.5rem auto; padding: 0 1rem; line-height: 1.35; }
h1 { font-size: 1.5rem; margin-bottom: .25rem; }
h2 { font-size: 1.15rem; border-bottom: 2px solid #1f4e79; padding-bottom: .15rem; margin-top: 0; }
p.meta { margin: .1rem 0; color: #444; }
p.note { font-size: .85rem; color: #666; }
.charts figure { margin: 1rem 0; break-inside: avoid; }
figcaption { font-weight: 600; margin-bottom: .35rem; }
.sections { display: grid; grid-template-columns: repeat(auto-fill, minmax(26rem, 1fr)); gap: 1.25rem; }
section.site { break-inside: avoid; }
table { border-collapse: collapse; width: 100%; font-size: .88rem; }
th, td { padding: .18rem .4rem; border-bottom: 1px solid #e3e3e3; }
th { text-align: left; font-weight: normal; }
td { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
tr.group th { font-weight: 600; background: #f2f4f7; }
svg text { font-family: inherit; font-size: 11px; fill: #1b1b1b; }
footer { margin-top: 2rem; font-size: .8rem; color: #777; }
@page { size: A4; margin: 14mm; }
@media print { body { margin: 0; max-width: none; } .sections { display: block; }
  section.site { margin-bottom: 1rem; } a { color: inherit; } }
"""


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _percent_text(rate: Rate) -> str:
    return rate.format()


def _paragraph(text: str) -> str:
    return f"<p>{escape(text)}</p>"


def _svg_start(width: int, height: int, label: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="system-ui, sans-serif" role="img" '
        f'aria-label="{escape(label)}">'
    )


def exit_rate_chart(cohorts: list[CohortExits]) -> str:
    """Horizontal bars: each cohort's positive exit rate at the end, +3 and +6 months."""
    if not cohorts:
        return _paragraph(_("No cohort has ended with completers yet."))
    label_width, bar_width, bar_height, gap, top = 250, 330, 13, 12, 46
    block = bar_height * len(_EXIT_BARS) + gap
    width = label_width + bar_width + 70
    height = top + block * len(cohorts) + 16
    parts = [_svg_start(width, height, _("Exit rates per cohort"))]
    not_available = escape(_("n/a"))
    # Legend, then a light grid every 25 %.
    x = label_width
    for months, colour in _EXIT_BARS:
        name = _("end of training") if months == 0 else _("+{n} months").format(n=months)
        parts.append(f'<rect x="{x}" y="4" width="10" height="10" fill="{colour}"/>')
        parts.append(f'<text x="{x + 14}" y="13">{escape(name)}</text>')
        x += 24 + 7 * len(name)
    for step in range(5):
        gx = label_width + bar_width * step / 4
        parts.append(
            f'<line x1="{gx:.1f}" y1="{top - 6}" x2="{gx:.1f}" y2="{height - 14}" stroke="#e0e0e0"/>'
            f'<text x="{gx:.1f}" y="{top - 10}" text-anchor="middle" fill="#777">{step * 25}%</text>'
        )
    for index, item in enumerate(cohorts):
        y = top + index * block
        label = f"{item.cohort.name} — {item.site_name}" if item.site_name else item.cohort.name
        parts.append(
            f'<text x="{label_width - 8}" y="{y + bar_height * 1.5 + 4}" text-anchor="end">'
            f"<title>{escape(label)} ({escape(format_day(item.cohort.end_date))})</title>"
            f"{escape(_shorten(label, 40))}</text>"
        )
        for row, (months, colour) in enumerate(_EXIT_BARS):
            rate = item.indicators.positive_exit_rate(months)
            by = y + row * bar_height
            if rate.value is None:
                parts.append(
                    f'<text x="{label_width + 4}" y="{by + 10}" fill="#777">{not_available}</text>'
                )
                continue
            length = bar_width * rate.value
            parts.append(
                f'<rect x="{label_width}" y="{by}" width="{length:.1f}" height="{bar_height - 2}" fill="{colour}">'
                f"<title>{escape(_percent_text(rate))} ({rate.numerator}/{rate.denominator})</title></rect>"
                f'<text x="{label_width + length + 4:.1f}" y="{by + 10}">{escape(_percent_text(rate))}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)


def placements_chart(section: SectionSummary) -> str:
    """Horizontal bars: placements logged this week by kind."""
    counts = [(kind, section.placements(kind)) for kind in PlacementKind]
    if not any(count for _kind, count in counts):
        return _paragraph(_("No placement logged this week."))
    label_width, bar_width, bar_height, top = 270, 300, 18, 6
    width, height = label_width + bar_width + 60, top + bar_height * len(counts) + 6
    largest = max(count for _kind, count in counts)
    parts = [_svg_start(width, height, _("Placements logged this week by kind"))]
    for index, (kind, count) in enumerate(counts):
        y = top + index * bar_height
        length = bar_width * count / largest
        parts.append(
            f'<text x="{label_width - 8}" y="{y + 12}" text-anchor="end">{escape(_shorten(kind.label, 44))}</text>'
            f'<rect x="{label_width}" y="{y + 2}" width="{length:.1f}" height="{bar_height - 5}" fill="{_BAR_COLOUR}"/>'
            f'<text x="{label_width + length + 4:.1f}" y="{y + 12}">{escape(format_count(count))}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _section_table(section: SectionSummary) -> str:
    rows, current = [], None
    for figure in section.figures():
        if figure.group != current:
            current = figure.group
            rows.append(
                f'<tr class="group"><th colspan="2">{escape(group_title(current))}</th></tr>'
            )
        percent = percent_value(figure.value) if isinstance(figure.value, Rate) else None
        data = f' data-percent="{percent}"' if percent is not None else ""
        rows.append(
            f'<tr data-key="{figure.key}"{data}><th>{escape(figure.label)}</th>'
            f"<td>{escape(format_figure(figure))}</td></tr>"
        )
    site = escape(section.site_id or "total")
    return (
        f'<section class="site" data-site="{site}"><h2>{escape(section.name)}</h2>'
        f"<table>{''.join(rows)}</table></section>"
    )


def to_html(summary: WeeklySummary) -> str:
    """The whole summary as one printable HTML page with inline SVG charts."""
    sites = ", ".join(s.name for s in summary.sites) or _("none")
    sites_line = (
        _("Sites: {sites}.") if summary.all_sites else _("Selected sites: {sites}.")
    ).format(sites=sites)
    generated = summary.generated_at.strftime("%Y-%m-%d %H:%M UTC")
    # Each text is translated apart from the markup: the extractor does not look inside f-strings.
    note = _("Aggregated figures only: no names, no contact details.")
    exits_title = _("Positive exit rate per cohort (most recently ended)")
    placements_title = _("Placements logged this week by kind")
    made_by = _("Made by fabriqueterm on {when}.").format(when=generated)
    body = [
        "<header>",
        f"<h1>{escape(summary.title)}</h1>",
        f'<p class="meta">{escape(period_text(summary))}</p>',
        f'<p class="meta">{escape(sites_line)}</p>',
        f'<p class="note">{escape(note)}</p>',
        "</header>",
        '<section class="charts">',
        f"<figure><figcaption>{escape(exits_title)}</figcaption>"
        f"{exit_rate_chart(summary.cohorts)}</figure>",
        f"<figure><figcaption>{escape(placements_title)}</figcaption>"
        f"{placements_chart(summary.total)}</figure>",
        "</section>",
        '<div class="sections">',
        *(_section_table(section) for section in summary.sections),
        "</div>",
        f"<footer>{escape(made_by)}</footer>",
    ]
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="{current_language()}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(summary.title)}</title><style>{_STYLE}</style></head>\n<body>\n"
        + "\n".join(body)
        + "\n</body></html>\n"
    )
