"""Result files (src/gitops_ml/results.py): what each writer puts in them, and the actions'
stdlib reader (actions/_shared/results.py) agreeing with the library's.

In-process and fast: the promotion gate, the drift measurement, nginx and the cluster are
replaced by fakes; what is real is each command's `main` and the path from its outcome to the
JSON file. The actions reading these files: tests/test_promote_deploy_actions.py and
tests/test_monitor_action.py; run for real through act: tests/test_promote_act.py and
tests/test_monitor_workflow.py.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from dataclasses import fields
from pathlib import Path
from types import ModuleType, SimpleNamespace

import pandas as pd
import pytest

from gitops_ml import __version__, drift, monitor, promote, results
from gitops_ml.canary import Answer, Measurement
from gitops_ml.errors import PipelineError
from gitops_ml.params import DeployParams, MonitorParams
from gitops_ml.serve import kserve, local

ROOT = Path(__file__).resolve().parent.parent


def load_shared() -> ModuleType:
    path = ROOT / "actions" / "_shared" / "results.py"
    spec = importlib.util.spec_from_file_location("shared_results_under_test", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


shared = load_shared()

DEPLOYMENT_FIELDS = [
    "schema_version", "kind", "target", "action", "outcome", "reason", "url", "version",
    "previous_version", "champion", "ab", "limits", "steps", "notes",
]  # fmt: skip
STEP_FIELDS = [
    "share", "requests", "candidate_requests", "errors", "error_rate", "p95_ms", "agreement",
    "passed", "failures", "checks", "details",
]  # fmt: skip


def read_json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


# --- the library's reader and the actions' copy agree ----------------------------------------


def test_the_actions_know_the_kinds_versions_and_paths_the_library_writes():
    assert shared.SCHEMA_VERSIONS == results.SCHEMA_VERSIONS
    assert shared.PATHS == results.PATHS


def test_the_actions_name_the_library_released_with_them():
    assert shared.library_version() == __version__
    major = __version__.split(".")[0]
    assert shared.needs() == f"gitops-ml {major}.x (the version released with these actions)"
    assert results.released() == f"gitops-ml {major}.x"


@pytest.mark.parametrize("kind", list(results.SCHEMA_VERSIONS))
@pytest.mark.parametrize(
    "content",
    [
        "[1, 2]",
        "{not json",
        '{"alert": true}',
        '{"schema_version": 99, "kind": "%s"}',
        '{"schema_version": true, "kind": "%s"}',
        '{"schema_version": "1", "kind": "%s"}',
        '{"schema_version": 1, "kind": "another"}',
        '{"schema_version": 1}',
    ],
    ids=["list", "not-json", "no-stamp", "newer", "bool", "string", "other-kind", "no-kind"],
)
def test_both_readers_refuse_the_same_files_with_the_same_sentence(tmp_path, kind, content):
    path = tmp_path / "result.json"
    path.write_text(content.replace("%s", kind), encoding="utf-8")
    with pytest.raises(shared.ResultError) as by_action:
        shared.read(path, kind)
    with pytest.raises(results.ResultError) as by_library:
        results.read(path, kind, reader="this action", needs=shared.needs())
    assert str(by_action.value) == str(by_library.value)
    assert "\n" not in str(by_action.value)


def test_an_unknown_schema_version_is_refused_with_one_sentence(tmp_path):
    path = tmp_path / "result.json"
    path.write_text(json.dumps({"schema_version": 3, "kind": "deployment", "url": "x"}))
    with pytest.raises(shared.ResultError) as refused:
        shared.read(path, "deployment", "reports/deploy/result.json")
    assert str(refused.value) == (
        "reports/deploy/result.json has deployment schema_version 3, which this action does not "
        "understand: it needs gitops-ml 1.x (the version released with these actions)"
    )
    with pytest.raises(results.ResultError) as refused:
        results.read(path, "deployment")
    assert str(refused.value) == (
        f"{path} has deployment schema_version 3, which gitops-ml {__version__} does not "
        "understand: it needs a result written by gitops-ml 1.x"
    )


def test_a_missing_file_is_named(tmp_path):
    with pytest.raises(shared.ResultError, match="was not written, so there is no monitoring"):
        shared.read(tmp_path / "summary.json", "monitoring")


def test_the_writer_heads_the_file_with_its_stamp_and_writes_strict_json(tmp_path):
    import numpy as np

    path = tmp_path / "a" / "result.json"
    written = results.write(
        path, "monitoring", {"kind": "x", "alert": np.bool_(True), "score": float("nan")}
    )
    assert list(written) == ["schema_version", "kind", "alert", "score"]
    text = path.read_text(encoding="utf-8")
    assert json.loads(text, parse_constant=pytest.fail) == {
        "schema_version": 1, "kind": "monitoring", "alert": True, "score": None,
    }  # fmt: skip
    assert shared.read(path, "monitoring")["alert"] is True
    with pytest.raises(ValueError, match="unknown result kind 'verdict'"):
        results.write(path, "verdict", {})


# --- promotion: gitops-ml promote --record --------------------------------------------------


def record() -> promote.Record:
    return promote.Record(
        decision="promoted", reason="first model, roc_auc 0.9500 >= floor 0.7000",
        registered_model="m", candidate_version="1", champion_version=None, metric="roc_auc",
        candidate_metric=0.95, champion_metric=None, difference=None, interval=None,
        resamples_requested=None, resamples_scored=None, test_rows=114,
        test_rows_per_class={"0": 42, "1": 72}, min_class_rows=20, gate={"floor": 0.7},
        trigger="push to main", commit="a" * 40, data={"test": "md5"}, run_id="r",
        model_source="models:/m/1", tracking_uri="sqlite:///mlflow.db",
    )  # fmt: skip


def test_promote_writes_a_promotion_result_with_every_record_field(tmp_path, monkeypatch):
    # Given a gate that promotes (the registry and the bootstrap are faked)
    for name in ("test.csv", "schema.json", "run.json"):
        (tmp_path / name).write_text("{}")
    monkeypatch.setattr(promote, "load_params", lambda: SimpleNamespace())
    monkeypatch.setattr(promote, "registry_client", lambda: object())
    monkeypatch.setattr(promote, "load_schema", lambda path: "schema")
    monkeypatch.setattr(promote, "read_frame", lambda path, schema: pd.DataFrame())
    monkeypatch.setattr(promote, "promote", lambda *args, **kwargs: (record(), {}))
    monkeypatch.setattr(promote, "model_card", lambda rec, values: "# Model card\n")
    out = tmp_path / "reports" / "promotion"
    # When `gitops-ml promote` runs
    promote.main(
        ["--run-info", str(tmp_path / "run.json"), "--test", str(tmp_path / "test.csv"),
         "--schema", str(tmp_path / "schema.json"), "--record", str(out / "record.json"),
         "--card", str(out / "model_card.md")]
    )  # fmt: skip
    # Then the record is a promotion result holding every field of the audit record
    written = read_json(out / "record.json")
    assert list(written) == ["schema_version", "kind", *(f.name for f in fields(promote.Record))]
    assert (written["schema_version"], written["kind"]) == (1, "promotion")
    assert written["decision"] == "promoted" and written["champion_version"] is None
    assert shared.read(out / "record.json", "promotion") == written


# --- monitoring: gitops-ml monitor check --out ------------------------------------------------

MONITORING_FIELDS = [
    "schema_version", "kind", "alert", "reasons", "notes", "drifted_columns", "drift_share",
    "columns_checked", "columns", "not_compared", "unseen_values", "raised_thresholds",
    "prediction_drift", "performance", "sampling", "settings",
]  # fmt: skip


def test_the_monitor_summary_is_a_monitoring_result(tmp_path):
    measured = drift.DriftResult(
        columns=[
            drift.ColumnDrift("age", "numerical", "wasserstein", 0.1, 0.4, True),
            drift.ColumnDrift("plan", "categorical", "jensenshannon", 0.1, 0.01, False),
        ],
        prediction=drift.ColumnDrift("prediction", "categorical", "jensenshannon", 0.1, 0.0,
                                       False),
        sampling={"method": "uniform", "reference": {"rows": 10, "used": 10},
                  "current": {"rows": 10, "used": 10}},
        snapshot=None,
    )  # fmt: skip
    summary = monitor.summarize(measured, None, MonitorParams(min_drifted_columns=1))
    path = tmp_path / "summary.json"
    # what `check` writes; run for real by tests/library/test_monitor.py and, read by the
    # monitor action, by tests/test_monitor_workflow.py
    path.write_text(monitor.dump_summary(summary), encoding="utf-8")
    written = read_json(path)
    assert list(written) == MONITORING_FIELDS
    assert (written["schema_version"], written["kind"], written["alert"]) == (1, "monitoring", True)
    assert written["columns"]["age"]["drifted"] is True
    assert shared.read(path, "monitoring") == results.read(path, "monitoring") == written


# --- deployment: gitops-ml deploy|rollback|undeploy (nginx faked) ----------------------------


@pytest.fixture
def sleeper():
    """A live process whose pid stands for nginx and the scoring servers."""
    process = subprocess.Popen(["sleep", "300"], start_new_session=True)
    yield process.pid
    process.kill()
    process.wait()


@pytest.fixture
def nginx_world(tmp_path, monkeypatch, sleeper):
    """Version 1 serving behind a faked nginx; version 2's server answers like `predicted`."""
    world = SimpleNamespace(
        predicted={1111: [0, 1, 1, 0], 2222: [0, 1, 1, 0]}, stopped=[], configs=[]
    )
    params = SimpleNamespace(
        mlflow=SimpleNamespace(registered_model="m"),
        deploy=DeployParams(canary_steps=[10, 100], requests_per_step=10),
        problem_type="classification",
    )
    state_dir = tmp_path / ".deploy"
    state_dir.mkdir()
    local.State(
        port=8181, nginx_pid=sleeper, stable=local.Server("1", 1111, sleeper), generation=1
    ).save(state_dir / "state.json")

    def apply_config(state, state_dir, weight):
        state.weight, state.generation = weight, state.generation + 1
        world.configs.append(weight)
        state.save(state_dir / "state.json")

    def send(url, rows, count):
        share = world.configs[-1] if world.configs else 0
        return [
            Answer(200, 0.01, "candidate" if i * 100 < share * count else "stable")
            for i in range(count)
        ]

    class Load:
        def __init__(self, url, rows):
            pass

        def start(self):
            pass

        def finish(self):
            return 5, 0

    monkeypatch.setattr(local, "load_params", lambda: params)
    monkeypatch.setattr(local, "probe_rows", lambda params: pd.DataFrame({"x": [1, 2, 3, 4]}))
    monkeypatch.setattr(
        local, "start_server", lambda state_dir, name, version: local.Server(version, 2222, sleeper)
    )
    monkeypatch.setattr(local, "wait_healthy", lambda server, state_dir, timeout: None)
    monkeypatch.setattr(local, "apply_config", apply_config)
    monkeypatch.setattr(local, "send", send)
    monkeypatch.setattr(local, "http", lambda *args, **kwargs: (200, "", {}))
    monkeypatch.setattr(local, "predictions", lambda port, rows: world.predicted[port])
    monkeypatch.setattr(local, "stop", lambda pid, timeout=15.0: world.stopped.append(pid))
    monkeypatch.setattr(local, "Load", Load)
    monkeypatch.setattr(local.time, "sleep", lambda seconds: None)
    world.state_dir, world.result = state_dir, tmp_path / "reports" / "deploy" / "result.json"
    return world


