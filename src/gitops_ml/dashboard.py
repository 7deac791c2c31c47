"""Monitoring history and dashboard: every ``monitor check`` adds one run to an Evidently workspace.

The history is an Evidently 0.7 local workspace (``monitor.workspace``, a directory): one
project, ``PROJECT_NAME``, holding one snapshot per check. Each snapshot carries Evidently's
own drift report of that check (its widgets, so the UI opens the full report of any run) plus
the verdict's numbers as :class:`MonitoringValue` metrics: the drift share, each compared
column's drift score, the prediction's drift score and threshold, whether the run alerted,
and, when the batch had labels, each quality metric with its reference value. The numbers
are those of summary.json (the library's verdict), not recomputed, so the dashboard and the
alert never disagree.

The project's dashboard (panels over time) is rebuilt at every run from the columns and
metrics seen so far, and the oldest runs beyond ``monitor.workspace_runs`` are deleted.
Evidently's UI (``evidently ui --workspace DIR``) reads the workspace as it is;
:func:`static_page` writes the same trends as one self-contained HTML page (plotly inlined,
no network) for CI to publish.

    gitops-ml monitor dashboard [--workspace DIR] [--host 127.0.0.1] [--port 8000]
    gitops-ml monitor dashboard --static FILE

Evidently and plotly are imported inside the functions that use them.
"""

from __future__ import annotations

import argparse
import html
import math
import os
import sys
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .errors import PipelineError

PROJECT_NAME = "Monitoring"
PROJECT_DESCRIPTION = "One run per `gitops-ml monitor check`: drift share, per-column drift, "
PROJECT_DESCRIPTION += "prediction drift and, when labels arrive, model quality."
METRIC_TYPE = "evidently:metric_v2:MonitoringValue"
TAB = "Monitoring"
# Quantities a run records (MonitoringValue.quantity); per-column ones also name a column.
CHECK = "check"  # 1 per run: summed, the number of checks kept
DRIFT_SHARE = "drift_share"
DRIFTED_COLUMNS = "drifted_columns"
ALERT = "alert"
COLUMN_DRIFT = "column_drift"
PREDICTION_DRIFT = "prediction_drift"
PREDICTION_THRESHOLD = "prediction_threshold"
QUALITY = "quality"
QUALITY_REFERENCE = "quality_reference"
SEP = "|"  # between quantity and column in the verdict row's column names


def _metric_classes() -> tuple[type, type]:
    """The Evidently metric carrying one verdict number, and its calculation (built once).

    Defined lazily so that importing this module does not import Evidently. Evidently names
    the metric ``evidently:metric_v2:MonitoringValue`` (its alias rule for metric classes);
    the UI reads its results as plain single values, without importing this module.
    """
    global _CLASSES
    if _CLASSES is not None:
        return _CLASSES
    from evidently.core.metric_types import SingleValueCalculation, SingleValueMetric

    class MonitoringValue(SingleValueMetric):
        """One number of a monitoring verdict, read from the one-row verdict dataset.

        Attributes:
            quantity: what the number is (``drift_share``, ``column_drift``...).
            column: the column or metric it is about, for per-column quantities.
        """

        quantity: str
        column: str | None = None

    class MonitoringValueCalculation(SingleValueCalculation[MonitoringValue]):
        def calculate(self, context: Any, current_data: Any, reference_data: Any) -> Any:
            key = value_key(self.metric.quantity, self.metric.column)
            return self.result(float(current_data.as_dataframe()[key].iloc[0])), None

        def display_name(self) -> str:
            return label(self.metric.quantity, self.metric.column)

    _CLASSES = (MonitoringValue, MonitoringValueCalculation)
    return _CLASSES


_CLASSES: tuple[type, type] | None = None


def value_key(quantity: str, column: str | None) -> str:
    """The verdict row's column name of one quantity: ``quantity`` or ``quantity|column``."""
    return quantity if column is None else f"{quantity}{SEP}{column}"


