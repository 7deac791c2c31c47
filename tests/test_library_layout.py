"""The `gitops-ml` command: its help names every lifecycle command, and each one answers.

The generated Makefile's targets call these commands (tests/test_render.py checks each
rendering); the library's behaviour is tested in tests/library/.
"""

from __future__ import annotations

import re
import subprocess

import pytest

from .conftest import SHARED_VENV, project_env

GITOPS_ML = str(SHARED_VENV / "bin" / "gitops-ml")
# Every command a generated project runs, in the order `gitops-ml --help` lists them.
COMMANDS = [
    "expectations",
    "tune",
    "promote",
    "champion",
    "deploy",
    "rollback",
    "undeploy",
    "ab-compare",
    "kserve",
    "monitor",
]


def gitops_ml(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [GITOPS_ML, *args], capture_output=True, text=True, env=project_env(), timeout=120
    )


def test_help_lists_every_command_with_what_it_does():
    result = gitops_ml("--help")
    assert result.returncode == 0, result.stderr
    listed = re.findall(r"^  ([a-z-]+) +(\S.*)$", result.stdout, re.M)
    assert [name for name, _ in listed] == COMMANDS
    assert all(summary.strip() for _, summary in listed)


@pytest.mark.parametrize("command", COMMANDS)
def test_each_command_answers_its_own_help(command: str):
    result = gitops_ml(command, "--help")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"usage: gitops-ml {command} ")


def test_an_unknown_command_names_the_known_ones():
    result = gitops_ml("promte")
    assert result.returncode == 2
    assert result.stderr.startswith("gitops-ml: unknown command 'promte'; choose one of ")
    assert all(command in result.stderr for command in COMMANDS)
