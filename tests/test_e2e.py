"""End to end on real runs: generated projects reproduce their pipeline and pass their tests."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from .conftest import make, project_env, render_project, run

pytestmark = pytest.mark.slow


def metrics(project: Path) -> dict[str, float]:
    return json.loads((project / "reports" / "metrics.json").read_text(encoding="utf-8"))


def md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes(), usedforsecurity=False).hexdigest()


def ran_stages(output: str) -> list[str]:
    return re.findall(r"Running stage '(\w+)'", output)


def test_demo_classification_pipeline(demo_classification: Path):
    values = metrics(demo_classification)
    scores = {"accuracy", "precision", "recall", "f1", "roc_auc"}
    assert set(values) == scores | {"average", "positive_label", "test_rows_per_class"}
    # The minority class of the breast cancer data (0: malignant) is the positive class.
    assert values["positive_label"] == 0 and values["average"] == "binary"
    assert values["test_rows_per_class"] == {"0": 42, "1": 72}
    assert values["accuracy"] > 0.9
    assert values["roc_auc"] > 0.95
    plots = demo_classification / "reports" / "plots"
    for image in ("confusion_matrix", "roc_curve", "precision_recall_curve"):
        assert (plots / f"{image}.png").read_bytes().startswith(b"\x89PNG")
    roc = pd.read_csv(plots / "roc.csv")
    assert list(roc.columns) == ["fpr", "tpr"] and roc["tpr"].iloc[-1] == 1.0
    validation = json.loads((demo_classification / "reports" / "validation.json").read_text())
    assert validation["success"] is True
    assert validation["splits"]["train"]["rows"] == 455
    assert "passed" in (demo_classification / "reports" / "validation.html").read_text()
    run_info = json.loads((demo_classification / "models" / "run.json").read_text())
    assert run_info["data_md5.train"] == md5(demo_classification / "data/interim/train.csv")


def test_demo_classification_logs_to_mlflow(demo_classification: Path):
    code = (
        "import json, mlflow; mlflow.set_tracking_uri('sqlite:///mlflow.db');"
        "info = json.load(open('models/run.json')); r = mlflow.get_run(info['run_id']);"
        "m = mlflow.pyfunc.load_model(info['model_uri']);"
        "print(json.dumps({'metrics': r.data.metrics, 'tags': r.data.tags,"
        " 'inputs': m.metadata.get_input_schema().input_names()}))"
    )
    out = json.loads(run(["python", "-c", code], demo_classification).stdout.splitlines()[-1])
    assert out["metrics"]["accuracy"] == metrics(demo_classification)["accuracy"]
    assert len(out["tags"]["git_commit"]) == 40
    assert len(out["tags"]["data_md5.train"]) == 32
    assert "mean radius" in out["inputs"] and "target" not in out["inputs"]


def test_generated_project_tests_pass(demo_classification: Path):
    result = make(demo_classification, "test")
    assert re.search(r"\d+ passed", result.stdout)
    make(demo_classification, "lint")


def test_regression_pipeline_reruns_only_what_changed(demo_regression: Path):
    values = metrics(demo_regression)
    assert set(values) == {"rmse", "mae", "r2"}
    assert 0.3 < values["r2"] < 0.7 and 40 < values["rmse"] < 70
    assert {p.name for p in (demo_regression / "reports/plots").glob("*.png")} == {
        "predicted_vs_actual.png",
        "residuals.png",
    }
    assert ran_stages(make(demo_regression, "repro").stdout) == []

    params_file = demo_regression / "params.yaml"
    original = params_file.read_text(encoding="utf-8")
    try:
        params_file.write_text(original.replace("alpha: 1.0", "alpha: 3.0"), encoding="utf-8")
        assert ran_stages(make(demo_regression, "repro").stdout) == ["train", "evaluate"]
        assert metrics(demo_regression)["rmse"] != values["rmse"]
    finally:
        params_file.write_text(original, encoding="utf-8")
        make(demo_regression, "repro")


def test_tune_runs_the_grid_as_dvc_experiments(demo_regression: Path):
    params_file = demo_regression / "params.yaml"
    params = yaml.safe_load(params_file.read_text(encoding="utf-8"))
    params["tune"]["grid"] = {"train.ridge.alpha": [0.01, 10.0]}
    params_file.write_text(yaml.safe_dump(params, sort_keys=False), encoding="utf-8")
    run(["git", "add", "-A"], demo_regression)
    run(["git", "commit", "-qm", "smaller grid; pipeline outputs"], demo_regression)
    output = make(demo_regression, "tune").stdout
    assert "experiment 2/2: -S train.ridge.alpha=10.0" in output
    # It ends with a short ranked table (this run's experiments and the baseline commit),
    # then the line naming the best experiment and the command that keeps it.
    lines = output.rstrip("\n").splitlines()
    start = lines.index("Experiments ranked by rmse (lower is better):")
    table = [re.split(r"\s{2,}", line) for line in lines[start + 1 : -2]]
    assert table[0] == ["experiment", "alpha", "rmse"]
    assert lines[-2] == "alpha: train.ridge.alpha"
    assert all(len(line) <= 80 for line in lines[start:])
    rows = table[1:]
    assert len(rows) == 3 and sum(row[0] == "main (baseline)" for row in rows) == 1
    assert sorted(float(row[1]) for row in rows if row[0] != "main (baseline)") == [0.01, 10.0]
    rmse = [float(row[2]) for row in rows]
    assert rmse == sorted(rmse), "ranked by rmse, best first"
    best = next(row[0] for row in rows if row[0] != "main (baseline)")
    assert lines[-1].endswith(f": dvc exp apply {best}")
    assert lines[-1].startswith(("Best: ", "No experiment beats main"))
    # The experiments ran in temporary copies: the workspace keeps its parameters.
    assert yaml.safe_load(params_file.read_text(encoding="utf-8"))["train"]["ridge"]["alpha"] == 1.0


def mixed_csv(rows: int = 400, seed: int = 0) -> pd.DataFrame:
    """Numeric and categorical columns with missing values; a numeric target."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "surface": rng.uniform(20, 200, rows).round(1),
            "rooms": rng.integers(1, 7, rows),
            "city": rng.choice(["paris", "lyon", "nantes", "lille"], rows),
            "heating": rng.choice(["gas", "electric", "heat-pump"], rows),
        }
    )
    frame.loc[rng.choice(rows, 30, replace=False), "surface"] = np.nan
    frame.loc[rng.choice(rows, 20, replace=False), "heating"] = np.nan
    city_premium = frame["city"].map({"paris": 3000, "lyon": 1500, "nantes": 800, "lille": 600})
    frame["price"] = (
        frame["surface"].fillna(80) * (2000 + city_premium) / 100
        + frame["rooms"] * 500
        + rng.normal(0, 300, rows)
    ).round(2)
    return frame