def label(quantity: str, column: str | None) -> str:
    """A reader's name for a quantity, e.g. ``drift score of 'age'``."""
    names = {
        CHECK: "checks",
        DRIFT_SHARE: "share of drifted input columns",
        DRIFTED_COLUMNS: "drifted input columns",
        ALERT: "alert (1) or not (0)",
        COLUMN_DRIFT: "drift score of {!r}",
        PREDICTION_DRIFT: "prediction drift score",
        PREDICTION_THRESHOLD: "prediction drift threshold",
        QUALITY: "{} on labelled rows",
        QUALITY_REFERENCE: "{} of the reference",
    }
    return names.get(quantity, quantity).format(column)


# ------------------------------------------------------------------------- the verdict's numbers


def verdict_values(summary: dict[str, Any]) -> dict[tuple[str, str | None], float]:
    """The numbers of one verdict the history keeps, keyed by (quantity, column).

    Args:
        summary: the body of a ``monitoring`` result (:func:`gitops_ml.monitor.summarize`).

    Returns:
        ``(check, None)`` 1 (summed: the number of checks), ``(drift_share, None)`` 0..1,
        ``(drifted_columns, None)`` a count, ``(alert, None)`` 0 or 1, ``(column_drift, c)``
        per compared column (the drift method's unit, e.g. normed Wasserstein),
        ``(prediction_drift, None)`` and ``(prediction_threshold, None)`` when the prediction
        was compared, and ``(quality, m)`` / ``(quality_reference, m)`` per quality metric
        defined on the labelled rows. NaN and missing values are left out.
    """
    values: dict[tuple[str, str | None], float] = {
        (CHECK, None): 1.0,
        (DRIFT_SHARE, None): float(summary["drift_share"]),
        (DRIFTED_COLUMNS, None): float(len(summary["drifted_columns"])),
        (ALERT, None): 1.0 if summary["alert"] else 0.0,
    }
    for column, found in summary["columns"].items():
        values[(COLUMN_DRIFT, column)] = float(found["score"])
    prediction = summary.get("prediction_drift")
    if prediction:
        values[(PREDICTION_DRIFT, None)] = float(prediction["score"])
        values[(PREDICTION_THRESHOLD, None)] = float(prediction["threshold"])
    performance = summary.get("performance") or {}
    for name, metric in performance.get("metrics", {}).items():
        for quantity, key in ((QUALITY, "current"), (QUALITY_REFERENCE, "reference")):
            if isinstance(metric.get(key), int | float):
                values[(quantity, name)] = float(metric[key])
    return {key: value for key, value in values.items() if math.isfinite(value)}


def verdict_snapshot(values: dict[tuple[str, str | None], float]) -> Any:
    """An Evidently snapshot of the verdict's numbers: one MonitoringValue metric each.

    Raises:
        ValueError: ``values`` is empty.
    """
    if not values:
        raise ValueError("a verdict has at least the drift share")
    import pandas as pd
    from evidently import Dataset, Report

    metric, _ = _metric_classes()
    row = pd.DataFrame([{value_key(q, c): v for (q, c), v in values.items()}])
    report = Report([metric(quantity=q, column=c) for q, c in values])
    return report.run(Dataset.from_pandas(row), None)


def run_name(summary: dict[str, Any], when: datetime) -> str:
    """The run's name in the UI: time (UTC), verdict and drifted columns (at most 5 named).

    E.g. ``2026-12-01 06:17 UTC: ALERT, 2 of 30 columns drifted (age, income)``.
    """
    drifted = summary["drifted_columns"]
    verdict = "ALERT" if summary["alert"] else "no alert"
    shown = f" ({', '.join(drifted[:5])}{', ...' if len(drifted) > 5 else ''})" if drifted else ""
    return (
        f"{when:%Y-%m-%d %H:%M} UTC: {verdict}, {len(drifted)} of {summary['columns_checked']} "
        f"columns drifted{shown}"
    )


