"""The metric table: one definition of every metric, used by evaluate, promotion and monitoring.

Binary targets: precision, recall and f1 are those of the positive class (data.positive_label,
default the minority class) and roc_auc ranks that class's score. More than two classes:
precision, recall and f1 are macro averages (each class counts the same) and roc_auc is the
macro average of one-vs-rest AUCs (scikit-learn's `multi_class="ovr"`).

A metric that is undefined on the rows given (roc_auc when only one class is present) is NaN,
never an exception or a warning: callers decide what an undefined value means.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Metric:
    """name: key in reports/metrics.json; needs_scores: computed from class probabilities
    (predict_proba) rather than predictions; greater_is_better: the ranking direction."""

    name: str
    problem_type: str
    needs_scores: bool
    greater_is_better: bool


METRICS: dict[str, Metric] = {
    m.name: m
    for m in (
        Metric("accuracy", "classification", False, True),
        Metric("precision", "classification", False, True),
        Metric("recall", "classification", False, True),
        Metric("f1", "classification", False, True),
        Metric("roc_auc", "classification", True, True),
        Metric("rmse", "regression", False, False),
        Metric("mae", "regression", False, False),
        Metric("r2", "regression", False, True),
    )
}


def names(problem_type: str) -> list[str]:
    return [m.name for m in METRICS.values() if m.problem_type == problem_type]


def averaging(classes: Sequence[Any]) -> str:
    """ "binary" for two classes (scores of the positive class), else "macro"."""
    return "binary" if len(classes) == 2 else "macro"


def scorer(
    name: str, classes: Sequence[Any] = (), positive_label: Any = None
) -> Callable[[np.ndarray, np.ndarray], float]:
    """metric(actual, output) -> float, NaN where undefined. `output` is the (rows, classes)
    probabilities for roc_auc (columns in `classes` order), predictions otherwise."""
    from sklearn import metrics as skm

    classes = list(classes)
    binary = len(classes) == 2
    if binary and positive_label is None:
        positive_label = classes[1]
    averaged: dict[str, Any] = (
        {"average": "binary", "pos_label": positive_label} if binary else {"average": "macro"}
    )

    def roc_auc(actual: np.ndarray, scores: np.ndarray) -> float:
        if len(np.unique(actual)) < 2:
            return float("nan")
        if binary:
            column = classes.index(positive_label)
            return skm.roc_auc_score(np.asarray(actual) == positive_label, scores[:, column])
        present = set(np.unique(actual))
        if present != set(classes):  # ovr is undefined for a class without rows
            return float("nan")
        return skm.roc_auc_score(actual, scores, multi_class="ovr", labels=classes)

    table: dict[str, Callable[[np.ndarray, np.ndarray], float]] = {
        "accuracy": skm.accuracy_score,
        "precision": lambda y, p: skm.precision_score(y, p, zero_division=0, **averaged),
        "recall": lambda y, p: skm.recall_score(y, p, zero_division=0, **averaged),
        "f1": lambda y, p: skm.f1_score(y, p, zero_division=0, **averaged),
        "roc_auc": roc_auc,
        "rmse": lambda y, p: float(np.sqrt(skm.mean_squared_error(y, p))),
        "mae": skm.mean_absolute_error,
        "r2": lambda y, p: skm.r2_score(y, p) if len(y) > 1 else float("nan"),
    }
    function = table[name]

    def score(actual: np.ndarray, output: np.ndarray) -> float:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                return float(function(actual, output))
            except ValueError:
                return float("nan")

    return score


def rows_per_class(actual: Any, classes: Sequence[Any]) -> dict[Any, int]:
    """Rows of each class among `actual`, in `classes` order (0 for a class that has none):
    what classification metrics on these rows rest on."""
    actual = np.asarray(actual)
    return {label: int(np.sum(actual == label)) for label in classes}


def scarce(counts: dict[Any, int], min_rows: int) -> dict[Any, int]:
    """The classes with fewer than `min_rows` rows (evaluate.min_class_rows): too few for
    precision, recall, f1 or roc_auc to mean anything."""
    return {label: n for label, n in counts.items() if n < min_rows}


def model_output(model: Any, features: Any, name: str) -> np.ndarray:
    return model.predict_proba(features) if METRICS[name].needs_scores else model.predict(features)


def compute(
    problem_type: str,
    actual: np.ndarray,
    predicted: np.ndarray,
    scores: np.ndarray | None = None,
    classes: Sequence[Any] = (),
    positive_label: Any = None,
) -> dict[str, float]:
    """Every metric of the problem type, rounded to 6 digits (NaN where undefined)."""
    values = {}
    for name in names(problem_type):
        output = scores if METRICS[name].needs_scores else predicted
        value = scorer(name, classes, positive_label)(actual, output)
        values[name] = round(value, 6) if np.isfinite(value) else float("nan")
    return values

