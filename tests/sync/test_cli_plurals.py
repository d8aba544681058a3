"""``fabriqueterm sync`` says its counts with the noun in the right number (issue 12, finding 8:
"1 unsent change(s)" and, in French, plurals after 0 and 1)."""

from __future__ import annotations

from pathlib import Path

from fabriqueterm.cli import main
from fabriqueterm.config import Paths
from fabriqueterm.store import Store


def test_the_outbox_export_says_one_change_or_several(
    fabriqueterm_home: Path, tmp_path: Path, capsys
) -> None:  # type: ignore[no-untyped-def]
    paths = Paths.default()
    paths.ensure()
    paths.config_file.write_text('language = "en"\n', encoding="utf-8")
    with Store.open(paths.database) as store:
        site_id = store.sites.create({"name": "Fabrique de Roubaix", "city": "Roubaix"}).id
    assert main(["sync", "--export-outbox", str(tmp_path / "one.json")]) == 0
    assert f"1 unsent change written to {tmp_path / 'one.json'}." in capsys.readouterr().out
    with Store.open(paths.database) as store:
        store.sites.update(site_id, {"city": "Tourcoing"})
    assert main(["sync", "--export-outbox", str(tmp_path / "two.json")]) == 0
    assert "2 unsent changes written to" in capsys.readouterr().out
