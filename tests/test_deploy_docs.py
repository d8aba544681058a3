"""docs/deploy.md and the files it ships are real: every ``fabriqueterm …`` command in its code
blocks is one the command line accepts (parsed, never run), the systemd units pass
``systemd-analyze verify`` (where it exists) and hold what the doc says they hold, and the nginx
template it names exists."""

from __future__ import annotations

import argparse
import configparser
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from fabriqueterm.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "deploy.md"
SYSTEMD = ROOT / "deploy" / "systemd"
UNITS = ("fabriqueterm-commons.service", "fabriqueterm-backup.service", "fabriqueterm-backup.timer")
INSTALLED = "/usr/local/bin/fabriqueterm"

# Words that may come before the command on a line: `sudo -u USER`, `VAR=value`, `exec`.
_PREFIX_WORDS = {"sudo", "exec", "env"}


def code_lines(text: str) -> list[str]:
    """The lines of the fenced code blocks, with backslash continuations joined."""
    lines: list[str] = []
    inside = False
    pending = ""
    for line in text.splitlines():
        if line.lstrip().startswith("```"):
            inside = not inside
            continue
        if not inside:
            continue
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        lines.append(pending + line)
        pending = ""
    return lines


def command_argv(words: list[str]) -> list[str] | None:
    """The arguments after ``fabriqueterm`` when these words run it, else None."""
    index = 0
    while index < len(words):
        word = words[index]
        if word in _PREFIX_WORDS:
            index += 1
            if word == "sudo" and index < len(words) and words[index] == "-u":
                index += 2
            continue
        if re.fullmatch(r"[A-Z_][A-Z0-9_]*=.*", word):
            index += 1
            continue
        break
    if index < len(words) and (words[index] == "fabriqueterm" or words[index] == INSTALLED):
        return words[index + 1 :]
    return None


def doc_commands() -> list[list[str]]:
    commands = []
    for line in code_lines(DOC.read_text(encoding="utf-8")):
        argv = command_argv(shlex.split(line, comments=True))
        if argv is not None:
            commands.append(argv)
        elif re.search(r"(^|[\s/])fabriqueterm\s+(server|login|sync|--version)\b", line):
            pytest.fail(f"a fabriqueterm command this test cannot read: {line!r}")
    return commands


