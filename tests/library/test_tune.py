"""gitops-ml tune: the grid expands to DVC experiment commands, untracked inputs are caught first,
and the run ends with a short table ranked by the primary metric."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from gitops_ml.tune import (
    WIDTH,
    absolute_tracking_uri,
    grid_points,
    pipeline_inputs,
    set_arguments,
    summary,
    untracked,
    untracked_message,
)


def test_grid_expands_every_combination():
    points = grid_points({"train.b": [1, 2], "train.a": [None, 0.5]})
    assert points == [
        {"train.a": None, "train.b": 1},
        {"train.a": None, "train.b": 2},
        {"train.a": 0.5, "train.b": 1},
        {"train.a": 0.5, "train.b": 2},
    ]


def test_set_arguments_keep_yaml_types():
    assert set_arguments({"train.random_forest.max_depth": None, "train.ridge.alpha": 0.1}) == [
        "-S", "train.random_forest.max_depth=null", "-S", "train.ridge.alpha=0.1",
    ]  # fmt: skip


def test_relative_sqlite_store_is_anchored_to_the_project():
    assert absolute_tracking_uri("sqlite:///mlflow.db") == f"sqlite:///{Path.cwd() / 'mlflow.db'}"
    assert absolute_tracking_uri("sqlite:////abs/m.db") == "sqlite:////abs/m.db"
    assert absolute_tracking_uri("http://mlflow:5000") == "http://mlflow:5000"


# ---------------------------------------------------------------- before: tracked inputs

DVC_YAML = {
    "stages": {
        "ingest": {"deps": ["src/ingest.py", "data/raw/dataset.csv"], "outs": ["data/train.csv"]},
        "validate": {
            "deps": ["data/train.csv", "expectations/suite.json"],
            "outs": [{"reports/validation.json": {"cache": False}}],
        },
    }
}


def test_pipeline_inputs_are_the_deps_no_stage_writes():
    assert pipeline_inputs(DVC_YAML) == [
        "src/ingest.py",
        "data/raw/dataset.csv",
        "expectations/suite.json",
    ]


def git(*args: str, cwd: Path) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def test_untracked_inputs_and_dvc_files_are_found(tmp_path: Path):
    # Given a repository where the suite and the data's .dvc file were never git-added
    git("init", "-q", cwd=tmp_path)
    for name in ("src/ingest.py", "expectations/suite.json", "data/raw/dataset.csv.dvc"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x\n", encoding="utf-8")
    (tmp_path / "data/raw/dataset.csv").write_text("a\n1\n", encoding="utf-8")
    (tmp_path / "data/raw/.gitignore").write_text("/dataset.csv\n", encoding="utf-8")
    git("add", "src/ingest.py", "data/raw/.gitignore", cwd=tmp_path)
    inputs = pipeline_inputs(DVC_YAML)
    # Then both are named; the DVC-ignored data itself is not
    assert untracked(inputs, tmp_path) == ["data/raw/dataset.csv.dvc", "expectations/suite.json"]
    # And git add (no commit needed) is enough
    git("add", "expectations/suite.json", "data/raw/dataset.csv.dvc", cwd=tmp_path)
    assert untracked(inputs, tmp_path) == []


def test_untracked_message_says_what_to_git_add_in_one_line():
    assert untracked_message(["expectations/suite.json"]) == (
        "expectations/suite.json is not tracked by git: run `git add expectations/suite.json` "
        "(DVC experiments only see tracked files)"
    )
    assert untracked_message(["a.dvc", "b.json"]).startswith(
        "a.dvc, b.json are not tracked by git: run `git add a.dvc b.json`"
    )


def test_untracked_data_is_added_with_dvc_not_git():
    assert untracked_message(["data/raw/dataset.csv", "expectations/suite.json"]) == (
        "data/raw/dataset.csv, expectations/suite.json are not tracked by git: run "
        "`dvc add data/raw/dataset.csv && git add data/raw/dataset.csv.dvc` then "
        "`git add expectations/suite.json` (DVC experiments only see tracked files)"
    )


# ---------------------------------------------------------------- after: ranked table


def revision(
    name: str, alpha: float, value: float | None, metric: str = "rmse", error: dict | None = None
) -> dict:
    """One entry of `dvc exp show --json` (DVC 3.x shape)."""
    params = {"train": {"model": "ridge", "ridge": {"alpha": alpha}}, "tune": {"grid": {}}}
    metrics = {} if value is None else {"reports/metrics.json": {"data": {metric: value}}}
    data = {"rev": name, "params": {"params.yaml": {"data": params}}, "metrics": metrics}
    return {"rev": f"{name}-sha", "name": name, "data": data, "error": error}


SHOW = [
    {"rev": "workspace", "name": None, "data": {}, "error": None, "experiments": None},
    {
        **revision("main", 1.0, 53.78),
        "experiments": [
            {"executor": None, "name": "braky-luce", "revs": [revision("braky-luce", 0.01, 53.85)]},
            {"executor": None, "name": "straw-fore", "revs": [revision("straw-fore", 10.0, 53.63)]},
            {"executor": None, "name": "old-one", "revs": [revision("old-one", 100.0, 50.0)]},
            {
                "executor": None,
                "name": "broken",
                "revs": [revision("broken", 5.0, None, {"msg": "failed"})],
            },
        ],
    },
]


def test_summary_ranks_this_runs_experiments_best_first_with_the_command_to_keep_one():
    lines = summary(SHOW, "rmse", names={"braky-luce", "straw-fore", "broken"})
    assert lines == [
        "Experiments ranked by rmse (lower is better):",
        "experiment       alpha  rmse",
        "straw-fore       10.0   53.63",
        "main (baseline)  1.0    53.78",
        "braky-luce       0.01   53.85",
        "broken           5.0    failed",
        "alpha: train.ridge.alpha",
        "Best: straw-fore (rmse 53.63). Keep it: dvc exp apply straw-fore",
    ]


def test_summary_says_when_no_experiment_beats_the_baseline():
    lines = summary(SHOW, "rmse", names={"braky-luce"})
    assert lines[-1] == "No experiment beats main (rmse 53.78); the best: dvc exp apply braky-luce"


@pytest.mark.parametrize(("metric", "best"), [("r2", "Best: exp-3"), ("rmse", "No experiment")])
def test_summary_fits_a_terminal_and_follows_the_metric_direction(metric: str, best: str):
    experiments = []
    for i in range(1, 4):
        entry = revision(f"exp-{i}", i * 1e-7, float(i), metric)
        entry["data"]["params"]["params.yaml"]["data"]["train"]["a_long_name"] = "x" * 60 + str(i)
        experiments.append({"revs": [entry]})
    show = [{**revision("main", 1.0, 0.5, metric), "experiments": experiments}]
    lines = summary(show, metric)
    assert all(len(line) <= WIDTH for line in lines), "\n".join(lines)
    assert lines[-1].startswith(best)
    assert sum("xxxxxxxxxxxxx…  " in line for line in lines) == 3
