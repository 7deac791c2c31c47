"""train: every model family of this problem type builds, fits and is reproducible."""

from __future__ import annotations

import json
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
from gitops_ml import tracking
from gitops_ml.tables import split_target

from {{ cookiecutter.package_name }}.config import MODELS_BY_PROBLEM
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
    ingest.main(["--train", "train.csv", "--test", "test.csv", "--schema", "schema.json"])
    (in_tmp_project / "validation.json").write_text('{"success": true}', encoding="utf-8")
    featurize.main(
        ["--train", "train.csv", "--schema", "schema.json", "--validation", "validation.json",
         "--preprocessor", "pre.joblib", "--features", "features.parquet"]
    )  # fmt: skip
    train.main(
        ["--train", "train.csv", "--schema", "schema.json", "--features", "features.parquet",
         "--preprocessor", "pre.joblib", "--model", "model.joblib", "--run-info", "run.json"]
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
    assert requirements == [f"{name}=={version(name)}" for name in tracking.MODEL_REQUIREMENTS]
    loaded = mlflow.pyfunc.load_model(info["model_uri"])
    assert len(loaded.predict(pd.read_csv("train.csv").drop(columns=params.data.target))) > 0


def test_served_model_reads_booleans_dates_and_missing_numbers(tmp_path: Path, monkeypatch, params):
    """The logged model's serving contract (MLflow's scoring server, in-process): a boolean
    sent as text is read as that boolean or refused with a 400 naming the column; a null in
    a column that held integers without gaps is imputed, not refused."""
    from fastapi.testclient import TestClient
    from mlflow.pyfunc import load_model
    from mlflow.pyfunc.scoring_server import init

    from ..helpers import fit_pipeline, schema_of

    rng = np.random.default_rng(1)
    rows = 120
    frame = pd.DataFrame(
        {
            "tenure": rng.integers(1, 60, rows),
            "is_member": rng.choice(["True", "False"], rows),
            "signup": pd.date_range("2024-01-01", periods=rows).strftime("%Y-%m-%d"),
        }
    )
    signal = (frame["is_member"] == "True") * 2.0 + frame["tenure"] / 30
    if params.problem_type == "classification":
        frame[params.data.target] = (signal + rng.normal(0, 0.3, rows) > 2).astype(int)
    else:
        frame[params.data.target] = signal * 10
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    schema = schema_of(frame, params)
    example, _ = split_target(frame.head(5), params.data.target)
    model = fit_pipeline(frame, params)
    info = tracking.log_model(model, example, "serving", train.flat_params(params), {}, schema)
    client = TestClient(init(load_model(info["model_uri"])))

    def answer(tenure, member, signup="2024-03-01"):
        body = {"columns": ["tenure", "is_member", "signup"], "data": [[tenure, member, signup]]}
        return client.post("/invocations", json={"dataframe_split": body})

    as_bool = {value: answer(12, value).json()["predictions"] for value in (True, False)}
    for text, meaning in (("false", False), ("False", False), ("no", False), ("yes", True)):
        response = answer(12, text)
        assert response.status_code == 200
        assert response.json()["predictions"] == as_bool[meaning]
    refused = answer(12, "maybe")
    assert refused.status_code == 400
    assert "column 'is_member' is boolean but got 'maybe'" in refused.json()["message"]
    assert answer(None, True).status_code == 200  # imputed like in training
    assert answer(12, True, 20240301).status_code == 400  # a date sent as a number
