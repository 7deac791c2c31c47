"""Hyperparameter search the DVC way: one `dvc exp run --temp -S key=value` per grid point.

`make tune` runs this, then prints `dvc exp show --md` sorted by evaluate.primary_metric.
Experiments run in temporary copies, so the workspace is left as it was; their MLflow runs
go to this project's tracking store. Keep the winner with `dvc exp apply <name>` and commit.
"""

from __future__ import annotations

import argparse
import itertools
import os
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from . import tracking
from .cli import PipelineError, run
from .config import HIGHER_IS_BETTER, load_params

METRICS_FILE = "reports/metrics.json"


def grid_points(grid: dict[str, list[Any]]) -> list[dict[str, Any]]:
    """Every combination of the grid, in a stable order."""
    keys = sorted(grid)
    return [
        dict(zip(keys, values, strict=True))
        for values in itertools.product(*(grid[k] for k in keys))
    ]


def set_arguments(point: dict[str, Any]) -> list[str]:
    """`-S key=value` arguments; values as YAML so null/true/1e-3 keep their type."""
    arguments: list[str] = []
    for key, value in point.items():
        rendered = (
            yaml.safe_dump(value, default_flow_style=True).strip().removesuffix("...").strip()
        )
        arguments += ["-S", f"{key}={rendered}"]
    return arguments


def absolute_tracking_uri(uri: str) -> str:
    """A relative sqlite store would land in each experiment's temporary copy: anchor it here."""
    prefix = "sqlite:///"
    if uri.startswith(prefix) and not uri[len(prefix) :].startswith("/"):
        return prefix + str(Path(uri[len(prefix) :]).resolve())
    return uri


def show_command(metric: str) -> list[str]:
    order = "desc" if HIGHER_IS_BETTER[metric] else "asc"
    return [
        "dvc", "exp", "show", "--md", "--no-pager", "--only-changed",
        "--sort-by", f"{METRICS_FILE}:{metric}", "--sort-order", order,
    ]  # fmt: skip


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dry-run", action="store_true", help="print the commands only")
    args = parser.parse_args(argv)

    params = load_params()
    points = grid_points(params.tune.grid)
    if not points:
        raise PipelineError("tune.grid in params.yaml is empty: add keys with lists of values")
    env = {**os.environ, "MLFLOW_TRACKING_URI": absolute_tracking_uri(tracking.tracking_uri())}
    for number, point in enumerate(points, start=1):
        command = ["dvc", "exp", "run", "--temp", *set_arguments(point)]
        print(f"tune: experiment {number}/{len(points)}: {' '.join(command[4:])}", flush=True)
        if not args.dry_run:
            subprocess.run(command, check=True, env=env)
    command = show_command(params.evaluate.primary_metric)
    if args.dry_run:
        print(" ".join(command))
    else:
        subprocess.run(command, check=True)


if __name__ == "__main__":
    run(main)