@pytest.fixture(scope="module")
def csv_project(tmp_path_factory) -> Path:
    project = render_project(
        tmp_path_factory.mktemp("csv"),
        project_name="House Prices",
        problem_type="regression",
        dataset="csv",
        target_column="price",
    )
    mixed_csv().to_csv(project / "data/raw/dataset.csv", index=False)
    return project


def test_csv_project_needs_a_suite_first(csv_project: Path):
    result = make(csv_project, "repro", check=False)
    assert result.returncode != 0
    assert "No expectation suite yet: run 'make expectations'" in result.stderr


def test_csv_project_expectations_then_repro(csv_project: Path):
    make(csv_project, "expectations")
    suite = json.loads((csv_project / "expectations/suite.json").read_text(encoding="utf-8"))
    kinds = {(e["type"], e["kwargs"].get("column")) for e in suite["expectations"]}
    assert ("expect_column_values_to_be_in_set", "city") in kinds
    assert ("expect_column_values_to_be_between", "surface") in kinds
    make(csv_project, "repro")
    assert metrics(csv_project)["r2"] > 0.8


CORRUPTIONS = {
    "dropped-column": (
        lambda f: f.drop(columns=["rooms"]),
        ["expect_table_columns_to_match_set failed on table: missing columns ['rooms']"],
    ),
    "out-of-range": (
        lambda f: f.assign(surface=f["surface"] * 100),
        ["expect_column_values_to_be_between failed on column 'surface'"],
    ),
    "unseen-category": (
        lambda f: f.assign(city=f["city"].replace({"lille": "marseille"})),
        ["expect_column_values_to_be_in_set failed on column 'city'", "'marseille'"],
    ),
}


@pytest.mark.parametrize("kind", list(CORRUPTIONS))
def test_corrupted_csv_stops_at_validate(csv_project: Path, kind: str):
    if not (csv_project / "reports/metrics.json").exists():
        test_csv_project_expectations_then_repro(csv_project)
    data = csv_project / "data/raw/dataset.csv"
    good = data.read_bytes()
    model_before = md5(csv_project / "models/model.joblib")
    corrupt, messages = CORRUPTIONS[kind]
    try:
        corrupt(pd.read_csv(data)).to_csv(data, index=False)
        result = make(csv_project, "repro", check=False)
        assert result.returncode != 0
        assert ran_stages(result.stdout) == ["ingest", "validate"]
        assert "data validation failed" in result.stderr
        for message in messages:
            assert message in result.stderr
        summary = json.loads((csv_project / "reports/validation.json").read_text())
        assert summary["success"] is False
        assert md5(csv_project / "models/model.joblib") == model_before
    finally:
        data.write_bytes(good)


