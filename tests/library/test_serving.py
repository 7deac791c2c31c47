"""The prediction log of the served model (gitops_ml.serve.logger).

A project's pipeline model is registered in a private MLflow registry once; each test builds
the wrapper `gitops-ml deploy` serves and loads it the way the scoring server does
(`mlflow.pyfunc.load_model`).
"""

from __future__ import annotations

import logging
import os
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace

import mlflow
import pandas as pd
import pytest
from mlflow.exceptions import MlflowException

from gitops_ml import monitor, tracking
from gitops_ml.errors import PipelineError
from gitops_ml.prediction_log import PREDICTION, PROBE, TRAFFIC_PARAM
from gitops_ml.serve.local import payload, served_model
from gitops_ml.serve.logger import build_logging_model

from .helpers import fit_pipeline, project_module, schema_of


@pytest.fixture(scope="module")
def registered(tmp_path_factory: pytest.TempPathFactory, params, demo_frame):
    """Version 1 of the project's model, logged as the train stage logs it."""
    root = tmp_path_factory.mktemp("registry")
    tracking_uri = f"sqlite:///{root / 'mlflow.db'}"
    features = demo_frame.drop(columns=[params.data.target])
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(root)
        patch.setenv("MLFLOW_TRACKING_URI", tracking_uri)
        model, schema = fit_pipeline(demo_frame, params), schema_of(demo_frame, params)
        run_params = project_module(params, "stages.train").flat_params(params)
        info = tracking.log_model(model, features, params.mlflow.experiment, run_params, {}, schema)
        name = params.mlflow.registered_model
        version = mlflow.register_model(info["model_uri"], name).version
        yield SimpleNamespace(
            uri=f"models:/{name}/{version}",
            name=name,
            version=str(version),
            tracking_uri=tracking_uri,
            features=features,
        )


def serve(registered, tmp_path: Path, log_dir: Path | None):
    """The wrapper as the scoring server loads it."""
    path = build_logging_model(
        registered.uri, tmp_path / "model", registered.version, log_dir, registered.tracking_uri
    )
    return mlflow.pyfunc.load_model(str(path))


def read_log(log_dir: Path) -> tuple[Path, pd.DataFrame]:
    (path,) = log_dir.iterdir()
    return path, pd.read_csv(path)


def test_each_served_row_is_logged_with_time_version_inputs_and_prediction(registered, tmp_path):
    # Given the served model and five rows
    model = serve(registered, tmp_path, tmp_path / "logs")
    rows = registered.features.head(5)
    # When they are predicted in one call
    predictions = model.predict(rows)
    # Then the log has exactly those rows, in this process's file of the day
    path, log = read_log(tmp_path / "logs")
    columns = list(rows.columns)
    assert list(log.columns) == ["timestamp", "model_version", "request_id", *columns, "prediction"]
    assert log["model_version"].astype(str).tolist() == [registered.version] * 5
    assert log["request_id"].nunique() == 1
    assert all(datetime.fromisoformat(t).utcoffset().total_seconds() == 0 for t in log["timestamp"])
    day = log["timestamp"][0][:10]
    assert path.name == f"predictions-{day}-v{registered.version}-{os.getpid()}.csv"
    pd.testing.assert_frame_equal(log[columns], rows.reset_index(drop=True), check_dtype=False)
    assert log["prediction"].tolist() == pytest.approx(list(predictions))


def test_calls_append_to_the_same_file_under_one_header(registered, tmp_path):
    model = serve(registered, tmp_path, tmp_path / "logs")
    model.predict(registered.features.head(3))
    model.predict(registered.features.iloc[10:12])
    path, log = read_log(tmp_path / "logs")
    assert len(log) == 5
    assert path.read_text(encoding="utf-8").count("timestamp,model_version") == 1
    assert log["request_id"].nunique() == 2


