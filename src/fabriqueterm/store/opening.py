"""Opening the local file safely (docs/architecture.md, "The local file"): one process at a time
creates or migrates it (a lock file beside it), and a file that is empty or damaged is never
silently replaced: it is told apart from a missing one, moved aside under a dated name (0600) and
the person is told where it went and what to do.

Only the standard library: the command line imports this before SQLAlchemy.
"""

from __future__ import annotations

import contextlib
import os
import struct
import time
from collections.abc import Iterator
from datetime import datetime
from enum import Enum
from pathlib import Path

from fabriqueterm.i18n import _
from fabriqueterm.store.errors import StoreError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no lock, as before
    fcntl = None  # type: ignore[assignment]

MAGIC = b"SQLite format 3\x00"
#: How long a second process waits for the first to finish creating or migrating the file.
LOCK_WAIT_SECONDS = 300.0
#: What a person is told, once, when a file was moved aside but the command could go on (an empty
#: file): the command line prints these on stderr, the app shows them (see ``take_notices``).
_NOTICES: list[str] = []


class FileState(Enum):
    MISSING = "missing"
    EMPTY = "empty"
    DAMAGED = "damaged"
    LOOKS_SOUND = "looks-sound"


def companions(path: Path) -> list[Path]:
    """SQLite's files beside the database: its write-ahead log, shared memory and rollback journal."""
    return [path.with_name(path.name + suffix) for suffix in ("-wal", "-shm", "-journal")]


def _has_log(path: Path) -> bool:
    wal = path.with_name(path.name + "-wal")
    try:
        return wal.stat().st_size > 0
    except FileNotFoundError:
        return False


def inspect_file(path: Path) -> tuple[FileState, str]:
    """What the file at ``path`` is, from its size and its 100-byte header only (cheap: no page is
    read beyond the first), and the detail a damaged one is told with."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return FileState.MISSING, ""
    if size == 0:
        if _has_log(path) or path.with_name(path.name + "-journal").exists():
            # Its pages may all be in the log still, or another program is writing its first
            # pages: SQLite decides (and waits on its lock).
            return FileState.LOOKS_SOUND, ""
        return FileState.EMPTY, ""
    with path.open("rb") as handle:
        header = handle.read(100)
    if len(header) < 100 or not header.startswith(MAGIC):
        return FileState.DAMAGED, _("its first bytes are not those of a SQLite database")
    (page_size,) = struct.unpack(">H", header[16:18])
    page_size = 65536 if page_size == 1 else page_size
    if page_size < 512 or page_size & (page_size - 1):
        return FileState.DAMAGED, _("its header gives no valid page size")
    if not _has_log(path):
        change_counter, pages = struct.unpack(">II", header[24:32])
        (valid_for,) = struct.unpack(">I", header[92:96])
        if size % page_size or (valid_for == change_counter and size < pages * page_size):
            return FileState.DAMAGED, _("it is shorter than its header says: it was cut")
    return FileState.LOOKS_SOUND, ""


def aside_path(path: Path, kind: str) -> Path:
    """``fabriqueterm.damaged-2026-12-07T101500.sqlite3`` beside ``path`` (never an existing name)."""
    stamp = datetime.now().strftime("%Y-%m-%dT%H%M%S")
    for number in range(1, 1000):
        extra = "" if number == 1 else f"-{number}"
        candidate = path.with_name(f"{path.stem}.{kind}-{stamp}{extra}{path.suffix}")
        if not candidate.exists():
            return candidate
    raise StoreError(_("Too many files set aside in {folder}.").format(folder=path.parent))


def move_aside(path: Path, kind: str) -> Path:
    """Rename the database (and its log and journal, under the same new name) out of the way, 0600.
    Nothing is deleted: what SQLite can still read in it stays readable there."""
    target = aside_path(path, kind)
    os.replace(path, target)
    os.chmod(target, 0o600)
    for companion, suffix in zip(companions(path), ("-wal", "-shm", "-journal"), strict=True):
        if suffix == "-shm":
            companion.unlink(missing_ok=True)  # rebuilt from the log by whoever opens it
        elif companion.exists():
            moved = target.with_name(target.name + suffix)
            os.replace(companion, moved)
            os.chmod(moved, 0o600)
    return target


def damaged_sentence(path: Path, aside: Path, detail: str) -> str:
    return (
        _("{file} is not a fabriqueterm database or is damaged ({detail}).").format(
            file=path, detail=detail
        )
        + " "
        + _(
            "It was moved aside to {aside}, whole. Save its unsent changes with “fabriqueterm sync --export-outbox FILE --from {aside}”, then run “fabriqueterm sync” (or open the app) to start again from a fresh copy of the commons."
        ).format(aside=aside)
    )


def empty_notice(path: Path, aside: Path) -> str:
    return _(
        "{file} was empty (0 bytes): it held no data and no unsent change any more. It was moved aside to {aside} and a new one started; sync to get your data back from the commons. Changes made since your last sync are lost."
    ).format(file=path, aside=aside)


def add_notice(notice: str) -> None:
    _NOTICES.append(notice)


def take_notices() -> list[str]:
    """The notices not yet shown, emptied."""
    taken = list(_NOTICES)
    _NOTICES.clear()
    return taken


@contextlib.contextmanager
def opening_lock(path: Path, wait_seconds: float | None = None) -> Iterator[None]:
    """Hold ``<file>.lock`` (0600, beside the database) while the file is checked, created or
    migrated: a second process opening a fresh home waits for the first, then finds it made."""
    if fcntl is None:  # pragma: no cover
        yield
        return
    lock_path = path.with_name(path.name + ".lock")
    descriptor = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        deadline = time.monotonic() + (LOCK_WAIT_SECONDS if wait_seconds is None else wait_seconds)
        while True:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise StoreError(
                        _(
                            "{file} is being opened by another fabriqueterm that has not finished. Close the other window or wait for its sync to end, then try again."
                        ).format(file=path)
                    ) from None
                time.sleep(0.05)
        try:
            yield
        finally:
            fcntl.flock(descriptor, fcntl.LOCK_UN)
    finally:
        os.close(descriptor)
