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
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # numpy is imported where it is used: params.py reads the table only
    import numpy as np


@dataclass(frozen=True)
class Metric:
    """One metric of the table and how to compute and rank it.

    Attributes:
        name: key in reports/metrics.json.
        problem_type: ``"classification"`` or ``"regression"``.
        needs_scores: computed from class probabilities (predict_proba) rather than
            predictions.
        greater_is_better: the ranking direction.
    """

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
    """The metric names of ``problem_type`` in table order (empty for an unknown type)."""
    return [m.name for m in METRICS.values() if m.problem_type == problem_type]


def averaging(classes: Sequence[Any]) -> str:
    """``"binary"`` for two classes (scores of the positive class), else ``"macro"``."""
    return "binary" if len(classes) == 2 else "macro"


def scorer(
    name: str, classes: Sequence[Any] = (), positive_label: Any = None
) -> Callable[[np.ndarray, np.ndarray], float]:
    """The function ``metric(actual, output) -> float`` for the metric ``name``.

    The definitions are scikit-learn's (``sklearn.metrics``): precision, recall and f1 of
    ``positive_label`` for two classes (default ``classes[1]``), macro averages otherwise;
    roc_auc of the positive class's score, or the macro one-vs-rest AUC; rmse is the square
    root of the mean squared error, in the target's unit like mae.

    Args:
        name: a key of :data:`METRICS`.
        classes: the target's classes, in the order of the probability columns.
        positive_label: the positive class of a binary target.

    Returns:
        A function of ``actual`` (n labels) and ``output`` (n rows x classes probabilities
        for roc_auc, n predictions otherwise) returning NaN where the metric is undefined
        (one class only for roc_auc, a class without rows for one-vs-rest, r2 on one row,
        or any ``ValueError`` from scikit-learn); warnings are silenced.

    Raises:
        KeyError: ``name`` is not a metric of the table.
    """
    import numpy as np
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
    """Rows of each class among ``actual``, in ``classes`` order (0 for a class that has none).

    This is what classification metrics on these rows rest on.
    """
    import numpy as np

    actual = np.asarray(actual)
    return {label: int(np.sum(actual == label)) for label in classes}


def scarce(counts: dict[Any, int], min_rows: int) -> dict[Any, int]:
    """The classes (with their row counts) that have fewer than ``min_rows`` rows.

    ``min_rows`` is evaluate.min_class_rows: below it, precision, recall, f1 or roc_auc on
    those rows mean nothing.
    """
    return {label: n for label, n in counts.items() if n < min_rows}


def model_output(model: Any, features: Any, name: str) -> np.ndarray:
    """What metric ``name`` is computed from: ``predict_proba`` (n rows x classes) or ``predict``.

    Raises:
        KeyError: ``name`` is not a metric of the table.
    """
    return model.predict_proba(features) if METRICS[name].needs_scores else model.predict(features)


def compute(
    problem_type: str,
    actual: np.ndarray,
    predicted: np.ndarray,
    scores: np.ndarray | None = None,
    classes: Sequence[Any] = (),
    positive_label: Any = None,
) -> dict[str, float]:
    """Every metric of the problem type, rounded to 6 digits (NaN where undefined).

    Args:
        problem_type: ``"classification"`` or ``"regression"``.
        actual: the n true labels or values.
        predicted: the n predictions.
        scores: n rows x classes probabilities (columns in ``classes`` order); needed for
            roc_auc, so required for classification.
        classes: the target's classes (classification).
        positive_label: the positive class of a binary target (default ``classes[1]``).

    Returns:
        Metric name -> value, in table order (see :func:`scorer` for the definitions).
    """
    import numpy as np

    values = {}
    for name in names(problem_type):
        output = scores if METRICS[name].needs_scores else predicted
        value = scorer(name, classes, positive_label)(actual, output)
        values[name] = round(value, 6) if np.isfinite(value) else float("nan")
    return values
