"""`make deploy`, `make rollback` and `make undeploy` with deploy_target=local: real HTTP
through nginx to MLflow scoring servers.

One project goes through a deployment's life: first deploy, bad input, a healthy canary, a
broken canary rolled back under load, a rollback, undeploy. Times and request counts are
printed (`pytest -s`) so they can be reported.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import SHARED_VENV, make, render_project, run

pytestmark = pytest.mark.slow

REGISTER = """
import json, sys
import mlflow
import pandas as pd
from sklearn.dummy import DummyClassifier

mlflow.set_tracking_uri("sqlite:///mlflow.db")
name = sys.argv[2]
if sys.argv[1] == "same":  # the trained model again: a healthy candidate
    info = json.load(open("models/run.json"))
    version = mlflow.MlflowClient().create_model_version(name, info["model_uri"], info["run_id"])
elif sys.argv[1] == "crash":  # a model whose server cannot start: loading it fails
    class Broken(mlflow.pyfunc.PythonModel):
        def load_context(self, context):
            raise RuntimeError("this model cannot be loaded")

        def predict(self, context, model_input):
            return model_input

    with mlflow.start_run():
        info = mlflow.pyfunc.log_model(name="model", python_model=Broken())
    version = mlflow.register_model(info.model_uri, name)
else:  # always predicts one class: disagrees with the stable model on the probe rows
    train = pd.read_csv("data/interim/train.csv")
    features, labels = train.drop(columns=["target"]), train["target"]
    model = DummyClassifier(strategy="constant", constant=0).fit(features, labels)
    with mlflow.start_run():
        info = mlflow.sklearn.log_model(
            model, name="model", input_example=features.head(3),
            serialization_format="cloudpickle",
        )
    version = mlflow.register_model(info.model_uri, name)
print(version.version)
"""


def register(project: Path, kind: str) -> str:
    result = run(
        [str(SHARED_VENV / "bin" / "python"), "-c", REGISTER, kind, "my-ml-project"], project
    )
    return result.stdout.strip().splitlines()[-1]


def post(url: str, body: bytes) -> tuple[int, dict[str, str], str]:
    request = urllib.request.Request(
        f"{url}/invocations", data=body, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers), response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read().decode()
    except OSError as error:
        return 0, {}, str(error)


def rows_payload(project: Path, count: int = 3) -> bytes:
    rows = pd.read_csv(project / "data" / "interim" / "test.csv").drop(columns=["target"])
    split = json.loads(rows.head(count).to_json(orient="split", index=False))
    return json.dumps({"dataframe_split": split}).encode()


class Traffic(threading.Thread):
    """A client hammering the endpoint for as long as a command runs."""

    def __init__(self, url: str, body: bytes) -> None:
        super().__init__(daemon=True)
        self.url, self.body = url, body
        self.statuses: list[int] = []
        self.halt = threading.Event()

    def run(self) -> None:
        while not self.halt.is_set():
            self.statuses.append(post(self.url, self.body)[0])

    def stop(self) -> tuple[int, int]:
        self.halt.set()
        self.join()
        return len(self.statuses), sum(status != 200 for status in self.statuses)


def ab_traffic(project: Path, url: str, count: int) -> Path:
    """Single-row predictions through nginx; the client keeps X-Request-Id with each
    prediction and, later, the label: the outcomes file `make ab-compare` reads."""
    test = pd.read_csv(project / "data" / "interim" / "test.csv")
    features = test.drop(columns=["target"])
    rows = []
    for i in range(count):
        split = json.loads(features.iloc[[i]].to_json(orient="split", index=False))
        status, headers, text = post(url, json.dumps({"dataframe_split": split}).encode())
        assert status == 200, text
        rows.append(
            {
                "request_id": headers["X-Request-Id"],
                "variant": headers["X-Model-Variant"],
                "prediction": json.loads(text)["predictions"][0],
                "label": test["target"][i],
            }
        )
    path = project / "outcomes.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def predict_through(url: str, rows: pd.DataFrame, batch: int) -> list:
    """The rows' predictions through nginx, `batch` rows per request."""
    predictions = []
    for start in range(0, len(rows), batch):
        split = json.loads(rows.iloc[start : start + batch].to_json(orient="split", index=False))
        status, _, text = post(url, json.dumps({"dataframe_split": split}).encode())
        assert status == 200, text
        predictions += json.loads(text)["predictions"]
    return predictions


