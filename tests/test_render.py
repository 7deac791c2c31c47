"""Every chosen option combination renders the exact file tree, lints clean and parses."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

from .cases import case_id, cases
from .conftest import SHARED_VENV, make, render_project
from .expected_tree import expected_files

# `cookiecutter.json` / `.cookiecutter.json` are file names, not variables.
LEFTOVER = re.compile(r"\{\{|\{%|\bcookiecutter\.(?!json\b)")
# GitHub expressions are the one legitimate "${{" in generated files.
GITHUB_EXPRESSION = re.compile(r"\$\{\{.*?\}\}")
# The generated project keeps its config, data loading and stages; the lifecycle machinery is
# the gitops_ml library. A project whose own code grows past this has taken machinery back.
SRC_LINE_BUDGET = 1_500
# Each lifecycle target of the generated Makefile and the `gitops-ml` command it runs.
LIBRARY_TARGETS = {
    "expectations": "expectations",
    "tune": "tune",
    "monitor": "monitor",
    "monitor-demo": "monitor",
    "promote": "promote",
    "champion-pull": "champion",
    "champion-push": "champion",
    "champion-rollback": "champion",
    "deploy": "deploy",
    "ab-compare": "ab-compare",
    "rollback": "rollback",
    "undeploy": "undeploy",
}
KSERVE_TARGETS = {
    "kserve-deploy": "kserve",
    "kserve-rollback": "kserve",
    "kserve-undeploy": "kserve",
    "kserve-manifest": "kserve",
}


@pytest.fixture(scope="module", params=cases(), ids=case_id)
def rendered(request, tmp_path_factory) -> tuple[dict[str, str], Path]:
    project = render_project(tmp_path_factory.mktemp("render"), **request.param)
    answers = json.loads((project / ".cookiecutter.json").read_text(encoding="utf-8"))
    return answers, project


def tracked_files(project: Path) -> set[str]:
    """Files committed by the post-generation hook: exactly what the user receives."""
    listed = subprocess.run(
        ["git", "ls-files"], cwd=project, capture_output=True, text=True, check=True
    ).stdout
    return set(listed.split())


def test_exact_file_tree(rendered):
    answers, project = rendered
    assert tracked_files(project) == expected_files(answers)
    on_disk = {
        str(path.relative_to(project))
        for path in project.rglob("*")
        if path.is_file() and ".git" not in path.relative_to(project).parts[:1]
    }
    assert on_disk == expected_files(answers)


def test_no_leftover_template_syntax(rendered):
    _, project = rendered
    for name in tracked_files(project):
        text = GITHUB_EXPRESSION.sub("", (project / name).read_text(encoding="utf-8"))
        assert not LEFTOVER.search(text), f"leftover template syntax in {name}"


def test_config_files_parse(rendered):
    _, project = rendered
    for name in tracked_files(project):
        path = project / name
        if path.suffix in {".yaml", ".yml"}:
            assert yaml.safe_load(path.read_text(encoding="utf-8")) is not None, name
        elif path.suffix == ".toml":
            tomllib.loads(path.read_text(encoding="utf-8"))
        elif path.suffix == ".json":
            json.loads(path.read_text(encoding="utf-8"))


def test_ruff_check_and_format_clean(rendered):
    _, project = rendered
    ruff = str(SHARED_VENV / "bin" / "ruff")
    for command in ([ruff, "check", "."], [ruff, "format", "--check", "--diff", "."]):
        result = subprocess.run(command, cwd=project, capture_output=True, text=True)
        assert result.returncode == 0, result.stdout + result.stderr


def test_params_load_into_typed_settings(rendered):
    answers, project = rendered
    code = (
        "import sys; sys.path.insert(0, 'src');"
        f"from {answers['package_name']}.config import load_params; p = load_params();"
        "print(p.problem_type, p.data.source, p.data.target)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=project, capture_output=True, text=True, check=True
    ).stdout.split()
    source = "demo" if answers["dataset"] == "demo" else "data/raw/dataset.csv"
    assert out == [answers["problem_type"], source, answers["target_column"]]


def test_dvc_remote_matches_the_answer(rendered):
    answers, project = rendered
    config = (project / ".dvc" / "config").read_text(encoding="utf-8")
    url = re.search(r"url = (.+)", config).group(1)
    if answers["dvc_remote"] == "local":
        assert (project / ".dvc" / url).resolve() == (project / answers["dvc_remote_url"]).resolve()
        assert (project / answers["dvc_remote_url"]).is_dir()
    else:
        assert url == answers["dvc_remote_url"]
        extra = {"s3": "s3", "gcs": "gs", "azure": "azure"}[answers["dvc_remote"]]
        assert f'"dvc[{extra}]' in (project / "pyproject.toml").read_text(encoding="utf-8")
        plugin = {"s3": "dvc-s3", "gcs": "dvc-gs", "azure": "dvc-azure"}[answers["dvc_remote"]]
        assert re.search(rf"^{plugin}==", (project / "requirements.lock").read_text(), re.M)


def test_first_commit_is_clean(rendered):
    _, project = rendered
    status = subprocess.run(
        ["git", "status", "--porcelain"], cwd=project, capture_output=True, text=True, check=True
    ).stdout
    branch = subprocess.run(
        ["git", "branch", "--show-current"], cwd=project, capture_output=True, text=True
    ).stdout.strip()
    assert status == ""
    assert branch == "main"


def python_lines(folder: Path) -> int:
    """Non-blank lines of every *.py file under `folder`."""
    return sum(
        1
        for path in folder.rglob("*.py")
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip()
    )


def test_generated_python_stays_small(rendered, request, record_property):
    _, project = rendered
    lines = python_lines(project / "src")
    record_property("src_python_lines", lines)
    print(f"{request.node.callspec.id}: {lines} non-blank lines of Python under src/")
    assert lines <= SRC_LINE_BUDGET


def test_makefile_runs_the_library_through_gitops_ml(rendered):
    from gitops_ml.cli import COMMANDS

    answers, project = rendered
    makefile = (project / "Makefile").read_text(encoding="utf-8")
    # No target runs the machinery as a module (`python -m <package>.promote`, a copy of it)
    # nor the library's modules directly: the project's own modules are its stages.
    package = answers["package_name"]
    modules = re.findall(r"-m\s+([\w.]+)", makefile)
    assert [
        module
        for module in modules
        if module.split(".")[0] in {package, "gitops_ml"}
        and not module.startswith(f"{package}.stages.")
    ] == []
    targets = dict(LIBRARY_TARGETS)
    if answers["deploy_target"] == "kserve":
        targets |= KSERVE_TARGETS
    for target, command in targets.items():
        dry = make(project, "-n", target, "VERSION=3")
        called = set(re.findall(r"\bgitops-ml ([a-z-]+)", dry.stdout))
        assert called == {command}, f"make {target}: {dry.stdout}"
        assert command in COMMANDS
