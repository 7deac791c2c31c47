"""Monitoring: compare current (production) data with the champion's training data.

Evidently 0.7 measures data drift per column and the drifted share, prediction drift and,
when the current data carries labels, model quality against the reference quality.

    python -m {{ cookiecutter.package_name }}.monitor check [--current FILE|FOLDER|GLOB] ...
    python -m {{ cookiecutter.package_name }}.monitor demo-batch --out FILE ...

Exit status of `check` (for CI and cron): 0 no alert, 3 alert, 1 error (bad data, missing
files, bad settings), 2 wrong command line. An error never writes a "no drift" summary.
"""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .cli import PipelineError, run
from .config import HIGHER_IS_BETTER, MonitorParams, ProblemType, load_params
from .data import file_md5

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_ALERT = 3
PREDICTION = "prediction"
# Columns a prediction log may carry besides the model inputs, the prediction and the label.
LOG_METADATA = ("timestamp", "model_version", "request_id")
DATA_SUFFIXES = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}
SAMPLING_METHOD = "uniform random rows without replacement (seeded), per side, above max_rows"
# Noise floor of a drift distance (docs/monitoring.md#small-samples-the-noise-floor): the mean
# plus NOISE_K standard deviations of the distance over NOISE_PERMUTATIONS random relabelings
# of the pooled rows. NOISE_K keeps a column's false-alarm probability near 3e-5, so ~1e-3 per
# batch of 30 columns (Bonferroni); calibrated by simulation, see the docs.
NOISE_PERMUTATIONS = 100
NOISE_K = 7.0
FLOOR_METHODS = {"numerical": "wasserstein", "categorical": "jensenshannon"}
CHUNK_CELLS = 4_000_000  # relabelings x pooled rows handled at once (memory ~32 MB)


@dataclass(frozen=True)
class ColumnDrift:
    column: str
    kind: str  # "numerical" | "categorical"
    method: str
    threshold: float
    score: float
    drifted: bool
    noise_floor: float | None = None


@dataclass
class DriftResult:
    columns: list[ColumnDrift]
    prediction: ColumnDrift | None
    sampling: dict[str, Any]
    snapshot: Any = field(repr=False)

    @property
    def drifted_columns(self) -> list[str]:
        return [c.column for c in self.columns if c.drifted]

    @property
    def drift_share(self) -> float:
        return len(self.drifted_columns) / len(self.columns)


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
            "or pass CURRENT=<file or folder>"
        )
    if path.suffix.lower() not in DATA_SUFFIXES:
        raise PipelineError(f"current data {spec!r}: expected a .csv or .parquet file")
    return [path]


def read_table(path: Path) -> pd.DataFrame:
    try:
        if DATA_SUFFIXES[path.suffix.lower()] == "parquet":
            return pd.read_parquet(path)
        return pd.read_csv(path)
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


def feature_columns(reference: pd.DataFrame, target: str) -> list[str]:
    return [str(c) for c in reference.columns if c != target]


def conform(current: pd.DataFrame, reference: pd.DataFrame, features: list[str]) -> pd.DataFrame:
    """Current data with the reference's feature types, or a PipelineError naming the problem.

    Missing columns, a column without a single value and values of the wrong type are errors:
    measuring drift on them would report a verdict the data cannot support.
    """
    missing = [c for c in features if c not in current.columns]
    if missing:
        raise PipelineError(
            f"current data lacks {len(missing)} column(s) the model uses: {', '.join(missing)}"
        )
    current = current.copy()
    for column in features:
        values = current[column]
        if values.isna().all():
            raise PipelineError(f"current data column {column!r} has no values")
        if pd.api.types.is_numeric_dtype(reference[column]) and not pd.api.types.is_bool_dtype(
            reference[column]
        ):
            if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
                continue
            numbers = pd.to_numeric(values, errors="coerce")
            bad = values[numbers.isna() & values.notna()]
            if len(bad):
                examples = ", ".join(repr(v) for v in bad.astype(str).unique()[:3])
                raise PipelineError(
                    f"current data column {column!r} should be numeric but has "
                    f"{len(bad)} non-numeric value(s), e.g. {examples}"
                )
            current[column] = numbers
        else:
            current[column] = values.astype("string").astype(object).where(values.notna())
    return current


