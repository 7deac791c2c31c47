"""Monitoring at scale: gitops_ml.monitor vs a plain Evidently run on the full data.

1M rows x 30 numeric columns per side; the current side has a mean shift of 0.2 to 1.0
standard deviations in 5 known columns. Both contenders run in their own subprocess (so
peak RSS is theirs alone), read the same Parquet files and report time, peak memory and the
columns they flag. Goal (issue 5): the monitor under 20 s and 1.5 GB, with the verdicts of
the full-data run on every seed: the shifted columns flagged, no other column.

    python benchmarks/bench_monitor.py [--rows 1000000] [--seeds 3] [--plain-seeds 3]

The plain run takes ~100 s and ~2.5 GB per seed on 2 cores; --plain-seeds 0 skips it.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

COLUMNS = 30
SHIFTS = {"x0": 0.2, "x1": -0.25, "x2": 0.5, "x3": 1.0, "x4": -0.2}  # in standard deviations
GOAL_SECONDS, GOAL_MB = 20.0, 1536.0


def make_data(rows: int, seed: int, folder: Path) -> tuple[Path, Path]:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    paths = []
    for side in ("reference", "current"):
        frame = pd.DataFrame(
            {
                f"x{i}": rng.normal(size=rows) if i % 3 else rng.gamma(2.0, size=rows) * 2**-0.5
                for i in range(COLUMNS)
            }
        )
        if side == "current":
            for column, shift in SHIFTS.items():
                frame[column] += shift  # every column has a standard deviation of 1
        path = folder / f"{side}-{seed}.parquet"
        frame.to_parquet(path)
        paths.append(path)
        del frame
    return paths[0], paths[1]


def child(mode: str, reference: Path, current: Path, html: Path) -> dict:
    """One contender, timed from reading the files to writing the HTML report."""
    import pandas as pd

    start = time.perf_counter()
    if mode == "sampled":  # what `gitops-ml monitor check` does: sampled read, then Evidently
        from gitops_ml import drift, monitor
        from gitops_ml.params import MonitorParams

        settings = MonitorParams()  # the monitor: settings a generated params.yaml ships
        ref, ref_rows = monitor.read_rows([reference], settings.max_rows, settings.seed)
        cur, cur_rows = monitor.read_rows([current], settings.max_rows, settings.seed + 1)
        columns = list(ref.columns)
        result = drift.measure_drift(ref, cur, columns, settings, rows=(ref_rows, cur_rows))
        drifted, snapshot, used = result.drifted_columns, result.snapshot, result.sampling
    else:
        ref, cur = pd.read_parquet(reference), pd.read_parquet(current)
        columns = list(ref.columns)
        from evidently import DataDefinition, Dataset, Report
        from evidently.presets import DataDriftPreset

        definition = DataDefinition(numerical_columns=columns)
        snapshot = Report([DataDriftPreset()], include_tests=True).run(
            Dataset.from_pandas(cur, data_definition=definition),
            Dataset.from_pandas(ref, data_definition=definition),
        )
        report = snapshot.dict()
        failed = {t["metric_config"]["metric_id"] for t in report["tests"] if t["status"] == "FAIL"}
        drifted = [
            m["config"]["column"]
            for m in report["metrics"]
            if m["config"]["type"].endswith(":ValueDrift") and m["id"] in failed
        ]
        used = {"reference": len(ref), "current": len(cur)}
    snapshot.save_html(str(html))
    seconds = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    return {"seconds": seconds, "peak_mb": peak_mb, "drifted": sorted(drifted), "used": used}


def contender(mode: str, reference: Path, current: Path, work: Path) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--child", mode, str(reference), str(current),
         str(work / f"{mode}.html")],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if out.returncode != 0:
        raise SystemExit(f"{mode} run failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--plain-seeds", type=int, default=3, help="full-data runs (0 skips)")
    parser.add_argument("--child", nargs=4, metavar=("MODE", "REF", "CUR", "HTML"))
    args = parser.parse_args()
    if args.child:
        mode, reference, current, html = args.child
        print(json.dumps(child(mode, Path(reference), Path(current), Path(html))))
        return

    truth = sorted(SHIFTS)
    print(f"bench_monitor: {args.rows:,} rows x {COLUMNS} columns per side, shifted {SHIFTS}")
    rows_out = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for seed in range(args.seeds):
            reference, current = make_data(args.rows, seed, work)
            sampled = contender("sampled", reference, current, work)
            plain = None
            if seed < args.plain_seeds:
                plain = contender("plain", reference, current, work)
            rows_out.append((seed, sampled, plain))
            line = (
                f"seed {seed}: monitor {sampled['seconds']:.1f} s {sampled['peak_mb']:.0f} MB "
                f"(compared {sampled['used']['reference']['used']:,}+"
                f"{sampled['used']['current']['used']:,} rows) flags {sampled['drifted']}"
            )
            if plain:
                line += (
                    f" | plain Evidently {plain['seconds']:.1f} s {plain['peak_mb']:.0f} MB "
                    f"flags {plain['drifted']} | ratio: time "
                    f"{plain['seconds'] / sampled['seconds']:.1f}x, "
                    f"memory {plain['peak_mb'] / sampled['peak_mb']:.1f}x"
                )
            print(line, flush=True)
            reference.unlink()
            current.unlink()

    worst_s = max(s["seconds"] for _, s, _ in rows_out)
    worst_mb = max(s["peak_mb"] for _, s, _ in rows_out)
    correct = all(s["drifted"] == truth for _, s, _ in rows_out)
    compared = [(s, p) for _, s, p in rows_out if p]
    agree = all(s["drifted"] == p["drifted"] for s, p in compared)
    print(
        f"monitor worst case: {worst_s:.1f} s (goal < {GOAL_SECONDS:.0f}), "
        f"{worst_mb:.0f} MB (goal < {GOAL_MB:.0f}); flags exactly {truth} on every seed: {correct}"
    )
    if compared:
        ratio_s = sum(p["seconds"] for _, p in compared) / sum(s["seconds"] for s, _ in compared)
        ratio_mb = sum(p["peak_mb"] for _, p in compared) / sum(s["peak_mb"] for s, _ in compared)
        print(
            f"vs plain Evidently on the full data ({len(compared)} seeds): {ratio_s:.1f}x faster, "
            f"{ratio_mb:.1f}x less peak memory; same verdicts on every column: {agree}"
        )
    ok = worst_s < GOAL_SECONDS and worst_mb < GOAL_MB and correct and agree
    print("bench_monitor: PASS" if ok else "bench_monitor: FAIL")
    if not ok:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
