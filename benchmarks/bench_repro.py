"""`make repro` of a generated project: the first run, a run with nothing to do, a train change.

A default project (demo data) is rendered and run on this repository's environment
(VENV=<this interpreter's prefix>, as the tests do), timed side by side in one run:

- **cold**: the first `make repro` (every stage runs);
- **no-op**: `make repro` and `dvc repro` again with nothing changed (median of --runs), beside
  `dvc --version` (DVC's start-up alone) as the floor a no-op cannot go under;
- **train change**: `train.logistic_regression.C` edited in params.yaml, then `dvc repro`;
  DVC's own output says which stages ran.

Goal (issue 13): a no-op `make repro` in at most 1.5 s; a `train.*` change reruns train and
evaluate only.

    python benchmarks/bench_repro.py [--runs 5]
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.conftest import SHARED_VENV, project_env, render_project  # noqa: E402

GOAL_NOOP_SECONDS = 1.5
EXPECTED_AFTER_TRAIN_CHANGE = ["train", "evaluate"]
RAN = re.compile(r"^Running stage '([^']+)'", re.MULTILINE)


def timed(command: list[str], project: Path) -> tuple[float, str]:
    # PYTHONPATH: what the Makefile exports, so a bare `dvc repro` finds the project's stages.
    env = project_env(PYTHONPATH=str(project / "src"))
    start = time.perf_counter()
    done = subprocess.run(command, cwd=project, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        tail = f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        raise SystemExit(f"{' '.join(command)} failed ({done.returncode}):\n{tail}")
    return seconds, done.stdout + done.stderr


def median(command: list[str], project: Path, runs: int) -> tuple[float, str]:
    measured = [timed(command, project) for _ in range(runs)]
    return statistics.median(s for s, _ in measured), measured[-1][1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="timed no-op runs (median)")
    args = parser.parse_args()
    make = ["make", f"VENV={SHARED_VENV}"]
    print(f"bench_repro: default project, environment {SHARED_VENV}")
    with tempfile.TemporaryDirectory(prefix="bench-repro-") as tmp:
        project = render_project(Path(tmp))
        cold, out = timed([*make, "repro"], project)
        print(f"  make repro, cold            {cold:6.1f} s  ran: {', '.join(RAN.findall(out))}")
        floor, _ = median(["dvc", "--version"], project, args.runs)
        noop_make, out = median([*make, "repro"], project, args.runs)
        noop_dvc, _ = median(["dvc", "repro"], project, args.runs)
        noop_ran = RAN.findall(out)
        print(f"  dvc --version (floor)       {floor:6.2f} s")
        for label, seconds in (("make repro, no-op", noop_make), ("dvc repro, no-op", noop_dvc)):
            print(f"  {label:<27} {seconds:6.2f} s  {seconds / floor:.1f}x the floor")

        params = project / "params.yaml"
        text = params.read_text(encoding="utf-8")
        assert "    C: 1.0\n" in text, "params.yaml has no train.logistic_regression.C: 1.0"
        params.write_text(text.replace("    C: 1.0\n", "    C: 0.5\n"), encoding="utf-8")
        changed, out = timed(["dvc", "repro"], project)
        ran = RAN.findall(out)
        print(f"  dvc repro after train.*     {changed:6.1f} s  ran: {', '.join(ran)}")
        print(f"ratio: cold / no-op make repro = {cold / noop_make:.0f}x")

    checks = [
        (f"no-op make repro {noop_make:.2f} s (goal <= {GOAL_NOOP_SECONDS} s)",
         noop_make <= GOAL_NOOP_SECONDS),
        (f"no-op reran {noop_ran or 'no stage'}", not noop_ran),
        (f"a train.* change reran {ran} (goal: {EXPECTED_AFTER_TRAIN_CHANGE})",
         ran == EXPECTED_AFTER_TRAIN_CHANGE),
    ]  # fmt: skip
    for line, ok in checks:
        print(f"{'PASS' if ok else 'FAIL'}: {line}")
    ok = all(passed for _, passed in checks)
    print("bench_repro: PASS" if ok else "bench_repro: FAIL")
    if not ok:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
