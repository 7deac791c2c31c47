"""Monitoring: compare current (production) data with the champion's training data.

Evidently 0.7 measures data drift per column and the drifted share, prediction drift and,
when the current data carries labels, model quality against the reference quality. Column
types come from the schema ingest wrote (data/interim/schema.json): only the model's inputs
are compared, booleans as booleans, dates not at all (a later batch holds later dates by
design); categorical values the model never saw are counted per column.

    gitops-ml monitor check [--current FILE|FOLDER|GLOB] ...
    gitops-ml monitor demo-batch --out FILE ...
    gitops-ml monitor dashboard [--static FILE]   (the history: gitops_ml.dashboard)

Exit status of `check` (for CI and cron): 0 no alert, 3 alert, 1 error (bad data, missing
files, bad settings), 2 wrong command line. An error never writes a "no drift" summary.
"""

from __future__ import annotations

import argparse
import json
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import schema as schemas
from .drift import DriftResult, bounded_sample, measure_drift
from .errors import PipelineError, run
from .metrics import METRICS
from .params import HIGHER_IS_BETTER, MonitorParams, ProblemType, load_params
from .prediction_log import PREDICTION
from .results import stamp
from .tables import file_md5, read_text_csv

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_ALERT = 3
DATA_SUFFIXES = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}
# Unseen values: a column's limit is raised above monitor.max_unseen_share when its training
# data has a long tail (Good-Turing: the share of training rows whose value occurs once
# estimates how often a same-distribution batch meets a value training never held), to that
# estimate plus UNSEEN_K standard deviations of the batch's share.
UNSEEN_K = 4.0
UNSEEN_SHOWN = 10  # unseen values named per column (the most frequent)


# ----------------------------------------------------------------------------- reading data


def resolve_sources(spec: str, base: Path = Path()) -> list[Path]:
    """The files behind a source: one CSV/Parquet file, a folder of them, or a glob."""
    if any(char in spec for char in "*?["):
        pattern = Path(spec)
        root = Path(pattern.anchor) if pattern.is_absolute() else base
        relative = str(pattern.relative_to(pattern.anchor)) if pattern.is_absolute() else spec
        paths = sorted(
            p for p in root.glob(relative) if p.is_file() and p.suffix.lower() in DATA_SUFFIXES
        )
        if not paths:
            raise PipelineError(f"current data: no .csv or .parquet file matches {spec!r}")
        return paths
    path = base / spec
    if path.is_dir():
        paths = sorted(p for p in path.iterdir() if p.suffix.lower() in DATA_SUFFIXES)
        if not paths:
            raise PipelineError(f"current data: folder {spec!r} holds no .csv or .parquet file")
        return paths
    if not path.is_file():
        raise PipelineError(
            f"current data {spec!r} does not exist: set monitor.current in params.yaml "
            "or pass CURRENT=<file or folder> (after make deploy: CURRENT=logs/predictions; "
            "make monitor-demo makes a demo batch)"
        )
    if path.suffix.lower() not in DATA_SUFFIXES:
        raise PipelineError(f"current data {spec!r}: expected a .csv or .parquet file")
    return [path]


def read_table(path: Path) -> pd.DataFrame:
    """One CSV (every value as text, see ``tables.read_text_csv``) or Parquet file.

    Raises:
        PipelineError: the file is empty or cannot be read.
        KeyError: the suffix is not one of ``DATA_SUFFIXES``.
    """
    try:
        if DATA_SUFFIXES[path.suffix.lower()] == "parquet":
            return pd.read_parquet(path)
        # Text, typed afterwards from the schema (schema.conform), as ingest's CSV reading
        # treats missing values: "True" stays a boolean's text, "007" a category's; ';' and
        # decimal commas are sniffed as for the raw data.
        return read_text_csv(path)
    except pd.errors.EmptyDataError:
        raise PipelineError(f"{path} is empty (no header, no rows)") from None
    except (ValueError, OSError, pd.errors.ParserError) as exc:
        raise PipelineError(f"{path} cannot be read: {exc}") from None


def row_count(path: Path) -> int | None:
    """Rows of a Parquet file from its footer (no data read); None for CSV."""
    if DATA_SUFFIXES[path.suffix.lower()] != "parquet":
        return None
    import pyarrow.parquet as pq

    try:
        return pq.ParquetFile(path).metadata.num_rows
    except (OSError, ValueError) as exc:
        raise PipelineError(f"{path} cannot be read: {exc}") from None


