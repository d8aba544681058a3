"""Where data and config live, the config file (what people edit) and the secrets file (the API
token, 0600, never printed), and the folder where the files the app writes for people go.

``$FABRIQUETERM_HOME`` puts all of them under one folder, so tests and the demo never touch a real
coordinator's files. Nothing is created at import time.
"""

from __future__ import annotations

import os
import tempfile
import tomllib
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import platformdirs
import tomli_w

from fabriqueterm.i18n import LANGUAGES, N_, _

APP_NAME = "fabriqueterm"
HOME_ENV = "FABRIQUETERM_HOME"


class ConfigError(Exception):
    """A config file that cannot be used: says which file, which key and how to fix it."""


def default_documents_dir() -> Path:
    """Where the files the app writes for people go by default (weekly summaries, personal-data
    exports): ``$FABRIQUETERM_HOME/documents`` when set, else the user's documents folder."""
    home = os.environ.get(HOME_ENV)
    if home:
        return Path(home).expanduser() / "documents"
    return Path(platformdirs.user_documents_dir())


@dataclass(frozen=True)
class Paths:
    """Every file of one fabriqueterm home, and the documents folder of its user."""

    data_dir: Path
    config_dir: Path
    #: The person's documents folder (``$FABRIQUETERM_HOME/documents`` or ~/Documents), also for
    #: the demo's home: what the app writes for people is found where their other files are.
    documents_dir: Path = field(default_factory=default_documents_dir)

    @property
    def database(self) -> Path:
        return self.data_dir / "fabriqueterm.sqlite3"

    @property
    def config_file(self) -> Path:
        return self.config_dir / "config.toml"

    @property
    def secrets_file(self) -> Path:
        return self.config_dir / "secrets.toml"

    @classmethod
    def under(cls, home: Path) -> Paths:
        home = Path(home)
        return cls(data_dir=home / "data", config_dir=home / "config")

    @classmethod
    def default(cls) -> Paths:
        """The user's paths: ``$FABRIQUETERM_HOME`` when set, else platformdirs' user dirs."""
        home = os.environ.get(HOME_ENV)
        if home:
            return cls.under(Path(home).expanduser())
        return cls(
            data_dir=Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)),
            config_dir=Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)),
        )

    def ensure(self) -> None:
        """Create the folders, readable by their owner only (they hold personal data)."""
        for folder in (self.data_dir, self.config_dir):
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)


def demo_home() -> Path:
    """The demo's own home, apart from any real coordinator's data."""
    override = os.environ.get("FABRIQUETERM_DEMO_HOME")
    if override:
        return Path(override).expanduser()
    home = os.environ.get(HOME_ENV)
    if home:
        return Path(home).expanduser() / "demo"
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)) / "demo"


@dataclass(frozen=True)
class Config:
    """What a coordinator sets in ``config.toml``."""

    server_url: str = ""
    #: Send the token over http:// to any address (a lab without TLS); loopback never needs it.
    allow_http: bool = False
    #: A PEM file of certificates to trust for the commons (e.g. a self-signed one); "" = the
    #: system's. ``$FABRIQUETERM_CA_BUNDLE`` overrides it.
    ca_bundle: str = ""
    language: str = "fr"
    auto_sync: bool = True
    sync_interval_minutes: int = 15
    #: The follow-up rules (docs/domain.md), tunable by a network: the call-back proposed after an
    #: unanswered call, and when a follow-up may close as unreachable.
    callback_working_days: int = 2
    unreachable_after_attempts: int = 3
    unreachable_after_days: int = 14


_HINTS = {
    "server_url": N_('a web address in quotes, e.g. server_url = "https://commons.example.org"'),
    "allow_http": N_("allow_http = true or allow_http = false"),
    "ca_bundle": N_('a file path in quotes, e.g. ca_bundle = "/etc/ssl/commons-ca.pem"'),
    "language": N_('language = "fr" or language = "en"'),
    "auto_sync": N_("auto_sync = true or auto_sync = false"),
    "sync_interval_minutes": N_(
        "a whole number of minutes between 1 and 1440, e.g. sync_interval_minutes = 15"
    ),
    "callback_working_days": N_(
        "a whole number of working days between 1 and 20, e.g. callback_working_days = 2"
    ),
    "unreachable_after_attempts": N_(
        "a whole number of attempts between 1 and 10, e.g. unreachable_after_attempts = 3"
    ),
    "unreachable_after_days": N_(
        "a whole number of days between 0 and 90, e.g. unreachable_after_days = 14"
    ),
}

