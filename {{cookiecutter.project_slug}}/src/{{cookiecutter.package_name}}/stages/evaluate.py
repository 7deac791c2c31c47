"""Stage 5, evaluate: score the model on the held-out test split; metrics, plot data, images."""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import joblib
import numpy as np
from gitops_ml import tracking
from gitops_ml.errors import run
from gitops_ml.evaluation import draw_plots, evaluate_model, evidence, json_value
from gitops_ml.schema import load_schema, read_frame
from gitops_ml.tables import write_csv

from ..config import load_params


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--test", type=Path, required=True)
    parser.add_argument("--schema", type=Path, required=True)
    parser.add_argument("--run-info", type=Path, required=True)
    parser.add_argument("--metrics", type=Path, required=True)
    parser.add_argument("--plots", type=Path, required=True)
    args = parser.parse_args(argv)

    params = load_params()
    schema = load_schema(args.schema)
    model = joblib.load(args.model)
    test = read_frame(args.test, schema)
    positive = schema.target.positive_label
    values, tables = evaluate_model(model, test, params.data.target, params.problem_type, positive)
    report: dict[str, Any] = {name: json_value(value) for name, value in values.items()}
    subject = ""
    if params.problem_type == "classification":
        classes = list(model.classes_)
        found = evidence(
            test[params.data.target], classes, positive, params.evaluate.min_class_rows
        )
        report.update(found)
        if positive is not None:
            subject = f"positive class {positive!r}"
    args.metrics.parent.mkdir(parents=True, exist_ok=True)
    args.metrics.write_text(json.dumps(report, indent=2, allow_nan=False) + "\n", encoding="utf-8")
    args.plots.mkdir(parents=True, exist_ok=True)
    for old in args.plots.glob("*_per_class.csv"):
        old.unlink()
    for name, table in tables.items():
        write_csv(table.round(6), args.plots / f"{name}.csv")
    images = draw_plots(tables, params.problem_type, args.plots, subject)

    with tracking.resume_run(args.run_info, params.mlflow.experiment) as mlflow:
        mlflow.log_metrics({k: v for k, v in values.items() if np.isfinite(v)})
        for image in images:
            mlflow.log_artifact(str(image), artifact_path="plots")
    shown = ", ".join(f"{name}={value:.4f}" for name, value in values.items())
    if subject:
        shown += f" ({subject})"
    elif report.get("average") == "macro":
        shown += " (precision, recall, f1, roc_auc: macro averages over classes)"
    print(f"evaluate: {shown}")
    if "warning" in report:
        print(f"evaluate: WARNING: {report['warning']}")


if __name__ == "__main__":
    run(main)