def read_rows(paths: list[Path], max_rows: int | None, seed: int) -> tuple[pd.DataFrame, int]:
    """The rows of all files, or a uniform sample of max_rows of them, and the total count.

    Rows are drawn over all files at once (bounded_sample's rule). Parquet files are read one
    at a time and only their sampled rows are kept, so memory stays near one file's size.
    """
    counts = [row_count(path) for path in paths]
    if max_rows is None or None in counts or sum(counts) <= max_rows:  # type: ignore[arg-type]
        frames = [read_table(path) for path in paths]
        frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
        total = len(frame)
        return (frame if max_rows is None else bounded_sample(frame, max_rows, seed)), total
    import pyarrow.parquet as pq

    total = sum(counts)  # type: ignore[arg-type]
    chosen = np.sort(np.random.default_rng(seed).choice(total, size=max_rows, replace=False))
    frames, start = [], 0
    for path, count in zip(paths, counts, strict=True):
        local = chosen[(chosen >= start) & (chosen < start + count)] - start
        start += count
        if len(local):
            frames.append(pq.read_table(path).take(local).to_pandas())
    return pd.concat(frames, ignore_index=True), total


def read_current(
    spec: str, base: Path = Path(), max_rows: int | None = None, seed: int = 0
) -> tuple[pd.DataFrame, list[Path], int]:
    """Current data (all rows, or a bounded sample), its files and its total row count."""
    paths = resolve_sources(spec, base)
    frame, total = read_rows(paths, max_rows, seed)
    if frame.empty:
        raise PipelineError(f"current data {spec!r} has no rows")
    return frame, paths, total


# ------------------------------------------------------------------------ checking the data


def conform(
    current: pd.DataFrame, schema: schemas.Schema, keep: Sequence[str] = ()
) -> pd.DataFrame:
    """Current data typed as the schema says: the model's inputs, the target and ``keep``.

    Returns:
        n rows (same index) x the features, then the target and the ``keep`` columns
        present (see :func:`gitops_ml.schema.conform`).

    Raises:
        PipelineError: naming the problem: missing input columns, or values that do not fit
            a column's type (text in a numeric column, 'maybe' in a boolean one).
    """
    missing = [c for c in schema.features if c not in current.columns]
    if missing:
        raise PipelineError(
            f"current data lacks {len(missing)} column(s) the model uses: {', '.join(missing)}"
        )
    try:
        return schemas.conform(current, schema, keep=tuple(c for c in keep if c in current))
    except schemas.SchemaError as exc:  # under MLflow also an MlflowException (its .message)
        raise PipelineError(f"current data: {getattr(exc, 'message', exc)}") from None


def comparable(frame: pd.DataFrame, schema: schemas.Schema, columns: list[str]) -> pd.DataFrame:
    """The columns as the drift measures see them: numbers as float, other types as text.

    Booleans become "True"/"False" on both sides whatever was written (True, "yes", 1), so
    their shares are compared value for value; columns the schema does not know (the
    prediction) are left as they are. Returns n rows (same index) x ``columns``.
    """

    def as_text(value: Any) -> Any:
        if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
            return None
        return str(bool(value))

    out = {}
    for column in columns:
        kind = schema.columns[column].type if column in schema.columns else None
        values = frame[column]
        if kind == schemas.BOOLEAN:
            out[column] = values.map(as_text).astype(object)
        elif kind == schemas.NUMERIC:
            out[column] = values.astype("float64")
        else:
            out[column] = values
    return pd.DataFrame(out, index=frame.index)


def plan_columns(
    schema: schemas.Schema, current: pd.DataFrame
) -> tuple[list[str], dict[str, str], list[str]]:
    """Which schema columns are drift-compared, which are not and why, and which are empty.

    Returns:
        (compared, not compared, empty): the model inputs compared, in schema order; column
        -> why it is not compared (not a model input, no value in the batch, or a date);
        and the model inputs that have no value at all in the current batch (reported, not
        compared).
    """
    compared, skipped, empty = [], {}, []
    for name, column in schema.columns.items():
        present = int(current[name].notna().sum()) if name in current.columns else 0
        if not column.is_feature:
            why = f"{column.type}, not a model input ({column.reason})"
            if column.type == schemas.EMPTY and present:
                why += f"; it has values in {present} current row(s): retrain to use them"
            skipped[name] = why
        elif present == 0:
            empty.append(name)
            skipped[name] = "no value in the current batch"
        elif column.type == schemas.DATETIME:
            dates = current[name].dropna()
            skipped[name] = (
                "datetime: a later batch holds later dates by design, so the dates are not "
                f"drift-compared (current batch {dates.min():%Y-%m-%d} to {dates.max():%Y-%m-%d})"
            )
        else:
            compared.append(name)
    return compared, skipped, empty


