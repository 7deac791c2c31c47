"""Fixtures of the library tests: generated projects, one per problem type, rendered once.

The library reads a project's params.yaml and is handed models its featurize and train
stages fit, so tests that need either run against a real rendering of the template (hooks
off: no git, no DVC). Each problem type has its own project name, so both packages
(lib_classification, lib_regression) import side by side. A test asking for `params` (or a
fixture built on it) runs once per problem type, as it ran once in each generated project.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from cookiecutter.main import cookiecutter

from tests.conftest import ROOT

from .helpers import Project

# The datasets the generated projects' own tests ran on: the default demo project, and a CSV
# project whose target is not called "target".
RENDERS: dict[str, dict[str, str]] = {
    "classification": {"dataset": "demo"},
    "regression": {"dataset": "csv", "target_column": "price"},
}


@pytest.fixture(scope="session")
def projects(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Project]]:
    """Every problem type's project, rendered with deploy_target=kserve (the manifest too)."""
    out = tmp_path_factory.mktemp("library-projects")
    rendered = {}
    for problem_type, extra in RENDERS.items():
        root = Path(
            cookiecutter(
                str(ROOT),
                no_input=True,
                accept_hooks=False,
                output_dir=str(out),
                extra_context={
                    "project_name": f"lib {problem_type}",
                    "problem_type": problem_type,
                    "deploy_target": "kserve",
                    **extra,
                },
            )
        )
        package = f"lib_{problem_type}"
        sys.path.insert(0, str(root / "src"))
        config = importlib.import_module(f"{package}.config")
        rendered[problem_type] = Project(root, package, config.load_params(root / "params.yaml"))
    yield rendered
    for project in rendered.values():
        sys.path.remove(str(project.root / "src"))


@pytest.fixture(scope="session", params=list(RENDERS))
def project(request: pytest.FixtureRequest, projects: dict[str, Project]) -> Project:
    return projects[request.param]


@pytest.fixture(scope="session")
def params(project: Project) -> Any:
    """The project's params.yaml, as its own config.Params (library sections included)."""
    return project.params


@pytest.fixture(scope="session")
def demo_frame(project: Project, params: Any) -> pd.DataFrame:
    """The bundled demo data of this problem type."""
    data = importlib.import_module(f"{project.package}.data")
    return data.load_demo(params.problem_type, params.data.target)


@pytest.fixture
def mixed_frame(params: Any) -> pd.DataFrame:
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
    frame.loc[rng.choice(rows, 15, replace=False), "income"] = np.nan
    frame.loc[rng.choice(rows, 10, replace=False), "city"] = np.nan
    signal = (frame["age"] - 50) / 10 + (frame["plan"] == "pro") * 1.5
    if params.problem_type == "classification":
        frame[params.data.target] = (signal + rng.normal(0, 0.5, rows) > 0).astype(int)
    else:
        frame[params.data.target] = (signal * 10 + rng.normal(0, 2, rows)).round(3)
    return frame


@pytest.fixture
def in_tmp_project(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    project: Project,
    mixed_frame: pd.DataFrame,
) -> Path:
    """Run a command in a scratch copy of the project: params.yaml, a private MLflow store,
    and synthetic data at data.source when the project reads a CSV."""
    (tmp_path / "params.yaml").write_text(
        (project.root / "params.yaml").read_text(encoding="utf-8"), encoding="utf-8"
    )
    if project.params.data.source != "demo":
        source = tmp_path / project.params.data.source
        source.parent.mkdir(parents=True, exist_ok=True)
        mixed_frame.to_csv(source, index=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    return tmp_path


@pytest.fixture
def monitored(in_tmp_project: Path, mixed_frame: pd.DataFrame, params: Any) -> Path:
    """A project after `make repro`: training data, its model, its metrics and its schema."""
    import joblib

    from gitops_ml.evaluation import evaluate_model

    from .helpers import fit_pipeline, schema_of

    (in_tmp_project / "data").mkdir(exist_ok=True)
    mixed_frame.to_csv(in_tmp_project / "data/train.csv", index=False)
    model = fit_pipeline(mixed_frame, params)
    joblib.dump(model, in_tmp_project / "model.joblib")
    values, _ = evaluate_model(model, mixed_frame, params.data.target, params.problem_type)
    (in_tmp_project / "metrics.json").write_text(json.dumps(values), encoding="utf-8")
    schema_of(mixed_frame, params).save(in_tmp_project / "schema.json")
    return in_tmp_project
