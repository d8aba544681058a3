"""Translation of user-visible text (gettext). French is the default language and the reference catalogue.

Messages are written in English in the code and marked with ``_()``; ``fr`` translates them all.
The language can change while the app runs, so ``_`` looks up the current catalogue on every call.
"""

from __future__ import annotations

import gettext as _gettext

from fabriqueterm.resources import locale_dir

DOMAIN = "fabriqueterm"
LANGUAGES = ("fr", "en")
DEFAULT_LANGUAGE = "fr"

_current: _gettext.NullTranslations | None = None
_current_language = DEFAULT_LANGUAGE
_cache: dict[str, _gettext.NullTranslations] = {}


def _translations(language: str) -> _gettext.NullTranslations:
    if language not in _cache:
        _cache[language] = _gettext.translation(
            DOMAIN, localedir=locale_dir(), languages=[language], fallback=True
        )
    return _cache[language]


def set_language(language: str) -> None:
    """Switch every later ``_()`` call to ``language`` (``fr`` or ``en``)."""
    global _current, _current_language
    if language not in LANGUAGES:
        raise ValueError(
            f"unsupported language {language!r}; expected one of {', '.join(LANGUAGES)}"
        )
    _current_language = language
    _current = _translations(language)


def current_language() -> str:
    return _current_language


def _(message: str) -> str:
    """Translate ``message`` into the current language."""
    global _current
    if _current is None:
        _current = _translations(_current_language)
    return _current.gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    global _current
    if _current is None:
        _current = _translations(_current_language)
    return _current.ngettext(singular, plural, n)


def N_(message: str) -> str:
    """Mark ``message`` for extraction without translating it yet (translated where it is shown)."""
    return message
