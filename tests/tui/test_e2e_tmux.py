"""End to end: the installed ``fabriqueterm demo`` command in a real terminal (tmux), driven with
keys and read from the screen."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed"),
]

COMMAND = Path(sys.executable).with_name("fabriqueterm")


@pytest.fixture
def tmux(fabriqueterm_home: Path) -> Iterator[Callable[..., str]]:
    """A private tmux server (its own socket) running ``fabriqueterm demo`` at 120x40."""
    if not COMMAND.exists():
        pytest.skip(f"{COMMAND} is not installed")
    # COLUMNS and LINES (set by some runners, pytest-xdist's workers among them) would override the
    # size tmux gives the app.
    inherited = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    env = {**inherited, "FABRIQUETERM_HOME": str(fabriqueterm_home), "TERM": "xterm-256color"}
    subprocess.run(
        [str(COMMAND), "demo", "--build", "--learners", "300", "--today", "2026-11-25"],
        env=env,
        check=True,
        capture_output=True,
        timeout=120,
    )
    socket = f"fabriqueterm-e2e-{os.getpid()}"
    base = ["tmux", "-L", socket]
    command = f"env FABRIQUETERM_HOME={fabriqueterm_home} {COMMAND} demo --today 2026-11-25"
    subprocess.run(
        [*base, "new-session", "-d", "-x", "120", "-y", "40", command], env=env, check=True
    )

    def run(*args: str, check: bool = True) -> str:
        return subprocess.run([*base, *args], capture_output=True, text=True, check=check).stdout

    run.alive = lambda: subprocess.run([*base, "has-session"], capture_output=True).returncode == 0  # type: ignore[attr-defined]

    try:
        yield run
    finally:
        subprocess.run([*base, "kill-server"], capture_output=True)


def wait_for(capture: Callable[[], str], text: str, timeout: float = 40.0) -> str:
    deadline = time.monotonic() + timeout
    screen = ""
    while time.monotonic() < deadline:
        screen = capture()
        if text in screen:
            return screen
        time.sleep(0.3)
    raise AssertionError(f"{text!r} never appeared on the screen:\n{screen}")


def test_the_demo_in_a_real_terminal(tmux: Callable[..., str]) -> None:
    def capture() -> str:
        return tmux("capture-pane", "-p")

    screen = wait_for(capture, "%")  # the dashboard's per-site rates, loaded in the background
    assert "25/11/2026" in screen  # the status bar's date, the French way
    assert "Fabrique" in screen
    tmux("send-keys", "2")
    screen = wait_for(capture, "☎")  # the follow-up queue with the first learner's phone
    tmux("send-keys", "4")
    wait_for(capture, "@example.org")  # the learners list
    tmux("send-keys", "C-q")
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and tmux.alive():  # type: ignore[attr-defined]
        time.sleep(0.3)
    assert not tmux.alive(), "ctrl+q did not quit the app"  # type: ignore[attr-defined]