# --------------------------------------------------------------------------------- the history


def open_workspace(path: Path, create: bool = True) -> tuple[Any, Any]:
    """Evidently's workspace at ``path`` and its monitoring project (created when absent).

    Raises:
        PipelineError: ``create`` is false and the workspace or its project does not exist.
    """
    if not create and not path.is_dir():
        raise PipelineError(
            f"no monitoring history at {path}: run 'make monitor' first (monitor.workspace)"
        )
    from evidently.ui.workspace import Workspace

    path.mkdir(parents=True, exist_ok=True)
    workspace = Workspace(str(path))
    found = workspace.search_project(PROJECT_NAME)
    if found:
        return workspace, found[0]
    if not create:
        raise PipelineError(f"{path} holds no {PROJECT_NAME!r} project: run 'make monitor' first")
    return workspace, workspace.create_project(PROJECT_NAME, PROJECT_DESCRIPTION)


def record(
    path: Path,
    summary: dict[str, Any],
    report: Any | None = None,
    keep: int = 90,
    when: datetime | None = None,
    metadata: dict[str, str] | None = None,
) -> str:
    """Add one check to the history and rebuild the dashboard; return the run's id.

    Args:
        path: the workspace directory (created when absent).
        summary: the check's verdict (:func:`gitops_ml.monitor.summarize`).
        report: Evidently's drift snapshot of the check; its metrics and widgets are kept
            with the verdict's numbers, so the UI shows the full report of each run.
        keep: runs kept; the oldest beyond it are deleted (at least 1).
        when: the run's time (default: now, UTC).
        metadata: text shown with the run in the UI (e.g. the data source, the commit).

    Returns:
        The snapshot id (a UUID7 string: ids sort in the order runs were added).

    Raises:
        ValueError: ``keep`` is below 1.
    """
    if keep < 1:
        raise ValueError("monitor.workspace_runs must be at least 1")
    from evidently.core.report import Snapshot

    when = when or datetime.now(timezone.utc)
    values = verdict_values(summary)
    model = verdict_snapshot(values).to_snapshot_model()
    if report is not None:  # the drift report's metrics and widgets, after the verdict's
        drift = report.to_snapshot_model()
        model.metric_results.update(drift.metric_results)
        model.top_level_metrics += drift.top_level_metrics
        model.widgets += drift.widgets
        model.tests_widgets += drift.tests_widgets
    model.name = run_name(summary, when)
    model.timestamp = when.astimezone(timezone.utc).replace(tzinfo=None)
    model.tags = ["alert" if summary["alert"] else "no-alert"]
    model.metadata = {
        "drifted columns": ", ".join(summary["drifted_columns"]) or "none",
        "reasons": "; ".join(summary["reasons"]) or "none",
        **(metadata or {}),
    }
    workspace, project = open_workspace(path)
    ref = workspace.add_run(project.id, Snapshot.load_model(model))
    runs = sorted(workspace.list_runs(project.id), key=str)
    for old in runs[: max(0, len(runs) - keep)]:
        workspace.delete_run(project.id, old)
    workspace.save_dashboard(
        project.id, dashboard_model(workspace.get_dashboard(project.id), values)
    )
    return str(ref.id)


