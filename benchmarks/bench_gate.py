"""The promotion gate on 100k test rows: gitops_ml.gate.paired_bootstrap, timed.

Two real models per problem type are trained on synthetic data (scikit-learn's
make_classification / make_regression, 100k training rows) and score the same 100k test
rows: the candidate on every feature, the champion on half of them, so their metrics differ
by about what a real change moves. The gate then runs as `gitops-ml promote` runs it, with
the generated params.yaml's defaults: roc_auc (classification, stratified) or r2
(regression), 1000 resamples, 95 % interval. Imports, data and training are not timed.

Beside the roc_auc gate, a reference computation of the same interval from the same
resamples (the rows each resample draws as counts per row, the AUC from one sort of each
model's scores) shows what its arithmetic costs; `--profile` prints where the gate's own time
goes (cProfile of a tenth of the resamples, top functions by own time).

Goal (issue 13): the gate in at most 5 s on 100k rows.

    python benchmarks/bench_gate.py [--rows 100000] [--resamples 1000] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import textwrap
import time

import numpy as np

GOAL_SECONDS = 5.0
SEED = 42  # promote.seed in the generated params.yaml
METRIC = {"classification": "roc_auc", "regression": "r2"}  # promote.metric, per problem type


def models(kind: str, rows: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Test labels, and the candidate's and the champion's outputs on those rows."""
    from sklearn.base import clone
    from sklearn.datasets import make_classification, make_regression
    from sklearn.linear_model import LogisticRegression, Ridge

    shape = {"n_samples": 2 * rows, "n_features": 20, "n_informative": 8, "random_state": 0}
    if kind == "classification":
        x, y = make_classification(flip_y=0.05, **shape)
        model, output = LogisticRegression(max_iter=1000), "predict_proba"
    else:
        x, y = make_regression(noise=30.0, **shape)
        model, output = Ridge(), "predict"
    outputs = []
    for columns in (20, 10):  # the candidate sees every feature, the champion half of them
        fitted = clone(model).fit(x[:rows, :columns], y[:rows])
        outputs.append(getattr(fitted, output)(x[rows:, :columns]))
    return y[rows:], outputs[0], outputs[1]


def gate(kind: str, actual: np.ndarray, cand: np.ndarray, champ: np.ndarray, resamples: int):
    """The library's gate, called as `gitops-ml promote` calls it."""
    from gitops_ml import metrics
    from gitops_ml.gate import paired_bootstrap

    classification = kind == "classification"
    score = metrics.scorer(METRIC[kind], [0, 1] if classification else [])
    return paired_bootstrap(
        actual, cand, champ, score, higher_is_better=True, resamples=resamples,
        confidence=0.95, seed=SEED, stratify=classification,
    )  # fmt: skip


def weighted_auc(ties: np.ndarray, groups: int, positive: np.ndarray, weights: np.ndarray):
    """AUC with each row counted `weights` times; `ties` numbers the distinct scores in order."""
    w_pos = np.bincount(ties, weights=weights * positive, minlength=groups)
    w_neg = np.bincount(ties, weights=weights * ~positive, minlength=groups)
    below = np.cumsum(w_neg) - w_neg  # negatives scored lower; a tie counts half
    return float(np.sum(w_pos * (below + 0.5 * w_neg)) / (w_pos.sum() * w_neg.sum()))


def reference_auc(actual: np.ndarray, cand: np.ndarray, champ: np.ndarray, resamples: int):
    """The roc_auc gate's interval from the same resamples (the same draws of the same
    generator), each as counts per row: one sort per model, then O(rows) per resample.
    A measure of what the arithmetic costs, not the library's code."""
    import pandas as pd

    from gitops_ml.gate import resample

    rng = np.random.default_rng(SEED)
    strata = [np.flatnonzero(actual == label) for label in pd.unique(actual)]
    positive = actual == 1
    ranked = [np.unique(out[:, 1], return_inverse=True) for out in (cand, champ)]
    differences = []
    for _ in range(resamples):
        weights = np.bincount(resample(rng, strata), minlength=len(actual)).astype(float)
        cand_auc, champ_auc = (weighted_auc(t, len(d), positive, weights) for d, t in ranked)
        differences.append(cand_auc - champ_auc)
    return np.percentile(differences, [2.5, 97.5])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000, help="test rows (and training rows)")
    parser.add_argument("--resamples", type=int, default=1000)
    parser.add_argument("--profile", action="store_true", help="cProfile the gate, top functions")
    args = parser.parse_args()
    print(f"bench_gate: {args.rows:,} test rows, {args.resamples} resamples, 95 % interval")
    import gitops_ml.gate  # noqa: F401  (imports are not timed)

    checks = []
    for kind in ("classification", "regression"):
        actual, cand, champ = models(kind, args.rows)
        start = time.perf_counter()
        comparison = gate(kind, actual, cand, champ, args.resamples)
        seconds = time.perf_counter() - start
        metric = METRIC[kind]
        line = (
            f"  {kind:<15} {metric:<8} gate {seconds:6.2f} s  interval "
            f"[{comparison.low:+.6f}, {comparison.high:+.6f}] ({comparison.scored} scored)"
        )
        if kind == "classification":
            start = time.perf_counter()
            low, high = reference_auc(actual, cand, champ, args.resamples)
            ref_seconds = time.perf_counter() - start
            same = bool(np.allclose([low, high], [comparison.low, comparison.high], atol=2e-6))
            line += (
                f" | counts-per-row reference {ref_seconds:.2f} s "
                f"({seconds / ref_seconds:.0f}x less), same interval: {same}"
            )
        print(line, flush=True)
        if args.profile:
            profiler = cProfile.Profile()
            profiler.enable()
            gate(kind, actual, cand, champ, max(args.resamples // 10, 100))
            profiler.disable()
            stats = io.StringIO()
            pstats.Stats(profiler, stream=stats).sort_stats("tottime").print_stats(12)
            print(textwrap.indent(stats.getvalue().strip(), "    "))
        checks.append(
            (f"{kind} gate ({metric}) {seconds:.2f} s (goal <= {GOAL_SECONDS:.0f} s)",
             seconds <= GOAL_SECONDS)
        )  # fmt: skip
    for line, ok in checks:
        print(f"{'PASS' if ok else 'FAIL'}: {line}")
    ok = all(passed for _, passed in checks)
    print("bench_gate: PASS" if ok else "bench_gate: FAIL")
    if not ok:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