def run_local(world, *argv: str) -> dict:
    local.main([*argv, "--state", str(world.state_dir), "--result", str(world.result)])
    return read_json(world.result)


def test_a_local_canary_writes_its_steps_checks_and_the_new_version(nginx_world, capsys):
    written = run_local(nginx_world, "deploy", "--version", "2")
    assert list(written) == DEPLOYMENT_FIELDS
    assert written["schema_version"] == 1 and written["kind"] == "deployment"
    assert {k: written[k] for k in DEPLOYMENT_FIELDS[2:10]} == {
        "target": "local", "action": "deploy", "outcome": "deployed", "reason": None,
        "url": "http://127.0.0.1:8181", "version": "2", "previous_version": "1", "champion": None,
    }  # fmt: skip
    assert [step["share"] for step in written["steps"]] == [10, 100]
    first = written["steps"][0]
    assert list(first) == STEP_FIELDS
    assert (first["requests"], first["candidate_requests"], first["errors"]) == (10, 1, 0)
    assert (first["error_rate"], first["agreement"], first["passed"]) == (0.0, 1.0, True)
    assert written["limits"] == {
        "max_error_rate": 0.0, "max_p95_latency_ms": 1000.0, "min_agreement": 0.9,
        "extra_checks": [],
    }  # fmt: skip
    assert written["notes"][0] == "deploy: canary of version 2 beside version 1"
    assert written["notes"][-1].startswith("deploy: version 2 serves 100% after")
    # stdout is unchanged for people: the notes, the progress lines, the URL last
    out = capsys.readouterr().out.splitlines()
    assert out[-1] == "http://127.0.0.1:8181"
    assert shared.read(nginx_world.result, "deployment") == written


