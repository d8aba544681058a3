"""``fabriqueterm server admin …``: what a newcomer types to set up a commons, idempotent where it
makes sense, exit 2 with a message naming what is wrong otherwise."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from fabriqueterm.cli import main
from fabriqueterm.server.auth import token_hash
from fabriqueterm.server.db import make_engine, token_table
from fabriqueterm.server.migrations import upgrade


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["server", "admin", *argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def url(tmp_path: Path) -> str:
    """A new commons database, migrated (the admin commands refuse one that is not)."""
    database_url = f"sqlite:///{tmp_path / 'commons.sqlite3'}"
    engine = make_engine(database_url)
    upgrade(engine)
    engine.dispose()
    return database_url


def test_a_newcomer_sets_up_a_site_a_coordinator_and_a_token(
    capsys: pytest.CaptureFixture[str], url: str
) -> None:
    code, out, _ = run(
        capsys,
        "site",
        "add",
        "Fabrique Lille",
        "--city",
        "Lille",
        "--region",
        "Hauts-de-France",
        "--database-url",
        url,
    )
    assert code == 0
    site_id = out.strip().split()[-1]
    assert len(site_id) == 36
    # The same site again: nothing new, its id again.
    code, out, _ = run(
        capsys,
        "site",
        "add",
        "Fabrique Lille",
        "--city",
        "Lille",
        "--region",
        "Hauts-de-France",
        "--database-url",
        url,
    )
    assert code == 0 and site_id in out
    assert (
        run(
            capsys,
            "coordinator",
            "add",
            "Alice@Example.org",
            "--name",
            "Alice",
            "--database-url",
            url,
        )[0]
        == 0
    )
    code, out, _ = run(
        capsys, "coordinator", "add", "alice@example.org", "--name", "Alice", "--database-url", url
    )
    assert code == 0 and "alice@example.org" in out
    assert run(capsys, "grant", "alice@example.org", site_id, "--database-url", url)[0] == 0
    assert run(capsys, "grant", "alice@example.org", site_id, "--database-url", url)[0] == 0
    code, out, err = run(capsys, "token", "issue", "alice@example.org", "--database-url", url)
    assert code == 0
    token = out.strip()
    assert len(token) >= 40 and "\n" not in token and err
    # Only the hash is stored.
    engine = make_engine(url)
    with engine.connect() as connection:
        stored = connection.execute(token_table.select()).one()
    engine.dispose()
    assert stored.token_hash == token_hash(token) and token not in tuple(str(v) for v in stored)
    code, out, _ = run(capsys, "list", "--database-url", url)
    assert code == 0
    assert (
        "Fabrique Lille" in out
        and "alice@example.org" in out
        and token[:8] in out
        and token not in out
    )
    code, out, _ = run(capsys, "token", "revoke", token[:8], "--database-url", url)
    assert code == 0
    code, out, _ = run(capsys, "token", "revoke", token[:8], "--database-url", url)
    assert code == 0  # already revoked: said so, not an error
    assert run(capsys, "revoke", "alice@example.org", site_id, "--database-url", url)[0] == 0
    assert run(capsys, "revoke", "alice@example.org", site_id, "--database-url", url)[0] == 0


def test_errors_exit_2_and_name_what_is_wrong(capsys: pytest.CaptureFixture[str], url: str) -> None:
    code, _, err = run(
        capsys,
        "grant",
        "nobody@example.org",
        "01a2103a-94b7-79b5-9032-713b7e9921f3",
        "--database-url",
        url,
    )
    assert code == 2 and "nobody@example.org" in err
    run(capsys, "coordinator", "add", "alice@example.org", "--name", "Alice", "--database-url", url)
    code, _, err = run(
        capsys, "coordinator", "add", "alice@example.org", "--name", "Alicia", "--database-url", url
    )
    assert code == 2 and "Alice" in err
    code, _, err = run(capsys, "grant", "alice@example.org", "not-a-site", "--database-url", url)
    assert code == 2 and "not-a-site" in err
    code, _, err = run(
        capsys, "coordinator", "add", "not an email", "--name", "X", "--database-url", url
    )
    assert code == 2 and "not an email" in err
    code, _, err = run(capsys, "token", "revoke", "zzzzzzzz", "--database-url", url)
    assert code == 2 and "zzzzzzzz" in err
    code, _, err = run(capsys, "site", "add", "", "--city", "Lille", "--database-url", url)
    assert code == 2 and err
    code, _, err = run(capsys, "list", "--database-url", "mysql://nowhere/db")
    assert code == 2 and err


def test_default_database_is_a_private_file_in_the_data_folder(
    capsys: pytest.CaptureFixture[str], fabriqueterm_home: Path
) -> None:
    assert main(["server", "migrate"]) == 0
    assert run(capsys, "list")[0] == 0
    database = fabriqueterm_home / "data" / "commons.sqlite3"
    assert database.exists()
    assert stat.S_IMODE(database.stat().st_mode) == 0o600


def test_load_demo_loads_the_network_and_grants_its_sites(
    capsys: pytest.CaptureFixture[str], url: str
) -> None:
    run(capsys, "coordinator", "add", "demo@example.org", "--name", "Démo", "--database-url", url)
    code, out, err = run(
        capsys,
        "load-demo",
        "--learners",
        "60",
        "--seed",
        "7",
        "--today",
        "2026-11-25",
        "--coordinator",
        "demo@example.org",
        "--database-url",
        url,
    )
    assert code == 0, err
    code, out, _ = run(capsys, "list", "--database-url", url)
    assert out.count("Fabrique") >= 3 and "[no site]" not in out.replace(
        "[aucune fabrique]", "[no site]"
    )
    # Loading it again changes nothing.
    code, again, _ = run(
        capsys,
        "load-demo",
        "--learners",
        "60",
        "--seed",
        "7",
        "--today",
        "2026-11-25",
        "--coordinator",
        "demo@example.org",
        "--database-url",
        url,
    )
    assert code == 0


def test_server_help_does_not_need_the_server_stack(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["server"]) == 2
    assert "admin" in capsys.readouterr().out
