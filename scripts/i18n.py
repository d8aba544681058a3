"""Translation catalogue tooling (gettext domain "fabriqueterm", French reference catalogue).

Usage, from the project root (any order is safe to repeat):

    python scripts/i18n.py extract   # src/fabriqueterm/**.py -> src/fabriqueterm/locale/fabriqueterm.pot
    python scripts/i18n.py update    # merge the .pot into fr/LC_MESSAGES/fabriqueterm.po, keeping translations
    python scripts/i18n.py compile   # fr .po -> fabriqueterm.mo beside it (commit both)
    python scripts/i18n.py check     # exit 1 listing messages missing, fuzzy or with wrong placeholders

Files are written only when their messages change, sorted, without line numbers, so diffs stay small
and running the commands again changes nothing.
"""

from __future__ import annotations

import argparse
import io
import re
import string
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

from babel.messages.catalog import Catalog, Message
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
DOMAIN = "fabriqueterm"
LANGUAGES = ("fr",)
MAPPING_FILE = ROOT / "babel.cfg"
LOCALE_DIR = ROOT / "src" / "fabriqueterm" / "locale"
TEMPLATE = LOCALE_DIR / f"{DOMAIN}.pot"
KEYWORDS = {"_": None, "N_": None, "ngettext": (1, 2)}
COMMENT_TAGS = ("TRANSLATORS:",)
#: Fixed so that the header never changes by itself (no date churn in diffs).
FIXED_DATE = datetime(2026, 1, 1, tzinfo=UTC)
_LINE_WIDTH = 100


def po_path(language: str) -> Path:
    return LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"


def mo_path(language: str) -> Path:
    return LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.mo"


def shown(path: Path) -> str:
    """``path`` relative to the project root when it is inside it (shorter messages)."""
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def extract_template() -> Catalog:
    """Every message marked with ``_``, ``N_`` or ``ngettext`` in the package, as a template."""
    with MAPPING_FILE.open(encoding="utf-8") as handle:
        method_map, options_map = parse_mapping_cfg(handle, str(MAPPING_FILE))
    catalog = Catalog(
        project=DOMAIN,
        version="",
        msgid_bugs_address="",
        copyright_holder="fabriqueterm contributors",
        charset="utf-8",
        creation_date=FIXED_DATE,
        revision_date=FIXED_DATE,
        fuzzy=False,
    )
    for filename, lineno, message, comments, context in extract_from_dir(
        str(ROOT),
        method_map,
        options_map,
        keywords=KEYWORDS,
        comment_tags=COMMENT_TAGS,
        strip_comment_tags=True,
    ):
        catalog.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return catalog


def render_po(catalog: Catalog) -> bytes:
    buffer = io.BytesIO()
    write_po(
        buffer,
        catalog,
        width=_LINE_WIDTH,
        sort_output=True,
        include_lineno=False,
    )
    return buffer.getvalue()


_GENERATED_BY = re.compile(rb'^"Generated-By: [^"]*"\n', re.MULTILINE)


def _write_if_changed(path: Path, content: bytes) -> bool:
    """Write ``content`` unless the file says the same already. A .po or .pot that differs only by
    the Babel version in its header is left alone, so that upgrading Babel rewrites nothing."""
    if path.exists():
        old = path.read_bytes()
        if old == content or _GENERATED_BY.sub(b"", old) == _GENERATED_BY.sub(b"", content):
            return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return True


def read_catalog(path: Path, locale: str | None = None) -> Catalog:
    with path.open("rb") as handle:
        return read_po(handle, locale=locale, domain=DOMAIN)


def load_or_new(language: str) -> Catalog:
    path = po_path(language)
    if path.exists():
        return read_catalog(path, language)
    return Catalog(
        locale=language,
        domain=DOMAIN,
        project=DOMAIN,
        version="",
        copyright_holder="fabriqueterm contributors",
        charset="utf-8",
        creation_date=FIXED_DATE,
        revision_date=FIXED_DATE,
        language_team=f"{language} <{language}@fabriqueterm>",
        last_translator="fabriqueterm contributors",
        fuzzy=False,
    )


def compile_bytes(catalog: Catalog) -> bytes:
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    return buffer.getvalue()


def mo_content(data: bytes) -> tuple[object, ...]:
    """What a compiled catalogue says, whichever Babel wrote it: its language, charset and plural
    rule, and every translation. The bytes also carry the writer's version (``Generated-By``), so
    two .mo files that translate alike may differ byte for byte: compare these instead."""
    catalog = read_mo(io.BytesIO(data))
    messages = {
        (tuple(_ids(message)), message.context): _strings(message)
        for message in catalog
        if message.id
    }
    return (str(catalog.locale), catalog.charset, catalog.plural_forms, messages)


def mo_is_current(path: Path, catalog: Catalog) -> bool:
    """Whether the .mo at ``path`` translates exactly as ``catalog`` compiles."""
    return path.exists() and mo_content(path.read_bytes()) == mo_content(compile_bytes(catalog))


_FIELD = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*")


