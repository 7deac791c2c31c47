"""Serving single-row requests through nginx (`make deploy`) vs predicting them in-process.

A default project is rendered, trained (`make repro`), promoted (`make promote`) and deployed
with `make deploy` (MLflow's scoring server, one worker, behind nginx). ApacheBench (`ab`,
Debian's apache2-utils; installed here when missing) sends --requests single-row POSTs to
/invocations at concurrency --concurrency with keep-alive, after a warm-up of 100; the same
body each time (ab sends one body): the first row of the test split. Side by side, in one run:

- **in-process**: `mlflow.pyfunc.load_model(champion).predict(row)` one call at a time, then
  `mlflow.pyfunc.scoring_server.invocations(body, ...)`: the server's own work per request
  (parse the JSON, check the signature, predict, write the JSON) without HTTP;
- **served, prediction log on** (the default `deploy.prediction_log`), through nginx,
  straight to the scoring server's port (what nginx adds), and straight to it one request at a
  time (a quarter of --requests at concurrency 1: HTTP and the server without a queue);
- **served, prediction log off** (`deploy.prediction_log: null`, deployed again): the log's
  own cost, reported apart.

Goals (issue 13), on the default deployment (log on): at least 0.5x the in-process predict
rate, p95 under 20 ms, no failed request; the log's overhead is reported, not judged.
Every process started is stopped (`make undeploy`, also on failure).

    python benchmarks/bench_serve.py [--requests 2000] [--concurrency 8]
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.conftest import SHARED_VENV, project_env, render_project  # noqa: E402

GOAL_RATIO, GOAL_P95_MS = 0.5, 20.0
WARM_UP = 100
NAME = "my-ml-project"  # the default project's registered model


def ensure_ab() -> str:
    """The `ab` binary, installed from Debian's apache2-utils when missing and possible."""
    found = shutil.which("ab")
    if found:
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print("ab is missing: apt-get install apache2-utils", flush=True)
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        install = ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "apache2-utils"]
        if subprocess.run(install, env=env, capture_output=True).returncode != 0:
            subprocess.run(["apt-get", "update", "-qq"], env=env, check=True)
            subprocess.run(install, env=env, check=True, capture_output=True)
        found = shutil.which("ab")
    if not found:
        raise SystemExit(
            "bench_serve needs ApacheBench: sudo apt-get install apache2-utils (Debian/Ubuntu); "
            "macOS ships ab"
        )
    return found


def make(project: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        ["make", *args, f"VENV={SHARED_VENV}"], cwd=project, env=project_env(),
        capture_output=True, text=True,
    )  # fmt: skip
    if check and done.returncode != 0:
        raise SystemExit(
            f"make {' '.join(args)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        )
    return done


def load(ab: str, url: str, body: Path, requests: int, concurrency: int) -> dict:
    """`ab` at `url`/invocations: rate, latency percentiles (ms) and failures."""
    command = [ab, "-q", "-k", "-n", str(requests), "-c", str(concurrency), "-p", str(body),
               "-T", "application/json", f"{url}/invocations"]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"ab failed ({done.returncode}):\n{done.stdout[-2000:]}{done.stderr}")
    out = done.stdout

    def number(pattern: str, default: float = 0.0) -> float:
        found = re.search(pattern, out, re.MULTILINE)
        return float(found.group(1)) if found else default

    return {
        "rate": number(r"^Requests per second:\s+([\d.]+)"),
        "p50": number(r"^\s+50%\s+(\d+)"),
        "p95": number(r"^\s+95%\s+(\d+)"),
        "p99": number(r"^\s+99%\s+(\d+)"),
        "failed": int(number(r"^Failed requests:\s+(\d+)")),
        "non_2xx": int(number(r"^Non-2xx responses:\s+(\d+)")),
        "completed": int(number(r"^Complete requests:\s+(\d+)")),
    }


