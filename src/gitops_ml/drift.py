"""Drift statistics: per-column distances between reference and current data, with noise floors.

Evidently 0.7 measures each column's drift (Wasserstein distance normed by the reference's
standard deviation for numbers, Jensen-Shannon distance for categories) and the drifted share.
Small samples drift by chance: each column's threshold is raised to its noise floor, the
distance's mean plus ``NOISE_K`` standard deviations over random relabelings of the pooled
rows (a permutation test, Good 2005, *Permutation, Parametric and Bootstrap Tests of
Hypotheses*). Large inputs are sampled (``bounded_sample``); the Dvoretzky-Kiefer-Wolfowitz
bound says how far a sample's distribution can be from the whole (``dkw_bound``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .errors import PipelineError
from .params import MonitorParams

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
    """Evidently's drift verdict on one column (or the prediction).

    Attributes:
        column: the column's name.
        kind: ``"numerical"`` or ``"categorical"``.
        method: Evidently's drift method, e.g. ``"wasserstein"`` (the first Wasserstein
            distance, ``scipy.stats.wasserstein_distance``, divided by the reference's
            standard deviation) or ``"jensenshannon"`` (``scipy.spatial.distance.jensenshannon``,
            natural log).
        threshold: the distance at or above which the column drifts: the configured one, or
            the noise floor when that is higher.
        score: the measured distance, rounded to 6 digits (unitless).
        drifted: Evidently's test failed (score >= threshold).
        noise_floor: the distance these sample sizes reach by chance (:func:`noise_floors`);
            None for methods it is not calibrated for.
    """

    column: str
    kind: str  # "numerical" | "categorical"
    method: str
    threshold: float
    score: float
    drifted: bool
    noise_floor: float | None = None


@dataclass
class DriftResult:
    """The drift of one comparison (:func:`measure_drift`).

    Attributes:
        columns: one verdict per compared input column, in the order asked.
        prediction: the prediction column's verdict, or None when it was not compared.
        sampling: how many rows each side had and used, the method and seed, and the DKW
            bound on the sampled ECDFs' error (see :func:`bounded_sample`).
        snapshot: Evidently's report snapshot (``save_html`` writes the HTML report).
    """

    columns: list[ColumnDrift]
    prediction: ColumnDrift | None
    sampling: dict[str, Any]
    snapshot: Any = field(repr=False)

    @property
    def drifted_columns(self) -> list[str]:
        """The names of the input columns that drifted, in column order."""
        return [c.column for c in self.columns if c.drifted]

    @property
    def drift_share(self) -> float:
        """Drifted input columns / compared input columns, 0..1 (0.0 when none compared)."""
        return len(self.drifted_columns) / len(self.columns) if self.columns else 0.0


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
    """The Dvoretzky-Kiefer-Wolfowitz bound sqrt(ln(2/alpha) / 2n) for n = ``rows``.

    With probability 1 - ``alpha``, an empirical CDF of ``rows`` sampled rows lies within
    this distance (0..1) of the full data's everywhere (Massart's tight constant).
    """
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
    """Per column, the drift distance two samples of these sizes reach by chance.

    The floor is the mean plus ``NOISE_K`` (7) sample standard deviations of the
    permutation null: the distance over ``permutations`` (100) random relabelings of the
    pooled rows of both sides into two sides of the original sizes (a permutation test's
    null distribution; NOISE_K calibrated by simulation, docs/monitoring.md). Numeric
    columns use :func:`permuted_wasserstein` (normed Wasserstein, as Evidently's
    ``wasserstein``), categorical ones :func:`permuted_jensenshannon`. Only for the
    distances it is calibrated for (``FLOOR_METHODS``); columns with fewer than 2 reference
    or 1 current values are skipped. Missing values are dropped first.

    Columns with the same row counts share one set of relabelings (every column's null is
    still exact; their floors are estimated from the same draws).

    Args:
        reference: the reference sample, rows x columns (numbers as float, others text).
        current: the current sample, same columns.
        kinds: column -> ``"numerical"`` or ``"categorical"``.
        methods: kind -> the configured drift method (``monitor.method``/``cat_method``).
        seed: seeds ``numpy.random.default_rng``.
        permutations: relabelings drawn per column.

    Returns:
        Column -> floor, in the method's unit (normed Wasserstein or JS distance).
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

    Each side is cut to ``monitor.max_rows`` rows (:func:`bounded_sample`, seeds
    ``seed`` and ``seed + 1``). Evidently 0.7's ``DataDriftPreset`` then measures every
    column with ``monitor.method`` (numbers; default ``wasserstein``: scipy's first
    Wasserstein distance divided by the reference's standard deviation, Evidently's normed
    Wasserstein) or ``monitor.cat_method`` (text; default ``jensenshannon``: scipy's
    Jensen-Shannon distance, natural log), drifting at or above the threshold. A column's
    threshold is raised to its noise floor (:func:`noise_floors`) when that is higher.
    Evidently is imported here only.

    Args:
        reference: reference rows x at least ``features`` (and ``prediction``), typed by
            :func:`comparable`.
        current: current rows, same columns.
        features: the input columns to compare.
        settings: params.yaml ``monitor:``.
        prediction: the prediction column, compared too when given.
        rows: the (reference, current) row counts before sampling, when the frames passed
            in are already samples (read_rows).

    Raises:
        PipelineError: Evidently returned no result, or an undefined one, for a column.
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