def test_csv_project_tests_pass(csv_project: Path):
    make(csv_project, "test")


NO_DATA = (
    "data/raw/dataset.csv does not exist: put your CSV there (README.md, 'Bring your own data'), "
    "then run 'make expectations'."
)


@pytest.mark.parametrize("target", ["expectations", "repro"])
def test_csv_project_without_data_says_where_to_put_the_csv(tmp_path: Path, target: str):
    """nc-07: DVC's bare "[Errno 2]" (expectations) or the suite message (repro) came first."""
    project = render_project(tmp_path, project_name="No Data", dataset="csv")
    result = make(project, target, check=False)
    assert result.returncode != 0
    assert result.stderr.splitlines()[0] == NO_DATA
    assert "Errno" not in result.stderr + result.stdout
    assert "No expectation suite yet" not in result.stderr


def test_tune_names_the_untracked_inputs_experiments_would_miss(tmp_path: Path):
    """nc-02: an experiment's temporary copy holds only git-tracked files."""
    project = render_project(
        tmp_path, project_name="Tune Early", dataset="csv", problem_type="regression",
        target_column="price",
    )  # fmt: skip
    mixed_csv().to_csv(project / "data/raw/dataset.csv", index=False)
    run(["dvc", "add", "-q", "data/raw/dataset.csv"], project)  # autostage: the .dvc file is added
    # What `make expectations` writes; the README says to review it, then commit it.
    (project / "expectations/suite.json").write_text("{}\n", encoding="utf-8")
    result = make(project, "tune", check=False)
    assert result.returncode != 0
    assert result.stderr.splitlines()[0] == (
        "error: expectations/suite.json is not tracked by git: run "
        "`git add expectations/suite.json` (DVC experiments only see tracked files)"
    )
    assert "Traceback" not in result.stderr
    run(["git", "add", "expectations/suite.json"], project)  # no commit needed
    dry = run(["gitops-ml", "tune", "--dry-run"], project)
    assert dry.stdout.splitlines()[0].startswith("tune: experiment 1/3: -S train.ridge.alpha=")


def test_lock_without_uv_says_how_to_install_it(tmp_path: Path):
    """nc-14 (c): bash's "uv: command not found" (Error 127) before; the venv's uv is used."""
    project = render_project(tmp_path, project_name="Lock")
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / ".installed").touch()
    env = {**project_env(), "PATH": "/usr/bin:/bin"}
    command = ["make", "lock", f"VENV={venv}"]
    result = subprocess.run(command, cwd=project, env=env, capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stderr.splitlines()[0] == (
        f"make lock needs uv, which is not installed: run '{venv}/bin/python -m pip install uv', "
        "then make lock again."
    )
    uv = venv / "bin" / "uv"
    uv.write_text('#!/bin/sh\necho "uv $*"\n', encoding="utf-8")
    uv.chmod(0o755)
    result = subprocess.run(command, cwd=project, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "uv pip compile pyproject.toml --extra dev" in result.stdout


def test_first_run_creates_its_own_environment(tmp_path: Path):
    """No VENV given: the Makefile builds .venv itself (uv, here), library included, and uses it.

    GITOPS_ML points at this checkout (the library is not on the package index here): the
    offline install the generated README documents.
    """
    import gitops_ml  # this working tree's, installed editable in the shared environment

    project = render_project(tmp_path)
    library = f"GITOPS_ML={Path(gitops_ml.__file__).resolve().parents[2]}"
    result = run(["make", "env", library], project)
    assert "Creating the environment in .venv" in result.stdout
    python = project / ".venv" / "bin" / "python"
    code = "import pandas, my_ml_project; print(pandas.__version__)"
    version = run([str(python), "-c", code], project)
    assert int(version.stdout.split(".")[0]) < 3
    installed = run([str(project / ".venv" / "bin" / "gitops-ml"), "--version"], project)
    assert installed.stdout == f"gitops-ml {gitops_ml.__version__}\n"
    again = run(["make", "env", library], project)
    assert "Creating the environment" not in again.stdout
    run(["make", "lint"], project)


@pytest.mark.parametrize("fixture", ["demo_classification", "demo_regression"])
def test_shipped_demo_suite_is_what_make_expectations_builds(request, fixture, tmp_path: Path):
    """The suite committed in the template must not drift from the builder's output."""
    project = request.getfixturevalue(fixture)
    rebuilt = tmp_path / "suite.json"
    command = ["gitops-ml", "expectations", "data/interim/train.csv", "data/interim/test.csv"]
    command += ["--schema", "data/interim/schema.json"]
    run([*command, "--out", str(rebuilt)], project)
    shipped = json.loads((project / "expectations/suite.json").read_text(encoding="utf-8"))
    assert json.loads(rebuilt.read_text(encoding="utf-8")) == shipped