def compare_inputs(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    schema: schemas.Schema,
    settings: MonitorParams,
    seen: dict[str, pd.Series] | None = None,
    prediction: str | None = None,
    rows: tuple[int, int] | None = None,
) -> tuple[DriftResult, dict[str, dict[str, Any]]]:
    """Drift of the compared inputs (and ``prediction``) and the unseen categorical values.

    Args:
        reference: the reference rows, typed by :func:`conform`.
        current: the current rows, typed by :func:`conform`.
        schema: the ingest schema (which columns are compared, see :func:`plan_columns`).
        settings: params.yaml ``monitor:``.
        seen: each categorical input's reference value counts (default: counted from
            ``reference``).
        prediction: the prediction column's name, compared too when given.
        rows: the (reference, current) row counts before sampling.

    Returns:
        The :class:`DriftResult` of :func:`measure_drift` and :func:`unseen_values`.

    Raises:
        PipelineError: Evidently returned no usable result for a column.
    """
    compared, _, _ = plan_columns(schema, current)
    columns = compared + ([prediction] if prediction else [])
    drift = measure_drift(
        comparable(reference, schema, columns),
        comparable(current, schema, columns),
        compared,
        settings,
        prediction,
        rows,
    )
    if seen is None:
        categorical = [c for c in compared if schema.columns[c].type == schemas.CATEGORICAL]
        seen = {c: reference[c].dropna().astype(str).value_counts() for c in categorical}
    return drift, unseen_values(seen, current, settings)


def seen_values(path: Path, columns: list[str]) -> dict[str, pd.Series]:
    """Per categorical column, the count of each value in the whole reference CSV file.

    The whole file, not a sample: a rare value the model saw is not "unseen". Values are
    read as text; blanks are missing and not counted.
    """
    if not columns:
        return {}
    frame = pd.read_csv(path, usecols=columns, dtype=str, keep_default_na=False, na_values=[""])
    return {c: frame[c].dropna().value_counts() for c in columns}


def unseen_values(
    seen: dict[str, pd.Series], current: pd.DataFrame, settings: MonitorParams
) -> dict[str, dict[str, Any]]:
    """Per categorical input, the current rows holding a value absent from the reference.

    The one-hot encoder maps such a value to "none of the known", so those rows are scored
    without that input. The limit is ``monitor.max_unseen_share``, raised for a long-tailed
    column to the Good-Turing estimate (the share of reference rows whose value occurs
    once: how often a same-distribution batch meets a new value) plus ``UNSEEN_K`` (4)
    standard deviations of the batch's share.

    Returns:
        Column -> ``rows`` (count), ``share`` (of all current rows, 0..1), ``limit``
        (0..1), ``expected_by_chance`` (the Good-Turing share), ``values`` (the
        ``UNSEEN_SHOWN`` most frequent unseen values -> rows), ``distinct`` and ``alert``
        (share > limit).
    """
    found = {}
    rows = len(current)
    for column, counts in seen.items():
        values = current[column].dropna().astype(str)
        new = values[~values.isin(counts.index)]
        n_ref = int(counts.sum())
        expected = float((counts == 1).sum() / n_ref) if n_ref else 0.0  # Good-Turing
        spread = math.sqrt(expected * (1 - expected) * (1 / rows + 1 / max(n_ref, 1)))
        limit = max(settings.max_unseen_share, expected + UNSEEN_K * spread)
        share = len(new) / rows if rows else 0.0
        top = new.value_counts().head(UNSEEN_SHOWN)
        found[column] = {
            "rows": len(new),
            "share": round(share, 6),
            "limit": round(limit, 6),
            "expected_by_chance": round(expected, 6),
            "values": {str(value): int(n) for value, n in top.items()},
            "distinct": int(new.nunique()),
            "alert": share > limit,
        }
    return found


def class_labels(values: pd.Series) -> pd.Series:
    """Predicted classes as text, so 1, 1.0 and "1" (a CSV or Parquet log) are one class."""
    if not pd.api.types.is_numeric_dtype(values) and values.notna().any():
        numbers = pd.to_numeric(values, errors="coerce")
        if numbers[values.notna()].notna().all():
            values = numbers
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        whole = values.dropna()
        if (whole == whole.round()).all():
            return values.astype("Int64").astype(str).where(values.notna())
    return values.astype(str).where(values.notna())


# ---------------------------------------------------------------------------- performance


