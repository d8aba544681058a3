"""The dependency locks agree with pyproject.toml, and this environment was installed from them
(scripts/check_lock.py). When this fails after editing pyproject.toml: `bash scripts/lock`."""

from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]


def load_check() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "fabriqueterm_check_lock", ROOT / "scripts" / "check_lock.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


check = load_check()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of what the check reads: pyproject.toml and the locks."""
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    shutil.copytree(ROOT / "requirements", tmp_path / "requirements")
    return tmp_path


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_the_locks_agree_with_pyproject_and_this_environment() -> None:
    assert check.problems() == [], check.FIX


def test_every_pin_is_exact_and_hashed() -> None:
    for name in ("app", "server", "test", "tools"):
        pins = check.read_lock(ROOT / "requirements" / f"{name}.txt")
        assert len(pins) > 5
        assert all(pin.hashes >= 1 for pin in pins.values())
    app = check.read_lock(ROOT / "requirements" / "app.txt")
    test = check.read_lock(ROOT / "requirements" / "test.txt")
    assert {"textual", "sqlmodel", "httpx", "hatchling"} <= set(app)
    assert {"pytest", "psycopg", "psycopg-binary", "babel", "editables"} <= set(test)
    assert "pytest" not in app  # the app does not install the test tools
    assert set(app) < set(test)
    server = check.read_lock(ROOT / "requirements" / "server.txt")
    # The commons: the app's run-time dependencies and the PostgreSQL driver, not the build backend
    # (it installs the released wheel) nor the test tools.
    assert {"textual", "fastapi", "uvicorn", "psycopg", "psycopg-binary"} <= set(server)
    assert not {"hatchling", "editables", "pytest"} & set(server)
    assert set(server) - {"psycopg", "psycopg-binary"} < set(app)
    assert set(server) < set(test)


def test_every_lock_in_requirements_is_checked_and_written_by_scripts_lock() -> None:
    checked = {Path(lock).name for lock in check.locks(check.Project.read(ROOT))}
    on_disk = {path.name for path in (ROOT / "requirements").glob("*.txt")}
    assert checked == on_disk - {"tools.txt"}
    script = (ROOT / "scripts" / "lock").read_text(encoding="utf-8")
    for name in on_disk:
        assert f"--output-file requirements/{name}" in script, name
        header = (ROOT / "requirements" / name).read_text(encoding="utf-8")
        assert "#    bash scripts/lock\n" in header, name


def test_the_deploy_guide_installs_the_server_lock() -> None:
    """docs/deploy.md installs the commons from requirements/server.txt, hash-checked, and the
    wheel without resolving anything afresh (issue #14: pipx resolved the dependencies at install
    time, so a commons ran versions no test had run)."""
    guide = (ROOT / "docs" / "deploy.md").read_text(encoding="utf-8")
    assert "pip install --require-hashes -r requirements/server.txt" in guide
    assert "pip install --no-deps ./fabriqueterm-" in guide
    assert "pipx install" not in guide and "pipx inject" not in guide


def test_a_new_dependency_without_a_pin_is_reported(project: Path) -> None:
    edit(
        project / "pyproject.toml",
        '    "XlsxWriter>=3.2",\n',
        '    "XlsxWriter>=3.2",\n    "openpyxl>=3.1",\n',
    )
    found = check.problems(project)
    assert (
        "requirements/app.txt: pyproject.toml asks for openpyxl>=3.1, the lock has no openpyxl"
        in found
    )
    # openpyxl and what it needs are installed (the tests use them) but not in the app's lock.
    assert "requirements/app.txt: et-xmlfile is needed (installed 2.0.0) but not locked" in found
    assert (
        "requirements/server.txt: pyproject.toml asks for openpyxl>=3.1, the lock has no openpyxl"
        in found
    )
    assert not any(line.startswith("requirements/test.txt") for line in found)


def test_a_range_the_pin_falls_out_of_is_reported(project: Path) -> None:
    edit(project / "pyproject.toml", '"httpx>=0.27"', '"httpx>=99"')
    found = check.problems(project)
    pinned = check.read_lock(ROOT / "requirements" / "app.txt")["httpx"].version
    for lock in ("app", "server", "test"):
        assert (
            f"requirements/{lock}.txt: pyproject.toml asks for httpx>=99, the lock pins httpx=={pinned}"
            in found
        )


def test_a_removed_dependency_leaves_a_stale_pin_that_is_reported(project: Path) -> None:
    edit(project / "pyproject.toml", '    "XlsxWriter>=3.2",\n', "")
    found = check.problems(project)
    version = check.read_lock(ROOT / "requirements" / "app.txt")["xlsxwriter"].version
    assert f"requirements/app.txt: xlsxwriter=={version} is locked but nothing needs it" in found


def test_an_unhashed_pin_and_diverging_app_and_test_pins_are_reported(project: Path) -> None:
    lock = project / "requirements" / "app.txt"
    pins = check.read_lock(lock)
    text = lock.read_text(encoding="utf-8")
    start = text.index(f"tomli-w=={pins['tomli-w'].version}")
    end = text.index("\n", text.index("# via", start))
    lock.write_text(text[:start] + "tomli-w==0.0.1\n" + text[end + 1 :], encoding="utf-8")
    found = check.problems(project)
    assert "requirements/app.txt: tomli-w==0.0.1 has no hash" in found
    assert any(line.startswith("requirements/app.txt pins tomli-w==0.0.1") for line in found)
    assert any("tomli-w is installed at" in line for line in found)


def test_a_server_lock_without_the_postgres_extra_is_reported(project: Path) -> None:
    """The commons installed from the app's lock: no psycopg, and a build backend nothing needs."""
    shutil.copy(project / "requirements" / "app.txt", project / "requirements" / "server.txt")
    found = check.problems(project)
    assert (
        "requirements/server.txt: pyproject.toml asks for psycopg[binary]>=3.2, the lock has no psycopg"
        in found
    )
    assert any(
        line.startswith("requirements/server.txt: psycopg-binary is needed (installed")
        for line in found
    )
    version = check.read_lock(ROOT / "requirements" / "app.txt")["hatchling"].version
    assert f"requirements/server.txt: hatchling=={version} is locked but nothing needs it" in found
    assert not any(line.startswith("requirements/app.txt") for line in found)


def test_a_missing_server_lock_and_a_server_pin_off_the_tested_one_are_reported(
    project: Path,
) -> None:
    lock = project / "requirements" / "server.txt"
    version = check.read_lock(lock)["psycopg"].version
    edit(lock, f"psycopg=={version} ", "psycopg==3.2.0 ")
    found = check.problems(project)
    assert any(
        line.startswith("requirements/server.txt pins psycopg==3.2.0, requirements/test.txt")
        for line in found
    )
    assert (
        f"requirements/server.txt: psycopg is installed at {version}, locked at 3.2.0: "
        in "\n".join(found)
    )
    lock.unlink()
    assert "requirements/server.txt is missing" in check.problems(project)