def dashboard_model(previous: Any, values: dict[tuple[str, str | None], float]) -> Any:
    """The project's dashboard after a run: the previous one's series plus this run's.

    One tab, ``TAB``: the number of checks kept and a bar per check that alerted, then line
    plots over time of the drift share, each column's drift score (every column seen so far),
    the prediction's drift score and threshold, and, once any run had labels, each quality
    metric with its reference value.

    Args:
        previous: the stored ``DashboardModel``, or None (a new workspace).
        values: this run's :func:`verdict_values`.

    Returns:
        An Evidently ``DashboardModel``.
    """
    from evidently.sdk.models import DashboardModel, DashboardTabModel, PanelMetric
    from evidently.sdk.panels import bar_plot_panel, counter_panel, line_plot_panel

    seen = {
        (v.metric_labels["quantity"], v.metric_labels.get("column"))
        for panel in (previous.panels if previous is not None else [])
        for v in panel.values
        if "quantity" in v.metric_labels
    } | set(values)

    def series(quantity: str, column: str | None = None) -> Any:
        labels = {"quantity": quantity} | ({} if column is None else {"column": column})
        return PanelMetric(
            metric=METRIC_TYPE, metric_labels=labels, legend=column or label(quantity, None)
        )

    columns = sorted(c for q, c in seen if q == COLUMN_DRIFT)
    quality = sorted({c for q, c in seen if q in (QUALITY, QUALITY_REFERENCE) and c})
    panels = [
        # Evidently's counters show 0 as "no value": only the count of checks (>= 1) is one.
        counter_panel(
            "Checks in the history",
            [series(CHECK)],
            "monitoring checks kept (monitor.workspace_runs at most)",
            size="half",
            aggregation="sum",
        ),
        bar_plot_panel(
            "Alerts",
            [series(ALERT)],
            "1 for a check whose verdict alerted, 0 otherwise",
            size="half",
        ),
        line_plot_panel(
            "Drift share over time",
            [series(DRIFT_SHARE)],
            "share of compared input columns that drifted (0..1), one point per check",
        ),
        line_plot_panel(
            "Per-column drift score",
            [series(COLUMN_DRIFT, c) for c in columns],
            "each input column's drift distance (normed Wasserstein for numbers, "
            "Jensen-Shannon for categories by default); drift at or above its threshold",
        ),
    ]
    if (PREDICTION_DRIFT, None) in seen:
        panels.append(
            line_plot_panel(
                "Prediction drift",
                [series(PREDICTION_DRIFT), series(PREDICTION_THRESHOLD)],
                "drift distance of the model's predictions and the threshold it is judged on",
            )
        )
    if quality:
        panels.append(
            line_plot_panel(
                "Quality on labelled rows",
                [
                    PanelMetric(
                        metric=METRIC_TYPE,
                        metric_labels={"quantity": q, "column": m},
                        legend=m if q == QUALITY else f"{m} (reference)",
                    )
                    for m in quality
                    for q in (QUALITY, QUALITY_REFERENCE)
                ],
                "each metric on the batch's labelled rows against reports/metrics.json",
            )
        )
    tab = DashboardTabModel(id=uuid.UUID(int=1), title=TAB, panels=[p.id for p in panels])
    return DashboardModel(tabs=[tab], panels=panels)


# ------------------------------------------------------------------------------ reading it back


@dataclass
class Run:
    """One check of the history, as :func:`history` reads it back.

    Attributes:
        id: the snapshot id.
        name: :func:`run_name`.
        timestamp: when the check ran (UTC, naive).
        alert: whether its verdict alerted.
        values: (quantity, column) -> number, as :func:`verdict_values` gave them.
        metadata: the run's metadata (drifted columns, reasons, source...).
    """

    id: str
    name: str
    timestamp: datetime
    alert: bool
    values: dict[tuple[str, str | None], float] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)


def history(path: Path) -> list[Run]:
    """Every run kept in the workspace at ``path``, oldest first.

    Raises:
        PipelineError: there is no workspace or monitoring project at ``path``.
    """
    workspace, project = open_workspace(path, create=False)
    runs = []
    for run_id in sorted(workspace.list_runs(project.id), key=str):
        model = workspace.get_run(project.id, run_id)
        values = {}
        for result in model.metric_results.values():
            params = result.metric_value_location.metric.params
            if params.get("type") == METRIC_TYPE:
                values[(params["quantity"], params.get("column"))] = float(result.value)
        runs.append(
            Run(
                id=str(run_id),
                name=model.name or str(run_id),
                timestamp=model.timestamp,
                alert=values.get((ALERT, None)) == 1.0,
                values=values,
                metadata=dict(model.metadata),
            )
        )
    return sorted(runs, key=lambda r: (r.timestamp, r.id))


