"""A commons database that cannot be reached (issue #13, "a sentence, never a traceback"): every
``fabriqueterm server`` command that opens it says where (password hidden), why, and what to check,
with exit code 2. Failed before: each ended in a SQLAlchemy traceback."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from fabriqueterm.cli import main
from fabriqueterm.server.cli import unreachable


def _closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _urls(tmp_path: Path) -> dict[str, str]:
    (tmp_path / "a-file").write_text("not a folder", encoding="utf-8")
    return {
        "postgresql, nothing listening": (
            f"postgresql+psycopg://coordinator:s3cret-pw@127.0.0.1:{_closed_port()}/commons"
        ),
        "sqlite, a folder that is a file": f"sqlite:///{tmp_path / 'a-file' / 'commons.sqlite3'}",
    }


@pytest.mark.parametrize(
    "command",
    [
        ["server", "migrate"],
        ["server", "migrate", "--check"],
        ["server", "run", "--port", "1"],
        ["server", "admin", "list"],
        ["server", "admin", "site", "add", "Fabrique test", "--city", "Lille"],
    ],
    ids=" ".join,
)
def test_an_unreachable_database_is_a_sentence(
    command: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for what, url in _urls(tmp_path).items():
        code = main([*command, "--database-url", url])
        out, err = capsys.readouterr()
        assert code == 2, (what, out, err)
        assert unreachable(url, "")[:30] in err, (what, err)  # the sentence, in the UI language
        assert url.split("@")[-1].split("///")[-1] in err  # where: host, port and base, or the file
        assert "Traceback" not in out + err
        assert "s3cret-pw" not in out + err  # the password never printed
