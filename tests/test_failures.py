"""A sentence, never a traceback, for every failure a person can meet (issue 13, finding 3): a full
disk, a read-only or unwritable data folder, permission denied, a database locked by another program,
non-UTF-8 bytes in config.toml or secrets.toml. Each caused for real where this machine allows it
(SQLite's own page cap makes the disk "full"; a real read-only connection; a real second connection
holding the write lock); only what root cannot meet is simulated."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event

from fabriqueterm.cli import main
from fabriqueterm.config import Config, ConfigError, Paths, load_config, load_token, save_config
from fabriqueterm.i18n import set_language
from fabriqueterm.store import Store
from fabriqueterm.store import db as store_db
from fabriqueterm.store.errors import StoreError, describe_failure

NOWHERE = "http://127.0.0.1:9"


def english_home(**config: Any) -> Paths:
    paths = Paths.default()
    paths.ensure()
    save_config(paths.config_file, Config(language="en", **config))
    return paths


def run_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(argv)
    printed = capsys.readouterr()
    text = " ".join((printed.out + printed.err).split())
    assert "Traceback" not in text
    assert "sqlalche.me" not in text and "OperationalError" not in text
    return code, text


# --- full disk --------------------------------------------------------------------------------


def cap_pages(monkeypatch: pytest.MonkeyPatch, pages: int) -> None:
    """Every connection the store makes may hold at most ``pages`` pages: SQLite itself then answers
    SQLITE_FULL ("database or disk is full") as on a full disk."""
    real = store_db.set_connection_pragmas

    def with_cap(engine: Engine, **options: Any) -> None:
        real(engine, **options)

        @event.listens_for(engine, "connect")
        def _cap(dbapi_connection: sqlite3.Connection, _record: object) -> None:
            dbapi_connection.execute(f"PRAGMA max_page_count = {pages}")

    monkeypatch.setattr(store_db, "set_connection_pragmas", with_cap)


def test_a_full_disk_on_first_open_is_a_sentence(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    paths = english_home(server_url=NOWHERE)
    (paths.secrets_file).write_text('token = "t"\n', encoding="utf-8")
    cap_pages(monkeypatch, 3)

    code, text = run_cli(["sync", "--quiet"], capsys)

    assert code == 2
    assert "is full" in text and str(paths.data_dir) in text
    assert "Free some space" in text
    assert "damaged" not in text
    assert list(paths.data_dir.glob("*.damaged-*")) == []  # never mistaken for damage


def test_a_full_disk_while_writing_is_a_sentence(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    paths = english_home()
    with Store.open(paths.database) as store:
        site = store.sites.create({"name": "Fabrique de Roubaix", "city": "Roubaix"})
        cohort = store.cohorts.create(
            {
                "site_id": site.id,
                "name": "Promo A",
                "programme": "Web",
                "start_date": "2026-01-05",
                "end_date": "2026-07-03",
                "status": "running",
            }
        )
        with store.write() as session:
            pages = session.connection().exec_driver_sql("PRAGMA page_count").scalar()
    csv = tmp_path / "learners.csv"
    rows = "\n".join(f"Prénom{i};Nom{i};p{i}@example.org;F;4" for i in range(400))
    csv.write_text("Prénom;Nom;Courriel;Genre;Niveau\n" + rows + "\n", encoding="utf-8")
    cap_pages(monkeypatch, int(pages))

    code, text = run_cli(["import", "learners", str(csv), "--cohort", cohort.id], capsys)

    assert code == 2
    assert "is full: fabriqueterm could not save" in text


# --- read-only, unwritable, permission denied ---------------------------------------------------


def test_a_read_only_database_is_a_sentence(tmp_path: Path) -> None:
    """Root ignores file modes: the error is made by a real read-only connection (what SQLite
    answers on a read-only folder or file), then turned into the sentence the commands print."""
    path = tmp_path / "fabriqueterm.sqlite3"
    Store.open(path).close()
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        with pytest.raises(sqlite3.OperationalError) as caught:
            connection.execute("INSERT INTO meta (key, value) VALUES ('a', 'b')")
    finally:
        connection.close()
    set_language("en")
    sentence = describe_failure(caught.value, path)
    assert sentence is not None
    assert str(path) in sentence and "read-only" in sentence


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into a 0500 folder")
def test_a_read_only_data_folder_is_a_sentence(  # pragma: no cover - CI runs as root
    capsys: pytest.CaptureFixture[str],
) -> None:
    paths = english_home(server_url=NOWHERE)
    paths.secrets_file.write_text('token = "t"\n', encoding="utf-8")
    paths.data_dir.chmod(0o500)
    try:
        code, text = run_cli(["sync", "--quiet"], capsys)
    finally:
        paths.data_dir.chmod(0o700)
    assert code == 2
    assert str(paths.data_dir) in text
    assert "Permission denied" in text or "read-only" in text


def test_a_data_folder_that_cannot_be_made_is_a_sentence(
    fabriqueterm_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The home is a file, not a folder: creating the data folder fails for real, even as root."""
    fabriqueterm_home.parent.mkdir(parents=True, exist_ok=True)
    fabriqueterm_home.write_text("not a folder", encoding="utf-8")

    code, text = run_cli(
        ["sync", "--export-outbox", str(fabriqueterm_home.parent / "x.json")], capsys
    )

    assert code == 2
    assert str(fabriqueterm_home) in text