def class_labels(values: pd.Series) -> pd.Series:
    """Predicted classes as text, so 1, 1.0 and "1" (a CSV or Parquet log) are one class."""
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        whole = values.dropna()
        if (whole == whole.round()).all():
            return values.astype("Int64").astype(str).where(values.notna())
    return values.astype(str).where(values.notna())


# ------------------------------------------------------------------------------- sampling


def bounded_sample(frame: pd.DataFrame, max_rows: int, seed: int) -> pd.DataFrame:
    """At most max_rows rows, drawn uniformly without replacement (all rows when fewer).

    By the Dvoretzky-Kiefer-Wolfowitz inequality the empirical distribution of n sampled rows
    lies within sqrt(ln(2/a) / 2n) of the full data's, for every column, with probability
    1 - a: 0.014 for n = 20,000 and a = 0.001 (docs/monitoring.md).
    """
    if len(frame) <= max_rows:
        return frame
    rng = np.random.default_rng(seed)
    rows = np.sort(rng.choice(len(frame), size=max_rows, replace=False))
    return frame.iloc[rows].reset_index(drop=True)


def dkw_bound(rows: int, alpha: float = 0.001) -> float:
    return math.sqrt(math.log(2 / alpha) / (2 * rows))


# ---------------------------------------------------------------------------------- drift


def _kinds(frame: pd.DataFrame, columns: list[str]) -> dict[str, str]:
    return {
        c: "numerical"
        if pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_bool_dtype(frame[c])
        else "categorical"
        for c in columns
    }


def relabelings(n_ref: int, n_cur: int, count: int, rng: np.random.Generator) -> np.ndarray:
    """`count` random splits of n_ref + n_cur pooled rows into two sides of the original sizes.

    (count, n_ref + n_cur) booleans, True where the j-th smallest pooled value goes to the
    reference side: the permutation null of "both sides come from one distribution".
    """
    labels = np.zeros((count, n_ref + n_cur), dtype=bool)
    labels[:, :n_ref] = True
    return rng.permuted(labels, axis=1)