# ---------------------------------------------------------------------------- the static page


def figures(runs: Sequence[Run]) -> list[tuple[str, Any]]:
    """The static page's plotly figures: (title, figure), as the dashboard's panels.

    Drift share over time (alerting runs marked red), each column's drift score, the
    prediction's drift score and threshold (when compared) and each quality metric with its
    reference (when any run had labels). The x axis is the check's time (UTC).
    """
    import plotly.graph_objects as go

    times = [r.timestamp for r in runs]

    def line(fig: Any, quantity: str, column: str | None, name: str, **style: Any) -> None:
        ys = [r.values.get((quantity, column)) for r in runs]
        fig.add_trace(go.Scatter(x=times, y=ys, mode="lines+markers", name=name, **style))

    def layout(fig: Any, title: str, unit: str) -> Any:
        fig.update_layout(
            title=title, xaxis_title="check (UTC)", yaxis_title=unit, height=360,
            margin={"l": 60, "r": 20, "t": 50, "b": 50}, template="plotly_white",
        )  # fmt: skip
        return fig

    seen = {key for r in runs for key in r.values}
    share = go.Figure()
    line(share, DRIFT_SHARE, None, "drift share", line={"color": "#1f77b4"})
    alerts = [r for r in runs if r.alert]
    share.add_trace(
        go.Scatter(
            x=[r.timestamp for r in alerts],
            y=[r.values.get((DRIFT_SHARE, None)) for r in alerts],
            mode="markers", name="alert", marker={"color": "#d62728", "size": 14, "symbol": "x"},
        )
    )  # fmt: skip
    out = [("Drift share over time", layout(share, "Drift share over time", "share (0..1)"))]
    per_column = go.Figure()
    for column in sorted(c for q, c in seen if q == COLUMN_DRIFT and c is not None):
        line(per_column, COLUMN_DRIFT, column, column)
    out.append(("Per-column drift score", layout(per_column, "Per-column drift score", "distance")))
    if (PREDICTION_DRIFT, None) in seen:
        prediction = go.Figure()
        line(prediction, PREDICTION_DRIFT, None, "score")
        line(prediction, PREDICTION_THRESHOLD, None, "threshold", line={"dash": "dash"})
        out.append(("Prediction drift", layout(prediction, "Prediction drift", "distance")))
    quality = sorted({c for q, c in seen if q in (QUALITY, QUALITY_REFERENCE) and c})
    if quality:
        fig = go.Figure()
        for metric in quality:
            line(fig, QUALITY, metric, metric)
            line(fig, QUALITY_REFERENCE, metric, f"{metric} (reference)", line={"dash": "dot"})
        out.append(("Quality on labelled rows", layout(fig, "Quality on labelled rows", "value")))
    return out