def test_a_failed_local_canary_is_written_as_rolled_back_with_the_reason(nginx_world):
    nginx_world.predicted[2222] = [1, 0, 0, 1]  # the candidate disagrees on every probe row
    with pytest.raises(PipelineError, match="version 2 rolled back: canary at 10%"):
        run_local(nginx_world, "deploy", "--version", "2")
    written = read_json(nginx_world.result)
    assert written["outcome"] == "rolled back"
    assert written["reason"].startswith("version 2 rolled back: canary at 10%: candidate agrees")
    assert (written["version"], written["previous_version"]) == ("1", "1")
    assert written["url"] == "http://127.0.0.1:8181"
    assert [(s["share"], s["passed"], s["agreement"]) for s in written["steps"]] == [
        (10, False, 0.0)
    ]
    assert written["steps"][0]["failures"][0].startswith("candidate agrees with the stable")
    assert written["notes"][-1].startswith("deploy: rolled back to version 1 in")


def test_local_undeploy_writes_what_it_stopped_then_that_nothing_was_deployed(nginx_world, sleeper):
    written = run_local(nginx_world, "undeploy")
    assert (written["action"], written["outcome"]) == ("undeploy", "undeployed")
    assert (written["version"], written["url"], written["previous_version"]) == (None, None, "1")
    assert written["notes"] == [
        f"undeploy: stopped server v1 (pid {sleeper}), nginx (pid {sleeper})"
    ]
    assert run_local(nginx_world, "undeploy")["outcome"] == "not deployed"


