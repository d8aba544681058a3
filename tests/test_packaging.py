"""A non-editable install works: the wheel carries the styles, the demo word lists and the French
catalogue, and an installed copy finds them (resources.py) without the source checkout."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow  # builds a wheel and installs it: about 5 s


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    # Offline and fast with the build backend at hand; else pip fetches hatchling into an isolated env.
    isolation = [] if importlib.util.find_spec("hatchling") is None else ["--no-build-isolation"]
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            *isolation,
            "--quiet",
            "--disable-pip-version-check",
            "-w",
            str(out),
            str(ROOT),
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr
    [built] = out.glob("fabriqueterm-*.whl")
    return built


@pytest.fixture(scope="module")
def names(wheel: Path) -> set[str]:
    with zipfile.ZipFile(wheel) as archive:
        return set(archive.namelist())


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("site")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "--no-index",
            "--quiet",
            "--disable-pip-version-check",
            "--target",
            str(target),
            str(wheel),
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr
    return target


def test_wheel_contains_the_package_and_its_entry_point(wheel: Path, names: set[str]) -> None:
    assert "fabriqueterm/__init__.py" in names
    assert "fabriqueterm/cli.py" in names
    with zipfile.ZipFile(wheel) as archive:
        [entry_points] = [n for n in names if n.endswith(".dist-info/entry_points.txt")]
        assert "fabriqueterm = fabriqueterm.cli:main" in archive.read(entry_points).decode()
    assert not any("/tests/" in n or n.startswith("tests/") for n in names)


def test_wheel_contains_the_styles(names: set[str]) -> None:
    sources = sorted(p.name for p in (ROOT / "styles").glob("*.tcss"))
    if not sources:
        pytest.skip("styles/ has no .tcss file yet: nothing to ship")
    shipped = sorted(
        n.rsplit("/", 1)[1]
        for n in names
        if n.startswith("fabriqueterm/_data/styles/") and n.endswith(".tcss")
    )
    assert shipped == sources


def test_wheel_contains_the_demo_word_lists(names: set[str]) -> None:
    sources = sorted(p.name for p in (ROOT / "fixtures" / "demo").glob("*.txt"))
    assert sources, "fixtures/demo/*.txt missing from the checkout"
    shipped = sorted(
        n.rsplit("/", 1)[1]
        for n in names
        if n.startswith("fabriqueterm/_data/fixtures/demo/") and n.endswith(".txt")
    )
    assert shipped == sources
    assert "fabriqueterm/_data/fixtures/demo/cities.tsv" in names


def test_wheel_contains_the_french_catalogue(names: set[str]) -> None:
    assert "fabriqueterm/locale/fr/LC_MESSAGES/fabriqueterm.mo" in names


_CHECK_INSTALLED = """
import gettext, json, sys
import fabriqueterm
from fabriqueterm.resources import data_path, locale_dir
from fabriqueterm.i18n import _, set_language
set_language("fr")
french = _("end of training")
set_language("en")
english = _("end of training")
catalogue = gettext.translation("fabriqueterm", localedir=locale_dir(), languages=["fr"])  # raises if missing
styles = None
try:
    styles = str(data_path("styles"))
except FileNotFoundError:
    pass
print(json.dumps({
    "package": fabriqueterm.__file__,
    "fixtures": str(data_path("fixtures")),
    "first_names": (data_path("fixtures") / "demo" / "first_names_f.txt").is_file(),
    "styles": styles,
    "locale": str(locale_dir()),
    "french": french,
    "english": english,
}))
"""


def test_installed_wheel_finds_its_data_without_the_checkout(
    installed: Path, tmp_path: Path
) -> None:
    import json

    environment = {key: value for key, value in os.environ.items() if not key.startswith("PYTHON")}
    environment["PYTHONPATH"] = str(installed)
    environment["FABRIQUETERM_HOME"] = str(tmp_path / "home")
    result = subprocess.run(
        [sys.executable, "-c", _CHECK_INSTALLED],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout.splitlines()[-1])
    assert Path(found["package"]).is_relative_to(installed)  # the installed copy, not the checkout
    assert Path(found["fixtures"]) == installed / "fabriqueterm" / "_data" / "fixtures"
    assert found["first_names"] is True
    if found["styles"] is not None:
        assert Path(found["styles"]).is_relative_to(installed)
    assert Path(found["locale"]).is_relative_to(installed)
    assert (found["french"], found["english"]) == ("fin de formation", "end of training")