def test_permission_denied_is_a_sentence(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Simulated: root is never denied. The error is the one ``mkdir`` raises for anyone else."""
    paths = english_home(server_url=NOWHERE)
    paths.secrets_file.write_text('token = "t"\n', encoding="utf-8")

    def denied(self: Paths) -> None:
        raise PermissionError(13, "Permission denied", str(self.data_dir))

    monkeypatch.setattr(Paths, "ensure", denied)

    code, text = run_cli(["sync", "--quiet"], capsys)

    assert code == 2
    assert str(paths.data_dir) in text and "permission" in text.lower()


# --- database locked --------------------------------------------------------------------------


def test_a_database_locked_by_another_program_is_a_sentence(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    paths = english_home(server_url=NOWHERE)
    paths.secrets_file.write_text('token = "t"\n', encoding="utf-8")
    monkeypatch.setattr(store_db, "BUSY_TIMEOUT_MS", 100)
    paths.database.touch(mode=0o600)
    holder = sqlite3.connect(paths.database, isolation_level=None)
    try:
        holder.execute("BEGIN EXCLUSIVE")
        holder.execute("CREATE TABLE held (x)")
        code, text = run_cli(["sync", "--quiet"], capsys)
    finally:
        holder.execute("ROLLBACK")
        holder.close()

    assert code == 2
    assert "in use by another program" in text and str(paths.database) in text
    assert "damaged" not in text
    assert list(paths.data_dir.glob("*.damaged-*")) == []


# --- non-UTF-8 config and secrets -----------------------------------------------------------------


def test_non_utf8_bytes_in_config_are_a_sentence(
    capsys: pytest.CaptureFixture[str],
) -> None:
    paths = Paths.default()
    paths.ensure()
    paths.config_file.write_bytes(b'server_url = "http://caf\xe9.example.org"\n')

    with pytest.raises(ConfigError) as caught:
        load_config(paths.config_file)
    assert str(paths.config_file) in str(caught.value)
    assert "UTF-8" in str(caught.value)

    code, text = run_cli(["sync"], capsys)
    assert code == 2
    assert str(paths.config_file) in text and "UTF-8" in text


def test_non_utf8_bytes_in_secrets_are_a_sentence(capsys: pytest.CaptureFixture[str]) -> None:
    paths = english_home(server_url=NOWHERE)
    paths.secrets_file.write_bytes(b'token = "caf\xe9"\n')

    with pytest.raises(ConfigError) as caught:
        load_token(paths.secrets_file)
    assert str(paths.secrets_file) in str(caught.value)
    assert "fabriqueterm login" in str(caught.value)

    code, text = run_cli(["sync", "--quiet"], capsys)
    assert code == 2
    assert str(paths.secrets_file) in text and "UTF-8" in text


def test_an_unexpected_database_error_is_still_a_sentence(tmp_path: Path) -> None:
    error = sqlite3.OperationalError("disk I/O error")
    sentence = describe_failure(error, tmp_path / "fabriqueterm.sqlite3")
    assert sentence is not None and "disk I/O error" in sentence


def test_store_error_is_what_open_raises_for_a_locked_fresh_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_db, "BUSY_TIMEOUT_MS", 100)
    path = tmp_path / "fabriqueterm.sqlite3"
    path.touch(mode=0o600)
    holder = sqlite3.connect(path, isolation_level=None)
    try:
        holder.execute("BEGIN EXCLUSIVE")
        holder.execute("CREATE TABLE held (x)")
        with pytest.raises(StoreError):
            Store.open(path)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert path.exists() and list(tmp_path.glob("*.damaged-*")) == []
