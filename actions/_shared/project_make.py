"""Running the generated project's make targets from an action: the part `promote` and
`deploy` share. Inputs are checked here, the command is echoed to the step log, and a failed
target is summed up by the project's own last `error: ...` line (gitops_ml/errors.py).

`runner` stands in for subprocess.run in the in-process tests
(tests/test_promote_deploy_actions.py).
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence

VENV = re.compile(r"^[A-Za-z0-9_./-]+$")
STORE = "champion-store: "  # how gitops_ml/champion_store.py starts what it reports

Runner = Callable[[Sequence[str], Mapping[str, str]], "subprocess.CompletedProcess[str]"]


def venv_error(venv: str) -> str:
    """Why `venv` is not a usable directory path ('' when it is)."""
    if not VENV.match(venv) or venv.startswith("-"):
        return f"venv must be a directory path, got {venv!r}"
    return ""


def tracking_uri_error(uri: str) -> str:
    """Why `uri` is not an MLflow tracking URI ('' when it is, or when it is empty)."""
    if uri and "://" not in uri and not uri.startswith(("sqlite:", "databricks")):
        return "tracking-uri must be a URI such as https://mlflow.example.com"
    return ""


def github_env(env: Mapping[str, str], token: str) -> dict[str, str]:
    """The environment of the `gh` steps (champion-*): the token and this repository."""
    gh_env = {**env, "GH_TOKEN": token}
    if env.get("GITHUB_REPOSITORY"):
        gh_env["GH_REPO"] = env["GITHUB_REPOSITORY"]
    return gh_env


def run(command: Sequence[str], env: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(command), env=dict(env), capture_output=True, text=True)


def make(
    runner: Runner, target: str, venv: str, env: Mapping[str, str], *extra: str
) -> subprocess.CompletedProcess[str]:
    result = runner(["make", target, f"VENV={venv}", *extra], env)
    sys.stdout.write(result.stdout)
    sys.stderr.write(result.stderr)
    return result


def failure(result: subprocess.CompletedProcess[str], what: str) -> str:
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    return errors[-1].removeprefix("error: ") if errors else f"{what} failed ({result.returncode})"


def store_lines(result: subprocess.CompletedProcess[str]) -> list[str]:
    """What the champion store reported, without its prefix."""
    return [
        line.removeprefix(STORE) for line in result.stdout.splitlines() if line.startswith(STORE)
    ]
