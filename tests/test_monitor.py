"""The monitor (gitops_ml.monitor): detection, false alarms, quality alerts and bad data
(issue 5).

Statistical behaviour runs in-process on the library module (fast, many seeds); the command
a user or the scheduled workflow runs (`gitops-ml monitor check`) is exercised on a project
whose pipeline has run.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gitops_ml import drift, monitor
from gitops_ml.params import MonitorParams
from tests.conftest import ROOT, make, render_project, run

DRIFTED = {"x3": 0.2, "x7": -0.5, "x12": 1.0}  # columns and mean shifts, in standard deviations
SEEDS = range(5)
FALSE_ALARM_SEEDS = range(10)


def batch(rows: int, seed: int, shift: dict[str, float] | None = None) -> pd.DataFrame:
    """20 numeric columns of mixed shapes plus one categorical column."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {f"x{i}": rng.normal(size=rows) if i % 2 else rng.gamma(2.0, size=rows) for i in range(20)}
    )
    frame["segment"] = rng.choice(["a", "b", "c"], size=rows, p=[0.5, 0.3, 0.2])
    for column, sds in (shift or {}).items():
        frame[column] += sds * (2.0**0.5 if int(column[1:]) % 2 == 0 else 1.0)  # gamma sd = sqrt 2
    return frame


def settings() -> MonitorParams:
    """The monitor settings' defaults (the values a generated params.yaml ships)."""
    return MonitorParams()


@pytest.mark.parametrize("seed", SEEDS)
def test_injected_drift_is_flagged_in_exactly_those_columns(seed: int):
    reference, current = batch(4000, seed), batch(4000, seed + 100, DRIFTED)
    features = list(reference.columns)
    result = drift.measure_drift(reference, current, features, settings())
    assert sorted(result.drifted_columns) == sorted(DRIFTED)
    summary = monitor.summarize(result, None, settings())
    assert summary["alert"] is True
    assert summary["drift_share"] == pytest.approx(len(DRIFTED) / len(features))


def test_a_shifted_category_mix_is_flagged():
    reference, current = batch(4000, 1), batch(4000, 2)
    rng = np.random.default_rng(3)
    current["segment"] = rng.choice(["a", "b", "c"], size=len(current), p=[0.2, 0.3, 0.5])
    result = drift.measure_drift(reference, current, list(reference.columns), settings())
    assert result.drifted_columns == ["segment"]


@pytest.mark.slow
def test_same_distribution_batches_raise_no_alert(record_property: pytest.RecordProperty):
    alarms, highest = [], 0.0
    for seed in FALSE_ALARM_SEEDS:
        reference, current = batch(5000, seed), batch(5000, seed + 1000)
        result = drift.measure_drift(reference, current, list(reference.columns), settings())
        alarms.append(monitor.summarize(result, None, settings())["alert"])
        highest = max(highest, *(column.score for column in result.columns))
    rate = sum(alarms) / len(alarms)
    record_property("false_alarm_rate", rate)
    record_property("highest_undrifted_score", highest)
    print(
        f"false-alarm rate: {sum(alarms)}/{len(alarms)} batches of 5,000 rows x 21 columns; "
        f"highest score of an undrifted column {highest:.3f} (threshold 0.1)"
    )
    assert rate == 0.0


# ------------------------------------------------------- the command, on a pipeline that ran


@pytest.fixture
def project(demo_classification: Path, tmp_path: Path) -> Path:
    """A private copy of the demo project after `make repro` (the session fixture is shared)."""
    copy = tmp_path / demo_classification.name
    shutil.copytree(demo_classification, copy, symlinks=True)
    return copy


def monitor_command(current: str) -> list[str]:
    return [
        "gitops-ml", "monitor", "check",
        "--reference", "data/interim/train.csv", "--schema", "data/interim/schema.json",
        "--reference-metrics", "reports/metrics.json",
        "--model", "models/model.joblib", "--run-info", "models/run.json",
        "--out", "reports/monitoring", "--current", current,
    ]  # fmt: skip


def monitor_run(project: Path, current: str):
    """What `make monitor CURRENT=...` runs, with its exit status intact (make turns 3 into 2)."""
    return run(monitor_command(current), project, check=False)


def summary_of(project: Path) -> dict:
    return json.loads((project / "reports/monitoring/summary.json").read_text(encoding="utf-8"))


@pytest.mark.slow
def test_monitor_demo_flags_exactly_the_shifted_columns(project: Path):
    result = make(project, "monitor-demo")
    assert "demo-batch: 2000 rows" in result.stdout
    summary = summary_of(project)
    assert summary["alert"] is True
    assert summary["drifted_columns"] == ["mean radius", "mean texture"]
    assert summary["sampling"]["current"] == {"rows": 2000, "used": 2000}
    html = (project / "reports/monitoring/report.html").read_text(encoding="utf-8")
    assert "mean radius" in html
    assert not re.search(r"<(script|link)[^>]+(src|href)=[\"']https?:", html)  # works offline


