"""The Feast feature store's costs: the pipeline with and without it, and online lookups.

Renders two default demo projects side by side, one with `feature_store=feast`, and times
`make repro` in each from scratch (the feast one runs the extra `features` stage: source
write, apply, materialize, two point-in-time joins, in one process). Then, in one process
with the store opened once (as a scoring server does per worker), it times:

* the online lookup of one entity (`feature_store.online_features`, sqlite online store);
* the served model (the wrapper `gitops-ml deploy` serves) predicting one row sent as its
  entity key vs the same row sent in full.

Goals: the features stage adds at most 45 s to `make repro` on 2 cores (most of it is
`import feast`, paid once per stage); the lookup's p95 stays under 25 ms; a key-only
prediction's p95 stays within 25 ms of a full-row one.

    python benchmarks/bench_feast.py [--requests 300]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = Path(sys.prefix)
STAGE_GOAL_S, LOOKUP_P95_GOAL_MS, EXTRA_P95_GOAL_MS = 45.0, 25.0, 25.0


def render(out: Path, feature_store: str) -> Path:
    from cookiecutter.main import cookiecutter

    return Path(
        cookiecutter(
            str(ROOT),
            no_input=True,
            output_dir=str(out),
            extra_context={
                "project_name": f"bench {feature_store}",
                "feature_store": feature_store,
            },
        )
    )


def timed_repro(project: Path) -> float:
    env = {**os.environ, "PATH": f"{VENV / 'bin'}{os.pathsep}{os.environ['PATH']}"}
    env.pop("MLFLOW_TRACKING_URI", None)
    start = time.perf_counter()
    subprocess.run(
        ["make", "repro", f"VENV={VENV}"], cwd=project, env=env, check=True, capture_output=True
    )
    return time.perf_counter() - start


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[int(0.95 * (len(ordered) - 1))]


def lookups(project: Path, requests: int) -> dict[str, tuple[float, float]]:
    import mlflow
    import pandas as pd

    from gitops_ml import feature_store as fs
    from gitops_ml.serve.logger import build_logging_model

    spec = fs.FeatureSpec.from_dict(
        json.loads((project / "reports" / "feature_store.json").read_text())["spec"]
    )
    store = fs.open_store(project / "feature_repo")
    test = pd.read_csv(project / "data" / "interim" / "test_features.csv")
    keys = test[list(spec.entity_keys)]
    times = {"lookup": [], "predict_keys": [], "predict_rows": []}
    for i in range(requests):
        row = keys.iloc[[i % len(keys)]]
        start = time.perf_counter()
        fs.online_features(store, spec, row)
        times["lookup"].append(time.perf_counter() - start)

    run_info = json.loads((project / "models" / "run.json").read_text())
    mlflow.set_tracking_uri(f"sqlite:///{project / 'mlflow.db'}")
    version = mlflow.register_model(run_info["model_uri"], "bench").version
    with tempfile.TemporaryDirectory() as scratch:
        path = build_logging_model(
            f"models:/bench/{version}", Path(scratch) / "m", str(version), None,
            mlflow.get_tracking_uri(), project / "feature_repo",
        )  # fmt: skip
        model = mlflow.pyfunc.load_model(str(path))
        full = test[list(spec.features)]
        for i in range(requests):
            for name, frame in (("predict_keys", keys), ("predict_rows", full)):
                row = frame.iloc[[i % len(frame)]]
                start = time.perf_counter()
                model.predict(row)
                times[name].append(time.perf_counter() - start)
    return {name: percentiles(samples) for name, samples in times.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        projects = {store: render(Path(tmp) / store, store) for store in ("none", "feast")}
        repro = {store: timed_repro(project) for store, project in projects.items()}
        latency = lookups(projects["feast"], args.requests)
    added = repro["feast"] - repro["none"]
    ms = {name: (p50 * 1000, p95 * 1000) for name, (p50, p95) in latency.items()}
    extra = ms["predict_keys"][1] - ms["predict_rows"][1]
    print("bench_feast: make repro from scratch (demo data, 569 rows)")
    print(f"  without a feature store   {repro['none']:6.1f} s")
    ratio = repro["feast"] / repro["none"]
    print(f"  with Feast                {repro['feast']:6.1f} s  (x{ratio:.2f}, +{added:.1f} s)")
    print(f"bench_feast: {args.requests} requests of one row, store opened once")
    for name, (p50, p95) in ms.items():
        print(f"  {name:<14} p50 {p50:7.2f} ms   p95 {p95:7.2f} ms")
    slower = ms["predict_keys"][1] / ms["predict_rows"][1]
    print(f"  key-only vs full-row prediction p95: x{slower:.2f}")
    failures = []
    if added > STAGE_GOAL_S:
        failures.append(f"the features stage adds {added:.1f} s > {STAGE_GOAL_S:.0f} s")
    if ms["lookup"][1] > LOOKUP_P95_GOAL_MS:
        failures.append(f"lookup p95 {ms['lookup'][1]:.1f} ms > {LOOKUP_P95_GOAL_MS:.0f} ms")
    if extra > EXTRA_P95_GOAL_MS:
        failures.append(f"key-only prediction p95 +{extra:.1f} ms > {EXTRA_P95_GOAL_MS:.0f} ms")
    for failure in failures:
        print(f"FAIL bench_feast: {failure}")
    if not failures:
        print("PASS bench_feast: every goal met")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
