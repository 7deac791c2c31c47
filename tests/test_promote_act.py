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


@pytest.fixture(scope="module")
def two_pushes(project, tmp_path_factory) -> tuple[list, Path]:
    """Two merges to main on fresh runners with no MLflow server: the `gh` stand-in keeps
    the releases the first run creates (ACT_GH_STATE_DIR) for the second to download."""
    state = tmp_path_factory.mktemp("gh-releases")
    runs = []
    for number in (1, 2):
        result = run_act(
            project,
            "push",
            push("refs/heads/main"),
            workflow="main.yml",
            tmp_path=tmp_path_factory.mktemp(f"push-{number}"),
            env={"ACT_GH_STATE_DIR": str(state)},
        )
        print(f"\n[act] main.yml push {number}: {result.seconds:.0f} s, {result.job_results}")
        runs.append(result)
    return runs, state / "releases"


def test_push_to_main_promotes_the_first_model_and_publishes_it(two_pushes):
    (result, _), releases = two_pushes
    assert result.succeeded, result.tail()
    assert "Decision: promoted." in result.summary
    assert "first model: roc_auc" in result.summary
    assert "no champion release (model-v<N>) yet" in result.summary
    assert "New champion published as release `model-v1`" in result.summary
    assert result.outputs("promote")["champion-release"] == "model-v1"
    assert sorted(p.name for p in (releases / "model-v1").iterdir()) == [
        "model.joblib",
        "model_card.md",
        "record.json",
    ]
    create = next(c["argv"] for c in result.calls("gh") if c["argv"][:2] == ["release", "create"])
    assert "--latest=false" in create
    kept = result.artifact_dir / "promotion"
    record = json.loads(next(kept.rglob("record.json")).read_text())
    assert record["decision"] == "promoted"
    assert record["trigger"].startswith("push by ")
    assert create[create.index("--target") + 1] == record["commit"]


def test_next_push_gates_against_the_champion_restored_from_the_release(two_pushes):
    (_, result), releases = two_pushes
    assert result.succeeded, result.tail()
    print(f"\n[act] second push summary:\n{result.summary}")
    assert "restored release model-v1 as 'champion' (version 1)" in result.summary
    kept = result.artifact_dir / "promotion"
    record = json.loads(next(kept.rglob("record.json")).read_text())
    # Same commit, same model: compared with the restored champion on the same held-out
    # rows, the difference is exactly zero, so the gate keeps the champion.
    assert record["champion_version"] == "1"
    assert record["candidate_version"] == "2"
    assert record["decision"] == "not promoted"
    assert record["champion_metric"] == record["candidate_metric"]
    assert record["interval"] == [0.0, 0.0]
    assert "champion unchanged" in result.summary
    assert result.outputs("promote")["champion-release"] == ""
    assert sorted(p.name for p in releases.iterdir()) == ["model-v1"]


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
