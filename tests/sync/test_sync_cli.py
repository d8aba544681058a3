"""``fabriqueterm login`` and ``fabriqueterm sync`` (headless, for cron)."""

from __future__ import annotations

import argparse
import stat

from sync_helpers import COHORT

from fabriqueterm.config import Paths, load_config, load_token
from fabriqueterm.store.db import Store
from fabriqueterm.sync.cli import add_sync_commands


def _run(*argv: str) -> int:
    parser = argparse.ArgumentParser()
    add_sync_commands(parser.add_subparsers())
    args = parser.parse_args(list(argv))
    return args.handler(args)


def test_login_checks_and_stores_the_token_then_sync_runs(team, monkeypatch, capsys):
    monkeypatch.setenv("COMMONS_TOKEN", team.token)
    assert _run("login", team.commons.url, "--token-env", "COMMONS_TOKEN") == 0
    paths = Paths.default()
    assert stat.S_IMODE(paths.secrets_file.stat().st_mode) == 0o600
    assert load_token(paths.secrets_file).reveal() == team.token
    assert load_config(paths.config_file).server_url == team.commons.url
    assert "Camille Coordinatrice" in capsys.readouterr().out

    assert _run("sync") == 0
    with Store.open(paths.database) as store:
        assert store.sites.get(team.site1)
        store.cohorts.create({**COHORT, "site_id": team.site1})
    assert _run("sync", "--quiet") == 0
    out = capsys.readouterr().out
    assert "1" in out.splitlines()[-1]
    with Store.open(paths.database) as store:
        assert store.outbox.count("pending") == 0


def test_login_with_a_bad_token_stores_nothing(team, monkeypatch, capsys):
    monkeypatch.setenv("COMMONS_TOKEN", "not-a-token")
    assert _run("login", team.commons.url, "--token-env", "COMMONS_TOKEN") == 1
    assert not Paths.default().secrets_file.exists()
    assert "login" in capsys.readouterr().err


def test_login_reads_a_pasted_token(team, monkeypatch):
    monkeypatch.setattr("getpass.getpass", lambda prompt="": team.token + "\n")
    assert _run("login", team.commons.url) == 0
    assert load_token(Paths.default().secrets_file).reveal() == team.token


def test_sync_without_login_says_what_to_do(capsys):
    assert _run("sync") == 2
    assert "login" in capsys.readouterr().err


def test_sync_offline_exits_non_zero(team, monkeypatch, capsys):
    from sync_helpers import free_port

    monkeypatch.setenv("COMMONS_TOKEN", team.token)
    assert _run("login", team.commons.url, "--token-env", "COMMONS_TOKEN") == 0
    paths = Paths.default()
    from dataclasses import replace

    from fabriqueterm.config import save_config

    save_config(
        paths.config_file,
        replace(load_config(paths.config_file), server_url=f"http://127.0.0.1:{free_port()}"),
    )
    from sync_helpers import FAST

    monkeypatch.setattr("fabriqueterm.sync.client.DEFAULT_RETRY", FAST)
    assert _run("sync", "--quiet") == 1
