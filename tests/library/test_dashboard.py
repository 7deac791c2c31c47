"""dashboard: each check adds one run to the Evidently workspace; panels; the static page."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import yaml

from gitops_ml import dashboard, monitor
from gitops_ml.errors import PipelineError

WORKSPACE = Path("monitoring/workspace")  # params.py's default monitor.workspace


def check(current: str) -> int:
    """Run `gitops-ml monitor check` on `current`; its exit status."""
    argv = [
        "check", "--reference", "data/train.csv", "--schema", "schema.json",
        "--reference-metrics", "metrics.json",
        "--model", "model.joblib", "--out", "out", "--current", current,
    ]  # fmt: skip
    try:
        monitor.main(argv)
    except SystemExit as exit_info:
        return int(exit_info.code)
    return 0


def titles(model) -> list[str]:
    return [panel.title for panel in model.panels]


def summary(alert: bool = False, quality: bool = False, columns=("age", "income")) -> dict:
    """A verdict as monitor.summarize writes it, with the fields the history reads."""
    drifted = ["age"] if alert else []
    found = {
        "alert": alert,
        "reasons": ["1 of 2 columns drifted: age"] if alert else [],
        "drifted_columns": drifted,
        "drift_share": len(drifted) / len(columns),
        "columns_checked": len(columns),
        "columns": {c: {"score": 0.5 if c in drifted else 0.02} for c in columns},
        "prediction_drift": {"score": 0.03, "threshold": 0.1},
        "performance": None,
    }
    if quality:
        found["performance"] = {
            "metrics": {
                "f1": {"current": 0.8, "reference": 0.9},
                "roc_auc": {"current": None, "reference": 0.95},  # undefined on the batch
            }
        }
    return found


# ------------------------------------------------------------------------ through `monitor check`


def test_each_check_adds_one_run_and_the_drifted_one_is_marked(
    monitored: Path, mixed_frame, params
):
    target = params.data.target
    steady = mixed_frame.drop(columns=[target])
    steady.to_csv(monitored / "steady.csv", index=False)
    steady.assign(age=steady["age"] + 30).to_csv(monitored / "drifted.csv", index=False)
    mixed_frame.to_csv(monitored / "labelled.csv", index=False)

    # Given no history, when three checks run (steady, drifted, then a labelled batch)
    statuses = []
    for current, runs in (("steady.csv", 1), ("drifted.csv", 2), ("labelled.csv", 3)):
        statuses.append(check(current))
        # then the history grows by exactly one run per check
        assert len(dashboard.history(WORKSPACE)) == runs
    assert statuses == [0, monitor.EXIT_ALERT, 0]

    runs = dashboard.history(WORKSPACE)
    assert [r.alert for r in runs] == [False, True, False]
    drifted = runs[1]
    verdict = json.loads((monitored / "out/summary.json").read_text(encoding="utf-8"))
    assert "ALERT" in drifted.name and "age" in drifted.name
    assert drifted.values[(dashboard.COLUMN_DRIFT, "age")] > 0.1
    assert drifted.values[(dashboard.DRIFT_SHARE, None)] > 0
    assert drifted.metadata["source"] == "drifted.csv"
    # the last run's numbers are summary.json's, not recomputed
    assert runs[-1].values[(dashboard.DRIFT_SHARE, None)] == verdict["drift_share"]
    primary = params.evaluate.primary_metric
    assert runs[-1].values[(dashboard.QUALITY, primary)] == pytest.approx(
        verdict["performance"]["metrics"][primary]["current"]
    )
    assert (dashboard.QUALITY, primary) not in runs[0].values  # no labels, no quality

    # and the Evidently project shows every panel, quality included once labels arrived
    workspace, project = dashboard.open_workspace(WORKSPACE, create=False)
    model = workspace.get_dashboard(project.id)
    assert titles(model) == [
        "Checks in the history", "Alerts", "Drift share over time",
        "Per-column drift score", "Prediction drift", "Quality on labelled rows",
    ]  # fmt: skip
    per_column = {v.legend for v in model.panels[3].values}
    assert {"age", "income"} <= per_column
    # each run also holds Evidently's full drift report (its widgets, for the UI's report view)
    snapshot = workspace.get_run(project.id, runs[1].id)
    assert any(
        result.metric_value_location.metric.params["type"].endswith(":ValueDrift")
        for result in snapshot.metric_results.values()
        if result.metric_value_location is not None
    )
    assert len(snapshot.widgets) > len(runs[1].values)


def test_an_empty_workspace_setting_keeps_no_history(monitored: Path, mixed_frame):
    params_file = monitored / "params.yaml"
    raw = yaml.safe_load(params_file.read_text(encoding="utf-8"))
    raw["monitor"]["workspace"] = None
    params_file.write_text(yaml.safe_dump(raw), encoding="utf-8")
    mixed_frame.to_csv(monitored / "same.csv", index=False)
    assert check("same.csv") == 0
    assert not WORKSPACE.exists()
    with pytest.raises(PipelineError, match="monitor.workspace is empty"):
        monitor.main(["dashboard", "--static", "page.html"])


def test_the_dashboard_command_names_a_missing_history(monitored: Path):
    with pytest.raises(PipelineError, match="no monitoring history at monitoring/workspace"):
        monitor.main(["dashboard", "--static", "page.html"])
    assert not Path("page.html").exists()


# ----------------------------------------------------------------------------- record, panels


def test_quality_panel_appears_with_labels_and_undefined_metrics_are_left_out():
    values = dashboard.verdict_values(summary(quality=True))
    assert values[(dashboard.QUALITY, "f1")] == 0.8
    assert values[(dashboard.QUALITY_REFERENCE, "roc_auc")] == 0.95
    assert (dashboard.QUALITY, "roc_auc") not in values
    empty = dashboard.dashboard_model(None, values)
    quality = empty.panels[-1]
    assert quality.title == "Quality on labelled rows"
    assert {v.legend for v in quality.values} == {
        "f1", "f1 (reference)", "roc_auc", "roc_auc (reference)"
    }  # fmt: skip
    unlabelled = dashboard.verdict_values(summary())
    assert "Quality on labelled rows" not in titles(dashboard.dashboard_model(None, unlabelled))


def test_the_panels_keep_every_column_seen_and_the_oldest_runs_go(tmp_path: Path):
    start = datetime(2026, 12, 1, 6, 17, tzinfo=timezone.utc)
    batches = [summary(columns=("age",)), summary(alert=True), summary(columns=("city",))]
    for day, verdict in enumerate(batches):
        dashboard.record(tmp_path, verdict, keep=2, when=start + timedelta(days=day))
    runs = dashboard.history(tmp_path)
    # the oldest of three runs is deleted (keep=2); the rest are in time order
    assert [r.timestamp.day for r in runs] == [2, 3]
    assert runs[0].name == "2026-12-02 06:17 UTC: ALERT, 1 of 2 columns drifted (age)"
    workspace, project = dashboard.open_workspace(tmp_path, create=False)
    per_column = workspace.get_dashboard(project.id).panels[3]
    # a column compared once stays on the dashboard, so its history can be read
    assert [v.legend for v in per_column.values] == ["age", "city", "income"]
    with pytest.raises(ValueError, match="at least 1"):
        dashboard.record(tmp_path, summary(), keep=0)


def test_the_static_page_is_self_contained_and_shows_every_run(tmp_path: Path):
    start = datetime(2026, 12, 1, 6, 17, tzinfo=timezone.utc)
    for day, verdict in enumerate([summary(), summary(alert=True), summary(quality=True)]):
        dashboard.record(tmp_path, verdict, when=start + timedelta(days=day))
    page = dashboard.static_page(dashboard.history(tmp_path))
    assert "3 runs, 1 with an alert" in page
    assert page.count("<tr class='alert'>") == 1 and page.count("<tr class='ok'>") == 2
    assert "<script src=" not in page and "cdn" not in page.lower().split("</script>", 1)[1]
    for title in ("Drift share over time", "Per-column drift score", "Prediction drift",
                  "Quality on labelled rows"):  # fmt: skip
        assert f"<h2>{title}</h2>" in page
    with pytest.raises(PipelineError, match="holds no run yet"):
        dashboard.static_page([])


def test_a_taken_port_is_named_with_how_to_choose_another():
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(PipelineError) as caught:
            dashboard.check_port("127.0.0.1", port)
    assert str(caught.value) == (
        f"port {port} on 127.0.0.1 is in use (another dashboard or server?): choose another "
        f"with `make dashboard DASHBOARD_PORT={port + 1}` (or --port)"
    )
    dashboard.check_port("127.0.0.1", port)  # free again: no error
