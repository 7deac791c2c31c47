"""The served model: a registered version wrapped so that every prediction is also logged.

`make deploy` serves, instead of `models:/<name>/<version>`, an MLflow pyfunc model built by
`build_logging_model`: the registered model is one of its artifacts, its signature is the
registered model's (bad input still gets MLflow's 400) and `PredictionLogger.predict` appends
one CSV row per input row to the prediction log, then returns the predictions unchanged:

    timestamp, model_version, request_id, <the model's input columns>, prediction

Only client traffic is logged: `make deploy`'s own requests (the first-start check, canary
steps, agreement probes, the load it sends while switching versions) carry the parameter
`traffic: probe` (MLflow passes a request's "params" to `predict` because the wrapper's
signature declares them; default `client`) and are answered but not logged.

Each server process writes its own file, `predictions-<YYYY-MM-DD>-v<version>-<pid>.csv` (UTC
date) in the log folder, so a stable server and a canary candidate never interleave writes;
`make monitor CURRENT=<log folder>` reads them all. A log that cannot be written never fails
a prediction: the error goes to the server's log (stderr) and the answer is served.

A model trained on a feature store carries its feature spec (model metadata
``feature_store``, see gitops_ml.feature_store). Its wrapper also accepts rows holding only the
entity keys: it fetches their features from the online store (opened once per server process,
in ``load_context``), predicts, and logs the features it used, so monitoring reads what the
model saw. Full feature rows are served as before; an unknown entity is a 400 naming its key.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import threading
import uuid
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import mlflow.pyfunc
import numpy as np
import pandas as pd

from ..prediction_log import CLIENT, LOG_METADATA, PREDICTION, PROBE, TRAFFIC_PARAM, log_file

PROGRESS_BAR = "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"
log = logging.getLogger(__name__)


def prediction_column(predictions: Any, rows: int) -> list[Any]:
    """One value per input row: a class or a number; a multi-output row as a JSON list.

    Args:
        predictions: what the model returned: a list, array, Series, or a DataFrame (one
            column is read as a Series).
        rows: the number of input rows.

    Raises:
        ValueError: the model returned a different number of predictions than ``rows``.
    """
    if isinstance(predictions, pd.DataFrame) and predictions.shape[1] == 1:
        predictions = predictions.iloc[:, 0]
    values = np.asarray(predictions)
    if values.ndim == 2 and values.shape[1] == 1:
        values = values[:, 0]
    if len(values) != rows:
        raise ValueError(f"{len(values)} predictions for {rows} input rows")
    if values.ndim == 1:
        return values.tolist()
    return [json.dumps(row) for row in values.tolist()]


def log_rows(
    model_input: pd.DataFrame,
    predictions: Any,
    version: str,
    request_id: str,
    when: datetime,
    columns: list[str],
) -> pd.DataFrame:
    """The log rows of one call: metadata, the input ``columns`` as received, the prediction.

    Returns:
        n input rows x (timestamp, model_version, request_id, ``columns``..., prediction);
        ``timestamp`` is ``when`` in ISO 8601 with milliseconds, the same for every row of the
        call; an input column the call lacks is empty.

    Raises:
        ValueError: the number of predictions differs from the number of input rows.
    """
    inputs = model_input.reset_index(drop=True).reindex(columns=columns)
    metadata = (when.isoformat(timespec="milliseconds"), version, request_id)
    rows = pd.DataFrame(dict(zip(LOG_METADATA, metadata, strict=True)), index=inputs.index)
    rows = pd.concat([rows, inputs], axis=1)
    rows[PREDICTION] = prediction_column(predictions, len(inputs))
    return rows


class PredictionLogger(mlflow.pyfunc.PythonModel):
    """Predicts with the registered model (artifact `model`) and appends each call to the log.

    model_config: `model_version` (written in every row), `log_dir` (empty: no log) and
    `feature_repo` (the Feast repository of a model with a feature spec; empty: requests must
    carry full feature rows; ``$GITOPS_ML_FEATURE_REPO`` overrides it).
    """

    def load_context(self, context: Any) -> None:
        """Load the wrapped model and the log settings when the scoring server starts.

        The log's columns are the signature's input names, else those of the first call.
        """
        config = context.model_config or {}
        self.model = mlflow.pyfunc.load_model(context.artifacts["model"])
        self.version = str(config.get("model_version", ""))
        self.log_dir = Path(config["log_dir"]) if config.get("log_dir") else None
        schema = self.model.metadata.get_input_schema()
        named = schema is not None and schema.has_input_names()
        # The header is fixed per process: the signature's columns, else the first call's.
        self.columns: list[str] | None = list(schema.input_names()) if named else None
        self.lock = threading.Lock()
        self.features, self.store = None, None
        recorded = (self.model.metadata.metadata or {}).get("feature_store")
        if recorded:
            from ..feature_store import FeatureSpec, open_store

            self.features = FeatureSpec.from_dict(recorded)
            repo = os.environ.get("GITOPS_ML_FEATURE_REPO") or config.get("feature_repo")
            # Feast is imported here, once per server process, never per request.
            self.store = open_store(Path(repo)) if repo else None
            self.columns = [*self.features.entity_keys, *self.features.features]

    def with_features(self, model_input: pd.DataFrame) -> pd.DataFrame:
        """The rows the model predicts on: as sent, or with features fetched by entity key.

        Rows are looked up when the model has a feature spec, every entity key is present and
        a feature column is absent or empty in every row. A value the request does send wins
        over the stored one (e.g. a feature that changed since the last materialization), as
        in Databricks' feature serving; only the missing values come from the store.

        Raises:
            mlflow.exceptions.MlflowException: (a 400) the entity is unknown to the online
                store, a key is missing, or this deployment has no feature repository.
        """
        if self.features is None or not isinstance(model_input, pd.DataFrame):
            return model_input
        keys, names = list(self.features.entity_keys), list(self.features.features)
        lacking = [n for n in names if n not in model_input or model_input[n].isna().all()]
        if not lacking:
            return model_input
        from mlflow.exceptions import MlflowException

        from ..feature_store import FeatureStoreError, online_features

        if not all(key in model_input for key in keys):
            raise MlflowException.invalid_parameter_value(
                f"the request has no value for feature {lacking[0]!r}: send the full feature "
                f"rows, or the entity keys {', '.join(keys)} to look the features up"
            )
        if self.store is None:
            raise MlflowException.invalid_parameter_value(
                "this deployment has no feature repository to look entity keys up: send the "
                "full feature rows (or set GITOPS_ML_FEATURE_REPO)"
            )
        try:
            looked = online_features(self.store, self.features, model_input)
        except FeatureStoreError as exc:
            raise MlflowException.invalid_parameter_value(str(exc)) from None
        sent = model_input.reset_index(drop=True)
        for name in names:
            if name in sent and sent[name].notna().any():
                looked[name] = sent[name].where(sent[name].notna(), looked[name])
        return looked

    def predict(self, context, model_input, params=None):
        """The wrapped model's predictions for ``model_input``, unchanged.

        ``params["traffic"]`` (default ``client``) is removed before the other params reach
        the model; unless it is ``probe`` the call is appended to the log. A failing write
        is logged on stderr, never raised.
        """
        # No type hints: MLflow would validate the input against them instead of the signature.
        params = dict(params or {})
        traffic = params.pop(TRAFFIC_PARAM, CLIENT)
        model_input = self.with_features(model_input)
        if self.features is not None and isinstance(model_input, pd.DataFrame):
            inputs = model_input[[c for c in self.features.features if c in model_input]]
        else:
            inputs = model_input
        predictions = self.model.predict(inputs, params=params or None)
        if self.log_dir is not None and traffic != PROBE:
            try:
                self.append(model_input, predictions)
            except Exception:  # a full disk or a bad folder must not fail a prediction
                log.exception("prediction log: could not write to %s", self.log_dir)
        return predictions

    def append(self, model_input: Any, predictions: Any) -> None:
        """Append one call's rows to this process's log file for today (UTC), under a lock.

        The CSV header is written when the file is new; an empty input writes nothing.

        Raises:
            ValueError: the number of predictions differs from the number of input rows.
            OSError: the log folder or file cannot be written.
        """
        assert self.log_dir is not None
        frame = model_input if isinstance(model_input, pd.DataFrame) else pd.DataFrame(model_input)
        if frame.empty:
            return
        when = datetime.now(timezone.utc)
        with self.lock:
            if self.columns is None:
                self.columns = [str(c) for c in frame.columns]
            rows = log_rows(frame, predictions, self.version, uuid.uuid4().hex, when, self.columns)
            path = log_file(self.log_dir, self.version, when, os.getpid())
            path.parent.mkdir(parents=True, exist_ok=True)
            rows.to_csv(path, mode="a", header=not path.exists(), index=False)


def with_entity_keys(signature: Any, feature_spec: Any) -> Any:
    """A feature-store model's signature: every column optional, the entity keys added.

    A request then carries either the full feature rows (as the registered model's signature
    says) or only the entity keys (``feature_spec.entity_types``), whose features the wrapper
    fetches. ``feature_spec`` None returns ``signature`` unchanged.
    """
    if feature_spec is None or signature is None or not signature.inputs.has_input_names():
        return signature
    from mlflow.models import ModelSignature
    from mlflow.types.schema import ColSpec
    from mlflow.types.schema import Schema as MlflowSchema

    keys = [ColSpec(kind, key, required=False) for key, kind in feature_spec.entity_types.items()]
    columns = [
        ColSpec(spec.type, spec.name, required=False)
        for spec in signature.inputs.inputs
        if spec.name not in feature_spec.entity_types
    ]
    return ModelSignature(MlflowSchema([*keys, *columns]), signature.outputs, signature.params)


def with_traffic_param(signature: Any) -> Any:
    """The registered model's signature plus the string parameter ``traffic``.

    Its default is ``client``. MLflow passes a request's params to ``predict`` only when they
    are declared; a ``traffic`` param the signature already had is replaced. A ``None``
    signature gives one with the parameter only.
    """
    from mlflow.models import ModelSignature
    from mlflow.types.schema import ParamSchema, ParamSpec

    spec = ParamSpec(TRAFFIC_PARAM, "string", CLIENT)
    if signature is None:
        return ModelSignature(params=ParamSchema([spec]))
    declared = [p for p in (signature.params.params if signature.params else [])
                if p.name != TRAFFIC_PARAM]  # fmt: skip
    return ModelSignature(signature.inputs, signature.outputs, ParamSchema([*declared, spec]))


@contextmanager
def _quiet_save() -> Iterator[None]:
    """No download progress bars in `make deploy`'s output, nor save_model's advice.

    None of that advice applies here: the pickle holds a reference to PredictionLogger (its
    code is in the model's `code/`), written and read on this machine, and an input example
    would make MLflow run the model (and log a prediction) at build time.
    """
    pyfunc_log = logging.getLogger("mlflow.pyfunc")
    level, progress = pyfunc_log.level, os.environ.get(PROGRESS_BAR)
    pyfunc_log.setLevel(logging.ERROR)
    os.environ[PROGRESS_BAR] = "false"
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*input example.*", category=UserWarning)
            yield
    finally:
        pyfunc_log.setLevel(level)
        if progress is None:
            os.environ.pop(PROGRESS_BAR, None)
        else:
            os.environ[PROGRESS_BAR] = progress


def build_logging_model(
    model_uri: str,
    path: Path,
    version: str,
    log_dir: Path | None,
    tracking_uri: str | None = None,
    feature_repo: Path | None = None,
) -> Path:
    """Save at ``path`` the pyfunc model that serves ``model_uri`` and logs its predictions.

    ``model_uri`` is read from the registry at ``tracking_uri``; the wrapper logs to
    ``log_dir`` (None: no log) and writes ``version`` in every row. A copy of the registered
    model becomes the artifact ``model``; its signature and pip requirements become the
    wrapper's; this package is copied into the model (``code/``) so a scoring server can
    import PredictionLogger. An existing model at ``path`` is replaced. A model with a feature
    spec gets :func:`with_entity_keys`'s signature and looks features up in ``feature_repo``.

    Returns:
        ``path``.

    Raises:
        ValueError: the model's input columns clash with the log's own columns
            (timestamp, model_version, request_id, prediction).
        mlflow.exceptions.MlflowException: ``model_uri`` cannot be downloaded.
    """
    from mlflow.artifacts import download_artifacts
    from mlflow.models import Model

    with tempfile.TemporaryDirectory() as scratch, _quiet_save():
        local = Path(
            download_artifacts(artifact_uri=model_uri, dst_path=scratch, tracking_uri=tracking_uri)
        )
        registered = Model.load(str(local))
        signature = registered.signature
        if signature is not None and signature.inputs.has_input_names():
            taken = set(signature.inputs.input_names()) & {*LOG_METADATA, PREDICTION}
            if taken:
                raise ValueError(
                    f"the model's input columns {sorted(taken)} clash with the prediction "
                    "log's own columns: rename them, or set deploy.prediction_log: null"
                )
        recorded = (registered.metadata or {}).get("feature_store")
        if recorded:
            from ..feature_store import FeatureSpec

            signature = with_entity_keys(signature, FeatureSpec.from_dict(recorded))
        signature = with_traffic_param(signature)
        requirements = local / "requirements.txt"
        building = path.with_name(path.name + ".building")
        shutil.rmtree(building, ignore_errors=True)
        building.parent.mkdir(parents=True, exist_ok=True)
        mlflow.pyfunc.save_model(
            str(building),
            python_model=PredictionLogger(),
            artifacts={"model": str(local)},
            signature=signature,
            model_config={
                "model_version": str(version),
                "log_dir": str(log_dir or ""),
                "feature_repo": str(feature_repo.resolve()) if feature_repo else "",
            },
            pip_requirements=str(requirements) if requirements.exists() else None,
        )
    shutil.rmtree(path, ignore_errors=True)
    building.rename(path)
    return path
