"""MLflow plumbing shared by train and evaluate (local sqlite store unless configured)."""

from __future__ import annotations

import json
import logging
import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

DEFAULT_TRACKING_URI = "sqlite:///mlflow.db"
log = logging.getLogger(__name__)


def tracking_uri() -> str:
    return os.environ.get("MLFLOW_TRACKING_URI") or DEFAULT_TRACKING_URI


def git_commit() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def configure(experiment: str) -> Any:
    import mlflow

    mlflow.set_tracking_uri(tracking_uri())
    mlflow.set_experiment(experiment)
    return mlflow


@contextmanager
def resume_run(run_info: Path, experiment: str) -> Iterator[Any]:
    """Continue the training run; when it is unknown here (model restored from the DVC
    cache on another machine), record in a new run that points at it instead."""
    mlflow = configure(experiment)
    from mlflow.exceptions import MlflowException

    info = json.loads(run_info.read_text(encoding="utf-8"))
    try:
        mlflow.get_run(info["run_id"])
        run = mlflow.start_run(run_id=info["run_id"])
    except MlflowException:
        log.warning("run %s is not in %s: logging to a new run", info["run_id"], tracking_uri())
        run = mlflow.start_run(tags={"source_run_id": info["run_id"]})
    with run:
        yield mlflow
