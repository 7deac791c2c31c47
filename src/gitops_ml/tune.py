"""Hyperparameter search the DVC way: one `dvc exp run --temp -S key=value` per grid point.

`make tune` runs this. Experiments run in temporary copies, so the workspace is left as it
was; their MLflow runs go to this project's tracking store. A temporary copy holds only the
files git tracks, so the pipeline's untracked inputs (a new expectations/suite.json, a new
`.dvc` file) are checked first. The run ends with a short table of this run's experiments
ranked by evaluate.primary_metric (from `dvc exp show --json`) and the command that keeps
the best one (`dvc exp apply <name>`, then commit).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from . import tracking
from .errors import PipelineError, run
from .params import HIGHER_IS_BETTER, load_params

METRICS_FILE = "reports/metrics.json"
SHOW_COMMAND = ["dvc", "exp", "show", "--json", "--no-pager"]
WIDTH = 80  # the table fits a terminal this wide
CELL = 14  # longest parameter value shown in the table


def grid_points(grid: dict[str, list[Any]]) -> list[dict[str, Any]]:
    """Every combination of the grid, in a stable order."""
    keys = sorted(grid)
    return [
        dict(zip(keys, values, strict=True))
        for values in itertools.product(*(grid[k] for k in keys))
    ]


def yaml_value(value: Any) -> str:
    """A value as YAML, so null/true/1e-3 keep their type on the command line and in tables."""
    return yaml.safe_dump(value, default_flow_style=True).strip().removesuffix("...").strip()


def set_arguments(point: dict[str, Any]) -> list[str]:
    """`-S key=value` arguments; values as YAML so null/true/1e-3 keep their type."""
    arguments: list[str] = []
    for key, value in point.items():
        arguments += ["-S", f"{key}={yaml_value(value)}"]
    return arguments


def absolute_tracking_uri(uri: str) -> str:
    """A relative sqlite store would land in each experiment's temporary copy: anchor it here."""
    prefix = "sqlite:///"
    if uri.startswith(prefix) and not uri[len(prefix) :].startswith("/"):
        return prefix + str(Path(uri[len(prefix) :]).resolve())
    return uri


# ---------------------------------------------------------------- before: tracked inputs


def _paths(entries: Sequence[Any]) -> list[str]:
    """dvc.yaml lists paths as strings or as one-key mappings ({path: {cache: false}})."""
    return [e if isinstance(e, str) else next(iter(e)) for e in entries or []]


def pipeline_inputs(dvc_yaml: Mapping[str, Any]) -> list[str]:
    """The files the stages read that no stage writes: what an experiment copy must hold."""
    stages = (dvc_yaml.get("stages") or {}).values()
    outputs = {
        path
        for stage in stages
        for kind in ("outs", "metrics", "plots")
        for path in _paths(stage.get(kind, []))
    }
    inputs = [path for stage in stages for path in _paths(stage.get("deps", []))]
    return list(dict.fromkeys(path for path in inputs if path not in outputs))


