"""train: every model family of this problem type builds, fits and is reproducible."""

from __future__ import annotations

import json
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest

from {{ cookiecutter.package_name }}.config import MODELS_BY_PROBLEM
from {{ cookiecutter.package_name }}.data import split_target
from {{ cookiecutter.package_name }}.stages import featurize, ingest, train


@pytest.fixture
def features(mixed_frame, params):
    preprocessor, transformed = featurize.fit_features(
        mixed_frame, params.data.target, params.featurize
    )
    x, y = split_target(transformed, params.data.target)
    return preprocessor, x, y


@pytest.mark.parametrize("family", sorted(MODELS_BY_PROBLEM["{{ cookiecutter.problem_type }}"]))
def test_each_family_fits_and_predicts(features, params, family):
    _, x, y = features
    settings = params.train.model_copy(update={"model": family})
    model = train.train_model(x, y, params.problem_type, settings)
    assert len(model.predict(x.to_numpy())) == len(y)


def test_seed_makes_training_deterministic(features, params):
    _, x, y = features
    settings = params.train.model_copy(update={"model": "random_forest"})
    first = train.train_model(x, y, params.problem_type, settings).predict(x.to_numpy())
    second = train.train_model(x, y, params.problem_type, settings).predict(x.to_numpy())
    np.testing.assert_array_equal(first, second)


def test_assembled_pipeline_predicts_from_raw_columns(features, mixed_frame, params):
    preprocessor, x, y = features
    model = train.assemble(preprocessor, train.train_model(x, y, params.problem_type, params.train))
    raw, _ = split_target(mixed_frame, params.data.target)
    assert len(model.predict(raw)) == len(raw)


def test_main_saves_model_and_mlflow_run(in_tmp_project: Path, params):
    ingest.main(["--train", "train.csv", "--test", "test.csv"])
    (in_tmp_project / "validation.json").write_text('{"success": true}', encoding="utf-8")
    featurize.main(
        ["--train", "train.csv", "--validation", "validation.json",
         "--preprocessor", "pre.joblib", "--features", "features.parquet"]
    )  # fmt: skip
    train.main(
        ["--train", "train.csv", "--features", "features.parquet", "--preprocessor",
         "pre.joblib", "--model", "model.joblib", "--run-info", "run.json"]
    )  # fmt: skip
    info = json.loads((in_tmp_project / "run.json").read_text(encoding="utf-8"))
    import mlflow

    run = mlflow.get_run(info["run_id"])
    assert run.data.params["model"] == params.train.model
    assert len(run.data.tags["data_md5.train"]) == 32
    assert joblib.load("model.joblib").predict is not None
    # The logged model lists what loading it needs, pinned to the training versions, and
    # nothing else that happens to be installed.
    from importlib.metadata import version

    local = Path(mlflow.artifacts.download_artifacts(info["model_uri"]))
    requirements = (local / "requirements.txt").read_text(encoding="utf-8").split()
    assert requirements == [f"{name}=={version(name)}" for name in train.MODEL_REQUIREMENTS]
    loaded = mlflow.pyfunc.load_model(info["model_uri"])
    assert len(loaded.predict(pd.read_csv("train.csv").drop(columns=params.data.target))) > 0