@pytest.mark.slow
def test_training_like_data_exits_zero(project: Path):
    train = pd.read_csv(project / "data/interim/train.csv")
    train.sample(n=2000, replace=True, random_state=0).to_csv(project / "ok.csv", index=False)
    result = monitor_run(project, "ok.csv")
    assert result.returncode == 0, result.stderr
    assert "Monitoring: no alert" in result.stdout
    assert summary_of(project)["performance"]["degraded"] is False


@pytest.mark.slow
def test_labelled_degraded_batch_raises_a_performance_alert(project: Path):
    # Given production rows from the training distribution whose labels contradict the model
    train = pd.read_csv(project / "data/interim/train.csv")
    flipped = train.assign(target=1 - train["target"])
    flipped.to_csv(project / "labelled.csv", index=False)
    result = monitor_run(project, "labelled.csv")
    assert result.returncode == 3, result.stderr
    summary = summary_of(project)
    assert summary["drifted_columns"] == []
    assert summary["performance"]["degraded"] is True
    assert summary["performance"]["current"] < 0.5 < summary["performance"]["reference"]
    assert any(reason.startswith("roc_auc fell from") for reason in summary["reasons"])


@pytest.mark.slow
@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "is empty (no header, no rows)"),
        ("mean radius,mean texture\n1.0,2.0\n", "lacks 28 column(s) the model uses"),
        (None, "column 'mean radius' is numeric but got 'big'"),
    ],
    ids=["empty-file", "missing-columns", "wrong-type"],
)
def test_bad_current_data_is_an_error_not_a_verdict(project: Path, content, message):
    path = project / "bad.csv"
    if content is None:
        frame = pd.read_csv(project / "data/interim/train.csv").astype({"mean radius": object})
        frame.loc[5, "mean radius"] = "big"
        frame.to_csv(path, index=False)
    else:
        path.write_text(content, encoding="utf-8")
    result = monitor_run(project, "bad.csv")
    assert result.returncode == 1
    assert result.stderr.startswith("error: ") and message in result.stderr
    assert not (project / "reports/monitoring/summary.json").exists()


# ------------------------------------------ real-data cases (issue 10): `make monitor` verdicts

CASES = ROOT / "tests" / "data" / "real_data"
MONITOR_CASES = {
    # case: (cookiecutter args, current batch, exit status, words the verdict must hold)
    "nc-01-monitor-nan-metric-hides-quality-drop": (
        {"target_column": "animal"}, "current.csv", 3,
        [
            "accuracy fell from 0.7778 to 0.06667",
            "roc_auc is undefined on this batch: class 'fox' has no rows",
        ],
    ),
    "bug-01-bool-column-false-drift-alert": ({}, "data/interim/test.csv", 0, ["no drift in the 4"]),
    "bug-03-all-null-column-monitor-always-errors": (
        {}, "data/interim/test.csv", 0, ["notes: empty, not a model input"],
    ),
    "bug-05-date-column-one-hot-days-and-drift-alerts": (
        {}, "current-next-year.csv", 0, ["signup_date: datetime", "no drift in the 3"],
    ),
    "bug-06-unseen-category-no-alert": (
        {}, "current-10pct-new-plan.csv", 3,
        ["10.0% of rows hold values of 'plan' the model never saw (limit 5.0%): 'enterprise' (20)"],
    ),
}  # fmt: skip


@pytest.mark.slow
@pytest.mark.parametrize(
    "case", sorted(MONITOR_CASES), ids=lambda c: c.split("-")[0] + c.split("-")[1]
)
def test_real_data_case_verdict(case: str, tmp_path: Path):
    extra, batch, status, words = MONITOR_CASES[case]
    project = render_project(tmp_path, dataset="csv", **extra)
    shutil.copy(CASES / case / "dataset.csv", project / "data/raw/dataset.csv")
    make(project, "expectations")
    make(project, "repro")
    if not batch.startswith("data/"):
        shutil.copy(CASES / case / batch, project / batch)
    result = monitor_run(project, batch)
    assert result.returncode in (0, 3), result.stderr
    if status is not None:
        assert result.returncode == status, result.stdout
    for word in words:
        assert word in result.stdout, result.stdout
    text = (project / "reports/monitoring/summary.json").read_text(encoding="utf-8")
    json.loads(text, parse_constant=lambda c: pytest.fail(f"bare {c} in summary.json"))