def monitor_log(project: Path, log_dir: Path) -> dict:
    """`make monitor CURRENT=<the prediction log>`: its exit status, output and summary."""
    result = make(project, "monitor", f"CURRENT={log_dir}", check=False)
    failed = re.search(r"\] Error (\d+)", result.stderr)  # make exits 2, naming the status
    summary_path = project / "reports" / "monitoring" / "summary.json"
    summary = json.loads(summary_path.read_text()) if summary_path.exists() else None
    return {
        "result": result,
        "status": int(failed[1]) if failed else result.returncode,
        "summary": summary,
    }


def served_log(project: Path, url: str) -> dict:
    """Rows served through nginx, the prediction log the server wrote and the monitor's
    reading of it: first the test split, then a batch with two shifted columns."""
    log_dir = project / "logs" / "predictions"
    features = pd.read_csv(project / "data" / "interim" / "test.csv").drop(columns=["target"])
    # start from the rows sent here (the server makes the folder again)
    shutil.rmtree(log_dir, ignore_errors=True)
    answers = predict_through(url, features, 25)
    files = sorted(log_dir.glob("*.csv"))
    logged = [pd.read_csv(path) for path in files]
    steps = {"sent": features, "answers": answers, "files": files}
    steps["log"] = pd.concat(logged, ignore_index=True) if logged else pd.DataFrame()
    steps["monitor"] = monitor_log(project, log_dir)

    batch = project / "data" / "monitoring" / "demo-batch.csv"
    made = make(project, "monitor-demo")  # writes the shifted batch (and monitors the file)
    steps["shifted"] = ast.literal_eval(made.stdout.split("sd: ", 1)[1].splitlines()[0])
    shutil.rmtree(log_dir, ignore_errors=True)
    predict_through(url, pd.read_csv(batch).drop(columns=["target"]), 500)
    steps["shifted_monitor"] = monitor_log(project, log_dir)
    return steps


def timed_make(project: Path, *args: str) -> tuple[object, float]:
    started = time.perf_counter()
    result = make(project, *args, check=False)
    elapsed = time.perf_counter() - started
    print(f"\n[deploy] make {' '.join(args)}: exit {result.returncode} in {elapsed:.1f} s")
    print("[deploy] " + "\n[deploy] ".join(result.stdout.strip().splitlines()[-6:]))
    if result.returncode:
        print(f"[deploy] stderr: {result.stderr.strip()[-500:]}")
    return result, elapsed


