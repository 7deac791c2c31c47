"""evaluate: the metrics of this problem type, plot data and images."""

from __future__ import annotations

from pathlib import Path

from gitops_ml.params import METRICS_BY_PROBLEM

from {{ cookiecutter.package_name }}.stages import evaluate

from ..helpers import fit_pipeline


def test_metrics_are_complete_and_rounded(mixed_frame, params):
    model = fit_pipeline(mixed_frame, params)
    values, tables = evaluate.evaluate_model(
        model, mixed_frame, params.data.target, params.problem_type
    )
    assert set(values) == METRICS_BY_PROBLEM[params.problem_type]
    assert all(round(value, 6) == value for value in values.values())
    assert len(tables["predictions"]) == len(mixed_frame)


def test_plots_are_drawn(tmp_path: Path, mixed_frame, params):
    model = fit_pipeline(mixed_frame, params)
    _, tables = evaluate.evaluate_model(model, mixed_frame, params.data.target, params.problem_type)
    images = evaluate.draw_plots(tables, params.problem_type, tmp_path)
    assert len(images) >= 2
    assert all(image.read_bytes().startswith(b"\x89PNG") for image in images)