def permuted_wasserstein(
    reference: np.ndarray, current: np.ndarray, labels: np.ndarray
) -> np.ndarray:
    """Normed Wasserstein distance of every relabeling of every column: (relabelings, columns).

    reference (n_ref, columns) and current (n_cur, columns) hold no NaN. With z the sorted
    pooled values, W1 = sum_j |F_ref(z_j) - F_cur(z_j)| (z_j+1 - z_j) (scipy's formula), and
    the two CDFs at z_j come from the count of reference labels among the j smallest values:
    one sort per column, then O(n) per relabeling. Divided by the reference standard
    deviation, as Evidently does.
    """
    n_ref, n_cur = len(reference), len(current)
    size = n_ref + n_cur
    gaps = np.diff(np.sort(np.concatenate([reference, current]), axis=0), axis=0)
    below = np.arange(1, size)
    rows = max(1, CHUNK_CELLS // size)
    distances = []
    for start in range(0, len(labels), rows):
        taken = np.cumsum(labels[start : start + rows, :-1], axis=1, dtype=np.int64)
        # |F_ref - F_cur| * n_ref * n_cur = |taken * size - n_ref * below|, exact in integers
        taken *= size
        taken -= n_ref * below
        np.abs(taken, out=taken)
        distances.append(taken @ gaps)
    norm = np.maximum(reference.std(axis=0), 0.001)
    return np.concatenate(distances) / (n_ref * n_cur) / norm


def permuted_jensenshannon(
    reference: pd.Series, current: pd.Series, count: int, rng: np.random.Generator
) -> np.ndarray:
    """Jensen-Shannon distance (natural log, as Evidently's) of `count` relabelings.

    Relabeling rows only moves counts between the sides: the reference side's category counts
    are a multivariate hypergeometric draw from the pooled counts.
    """
    pooled = pd.concat([reference, current]).value_counts().to_numpy()
    n_ref, n_cur = len(reference), len(current)
    ref = rng.multivariate_hypergeometric(pooled, n_ref, size=count)
    p, q = ref / n_ref, (pooled - ref) / n_cur
    from scipy.special import rel_entr

    middle = (p + q) / 2
    return np.sqrt((rel_entr(p, middle).sum(axis=1) + rel_entr(q, middle).sum(axis=1)) / 2)


def noise_floors(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    kinds: dict[str, str],
    methods: dict[str, str | None],
    seed: int,
    permutations: int = NOISE_PERMUTATIONS,
) -> dict[str, float]:
    """Per column, the distance two samples of these sizes reach by chance (mean + NOISE_K sd
    of the permutation null). Only for the distances it is calibrated for (FLOOR_METHODS).

    Columns with the same row counts share one set of relabelings (every column's null is
    still exact; their floors are estimated from the same draws).
    """
    rng = np.random.default_rng(seed)
    floors: dict[str, np.ndarray] = {}
    numeric: dict[tuple[int, int], list[str]] = {}
    for column, kind in kinds.items():
        if methods[kind] != FLOOR_METHODS[kind]:
            continue
        ref, cur = reference[column].dropna(), current[column].dropna()
        if len(ref) < 2 or len(cur) < 1:
            continue
        if kind == "categorical":
            floors[column] = permuted_jensenshannon(ref, cur, permutations, rng)
        else:
            numeric.setdefault((len(ref), len(cur)), []).append(column)
    for (n_ref, n_cur), columns in numeric.items():
        values = [
            np.column_stack([side[c].dropna().to_numpy(dtype=float) for c in columns])
            for side in (reference, current)
        ]
        labels = relabelings(n_ref, n_cur, permutations, rng)
        distances = permuted_wasserstein(values[0], values[1], labels)
        floors.update(zip(columns, distances.T, strict=True))
    return {
        column: float(null.mean() + NOISE_K * null.std(ddof=1)) for column, null in floors.items()
    }


def measure_drift(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    features: list[str],
    settings: MonitorParams,
    prediction: str | None = None,
    rows: tuple[int, int] | None = None,
) -> DriftResult:
    """Evidently's per-column drift on a bounded sample of each side; no file I/O.

    `rows`: the (reference, current) row counts before sampling, when the frames passed in
    are already samples (read_rows).
    """
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    columns = features + ([prediction] if prediction else [])
    ref = bounded_sample(reference[columns], settings.max_rows, settings.seed)
    cur = bounded_sample(current[columns], settings.max_rows, settings.seed + 1)
    kinds = _kinds(ref, columns)
    definition = DataDefinition(
        numerical_columns=[c for c in columns if kinds[c] == "numerical"],
        categorical_columns=[c for c in columns if kinds[c] == "categorical"],
    )
    methods = {"numerical": settings.method, "categorical": settings.cat_method}
    floors = noise_floors(ref, cur, kinds, methods, settings.seed)
    base = {"numerical": settings.threshold, "categorical": settings.cat_threshold}
    thresholds = {
        c: max(base[kinds[c]] or 0.1, floor)  # both thresholds default to 0.1 (config.py)
        for c, floor in floors.items()
    }
    preset = DataDriftPreset(
        columns=columns,
        num_method=settings.method,
        num_threshold=settings.threshold,
        cat_method=settings.cat_method,
        cat_threshold=settings.cat_threshold,
        per_column_threshold=thresholds,
    )
    snapshot = Report([preset], include_tests=True).run(
        Dataset.from_pandas(cur, data_definition=definition),
        Dataset.from_pandas(ref, data_definition=definition),
    )
    results = parse_drift(snapshot.dict(), kinds, floors)
    missing = [c for c in columns if c not in results]
    if missing:
        raise PipelineError(f"Evidently returned no drift result for: {', '.join(missing)}")
    sampling = {
        "method": SAMPLING_METHOD,
        "max_rows": settings.max_rows,
        "seed": settings.seed,
        "reference": {"rows": rows[0] if rows else len(reference), "used": len(ref)},
        "current": {"rows": rows[1] if rows else len(current), "used": len(cur)},
        "ecdf_error_bound": round(dkw_bound(min(len(ref), len(cur))), 4),
    }
    return DriftResult(
        columns=[results[c] for c in features],
        prediction=results[prediction] if prediction else None,
        sampling=sampling,
        snapshot=snapshot,
    )


def parse_drift(
    report: dict[str, Any], kinds: dict[str, str], floors: dict[str, float] | None = None
) -> dict[str, ColumnDrift]:
    """Per-column results from Evidently's snapshot: ValueDrift metrics and their tests."""
    status = {
        test["metric_config"]["metric_id"]: test["status"]
        for test in report.get("tests", [])
        if test.get("metric_config", {}).get("params", {}).get("type", "").endswith("ValueDrift")
    }
    results: dict[str, ColumnDrift] = {}
    for metric in report["metrics"]:
        config = metric["config"]
        if not config["type"].endswith(":ValueDrift"):
            continue
        score = float(metric["value"])
        floor = (floors or {}).get(config["column"])
        verdict = status.get(metric["id"])
        if verdict not in {"SUCCESS", "FAIL"} or math.isnan(score):
            raise PipelineError(
                f"Evidently could not measure drift of column {config['column']!r} "
                f"(test status {verdict}, score {score})"
            )
        results[config["column"]] = ColumnDrift(
            column=config["column"],
            kind=kinds.get(config["column"], "numerical"),
            method=config["method"],
            threshold=float(config["threshold"]),
            score=round(score, 6),
            drifted=verdict == "FAIL",
            noise_floor=None if floor is None else round(floor, 6),
        )
    return results


# ---------------------------------------------------------------------------- performance


def compare_performance(
    model: Any,
    labelled: pd.DataFrame,
    target: str,
    problem_type: ProblemType,
    reference_metrics: dict[str, float],
    primary_metric: str,
    max_drop: float,
) -> dict[str, Any]:
    """The evaluate stage's metrics on labelled current rows, against the reference quality."""
    from .stages.evaluate import evaluate_model

    try:
        current, _ = evaluate_model(model, labelled, target, problem_type)
    except ValueError as exc:
        return {"rows": len(labelled), "skipped": f"metrics cannot be computed: {exc}"}
    if primary_metric not in reference_metrics:
        raise PipelineError(f"reference metrics have no {primary_metric!r}")
    reference = float(reference_metrics[primary_metric])
    value = float(current[primary_metric])
    worse = reference - value if HIGHER_IS_BETTER[primary_metric] else value - reference
    relative = worse / abs(reference) if reference else (math.inf if worse > 0 else 0.0)
    return {
        "rows": len(labelled),
        "metric": primary_metric,
        "reference": round(reference, 6),
        "current": round(value, 6),
        "relative_drop": round(relative, 6),
        "max_drop": max_drop,
        "degraded": relative > max_drop,
        "metrics": {
            name: {"reference": reference_metrics.get(name), "current": current[name]}
            for name in current
        },
    }


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
) -> dict[str, Any]:
    """The verdict: alert when enough columns drift, the prediction drifts or quality drops."""
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
    if performance and performance.get("degraded"):
        reasons.append(
            f"{performance['metric']} fell from {performance['reference']:.4g} to "
            f"{performance['current']:.4g} ({performance['relative_drop']:.1%} worse, "
            f"limit {performance['max_drop']:.0%})"
        )
    return {
        "alert": bool(reasons),
        "reasons": reasons,
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


def markdown(summary: dict[str, Any]) -> str:
    """A short Markdown digest for job summaries and alert issues."""
    verdict = "ALERT" if summary["alert"] else "no alert"
    lines = [f"### Monitoring: {verdict}", ""]
    lines += [f"- {reason}" for reason in summary["reasons"]] or ["- no drift, quality holds"]
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
    performance = summary.get("performance")
    if performance and "metric" in performance:
        lines += [
            "",
            f"Quality on {performance['rows']} labelled rows: {performance['metric']} "
            f"{performance['current']:.4g} (reference {performance['reference']:.4g})",
        ]
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
    frame: pd.DataFrame, target: str, rows: int, shift_sd: float, seed: int, columns: int = 2
) -> tuple[pd.DataFrame, list[str]]:
    """A "production" batch: rows resampled from `frame`, the first `columns` numeric feature
    columns with more than 10 distinct values shifted by `shift_sd` of their standard deviation.
    """
    candidates = [
        c
        for c in feature_columns(frame, target)
        if pd.api.types.is_numeric_dtype(frame[c]) and frame[c].nunique() > 10
    ]
    shifted = candidates[:columns]
    if len(shifted) < columns:
        raise PipelineError(f"the data has fewer than {columns} continuous numeric columns")
    rng = np.random.default_rng(seed)
    batch = frame.iloc[rng.integers(0, len(frame), size=rows)].reset_index(drop=True)
    for column in shifted:
        batch[column] = batch[column] + shift_sd * float(frame[column].std())
    return batch, shifted


