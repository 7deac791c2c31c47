"""Real tabular data, replayed from public bug reports (tests/data/real_data/<case>/dataset.csv).

Each case renders a `dataset=csv` project, puts the case's CSV where a user would, runs the
commands a user runs, and asserts what that user sees: the message, the metrics, the plots,
the features the model is fitted on, the answer of the served model.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from .conftest import make, render_project, run

pytestmark = pytest.mark.slow
CASES = Path(__file__).parent / "data" / "real_data"


def csv_project(tmp: Path, case: str, **answers: str) -> Path:
    project = render_project(tmp, dataset="csv", **answers)
    (project / "data/raw/dataset.csv").write_bytes((CASES / case / "dataset.csv").read_bytes())
    return project


def metrics(project: Path) -> dict:
    return json.loads((project / "reports/metrics.json").read_text(encoding="utf-8"))


def feature_names(project: Path) -> list[str]:
    code = (
        "import joblib; m = joblib.load('models/model.joblib');"
        "print('\\n'.join(m[0].get_feature_names_out()))"
    )
    return run(["python", "-c", code], project, PYTHONPATH="src").stdout.split()


# ---------------------------------------------------------------- wrong targets: one sentence


@pytest.mark.parametrize(
    ("case", "answers", "message"),
    [
        (
            "nc-04-regression-text-target-traceback",
            {"problem_type": "regression", "target_column": "animal"},
            "error: problem_type is regression but target column 'animal' is not numeric "
            "(values such as 'cat', 'dog', 'fox'): set problem_type: classification in "
            "params.yaml or choose a numeric target",
        ),
        (
            "nc-10-wrong-problem-type-stratify-message",
            {"target_column": "y"},
            "error: target 'y' has 30 distinct numeric values in 30 rows (with fractions): is "
            "this a regression target? set problem_type: regression in params.yaml",
        ),
        (
            "nc-13-rare-class-message-names-no-class",
            {"target_column": "animal"},
            "error: class 'owl' has 1 row in 'animal'; every class needs at least 2 rows to "
            "stratify the split: add rows or remove that class",
        ),
    ],
    ids=["text-target-under-regression", "numeric-target-under-classification", "rare-class"],
)
def test_a_wrong_target_stops_ingest_with_one_sentence(tmp_path, case, answers, message):
    project = csv_project(tmp_path, case, **answers)
    result = make(project, "expectations", check=False)
    assert result.returncode != 0
    assert message in result.stderr.splitlines()
    assert "Traceback" not in result.stderr


# ------------------------------------------------------------------------------ ingest notes


def test_rows_without_a_target_are_dropped_and_counted(tmp_path):
    project = csv_project(
        tmp_path,
        "nc-08-missing-target-rows-dropped-silently",
        problem_type="regression",
        target_column="y",
    )
    out = make(project, "expectations").stdout
    assert "ingest: dropped 3 of 20 rows without a value for 'y'" in out
    assert "ingest: 13 train rows, 4 test rows, 1 feature columns" in out


def test_pandas_index_column_is_not_a_feature(tmp_path):
    # DataFrame.to_csv() wrote its index first: it is sorted like the labels and leaked them
    # (roc_auc 1.0). Dropped, the model scores as on the same rows without that column.
    project = csv_project(tmp_path, "nc-12-index-column-used-as-feature", target_column="animal")
    out = make(project, "expectations").stdout
    assert "ingest: column 'Unnamed: 0' is not used as a feature: identifier" in out
    make(project, "repro")
    assert feature_names(project) == ["a", "b"]
    assert metrics(project)["roc_auc"] == pytest.approx(0.833333)


def test_numeric_column_with_a_placeholder_stays_numeric(tmp_path):
    project = csv_project(tmp_path, "bug-10-numeric-column-with-text-placeholder")
    out = make(project, "expectations").stdout
    assert "ingest: column 'income' is numeric; text read as missing: 'unknown' x6" in out
    assert "income  numeric" in out  # the decisions table
    make(project, "repro")  # the suite built from this data accepts this data
    assert "income" in feature_names(project)
    assert not [name for name in feature_names(project) if name.startswith("income_")]
    # The same roc_auc as the same rows with a clean numeric income (bug-06's CSV).
    assert metrics(project)["roc_auc"] == pytest.approx(0.8512, abs=1e-4)


# --------------------------------------------------------------------------------- targets


def test_positive_class_is_the_minority_and_is_named(tmp_path):
    project = csv_project(
        tmp_path, "bug-09-positive-class-picked-alphabetically", target_column="status"
    )
    make(project, "expectations")
    out = make(project, "repro").stdout
    values = metrics(project)
    assert values["positive_label"] == "churned"
    # precision/recall/f1 of "churned" (85 rows), not of "retained" (alphabetically last)
    assert values["precision"] == pytest.approx(0.6429, abs=1e-4)
    assert values["recall"] == pytest.approx(0.5294, abs=1e-4)
    assert "(positive class 'churned')" in out


def test_positive_label_setting_is_used(tmp_path):
    project = csv_project(
        tmp_path, "bug-09-positive-class-picked-alphabetically", target_column="status"
    )
    params = project / "params.yaml"
    params.write_text(
        params.read_text(encoding="utf-8").replace(
            "positive_label: null", "positive_label: retained"
        ),
        encoding="utf-8",
    )
    make(project, "expectations")
    make(project, "repro")
    values = metrics(project)
    assert values["positive_label"] == "retained"
    assert values["precision"] == pytest.approx(0.764706)


def test_multiclass_curves_are_labelled_per_class_and_averaged(tmp_path):
    project = csv_project(tmp_path, "bug-07-multiclass-roc-plot-shows-one-class")
    make(project, "expectations")
    out = make(project, "repro").stdout
    values = metrics(project)
    assert values["average"] == "macro" and "positive_label" not in values
    assert "(precision, recall, f1, roc_auc: macro averages over classes)" in out
    # The rare class: 1 test row. The metrics say so instead of silently ranking on it.
    assert values["test_rows_per_class"]["vip"] == 1
    assert "1 row(s) of class 'vip'" in values["warning"]
    plots = project / "reports/plots"
    per_class = pd.read_csv(plots / "roc_per_class.csv")
    assert sorted(per_class["class"].unique()) == ["high", "low", "mid", "vip"]
    roc = pd.read_csv(plots / "roc.csv")
    # The plotted average is the macro average that metrics.json reports.
    area = float(((roc["fpr"].diff()) * (roc["tpr"] + roc["tpr"].shift()) / 2).sum())
    assert area == pytest.approx(values["roc_auc"], abs=1e-3)


def test_dates_are_date_parts_not_one_hot_days(tmp_path):
    project = csv_project(tmp_path, "bug-05-date-column-one-hot-days-and-drift-alerts")
    out = make(project, "expectations").stdout
    assert "signup_date  datetime" in out
    make(project, "repro")
    dates = [name for name in feature_names(project) if name.startswith("signup_date")]
    assert dates == ["signup_date_month", "signup_date_dayofweek"]


# --------------------------------------------------------------------------------- serving

SERVE = """
import json, sys
import mlflow
from fastapi.testclient import TestClient
from mlflow.pyfunc.scoring_server import init

