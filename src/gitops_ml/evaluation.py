"""Evaluation evidence shared by the evaluate stage, monitoring and A/B comparison.

Scores a fitted model on labelled rows with the metric table (``metrics.py``), builds the
tables behind each plot (ROC and precision-recall curves, predictions, residuals), draws the
PNG images reports embed, and says what classification metrics rest on.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn import metrics as skm

from . import metrics
from .params import ProblemType
from .tables import split_target


def step_limits(fpr: np.ndarray, tpr: np.ndarray, grid: np.ndarray) -> tuple[np.ndarray, ...]:
    """A ROC curve's TPR just before and just after each grid FPR.

    The two differ where the curve rises vertically; between the curve's own points the TPR
    is linear. Averaging both limits over classes gives a curve whose trapezoid area is
    exactly the mean of the classes' areas, i.e. scikit-learn's macro one-vs-rest roc_auc.

    Args:
        fpr: the curve's false-positive rates (0..1, non-decreasing, as
            ``sklearn.metrics.roc_curve`` returns them).
        tpr: the matching true-positive rates (0..1).
        grid: the FPR values to evaluate at (sorted, within 0..1).

    Returns:
        (TPR just before, TPR just after), two arrays of ``len(grid)``.
    """
    points, first = np.unique(fpr, return_index=True)
    last = len(fpr) - 1 - np.unique(fpr[::-1], return_index=True)[1]
    after = np.searchsorted(points, grid)
    exact = (after < len(points)) & (points[np.minimum(after, len(points) - 1)] == grid)
    left, right = np.maximum(after - 1, 0), np.minimum(after, len(points) - 1)
    span = np.where(points[right] > points[left], points[right] - points[left], 1.0)
    share = (grid - points[left]) / span
    between = tpr[last[left]] + share * (tpr[first[right]] - tpr[last[left]])
    return (
        np.where(exact, tpr[first[right]], between),
        np.where(exact, tpr[last[right]], between),
    )


def curves(
    actual: np.ndarray, scores: np.ndarray, classes: list[Any], positive: Any
) -> dict[str, pd.DataFrame]:
    """The tables behind the ROC and precision-recall plots (scikit-learn's curves).

    Binary (``positive`` given): the ROC and precision-recall curves of the positive class.
    More classes (``positive`` None): one ROC and one precision-recall curve per class
    (one-vs-rest, column ``class``; a class absent from, or alone in, ``actual`` is
    skipped), plus the macro-average ROC curve (mean TPR over the union of every class's FPR
    points, so its area is metrics.json's macro roc_auc) and the micro-average
    precision-recall curve (every class-row pair pooled).

    Args:
        actual: the n true labels.
        scores: n rows x classes probabilities, columns in ``classes`` order.
        classes: the model's classes.
        positive: the positive class of a binary target, else None.

    Returns:
        ``roc`` (columns fpr, tpr) and ``precision_recall`` (recall, precision), all rates in
        0..1; with more classes also ``roc_per_class`` and ``precision_recall_per_class``
        (the same plus ``class``, as text).

    Raises:
        ValueError: with more classes, when no class has both positive and negative rows.
    """
    if positive is not None:
        column = classes.index(positive)
        fpr, tpr, _ = skm.roc_curve(actual == positive, scores[:, column])
        precision, recall, _ = skm.precision_recall_curve(actual == positive, scores[:, column])
        return {
            "roc": pd.DataFrame({"fpr": fpr, "tpr": tpr}),
            "precision_recall": pd.DataFrame({"recall": recall, "precision": precision}),
        }
    per_roc, per_pr, onehot = [], [], []
    for index, label in enumerate(classes):
        hit = actual == label
        onehot.append(hit)
        if hit.all() or not hit.any():
            continue
        fpr, tpr, _ = skm.roc_curve(hit, scores[:, index])
        per_roc.append(pd.DataFrame({"class": str(label), "fpr": fpr, "tpr": tpr}))
        precision, recall, _ = skm.precision_recall_curve(hit, scores[:, index])
        per_pr.append(pd.DataFrame({"class": str(label), "recall": recall, "precision": precision}))
    grid = np.unique(np.concatenate([curve["fpr"].to_numpy() for curve in per_roc]))
    limits = [step_limits(c["fpr"].to_numpy(), c["tpr"].to_numpy(), grid) for c in per_roc]
    below = np.mean([low for low, _ in limits], axis=0)
    above = np.mean([high for _, high in limits], axis=0)
    fpr = np.repeat(grid, 2)
    tpr = np.column_stack([below, above]).ravel()
    keep = np.r_[True, (np.diff(fpr) != 0) | (np.diff(tpr) != 0)]
    precision, recall, _ = skm.precision_recall_curve(
        np.column_stack(onehot).ravel(), scores.ravel()
    )
    return {
        "roc": pd.DataFrame({"fpr": fpr[keep], "tpr": tpr[keep]}),
        "precision_recall": pd.DataFrame({"recall": recall, "precision": precision}),
        "roc_per_class": pd.concat(per_roc, ignore_index=True),
        "precision_recall_per_class": pd.concat(per_pr, ignore_index=True),
    }


def evaluate_model(
    model: Any,
    test: pd.DataFrame,
    target: str,
    problem_type: ProblemType,
    positive_label: Any = None,
) -> tuple[dict[str, float], dict[str, pd.DataFrame]]:
    """Score a fitted model on labelled rows: its metrics and the tables behind each plot.

    Args:
        model: a fitted scikit-learn pipeline (``predict``; ``predict_proba`` and
            ``classes_`` for classification).
        test: n rows x the feature columns and ``target``.
        target: the label column's name.
        problem_type: ``"classification"`` or ``"regression"``.
        positive_label: binary targets only (default: the last of ``model.classes_``).

    Returns:
        (metrics, tables): metric name -> value (rounded to 6 digits, stable across runs;
        NaN where undefined on these rows, see :func:`gitops_ml.metrics.compute`); and
        ``predictions`` (n rows x actual, predicted, plus ``residual`` = actual - predicted
        for regression) with, for classification on rows of more than one class, the curves
        of :func:`curves`.

    Raises:
        KeyError: ``test`` has no column ``target``.
        SchemaError: a value does not fit its column's type (the model's own parsers).
    """
    features, actual = split_target(test, target)
    predicted = model.predict(features)
    tables: dict[str, pd.DataFrame] = {
        "predictions": pd.DataFrame({"actual": actual.to_numpy(), "predicted": predicted})
    }
    if problem_type == "classification":
        scores = model.predict_proba(features)
        classes = list(model.classes_)
        positive = None
        if len(classes) == 2:
            positive = classes[-1] if positive_label is None else positive_label
        values = metrics.compute(
            problem_type, actual.to_numpy(), predicted, scores, classes, positive
        )
        if len(np.unique(actual)) > 1:
            tables.update(curves(actual.to_numpy(), scores, classes, positive))
    else:
        values = metrics.compute(problem_type, actual.to_numpy(), predicted)
        tables["predictions"]["residual"] = actual.to_numpy() - predicted
    return values, tables


def evidence(
    actual: pd.Series, classes: list[Any], positive_label: Any, min_class_rows: int
) -> dict[str, Any]:
    """What the classification metrics rest on, for metrics.json.

    Returns:
        ``average`` (``"binary"`` or ``"macro"``), ``positive_label`` (binary only),
        ``test_rows_per_class`` (class as text -> rows of ``actual``), and a ``warning``
        sentence when a class has fewer than ``min_class_rows`` rows (promotion refuses
        such evidence).
    """
    counts = {str(label): n for label, n in metrics.rows_per_class(actual, classes).items()}
    found: dict[str, Any] = {"average": metrics.averaging(classes)}
    if len(classes) == 2:
        found["positive_label"] = positive_label
    found["test_rows_per_class"] = counts
    small = metrics.scarce(counts, min_class_rows)
    if small:
        named = ", ".join(f"{n} row(s) of class {label!r}" for label, n in small.items())
        found["warning"] = (
            f"the test split holds {named} (evaluate.min_class_rows: {min_class_rows}): "
            "precision, recall, f1 and roc_auc rest on too few examples to rank or promote "
            "models; add data"
        )
    return found


def draw_plots(
    tables: dict[str, pd.DataFrame],
    problem_type: ProblemType,
    out: Path,
    subject: str = "",
) -> list[Path]:
    """Draw PNG images for reports and pull-request comments (DVC's HTML needs a CDN).

    Classification: ``confusion_matrix.png``, and ``roc_curve.png`` and
    ``precision_recall_curve.png`` when ``tables`` holds the curves. Regression:
    ``predicted_vs_actual.png`` and ``residuals.png``. Images are 100 dpi, drawn with
    matplotlib's Agg backend (imported here only).

    Args:
        tables: the tables of :func:`evaluate_model`.
        problem_type: ``"classification"`` or ``"regression"``.
        out: an existing folder the images are written to.
        subject: what a single curve is about (e.g. "positive class 'churned'"); with more
            classes every class gets its own labelled curve beside the average.

    Returns:
        The paths written, in drawing order.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    drawn: list[Path] = []

    def save(fig: Any, name: str) -> None:
        fig.tight_layout()
        path = out / f"{name}.png"
        fig.savefig(path, dpi=100)
        plt.close(fig)
        drawn.append(path)

    predictions = tables["predictions"]
    if problem_type == "classification":
        fig, ax = plt.subplots(figsize=(4.5, 4))
        skm.ConfusionMatrixDisplay.from_predictions(
            predictions["actual"].astype(str), predictions["predicted"].astype(str), ax=ax,
            colorbar=False,
        )  # fmt: skip
        ax.set_title("Confusion matrix (test)")
        save(fig, "confusion_matrix")
        for name, key, x, y, title, average in (
            ("roc_curve", "roc", "fpr", "tpr", "ROC curve", "macro average"),
            ("precision_recall_curve", "precision_recall", "recall", "precision",
             "Precision-recall curve", "micro average"),
        ):  # fmt: skip
            if key not in tables:
                continue
            fig, ax = plt.subplots(figsize=(5.5, 4.5))
            per_class = tables.get(f"{key}_per_class")
            if per_class is not None:
                for label, curve in per_class.groupby("class", sort=True):
                    area = f", AUC {skm.auc(curve[x], curve[y]):.3f}" if key == "roc" else ""
                    ax.plot(curve[x], curve[y], linewidth=1, label=f"class {label}{area}")
                area = (
                    f", AUC {skm.auc(tables[key][x], tables[key][y]):.3f}" if key == "roc" else ""
                )
                ax.plot(tables[key][x], tables[key][y], "k--", linewidth=2, label=average + area)
                ax.legend(fontsize="small", loc="lower right" if key == "roc" else "lower left")
                title = f"{title}s, one vs rest"
            else:
                table = tables[key]
                if key == "roc":
                    label = f"AUC {skm.auc(table[x], table[y]):.3f}"
                else:  # scikit-learn's average_precision_score, from the curve's points
                    recall, precision = table[x].to_numpy(), table[y].to_numpy()
                    label = f"average precision {-np.sum(np.diff(recall) * precision[:-1]):.3f}"
                ax.plot(table[x], table[y], label=label)
                if key == "precision_recall":  # lowest threshold: every row called positive
                    prevalence = float(table[y].iloc[0])
                    ax.axhline(prevalence, color="grey", linestyle=":", label="chance")
                ax.legend(fontsize="small", loc="lower right" if key == "roc" else "lower left")
                title = f"{title} ({subject})" if subject else title
            if key == "roc":
                ax.plot([0, 1], [0, 1], color="grey", linestyle=":", linewidth=1)
            ax.set(xlabel=x, ylabel=y, xlim=(0, 1), ylim=(0, 1.02))
            ax.set_title(title, fontsize="medium")
            save(fig, name)
    else:
        fig, ax = plt.subplots(figsize=(4.5, 4))
        ax.scatter(predictions["actual"], predictions["predicted"], s=10, alpha=0.6)
        low = float(min(predictions["actual"].min(), predictions["predicted"].min()))
        high = float(max(predictions["actual"].max(), predictions["predicted"].max()))
        ax.plot([low, high], [low, high], color="grey", linestyle="--")
        ax.set(xlabel="actual", ylabel="predicted", title="Predicted vs actual (test)")
        save(fig, "predicted_vs_actual")
        fig, ax = plt.subplots(figsize=(4.5, 4))
        ax.scatter(predictions["predicted"], predictions["residual"], s=10, alpha=0.6)
        ax.axhline(0, color="grey", linestyle="--")
        ax.set(xlabel="predicted", ylabel="residual", title="Residuals (test)")
        save(fig, "residuals")
    return drawn


def json_value(value: Any) -> Any:
    """A metric value for strict JSON: NaN or infinite becomes None, numpy scalars Python."""
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value.item() if hasattr(value, "item") else value
