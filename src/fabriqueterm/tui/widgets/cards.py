"""Text blocks: a learner's contact card and history (placements, follow-ups), and the first-run
cards saying which command connects this computer to a commons or opens the demo.

Light to import (the dashboard, shown first, uses the first-run cards): the models and the store
are named for type checking only."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from rich.table import Table
from rich.text import Text

from fabriqueterm.domain.enums import (
    Channel,
    Closing,
    Gender,
    LearnerStatus,
    Milestone,
    Outcome,
    PlacementKind,
    QualificationLevel,
    Situation,
)
from fabriqueterm.i18n import _
from fabriqueterm.tui.format import format_date, format_phone, yes_no

if TYPE_CHECKING:
    from fabriqueterm.domain.models import FollowUp, FollowUpAttempt, Placement
    from fabriqueterm.store.repositories import LearnerProfile

#: The address shown in the login command when no commons server is set yet.
EXAMPLE_SERVER = "https://commons.example.org"
COMMAND_STYLE = "bold"


def login_command(server_url: str = "") -> str:
    """The command that connects this computer to the commons at ``server_url``."""
    return f"fabriqueterm login {server_url or EXAMPLE_SERVER}"


def _command(text: Text, command: str) -> None:
    """A command on its own line, indented, ready to be typed (never translated)."""
    text.append("\n    ")
    text.append(command, style=COMMAND_STYLE)
    text.append("\n")


def welcome_card(server_url: str = "") -> Text:
    """What the app says on a computer with no data and no sync: how to log in to the commons
    (``server_url`` when set, else an example address), how to try the demo, or how to start alone."""
    text = Text()
    if server_url:
        text.append(
            _("This computer holds no data yet and is not logged in to the commons {url}.").format(
                url=server_url
            )
        )
    else:
        text.append(_("This computer holds no data yet and is not connected to a commons server."))
    text.append("\n\n")
    text.append(
        _(
            "To work with your network's commons: quit the app (ctrl+q) and log in with the "
            "address and the token your commons administrator gave you:"
        )
    )
    _command(text, login_command(server_url))
    text.append(
        _(
            "then run fabriqueterm again: the first sync brings the sites you work on, with their "
            "cohorts and learners."
        )
    )
    text.append("\n\n")
    text.append(_("To try the app on made-up data first, quit and run:"))
    _command(text, "fabriqueterm demo")
    text.append(_("The demo keeps its data apart from yours."))
    text.append("\n\n")
    text.append(
        _(
            "To work on this computer only, without a commons: create your first site in Sites "
            "(key 6)."
        )
    )
    return text


def login_card(server_url: str, config_file: str) -> Text:
    """What the sync screen says while nothing can be sent: no commons server set (``server_url``
    empty, kept in ``config_file``) or no token yet. The exact command to run, not only a file."""
    text = Text()
    if server_url:
        text.append(
            _(
                "Not logged in to the commons {url}: your changes wait on this computer and "
                "nothing is lost. To send them, quit the app (ctrl+q) and run (it asks for the "
                "token your commons administrator gave you):"
            ).format(url=server_url)
        )
    else:
        text.append(
            _(
                "No commons server is set: everything you enter stays on this computer and "
                "waits in the list below, ready to be sent. To sync with your network's commons, "
                "quit the app (ctrl+q) and run, with the address your commons administrator gave "
                "you (it asks for your token):"
            )
        )
    _command(text, login_command(server_url))
    text.append(
        _("then open the app again (fabriqueterm). The address is kept in {file}.").format(
            file=config_file
        )
    )
    return text


def labels_width(enum: Any, *others: str) -> int:
    """The width of the longest label of ``enum`` in the UI language (and of ``others``, a
    column's header): a column this wide shows every label whole."""
    return max(len(text) for text in (*(member.label for member in enum), *others))


def label_of(enum: type, value: str | None) -> str:
    if not value:
        return "—"
    try:
        return enum(value).label
    except ValueError:
        return value


def placement_line(placement: Placement, partner_names: dict[str, str]) -> str:
    parts = [format_date(placement.start_date), label_of(PlacementKind, placement.kind)]
    if placement.job_title:
        parts.append(placement.job_title)
    if placement.partner_id:
        parts.append(partner_names.get(placement.partner_id, "?"))
    return " · ".join(parts)


def is_overdue(follow_up: FollowUp, today: date) -> bool:
    """Not done and due more than 7 days ago (docs/domain.md: overdue)."""
    return follow_up.done_date is None and follow_up.due_date < today - timedelta(days=7)


def follow_up_state(
    follow_up: FollowUp, attempts: Sequence[FollowUpAttempt] = (), *, short: bool = False
) -> str:
    """A follow-up's state in words: open, to call back on a date (its latest attempt's
    call-back), or how it closed (reached, declined, unreachable). ``short`` for a table cell."""
    if follow_up.done_date is not None:
        return label_of(Closing, follow_up.outcome)
    latest = _latest(attempts)
    if latest is not None and latest.callback_date is not None:
        if short:
            return _("call back {date}").format(date=f"{latest.callback_date:%d/%m}")
        return _("to call back on {date}").format(date=format_date(latest.callback_date))
    return _("open")


def _latest(attempts: Sequence[FollowUpAttempt]) -> FollowUpAttempt | None:
    ordered = sorted(attempts, key=lambda a: (a.attempted_on, a.created_at, a.id))
    return ordered[-1] if ordered else None


def attempt_line(attempt: FollowUpAttempt) -> str:
    """One attempt: "23/11/2026 · phone · no answer · call back 25/11/2026 · their notes"."""
    parts = [
        format_date(attempt.attempted_on),
        label_of(Channel, attempt.channel),
        label_of(Outcome, attempt.outcome),
    ]
    if attempt.situation:
        parts.append(label_of(Situation, attempt.situation))
    if attempt.callback_date is not None:
        parts.append(_("call back {date}").format(date=format_date(attempt.callback_date)))
    if attempt.notes:
        parts.append(attempt.notes)
    return " · ".join(parts)


def follow_up_line(
    follow_up: FollowUp, today: date, attempts: Sequence[FollowUpAttempt] = ()
) -> Text:
    """A follow-up: milestone, due date, state in words, then each attempt on its own line."""
    line = Text()
    line.append(label_of(Milestone, follow_up.milestone), style="bold")
    if follow_up.done_date is None:
        line.append("  " + _("due {date}").format(date=format_date(follow_up.due_date)))
        if is_overdue(follow_up, today):
            line.append("  " + _("overdue"), style="bold red")
        line.append(" · " + follow_up_state(follow_up, attempts))
    else:
        line.append(
            "  "
            + _("done {date}").format(date=format_date(follow_up.done_date))
            + f" · {follow_up_state(follow_up, attempts)}"
        )
    if follow_up.notes:
        line.append("\n    " + follow_up.notes, style="italic")
    for attempt in sorted(attempts, key=lambda a: (a.attempted_on, a.created_at, a.id)):
        line.append("\n    ↳ " + attempt_line(attempt), style="dim")
    return line


def contact_card(profile: LearnerProfile) -> Text:
    learner = profile.learner
    text = Text()
    text.append(f"{learner.first_name} {learner.last_name}\n", style="bold")
    text.append("☎ " + format_phone(learner.phone) + "\n", style="bold")
    text.append("✉ " + (learner.email or "—") + "\n")
    text.append(f"{profile.cohort_name} · {profile.site_name}\n", style="dim")
    text.append(label_of(LearnerStatus, learner.status) + "\n")
    return text


def profile_card(profile: LearnerProfile) -> Table:
    """The learner's profile as two columns of label and value."""
    learner = profile.learner
    rows = [
        (_("Phone"), format_phone(learner.phone)),
        (_("Email"), learner.email or "—"),
        (_("Cohort"), profile.cohort_name),
        (_("Site"), profile.site_name),
        (_("Status"), label_of(LearnerStatus, learner.status)),
        (_("Prescriber"), profile.prescriber_name or "—"),
        (_("Gender"), label_of(Gender, learner.gender)),
        (_("Birth year"), str(learner.birth_year or "—")),
        (_("Qualification"), label_of(QualificationLevel, learner.qualification)),
        (_("QPV"), yes_no(learner.qpv)),
        (_("Job seeker"), yes_no(learner.job_seeker)),
        (_("Refugee"), yes_no(learner.refugee)),
    ]
    if learner.status == LearnerStatus.DROPPED_OUT.value:
        rows.append(
            (
                _("Dropped out"),
                f"{format_date(learner.dropout_date)} {learner.dropout_reason}".strip(),
            )
        )
    table = Table.grid(padding=(0, 2, 0, 0), expand=True)
    table.add_column(style="dim", no_wrap=True)
    table.add_column(ratio=3)
    table.add_column(style="dim", no_wrap=True)
    table.add_column(ratio=2)
    half = (len(rows) + 1) // 2
    for index in range(half):
        left = rows[index]
        right = rows[index + half] if index + half < len(rows) else ("", "")
        table.add_row(left[0], left[1], right[0], right[1])
    return table


def history(profile: LearnerProfile, today: date, attempts: Sequence[FollowUpAttempt] = ()) -> Text:
    """The learner's placements, and their follow-ups each with its ``attempts``."""
    text = Text()
    text.append(_("Placements") + "\n", style="bold underline")
    if profile.placements:
        for placement in reversed(profile.placements):
            text.append("• " + placement_line(placement, profile.partner_names) + "\n")
    else:
        text.append(_("none known yet") + "\n", style="dim")
    text.append("\n" + _("Follow-ups") + "\n", style="bold underline")
    if profile.follow_ups:
        for follow_up in profile.follow_ups:
            text.append("• ")
            mine = [a for a in attempts if a.follow_up_id == follow_up.id]
            text.append_text(follow_up_line(follow_up, today, mine))
            text.append("\n")
    else:
        text.append(_("none") + "\n", style="dim")
    text.rstrip()
    return text
