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
    return infer_schema(frame, params.data.target, params.problem_type)


def fit_pipeline(frame: pd.DataFrame, params: Params) -> Any:
    """featurize + train on `frame`, as the pipeline does, returning the full model."""
    preprocessor, transformed = featurize.fit_features(
        frame, params.data.target, params.featurize, schema_of(frame, params)
    )
    x, y = split_target(transformed, params.data.target)
    return train.assemble(preprocessor, train.train_model(x, y, params.problem_type, params.train))
