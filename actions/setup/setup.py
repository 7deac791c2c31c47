"""Credential and input handling for the `setup` action (unit-tested in-process).

Credentials arrive as environment variables (never on a command line), are masked with
`::add-mask::` before anything else is printed, and are exported to later steps through
$GITHUB_ENV. Multi-line secrets (a GCP service-account key) go to a private file instead.

`python3 setup.py library` decides where the gitops-ml library comes from: the project's
Makefile pins it (`GITOPS_ML_VERSION := x.y.z`); when this action's own checkout (the whole
repository at the action's ref: pyproject.toml and src/gitops_ml) holds that version, it is
installed from there (no package index needed), else `gitops-ml==x.y.z` from the index. It
prints one line saying which and writes `spec=<what to install>` to $GITHUB_OUTPUT.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "_shared"))
from results import library_version  # noqa: E402
from workflow_commands import error  # noqa: E402

PYTHON_VERSION = re.compile(r"^3\.\d{1,2}(\.\d{1,2})?$")
BOOLEAN = ("true", "false")
TELEMETRY_OFF = {
    "DVC_NO_ANALYTICS": "1",
    "GX_ANALYTICS_ENABLED": "False",
    "DO_NOT_TRACK": "1",
    "ITERATIVE_DO_NOT_TRACK": "1",
    "MPLBACKEND": "Agg",
}
# action input (as SETUP_* env var) -> variable the DVC remote plugins read
CREDENTIALS = {
    "SETUP_AWS_ACCESS_KEY_ID": "AWS_ACCESS_KEY_ID",
    "SETUP_AWS_SECRET_ACCESS_KEY": "AWS_SECRET_ACCESS_KEY",
    "SETUP_AWS_SESSION_TOKEN": "AWS_SESSION_TOKEN",
    "SETUP_AZURE_STORAGE_CONNECTION_STRING": "AZURE_STORAGE_CONNECTION_STRING",
}
GCP_KEY = "SETUP_GOOGLE_CREDENTIALS"
# This action's checkout: the repository that builds the gitops-ml released with the actions.
ACTION_ROOT = Path(__file__).resolve().parent.parent.parent
PIN = re.compile(r"^GITOPS_ML_VERSION\s*:?=\s*(\S*)\s*$", re.MULTILINE)
RELEASE = re.compile(r"^\d+(\.\d+){0,3}([a-z]+\d*)?(\.post\d+)?(\.dev\d+)?$")


class SetupError(ValueError):
    pass


def check_inputs(env: Mapping[str, str]) -> None:
    version = env.get("SETUP_PYTHON_VERSION", "")
    if not PYTHON_VERSION.match(version):
        raise SetupError(f"python-version must look like 3.11 or 3.11.9, got {version!r}")
    if env.get("SETUP_DVC_PULL", "") not in BOOLEAN:
        raise SetupError(f"dvc-pull must be true or false, got {env.get('SETUP_DVC_PULL')!r}")
    for name in ("SETUP_VENV", "SETUP_REQUIREMENTS"):
        value = env.get(name, "")
        label = name.removeprefix("SETUP_").lower()
        if not value or value.startswith("/") or ".." in Path(value).parts:
            raise SetupError(f"{label} must be a relative path inside the project, got {value!r}")
    if bool(env.get("SETUP_AWS_ACCESS_KEY_ID")) != bool(env.get("SETUP_AWS_SECRET_ACCESS_KEY")):
        raise SetupError("aws-access-key-id and aws-secret-access-key must be given together")


def masks(env: Mapping[str, str]) -> list[str]:
    """`::add-mask::` commands for every secret value (one per line of multi-line values)."""
    commands = []
    for name in [*CREDENTIALS, GCP_KEY]:
        for line in env.get(name, "").splitlines():
            if line.strip():
                commands.append(f"::add-mask::{line.strip()}")
    return commands


def exports(env: Mapping[str, str], temp_dir: Path) -> dict[str, str]:
    """Variables for $GITHUB_ENV: telemetry off plus the credentials that were given."""
    out = dict(TELEMETRY_OFF)
    for source, target in CREDENTIALS.items():
        if env.get(source):
            out[target] = env[source]
    if env.get(GCP_KEY, "").strip():
        key_file = temp_dir / "gcp-credentials.json"
        key_file.touch(mode=0o600)
        key_file.write_text(env[GCP_KEY], encoding="utf-8")
        out["GOOGLE_APPLICATION_CREDENTIALS"] = str(key_file)
    return out


def library_source(makefile: Path, root: Path = ACTION_ROOT) -> tuple[str, str]:
    """(what `uv pip install` gets for gitops-ml, '' for nothing; the line saying why).

    Raises:
        SetupError: the Makefile pins something that is not a release number.
    """
    text = makefile.read_text(encoding="utf-8") if makefile.is_file() else ""
    found = PIN.search(text)
    if found is None:
        return "", f"setup: {makefile} pins no GITOPS_ML_VERSION: gitops-ml not installed"
    pin = found[1]
    if not RELEASE.match(pin):
        raise SetupError(
            f"GITOPS_ML_VERSION in {makefile} must be a release like 1.2.0, got {pin!r}"
        )
    ours = library_version(root / "src" / "gitops_ml" / "__init__.py")
    if ours == pin and (root / "pyproject.toml").is_file():
        return str(root), f"setup: gitops-ml {pin} (the project's pin) from this action's checkout"
    carried = f"these actions carry {ours}" if ours else "these actions carry no gitops-ml"
    return f"gitops-ml=={pin}", (
        f"setup: gitops-ml {pin} (the project's pin) from the package index ({carried})"
    )


def library(env: Mapping[str, str] | None = None, cwd: Path | None = None) -> int:
    """The `library` command: print where gitops-ml comes from, output `spec`."""
    env = os.environ if env is None else env
    try:
        spec, line = library_source((cwd or Path()) / "Makefile")
    except SetupError as exc:
        return error("setup", exc)
    print(line)
    if path := env.get("GITHUB_OUTPUT"):
        with Path(path).open("a", encoding="utf-8") as handle:
            handle.write(f"spec={spec}\n")
    return 0


def main(env: Mapping[str, str] | None = None) -> int:
    env = os.environ if env is None else env
    for command in masks(env):
        print(command)
    try:
        check_inputs(env)
    except SetupError as exc:
        return error("setup", exc)
    temp_dir = Path(env.get("RUNNER_TEMP") or "/tmp")
    variables = exports(env, temp_dir)
    with Path(env["GITHUB_ENV"]).open("a", encoding="utf-8") as handle:
        for name, value in variables.items():
            handle.write(f"{name}={value}\n")
    given = sorted(name for name in variables if name not in TELEMETRY_OFF)
    print(f"setup: telemetry off; credentials exported: {', '.join(given) or 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(library() if sys.argv[1:] == ["library"] else main())