def test_bad_input_gets_mlflows_schema_error_and_is_not_logged(registered, tmp_path):
    model = serve(registered, tmp_path, tmp_path / "logs")
    missing = registered.features.head(3).drop(columns=registered.features.columns[0])
    with pytest.raises(MlflowException, match="Failed to enforce schema"):
        model.predict(missing)
    assert not (tmp_path / "logs").exists()


def test_a_log_that_cannot_be_written_does_not_fail_the_prediction(registered, tmp_path, caplog):
    # Given a log folder that cannot be created (a file is in the way)
    blocked = tmp_path / "logs"
    blocked.write_text("not a folder", encoding="utf-8")
    model = serve(registered, tmp_path, blocked)
    # When a prediction is served, then it is answered and the failure is reported
    with caplog.at_level(logging.ERROR):
        predictions = model.predict(registered.features.head(2))
    assert len(predictions) == 2
    assert f"prediction log: could not write to {blocked}" in caplog.text


def test_without_a_log_folder_nothing_is_written(registered, tmp_path):
    model = serve(registered, tmp_path, None)
    assert len(model.predict(registered.features.head(2))) == 2
    assert not list(tmp_path.rglob("*.csv"))


@pytest.mark.parametrize("setting", [None, ""])
def test_disabled_log_serves_the_registered_model_itself(tmp_path, setting):
    assert served_model(tmp_path, "my-model", "3", setting) == "models:/my-model/3"
    assert not (tmp_path / "models").exists()


def test_deploy_builds_the_logging_model_from_the_registry(registered, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", registered.tracking_uri)
    served = served_model(tmp_path / ".deploy", registered.name, registered.version, "logs/p")
    assert served == str(tmp_path / ".deploy" / "models" / f"v{registered.version}")
    config = mlflow.models.Model.load(served).flavors["python_function"]["config"]
    assert config == {
        "model_version": registered.version,
        "log_dir": str(tmp_path / "logs/p"),
        "feature_repo": "",  # no feature store: requests carry full rows
    }
    with pytest.raises(PipelineError, match="cannot build the logging model of version 99"):
        served_model(tmp_path / ".deploy", registered.name, "99", "logs/p")


def test_the_monitor_reads_the_log_as_served(registered, tmp_path, params):
    model = serve(registered, tmp_path, tmp_path / "logs")
    rows = registered.features.head(4)
    predictions = model.predict(rows)
    current, _, total = monitor.read_current(str(tmp_path / "logs"))
    served = monitor.served_predictions(current[PREDICTION], params.problem_type)
    assert total == 4
    if params.problem_type == "classification":
        expected = monitor.class_labels(pd.Series(list(predictions)))
        assert served.tolist() == expected.tolist()
    else:
        assert served.tolist() == pytest.approx(list(predictions))


def test_probe_requests_are_answered_but_not_logged(registered, tmp_path):
    # Given the served model, when make deploy's own check marks its request as a probe
    model = serve(registered, tmp_path, tmp_path / "logs")
    rows = registered.features.head(3)
    probed = model.predict(rows, params={TRAFFIC_PARAM: PROBE})
    # then it is answered like any request, and the log stays empty
    assert list(probed) == list(model.predict(rows, params={TRAFFIC_PARAM: "client"}))
    _, log = read_log(tmp_path / "logs")
    assert len(log) == 3  # only the client call


def test_the_scoring_server_passes_deploys_probe_marker_to_the_model(registered, tmp_path):
    # Given the JSON body make deploy sends, parsed by MLflow's scoring server
    from mlflow.pyfunc import scoring_server

    model = serve(registered, tmp_path, tmp_path / "logs")
    rows = registered.features.head(2)
    schema = model.metadata.get_input_schema()
    answer = scoring_server.invocations(payload(rows), "application/json", model, schema)
    assert answer.status == 200, answer.response
    assert not (tmp_path / "logs").exists()
    # while a client's body without params is logged
    body = payload(rows).replace(b', "params": {"traffic": "probe"}', b"")
    assert scoring_server.invocations(body, "application/json", model, schema).status == 200
    _, log = read_log(tmp_path / "logs")
    assert len(log) == 2
