"""The pull-request workflow through act vs the same steps run directly with make.

As tests/test_pr_workflow.py prepares it: a default project (demo data) whose `main` has run
its pipeline lives in a bare `origin`, with its data in a local DVC remote; a pull request
lowers `train.logistic_regression.C`. Each job of the generated pr.yml (`test`: lint and
tests; `model`: set up, validate, train, report) runs, in turn:

- **act**: the act harness's run_act (harness/) (nektos/act on the host, this checkout's actions,
  stand-ins for the others, a recording `cml`), timed from start to exit;
- **direct**: the same steps by hand in a copy of the same checkout, with the same PATH and
  environment (uv from its cache, gitops-ml from the same snapshot of this checkout):
  `make env`, then `make lint` and `make test`; or `make env`, `dvc pull`, `dvc repro validate`
  (validate-data), `dvc pull --run-cache`, `make repro`, `dvc push --run-cache` (train), and
  the report action's report.py with the same arguments.

The DVC remote is restored before every run, so no run finds another's run-cache; which side
runs first alternates per round. Each line gives both sides' steps: act's from the time
stamps of its JSON log, with act's own time before the first step and after the last.

Goal (issue 13): act's overhead at most 30 % of the direct run.

    python benchmarks/bench_act.py [--rounds 2] [--jobs test model]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harness import (  # noqa: E402
    QUIET_ENV,
    host_path,
    pull_request_event,
    run_act,
    snapshot_actions,
)
from tests.conftest import SHARED_VENV, project_env, render_project  # noqa: E402

GOAL_OVERHEAD = 0.30
IDENTITY = ["-c", "user.name=PR Author", "-c", "user.email=author@example.com"]
BRANCH, NUMBER = "tune-c", 7


def run(command: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        command, cwd=cwd, env=env or project_env(), capture_output=True, text=True
    )
    if done.returncode != 0:
        tail = f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        raise SystemExit(f"{' '.join(command)} failed ({done.returncode}) in {cwd}:\n{tail}")
    return done.stdout


def pull_request(work: Path) -> tuple[Path, Path]:
    """The pull request's checkout, and the DVC remote `main` pushed to."""
    project = render_project(work / "render")
    run(["make", "repro", f"VENV={SHARED_VENV}"], project)
    storage = work / "dvc-storage"
    run(["dvc", "remote", "modify", "storage", "url", str(storage)], project)
    run(["git", "add", "-A"], project)
    run(["git", *IDENTITY, "commit", "-q", "-m", "Run the pipeline"], project)
    run(["dvc", "push", "-q"], project)
    run(["git", "clone", "-q", "--bare", str(project), str(work / "origin.git")], work)
    repo = work / "repo"
    run(["git", "clone", "-q", str(work / "origin.git"), str(repo)], work)
    run(["git", "checkout", "-q", "-b", BRANCH], repo)
    params = repo / "params.yaml"
    params.write_text(params.read_text().replace("    C: 1.0\n", "    C: 0.05\n"))
    run(["git", "add", "-A"], repo)
    run(["git", *IDENTITY, "commit", "-q", "-m", f"PR: {BRANCH}"], repo)
    return repo, storage


def direct_steps(job: str, template: Path, out: Path) -> list[list[str]]:
    """The job's steps as commands (pr.yml and the actions it uses, inputs at their defaults)."""
    make_env = ["make", "env", f"GITOPS_ML={template}"]
    if job == "test":
        return [make_env, ["make", "lint"], ["make", "test"]]
    report = [
        "python", str(template / "actions/report/report.py"), "--out", str(out / "report.md"),
        "--title", "Model report", "--base", "main", "--head", BRANCH, "--trained", "true",
        "--validation-summary", "reports/validation.json",
        "--data", "data/interim/train.csv", "data/interim/test.csv",
        "--drift-threshold", "0.05", "--plots", "reports/plots", "--plot-delivery", "artifact",
        "--artifact-url", "", "--run-url", "", "--comment", "true", "--backend", "cml",
        "--repository", "acme/project", "--pr-number", str(NUMBER),
    ]  # fmt: skip
    return [
        make_env,
        ["dvc", "pull", "--allow-missing"],
        ["dvc", "repro", "validate"],
        ["dvc", "pull", "--run-cache", "--allow-missing"],
        ["make", "repro"],
        ["dvc", "push", "--run-cache"],
        ["dvc", "metrics", "show", "--json"],
        report,
    ]