# ---------------------------------------------------------------------------------- main


def check(args: argparse.Namespace) -> int:
    for old in ("summary.json", "summary.md", "report.html"):  # a failed run leaves no verdict
        (args.out / old).unlink(missing_ok=True)
    params = load_params()
    settings = params.monitor
    target = params.data.target
    reference, reference_rows = read_rows([args.reference], settings.max_rows, settings.seed)
    features = feature_columns(reference, target)
    if args.run_info:
        run_info = json.loads(args.run_info.read_text(encoding="utf-8"))
        expected = run_info.get("data_md5", {}).get("train")
        if expected and file_md5(args.reference) != expected:
            raise PipelineError(
                f"{args.reference} is not the data the champion was trained on "
                f"(md5 differs from {args.run_info}): run 'dvc pull' first"
            )
    spec = args.current or settings.current
    current, paths, current_rows = read_current(spec, Path(), settings.max_rows, settings.seed + 1)
    current = conform(current, reference, features)

    import joblib

    model = joblib.load(args.model)
    reference = reference.assign(**{PREDICTION: model.predict(reference[features])})
    if params.problem_type == "classification":  # predicted classes are categories
        reference[PREDICTION] = class_labels(reference[PREDICTION])
    prediction_source = "log" if PREDICTION in current.columns else "model"
    if prediction_source == "model":
        current[PREDICTION] = model.predict(current[features])
    if params.problem_type == "classification":
        current[PREDICTION] = class_labels(current[PREDICTION])
    current = conform(current, reference, [PREDICTION])

    drift = measure_drift(
        reference, current, features, settings, PREDICTION, (reference_rows, current_rows)
    )

    performance = None
    if target in current.columns and current[target].notna().any():
        labelled = current.loc[current[target].notna(), [*features, target]]
        reference_metrics = json.loads(args.reference_metrics.read_text(encoding="utf-8"))
        performance = compare_performance(
            model,
            labelled,
            target,
            params.problem_type,
            reference_metrics,
            params.evaluate.primary_metric,
            settings.max_metric_drop,
        )

    summary = summarize(drift, performance, settings)
    summary["reference"] = {"path": str(args.reference), "md5": file_md5(args.reference)}
    summary["current"] = {
        "source": spec,
        "files": [str(p) for p in paths],
        "rows": current_rows,
        "prediction": prediction_source,
        "ignored_columns": [
            str(c) for c in current.columns if c not in {*features, target, PREDICTION}
        ],
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    (args.out / "summary.md").write_text(markdown(summary), encoding="utf-8")
    drift.snapshot.save_html(str(args.out / "report.html"))
    print(markdown(summary))
    print(f"monitor: report in {args.out / 'report.html'}, summary in {args.out / 'summary.json'}")
    return EXIT_ALERT if summary["alert"] else EXIT_OK


def demo(args: argparse.Namespace) -> int:
    params = load_params()
    frame = pd.concat([read_table(p) for p in args.data], ignore_index=True)
    batch, shifted = drifted_batch(
        frame, params.data.target, args.rows, args.shift, params.monitor.seed
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    batch.to_csv(args.out, index=False)
    print(f"demo-batch: {len(batch)} rows in {args.out}; shifted by {args.shift} sd: {shifted}")
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    checker = commands.add_parser("check", help="compare current data with the reference")
    checker.add_argument("--reference", type=Path, required=True)
    checker.add_argument("--reference-metrics", type=Path, required=True)
    checker.add_argument("--model", type=Path, required=True)
    checker.add_argument("--run-info", type=Path)
    checker.add_argument("--current", help="file, folder or glob (default: monitor.current)")
    checker.add_argument("--out", type=Path, required=True)
    checker.set_defaults(handler=check)
    maker = commands.add_parser("demo-batch", help="write a drifted batch for the demo")
    maker.add_argument("--data", type=Path, nargs="+", required=True)
    maker.add_argument("--out", type=Path, required=True)
    maker.add_argument("--rows", type=int, default=2000)
    maker.add_argument("--shift", type=float, default=1.0, help="in standard deviations")
    maker.set_defaults(handler=demo)
    args = parser.parse_args(argv)
    for name in ("reference", "reference_metrics", "model", "run_info"):
        path = getattr(args, name, None)
        if path is not None and not path.is_file():
            raise PipelineError(f"{path} not found: run 'make repro' (or 'dvc pull') first")
    status = args.handler(args)
    if status:
        raise SystemExit(status)


if __name__ == "__main__":
    run(main)
