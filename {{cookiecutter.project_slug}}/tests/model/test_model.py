"""Model tests on the demo data: minimum quality, determinism, serialization round trip."""

from __future__ import annotations

from pathlib import Path

import joblib
import numpy as np
import pytest
from gitops_ml.tables import split_target

from {{ cookiecutter.package_name }}.stages import evaluate, ingest

from ..helpers import fit_pipeline

# Minimum quality on the held-out demo split: a regression below these is a bug, not noise.
FLOORS = {"accuracy": 0.9, "roc_auc": 0.95, "r2": 0.3}


@pytest.fixture(scope="module")
def demo_split(demo_frame, params):
    return ingest.split(demo_frame, params.data, params.problem_type)


def assert_same_predictions(actual, expected):
    """Labels must match exactly; regression outputs up to floating-point summation order."""
    if np.issubdtype(np.asarray(expected).dtype, np.floating):
        np.testing.assert_allclose(actual, expected, rtol=1e-9, atol=1e-9)
    else:
        np.testing.assert_array_equal(actual, expected)


def test_minimum_quality(demo_split, params):
    train_frame, test_frame = demo_split
    values, _ = evaluate.evaluate_model(
        fit_pipeline(train_frame, params), test_frame, params.data.target, params.problem_type
    )
    for metric, floor in FLOORS.items():
        if metric in values:
            assert values[metric] >= floor, f"{metric}={values[metric]} below {floor}"


def test_same_seed_same_predictions(demo_split, params):
    train_frame, test_frame = demo_split
    raw, _ = split_target(test_frame, params.data.target)
    np.testing.assert_array_equal(
        fit_pipeline(train_frame, params).predict(raw),
        fit_pipeline(train_frame, params).predict(raw),
    )


def test_serialized_model_predicts_like_in_memory(tmp_path: Path, demo_split, params):
    train_frame, test_frame = demo_split
    model = fit_pipeline(train_frame, params)
    joblib.dump(model, tmp_path / "model.joblib")
    raw, _ = split_target(test_frame, params.data.target)
    np.testing.assert_array_equal(
        joblib.load(tmp_path / "model.joblib").predict(raw), model.predict(raw)
    )


def test_prediction_does_not_depend_on_the_batch(demo_split, params):
    # Invariance: a row gets the same prediction alone, in a batch, or with rows reordered.
    train_frame, test_frame = demo_split
    model = fit_pipeline(train_frame, params)
    raw, _ = split_target(test_frame, params.data.target)
    batch = model.predict(raw)
    single = np.concatenate([model.predict(raw.iloc[[i]]) for i in range(5)])
    assert_same_predictions(single, batch[:5])
    assert_same_predictions(model.predict(raw.iloc[::-1])[::-1], batch)
