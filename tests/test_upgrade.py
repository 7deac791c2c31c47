"""`make upgrade` moves a generated project to a newer gitops-ml: pins, lock, behaviour, tests.

Two wheels are built from this working tree under two version numbers; the newer one changes
what `make expectations` prints. The project is rendered pinned to the older one and gets its
own environment, as a user's first `make` would build it. The wheels reach it only through
GITOPS_ML_FIND_LINKS; every other package comes from the package index, so `make lock`'s
universal re-lock runs for real.
"""

from __future__ import annotations

import re
import shutil
import time
from pathlib import Path

import pytest

from .conftest import ROOT, render_project, run

pytestmark = pytest.mark.slow

# Versions no release will carry: the package index (where gitops-ml is published) can then
# offer neither a newer wheel nor one with the same number, and the find-links folder decides.
OLD, NEW = "90.0.0", "90.1.0"
OLD_LINE = ": review, then commit it"
NEW_LINE = ": review `git diff expectations/`, then commit it"


def build_wheel(version: str, wheels: Path, work: Path, *, changes: dict[str, str]) -> Path:
    """Build gitops-ml from this working tree as `version`, with `changes` to its suite.py."""
    source = work / f"gitops-ml-{version}"
    shutil.copytree(ROOT / "src" / "gitops_ml", source / "src" / "gitops_ml",
                    ignore=shutil.ignore_patterns("__pycache__"))  # fmt: skip
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    init = source / "src" / "gitops_ml" / "__init__.py"
    text, count = re.subn(r'^__version__ = ".*"$', f'__version__ = "{version}"',
                          init.read_text(encoding="utf-8"), flags=re.M)  # fmt: skip
    assert count == 1, "src/gitops_ml/__init__.py must set __version__ on one line"
    init.write_text(text, encoding="utf-8")
    suite = source / "src" / "gitops_ml" / "suite.py"
    code = suite.read_text(encoding="utf-8")
    for old, new in changes.items():
        assert old in code, f"suite.py no longer prints {old!r}: update this test"
        code = code.replace(old, new)
    suite.write_text(code, encoding="utf-8")
    run(["uv", "build", "--wheel", "--quiet", "--out-dir", str(wheels), str(source)], work)
    return wheels / f"gitops_ml-{version}-py3-none-any.whl"


def pin_lines(text: str, name: str) -> list[str]:
    return [line for line in text.splitlines() if re.match(rf"{name}\s*[=<>~!;\[ ]", line)]


def test_make_upgrade_moves_the_pins_relocks_and_tests(tmp_path: Path):
    wheels = tmp_path / "wheels"
    assert build_wheel(OLD, wheels, tmp_path, changes={}).is_file()
    assert build_wheel(NEW, wheels, tmp_path, changes={OLD_LINE: NEW_LINE}).is_file()
    find_links = f"GITOPS_ML_FIND_LINKS={wheels}"

    # Given a project pinned to the older library, in its own environment
    project = render_project(tmp_path / "out", project_name="Upgrade", _gitops_ml_version=OLD)
    run(["make", "env", find_links], project)
    gitops_ml = project / ".venv" / "bin" / "gitops-ml"
    assert run([str(gitops_ml), "--version"], project).stdout == f"gitops-ml {OLD}\n"
    before = run(["make", "expectations"], project).stdout
    assert OLD_LINE in before.splitlines()[-1]
    lock_before = (project / "requirements.lock").read_text(encoding="utf-8")

    # When it upgrades
    started = time.monotonic()
    upgrade = run(["make", "upgrade", find_links], project)
    print(f"\n[make upgrade: {time.monotonic() - started:.0f} s]", upgrade.stdout, upgrade.stderr)

    # Then both pins moved, the lock was re-made without the library, and the tests ran
    assert f"gitops-ml {OLD} -> {NEW} (Makefile, pyproject.toml)" in upgrade.stdout
    makefile = (project / "Makefile").read_text(encoding="utf-8")
    assert re.findall(r"^GITOPS_ML_VERSION := (\S+)$", makefile, re.M) == [NEW]
    pyproject = (project / "pyproject.toml").read_text(encoding="utf-8")
    assert re.findall(r'"gitops-ml==([^"]+)"', pyproject) == [NEW]
    assert "uv pip compile pyproject.toml" in upgrade.stdout
    lock = (project / "requirements.lock").read_text(encoding="utf-8")
    assert pin_lines(lock, "gitops-ml") == []
    assert "gitops" not in lock, "no annotation names the library either"
    # The new version needs nothing new: the re-lock keeps every pin (uv prefers them).
    assert lock == lock_before
    assert re.search(r"^=+ \d+ passed", upgrade.stdout, re.M), "make upgrade runs make test"
    assert f"Upgraded to gitops-ml {NEW} and the tests pass" in upgrade.stdout

    # And the project now behaves as the new version does
    assert run([str(gitops_ml), "--version"], project).stdout == f"gitops-ml {NEW}\n"
    after = run(["make", "expectations"], project).stdout
    assert NEW_LINE in after.splitlines()[-1]
    assert OLD_LINE not in after

    # A second upgrade finds nothing newer and neither re-locks nor re-tests
    again = run(["make", "upgrade", find_links], project)
    assert f"Already on gitops-ml {NEW} (the newest available): nothing to do" in again.stdout
    assert "uv pip compile" not in again.stdout
    assert "passed" not in again.stdout
