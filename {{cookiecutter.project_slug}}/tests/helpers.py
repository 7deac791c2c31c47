"""Helpers shared by the tests (fixtures live in conftest.py)."""

from __future__ import annotations

from typing import Any

import pandas as pd
from gitops_ml.schema import Schema, infer_schema
from gitops_ml.tables import split_target

from {{ cookiecutter.package_name }}.config import Params
from {{ cookiecutter.package_name }}.stages import featurize, train


def schema_of(frame: pd.DataFrame, params: Params) -> Schema:
    """The column types ingest would decide for `frame`."""
    keep = {name: "ignore" for name in feature_store_columns(params) if name in frame.columns}
    return infer_schema(frame, params.data.target, params.problem_type, overrides=keep)


def fit_pipeline(frame: pd.DataFrame, params: Params) -> Any:
    """featurize + train on `frame`, as the pipeline does, returning the full model."""
    preprocessor, transformed = featurize.fit_features(
        frame, params.data.target, params.featurize, schema_of(frame, params)
    )
    x, y = split_target(transformed, params.data.target)
    return train.assemble(preprocessor, train.train_model(x, y, params.problem_type, params.train))


def feature_store_columns(params: Params) -> list[str]:
    """The entity keys and event timestamp (params.yaml feature_store): kept, never features."""
    store = params.feature_store
    return [*store.entity_keys, store.event_timestamp] if store else []


def model_columns(frame: pd.DataFrame, params: Params) -> pd.DataFrame:
    """``frame`` as validation and the model see it: without the feature store's columns."""
    return frame.drop(columns=feature_store_columns(params), errors="ignore")
