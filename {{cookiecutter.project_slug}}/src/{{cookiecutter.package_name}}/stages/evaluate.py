"""Stage 5, evaluate: score the model on the held-out test split; metrics, plot data, images."""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
from sklearn import metrics as skm

from .. import tracking
from ..cli import run
from ..config import ProblemType, load_params
from ..data import split_target, write_csv


def classification_metrics(
    actual: pd.Series, predicted: np.ndarray, scores: np.ndarray, classes: Sequence[Any]
) -> dict[str, float]:
    binary = len(classes) == 2
    average = "binary" if binary else "macro"
    positive = {"pos_label": classes[1]} if binary else {}
    roc_auc = (
        skm.roc_auc_score(actual, scores[:, 1])
        if binary
        else skm.roc_auc_score(actual, scores, multi_class="ovr", labels=list(classes))
    )
    return {
        "accuracy": skm.accuracy_score(actual, predicted),
        "precision": skm.precision_score(
            actual, predicted, average=average, zero_division=0, **positive
        ),
        "recall": skm.recall_score(actual, predicted, average=average, zero_division=0, **positive),
        "f1": skm.f1_score(actual, predicted, average=average, zero_division=0, **positive),
        "roc_auc": roc_auc,
    }


def regression_metrics(actual: pd.Series, predicted: np.ndarray) -> dict[str, float]:
    return {
        "rmse": float(np.sqrt(skm.mean_squared_error(actual, predicted))),
        "mae": skm.mean_absolute_error(actual, predicted),
        "r2": skm.r2_score(actual, predicted),
    }


def evaluate_model(
    model: Any, test: pd.DataFrame, target: str, problem_type: ProblemType
) -> tuple[dict[str, float], dict[str, pd.DataFrame]]:
    """Metrics (rounded, stable across runs) and the tables behind each plot."""
    features, actual = split_target(test, target)
    predicted = model.predict(features)
    tables: dict[str, pd.DataFrame] = {
        "predictions": pd.DataFrame({"actual": actual.to_numpy(), "predicted": predicted})
    }
    if problem_type == "classification":
        scores = model.predict_proba(features)
        classes = list(model.classes_)
        values = classification_metrics(actual, predicted, scores, classes)
        positive = classes[-1]
        column = classes.index(positive)
        fpr, tpr, _ = skm.roc_curve(actual, scores[:, column], pos_label=positive)
        precision, recall, _ = skm.precision_recall_curve(
            actual, scores[:, column], pos_label=positive
        )
        tables["roc"] = pd.DataFrame({"fpr": fpr, "tpr": tpr})
        tables["precision_recall"] = pd.DataFrame({"recall": recall, "precision": precision})
    else:
        values = regression_metrics(actual, predicted)
        tables["predictions"]["residual"] = actual.to_numpy() - predicted
    return {name: round(float(value), 6) for name, value in values.items()}, tables


def draw_plots(tables: dict[str, pd.DataFrame], problem_type: ProblemType, out: Path) -> list[Path]:
    """PNG images for reports and pull-request comments (DVC's HTML needs a CDN)."""
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
            predictions["actual"], predictions["predicted"], ax=ax, colorbar=False
        )
        ax.set_title("Confusion matrix (test)")
        save(fig, "confusion_matrix")
        for name, x, y, title in (
            ("roc_curve", "fpr", "tpr", "ROC curve"),
            ("precision_recall_curve", "recall", "precision", "Precision-recall curve"),
        ):
            table = tables["roc" if name == "roc_curve" else "precision_recall"]
            fig, ax = plt.subplots(figsize=(4.5, 4))
            ax.plot(table[x], table[y])
            ax.set(xlabel=x, ylabel=y, title=title, xlim=(0, 1), ylim=(0, 1.02))
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


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--test", type=Path, required=True)
    parser.add_argument("--run-info", type=Path, required=True)
    parser.add_argument("--metrics", type=Path, required=True)
    parser.add_argument("--plots", type=Path, required=True)
    args = parser.parse_args(argv)

    params = load_params()
    model = joblib.load(args.model)
    values, tables = evaluate_model(
        model, pd.read_csv(args.test), params.data.target, params.problem_type
    )
    args.metrics.parent.mkdir(parents=True, exist_ok=True)
    args.metrics.write_text(json.dumps(values, indent=2) + "\n", encoding="utf-8")
    args.plots.mkdir(parents=True, exist_ok=True)
    for name, table in tables.items():
        write_csv(table.round(6), args.plots / f"{name}.csv")
    images = draw_plots(tables, params.problem_type, args.plots)

    with tracking.resume_run(args.run_info, params.mlflow.experiment) as mlflow:
        mlflow.log_metrics(values)
        for image in images:
            mlflow.log_artifact(str(image), artifact_path="plots")
    print("evaluate: " + ", ".join(f"{name}={value:.4f}" for name, value in values.items()))


if __name__ == "__main__":
    run(main)
