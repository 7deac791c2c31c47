"""Monitoring: compare current (production) data with the champion's training data.

Evidently 0.7 measures data drift per column and the drifted share, prediction drift and,
when the current data carries labels, model quality against the reference quality. Column
types come from the schema ingest wrote (data/interim/schema.json): only the model's inputs
are compared, booleans as booleans, dates not at all (a later batch holds later dates by
design); categorical values the model never saw are counted per column.

    gitops-ml monitor check [--current FILE|FOLDER|GLOB] ...
    gitops-ml monitor demo-batch --out FILE ...

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

from . import schema as schemas
from .errors import PipelineError, run
from .params import HIGHER_IS_BETTER, MonitorParams, ProblemType, load_params
from .tables import file_md5, read_text_csv
from .metrics import METRICS
from .prediction_log import CLIENT, LOG_METADATA, PREDICTION, PROBE, TRAFFIC_PARAM

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_ALERT = 3
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
# Unseen values: a column's limit is raised above monitor.max_unseen_share when its training
# data has a long tail (Good-Turing: the share of training rows whose value occurs once
# estimates how often a same-distribution batch meets a value training never held), to that
# estimate plus UNSEEN_K standard deviations of the batch's share.
UNSEEN_K = 4.0
UNSEEN_SHOWN = 10  # unseen values named per column (the most frequent)


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
        return len(self.drifted_columns) / len(self.columns) if self.columns else 0.0


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
    """Current data typed as the schema says (the model's inputs, the target and `keep`), or
    a PipelineError naming the problem: missing input columns, or values that do not fit a
    column's type (text in a numeric column, 'maybe' in a boolean one)."""
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
    """The columns as the drift measures see them: numbers as float, every other type as
    text categories. Booleans become "True"/"False" on both sides whatever was written
    (True, "yes", 1), so their shares are compared value for value."""

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
    """Which schema columns are drift-compared, which are not and why, and which model
    inputs have no value at all in the current batch (reported, not compared)."""
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
    """Drift of the compared inputs (and `prediction`) and the unseen values of categorical
    inputs, on frames conform() typed. `seen`: each categorical input's reference value
    counts (default: counted from `reference`)."""
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
    """Per categorical column, the count of each value in the whole reference file (not a
    sample: a rare value the model saw is not "unseen")."""
    if not columns:
        return {}
    frame = pd.read_csv(path, usecols=columns, dtype=str, keep_default_na=False, na_values=[""])
    return {c: frame[c].dropna().value_counts() for c in columns}


def unseen_values(
    seen: dict[str, pd.Series], current: pd.DataFrame, settings: MonitorParams
) -> dict[str, dict[str, Any]]:
    """Per categorical input, the current rows holding a value absent from the reference:
    count, share of all current rows, the most frequent such values, the limit and whether
    the share exceeds it. The one-hot encoder maps such a value to "none of the known", so
    those rows are scored without that input."""
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
    # Evidently also correlates the numeric columns for its report: a column constant on one
    # side divides 0 by 0 there (NaN correlation, shown as such) and numpy would warn.
    with np.errstate(invalid="ignore", divide="ignore"):
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
    """The verdict: alert when enough columns drift, the prediction drifts, a model input has
    no value at all, too many rows hold values the model never saw, or quality drops."""
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
    return json.dumps(strict_json(summary), indent=2, allow_nan=False, ensure_ascii=False) + "\n"


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
    """A "production" batch: rows resampled from `frame`, the first `columns` of the
    `numeric` input columns with more than 10 distinct values shifted by `shift_sd` of their
    standard deviation."""
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
    return EXIT_ALERT if summary["alert"] else EXIT_OK


def demo(args: argparse.Namespace) -> int:
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
