"""Helpers shared by the library tests (fixtures live in conftest.py).

`params` is a generated project's own Params: its class tells which rendered package (and
so which featurize and train stages) to fit models with.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pandas as pd

from gitops_ml.schema import Schema, infer_schema
from gitops_ml.tables import split_target


@dataclass(frozen=True)
class Project:
    """A rendered project (conftest.py): its root (params.yaml, kserve/) and its Params."""

    root: Path
    package: str
    params: Any


def project_module(params: Any, name: str) -> ModuleType:
    """Module `name` (e.g. "stages.train") of the generated package `params` was loaded by."""
    package = type(params).__module__.partition(".")[0]
    return importlib.import_module(f"{package}.{name}")


def schema_of(frame: pd.DataFrame, params: Any) -> Schema:
    """The column types ingest would decide for `frame`."""
    return infer_schema(frame, params.data.target, params.problem_type)


def fit_pipeline(frame: pd.DataFrame, params: Any) -> Any:
    """The project's featurize + train on `frame`, as its pipeline runs them: the full model."""
    featurize = project_module(params, "stages.featurize")
    train = project_module(params, "stages.train")
    preprocessor, transformed = featurize.fit_features(
        frame, params.data.target, params.featurize, schema_of(frame, params)
    )
    x, y = split_target(transformed, params.data.target)
    return train.assemble(preprocessor, train.train_model(x, y, params.problem_type, params.train))