@pytest.fixture(scope="module")
def life(tmp_path_factory: pytest.TempPathFactory):
    if shutil.which("nginx") is None and not Path("/usr/sbin/nginx").exists():
        if os.environ.get("CI") == "true":
            pytest.fail("nginx is not installed (apt-get install nginx)")
        pytest.skip("nginx is not installed (apt-get install nginx)")
    project = render_project(tmp_path_factory.mktemp("deploy"))
    make(project, "repro")
    make(project, "promote")
    steps: dict[str, dict] = {"project": {"path": project}}
    try:
        first, seconds = timed_make(project, "deploy")
        url = first.stdout.strip().splitlines()[-1]
        body = rows_payload(project)
        steps["first"] = {"result": first, "seconds": seconds, "url": url}
        # make deploy has checked the server with probe rows; no client has sent anything yet
        log_dir = project / "logs" / "predictions"
        steps["first"]["logged"] = sum(len(pd.read_csv(p)) for p in log_dir.glob("*.csv"))
        steps["first"]["answer"] = post(url, body)
        steps["bad"] = {
            "wrong_columns": post(url, b'{"dataframe_split": {"columns": ["x"], "data": [[1]]}}'),
            "malformed": post(url, b'{"dataframe_split": '),
            "wrong_type": post(url, body.replace(b"[[", b'[["text", ', 1)),
            "after": post(url, body),
        }
        steps["log"] = served_log(project, url)

        healthy = register(project, "same")
        result, seconds = timed_make(project, "deploy", f"VERSION={healthy}")
        steps["canary"] = {"result": result, "seconds": seconds, "version": healthy}
        steps["canary"]["answer"] = post(url, body)
        steps["canary"]["log_files"] = [p.name for p in (project / "logs/predictions").iterdir()]

        result, seconds = timed_make(project, "deploy", "VERSION=1", "AB=50")
        outcomes = ab_traffic(project, url, 40)
        compared = make(project, "ab-compare", f"OUTCOMES={outcomes}", check=False)
        print(f"[deploy] ab-compare: {compared.stdout.strip()[-400:]}")
        steps["ab"] = {"result": result, "compare": compared, "outcomes": outcomes}

        def under_load(what: str, *targets: str) -> dict:
            """`make targets` while a client sends requests through nginx the whole time."""
            traffic = Traffic(url, body)
            traffic.start()
            result, seconds = timed_make(project, *targets)
            served, failed = traffic.stop()
            print(f"[deploy] client during {what}: {served} requests, {failed} failed")
            step = {"result": result, "seconds": seconds, "served": served, "failed": failed}
            return {**step, "answer": post(url, body)}

        broken = register(project, "broken")
        steps["broken"] = under_load("the broken canary", "deploy", f"VERSION={broken}")
        steps["broken"]["version"] = broken
        crash = register(project, "crash")
        steps["crash"] = under_load("the crashing candidate", "deploy", f"VERSION={crash}")
        steps["crash"]["version"] = crash
        steps["rollback"] = under_load("the rollback", "rollback")

        state = json.loads((project / ".deploy" / "state.json").read_text(encoding="utf-8"))
        pids = [state["nginx_pid"], state["stable"]["pid"]]
        result, _ = timed_make(project, "undeploy")
        time.sleep(1)
        steps["undeploy"] = {"result": result, "pids": pids, "answer": post(url, body)}
        yield steps
    finally:
        make(project, "undeploy", check=False)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not stat.exists() or stat.read_text().split(") ")[-1][:1] != "Z"


def test_deploy_serves_the_champion_through_nginx_and_prints_the_url(life):
    first = life["first"]
    assert first["result"].returncode == 0, first["result"].stderr
    assert first["url"].startswith("http://127.0.0.1:")
    status, headers, text = first["answer"]
    assert status == 200
    assert len(json.loads(text)["predictions"]) == 3
    assert headers["X-Model-Version"] == "1"
    assert headers["X-Model-Variant"] == "stable"
    access_log = (life["project"]["path"] / ".deploy" / "access.log").read_text()
    assert "variant=stable version=1" in access_log


def test_bad_input_gets_a_clear_4xx_and_the_service_stays_up(life):
    bad = life["bad"]
    for case in ("wrong_columns", "malformed", "wrong_type"):
        status, _, text = bad[case]
        assert 400 <= status < 500, (case, status, text)
        assert json.loads(text)["message"], case
    assert "valid JSON" in bad["malformed"][2]
    assert bad["after"][0] == 200


def test_the_deploys_own_probe_requests_are_not_logged_as_traffic(life):
    # `make monitor CURRENT=logs/predictions` must measure clients, not the deploy's checks
    assert life["first"]["result"].returncode == 0
    assert life["first"]["logged"] == 0