# --- deployment: gitops-ml kserve deploy (the cluster faked) ---------------------------------


class FakeRollout(kserve.Rollout):
    """Version 1 rolled out as revision r1; each step measures `answers` and `agreed`."""

    agreed = 1.0

    def get(self):
        predictor = {"latestRolledoutRevision": "r1"}
        return {
            "status": {
                "url": "http://isvc.example",
                "deploymentMode": "Serverless",
                "components": {"predictor": predictor},
            }
        }

    def revision_version(self, revision):
        return "1" if revision else None

    def apply(self, version, canary):
        self.history.append(f"{version}@{canary}")

    def measure(self, weight, rows, baseline):
        answers = [Answer(200, 0.02, "service")] * 5 + [Answer(200, 0.03, "candidate")] * 5
        return Measurement(answers, self.agreed, f"{weight}% measured", []), baseline

    def back_to_previous(self, version, reason):
        return "rolled back: 100% of traffic on revision r1 (version 1)"


@pytest.fixture
def cluster(tmp_path, monkeypatch):
    params = SimpleNamespace(
        mlflow=SimpleNamespace(registered_model="m"),
        deploy=DeployParams(canary_steps=[50, 100], requests_per_step=5),
        problem_type="classification",
    )
    rollout = FakeRollout(
        name="isvc", template={"metadata": {"name": "isvc"}}, params=params, kubectl=None,
        http=None, storage_uri=lambda version: "s3://bucket/m",
    )  # fmt: skip
    monkeypatch.setattr(kserve, "load_params", lambda: params)
    monkeypatch.setattr(kserve, "load_template", lambda path: rollout.template)
    monkeypatch.setattr(kserve, "Rollout", lambda **kwargs: rollout)
    monkeypatch.setattr(kserve, "probe_rows", lambda params: pd.DataFrame({"x": [1, 2]}))
    return SimpleNamespace(rollout=rollout, result=tmp_path / "result.json")


def test_a_kserve_canary_writes_its_steps_and_the_new_version(cluster):
    kserve.main(["deploy", "--version", "2", "--result", str(cluster.result)])
    written = read_json(cluster.result)
    assert list(written) == DEPLOYMENT_FIELDS
    assert {k: written[k] for k in DEPLOYMENT_FIELDS[2:10]} == {
        "target": "kserve", "action": "deploy", "outcome": "deployed", "reason": None,
        "url": "http://isvc.example", "version": "2", "previous_version": "1", "champion": None,
    }  # fmt: skip
    assert [(s["share"], s["requests"], s["candidate_requests"]) for s in written["steps"]] == [
        (50, 10, 5),
        (100, 10, 5),
    ]
    assert written["steps"][0]["p95_ms"] == 30.0
    assert written["notes"][0] == (
        "deploy: canary of version 2 beside version 1 (revision r1, serverless mode)"
    )


def test_a_failed_kserve_canary_is_written_as_rolled_back(cluster):
    cluster.rollout.agreed = 0.2
    with pytest.raises(PipelineError, match="version 2 rolled back: canary at 50%"):
        kserve.main(["deploy", "--version", "2", "--result", str(cluster.result)])
    written = read_json(cluster.result)
    assert (written["outcome"], written["version"], written["url"]) == (
        "rolled back", "1", "http://isvc.example",
    )  # fmt: skip
    assert written["reason"].startswith("version 2 rolled back: canary at 50%: candidate agrees")
    assert [s["passed"] for s in written["steps"]] == [False]
    assert written["notes"][-1] == (
        "deploy: rolled back: 100% of traffic on revision r1 (version 1)"
    )
