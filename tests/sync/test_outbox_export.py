"""The outbox escape hatch: unsent changes exported to a private JSON file (docs/sync.md, "Never
lose local work")."""

from __future__ import annotations

import json
import stat
from pathlib import Path

from fabriqueterm.cli import main
from fabriqueterm.config import Paths
from fabriqueterm.store import Store


def _one_site(store: Store) -> str:
    return store.sites.create({"name": "Fabrique de Roubaix", "city": "Roubaix"}).id


def test_export_writes_every_unsent_change_privately(store: Store, tmp_path: Path) -> None:
    site_id = _one_site(store)
    store.sites.update(site_id, {"city": "Tourcoing"})
    target = tmp_path / "outbox.json"

    assert store.outbox.export(target) == 2

    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    exported = json.loads(target.read_text(encoding="utf-8"))
    assert exported["client_id"] == store.client_id
    assert [(e["op"], e["entity"], e["row_id"]) for e in exported["entries"]] == [
        ("create", "site", site_id),
        ("update", "site", site_id),
    ]
    assert exported["entries"][1]["fields"] == {"city": "Tourcoing"}
    assert exported["entries"][1]["base_values"] == {"city": "Roubaix"}


def test_sync_export_outbox_command(fabriqueterm_home: Path, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    paths = Paths.default()
    paths.ensure()
    with Store.open(paths.database) as store:
        _one_site(store)
    target = tmp_path / "export.json"

    assert main(["sync", "--export-outbox", str(target)]) == 0

    assert "1" in capsys.readouterr().out
    assert len(json.loads(target.read_text(encoding="utf-8"))["entries"]) == 1
