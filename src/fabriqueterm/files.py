"""Files that hold personal data or secrets: created readable by their owner only."""

from __future__ import annotations

import os
from pathlib import Path


def create_private_file(path: Path) -> None:
    """Create ``path`` empty with mode 0600 unless it exists (its folder 0700). SQLite's -wal and
    -shm files copy the database file's mode."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        descriptor = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        return
    os.close(descriptor)