def parse(argv: list[str]) -> argparse.Namespace:
    """Parse with the real parser; fail on what argparse refuses, or on a bare command group
    (``server admin`` alone only prints its help)."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as error:
        if error.code == 0 and ("--help" in argv or argv == ["--version"]):
            return argparse.Namespace()
        pytest.fail(f"argparse refuses `fabriqueterm {shlex.join(argv)}` (exit {error.code})")
    handler = getattr(args, "handler", None)
    assert handler is not None
    assert not handler.__qualname__.startswith("_help."), f"incomplete: {shlex.join(argv)}"
    return args


def test_the_doc_has_the_commands_an_administrator_needs() -> None:
    commands = [shlex.join(argv) for argv in doc_commands()]
    for needed in (
        "server migrate",
        "server migrate --check",
        "server run --host 127.0.0.1",
        "server backup --force",
        "server restore",
        "server admin audit",
        "server admin token list",
        "login https://",
    ):
        assert any(needed in command for command in commands), needed


@pytest.mark.parametrize("argv", doc_commands(), ids=shlex.join)
def test_every_command_in_the_doc_is_accepted(argv: list[str]) -> None:
    parse(argv)


def test_a_wrong_command_is_caught(capsys: pytest.CaptureFixture[str]) -> None:
    """The check above can fail: a misspelt option and a bare group are refused."""
    with pytest.raises(pytest.fail.Exception):
        parse(["server", "migrate", "--chek"])
    with pytest.raises(AssertionError):
        parse(["server", "admin"])
    capsys.readouterr()


def test_the_doc_names_the_shipped_files() -> None:
    text = DOC.read_text(encoding="utf-8")
    for name in (*[f"deploy/systemd/{unit}" for unit in UNITS], "deploy/nginx/fabriqueterm.conf"):
        assert name in text
        assert (ROOT / name).is_file(), name
    template = (ROOT / "deploy" / "nginx" / "fabriqueterm.conf").read_text(encoding="utf-8")
    for placeholder in re.findall(r"\$\{([A-Z_]+)\}", template):
        assert f"${{{placeholder}}}" in text, f"the doc's envsubst leaves ${{{placeholder}}}"


def read_unit(name: str) -> configparser.ConfigParser:
    unit = configparser.ConfigParser(interpolation=None, strict=False)
    unit.optionxform = str  # type: ignore[assignment,method-assign]
    unit.read_string((SYSTEMD / name).read_text(encoding="utf-8"))
    return unit


def exec_argv(line: str) -> list[str]:
    """The fabriqueterm arguments of an ``ExecStart=`` line (through ``/bin/sh -c '…'``)."""
    words = shlex.split(line.replace("%%", "%"))
    if words[0] in ("/bin/sh", "/usr/bin/sh") and words[1] == "-c":
        words = shlex.split(words[2])
    assert INSTALLED in words, f"{line!r} does not run {INSTALLED}"
    argv = command_argv(words)
    assert argv is not None, line
    return argv


def test_the_commons_service_runs_the_server_as_the_doc_says() -> None:
    service = read_unit("fabriqueterm-commons.service")["Service"]
    assert service["User"] == "fabriqueterm"
    assert service["EnvironmentFile"] == "/etc/fabriqueterm/server.env"
    assert service["Restart"] == "on-failure"
    for hardening in ("NoNewPrivileges", "ProtectSystem", "PrivateTmp", "ReadWritePaths"):
        assert service[hardening], hardening
    argv = exec_argv(service["ExecStart"])
    assert argv[:2] == ["server", "run"]
    args = parse(argv)
    assert args.host == "127.0.0.1"
    assert args.workers >= 2
    assert args.log_format == "json"
    assert args.database_url is None  # from EnvironmentFile, never on the command line
    assert f"fabriqueterm {shlex.join(argv)}" in DOC.read_text(encoding="utf-8")


def test_the_backup_service_and_its_timer() -> None:
    service = read_unit("fabriqueterm-backup.service")["Service"]
    assert service["Type"] == "oneshot"
    assert service["User"] == "fabriqueterm"
    assert service["EnvironmentFile"] == "/etc/fabriqueterm/server.env"
    argv = exec_argv(service["ExecStart"])
    assert argv[:2] == ["server", "backup"]
    args = parse(argv)
    assert args.force
    assert "$(date +%F)" in str(args.file)
    assert args.database_url is None
    backups = Path(args.file).parent.as_posix()
    assert backups in service["ReadWritePaths"].split()
    assert "-delete" in service["ExecStartPost"] and backups in service["ExecStartPost"]
    timer = read_unit("fabriqueterm-backup.timer")
    assert timer["Timer"]["OnCalendar"]
    assert timer["Install"]["WantedBy"] == "timers.target"


def test_systemd_analyze_verify(tmp_path: Path) -> None:
    verify = shutil.which("systemd-analyze")
    if verify is None:
        pytest.skip("systemd-analyze is not installed here (no systemd): units parsed only")
    # verify checks that ExecStart's program exists: point it at this environment's fabriqueterm.
    installed = shutil.which("fabriqueterm") or str(Path(sys.executable).parent / "fabriqueterm")
    assert Path(installed).exists()
    for unit in UNITS:
        text = (SYSTEMD / unit).read_text(encoding="utf-8").replace(INSTALLED, installed)
        (tmp_path / unit).write_text(text, encoding="utf-8")
    result = subprocess.run(
        [verify, "verify", "--man=no", *(str(tmp_path / unit) for unit in UNITS)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    # An unknown key or a bad value is only a warning (exit 0): any output fails too.
    assert result.returncode == 0 and not result.stdout and not result.stderr, (
        result.stdout + result.stderr
    )
