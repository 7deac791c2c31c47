"""Shared fixtures: render the template, run a generated project's own commands.

Every generated project in the tests runs in ONE shared environment: this repo's .venv,
which `make env` builds from requirements-dev.lock (pinned to the generated project's
requirements.lock). Generated Makefiles accept it through their documented VENV variable.
tests/test_e2e.py::test_first_run_creates_its_own_environment covers the real first-run setup.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cookiecutter.main import cookiecutter

from harness.host import QUIET_ENV as HARNESS_ENV

ROOT = Path(__file__).resolve().parent.parent
SHARED_VENV = Path(sys.prefix)
# Telemetry off, no interpreter downloads, no .pyc files: the act harness's settings, except
# that a user's shell may reach the package index.
QUIET_ENV = {name: value for name, value in HARNESS_ENV.items() if name != "UV_OFFLINE"}


def render_project(output_dir: Path, **context: Any) -> Path:
    """Render the template with --no-input defaults overridden by `context`; hooks run."""
    output_dir.mkdir(parents=True, exist_ok=True)
    return Path(
        cookiecutter(
            str(ROOT),
            no_input=True,
            extra_context={key: str(value) for key, value in context.items()},
            output_dir=str(output_dir),
        )
    )


def project_env(**extra: str) -> dict[str, str]:
    env = {**os.environ, **QUIET_ENV, **extra}
    env["PATH"] = f"{SHARED_VENV / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    # A user's shell, not this repo's `make test`: no parent make or virtualenv settings leak in.
    for name in ("MLFLOW_TRACKING_URI", "VIRTUAL_ENV", "MAKEFLAGS", "MFLAGS", "MAKELEVEL"):
        env.pop(name, None)
    return env


def run(
    command: list[str], cwd: Path, *, check: bool = True, timeout: float = 900, **env: str
) -> subprocess.CompletedProcess[str]:
    """Run a command the way a user would; on unexpected failure show its output."""
    result = subprocess.run(
        command, cwd=cwd, env=project_env(**env), capture_output=True, text=True, timeout=timeout
    )
    if check and result.returncode != 0:
        pytest.fail(
            f"{' '.join(command)} failed ({result.returncode}) in {cwd}\n"
            f"--- stdout ---\n{result.stdout[-6000:]}\n--- stderr ---\n{result.stderr[-6000:]}"
        )
    return result


def make(project: Path, *targets: str, check: bool = True, **env: str):
    """`make TARGET` in a generated project, on the shared environment."""
    return run(["make", *targets, f"VENV={SHARED_VENV}"], project, check=check, **env)


@pytest.fixture
def render(tmp_path: Path) -> Callable[..., Path]:
    def _render(**context: Any) -> Path:
        return render_project(tmp_path / "out", **context)

    return _render


@pytest.fixture(scope="session")
def demo_classification(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A default project whose pipeline has run once (shared by read-only e2e tests)."""
    project = render_project(tmp_path_factory.mktemp("demo-classification"))
    make(project, "repro")
    return project


@pytest.fixture(scope="session")
def demo_regression(tmp_path_factory: pytest.TempPathFactory) -> Path:
    project = render_project(tmp_path_factory.mktemp("demo-regression"), problem_type="regression")
    make(project, "repro")
    return project
