"""The `gitops-ml` command: what it answers, and that a command imports only what it uses.

Timings live in benchmarks/bench_cli_startup.py; these tests assert the behaviour behind
them, each in a fresh interpreter (an import made by another test would hide one here).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from gitops_ml import __version__
from gitops_ml.cli import COMMANDS

# Packages that cost a second or more to import, or pull in a web of dependencies.
HEAVY = (
    "pandas",
    "numpy",
    "scipy",
    "sklearn",
    "mlflow",
    "evidently",
    "great_expectations",
    "matplotlib",
)


def heavy_after(code: str) -> list[str]:
    """The HEAVY packages in sys.modules after a fresh interpreter runs `code`."""
    report = f"import json, sys; print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    done = subprocess.run(
        [sys.executable, "-c", f"{code}\n{report}"], capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def gitops_ml(*args: str) -> subprocess.CompletedProcess[str]:
    """Run the `gitops-ml` console script of this environment (`python -m` without one)."""
    script = Path(sys.executable).parent / "gitops-ml"
    command = [str(script)] if script.exists() else [sys.executable, "-m", "gitops_ml"]
    return subprocess.run([*command, *args], capture_output=True, text=True, check=False)


def test_help_imports_nothing_heavy() -> None:
    """`gitops-ml --help` answers from the command table alone: no pandas, numpy, MLflow."""
    # given a fresh interpreter; when it runs the command's --help
    code = "from gitops_ml import cli\ntry:\n    cli.main(['--help'])\nexcept SystemExit:\n    pass"
    # then no heavy package was imported on the way
    assert heavy_after(code) == []


@pytest.mark.parametrize("module", ["promote", "champion_store", "serve.local", "serve.kserve"])
def test_promotion_and_deployment_leave_evidently_and_gx_out(module: str) -> None:
    """Promotion and deployment never import the monitoring or data-validation stacks."""
    # given a fresh interpreter; when it imports the module a promote/deploy command runs
    found = heavy_after(f"import gitops_ml.{module}")
    # then neither Evidently nor Great Expectations is loaded
    assert "evidently" not in found
    assert "great_expectations" not in found


def test_tune_leaves_the_data_stack_out() -> None:
    """`gitops-ml tune` only runs DVC: its import (params.py's metric table) loads no numpy."""
    # given a fresh interpreter; when it imports the tune command's module
    found = heavy_after("import gitops_ml.tune")
    # then none of the heavy packages is loaded (metrics.py imports numpy where it computes)
    assert found == []


def test_help_lists_every_command() -> None:
    """`gitops-ml --help` exits 0 and names every sub-command with its summary."""
    done = gitops_ml("--help")
    assert done.returncode == 0, done.stderr
    listed = {line.split()[0] for line in done.stdout.splitlines() if line.startswith("  ")}
    assert listed == set(COMMANDS)
    for command in COMMANDS.values():
        assert command.summary in done.stdout


def test_no_command_prints_usage_and_exits_2() -> None:
    """A bare `gitops-ml` is a wrong command line: the usage, and status 2."""
    done = gitops_ml()
    assert done.returncode == 2
    assert done.stdout.startswith("usage: gitops-ml <command>")


def test_unknown_command_exits_2_with_one_line() -> None:
    """An unknown command fails with one line on stderr naming it and the valid commands."""
    done = gitops_ml("nosuch")
    assert done.returncode == 2
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert lines == [f"gitops-ml: unknown command 'nosuch'; choose one of {', '.join(COMMANDS)}"]


def test_version_prints_the_version() -> None:
    """`gitops-ml --version` prints the library's version and exits 0."""
    done = gitops_ml("--version")
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"gitops-ml {__version__}\n"
