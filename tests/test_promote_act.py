"""The generated `main.yml` (push to main -> actions/promote) and `release.yml` (push of a
`v*` tag -> actions/deploy), run for real with nektos/act (tests/act_harness.py)."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from tests.act_harness import run_act
from tests.conftest import make, render_project

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def push(ref: str) -> dict:
    return {"ref": ref, "repository": {"full_name": "acme/project", "name": "project"}}


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return render_project(tmp_path_factory.mktemp("promote-act"))


def test_push_to_main_promotes_the_first_model_and_explains_it(project, tmp_path):
    result = run_act(
        project, "push", push("refs/heads/main"), workflow="main.yml", tmp_path=tmp_path
    )
    print(f"\n[act] main.yml: {result.seconds:.0f} s, jobs {result.job_results}")
    assert result.succeeded, result.tail()
    assert "Decision: promoted." in result.summary
    assert "first model: roc_auc" in result.summary
    assert "does not outlive the job" in result.summary
    kept = result.artifact_dir / "promotion"
    record = json.loads(next(kept.rglob("record.json")).read_text())
    assert record["decision"] == "promoted"
    assert record["trigger"].startswith("push by ")


def test_push_to_main_with_an_unreachable_registry_fails_loudly(project, tmp_path):
    result = run_act(
        project,
        "push",
        push("refs/heads/main"),
        workflow="main.yml",
        tmp_path=tmp_path,
        secrets={"MLFLOW_TRACKING_URI": f"http://127.0.0.1:{free_port()}"},
        env={"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0", "MLFLOW_HTTP_REQUEST_TIMEOUT": "5"},
    )
    print(f"\n[act] main.yml, registry down: {result.seconds:.0f} s, jobs {result.job_results}")
    assert not result.succeeded
    errors = result.annotations("error")
    assert any("'champion' unchanged" in e and "unreachable" in e for e in errors), errors


def test_tag_push_deploys_the_champion_through_nginx(tmp_path_factory, tmp_path):
    # A shared registry stands for the MLflow server: the project's own sqlite store, given
    # to the workflow as MLFLOW_TRACKING_URI, with a champion promoted beforehand.
    project = render_project(tmp_path_factory.mktemp("release-act"))
    make(project, "repro")
    make(project, "promote")
    registry = f"sqlite:///{project / 'mlflow.db'}"
    result = run_act(
        project,
        "push",
        push("refs/tags/v1.0.0"),
        workflow="release.yml",
        tmp_path=tmp_path,
        secrets={"MLFLOW_TRACKING_URI": registry},
    )
    print(f"\n[act] release.yml: {result.seconds:.0f} s, jobs {result.job_results}")
    assert result.succeeded, result.tail()
    assert "make deploy` on this runner: succeeded" in result.summary
    assert "deploy: version 1 serving" in result.summary
    assert "stopped afterwards" in result.summary
