"""The store's error, and the sentences for the failures a person can meet with the local files (full
disk, read-only or unwritable folder, permission denied, database locked, damaged file), importable
without SQLAlchemy (the command line and the app's first paint must not wait for it)."""

from __future__ import annotations

import errno
import sqlite3
from pathlib import Path

from fabriqueterm.i18n import _

#: SQLite's answers that mean the file itself is damaged (or is not a database at all).
DAMAGE_CODES = frozenset({"SQLITE_CORRUPT", "SQLITE_NOTADB"})
_DAMAGE_WORDS = ("malformed", "not a database", "database corrupt")


class StoreError(Exception):
    """The local database cannot be used as it is; the message says why and what to do."""


def sqlite_error_of(error: BaseException) -> sqlite3.Error | None:
    """The driver's error behind ``error`` (SQLAlchemy wraps it in ``.orig``), if any."""
    for candidate in (error, getattr(error, "orig", None), error.__cause__):
        if isinstance(candidate, sqlite3.Error):
            return candidate
    return None


def _name_of(error: sqlite3.Error) -> str:
    return str(getattr(error, "sqlite_errorname", "") or "")


def _base_name(error: sqlite3.Error) -> str:
    """``SQLITE_IOERR_WRITE`` -> ``SQLITE_IOERR``: the primary code's name."""
    name = _name_of(error)
    parts = name.split("_")
    return "_".join(parts[:2]) if len(parts) > 2 else name


def is_damage(error: BaseException) -> bool:
    """Whether SQLite said the file is damaged or not a database (not full, locked or read-only)."""
    driver = sqlite_error_of(error)
    if driver is None:
        return False
    if _base_name(driver) in DAMAGE_CODES:
        return True
    return not _name_of(driver) and any(word in str(driver).lower() for word in _DAMAGE_WORDS)


def describe_failure(error: BaseException, path: Path | None = None) -> str | None:
    """The sentence for a failure of the local files a person can meet, naming the file and the fix;
    None for an error that is not one of those (a bug: let it show)."""
    if isinstance(error, StoreError):
        return str(error)
    driver = sqlite_error_of(error)
    if driver is not None:
        return _describe_sqlite(driver, path)
    if isinstance(error, OSError):
        return _describe_os(error, path)
    return None


def _folder_of(path: Path | None) -> str:
    return str(path.parent) if path is not None else ""


def _describe_sqlite(error: sqlite3.Error, path: Path | None) -> str:
    base, text = _base_name(error), str(error).lower()
    file = str(path) if path is not None else _("the local database")
    if base == "SQLITE_FULL" or "disk is full" in text:
        return full_disk(path)
    if base == "SQLITE_READONLY" or "readonly" in text:
        return _(
            "{file} cannot be written: the file or its folder is read-only. Make the folder {folder} writable for your user (or set FABRIQUETERM_HOME to a folder you can write to), then try again."
        ).format(file=file, folder=_folder_of(path))
    if base in {"SQLITE_BUSY", "SQLITE_LOCKED"} or "locked" in text:
        return _(
            "{file} is in use by another program (another fabriqueterm window, a sync or a backup) and stayed locked. Close it or wait for it to finish, then try again."
        ).format(file=file)
    if base in {"SQLITE_CANTOPEN", "SQLITE_PERM", "SQLITE_AUTH"} or "unable to open" in text:
        return _(
            "{file} cannot be opened: permission denied or the folder is missing. Check that the folder {folder} exists and belongs to your user, then try again."
        ).format(file=file, folder=_folder_of(path))
    if base in DAMAGE_CODES:
        return _("{file} is not a fabriqueterm database or is damaged ({detail}).").format(
            file=file, detail=error
        )
    if base == "SQLITE_IOERR" or "i/o error" in text:
        return _(
            "{file} could not be read or written ({detail}): the disk may be failing, full or removed. Check the disk, then try again."
        ).format(file=file, detail=error)
    return _("{file} could not be used ({detail}).").format(file=file, detail=error)


def full_disk(path: Path | None) -> str:
    return _(
        "The disk holding {folder} is full: fabriqueterm could not save. Free some space on it, then try again (nothing was half-written: each change is saved whole or not at all)."
    ).format(folder=_folder_of(path) or "?")


def _describe_os(error: OSError, path: Path | None) -> str | None:
    """The sentence for a system error on a file; None for one that names no file (a port in use,
    a network error: not about the local files, so not said as if it were)."""
    if error.errno in {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)}:
        return full_disk(Path(error.filename) if error.filename else path)
    if not error.filename:
        return None
    file = str(error.filename)
    if error.errno == errno.EROFS:
        return _(
            "{file} cannot be written: the disk is read-only. Set FABRIQUETERM_HOME to a folder on a writable disk, then try again."
        ).format(file=file)
    if isinstance(error, PermissionError):
        return _(
            "Permission denied on {file}. Give your user access to it (the folder should be yours, mode 0700), or set FABRIQUETERM_HOME to a folder you own, then try again."
        ).format(file=file)
    return _("{file} cannot be written or read ({detail}).").format(
        file=file, detail=error.strerror or error
    )