def direct(job: str, repo: Path, work: Path) -> tuple[float, list[tuple[str, float]]]:
    """The job's steps in a fresh copy of the checkout, in act's environment: seconds, in
    all and per step."""
    checkout = work / "checkout"
    template = snapshot_actions(work / "template")  # run_act makes its own before its clock
    records = work / "records"
    records.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, **QUIET_ENV, "ACT_RECORD_DIR": str(records)}
    for name in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "VIRTUAL_ENV", "MLFLOW_TRACKING_URI",
                 "GITHUB_ACTIONS", "CI"):  # fmt: skip
        env.pop(name, None)
    # What the setup action leaves to later steps: the new environment first on PATH, src/
    # on PYTHONPATH; the token the report step gets.
    env.update(
        PATH=f"{checkout / '.venv/bin'}{os.pathsep}{host_path(work)}",
        PYTHONPATH=str(checkout / "src"),
        REPO_TOKEN="fake-token",
        GITHUB_TOKEN="fake-token",
    )
    start = time.perf_counter()
    shutil.copytree(repo, checkout, symlinks=True)  # what act's checkout step does
    steps = []
    for command in direct_steps(job, template, work):
        begun = time.perf_counter()
        run(command, checkout, env)
        steps.append((" ".join(command[:3]), time.perf_counter() - begun))
    return time.perf_counter() - start, steps


def act_steps(events: list[dict]) -> list[tuple[str, float]]:
    """(name, seconds) of each top-level step of the job, from act's JSON log time stamps,
    with act's own time before the first step and after the last."""
    stamps: dict[str, list[datetime]] = {}
    names: dict[str, str] = {}
    every = []
    for event in events:
        if "time" not in event:
            continue
        when = datetime.fromisoformat(event["time"].replace("Z", "+00:00"))
        every.append(when)
        ids = event.get("stepID") or []
        if len(ids) == 1 and event.get("stage") == "Main":  # not the Pre and Post stages
            stamps.setdefault(ids[0], []).append(when)
            names.setdefault(ids[0], str(event.get("step", ids[0])))
    if not every:
        return []
    spans = [(names[key], (max(t) - min(t)).total_seconds()) for key, t in stamps.items()]
    first = min(min(t) for t in stamps.values()) if stamps else every[0]
    last = max(max(t) for t in stamps.values()) if stamps else every[-1]
    return [
        ("(act before the first step)", (first - every[0]).total_seconds()),
        *spans,
        ("(act after the last step)", (every[-1] - last).total_seconds()),
    ]


def restore(storage: Path, pristine: Path) -> None:
    shutil.rmtree(storage, ignore_errors=True)
    shutil.copytree(pristine, storage)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--rounds", type=int, default=2, help="act + direct runs per job, order alternating"
    )
    parser.add_argument("--jobs", nargs="+", default=["test", "model"], choices=["test", "model"])
    args = parser.parse_args()
    print(f"bench_act: pr.yml jobs {args.jobs}, {args.rounds} round(s), act vs direct")
    totals = {"act": 0.0, "direct": 0.0}
    with tempfile.TemporaryDirectory(prefix="bench-act-") as tmp:
        work = Path(tmp)
        repo, storage = pull_request(work)
        pristine = work / "dvc-storage-main"
        shutil.copytree(storage, pristine)
        for round_number in range(args.rounds):
            for job in args.jobs:
                # Alternate which runs first, so neither always finds the other's warm caches.
                order = ("act", "direct") if round_number % 2 == 0 else ("direct", "act")
                seconds: dict[str, float] = {}
                breakdown: dict[str, list[tuple[str, float]]] = {}
                for side in order:
                    restore(storage, pristine)
                    if side == "act":
                        event = pull_request_event(NUMBER, BRANCH)
                        result = run_act(
                            repo, "pull_request", event, workflow="pr.yml", job=job,
                            tmp_path=work / f"act-{job}-{round_number}",
                        )  # fmt: skip
                        if not result.succeeded:
                            raise SystemExit(f"act, job {job} failed:\n{result.tail()}")
                        seconds[side], breakdown[side] = result.seconds, act_steps(result.events)
                    else:
                        where = work / f"direct-{job}-{round_number}"
                        seconds[side], breakdown[side] = direct(job, repo, where)
                    totals[side] += seconds[side]
                print(
                    f"  round {round_number + 1}, job {job:<6} act {seconds['act']:6.1f} s  "
                    f"direct {seconds['direct']:6.1f} s  "
                    f"overhead {seconds['act'] / seconds['direct'] - 1:+.0%} ({order[0]} first)",
                    flush=True,
                )
                for side in ("act", "direct"):
                    steps = ", ".join(f"{name} {s:.0f} s" for name, s in breakdown[side])
                    print(f"    {side}: {steps}")
    overhead = totals["act"] / totals["direct"] - 1
    print(
        f"total: act {totals['act']:.1f} s, direct {totals['direct']:.1f} s, "
        f"ratio {totals['act'] / totals['direct']:.2f}"
    )
    ok = overhead <= GOAL_OVERHEAD
    print(f"{'PASS' if ok else 'FAIL'}: act overhead {overhead:+.0%} (goal <= {GOAL_OVERHEAD:.0%})")
    print("bench_act: PASS" if ok else "bench_act: FAIL")
    if not ok:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
