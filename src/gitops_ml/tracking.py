"""MLflow plumbing shared by train and evaluate (local sqlite store unless configured)."""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

DEFAULT_TRACKING_URI = "sqlite:///mlflow.db"
log = logging.getLogger(__name__)


def tracking_uri() -> str:
    """``$MLFLOW_TRACKING_URI`` when set and non-empty, else ``sqlite:///mlflow.db``."""
    return os.environ.get("MLFLOW_TRACKING_URI") or DEFAULT_TRACKING_URI


def git_commit() -> str:
    """The commit checked out in the working directory (``git rev-parse HEAD``).

    Returns ``"unknown"`` when git is missing or this is not a repository; never raises.
    """
    try:
        return subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def configure(experiment: str) -> Any:
    """Point MLflow at :func:`tracking_uri` and ``experiment`` (created if missing).

    MLflow is imported here, not at module level.

    Returns:
        The ``mlflow`` module, configured.

    Raises:
        mlflow.exceptions.MlflowException: the tracking store cannot be reached or the
            experiment cannot be created (e.g. it is deleted).
    """
    import mlflow

    mlflow.set_tracking_uri(tracking_uri())
    mlflow.set_experiment(experiment)
    return mlflow


@contextmanager
def resume_run(run_info: Path, experiment: str) -> Iterator[Any]:
    """Continue the training run recorded in ``run_info`` (``models/run.json``).

    When the run is unknown to this tracking store (model restored from the DVC cache on
    another machine), a new run tagged ``source_run_id`` points at it instead; a warning is
    logged.

    Yields:
        The ``mlflow`` module, with the run active until the block ends.

    Raises:
        FileNotFoundError: ``run_info`` does not exist.
        KeyError: ``run_info`` has no ``run_id``.
    """
    mlflow = configure(experiment)
    from mlflow.exceptions import MlflowException

    info = json.loads(run_info.read_text(encoding="utf-8"))
    try:
        mlflow.get_run(info["run_id"])
        run = mlflow.start_run(run_id=info["run_id"])
    except MlflowException:
        log.warning("run %s is not in %s: logging to a new run", info["run_id"], tracking_uri())
        run = mlflow.start_run(tags={"source_run_id": info["run_id"]})
    with run:
        yield mlflow


# What loading a logged model needs, pinned to the versions that trained it (the library
# included: the model's feature parsers are gitops_ml.features steps). Listed instead of
# letting MLflow infer them: inference loads the model in a subprocess (about 10 s per logged
# model) and picks up whatever else is installed (pytest, rich...).
MODEL_REQUIREMENTS = ("mlflow", "scikit-learn", "skops", "pandas", "numpy", "scipy", "gitops-ml")


def model_requirements() -> list[str]:
    """``name==version`` of each of MODEL_REQUIREMENTS as installed here."""
    from importlib.metadata import version

    return [f"{name}=={version(name)}" for name in MODEL_REQUIREMENTS]


def pipeline_types(model: Any) -> list[str]:
    """Types skops does not trust by default, found by serializing the model just built."""
    import skops.io

    return sorted(skops.io.get_untrusted_types(data=skops.io.dumps(model)))


def signature(model: Any, example: Any, schema: Any) -> Any:
    """The serving contract, from the column types decided at ingest.

    Numbers are double (a missing value is accepted in any numeric column the model
    imputes); booleans, dates and categories are text that the model's own parsers read
    (``schema.signature_types``). Outputs are inferred from ``model.predict(example)``.
    """
    from mlflow.models import ModelSignature, infer_signature
    from mlflow.types.schema import ColSpec
    from mlflow.types.schema import Schema as MlflowSchema

    from .schema import signature_types

    inputs = MlflowSchema([ColSpec(kind, name) for name, kind in signature_types(schema).items()])
    outputs = infer_signature(example, model.predict(example)).outputs
    return ModelSignature(inputs=inputs, outputs=outputs)


def serving_example(example: Any, schema: Any) -> Any:
    """Rows as a client sends them: numbers as float, everything else as text (or None)."""
    import pandas as pd

    from .schema import signature_types

    types = signature_types(schema)
    return pd.DataFrame(
        {
            name: example[name].astype("float64")
            if kind == "double"
            else example[name].astype("string").astype(object).where(example[name].notna(), None)
            for name, kind in types.items()
        }
    )


def log_model(
    model: Any,
    example: Any,
    experiment: str,
    run_params: dict[str, Any],
    data_versions: dict[str, str],
    schema: Any,
    feature_spec: dict[str, Any] | None = None,
) -> dict[str, str]:
    """Log ``run_params``, lineage tags and ``model`` (signature, input example) in a new run.

    ``example``: a few raw input rows (DataFrame, no target). ``data_versions``: file name ->
    MD5 (tagged ``data_md5.<name>``). ``feature_spec``: the feature service the model was
    trained on (``FeatureSpec.to_dict()``), kept in the model's metadata as ``feature_store``
    (and its name and version as tags) so serving can fetch features by entity key. Returns
    the run info that ``models/run.json`` holds: run_id, experiment_id, model_uri,
    tracking_uri and the data versions.
    """
    mlflow = configure(experiment)
    example = serving_example(example, schema)
    with mlflow.start_run() as active:
        mlflow.log_params(run_params)
        versions = {f"data_md5.{name}": md5 for name, md5 in data_versions.items()}
        tags = {"git_commit": git_commit(), **versions}
        if feature_spec:
            tags["feature_service"] = feature_spec["service"]
            tags["feature_service_version"] = feature_spec["version"]
        mlflow.set_tags(tags)
        info = mlflow.sklearn.log_model(
            model,
            name="model",
            signature=signature(model, example, schema),
            input_example=example.head(3),
            # skops (MLflow's safe default) loads only types listed as trusted: list the
            # ones this pipeline, built right here, is made of.
            skops_trusted_types=pipeline_types(model),
            pip_requirements=model_requirements(),
            metadata={"feature_store": feature_spec} if feature_spec else None,
        )
        return {
            "run_id": active.info.run_id,
            "experiment_id": active.info.experiment_id,
            "model_uri": info.model_uri,
            "tracking_uri": tracking_uri(),
            **versions,
        }


def public_uri(uri: str) -> str:
    """The tracking URI without credentials, safe for reports and job summaries."""
    return re.sub(r"(?<=://)[^/@]+@", "", uri)
