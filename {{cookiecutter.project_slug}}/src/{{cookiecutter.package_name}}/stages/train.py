"""Stage 4, train: fit the model family chosen in params.yaml and track it with MLflow.

The saved model is a full scikit-learn Pipeline (fitted preprocessor + estimator), so it
predicts from raw columns: the same artifact is evaluated, registered and served.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from importlib.metadata import version
from pathlib import Path
from typing import Any

import joblib
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.ensemble import (
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import Pipeline

from .. import tracking
from ..cli import run
from ..config import Params, ProblemType, TrainParams, load_params
from ..data import file_md5, split_target
from ..schema import Schema, load_schema, read_frame, signature_types

# What loading the logged model needs, pinned to the versions that trained it. Listed instead of
# letting MLflow infer them: inference loads the model in a subprocess (about 10 s per logged
# model) and picks up whatever else is installed (pytest, rich...).
MODEL_REQUIREMENTS = ("mlflow", "scikit-learn", "skops", "pandas", "numpy", "scipy")


def model_requirements() -> list[str]:
    return [f"{name}=={version(name)}" for name in MODEL_REQUIREMENTS]


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


def pipeline_types(model: Pipeline) -> list[str]:
    """Types skops does not trust by default, found by serializing the model we just built."""
    import skops.io

    return sorted(skops.io.get_untrusted_types(data=skops.io.dumps(model)))


def flat_params(params: Params) -> dict[str, Any]:
    return {
        "problem_type": params.problem_type,
        "model": params.train.model,
        "seed": params.train.seed,
        **{f"{params.train.model}.{k}": v for k, v in params.train.hyperparameters().items()},
        **{f"featurize.{k}": v for k, v in params.featurize.model_dump().items()},
    }


def signature(model: Pipeline, example: pd.DataFrame, schema: Schema) -> Any:
    """The serving contract, from the column types decided at ingest (schema.signature_types):
    numbers are double, so a missing value is accepted in any numeric column the model
    imputes; booleans, dates and categories are text that the model's own parsers read."""
    from mlflow.models import ModelSignature, infer_signature
    from mlflow.types.schema import ColSpec
    from mlflow.types.schema import Schema as MlflowSchema

    inputs = MlflowSchema([ColSpec(kind, name) for name, kind in signature_types(schema).items()])
    outputs = infer_signature(example, model.predict(example)).outputs
    return ModelSignature(inputs=inputs, outputs=outputs)


def serving_example(example: pd.DataFrame, schema: Schema) -> pd.DataFrame:
    """Rows as a client sends them: numbers as float, everything else as text (or None)."""
    types = signature_types(schema)
    return pd.DataFrame(
        {
            name: example[name].astype("float64")
            if kind == "double"
            else example[name].astype("string").astype(object).where(example[name].notna(), None)
            for name, kind in types.items()
        }
    )


def log_to_mlflow(
    model: Pipeline,
    example: pd.DataFrame,
    params: Params,
    data_versions: dict[str, str],
    schema: Schema,
) -> dict[str, str]:
    """Log params, lineage tags and the model (with signature and input example); the package
    travels with the model (code_paths) since its transformers are steps of it."""
    mlflow = tracking.configure(params.mlflow.experiment)
    example = serving_example(example, schema)

    with mlflow.start_run() as active:
        mlflow.log_params(flat_params(params))
        versions = {f"data_md5.{name}": md5 for name, md5 in data_versions.items()}
        mlflow.set_tags({"git_commit": tracking.git_commit(), **versions})
        info = mlflow.sklearn.log_model(
            model,
            name="model",
            signature=signature(model, example, schema),
            input_example=example.head(3),
            code_paths=[str(Path(__file__).resolve().parents[1])],
            # skops (MLflow's safe default) loads only types listed as trusted: list the
            # ones this pipeline, built right here, is made of.
            skops_trusted_types=pipeline_types(model),
            pip_requirements=model_requirements(),
        )
        return {
            "run_id": active.info.run_id,
            "experiment_id": active.info.experiment_id,
            "model_uri": info.model_uri,
            "tracking_uri": tracking.tracking_uri(),
            **versions,
        }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--train", type=Path, required=True, help="raw training rows")
    parser.add_argument("--schema", type=Path, required=True, help="column types (ingest)")
    parser.add_argument("--features", type=Path, required=True)
    parser.add_argument("--preprocessor", type=Path, required=True)
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--run-info", type=Path, required=True)
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
    run_info = log_to_mlflow(model, raw_inputs, params, versions, schema)
    args.run_info.write_text(json.dumps(run_info, indent=2) + "\n", encoding="utf-8")
    print(f"train: {params.train.model} on {len(features)} rows, MLflow run {run_info['run_id']}")


if __name__ == "__main__":
    run(main)
