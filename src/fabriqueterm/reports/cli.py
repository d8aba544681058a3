"""``fabriqueterm export``, ``fabriqueterm import learners`` and ``fabriqueterm learner export|erase``.

Only argparse at import: the store, the exporters and XlsxWriter load inside the handlers. Every
handler opens the user's store (or the demo's with ``--demo``), prints what it did, and on bad input
prints why and what to type instead, and returns 2 (never a traceback).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fabriqueterm.i18n import _, ngettext

if TYPE_CHECKING:
    from fabriqueterm.store.db import Store

_FORMATS = ("csv", "md", "xlsx", "html")


class CommandError(Exception):
    """Bad input or missing data: the message is shown as it is and the command exits with 2."""


def _guarded(handler: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """Turn the errors people can fix into a message on stderr and exit status 2."""

    def run(args: argparse.Namespace) -> int:
        from fabriqueterm.reports.importer import ImportFileError, visible_lines
        from fabriqueterm.reports.personal_data import LearnerNotFound
        from fabriqueterm.reports.summary import SummaryError
        from fabriqueterm.store.db import StoreError

        try:
            return handler(args)
        except (CommandError, SummaryError, ImportFileError, StoreError) as error:
            # A message may quote the person's file or typed text: never a control character raw.
            print(visible_lines(error), file=sys.stderr)
            if getattr(error, "about_columns", False):
                print(
                    _('On the command line: --map "Column=field", once per column.'),
                    file=sys.stderr,
                )
        except LearnerNotFound as error:
            print(_("No learner “{value}”.").format(value=error.args[0]), file=sys.stderr)
        except OSError as error:
            print(
                _("{file} cannot be written or read ({detail}).").format(
                    file=error.filename or "", detail=error.strerror or error
                ),
                file=sys.stderr,
            )
        return 2

    return run


def _open_store(args: argparse.Namespace) -> Store:
    from fabriqueterm.config import Paths, demo_home
    from fabriqueterm.domain.dates import Clock
    from fabriqueterm.store.db import Store

    paths = Paths.under(demo_home()) if getattr(args, "demo", False) else Paths.default()
    if not paths.database.exists():
        hint = (
            _("Build it with “fabriqueterm demo --build”.")
            if args.demo
            else _("Open the app once, or use --demo.")
        )
        raise CommandError(
            _("No data yet: {file} does not exist.").format(file=paths.database) + " " + hint
        )
    today = getattr(args, "today", None)
    return Store.open(paths.database, clock=Clock(today) if today else None)


def _write_file(path: Path, data: bytes, *, private: bool = False) -> None:
    """Write ``data`` to ``path``; ``private`` files (personal data) are readable by their owner only."""
    path = path.expanduser()
    if private:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
        os.chmod(path, 0o600)
    else:
        path.write_bytes(data)


def _to_stdout(data: bytes) -> None:
    sys.stdout.flush()
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()


# --- export -----------------------------------------------------------------------------------


def cmd_export(args: argparse.Namespace) -> int:
    """The weekly summary in one format, to a file or to standard output."""
    from fabriqueterm.reports.exporters import TEXT_FORMATS, default_filename, render
    from fabriqueterm.reports.summary import resolve_sites, weekly_summary

    with _open_store(args) as store:
        site_ids = resolve_sites(store, args.site) if args.site else None
        summary = weekly_summary(store, args.week, site_ids=site_ids)
        data = render(summary, args.format)
    to_stdout = args.output == "-" or (args.output is None and args.format in TEXT_FORMATS)
    if to_stdout:
        if args.format not in TEXT_FORMATS:
            raise CommandError(
                _("{format} is not text: give a file name with --output.").format(
                    format=args.format.upper()
                )
            )
        _to_stdout(data)
        return 0
    path = Path(args.output or default_filename(summary, args.format))
    _write_file(path, data)
    print(_("Weekly summary {week} written to {file}.").format(week=summary.week, file=path))
    return 0


# --- import -----------------------------------------------------------------------------------


def _delimiter(text: str) -> str:
    named = {"tab": "\t", "\\t": "\t", "semicolon": ";", "comma": ","}
    value = named.get(text.casefold(), text)
    if len(value) != 1:
        raise argparse.ArgumentTypeError(
            _("“{value}” is not one character; expected ; or , or tab").format(value=text)
        )
    return value


def cmd_import_learners(args: argparse.Namespace) -> int:
    """Read a CSV file, report bad rows and duplicates, write the rows (all or nothing by default)."""
    from fabriqueterm.reports.importer import (
        ENCODING_NAMES,
        apply_import,
        parse_mapping,
        prepare_import,
        target_label,
        visible,
    )

    mapping = parse_mapping(args.map or [])
    with _open_store(args) as store:
        plan = prepare_import(
            store,
            args.file,
            args.cohort,
            encoding=args.encoding,
            delimiter=args.delimiter,
            mapping=mapping,
        )
        shown_delimiter = {"\t": "tab"}.get(plan.delimiter, plan.delimiter)
        print(
            ngettext(
                "{file}: {rows} row, {encoding}, cells separated by “{delimiter}”.",
                "{file}: {rows} rows, {encoding}, cells separated by “{delimiter}”.",
                plan.total_rows,
            ).format(
                file=visible(plan.path),
                rows=plan.total_rows,
                encoding=ENCODING_NAMES.get(plan.encoding, plan.encoding),
                delimiter=shown_delimiter,
            )
        )
        columns = ", ".join(
            f"{visible(column)} → {target_label(target)}" for column, target in plan.columns.items()
        )
        print(_("Columns read: {columns}.").format(columns=columns))
        if plan.ignored_columns:
            ignored = ", ".join(visible(column) for column in plan.ignored_columns)
            print(_("Columns ignored: {columns}.").format(columns=ignored))
        if plan.errors:
            print(_("Bad rows ({count}):").format(count=len(plan.errors)))
            for error in plan.errors:
                print(f"  {visible(error)}")
        if plan.duplicates:
            print(_("Duplicates, not imported ({count}):").format(count=len(plan.duplicates)))
            for duplicate in plan.duplicates:
                print(f"  {visible(duplicate)}")
        if not plan.ok and not args.valid_only:
            print(
                ngettext(
                    "Nothing imported: {count} bad row. Fix it in the file, or import only the valid rows with --valid-only.",
                    "Nothing imported: {count} bad rows. Fix them in the file, or import only the valid rows with --valid-only.",
                    len(plan.errors),
                ).format(count=len(plan.errors)),
                file=sys.stderr,
            )
            return 2
        warning = plan.capacity_warning()
        if warning:
            print(_("Warning: {warning}").format(warning=warning), file=sys.stderr)
        result = apply_import(store, plan, valid_only=args.valid_only)
    print(
        ngettext(
            "{count} learner imported into the cohort “{cohort}”.",
            "{count} learners imported into the cohort “{cohort}”.",
            len(result.created_ids),
        ).format(count=len(result.created_ids), cohort=plan.cohort.name)
    )
    return 0


# --- learner ----------------------------------------------------------------------------------


def cmd_learner_export(args: argparse.Namespace) -> int:
    """Everything held about one learner, as JSON."""
    from fabriqueterm.reports.personal_data import personal_data_json

    with _open_store(args) as store:
        data = personal_data_json(store, args.id).encode("utf-8")
    if args.output in (None, "-"):
        _to_stdout(data)
        return 0
    path = Path(args.output)
    _write_file(path, data, private=True)
    print(
        _("Personal data of learner {id} written to {file} (readable by you only).").format(
            id=args.id, file=path
        )
    )
    return 0


_YES = ("yes", "y", "oui", "o")


def cmd_learner_erase(args: argparse.Namespace) -> int:
    """Erase one learner after confirmation (``--yes`` skips it)."""
    from fabriqueterm.reports.personal_data import erase_learner, erase_preview

    with _open_store(args) as store:
        preview = erase_preview(store, args.id)
        if preview.already_erased:
            print(_("Learner {id} is already erased.").format(id=preview.learner_id))
            return 0
        placements = ngettext("{count} placement", "{count} placements", preview.placements)
        follow_ups = ngettext("{count} follow-up", "{count} follow-ups", preview.follow_ups)
        print(
            _(
                "Erase {name} ({cohort}, {site})? Their name, email, phone, birth year and dropout reason are wiped, and the notes of their {placements} and {follow_ups}; the erasure reaches the commons at the next sync. This cannot be undone."
            ).format(
                name=preview.name or preview.learner_id,
                cohort=preview.cohort_name,
                site=preview.site_name,
                placements=placements.format(count=preview.placements),
                follow_ups=follow_ups.format(count=preview.follow_ups),
            )
        )
        if not args.yes:
            try:
                answer = input(_("Type “yes” to erase: "))
            except EOFError:
                answer = ""
            if answer.strip().casefold() not in _YES:
                print(_("Nothing erased."))
                return 1
        erase_learner(store, preview.learner_id)
    print(_("Learner {id} erased.").format(id=preview.learner_id))
    return 0


# --- registration -------------------------------------------------------------------------------


def _help_of(parser: argparse.ArgumentParser) -> Callable[[argparse.Namespace], int]:
    def show(_args: argparse.Namespace) -> int:
        parser.print_help()
        return 2

    return show


def _add_demo(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--demo", action="store_true", help=_("use the demo data instead of your own")
    )


def add_report_commands(commands: Any) -> None:
    """Register ``export``, ``import`` and ``learner`` on the main parser's subparsers."""
    export = commands.add_parser(
        "export",
        help=_("export the weekly summary (csv, md, xlsx, html)"),
        description=_(
            "The weekly summary of every site (or of --site …) for an ISO week. CSV is made for a French "
            "spreadsheet: “;” between cells, UTF-8 with a byte-order mark, decimal comma."
        ),
    )
    export.add_argument(
        "--week", default=None, help=_("ISO week, e.g. 2026-W48 (default: the current week)")
    )
    export.add_argument(
        "--format", choices=_FORMATS, default="md", help=_("file format (default: md)")
    )
    export.add_argument(
        "--site",
        action="append",
        metavar="SITE",
        help=_("a site's id or name; repeat for several (default: all)"),
    )
    export.add_argument(
        "--output",
        metavar="FILE",
        help=_(
            "file to write (“-”: standard output); default: standard output for csv and md, synthese-<week>.<format> otherwise"
        ),
    )
    _add_demo(export)
    export.set_defaults(handler=_guarded(cmd_export))

    importing = commands.add_parser("import", help=_("import data from a file"))
    what = importing.add_subparsers(title=_("what to import"), metavar="WHAT")
    importing.set_defaults(handler=_help_of(importing))
    learners = what.add_parser(
        "learners",
        help=_("import learners into a cohort from a CSV file"),
        description=_(
            "Reads “;” or “,” separated files in UTF-8 or Windows-1252 with French or English column names. "
            "By default nothing is written if any row is bad."
        ),
    )
    learners.add_argument("file", type=Path, metavar="FILE", help=_("the CSV file"))
    learners.add_argument(
        "--cohort",
        required=True,
        metavar="COHORT",
        help=_("id or exact name of the cohort the learners join"),
    )
    learners.add_argument(
        "--valid-only", action="store_true", help=_("import the valid rows even if some are bad")
    )
    learners.add_argument(
        "--delimiter", type=_delimiter, default=None, help=_("cell separator (default: detected)")
    )
    learners.add_argument(
        "--encoding",
        default=None,
        help=_("text encoding, e.g. utf-8 or cp1252 (default: detected)"),
    )
    learners.add_argument(
        "--map",
        action="append",
        metavar="COLUMN=FIELD",
        help=_(
            'read a column as a field named in words or by its code, e.g. "Usual name=last name"; "Column=" ignores it; repeatable'
        ),
    )
    _add_demo(learners)
    learners.set_defaults(handler=_guarded(cmd_import_learners))

    learner = commands.add_parser("learner", help=_("a learner's personal data: export or erase"))
    actions = learner.add_subparsers(title=_("actions"), metavar="ACTION")
    learner.set_defaults(handler=_help_of(learner))
    export_one = actions.add_parser("export", help=_("everything held about one learner, as JSON"))
    export_one.add_argument("id", metavar="ID", help=_("the learner's id"))
    export_one.add_argument(
        "--output", metavar="FILE", help=_("file to write (default: standard output)")
    )
    _add_demo(export_one)
    export_one.set_defaults(handler=_guarded(cmd_learner_export))
    erase = actions.add_parser("erase", help=_("erase a learner (right to be forgotten)"))
    erase.add_argument("id", metavar="ID", help=_("the learner's id"))
    erase.add_argument("--yes", action="store_true", help=_("do not ask for confirmation"))
    _add_demo(erase)
    erase.set_defaults(handler=_guarded(cmd_learner_erase))
