"""Files the app reads at run time, found both from a source checkout and from an installed wheel."""

from __future__ import annotations

from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent


def data_path(name: str) -> Path:
    """Path of a shipped top-level folder (``styles`` or ``fixtures``).

    A wheel carries them under ``fabriqueterm/_data/``; a source checkout (editable install, tests)
    has them at the project root.
    """
    installed = _PACKAGE_DIR / "_data" / name
    if installed.is_dir():
        return installed
    checkout = _PACKAGE_DIR.parent.parent / name
    if checkout.is_dir():
        return checkout
    raise FileNotFoundError(f"fabriqueterm data folder {name!r} is missing from this installation")


def locale_dir() -> Path:
    """Folder of the gettext catalogues (``<lang>/LC_MESSAGES/fabriqueterm.mo``)."""
    return _PACKAGE_DIR / "locale"