def undefined_reason(
    name: str, actual: pd.Series, classes: Sequence[Any], problem_type: ProblemType
) -> str:
    """Why a metric is undefined (NaN) on these labelled rows, in one sentence."""
    because = f"{name} is undefined on this batch"
    if problem_type == "classification" and METRICS[name].needs_scores:
        present = set(actual.dropna().tolist())
        absent = [c for c in classes if c not in present]
        unknown = sorted(map(str, present - set(classes)))
        if absent:
            named = ", ".join(repr(c) for c in absent)
            which = f"classes {named} have" if len(absent) > 1 else f"class {named} has"
            return f"{because}: {which} no rows"
        if unknown:
            return f"{because}: label(s) {', '.join(map(repr, unknown))} are not model classes"
    if name == "r2":
        if len(actual) < 2:
            return f"{because}: it needs at least 2 labelled rows"
        if actual.nunique() == 1:
            return f"{because}: every label is {actual.iloc[0]!r}, there is no variance to explain"
    return because


def relative_drop(name: str, reference: float, current: float) -> float:
    """How much worse `current` is than `reference`, as a share of the reference."""
    worse = reference - current if HIGHER_IS_BETTER[name] else current - reference
    return worse / abs(reference) if reference else (math.inf if worse > 0 else 0.0)


def compare_performance(
    model: Any,
    labelled: pd.DataFrame,
    target: str,
    problem_type: ProblemType,
    reference_metrics: dict[str, Any],
    primary_metric: str,
    max_drop: float,
    positive_label: Any = None,
) -> dict[str, Any]:
    """The evaluate stage's metrics on labelled current rows, against the reference quality.

    A metric undefined on these rows (roc_auc when a class has no row) is named with the
    reason and never counts as "quality holds". Degradation is judged on the primary metric
    when it is defined here and in the reference; otherwise on every other metric defined on
    both sides, each against its own reference value with the same max_drop.
    """
    from .evaluation import evaluate_model

    try:
        current, _ = evaluate_model(model, labelled, target, problem_type, positive_label)
    except ValueError as exc:
        return {"rows": len(labelled), "skipped": f"metrics cannot be computed: {exc}"}
    if primary_metric not in reference_metrics:
        raise PipelineError(f"reference metrics have no {primary_metric!r}")
    actual = labelled[target]
    classes = list(getattr(model, "classes_", []))
    if problem_type == "regression" and len(actual) > 1 and actual.nunique() == 1:
        current["r2"] = math.nan  # scikit-learn's 0.0 / 1.0 stand-in says nothing here
    undefined = {
        name: undefined_reason(name, actual, classes, problem_type)
        for name, value in current.items()
        if not math.isfinite(value)
    }

    def reference_of(name: str) -> float | None:
        value = reference_metrics.get(name)
        return float(value) if isinstance(value, int | float) and math.isfinite(value) else None

    comparable_metrics = [
        name for name in current if name not in undefined and reference_of(name) is not None
    ]
    judged = [primary_metric] if primary_metric in comparable_metrics else comparable_metrics
    notes = []
    if primary_metric in undefined:
        notes.append(undefined[primary_metric])
    elif reference_of(primary_metric) is None:
        notes.append(f"reports/metrics.json has no value of {primary_metric}")
    if judged and judged != [primary_metric]:
        notes[-1] += f"; judged on {', '.join(judged)} against reports/metrics.json instead"
    if not judged:
        notes.append("no metric is defined on this batch and in the reference: quality not judged")
    notes += [reason for name, reason in undefined.items() if name != primary_metric]

    table = {}
    for name, value in current.items():
        reference = reference_of(name)
        defined = name not in undefined and reference is not None
        drop = relative_drop(name, reference, value) if defined else None
        table[name] = {
            "reference": reference,
            "current": None if name in undefined else value,
            "relative_drop": None if drop is None else round(drop, 6),
            "judged": name in judged,
            "degraded": bool(name in judged and drop is not None and drop > max_drop),
        }
    degraded = [name for name in judged if table[name]["degraded"]]
    primary = table[primary_metric]
    found: dict[str, Any] = {
        "rows": len(labelled),
        "metric": primary_metric,
        "reference": primary["reference"],
        "current": primary["current"],
        "relative_drop": primary["relative_drop"],
        "max_drop": max_drop,
        "judged_on": judged,
        "degraded": bool(degraded),
        "degraded_metrics": degraded,
        "undefined": undefined,
        "notes": notes,
        "metrics": table,
    }
    if problem_type == "classification":
        found["rows_per_class"] = {str(c): int((actual == c).sum()) for c in classes}
    return found


# -------------------------------------------------------------------------------- summary