_RANGES = {
    "sync_interval_minutes": (1, 1440),
    "callback_working_days": (1, 20),
    "unreachable_after_attempts": (1, 10),
    "unreachable_after_days": (0, 90),
}


def _check(path: Path, key: str, value: Any, ok: bool) -> None:
    if not ok:
        raise ConfigError(
            _("{file}: the value {value} of “{key}” is not valid. Expected: {hint}.").format(
                file=path, value=repr(value), key=key, hint=_(_HINTS[key])
            )
        )


def _read_toml(path: Path, fix: str | None = None) -> dict[str, Any]:
    """The TOML at ``path`` ({} when missing); ``fix`` says how to repair it (else: edit it or
    delete it to get the defaults)."""
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        return {}
    except UnicodeDecodeError as error:
        raise ConfigError(
            _(
                "{file} is not UTF-8 text (byte {byte} at position {position}): it was probably saved in another encoding. {fix}"
            ).format(
                file=path,
                byte=f"0x{error.object[error.start]:02x}",
                position=error.start,
                fix=fix
                or _(
                    "Open it in a text editor and save it as UTF-8, or delete it to get the defaults."
                ),
            )
        ) from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(
            _(
                "{file} is not valid TOML ({detail}). Fix the line shown or delete the file to get the defaults."
            ).format(file=path, detail=error)
        ) from None
    except OSError as error:
        raise ConfigError(
            _("{file} cannot be read ({detail}).").format(file=path, detail=error.strerror)
        ) from None


def load_config(path: Path) -> Config:
    """Read ``config.toml``; a missing file gives the defaults, a bad one a :class:`ConfigError`."""
    raw = _read_toml(path)
    known = {f.name for f in fields(Config)}
    for key in raw:
        if key not in known:
            raise ConfigError(
                _(
                    "{file}: unknown key “{key}”. Known keys: {known}. Remove it or fix its spelling."
                ).format(file=path, key=key, known=", ".join(sorted(known)))
            )
    if "server_url" in raw:
        url = raw["server_url"]
        _check(
            path,
            "server_url",
            url,
            isinstance(url, str) and (url == "" or url.startswith(("http://", "https://"))),
        )
    if "language" in raw:
        _check(path, "language", raw["language"], raw["language"] in LANGUAGES)
    if "allow_http" in raw:
        _check(path, "allow_http", raw["allow_http"], isinstance(raw["allow_http"], bool))
    if "ca_bundle" in raw:
        _check(path, "ca_bundle", raw["ca_bundle"], isinstance(raw["ca_bundle"], str))
    if "auto_sync" in raw:
        _check(path, "auto_sync", raw["auto_sync"], isinstance(raw["auto_sync"], bool))
    for key, (low, high) in _RANGES.items():
        if key in raw:
            number = raw[key]
            _check(
                path,
                key,
                number,
                isinstance(number, int) and not isinstance(number, bool) and low <= number <= high,
            )
    return Config(**raw)


def _write_private(path: Path, data: dict[str, Any]) -> None:
    """Write TOML atomically (temporary file + ``os.replace``), readable by the owner only."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    descriptor, temporary = tempfile.mkstemp(
        dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"
    )
    try:
        with os.fdopen(descriptor, "wb") as handle:
            tomli_w.dump(data, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def save_config(path: Path, config: Config) -> None:
    _write_private(path, asdict(config))


class Secret(str):
    """A token that never shows itself in a repr, a log line or a traceback."""

    def __repr__(self) -> str:
        return "Secret('********')"

    def __str__(self) -> str:
        return "********"

    def __format__(self, spec: str) -> str:
        return format("********", spec)

    def reveal(self) -> str:
        return str.__str__(self)


def load_token(path: Path) -> Secret | None:
    """The stored API token, or None when not logged in."""
    raw = _read_toml(
        path,
        fix=_("Delete it and run “fabriqueterm login” again to store the token anew."),
    )
    token = raw.get("token")
    if token is None:
        return None
    if not isinstance(token, str) or not token:
        raise ConfigError(
            _("{file}: “token” must be a non-empty string. Run “fabriqueterm login” again.").format(
                file=path
            )
        )
    return Secret(token)


def save_token(path: Path, token: str) -> None:
    """Store the API token in a file only its owner can read."""
    _write_private(path, {"token": token.reveal() if isinstance(token, Secret) else token})
