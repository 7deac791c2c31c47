"""Dependency updates as pull requests: Dependabot's configuration, here and in generated projects.

Each file must validate against Dependabot's schema (check-jsonschema's vendored copy), cover
every ecosystem the repository uses (a directory with workflows or an action.yml, a
pyproject.toml), and group a week's updates per ecosystem into one pull request.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import yaml

from .conftest import ROOT, SHARED_VENV, render_project

TEMPLATE = "{{cookiecutter.project_slug}}"
PIN = re.compile(r"uses:\s*([\w.-]+/[\w./-]+)@([0-9a-f]{40})\s*#\s*(v[\w.-]+)")


def schema_check(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            str(SHARED_VENV / "bin" / "check-jsonschema"),
            "--builtin-schema",
            "vendor.dependabot",
            str(path),
        ],
        capture_output=True,
        text=True,
    )


def files(root: Path) -> list[str]:
    """Tracked and untracked (not ignored) files of a git work tree."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [name for name in listed.splitlines() if (root / name).is_file()]


def directory(path: str) -> str:
    parent = str(Path(path).parent)
    return "/" if parent == "." else f"/{parent}"


def used_ecosystems(names: list[str]) -> set[tuple[str, str]]:
    """(ecosystem, directory) pairs Dependabot must watch: workflows live in /.github/workflows
    (watched as `/`), composite actions in their action.yml's directory, Python in the
    directory of a pyproject.toml."""
    needed = set()
    for name in names:
        if re.fullmatch(r"\.github/workflows/[^/]+\.ya?ml", name):
            needed.add(("github-actions", "/"))
        elif Path(name).name in ("action.yml", "action.yaml"):
            needed.add(("github-actions", directory(name)))
        elif Path(name).name == "pyproject.toml":
            needed.add(("pip", directory(name)))
    return needed


def configured(config: dict) -> set[tuple[str, str]]:
    pairs = set()
    for update in config["updates"]:
        for folder in update.get("directories") or [update["directory"]]:
            pairs.add((update["package-ecosystem"], folder.rstrip("/") or "/"))
    return pairs


def assert_weekly_and_grouped(config: dict) -> None:
    for update in config["updates"]:
        name = update["package-ecosystem"]
        assert update["schedule"]["interval"] == "weekly", name
        groups = update.get("groups") or {}
        assert any(group.get("patterns") == ["*"] for group in groups.values()), (
            f"{name}: a week's updates must arrive as one pull request (a group of '*')"
        )
        assert update["cooldown"]["default-days"] >= 7, f"{name}: no release younger than 7 days"


# ---------------------------------------------------------------- this repository

REPO_CONFIG = ROOT / ".github" / "dependabot.yml"
# Not this repository's dependencies: the template (Jinja, rendered and checked below) and the
# act stand-ins under harness/standins/ (local composite actions that use no remote action).
NOT_OURS = (f"{TEMPLATE}/", "tests/", "harness/standins/")


def test_repository_config_matches_the_dependabot_schema():
    result = schema_check(REPO_CONFIG)
    assert result.returncode == 0, result.stdout + result.stderr


def test_repository_config_covers_every_ecosystem_it_uses():
    names = [n for n in files(ROOT) if not n.startswith(NOT_OURS)]
    config = yaml.safe_load(REPO_CONFIG.read_text(encoding="utf-8"))
    needed = used_ecosystems(names)
    assert ("pip", "/") in needed and ("github-actions", "/actions/report") in needed
    assert needed <= configured(config), f"not watched: {sorted(needed - configured(config))}"
    stale = {pair for pair in configured(config) if not (ROOT / pair[1].lstrip("/")).is_dir()}
    assert not stale, f"watched directories that do not exist: {sorted(stale)}"
    assert_weekly_and_grouped(config)


def test_template_pins_the_actions_dependabot_updates_here():
    """Dependabot cannot parse the template's Jinja workflows; it bumps the same actions in this
    repository's files. A bump leaves the template behind: this test then names the pin."""
    watched = {
        PIN.search(line).groups()
        for name in files(ROOT)
        if name.startswith((".github/workflows/", "actions/")) and name.endswith(".yml")
        for line in (ROOT / name).read_text(encoding="utf-8").splitlines()
        if PIN.search(line)
    }
    template = ROOT / TEMPLATE / ".github" / "workflows"
    for path in sorted(template.glob("*.yml")):
        for line in path.read_text(encoding="utf-8").splitlines():
            match = PIN.search(line)
            if match:
                assert match.groups() in watched, (
                    f"{path.name}: {line.strip()} is not pinned the same way in a file "
                    f"{REPO_CONFIG.relative_to(ROOT)} watches: copy the pin Dependabot moved"
                )


# ---------------------------------------------------------------- generated projects


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    return render_project(tmp_path_factory.mktemp("dependabot"), template_repo="acme/templates")


def test_generated_config_matches_the_dependabot_schema(project):
    result = schema_check(project / ".github" / "dependabot.yml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_generated_config_covers_every_ecosystem_the_project_uses(project):
    config = yaml.safe_load((project / ".github" / "dependabot.yml").read_text(encoding="utf-8"))
    needed = used_ecosystems(files(project))
    assert needed == {("github-actions", "/"), ("pip", "/")}
    assert configured(config) == needed
    assert_weekly_and_grouped(config)


def test_generated_config_leaves_the_template_pins_to_make_upgrade(project):
    """The template's actions and the gitops-ml pin move together (`make upgrade`, `cruft
    update`): Dependabot bumping one of them alone would split them."""
    config = yaml.safe_load((project / ".github" / "dependabot.yml").read_text(encoding="utf-8"))
    ignored = {
        update["package-ecosystem"]: {rule["dependency-name"] for rule in update.get("ignore", [])}
        for update in config["updates"]
    }
    assert ignored == {"github-actions": {"acme/templates"}, "pip": {"gitops-ml"}}
    workflows = "\n".join(
        p.read_text(encoding="utf-8") for p in (project / ".github" / "workflows").glob("*.yml")
    )
    assert "uses: acme/templates/actions/" in workflows


def test_generated_python_updates_raise_the_lower_bounds(project):
    """Dependabot only reads pyproject.toml: `increase` makes its pull request move the lower
    bounds, so the project's environment test fails until `make lock` re-pins the branch."""
    config = yaml.safe_load((project / ".github" / "dependabot.yml").read_text(encoding="utf-8"))
    (python,) = [u for u in config["updates"] if u["package-ecosystem"] == "pip"]
    assert python["versioning-strategy"] == "increase"
    test = (project / "tests" / "test_environment.py").read_text(encoding="utf-8")
    assert "make lock" in test