def placeholders(text: str) -> set[str]:
    """Names of the ``str.format`` fields in ``text`` (``{file}``, ``{count:,}`` → file, count)."""
    names: set[str] = set()
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError:
        return {"<malformed braces>"}
    for _literal, field, _spec, _conversion in parsed:
        if field is None:
            continue
        match = _FIELD.match(field)
        names.add(match.group(0) if match else field)
    return names


def _ids(message: Message) -> tuple[str, ...]:
    return tuple(message.id) if isinstance(message.id, tuple | list) else (message.id,)


def _strings(message: Message) -> tuple[str, ...]:
    if isinstance(message.string, tuple | list):
        return tuple(message.string)
    return (message.string or "",)


def problems(template: Catalog, catalog: Catalog) -> list[str]:
    """What keeps ``catalog`` from translating every message of ``template`` correctly."""
    found: list[str] = []
    for message in template:
        if not message.id:
            continue
        translated = catalog.get(message.id, context=message.context)
        label = " / ".join(_ids(message))
        if translated is None:
            found.append(f"missing: {label!r}")
            continue
        if translated.fuzzy:
            found.append(f"fuzzy: {label!r}")
        strings = _strings(translated)
        if not strings or any(not s for s in strings):
            found.append(f"untranslated: {label!r}")
            continue
        expected = set().union(*(placeholders(i) for i in _ids(message)))
        for text in strings:
            if placeholders(text) != expected:
                found.append(
                    f"placeholders differ: {label!r} has {sorted(expected)}, translation {text!r} has "
                    f"{sorted(placeholders(text))}"
                )
    return found


# --- commands --------------------------------------------------------------------------------


def cmd_extract() -> int:
    template = extract_template()
    changed = _write_if_changed(TEMPLATE, render_po(template))
    count = sum(1 for m in template if m.id)
    print(f"{shown(TEMPLATE)}: {count} messages{' (updated)' if changed else ' (unchanged)'}")
    return 0


def merge(catalog: Catalog, template: Catalog) -> None:
    """Bring ``catalog`` in line with ``template``, keeping every translation it can.

    Messages gone from the code stay at the end of the .po as obsolete (``#~``) entries, and come
    back translated when the code uses them again. A changed message gets the old translation of
    its closest match as a fuzzy suggestion, which ``check`` reports until someone reviews it.
    """
    shelved = {key: message for key, message in catalog.obsolete.items() if message.string}
    catalog.update(template, no_fuzzy_matching=False, update_creation_date=False)
    for message in catalog:
        if not message.id:
            continue
        key = catalog._key_for(message.id, message.context)
        old = shelved.get(key)
        if old is not None and (not message.string or message.fuzzy):
            message.string = old.string
            message.flags.discard("fuzzy")
            message.previous_id = []
        catalog.obsolete.pop(key, None)
    for key in [k for k, m in catalog.obsolete.items() if not m.string]:
        del catalog.obsolete[key]
    catalog.fuzzy = False


def cmd_update(languages: Iterable[str] = LANGUAGES) -> int:
    if not TEMPLATE.exists():
        print(
            f"{shown(TEMPLATE)} is missing: run `python scripts/i18n.py extract` first",
            file=sys.stderr,
        )
        return 1
    template = read_catalog(TEMPLATE)
    for language in languages:
        catalog = load_or_new(language)
        merge(catalog, template)
        path = po_path(language)
        changed = _write_if_changed(path, render_po(catalog))
        todo = problems(template, catalog)
        print(
            f"{shown(path)}: {'updated' if changed else 'unchanged'}, "
            f"{len(todo)} message(s) to translate or review"
        )
    return 0


def cmd_compile(languages: Iterable[str] = LANGUAGES) -> int:
    for language in languages:
        catalog = read_catalog(po_path(language), language)
        path = mo_path(language)
        changed = not mo_is_current(path, catalog)
        if changed:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(compile_bytes(catalog))
        print(f"{shown(path)}: {'compiled' if changed else 'unchanged'}")
    return 0


def cmd_check(languages: Iterable[str] = LANGUAGES) -> int:
    template = extract_template()
    status = 0
    for language in languages:
        path = po_path(language)
        if not path.exists():
            print(f"{shown(path)} is missing", file=sys.stderr)
            status = 1
            continue
        catalog = read_catalog(path, language)
        todo = problems(template, catalog)
        mo = mo_path(language)
        if not mo_is_current(mo, catalog):
            todo.append(f"{shown(mo)} is not up to date: run `python scripts/i18n.py compile`")
        for line in todo:
            print(f"{shown(path)}: {line}")
        if todo:
            status = 1
        else:
            print(f"{shown(path)}: complete ({sum(1 for m in template if m.id)} messages)")
    return status


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("command", choices=("extract", "update", "compile", "check"))
    args = parser.parse_args(argv)
    handler = {
        "extract": cmd_extract,
        "update": cmd_update,
        "compile": cmd_compile,
        "check": cmd_check,
    }
    return handler[args.command]()


if __name__ == "__main__":
    sys.exit(main())
