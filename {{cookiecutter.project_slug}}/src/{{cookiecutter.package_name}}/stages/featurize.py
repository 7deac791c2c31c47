"""Stage 3, featurize: fit the preprocessing on the training split only, by column type."""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path

import joblib
import pandas as pd
from gitops_ml.errors import PipelineError, run
from gitops_ml.features import BooleanColumns, DateParts, NumericColumns, TextColumns
from gitops_ml.schema import (
    BOOLEAN,
    CATEGORICAL,
    DATETIME,
    NUMERIC,
    Schema,
    infer_schema,
    load_schema,
    read_frame,
)
from gitops_ml.tables import split_target
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from ..config import FeaturizeParams, load_params


def build_preprocessor(params: FeaturizeParams, schema: Schema) -> ColumnTransformer:
    """One branch per column type of the schema; columns it dropped are not used.

    numeric: placeholders -> missing, impute (+ scale); boolean: 0/1, impute the most frequent;
    datetime: the date parts of schema.date_parts, impute (+ scale); categorical: impute +
    one-hot, unseen categories ignored (or "infrequent" when max_categories is set).
    """

    def scaled(first: tuple[str, object], strategy: str) -> Pipeline:
        steps = [first, ("impute", SimpleImputer(strategy=strategy, keep_empty_features=True))]
        if params.scale_numeric:
            steps.append(("scale", StandardScaler()))
        return Pipeline(steps)

    numeric = schema.of_type(NUMERIC)
    dates = schema.of_type(DATETIME)
    placeholders = {
        name: sorted(schema.columns[name].placeholders)
        for name in numeric
        if schema.columns[name].placeholders
    }
    categorical = Pipeline(
        [
            ("text", TextColumns()),
            (
                "impute",
                SimpleImputer(
                    strategy=params.categorical_impute,
                    fill_value="missing",
                    keep_empty_features=True,
                ),
            ),
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
    branches = [
        (
            "numeric",
            scaled(("parse", NumericColumns(placeholders or None)), params.numeric_impute),
            numeric,
        ),
        (
            "boolean",
            Pipeline(
                [
                    ("parse", BooleanColumns()),
                    ("impute", SimpleImputer(strategy="most_frequent", keep_empty_features=True)),
                ]
            ),
            schema.of_type(BOOLEAN),
        ),
        (
            "datetime",
            scaled(
                (
                    "parse",
                    DateParts(
                        {name: schema.columns[name].format or "" for name in dates},
                        {name: schema.columns[name].parts for name in dates},
                    ),
                ),
                params.numeric_impute,
            ),
            dates,
        ),
        ("categorical", categorical, schema.of_type(CATEGORICAL)),
    ]
    return ColumnTransformer(
        [branch for branch in branches if branch[2]], verbose_feature_names_out=False
    )


def fit_features(
    train: pd.DataFrame, target: str, params: FeaturizeParams, schema: Schema | None = None
) -> tuple[ColumnTransformer, pd.DataFrame]:
    """Fit on the training rows only; return the fitted transformer and the features.

    `schema`: the column types decided at ingest (inferred from `train` when None, as in
    tests on small frames).
    """
    if schema is None:
        schema = infer_schema(train, target, "regression")
    features, labels = split_target(train, target)
    if not schema.features:
        raise PipelineError("no input column is usable as a feature (see the schema's notes)")
    preprocessor = build_preprocessor(params, schema).fit(features)
    transformed = pd.DataFrame(
        preprocessor.transform(features), columns=preprocessor.get_feature_names_out()
    )
    transformed[target] = labels.to_numpy()
    return preprocessor, transformed


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--train", type=Path, required=True)
    parser.add_argument("--schema", type=Path, required=True)
    parser.add_argument("--validation", type=Path, required=True)
    parser.add_argument("--preprocessor", type=Path, required=True)
    parser.add_argument("--features", type=Path, required=True)
    args = parser.parse_args(argv)

    with args.validation.open(encoding="utf-8") as handle:
        if not json.load(handle)["success"]:
            raise PipelineError(f"{args.validation} reports failed data validation")
    params = load_params()
    schema = load_schema(args.schema)
    preprocessor, transformed = fit_features(
        read_frame(args.train, schema), params.data.target, params.featurize, schema
    )
    args.preprocessor.parent.mkdir(parents=True, exist_ok=True)
    joblib.dump(preprocessor, args.preprocessor)
    args.features.parent.mkdir(parents=True, exist_ok=True)
    transformed.to_parquet(args.features, index=False)
    print(f"featurize: {transformed.shape[1] - 1} features from {len(transformed)} rows")


if __name__ == "__main__":
    run(main)
