"""The local database is never silently replaced (issue 13, finding 2): a missing file is created, an
empty (0-byte) one is moved aside and a fresh one started with a sentence that says so, a damaged one
(truncated, garbage header) is moved aside and the command refuses with a sentence that says where it
went and how to save its unsent changes; ``sync --export-outbox`` reads the outbox of a damaged file as
far as SQLite can and says how many changes it could not read."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from fabriqueterm.cli import main
from fabriqueterm.config import Config as AppConfig
from fabriqueterm.config import Paths, save_config, save_token
from fabriqueterm.store import Store, StoreError
from fabriqueterm.store.outbox import salvage_outbox

UNSENT = 5
#: Nothing listens there: a sync that gets past the database fails to connect (exit 1), fast.
NOWHERE = "http://127.0.0.1:9"


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def home_with_unsent_edits(filler: int = 0) -> Paths:
    """A logged-in home (English) whose database holds ``UNSENT`` unsent changes, after ``filler``
    learners' worth of other rows (so that cutting the file in half cuts into real data)."""
    paths = Paths.default()
    paths.ensure()
    save_config(paths.config_file, AppConfig(language="en", server_url=NOWHERE))
    save_token(paths.secrets_file, "t0ken-of-the-test")
    with Store.open(paths.database) as store:
        site = store.sites.create({"name": "Fabrique de Roubaix", "city": "Roubaix"})
        for number in range(UNSENT - 1):
            store.sites.update(site.id, {"city": f"Roubaix {number}"})
        if filler:
            with store.write() as session:
                store.set_meta(session, "filler", "x" * filler)
        assert store.outbox.count() == UNSENT
    return paths


def moved_aside(paths: Paths, kind: str) -> list[Path]:
    return sorted(paths.data_dir.glob(f"fabriqueterm.{kind}-*.sqlite3"))


def run_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(argv)
    printed = capsys.readouterr()
    text = " ".join((printed.out + printed.err).split())
    assert "Traceback" not in text
    return code, text