def in_process(project: Path, body: Path, requests: int, profile: bool) -> dict:
    """Run by the child process (--child): pyfunc predict and the server's handler, timed."""
    import mlflow
    import pandas as pd
    from mlflow.pyfunc import scoring_server

    os.chdir(project)
    mlflow.set_tracking_uri("sqlite:///mlflow.db")
    model = mlflow.pyfunc.load_model(f"models:/{NAME}@champion")
    payload = body.read_bytes()
    split = json.loads(payload)["dataframe_split"]
    row = pd.DataFrame(split["data"], columns=split["columns"])
    schema = model.metadata.get_input_schema()
    results = {}
    for label, call in (
        ("predict", lambda: model.predict(row)),
        ("handler", lambda: scoring_server.invocations(payload, "application/json", model, schema)),
    ):
        for _ in range(WARM_UP):
            call()
        times = []
        for _ in range(requests):
            start = time.perf_counter()
            call()
            times.append(time.perf_counter() - start)
        cuts = statistics.quantiles(times, n=100)
        results[label] = {
            "rate": len(times) / sum(times),
            "p50": cuts[49] * 1000, "p95": cuts[94] * 1000, "p99": cuts[98] * 1000,
        }  # fmt: skip
    if profile:  # where the handler's time goes, on stderr
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(requests // 4):
            scoring_server.invocations(payload, "application/json", model, schema)
        profiler.disable()
        pstats.Stats(profiler, stream=sys.stderr).sort_stats("cumulative").print_stats(25)
    return results


def deployed(project: Path, ab: str, body: Path, args: argparse.Namespace) -> dict:
    """Deploy, measure through nginx and straight to the server, undeploy (always)."""
    try:
        started = time.perf_counter()
        url = make(project, "deploy").stdout.strip().splitlines()[-1]
        deploy_seconds = time.perf_counter() - started
        state = json.loads((project / ".deploy/state.json").read_text(encoding="utf-8"))
        direct = f"http://127.0.0.1:{state['stable']['port']}"
        load(ab, url, body, WARM_UP, args.concurrency)
        nginx = load(ab, url, body, args.requests, args.concurrency)
        server = load(ab, direct, body, args.requests, args.concurrency)
        alone = load(ab, direct, body, args.requests // 4, 1)  # no queue, no thread contention
    finally:
        make(project, "undeploy", check=False)
    return {"nginx": nginx, "direct": server, "alone": alone, "deploy_seconds": deploy_seconds}


def logged_rows(project: Path) -> int:
    return sum(
        max(len(path.read_text(encoding="utf-8").splitlines()) - 1, 0)
        for path in (project / "logs/predictions").glob("*.csv")
    )


def line(label: str, measured: dict, baseline: float) -> str:
    errors = measured.get("failed", 0) + measured.get("non_2xx", 0)
    return (
        f"  {label:<46} {measured['rate']:7.0f}/s {measured['rate'] / baseline:5.2f}x  "
        f"p50 {measured['p50']:5.1f} p95 {measured['p95']:5.1f} p99 {measured['p99']:5.1f} ms"
        + (f"  errors {errors}" if "failed" in measured else "")
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument(
        "--profile", action="store_true", help="cProfile the in-process handler (top 25)"
    )
    parser.add_argument("--child", nargs=3, metavar=("PROJECT", "BODY", "REQUESTS"))
    args = parser.parse_args()
    if args.child:
        project, body, requests = args.child
        print(json.dumps(in_process(Path(project), Path(body), int(requests), args.profile)))
        return
    if not (shutil.which("nginx") or Path("/usr/sbin/nginx").exists()):
        raise SystemExit("bench_serve needs nginx: sudo apt-get install nginx (Debian/Ubuntu)")
    ab = ensure_ab()
    print(
        f"bench_serve: {args.requests} single-row POSTs at concurrency {args.concurrency} "
        f"(ab -k, after {WARM_UP} warm-up), one scoring-server worker"
    )
    with tempfile.TemporaryDirectory(prefix="bench-serve-") as tmp:
        project = render_project(Path(tmp))
        make(project, "repro")
        make(project, "promote")
        import pandas as pd

        row = pd.read_csv(project / "data/interim/test.csv").drop(columns=["target"]).head(1)
        body = Path(tmp) / "row.json"
        split = json.loads(row.to_json(orient="split", index=False))
        body.write_text(json.dumps({"dataframe_split": split}), encoding="utf-8")

        child = subprocess.run(
            [sys.executable, __file__, "--child", str(project), str(body), str(args.requests),
             *(["--profile"] if args.profile else [])],
            env=project_env(), capture_output=True, text=True,
        )  # fmt: skip
        if child.returncode != 0:
            raise SystemExit(f"in-process run failed:\n{child.stderr[-3000:]}")
        local = json.loads(child.stdout.strip().splitlines()[-1])
        if args.profile:
            print(textwrap.indent(child.stderr.strip(), "    "))
        with_log = deployed(project, ab, body, args)
        logged = logged_rows(project)
        params = project / "params.yaml"
        text = params.read_text(encoding="utf-8")
        params.write_text(
            text.replace("  prediction_log: logs/predictions\n", "  prediction_log: null\n"),
            encoding="utf-8",
        )
        without_log = deployed(project, ab, body, args)

    base = local["predict"]["rate"]
    print(line("in-process pyfunc predict (baseline)", local["predict"], base))
    print(line("in-process scoring_server.invocations", local["handler"], base))
    for label, run in (("log on", with_log), ("log off", without_log)):
        print(line(f"served, {label}, through nginx", run["nginx"], base))
        print(line(f"served, {label}, straight to the server", run["direct"], base))
        print(line(f"served, {label}, to the server, concurrency 1", run["alone"], base))
    sent = WARM_UP + 2 * args.requests + args.requests // 4
    print(f"  prediction log: {logged} rows for the {sent} requests sent with it on")
    on, off = with_log["nginx"], without_log["nginx"]
    print(
        f"prediction-log overhead through nginx: rate {off['rate'] / on['rate'] - 1:+.0%} "
        f"without it, p50 {on['p50'] - off['p50']:+.0f} ms, p95 {on['p95'] - off['p95']:+.0f} ms"
    )
    ratio = on["rate"] / base
    errors = on["failed"] + on["non_2xx"] + (args.requests - on["completed"])
    checks = [
        (f"served rate {ratio:.2f}x the in-process rate (goal >= {GOAL_RATIO}x)",
         ratio >= GOAL_RATIO),
        (f"served p95 {on['p95']:.0f} ms (goal < {GOAL_P95_MS:.0f} ms)", on["p95"] < GOAL_P95_MS),
        (f"{errors} failed requests (goal 0)", errors == 0),
    ]  # fmt: skip
    for text_line, ok in checks:
        print(f"{'PASS' if ok else 'FAIL'}: {text_line}")
    ok = all(passed for _, passed in checks)
    print("bench_serve: PASS" if ok else "bench_serve: FAIL")
    if not ok:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
