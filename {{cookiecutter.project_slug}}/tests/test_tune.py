"""make tune: the grid expands to DVC experiment commands, ranked by the primary metric."""

from __future__ import annotations

from pathlib import Path

from {{ cookiecutter.package_name }}.tune import (
    absolute_tracking_uri,
    grid_points,
    set_arguments,
    show_command,
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


def test_show_sorts_by_primary_metric_in_its_direction():
    assert show_command("rmse")[-4:] == [
        "--sort-by",
        "reports/metrics.json:rmse",
        "--sort-order",
        "asc",
    ]
    assert show_command("roc_auc")[-1] == "desc"


def test_relative_sqlite_store_is_anchored_to_the_project():
    assert absolute_tracking_uri("sqlite:///mlflow.db") == f"sqlite:///{Path.cwd() / 'mlflow.db'}"
    assert absolute_tracking_uri("sqlite:////abs/m.db") == "sqlite:////abs/m.db"
    assert absolute_tracking_uri("http://mlflow:5000") == "http://mlflow:5000"
