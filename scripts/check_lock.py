"""Check that the dependency locks (requirements/*.txt) say what pyproject.toml asks, and that this
environment was installed from them. Exit 1 listing each disagreement, with the fix.

    .venv/bin/python scripts/check_lock.py

Run it in the test environment (README, second command): it follows the dependencies of the
installed packages, from pyproject.toml's requirements down, and compares what it finds with each
lock:
- every requirement of pyproject.toml (dependencies, the test and postgres extras, the build
  backend and what it asks to build the wheel and the editable install) is pinned, at a version its
  range allows;
- the three locks it checks: ``app.txt`` (the dependencies and the build backend: the README's
  first command), ``server.txt`` (the dependencies and the ``postgres`` extra, no build backend:
  what a commons installs beside the released wheel, docs/deploy.md) and ``test.txt`` (every
  extra and the build backend);
- each lock holds exactly the packages those requirements pull in: nothing missing (pip's
  ``--require-hashes`` would refuse to install), nothing left over from a requirement since removed;
- every pin carries hashes, the app's and the server's pins are the tested ones, and the installed
  versions are the locked ones (an environment installed some other way tests something else).

tests/test_lock.py runs it, so the suite fails while pyproject.toml and the locks disagree. The fix is
always the same: ``bash scripts/lock``, then commit pyproject.toml and requirements/ together.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import os
import re
import sys
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
FIX = "run `bash scripts/lock` and commit pyproject.toml with requirements/"
_PIN = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>[^\s\\;]+)")
_HASH = re.compile(r"--hash=sha256:[0-9a-f]{64}")


@dataclass(frozen=True)
class Pin:
    version: str
    hashes: int


def read_lock(path: Path) -> dict[NormalizedName, Pin]:
    """The pins of a pip-compile output: ``name==version`` lines and the hashes that follow them."""
    pins: dict[NormalizedName, Pin] = {}
    current: NormalizedName | None = None
    for line in path.read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        match = _PIN.match(stripped)
        if match:
            current = canonicalize_name(match["name"])
            pins[current] = Pin(match["version"], len(_HASH.findall(stripped)))
        elif current is not None and _HASH.search(stripped):
            pins[current] = Pin(pins[current].version, pins[current].hashes + 1)
    return pins


@dataclass(frozen=True)
class Project:
    name: NormalizedName
    dependencies: list[Requirement]
    extras: dict[str, list[Requirement]]
    build_requires: list[Requirement]

    @classmethod
    def read(cls, root: Path) -> Project:
        data = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
        project = data["project"]
        build = data.get("build-system", {})
        requires = [Requirement(text) for text in build.get("requires", [])]
        backend = build.get("build-backend")
        if backend:  # what the backend asks on top, as pip-compile --all-build-deps records it
            requires += [Requirement(text) for text in backend_requires(root, backend)]
        return cls(
            name=canonicalize_name(project["name"]),
            dependencies=[Requirement(text) for text in project.get("dependencies", [])],
            extras={
                extra: [Requirement(text) for text in texts]
                for extra, texts in project.get("optional-dependencies", {}).items()
            },
            build_requires=requires,
        )

    def requirements(self, extras: Iterable[str] = (), *, build: bool = True) -> list[Requirement]:
        """What installing the project with ``extras`` asks for, its own extras expanded, plus what
        building it needs (unless ``build`` is false: a built wheel is installed)."""
        found = list(self.dependencies) + (list(self.build_requires) if build else [])
        todo, done = list(extras), set()
        while todo:
            extra = todo.pop()
            if extra in done:
                continue
            done.add(extra)
            for requirement in self.extras.get(extra, []):
                if canonicalize_name(requirement.name) == self.name:
                    todo.extend(requirement.extras)
                else:
                    found.append(requirement)
        return found


def backend_requires(root: Path, backend: str) -> list[str]:
    module = importlib.import_module(backend.partition(":")[0])
    found: list[str] = []
    previous = Path.cwd()
    os.chdir(root)  # PEP 517 hooks run in the project's folder
    try:
        for hook in ("get_requires_for_build_wheel", "get_requires_for_build_editable"):
            if hasattr(module, hook):
                found += getattr(module, hook)(None)
    finally:
        os.chdir(previous)
    return found


def applies(requirement: Requirement, extras: Iterable[str]) -> bool:
    if requirement.marker is None:
        return True
    environment = default_environment()
    return any(
        requirement.marker.evaluate({**environment, "extra": extra}) for extra in (*extras, "")
    )


def closure(roots: Iterable[Requirement]) -> tuple[dict[NormalizedName, str], list[str]]:
    """Every installed distribution that ``roots`` pull in, with its installed version; and the
    requirements no installed distribution answers."""
    installed: dict[NormalizedName, str] = {}
    missing: list[str] = []
    walked: set[tuple[NormalizedName, frozenset[str]]] = set()
    todo = [(requirement, frozenset[str]()) for requirement in roots]
    while todo:
        requirement, parent_extras = todo.pop()
        if not applies(requirement, parent_extras):
            continue
        name = canonicalize_name(requirement.name)
        extras = frozenset(requirement.extras)
        if (name, extras) in walked:
            continue
        walked.add((name, extras))
        try:
            distribution = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            missing.append(str(requirement))
            continue
        installed[name] = distribution.version
        for text in distribution.requires or []:
            todo.append((Requirement(text), extras))
    return installed, missing


def locks(project: Project) -> dict[str, list[Requirement]]:
    """Each lock this check reads, with the requirements it must answer. (``requirements/tools.txt``,
    pip-tools for ``scripts/lock``, is compiled from ``tools.in``, not from pyproject.toml.)"""
    return {
        "requirements/app.txt": project.requirements(),
        "requirements/server.txt": project.requirements(["postgres"], build=False),
        "requirements/test.txt": project.requirements(project.extras),
    }


def problems(root: Path = ROOT) -> list[str]:
    project = Project.read(root)
    found: list[str] = []
    pinned: dict[str, dict[NormalizedName, Pin]] = {}
    for lock, requirements in locks(project).items():
        path = root / lock
        if not path.exists():
            found.append(f"{lock} is missing")
            continue
        pins = pinned[lock] = read_lock(path)
        for requirement in requirements:
            name = canonicalize_name(requirement.name)
            if not applies(requirement, ()):
                continue
            pin = pins.get(name)
            if pin is None:
                found.append(
                    f"{lock}: pyproject.toml asks for {requirement}, the lock has no {name}"
                )
            elif not requirement.specifier.contains(Version(pin.version), prereleases=True):
                found.append(
                    f"{lock}: pyproject.toml asks for {requirement}, the lock pins {name}=={pin.version}"
                )
        for name, pin in sorted(pins.items()):
            if pin.hashes == 0:
                found.append(f"{lock}: {name}=={pin.version} has no hash")
        installed, unanswered = closure(requirements)
        found += [f"{lock}: {text} is not installed in this environment" for text in unanswered]
        for name in sorted(set(installed) - set(pins)):
            found.append(f"{lock}: {name} is needed (installed {installed[name]}) but not locked")
        for name in sorted(set(pins) - set(installed) - set(_unreached(unanswered))):
            found.append(f"{lock}: {name}=={pins[name].version} is locked but nothing needs it")
        for name in sorted(set(pins) & set(installed)):
            if Version(installed[name]) != Version(pins[name].version):
                found.append(
                    f"{lock}: {name} is installed at {installed[name]}, locked at "
                    f"{pins[name].version}: install from the lock (README)"
                )
    test = pinned.get("requirements/test.txt", {})
    for lock in ("requirements/app.txt", "requirements/server.txt"):
        for name, pin in sorted(pinned.get(lock, {}).items()):
            if name in test and test[name].version != pin.version:
                found.append(
                    f"{lock} pins {name}=={pin.version}, requirements/test.txt "
                    f"{test[name].version}: the app must ship what its tests ran"
                )
    return found


def _unreached(unanswered: list[str]) -> list[NormalizedName]:
    return [canonicalize_name(Requirement(text).name) for text in unanswered]


def main() -> int:
    found = problems()
    for line in found:
        print(line, file=sys.stderr)
    if found:
        print(f"the locks disagree with pyproject.toml: {FIX}", file=sys.stderr)
        return 1
    print(
        "locks: requirements/app.txt, requirements/server.txt and requirements/test.txt "
        "match pyproject.toml"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