def untracked(paths: Sequence[str], cwd: Path = Path()) -> list[str]:
    """Of ``paths`` (and the ``.dvc`` files that version them), those git does not track yet.

    Ignored files (``.gitignore``) do not count as untracked.

    Raises:
        subprocess.CalledProcessError: ``git ls-files`` fails (e.g. ``cwd`` is not a
            repository).
        FileNotFoundError: git is not installed.
    """
    candidates = [*paths, *(f"{p}.dvc" for p in paths if (cwd / f"{p}.dvc").exists())]
    listed = subprocess.run(
        ["git", "ls-files", "--others", "--exclude-standard", "-z", "--", *candidates],
        cwd=cwd, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    return [name for name in listed.split("\0") if name]


def untracked_message(names: Sequence[str]) -> str:
    """One line saying what to add before experiments can run, and the commands to add it.

    Data (under ``data/``) goes to DVC (``dvc add``, then ``git add`` its .dvc file); code
    and the suite go to git.
    """
    verb = "is" if len(names) == 1 else "are"
    data = [n for n in names if n.startswith("data/") and not n.endswith(".dvc")]
    files = [n for n in names if n not in data]
    steps = []
    if data:
        dvc_files = " ".join(f"{n}.dvc" for n in data)
        steps.append(f"`dvc add {' '.join(data)} && git add {dvc_files}`")
    if files:
        steps.append(f"`git add {' '.join(files)}`")
    return (
        f"{', '.join(names)} {verb} not tracked by git: run {' then '.join(steps)} "
        "(DVC experiments only see tracked files)"
    )


# ---------------------------------------------------------------- after: ranked table


@dataclass
class Experiment:
    """One row of the ranked table, read from ``dvc exp show --json``.

    Attributes:
        name: the experiment's name (the baseline's branch or short commit).
        params: dotted parameter -> value (params of files other than params.yaml are
            prefixed ``<file>:``).
        metric: the primary metric from reports/metrics.json; None when missing or failed.
        baseline: the commit the experiments derive from, not an experiment.
        error: DVC reported the experiment as failed.
    """

    name: str
    params: dict[str, Any] = field(default_factory=dict)
    metric: float | None = None
    baseline: bool = False
    error: bool = False


def _flatten(tree: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        if isinstance(value, Mapping):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def _experiment(entry: Mapping[str, Any], name: str, metric: str) -> Experiment:
    data = entry.get("data") or {}
    params: dict[str, Any] = {}
    for path, content in (data.get("params") or {}).items():
        prefix = "" if path == "params.yaml" else f"{path}:"
        params.update(_flatten((content or {}).get("data") or {}, prefix))
    values = ((data.get("metrics") or {}).get(METRICS_FILE) or {}).get("data") or {}
    value = values.get(metric) if not entry.get("error") else None
    return Experiment(name=name, params=params, metric=value, error=bool(entry.get("error")))


def experiments(show: Sequence[Mapping[str, Any]], metric: str) -> list[Experiment]:
    """`dvc exp show --json`: the baseline commit first, then every experiment derived from it."""
    found: list[Experiment] = []
    for commit in show:
        if commit.get("rev") == "workspace":
            continue
        name = commit.get("name") or str(commit.get("rev", ""))[:7]
        baseline = _experiment(commit, name, metric)
        baseline.baseline = True
        found.append(baseline)
        for experiment in commit.get("experiments") or []:
            for rev in experiment.get("revs") or []:
                label = rev.get("name") or experiment.get("name") or str(rev.get("rev"))[:7]
                found.append(_experiment(rev, label, metric))
    return found


def rank(found: Sequence[Experiment], higher_is_better: bool) -> list[Experiment]:
    """Best first; experiments without the metric (failed) last."""
    sign = -1.0 if higher_is_better else 1.0
    return sorted(found, key=lambda e: (e.metric is None, sign * (e.metric or 0.0)))


def changed_keys(found: Sequence[Experiment]) -> list[str]:
    """The parameters whose values differ between the rows."""
    keys = sorted({key for e in found for key in e.params})
    return [k for k in keys if len({json.dumps(e.params.get(k)) for e in found}) > 1]


def short_names(keys: Sequence[str]) -> dict[str, str]:
    """The shortest dotted suffix that is unique: train.ridge.alpha -> alpha."""
    names = {}
    for key in keys:
        parts = key.split(".")
        for size in range(1, len(parts) + 1):
            name = ".".join(parts[-size:])
            if sum(k == name or k.endswith("." + name) for k in keys) == 1:
                break
        names[key] = name
    return names


def _fit(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def ranked_table(ranked: Sequence[Experiment], keys: Sequence[str], metric: str) -> list[str]:
    """Aligned columns: experiment, each changed parameter, the metric; at most WIDTH wide."""
    headers = short_names(keys)
    rows = [["experiment", *(headers[k] for k in keys), metric]]
    for e in ranked:
        values = [_fit(yaml_value(e.params.get(k)), CELL) for k in keys]
        if e.metric is not None:
            score = f"{e.metric:.6g}"
        else:  # a baseline whose metrics are not committed did not fail
            score = "failed" if e.error or not e.baseline else "not committed"
        rows.append([f"{e.name} (baseline)" if e.baseline else e.name, *values, score])
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows
    ]
    legend = [f"{short}: {key}" for key, short in headers.items() if short != key]
    return [_fit(line, WIDTH) for line in [*lines, *legend]]


def best_line(ranked: Sequence[Experiment], metric: str) -> str:
    """The closing sentence: the best experiment and ``dvc exp apply <name>`` to keep it.

    ``ranked`` is best first (:func:`rank`). When the baseline ranks first, says that no
    experiment beats it; when no experiment has the metric, says so.
    """
    tried = [e for e in ranked if not e.baseline and e.metric is not None]
    if not tried:
        return "No experiment produced reports/metrics.json: see DVC's messages above."
    best, baseline = tried[0], next((e for e in ranked if e.baseline), None)
    if baseline is not None and baseline.metric is not None and ranked[0] is baseline:
        return (
            f"No experiment beats {baseline.name} ({metric} {baseline.metric:.6g}); "
            f"the best: dvc exp apply {best.name}"
        )
    return f"Best: {best.name} ({metric} {best.metric:.6g}). Keep it: dvc exp apply {best.name}"


def summary(
    show: Sequence[Mapping[str, Any]], metric: str, names: set[str] | None = None
) -> list[str]:
    """The lines `make tune` ends with; `names` keeps only this run's experiments."""
    found = [e for e in experiments(show, metric) if e.baseline or names is None or e.name in names]
    ranked = rank(found, HIGHER_IS_BETTER[metric])
    order = "higher" if HIGHER_IS_BETTER[metric] else "lower"
    heading = f"Experiments ranked by {metric} ({order} is better):"
    return [heading, *ranked_table(ranked, changed_keys(found), metric), best_line(ranked, metric)]


def show() -> list[dict[str, Any]]:
    """The parsed output of ``dvc exp show --json`` run in the current directory.

    Raises:
        PipelineError: the command exits non-zero (the end of its stderr is quoted).
        FileNotFoundError: dvc is not installed.
    """
    result = subprocess.run(SHOW_COMMAND, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise PipelineError(f"dvc exp show failed: {result.stderr.strip()[-300:]}")
    return json.loads(result.stdout or "[]")


def main(argv: Sequence[str] | None = None) -> None:
    """``gitops-ml tune [--dry-run]``: run every point of ``tune.grid``, then rank them.

    Each grid point runs as ``dvc exp run --temp -S key=value...`` with MLflow's tracking
    store anchored to this folder; ``--dry-run`` prints the commands instead. Ends with the
    table of :func:`summary` (this run's experiments only).

    Raises:
        SystemExit: 2 on a wrong command line (argparse).
        ParamsError: params.yaml is missing or invalid.
        PipelineError: ``tune.grid`` is empty, a pipeline input is not tracked by git, an
            experiment fails, or ``dvc exp show`` fails.
        FileNotFoundError: there is no dvc.yaml in the current directory.
    """
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dry-run", action="store_true", help="print the commands only")
    args = parser.parse_args(argv)

    params = load_params()
    points = grid_points(params.tune.grid)
    if not points:
        raise PipelineError("tune.grid in params.yaml is empty: add keys with lists of values")
    dvc_yaml = yaml.safe_load(Path("dvc.yaml").read_text(encoding="utf-8"))
    missing = untracked(pipeline_inputs(dvc_yaml))
    if missing:
        raise PipelineError(untracked_message(missing))
    metric = params.evaluate.primary_metric
    before = {e.name for e in experiments(show(), metric)} if not args.dry_run else set()
    env = {**os.environ, "MLFLOW_TRACKING_URI": absolute_tracking_uri(tracking.tracking_uri())}
    for number, point in enumerate(points, start=1):
        command = ["dvc", "exp", "run", "--temp", *set_arguments(point)]
        print(f"tune: experiment {number}/{len(points)}: {' '.join(command[4:])}", flush=True)
        if not args.dry_run and subprocess.run(command, env=env, check=False).returncode != 0:
            raise PipelineError(
                f"experiment {number}/{len(points)} ({' '.join(command[4:])}) failed: "
                "see DVC's message above"
            )
    if args.dry_run:
        print(" ".join(SHOW_COMMAND))
        return
    found = show()
    names = {e.name for e in experiments(found, metric)} - before
    print("\n".join(["", *summary(found, metric, names)]))


if __name__ == "__main__":
    run(main)