def test_a_missing_database_is_created(
    fabriqueterm_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    paths = Paths.default()
    paths.ensure()
    save_config(paths.config_file, AppConfig(language="en", server_url=NOWHERE))
    save_token(paths.secrets_file, "t0ken-of-the-test")

    code, text = run_cli(["sync", "--quiet"], capsys)

    assert code == 1  # got past the database, then could not reach the commons
    assert paths.database.exists() and mode_of(paths.database) == 0o600
    assert "moved" not in text
    assert list(paths.data_dir.glob("fabriqueterm.*-*.sqlite3")) == []


def test_an_empty_database_is_moved_aside_and_said(
    fabriqueterm_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    paths = home_with_unsent_edits()
    os.truncate(paths.database, 0)

    code, text = run_cli(["sync", "--quiet"], capsys)

    [aside] = moved_aside(paths, "empty")
    assert aside.stat().st_size == 0 and mode_of(aside) == 0o600
    assert f"{paths.database} was empty (0 bytes)" in text
    assert str(aside) in text
    assert "a new one started" in text
    assert code == 1  # went on with a fresh file (then the commons is unreachable here)
    with Store.open(paths.database) as store:
        assert store.outbox.count() == 0


def damage(path: Path, how: str) -> None:
    data = path.read_bytes()
    if how == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif how == "garbage-header":
        path.write_bytes(bytes((i * 37 + 11) % 256 for i in range(100)) + data[100:])
    else:  # pragma: no cover
        raise AssertionError(how)


@pytest.mark.parametrize("how", ["truncated", "garbage-header"])
def test_a_damaged_database_is_moved_aside_and_sync_refuses(
    fabriqueterm_home: Path, capsys: pytest.CaptureFixture[str], how: str
) -> None:
    paths = home_with_unsent_edits(filler=200_000)
    damage(paths.database, how)
    size = paths.database.stat().st_size

    code, text = run_cli(["sync", "--quiet"], capsys)

    assert code == 2
    [aside] = moved_aside(paths, "damaged")
    assert aside.stat().st_size == size and mode_of(aside) == 0o600
    assert not paths.database.exists()  # nothing created silently in its place
    assert f"{paths.database} is not a fabriqueterm database or is damaged" in text
    assert str(aside) in text
    assert f"fabriqueterm sync --export-outbox FILE --from {aside}" in text

    # What the sentence says to do works: export what can be read, then sync from a fresh file.
    target = fabriqueterm_home / "saved.json"
    code, text = run_cli(["sync", "--export-outbox", str(target), "--from", str(aside)], capsys)
    assert code == 0
    assert mode_of(target) == 0o600
    exported = json.loads(target.read_text(encoding="utf-8"))
    read = len(exported["entries"])
    assert f"{read} unsent change" in text
    if how == "garbage-header":  # the header is rebuilt on a copy: every change is read
        assert read == UNSENT
        assert [entry["op"] for entry in exported["entries"]] == ["create"] + ["update"] * 4
    else:
        assert exported["unreadable"] == UNSENT - read
        if read < UNSENT:
            assert f"{UNSENT - read} could not be read" in text
    assert aside.stat().st_size == size  # the salvage never writes to the damaged file

    code, text = run_cli(["sync", "--quiet"], capsys)
    assert code == 1  # a fresh file now; the commons is unreachable here
    assert "damaged" not in text


@pytest.mark.parametrize("how", ["truncated", "garbage-header"])
def test_export_outbox_works_on_the_damaged_database_in_place(
    fabriqueterm_home: Path, capsys: pytest.CaptureFixture[str], how: str
) -> None:
    paths = home_with_unsent_edits()
    damage(paths.database, how)
    target = fabriqueterm_home / "saved.json"

    code, text = run_cli(["sync", "--export-outbox", str(target)], capsys)

    assert code == 0, text
    exported = json.loads(target.read_text(encoding="utf-8"))
    if how == "garbage-header":
        assert len(exported["entries"]) == UNSENT
    else:
        assert len(exported["entries"]) + exported["unreadable"] == UNSENT
    assert paths.database.exists()  # the export only reads


def test_salvage_reads_row_by_row_around_a_broken_page(tmp_path: Path) -> None:
    """Pages of the outbox zeroed in the middle: the rows of the other pages are still read, and the
    count of those lost is said."""
    path = tmp_path / "db.sqlite3"
    with Store.open(path) as store:
        site = store.sites.create({"name": "Fabrique de Roubaix", "city": "Roubaix"})
        for number in range(399):
            store.sites.update(site.id, {"city": f"Roubaix {number:04d} " + "x" * 100})
    import sqlite3

    with sqlite3.connect(path) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        page_size = connection.execute("PRAGMA page_size").fetchone()[0]
        pages = [
            row[0]
            for row in connection.execute(
                "SELECT pageno FROM dbstat WHERE name = 'outbox' AND pagetype = 'leaf' ORDER BY pageno"
            )
        ]
    connection.close()
    assert len(pages) > 10
    broken = pages[len(pages) // 2]
    with path.open("r+b") as handle:
        handle.seek((broken - 1) * page_size)
        handle.write(b"\xff" * page_size)

    salvage = salvage_outbox(path)

    assert 0 < salvage.unreadable < 400
    assert len(salvage.entries) + salvage.unreadable == 400
    assert [e["seq"] for e in salvage.entries] == sorted(e["seq"] for e in salvage.entries)


def test_the_damaged_file_is_kept_whole_when_open_refuses(tmp_path: Path) -> None:
    path = tmp_path / "fabriqueterm.sqlite3"
    content = b"SQLite format 3\x00" + b"\xff" * 200
    path.write_bytes(content)
    with pytest.raises(StoreError):
        Store.open(path)
    [aside] = tmp_path.glob("fabriqueterm.damaged-*.sqlite3")
    assert aside.read_bytes() == content


def test_two_processes_opening_a_fresh_home_at_once_neither_reports_damage(
    tmp_path: Path,
) -> None:
    """Issue 13, finding 4: 2 of 13 runs said "damaged (table site already exists)". Three real
    processes open the same fresh database at once, 8 rounds."""
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from fabriqueterm.store import Store\n"
        "with Store.open(Path(sys.argv[1])) as store:\n"
        "    print(store.client_id)\n"
    )
    for round_ in range(8):
        database = tmp_path / f"round{round_}" / "fabriqueterm.sqlite3"
        processes = [
            subprocess.Popen(
                [sys.executable, "-c", script, str(database)],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(3)
        ]
        results = [process.communicate(timeout=120) for process in processes]
        for process, (_out, err) in zip(processes, results, strict=True):
            assert process.returncode == 0, err
            assert "damaged" not in err and "endommag" not in err
        assert len({out.strip() for out, _ in results}) == 1  # one database, one client id
        assert list(database.parent.glob("*.damaged-*")) == []