def raised_thresholds(drift: DriftResult, settings: MonitorParams) -> dict[str, Any] | None:
    """Input columns whose noise floor exceeded the configured threshold (small samples)."""
    base = {"numerical": settings.threshold, "categorical": settings.cat_threshold}
    raised = {
        c.column: c.threshold
        for c in drift.columns
        if c.noise_floor is not None and c.threshold > (base[c.kind] or 0.1)
    }
    if not raised:
        return None
    return {"columns": len(raised), "max_threshold": max(raised.values()), "thresholds": raised}


def summarize(
    drift: DriftResult,
    performance: dict[str, Any] | None,
    settings: MonitorParams,
    unseen: dict[str, dict[str, Any]] | None = None,
    not_compared: dict[str, str] | None = None,
    empty: Sequence[str] = (),
) -> dict[str, Any]:
    """The verdict of one check: the body of the ``monitoring`` result (summary.json).

    Alert when at least ``monitor.min_drifted_columns`` columns drift, the prediction
    drifts, a model input has no value at all, too many rows hold values the model never
    saw (:func:`unseen_values`), or quality drops (:func:`compare_performance`).

    Returns:
        ``alert``, ``reasons`` (one sentence each), ``notes``, ``drifted_columns``,
        ``drift_share`` (0..1), ``columns_checked``, ``columns`` (per column ``kind``,
        ``method``, ``score``, ``threshold``, ``noise_floor``, ``drifted``),
        ``not_compared``, ``unseen_values``, ``raised_thresholds``, ``prediction_drift``,
        ``performance``, ``sampling`` and ``settings``.
    """
    drifted = drift.drifted_columns
    reasons = []
    if len(drifted) >= settings.min_drifted_columns:
        reasons.append(
            f"{len(drifted)} of {len(drift.columns)} columns drifted: {', '.join(drifted)}"
        )
    if drift.prediction is not None and drift.prediction.drifted:
        reasons.append(
            f"prediction drifted ({drift.prediction.method} {drift.prediction.score:.3g} "
            f"vs threshold {drift.prediction.threshold:g})"
        )
    for column in empty:
        reasons.append(
            f"column {column!r} has no value in the current batch: the model imputes it "
            "for every row"
        )
    for column, found in (unseen or {}).items():
        if found["alert"]:
            reasons.append(
                f"{found['share']:.1%} of rows hold values of {column!r} the model never saw "
                f"(limit {found['limit']:.1%}): {unseen_names(found)}"
            )
    if performance and performance.get("degraded"):
        for name in performance["degraded_metrics"]:
            metric = performance["metrics"][name]
            reasons.append(
                f"{name} fell from {metric['reference']:.4g} to {metric['current']:.4g} "
                f"({metric['relative_drop']:.1%} worse, limit {performance['max_drop']:.0%})"
            )
    return {
        "alert": bool(reasons),
        "reasons": reasons,
        "notes": [*(performance or {}).get("notes", [])],
        "drifted_columns": drifted,
        "drift_share": round(drift.drift_share, 6),
        "columns_checked": len(drift.columns),
        "columns": {
            c.column: {
                "kind": c.kind,
                "method": c.method,
                "score": c.score,
                "threshold": c.threshold,
                "noise_floor": c.noise_floor,
                "drifted": c.drifted,
            }
            for c in drift.columns
        },
        "not_compared": dict(not_compared or {}),
        "unseen_values": dict(unseen or {}),
        "raised_thresholds": raised_thresholds(drift, settings),
        "prediction_drift": None
        if drift.prediction is None
        else {
            "method": drift.prediction.method,
            "score": drift.prediction.score,
            "threshold": drift.prediction.threshold,
            "noise_floor": drift.prediction.noise_floor,
            "drifted": drift.prediction.drifted,
        },
        "performance": performance,
        "sampling": drift.sampling,
        "settings": settings.model_dump(),
    }


def unseen_names(found: dict[str, Any]) -> str:
    """The unseen values of one column as text: ``'a' (12), 'b' (3) and 4 more``."""
    named = ", ".join(f"{value!r} ({rows})" for value, rows in found["values"].items())
    more = found["distinct"] - len(found["values"])
    return named + (f" and {more} more" if more > 0 else "")