mlflow.set_tracking_uri("sqlite:///mlflow.db")
model = mlflow.pyfunc.load_model(json.load(open("models/run.json"))["model_uri"])
client = TestClient(init(model))
answers = []
for columns, row in json.loads(sys.argv[1]):
    body = {"dataframe_split": {"columns": columns, "data": [row]}}
    response = client.post("/invocations", json=body)
    answers.append([response.status_code, response.json()])
print(json.dumps(answers))
"""


def served(project: Path, requests: list) -> list:
    """Answers of the logged model through MLflow's scoring server app (in-process)."""
    result = run(["python", "-c", SERVE, json.dumps(requests)], project)
    return json.loads(result.stdout.splitlines()[-1])


def test_boolean_text_is_read_as_that_boolean_or_refused(tmp_path):
    project = csv_project(tmp_path, "bug-02-bool-string-false-served-as-true")
    make(project, "expectations")
    make(project, "repro")
    columns = ["age", "income", "is_member", "plan"]
    values = [False, True, "false", "False", "no", "yes", "maybe"]
    answers = served(project, [[columns, [40, 50.5, value, "basic"]] for value in values])
    false, true = answers[0][1]["predictions"], answers[1][1]["predictions"]
    assert false != true  # the target follows is_member
    assert [a[1]["predictions"] for a in answers[2:5]] == [false] * 3
    assert answers[5][1]["predictions"] == true
    assert answers[6][0] == 400
    assert "column 'is_member' is boolean but got 'maybe'" in answers[6][1]["message"]


def test_null_in_an_integer_column_is_imputed_at_serving(tmp_path):
    project = csv_project(tmp_path, "nc-06-serve-null-in-int-column-400", target_column="label")
    make(project, "expectations")
    make(project, "repro")
    columns = ["tenure", "plan"]
    answers = served(project, [[columns, [12, "basic"]], [columns, [12, None]],
                               [columns, [None, "basic"]]])  # fmt: skip
    assert [status for status, _ in answers] == [200, 200, 200]
    assert {answer["predictions"][0] for _, answer in answers} <= {"churned", "stayed"}
