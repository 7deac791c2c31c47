"""Fixtures shared by the project's tests: its own params and small synthetic datasets."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from {{ cookiecutter.package_name }}.config import Params, load_params
from {{ cookiecutter.package_name }}.data import load_demo

PROJECT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def params() -> Params:
    return load_params(PROJECT / "params.yaml")


@pytest.fixture
def in_tmp_project(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, params: Params, mixed_frame: pd.DataFrame
) -> Path:
    """Run a stage's main() in a scratch copy: params.yaml, a private MLflow store, and
    synthetic data at data.source when the project reads a CSV."""
    (tmp_path / "params.yaml").write_text(
        (PROJECT / "params.yaml").read_text(encoding="utf-8"), encoding="utf-8"
    )
    if params.data.source != "demo":
        source = tmp_path / params.data.source
        source.parent.mkdir(parents=True, exist_ok=True)
        mixed_frame.to_csv(source, index=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    return tmp_path


@pytest.fixture(scope="session")
def demo_frame(params: Params) -> pd.DataFrame:
    """The bundled demo data of this project's problem type."""
    return load_demo(params.problem_type, params.data.target)


@pytest.fixture
def mixed_frame(params: Params) -> pd.DataFrame:
    """Numeric and categorical columns with missing values, like a real CSV export."""
    rng = np.random.default_rng(0)
    rows = 200
    frame = pd.DataFrame(
        {
            "age": rng.integers(18, 80, rows).astype(float),
            "income": rng.normal(50_000, 12_000, rows).round(2),
            "city": rng.choice(["paris", "lyon", "nantes"], rows),
            "plan": rng.choice(["basic", "pro"], rows),
        }
    )
{%- if cookiecutter.feature_store == 'feast' %}
    # The feature store's entity keys and event timestamps (params.yaml feature_store).
    for key in reversed(params.feature_store.entity_keys):
        frame.insert(0, key, range(1, rows + 1))
    times = pd.date_range("2025-01-01", periods=rows, freq="h", tz="UTC")
    frame.insert(len(params.feature_store.entity_keys), params.feature_store.event_timestamp,
                 times.strftime("%Y-%m-%dT%H:%M:%SZ"))  # fmt: skip
{%- endif %}
    frame.loc[rng.choice(rows, 15, replace=False), "income"] = np.nan
    frame.loc[rng.choice(rows, 10, replace=False), "city"] = np.nan
    signal = (frame["age"] - 50) / 10 + (frame["plan"] == "pro") * 1.5
    if params.problem_type == "classification":
        frame[params.data.target] = (signal + rng.normal(0, 0.5, rows) > 0).astype(int)
    else:
        frame[params.data.target] = (signal * 10 + rng.normal(0, 2, rows)).round(3)
    return frame