def strict_json(value: Any) -> Any:
    """The summary as strict JSON accepts it: NaN and infinities become null."""
    if isinstance(value, dict):
        return {str(k): strict_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [strict_json(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def dump_summary(summary: dict[str, Any]) -> str:
    """The text of summary.json: a ``monitoring`` result (results.py), strict JSON."""
    stamped = stamp("monitoring", strict_json(summary))
    return json.dumps(stamped, indent=2, allow_nan=False, ensure_ascii=False) + "\n"


def quality_line(performance: dict[str, Any] | None) -> str:
    """One line on quality that never says "holds" when it could not be judged."""
    if performance is None:
        return "quality not checked: the current data carries no labels"
    if "skipped" in performance:
        return f"quality not checked: {performance['skipped']}"
    if not performance["judged_on"]:
        return "quality not judged: no metric is defined on this batch and in the reference"
    shown = ", ".join(
        f"{name} {m['current']:.4g} (reference {m['reference']:.4g})"
        for name, m in performance["metrics"].items()
        if m["judged"]
    )
    verdict = "quality fell" if performance["degraded"] else "quality holds"
    return f"{verdict} on {performance['rows']} labelled rows: {shown}"


def markdown(summary: dict[str, Any]) -> str:
    """A short Markdown digest for job summaries and alert issues."""
    verdict = "ALERT" if summary["alert"] else "no alert"
    lines = [f"### Monitoring: {verdict}", ""]
    lines += [f"- {reason}" for reason in summary["reasons"]]
    if not summary["drifted_columns"]:
        lines.append(f"- no drift in the {summary['columns_checked']} compared column(s)")
    performance = summary.get("performance")
    if not (performance and performance.get("degraded")):  # a fall is among the reasons
        lines.append(f"- {quality_line(performance)}")
    lines += [f"- note: {note}" for note in summary.get("notes", [])]
    lines += [
        "",
        f"Drifted columns: {len(summary['drifted_columns'])} of {summary['columns_checked']} "
        f"(share {summary['drift_share']:.2f})",
        "",
        "| column | method | score | threshold | drifted |",
        "|---|---|---|---|---|",
    ]
    ranked = sorted(summary["columns"].items(), key=lambda kv: -kv[1]["score"])
    for name, c in ranked[:15]:
        mark = "yes" if c["drifted"] else "no"
        lines.append(f"| {name} | {c['method']} | {c['score']:.4g} | {c['threshold']:g} | {mark} |")
    unseen = {c: u for c, u in summary.get("unseen_values", {}).items() if u["rows"]}
    if unseen:
        lines += ["", "Values the model never saw:", ""]
        lines += [
            f"- {column}: {u['rows']} row(s), {u['share']:.1%} (limit {u['limit']:.1%}): "
            f"{unseen_names(u)}"
            for column, u in unseen.items()
        ]
    if summary.get("not_compared"):
        lines += ["", "Not compared:", ""]
        lines += [f"- {column}: {why}" for column, why in summary["not_compared"].items()]
    if performance and performance.get("judged_on"):
        lines += [
            "",
            "| metric | reference | current | worse by | judged |",
            "|---|---|---|---|---|",
        ]
        for name, m in performance["metrics"].items():
            shown = [
                "n/a" if m[key] is None else f"{m[key]:.4g}" for key in ("reference", "current")
            ]
            drop = "n/a" if m["relative_drop"] is None else f"{m['relative_drop']:.1%}"
            lines.append(
                f"| {name} | {shown[0]} | {shown[1]} | {drop} | {'yes' if m['judged'] else 'no'} |"
            )
    raised = summary.get("raised_thresholds")
    if raised:
        lines += [
            "",
            f"Small sample: drift threshold raised to at most {raised['max_threshold']:.2g} for "
            f"{raised['columns']} column(s), above the distance these row counts reach by chance "
            "(noise floor, docs/monitoring.md)",
        ]
    sampled = summary["sampling"]
    lines += [
        "",
        f"Rows compared: reference {sampled['reference']['used']} of "
        f"{sampled['reference']['rows']}, current {sampled['current']['used']} of "
        f"{sampled['current']['rows']}",
    ]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------- demo batch


def drifted_batch(
    frame: pd.DataFrame,
    numeric: list[str],
    rows: int,
    shift_sd: float,
    seed: int,
    columns: int = 2,
) -> tuple[pd.DataFrame, list[str]]:
    """A "production" batch for the demo, with a known shift.

    ``rows`` rows are drawn from ``frame`` with replacement (seeded); the first ``columns``
    of the ``numeric`` input columns with more than 10 distinct values are shifted by
    ``shift_sd`` of their standard deviation in ``frame``.

    Returns:
        (the batch, ``rows`` x ``frame``'s columns; the names of the shifted columns).

    Raises:
        PipelineError: fewer than ``columns`` numeric columns have more than 10 values.
    """
    candidates = [c for c in numeric if frame[c].nunique() > 10]
    shifted = candidates[:columns]
    if len(shifted) < columns:
        raise PipelineError(f"the data has fewer than {columns} continuous numeric columns")
    rng = np.random.default_rng(seed)
    batch = frame.iloc[rng.integers(0, len(frame), size=rows)].reset_index(drop=True)
    for column in shifted:
        batch[column] = batch[column] + shift_sd * float(frame[column].std())
    return batch, shifted


# ---------------------------------------------------------------------------------- main


def predicted(model: Any, frame: pd.DataFrame, features: list[str], problem_type: str) -> pd.Series:
    """The model's predictions on ``frame[features]``, one per row (same index).

    Classes are text (:func:`class_labels`), so they compare with a log's predictions.
    """
    values = pd.Series(model.predict(frame[features]), index=frame.index)
    return class_labels(values) if problem_type == "classification" else values


def served_predictions(values: pd.Series, problem_type: str) -> pd.Series:
    """The `prediction` column of a log, as the reference's predictions are compared."""
    if problem_type == "classification":
        return class_labels(values)
    numbers = pd.to_numeric(values, errors="coerce")
    if (numbers.isna() & values.notna()).any():
        raise PipelineError("current data column 'prediction' should be numeric")
    return numbers.astype("float64")


def check(args: argparse.Namespace) -> int:
    """``gitops-ml monitor check``: compare the current data with the champion's training data.

    Removes the previous verdict first; reads a sample of the reference (``--reference``)
    and of the current data (``--current`` or ``monitor.current``), typed by the schema;
    predicts with ``--model`` (or takes the log's ``prediction`` column); measures drift,
    unseen values and, when labels are present, quality against ``--reference-metrics``.
    Writes summary.json (a ``monitoring`` result), summary.md and Evidently's report.html
    to ``--out``, prints the digest, and adds the run to the history in
    ``monitor.workspace`` (:func:`gitops_ml.dashboard.record`) unless that is empty.

    Returns:
        ``EXIT_ALERT`` (3) when the summary alerts, else ``EXIT_OK`` (0).

    Raises:
        ParamsError: params.yaml is missing or invalid.
        PipelineError: the schema or data cannot be read or do not fit, the reference is
            not the data the champion was trained on (``--run-info`` md5), or Evidently
            gives no result for a column.
    """
    for old in ("summary.json", "summary.md", "report.html"):  # a failed run leaves no verdict
        (args.out / old).unlink(missing_ok=True)
    params = load_params()
    settings = params.monitor
    target = params.data.target
    try:
        schema = schemas.load_schema(args.schema)
    except schemas.SchemaError as exc:
        raise PipelineError(str(exc)) from None
    raw, reference_rows = read_rows([args.reference], settings.max_rows, settings.seed)
    reference = conform(raw, schema)
    if args.run_info:
        run_info = json.loads(args.run_info.read_text(encoding="utf-8"))
        expected = run_info.get("data_md5", {}).get("train")
        if expected and file_md5(args.reference) != expected:
            raise PipelineError(
                f"{args.reference} is not the data the champion was trained on "
                f"(md5 differs from {args.run_info}): run 'dvc pull' first"
            )
    spec = args.current or settings.current
    raw, paths, current_rows = read_current(spec, Path(), settings.max_rows, settings.seed + 1)
    current = conform(raw, schema, keep=(PREDICTION,))
    features = schema.features
    compared, not_compared, empty = plan_columns(schema, current)

    import joblib

    model = joblib.load(args.model)
    reference[PREDICTION] = predicted(model, reference, features, params.problem_type)
    prediction_source = "log" if PREDICTION in current.columns else "model"
    if prediction_source == "model":
        current[PREDICTION] = predicted(model, current, features, params.problem_type)
    else:
        current[PREDICTION] = served_predictions(current[PREDICTION], params.problem_type)

    categorical = [c for c in compared if schema.columns[c].type == schemas.CATEGORICAL]
    drift, unseen = compare_inputs(
        reference,
        current,
        schema,
        settings,
        seen_values(args.reference, categorical),
        PREDICTION,
        (reference_rows, current_rows),
    )

    performance = None
    if target in current.columns and current[target].notna().any():
        labelled = current.loc[current[target].notna(), [*features, target]]
        labelled[target] = schemas.read_labels(labelled[target], schema.target)
        reference_metrics = json.loads(args.reference_metrics.read_text(encoding="utf-8"))
        performance = compare_performance(
            model,
            labelled,
            target,
            params.problem_type,
            reference_metrics,
            params.evaluate.primary_metric,
            settings.max_metric_drop,
            schema.target.positive_label,
        )

    summary = summarize(drift, performance, settings, unseen, not_compared, empty)
    dates = [c for c in features if schema.columns[c].type == schemas.DATETIME and c not in empty]
    later = [
        c
        for c in dates
        if "year" in schema.columns[c].parts and current[c].max() > reference[c].max()
    ]
    if drift.prediction is not None and drift.prediction.drifted and later:
        summary["notes"].append(
            f"the model reads years later than any it was trained on ({', '.join(later)}); "
            "its year feature then extrapolates, which can move the prediction without any "
            "compared input moving"
        )
    summary["reference"] = {"path": str(args.reference), "md5": file_md5(args.reference)}
    summary["current"] = {
        "source": spec,
        "files": [str(p) for p in paths],
        "rows": current_rows,
        "prediction": prediction_source,
        "ignored_columns": [
            str(c) for c in raw.columns if c not in {*schema.columns, target, PREDICTION}
        ],
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "summary.json").write_text(dump_summary(summary), encoding="utf-8")
    (args.out / "summary.md").write_text(markdown(summary), encoding="utf-8")
    drift.snapshot.save_html(str(args.out / "report.html"))
    print(markdown(summary))
    print(f"monitor: report in {args.out / 'report.html'}, summary in {args.out / 'summary.json'}")
    if settings.workspace:
        from . import dashboard

        source = {"source": spec, "rows": str(current_rows)}
        if os.environ.get("GITHUB_SHA"):
            source["commit"] = os.environ["GITHUB_SHA"]
        dashboard.record(
            Path(settings.workspace), summary, drift.snapshot, settings.workspace_runs,
            metadata=source,
        )  # fmt: skip
        print(f"monitor: run added to the history in {settings.workspace} (make dashboard)")
    return EXIT_ALERT if summary["alert"] else EXIT_OK


def demo(args: argparse.Namespace) -> int:
    """``gitops-ml monitor demo-batch``: write a drifted batch (:func:`drifted_batch`) as CSV.

    Returns:
        ``EXIT_OK`` (0).

    Raises:
        ParamsError: params.yaml is missing or invalid.
        SchemaError: the schema is missing or the data do not fit it.
        PipelineError: the data have too few continuous numeric columns to shift.
    """
    params = load_params()
    schema = schemas.load_schema(args.schema)
    frame = pd.concat([schemas.read_frame(p, schema) for p in args.data], ignore_index=True)
    numeric = [c for c in schema.features if schema.columns[c].type == schemas.NUMERIC]
    batch, shifted = drifted_batch(frame, numeric, args.rows, args.shift, params.monitor.seed)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    batch.to_csv(args.out, index=False)
    print(f"demo-batch: {len(batch)} rows in {args.out}; shifted by {args.shift} sd: {shifted}")
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> None:
    """``gitops-ml monitor check|demo-batch|dashboard``: parse ``argv``, run the sub-command.

    Raises:
        SystemExit: 2 on a wrong command line (argparse); 3 when ``check`` alerts.
        PipelineError: an input file given on the command line does not exist, or the
            sub-command fails (see :func:`check`, :func:`demo`).
    """
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    checker = commands.add_parser("check", help="compare current data with the reference")
    checker.add_argument("--reference", type=Path, required=True)
    checker.add_argument("--schema", type=Path, required=True, help="the schema ingest wrote")
    checker.add_argument("--reference-metrics", type=Path, required=True)
    checker.add_argument("--model", type=Path, required=True)
    checker.add_argument("--run-info", type=Path)
    checker.add_argument("--current", help="file, folder or glob (default: monitor.current)")
    checker.add_argument("--out", type=Path, required=True)
    checker.set_defaults(handler=check)
    maker = commands.add_parser("demo-batch", help="write a drifted batch for the demo")
    maker.add_argument("--data", type=Path, nargs="+", required=True)
    maker.add_argument("--schema", type=Path, required=True, help="the schema ingest wrote")
    maker.add_argument("--out", type=Path, required=True)
    maker.add_argument("--rows", type=int, default=2000)
    maker.add_argument("--shift", type=float, default=1.0, help="in standard deviations")
    maker.set_defaults(handler=demo)
    from .dashboard import add_parser

    add_parser(commands)
    args = parser.parse_args(argv)
    for name in ("reference", "schema", "reference_metrics", "model", "run_info"):
        path = getattr(args, name, None)
        if path is not None and not path.is_file():
            raise PipelineError(f"{path} not found: run 'make repro' (or 'dvc pull') first")
    status = args.handler(args)
    if status:
        raise SystemExit(status)


if __name__ == "__main__":
    run(main)