def test_served_predictions_are_logged_with_their_version(life):
    # Given the test split sent through nginx in batches of 25 rows
    served = life["log"]
    sent, log = served["sent"], served["log"]
    # Then the stable server's one log file holds each row once, as answered
    assert [path.name.rsplit("-", 1)[0] for path in served["files"]] == [
        f"predictions-{log['timestamp'][0][:10]}-v1"
    ]
    assert len(log) == len(sent)
    assert log["model_version"].astype(str).unique().tolist() == ["1"]
    assert log["request_id"].nunique() == -(-len(sent) // 25)
    assert log["prediction"].tolist() == served["answers"]
    pd.testing.assert_frame_equal(log[list(sent.columns)], sent, check_dtype=False)


def test_monitor_reads_the_prediction_log(life):
    monitored = life["log"]["monitor"]
    assert monitored["status"] in (0, 3), monitored["result"].stderr  # 0 no alert, 3 alert, 1 error
    summary = monitored["summary"]
    assert summary["current"]["rows"] == len(life["log"]["sent"])
    assert summary["current"]["prediction"] == "log"
    assert sorted(summary["current"]["ignored_columns"]) == [
        "model_version",
        "request_id",
        "timestamp",
    ]


def test_monitor_flags_the_shifted_columns_of_served_traffic(life):
    monitored = life["log"]["shifted_monitor"]
    assert monitored["status"] == 3, monitored["result"].stderr
    assert monitored["summary"]["current"]["rows"] == 2000
    assert monitored["summary"]["drifted_columns"] == life["log"]["shifted"]


def test_healthy_canary_ramps_to_100_percent(life):
    canary = life["canary"]
    output = canary["result"].stdout
    assert canary["result"].returncode == 0, canary["result"].stderr
    for weight in (10, 50, 100):
        assert f"canary {weight}%: " in output
    assert "FAILED" not in output
    assert f"version {canary['version']} serves 100%" in output
    assert output.strip().splitlines()[-1] == life["first"]["url"]
    assert canary["answer"][1]["X-Model-Version"] == canary["version"]
    # the candidate ran beside the stable server: each wrote its own log file
    versions = {name.split("-v")[1].split("-")[0] for name in canary["log_files"]}
    assert versions == {"1", canary["version"]}


def test_ab_mode_splits_traffic_and_compares_the_variants_outcomes(life):
    ab = life["ab"]
    assert ab["result"].returncode == 0, ab["result"].stderr
    assert "A/B test, version 1 (candidate) gets 50%" in ab["result"].stdout
    seen = pd.read_csv(ab["outcomes"])
    assert set(seen["variant"]) == {"stable", "candidate"}
    assert ab["compare"].returncode == 0, ab["compare"].stderr
    report = json.loads(ab["compare"].stdout[ab["compare"].stdout.index("{") :])
    assert report["metric"] == "accuracy"
    assert report["unmatched"] == 0
    assert report["stable"]["version"] == life["canary"]["version"]
    assert report["candidate"]["version"] == "1"
    counts = seen["variant"].value_counts()
    assert report["stable"]["rows"] == counts["stable"]
    assert report["candidate"]["rows"] == counts["candidate"]
    assert "interval_95" in report


def test_broken_candidate_is_rolled_back_without_failed_requests(life):
    broken = life["broken"]
    assert broken["result"].returncode != 0
    assert f"version {broken['version']} rolled back: canary at 10%" in broken["result"].stderr
    assert "agrees with the stable model on" in broken["result"].stderr
    assert "0 failed during the switch" in broken["result"].stdout
    assert broken["served"] > 0
    assert broken["failed"] == 0
    assert broken["answer"][0] == 200
    assert broken["answer"][1]["X-Model-Version"] == life["canary"]["version"]


def test_candidate_server_that_cannot_start_is_rolled_back(life):
    crash = life["crash"]
    assert crash["result"].returncode != 0
    assert f"version {crash['version']} rolled back: the server for version" in (
        crash["result"].stderr
    )
    assert "exited before answering /ping: RuntimeError: this model cannot be loaded" in (
        crash["result"].stderr
    )
    assert crash["failed"] == 0
    assert crash["answer"][1]["X-Model-Version"] == life["canary"]["version"]


def test_rollback_restores_the_previous_version_and_the_champion_alias(life):
    rollback = life["rollback"]
    assert rollback["result"].returncode == 0, rollback["result"].stderr
    assert rollback["failed"] == 0
    assert rollback["answer"][0] == 200
    assert rollback["answer"][1]["X-Model-Version"] == "1"
    assert "registry 'champion' is version 1" in rollback["result"].stdout


def test_undeploy_stops_every_process_it_started(life):
    undeploy = life["undeploy"]
    assert undeploy["result"].returncode == 0
    assert not [pid for pid in undeploy["pids"] if alive(pid)]
    assert undeploy["answer"][0] == 0
    assert not (life["project"]["path"] / ".deploy" / "state.json").exists()