def static_page(runs: Sequence[Run], title: str = "Monitoring dashboard") -> str:
    """The history as one self-contained HTML page (plotly inlined: no network needed).

    A verdict table (one row per run, newest first: time, verdict, drift share, drifted
    columns, reasons) and the :func:`figures`.

    Raises:
        PipelineError: ``runs`` is empty.
    """
    if not runs:
        raise PipelineError("the monitoring history holds no run yet: run 'make monitor' first")
    import plotly.offline

    alerts = sum(r.alert for r in runs)
    rows = "\n".join(
        "<tr class='{cls}'><td>{time}</td><td>{verdict}</td><td>{share}</td>"
        "<td>{drifted}</td><td>{reasons}</td></tr>".format(
            cls="alert" if r.alert else "ok",
            time=f"{r.timestamp:%Y-%m-%d %H:%M:%S}",
            verdict="ALERT" if r.alert else "no alert",
            share=f"{r.values.get((DRIFT_SHARE, None), math.nan):.2f}",
            drifted=html.escape(str(r.metadata.get("drifted columns", ""))),
            reasons=html.escape(str(r.metadata.get("reasons", ""))),
        )
        for r in reversed(runs)
    )
    charts = "\n".join(
        f"<section><h2>{html.escape(name)}</h2>"
        + fig.to_html(full_html=False, include_plotlyjs=False, config={"displaylogo": False})
        + "</section>"
        for name, fig in figures(runs)
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em; color: #222; }}
table {{ border-collapse: collapse; margin-bottom: 2em; }}
td, th {{ border: 1px solid #ccc; padding: 4px 8px; text-align: left; vertical-align: top; }}
tr.alert td:nth-child(2) {{ color: #d62728; font-weight: bold; }}
</style>
<script>{plotly.offline.get_plotlyjs()}</script></head>
<body><h1>{html.escape(title)}</h1>
<p id="totals">{len(runs)} runs, {alerts} with an alert; latest {
        runs[-1].timestamp:%Y-%m-%d
%H:%M} UTC.</p>
<table id="runs"><thead><tr><th>check (UTC)</th><th>verdict</th><th>drift share</th>
<th>drifted columns</th><th>reasons</th></tr></thead><tbody>
{rows}
</tbody></table>
{charts}
</body></html>
"""


# ------------------------------------------------------------------------------------ commands


def serve_command(path: Path, host: str, port: int) -> list[str]:
    """The command that starts Evidently's UI on the workspace (this interpreter's)."""
    return [sys.executable, "-m", "evidently.cli", "ui", "--workspace", str(path),
            "--host", host, "--port", str(port)]  # fmt: skip


def check_port(host: str, port: int) -> None:
    """Raise :class:`PipelineError` when ``host:port`` cannot be bound (another server has it)."""
    import socket

    with socket.socket() as probe:
        try:
            probe.bind((host, port))
        except OSError:
            raise PipelineError(
                f"port {port} on {host} is in use (another dashboard or server?): choose "
                f"another with `make dashboard DASHBOARD_PORT={port + 1}` (or --port)"
            ) from None


def dashboard(args: argparse.Namespace) -> int:
    """``gitops-ml monitor dashboard``: serve the history in Evidently's UI, or write a page.

    With ``--static FILE``: writes :func:`static_page` there and returns 0. Otherwise prints
    the dashboard's URL and replaces this process with Evidently's UI (``evidently ui``) on
    ``--host``/``--port``; it runs until interrupted.

    Raises:
        ParamsError: params.yaml is missing or invalid (when ``--workspace`` is not given).
        PipelineError: there is no history yet, monitoring history is switched off, or the
            port is taken (naming it and how to choose another).
    """
    path = args.workspace
    if path is None:
        from .params import load_params

        configured = load_params().monitor.workspace
        if not configured:
            raise PipelineError("monitor.workspace is empty in params.yaml: no history is kept")
        path = Path(configured)
    if args.static:
        runs = history(path)
        args.static.parent.mkdir(parents=True, exist_ok=True)
        args.static.write_text(static_page(runs), encoding="utf-8")
        print(f"dashboard: {len(runs)} run(s) of {path} in {args.static}")
        return 0
    _, project = open_workspace(path, create=False)
    check_port(args.host, args.port)
    url = f"http://{args.host}:{args.port}"
    print(
        f"dashboard: {url}/projects/{project.id} (Evidently UI on {path}, answering in about "
        "10 s; Ctrl-C stops it)"
    )
    sys.stdout.flush()
    command = serve_command(path, args.host, args.port)
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.execv(command[0], command)
    return 0  # pragma: no cover (execv does not return)


def add_parser(commands: Any) -> None:
    """Add the ``dashboard`` sub-command to ``gitops-ml monitor``'s sub-parsers."""
    parser = commands.add_parser("dashboard", help="open the monitoring history (Evidently UI)")
    parser.add_argument("--workspace", type=Path, help="default: monitor.workspace")
    parser.add_argument("--static", type=Path, help="write a self-contained HTML page instead")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.set_defaults(handler=dashboard)
