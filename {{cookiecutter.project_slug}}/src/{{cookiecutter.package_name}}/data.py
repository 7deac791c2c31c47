"""Where this project's raw data comes from: the bundled demo data or the CSV at data.source.

Edit `load_source` to read from elsewhere (a database, an API, several files): ingest only
needs one DataFrame holding the input columns and the target.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from gitops_ml.errors import PipelineError
from gitops_ml.tables import read_raw_csv
from sklearn.datasets import load_breast_cancer, load_diabetes

from .config import ProblemType, ReadParams

DEMO = "demo"


def load_demo(problem_type: ProblemType, target: str) -> pd.DataFrame:
    """scikit-learn's bundled data (no network): breast cancer or diabetes.
{%- if cookiecutter.feature_store != 'feast' %}"""{% else %}

    The bundled data has no entity or time: for the feature store each row is made one
    patient (entity key ``patient_id``, 1001, 1002...) observed at ``event_timestamp``, one
    hour apart from 2025-01-01 00:00 UTC, its label known at that same time.
    """
{%- endif %}
    loader = load_breast_cancer if problem_type == "classification" else load_diabetes
    bunch = loader(as_frame=True)
    frame = bunch.frame.rename(columns={"target": target})
{%- if cookiecutter.feature_store == 'feast' %}
    frame.insert(0, "patient_id", range(1001, 1001 + len(frame)))
    times = pd.date_range("2025-01-01", periods=len(frame), freq="h", tz="UTC")
    frame.insert(1, "event_timestamp", times.strftime("%Y-%m-%dT%H:%M:%SZ"))
{%- endif %}
    return frame


def load_source(
    source: str, problem_type: ProblemType, target: str, read: ReadParams | None = None
) -> pd.DataFrame:
    """The raw data named by data.source, with a clear error when it is unusable."""
    if source == DEMO:
        return load_demo(problem_type, target)
    path = Path(source)
    if not path.is_file():
        raise PipelineError(
            f"data.source {source!r} does not exist: put your CSV there "
            "(then 'dvc add' it) or set data.source in params.yaml"
        )
    read = read or ReadParams()
    frame = read_raw_csv(path, sep=read.sep, decimal=read.decimal)
    if target not in frame.columns:
        raise PipelineError(
            f"data.source {source!r} has no target column {target!r} "
            f"(columns: {', '.join(map(str, frame.columns))})"
        )
    return frame
