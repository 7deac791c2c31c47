"""Stage 3, featurize: fit the preprocessing on the training split only."""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path

import joblib
import pandas as pd
from sklearn.compose import ColumnTransformer, make_column_selector
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from ..cli import PipelineError, run
from ..config import FeaturizeParams, load_params
from ..data import split_target


def build_preprocessor(params: FeaturizeParams) -> ColumnTransformer:
    """Numeric: impute (+ scale); categorical: impute + one-hot, unknown categories ignored."""
    numeric_steps: list[tuple[str, object]] = [
        ("impute", SimpleImputer(strategy=params.numeric_impute))
    ]
    if params.scale_numeric:
        numeric_steps.append(("scale", StandardScaler()))
    categorical = Pipeline(
        [
            ("impute", SimpleImputer(strategy=params.categorical_impute, fill_value="missing")),
            (
                "onehot",
                OneHotEncoder(
                    handle_unknown="infrequent_if_exist" if params.max_categories else "ignore",
                    max_categories=params.max_categories,
                    sparse_output=False,
                ),
            ),
        ]
    )
    return ColumnTransformer(
        [
            ("numeric", Pipeline(numeric_steps), make_column_selector(dtype_include="number")),
            ("categorical", categorical, make_column_selector(dtype_exclude="number")),
        ],
        verbose_feature_names_out=False,
    )


def fit_features(
    train: pd.DataFrame, target: str, params: FeaturizeParams
) -> tuple[ColumnTransformer, pd.DataFrame]:
    """Fit on the training rows only; return the fitted transformer and the features."""
    features, labels = split_target(train, target)
    preprocessor = build_preprocessor(params).fit(features)
    transformed = pd.DataFrame(
        preprocessor.transform(features), columns=preprocessor.get_feature_names_out()
    )
    transformed[target] = labels.to_numpy()
    return preprocessor, transformed


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--train", type=Path, required=True)
    parser.add_argument("--validation", type=Path, required=True)
    parser.add_argument("--preprocessor", type=Path, required=True)
    parser.add_argument("--features", type=Path, required=True)
    args = parser.parse_args(argv)

    with args.validation.open(encoding="utf-8") as handle:
        if not json.load(handle)["success"]:
            raise PipelineError(f"{args.validation} reports failed data validation")
    params = load_params()
    preprocessor, transformed = fit_features(
        pd.read_csv(args.train), params.data.target, params.featurize
    )
    args.preprocessor.parent.mkdir(parents=True, exist_ok=True)
    joblib.dump(preprocessor, args.preprocessor)
    args.features.parent.mkdir(parents=True, exist_ok=True)
    transformed.to_parquet(args.features, index=False)
    print(f"featurize: {transformed.shape[1] - 1} features from {len(transformed)} rows")


if __name__ == "__main__":
    run(main)
