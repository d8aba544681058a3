"""Config and secrets files (config.py) and where everything lives."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from fabriqueterm.config import (
    Config,
    ConfigError,
    Paths,
    Secret,
    demo_home,
    load_config,
    load_token,
    save_config,
    save_token,
)
from fabriqueterm.i18n import set_language


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def write(path: Path, content: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content, encoding="utf-8")
    return path


@pytest.fixture
def paths(fabriqueterm_home: Path) -> Paths:
    return Paths.default()


# --- where things live -----------------------------------------------------------------------


def test_fabriqueterm_home_redirects_everything(fabriqueterm_home: Path) -> None:
    paths = Paths.default()
    for path in (
        paths.data_dir,
        paths.config_dir,
        paths.database,
        paths.config_file,
        paths.secrets_file,
        paths.documents_dir,
    ):
        assert path.is_relative_to(fabriqueterm_home), path
    assert paths.documents_dir == fabriqueterm_home / "documents"
    # The demo's files written for people go to the same documents folder, not its data home.
    assert Paths.under(demo_home()).documents_dir == paths.documents_dir
    assert demo_home().is_relative_to(fabriqueterm_home)
    assert not demo_home().is_relative_to(paths.data_dir)  # the demo never mixes with real data
    assert not fabriqueterm_home.exists()  # nothing created by merely asking


def test_without_fabriqueterm_home_the_user_dirs_are_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import platformdirs

    monkeypatch.delenv("FABRIQUETERM_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "user"))
    for variable in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_DOCUMENTS_DIR"):
        monkeypatch.delenv(variable, raising=False)
    paths = Paths.default()
    assert paths.data_dir == Path(platformdirs.user_data_dir("fabriqueterm", appauthor=False))
    assert paths.config_dir == Path(platformdirs.user_config_dir("fabriqueterm", appauthor=False))
    assert paths.database.is_relative_to(tmp_path / "user")
    assert paths.config_file.is_relative_to(tmp_path / "user")
    # Files written for people (summaries, exports) go to their documents folder.
    assert paths.documents_dir == Path(platformdirs.user_documents_dir())
    assert paths.documents_dir.is_relative_to(tmp_path / "user")
    paths.ensure()
    assert not paths.documents_dir.exists()  # created when a file is first written there


def test_demo_home_can_be_set_on_its_own(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FABRIQUETERM_DEMO_HOME", str(tmp_path / "elsewhere"))
    assert demo_home() == tmp_path / "elsewhere"


# --- config.toml -----------------------------------------------------------------------------


def test_missing_file_gives_defaults(paths: Paths) -> None:
    assert not paths.config_file.exists()
    config = load_config(paths.config_file)
    assert config == Config()
    assert (config.server_url, config.language, config.auto_sync, config.sync_interval_minutes) == (
        "",
        "fr",
        True,
        15,
    )
    assert not paths.config_file.exists()


def test_partial_file_keeps_defaults_for_the_rest(paths: Paths) -> None:
    write(paths.config_file, 'language = "en"\n')
    assert load_config(paths.config_file) == Config(language="en")


def test_save_load_round_trip(paths: Paths) -> None:
    config = Config(
        server_url="https://commons.example.org",
        language="en",
        auto_sync=False,
        sync_interval_minutes=45,
    )
    save_config(paths.config_file, config)
    assert load_config(paths.config_file) == config
    assert 'server_url = "https://commons.example.org"' in paths.config_file.read_text(
        encoding="utf-8"
    )


def test_malformed_toml_names_the_file(paths: Paths) -> None:
    write(paths.config_file, 'language = "fr"\nauto_sync = \n')
    with pytest.raises(ConfigError) as caught:
        load_config(paths.config_file)
    message = str(caught.value)
    assert str(paths.config_file) in message
    assert "TOML" in message
    assert "line 2" in message  # tomllib's position, so people find the mistake
    assert "supprimez le fichier" in message


@pytest.mark.parametrize(
    ("line", "key", "fix"),
    [
        ("language = 3", "language", 'language = "fr"'),
        ('language = "de"', "language", 'language = "en"'),
        ('auto_sync = "yes"', "auto_sync", "auto_sync = true"),
        ("sync_interval_minutes = 0", "sync_interval_minutes", "sync_interval_minutes = 15"),
        ('sync_interval_minutes = "15"', "sync_interval_minutes", "sync_interval_minutes = 15"),
        ("sync_interval_minutes = true", "sync_interval_minutes", "sync_interval_minutes = 15"),
        ("sync_interval_minutes = 100000", "sync_interval_minutes", "1440"),
        ("callback_working_days = 0", "callback_working_days", "callback_working_days = 2"),
        ("unreachable_after_attempts = 2.5", "unreachable_after_attempts", "= 3"),
        ("unreachable_after_days = 365", "unreachable_after_days", "unreachable_after_days = 14"),
        ('server_url = "commons.example.org"', "server_url", 'server_url = "https://'),
        ("server_url = 42", "server_url", 'server_url = "https://'),
    ],
)
def test_wrong_type_names_file_key_and_fix(paths: Paths, line: str, key: str, fix: str) -> None:
    write(paths.config_file, line + "\n")
    with pytest.raises(ConfigError) as caught:
        load_config(paths.config_file)
    message = str(caught.value)
    assert str(paths.config_file) in message
    assert f"« {key} »" in message
    assert fix in message
    assert "n'est pas valide" in message


def test_wrong_type_message_in_english(paths: Paths) -> None:
    set_language("en")
    write(paths.config_file, 'auto_sync = "yes"\n')
    with pytest.raises(ConfigError) as caught:
        load_config(paths.config_file)
    assert str(caught.value) == (
        f"{paths.config_file}: the value 'yes' of “auto_sync” is not valid. "
        "Expected: auto_sync = true or auto_sync = false."
    )


def test_unknown_key_is_refused_with_the_known_ones(paths: Paths) -> None:
    write(paths.config_file, 'langage = "fr"\n')
    with pytest.raises(ConfigError) as caught:
        load_config(paths.config_file)
    message = str(caught.value)
    assert str(paths.config_file) in message
    assert "« langage »" in message
    assert (
        "allow_http, auto_sync, ca_bundle, callback_working_days, language, server_url,"
        " sync_interval_minutes, unreachable_after_attempts, unreachable_after_days" in message
    )


# --- files written by the app ----------------------------------------------------------------


def test_config_and_secrets_are_written_0600(paths: Paths) -> None:
    save_config(paths.config_file, Config())
    save_token(paths.secrets_file, "tok-1234567890")
    for path in (paths.config_file, paths.secrets_file):
        assert mode_of(path) == 0o600, path
    assert mode_of(paths.config_dir) == 0o700
    # Written through a temporary file and os.replace: nothing else is left beside them.
    assert sorted(p.name for p in paths.config_dir.iterdir()) == ["config.toml", "secrets.toml"]


def test_rewriting_a_loose_file_makes_it_private_again(paths: Paths) -> None:
    write(paths.config_file, "")
    os.chmod(paths.config_file, 0o644)
    save_config(paths.config_file, Config(language="en"))
    assert mode_of(paths.config_file) == 0o600


# --- secrets ---------------------------------------------------------------------------------


def test_token_round_trip(paths: Paths) -> None:
    assert load_token(paths.secrets_file) is None
    save_token(paths.secrets_file, Secret("tok-s3cr3t-value"))
    token = load_token(paths.secrets_file)
    assert isinstance(token, Secret)
    assert token.reveal() == "tok-s3cr3t-value"


def test_empty_token_is_a_clear_error(paths: Paths) -> None:
    write(paths.secrets_file, 'token = ""\n')
    with pytest.raises(ConfigError) as caught:
        load_token(paths.secrets_file)
    assert str(paths.secrets_file) in str(caught.value)
    assert "fabriqueterm login" in str(caught.value)


def test_secret_never_shows_itself() -> None:
    raw = "tok-s3cr3t-value"
    secret = Secret(raw)
    shown = [
        repr(secret),
        str(secret),
        f"{secret}",
        f"{secret!r}",
        f"{secret!s}",
        f"{secret:>30}",
        f"{secret:s}",
        f"{secret}",
        "%s %r" % (secret, secret),  # noqa: UP031 - logging formats this way
        repr([secret]),
        repr({"token": secret}),
    ]
    for text in shown:
        assert raw not in text, text
    assert secret.reveal() == raw


def test_secret_is_not_logged(caplog: pytest.LogCaptureFixture) -> None:
    import logging

    secret = Secret("tok-s3cr3t-value")
    logging.getLogger("fabriqueterm.test").warning("token is %s (%r)", secret, secret)
    assert "tok-s3cr3t-value" not in caplog.text
    assert "********" in caplog.text


# --- the command line ------------------------------------------------------------------------


def run_cli(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    script = Path(sys.executable).with_name("fabriqueterm")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "fabriqueterm"]
    environment = {**os.environ, "FABRIQUETERM_HOME": str(home)}
    return subprocess.run(
        [*command, *args],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )


def test_cli_exits_2_with_the_message_on_a_malformed_config(fabriqueterm_home: Path) -> None:
    config_file = Paths.default().config_file
    write(config_file, "language = \n")
    result = run_cli(fabriqueterm_home, "--version")
    assert result.returncode == 2, result
    assert str(config_file) in result.stderr
    assert "TOML" in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


def test_cli_exits_2_on_a_wrong_type(fabriqueterm_home: Path) -> None:
    write(Paths.default().config_file, "sync_interval_minutes = 0\n")
    result = run_cli(fabriqueterm_home, "--version")
    assert result.returncode == 2, result
    assert "sync_interval_minutes" in result.stderr
    assert "Traceback" not in result.stderr


def test_cli_speaks_the_configured_language(fabriqueterm_home: Path) -> None:
    write(Paths.default().config_file, 'language = "en"\n')
    english = run_cli(fabriqueterm_home, "--help")
    assert english.returncode == 0, english
    assert "open the app on demo data" in english.stdout
    write(Paths.default().config_file, 'language = "fr"\n')
    french = run_cli(fabriqueterm_home, "--help")
    assert french.returncode == 0, french
    assert "ouvrir l'application sur les données de démonstration" in french.stdout


@pytest.mark.parametrize(
    ("line", "key"), [('allow_http = "yes"\n', "allow_http"), ("ca_bundle = 3\n", "ca_bundle")]
)
def test_the_connection_settings_are_checked(paths: Paths, line: str, key: str) -> None:
    write(paths.config_file, line)
    with pytest.raises(ConfigError) as caught:
        load_config(paths.config_file)
    assert key in str(caught.value)


def test_the_connection_settings_default_to_https_and_the_systems_certificates(
    paths: Paths,
) -> None:
    write(paths.config_file, 'server_url = "https://commons.example.org"\n')
    config = load_config(paths.config_file)
    assert config.allow_http is False and config.ca_bundle == ""
