"""Start-up cost of the `gitops-ml` command: a command imports only what it uses.

Measured side by side in one run, each in a fresh subprocess of this interpreter, median of
--runs runs after one warm-up run (bytecode compiled): `python -c pass` (the baseline: the
interpreter alone), `gitops-ml --help`, `gitops-ml --version`, and `import gitops_ml.<module>`
for every module a sub-command runs. For each, the heavy packages it leaves in `sys.modules`
and (one extra run under `python -X importtime`) the top-level packages that cost the most.

Goals (issue: "`gitops-ml promote` must not import Evidently or Great Expectations;
`gitops-ml --help` well under a second"): `--help` under 0.5 s and without pandas or numpy;
`import gitops_ml.promote` without evidently or great_expectations.

    python benchmarks/bench_cli_startup.py [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

# The command modules (gitops_ml.cli.COMMANDS), in the order `gitops-ml --help` lists them.
MODULES = ("suite", "tune", "promote", "champion_store", "serve.local", "serve.kserve", "monitor")
HEAVY = ("evidently", "great_expectations", "mlflow", "sklearn", "matplotlib", "pandas", "numpy")
GOAL_HELP_SECONDS = 0.5
HELP_MUST_NOT_IMPORT = ("pandas", "numpy")
PROMOTE_MUST_NOT_IMPORT = ("evidently", "great_expectations")
REPORT = f"import json, sys; print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"


def command_line() -> list[str]:
    """The `gitops-ml` console script of this interpreter's environment."""
    beside = Path(sys.executable).parent / "gitops-ml"
    found = str(beside) if beside.exists() else shutil.which("gitops-ml")
    return [found] if found else [sys.executable, "-m", "gitops_ml"]


def wall_time(argv: list[str], runs: int) -> float:
    """Median wall-clock seconds of `argv` over `runs` runs, after one warm-up run."""
    times = []
    for attempt in range(runs + 1):
        start = time.perf_counter()
        done = subprocess.run(argv, capture_output=True, text=True, check=False)
        elapsed = time.perf_counter() - start
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(argv)} failed ({done.returncode}):\n{done.stderr[-2000:]}")
        if attempt:
            times.append(elapsed)
    return statistics.median(times)


def loaded(code: str) -> list[str]:
    """The HEAVY packages in sys.modules after running `code` in a fresh interpreter."""
    done = subprocess.run(
        [sys.executable, "-c", f"{code}\n{REPORT}"], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"{code!r} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def costliest(module: str, top: int = 3) -> list[tuple[str, float]]:
    """The packages whose import costs most under `-X importtime`: cumulative ms, top first.

    A package's cumulative time includes what it imports itself (pandas includes numpy),
    so the figures overlap; gitops_ml's own modules are left out.
    """
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import gitops_ml.{module}"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    totals: dict[str, float] = {}
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or line.count("|") != 2:
            continue
        _, cumulative, name = line.split("|")
        name = name.strip()
        if cumulative.strip().isdigit() and "." not in name and name != "gitops_ml":
            totals[name] = max(totals.get(name, 0.0), int(cumulative) / 1000)
    return sorted(totals.items(), key=lambda kv: -kv[1])[:top]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="timed runs per command (median)")
    args = parser.parse_args()
    cli = command_line()
    print(f"bench_cli_startup: median of {args.runs} runs each, {sys.executable}")

    baseline = wall_time([sys.executable, "-c", "pass"], args.runs)
    print(f"  {'python -c pass (baseline)':<38} {baseline:6.3f} s   1.0x")
    rows: dict[str, tuple[float, list[str]]] = {}
    help_code = (
        "from gitops_ml import cli\ntry:\n    cli.main(['--help'])\nexcept SystemExit:\n    pass"
    )
    for label, argv, code in (
        ("gitops-ml --help", [*cli, "--help"], help_code),
        ("gitops-ml --version", [*cli, "--version"], help_code.replace("--help", "--version")),
    ):
        seconds = wall_time(argv, args.runs)
        rows[label] = (seconds, loaded(code))
        print(
            f"  {label:<38} {seconds:6.3f} s {seconds / baseline:5.1f}x  "
            f"heavy: {', '.join(rows[label][1]) or 'none'}"
        )
    for module in MODULES:
        label = f"import gitops_ml.{module}"
        seconds = wall_time([sys.executable, "-c", f"import gitops_ml.{module}"], args.runs)
        rows[label] = (seconds, loaded(f"import gitops_ml.{module}"))
        costs = ", ".join(f"{name} {ms:.0f} ms" for name, ms in costliest(module))
        print(
            f"  {label:<38} {seconds:6.3f} s {seconds / baseline:5.1f}x  "
            f"heavy: {', '.join(rows[label][1]) or 'none'}; costliest imports: {costs}"
        )

    help_seconds, help_heavy = rows["gitops-ml --help"]
    help_extra = [m for m in HELP_MUST_NOT_IMPORT if m in help_heavy]
    promote_extra = [m for m in PROMOTE_MUST_NOT_IMPORT if m in rows["import gitops_ml.promote"][1]]
    checks = [
        (
            f"gitops-ml --help {help_seconds:.3f} s (goal < {GOAL_HELP_SECONDS} s), "
            f"{help_seconds / baseline:.1f}x the bare interpreter",
            help_seconds < GOAL_HELP_SECONDS,
        ),
        (
            f"gitops-ml --help imports {', '.join(help_extra) or 'neither pandas nor numpy'}",
            not help_extra,
        ),
        (
            f"import gitops_ml.promote imports "
            f"{', '.join(promote_extra) or 'neither evidently nor great_expectations'}",
            not promote_extra,
        ),
    ]
    for line, ok in checks:
        print(f"{'PASS' if ok else 'FAIL'}: {line}")
    ok = all(passed for _, passed in checks)
    print("bench_cli_startup: PASS" if ok else "bench_cli_startup: FAIL")
    if not ok:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
