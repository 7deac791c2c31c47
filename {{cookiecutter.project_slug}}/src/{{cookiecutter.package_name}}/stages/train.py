"""Stage 4, train: fit the model family chosen in params.yaml and track it with MLflow.

The saved model is a full scikit-learn Pipeline (fitted preprocessor + estimator), so it
predicts from raw columns: the same artifact is evaluated, registered and served.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import joblib
import pandas as pd
from gitops_ml import tracking
from gitops_ml.errors import run
from gitops_ml.schema import load_schema, read_frame
from gitops_ml.tables import file_md5, split_target
from sklearn.base import BaseEstimator
from sklearn.ensemble import (
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import Pipeline

from ..config import Params, ProblemType, TrainParams, load_params

ESTIMATORS: dict[tuple[str, str], type[BaseEstimator]] = {
    ("classification", "logistic_regression"): LogisticRegression,
    ("classification", "random_forest"): RandomForestClassifier,
    ("classification", "gradient_boosting"): HistGradientBoostingClassifier,
    ("regression", "ridge"): Ridge,
    ("regression", "random_forest"): RandomForestRegressor,
    ("regression", "gradient_boosting"): HistGradientBoostingRegressor,
}


def build_estimator(problem_type: ProblemType, params: TrainParams) -> BaseEstimator:
    estimator_class = ESTIMATORS[(problem_type, params.model)]
    estimator = estimator_class(**params.hyperparameters())
    if "random_state" in estimator.get_params():
        estimator.set_params(random_state=params.seed)
    return estimator


def train_model(
    features: pd.DataFrame, labels: pd.Series, problem_type: ProblemType, params: TrainParams
) -> BaseEstimator:
    """Fit the configured estimator on already-transformed features."""
    return build_estimator(problem_type, params).fit(features.to_numpy(), labels.to_numpy())


def assemble(preprocessor: Any, estimator: BaseEstimator) -> Pipeline:
    """Both parts are fitted: the Pipeline predicts from raw input columns."""
    return Pipeline([("preprocess", preprocessor), ("model", estimator)])


def flat_params(params: Params) -> dict[str, Any]:
    return {
        "problem_type": params.problem_type,
        "model": params.train.model,
        "seed": params.train.seed,
        **{f"{params.train.model}.{k}": v for k, v in params.train.hyperparameters().items()},
        **{f"featurize.{k}": v for k, v in params.featurize.model_dump().items()},
    }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--train", type=Path, required=True, help="raw training rows")
    parser.add_argument("--schema", type=Path, required=True, help="column types (ingest)")
    parser.add_argument("--features", type=Path, required=True)
    parser.add_argument("--preprocessor", type=Path, required=True)
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--run-info", type=Path, required=True)
    parser.add_argument(
        "--feature-spec",
        type=Path,
        help="the feature store's reports/feature_store.json: logged with the model",
    )
    args = parser.parse_args(argv)

    params = load_params()
    features, labels = split_target(pd.read_parquet(args.features), params.data.target)
    estimator = train_model(features, labels, params.problem_type, params.train)
    model = assemble(joblib.load(args.preprocessor), estimator)
    args.model.parent.mkdir(parents=True, exist_ok=True)
    joblib.dump(model, args.model)

    schema = load_schema(args.schema)
    raw_inputs, _ = split_target(read_frame(args.train, schema).head(5), params.data.target)
    versions = {"train": file_md5(args.train), "features": file_md5(args.features)}
    feature_spec = None
    if args.feature_spec is not None:
        feature_spec = json.loads(args.feature_spec.read_text(encoding="utf-8"))["spec"]
    run_info = tracking.log_model(
        model,
        raw_inputs,
        params.mlflow.experiment,
        flat_params(params),
        versions,
        schema,
        feature_spec=feature_spec,
    )
    args.run_info.write_text(json.dumps(run_info, indent=2) + "\n", encoding="utf-8")
    print(f"train: {params.train.model} on {len(features)} rows, MLflow run {run_info['run_id']}")


if __name__ == "__main__":
    run(main)
