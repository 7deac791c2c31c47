"""A newcomer without uv: the generated Makefile installs uv into .venv, then uses it.

Speed is measured in benchmarks/bench_env.py, not here.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from .conftest import project_env, render_project

pytestmark = pytest.mark.slow


def env_without_uv(**extra: str) -> dict[str, str]:
    """A user's environment whose PATH holds no `uv` (this repo's .venv/bin included)."""
    env = project_env(**extra)
    kept = [d for d in env["PATH"].split(os.pathsep) if d and not (Path(d) / "uv").exists()]
    env["PATH"] = os.pathsep.join(kept)
    return env


def make_env(project: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`make env` with GITOPS_ML at this checkout: the offline install the README documents."""
    import gitops_ml  # this working tree's, installed editable in the shared environment

    uv_found = subprocess.run(["bash", "-c", "command -v uv"], env=env, check=False)
    assert uv_found.returncode != 0, "the test's PATH still finds a uv"
    library = f"GITOPS_ML={Path(gitops_ml.__file__).resolve().parents[2]}"
    result = subprocess.run(
        ["make", "env", library], cwd=project, env=env, capture_output=True, text=True,
        timeout=900, check=False,
    )  # fmt: skip
    assert result.returncode == 0, f"{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    return result


def installer(project: Path) -> str:
    """Who installed pandas into the project's .venv ("uv" or "pip": its INSTALLER file)."""
    found = next((project / ".venv/lib").glob("python3.*/site-packages/pandas-*/INSTALLER"))
    return found.read_text(encoding="utf-8").strip()


def assert_library_runs(project: Path, env: dict[str, str]) -> None:
    import gitops_ml

    version = subprocess.run(
        [str(project / ".venv/bin/gitops-ml"), "--version"], cwd=project, env=env,
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert version.stdout == f"gitops-ml {gitops_ml.__version__}\n"


def test_without_uv_on_path_the_environment_is_built_by_a_bootstrapped_uv(tmp_path: Path):
    """Given no uv on PATH, when `make env` runs, then pip installs uv and uv the rest."""
    project = render_project(tmp_path)
    env = env_without_uv()

    result = make_env(project, env)

    assert "uv is not on PATH: installing uv into .venv with pip" in result.stdout
    assert "pip could not install uv" not in result.stderr
    assert (project / ".venv/bin/uv").is_file()
    assert installer(project) == "uv"
    assert_library_runs(project, env)


def test_when_pip_cannot_install_uv_plain_pip_builds_the_environment(tmp_path: Path):
    """Given no uv on PATH and no installable uv, then pip installs everything (and says so).

    A constraint no uv release satisfies stands in for a platform without a uv wheel.
    """
    project = render_project(tmp_path)
    no_uv = tmp_path / "no-uv-constraint.txt"
    no_uv.write_text("uv==0.0.0\n", encoding="utf-8")
    env = env_without_uv(PIP_CONSTRAINT=str(no_uv))

    result = make_env(project, env)

    assert "pip could not install uv (above): installing with pip instead" in result.stderr
    assert not (project / ".venv/bin/uv").exists()
    assert installer(project) == "pip"
    assert_library_runs(project, env)
