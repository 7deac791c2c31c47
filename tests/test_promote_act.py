"""The generated `main.yml` (push to main -> actions/promote), `release.yml` (push of a `v*`
tag -> actions/deploy) and `rollback.yml` (workflow_dispatch -> actions/deploy), run for real
with nektos/act (harness/README.md), all in the default setup: no MLflow server, the
champion kept as GitHub releases `model-v<N>` by the stateful `gh` stand-in (ACT_GH_STATE_DIR).

One history, in file order: two merges (model-v1, then not promoted), a tag push that deploys
model-v1, a third merge whose gate lets a different model through (model-v2), then two
rollbacks (model-v3 = model-v1's model, model-v4 = model-v2's). The with-server path of
actions/deploy is covered in-process (tests/test_promote_deploy_actions.py) and by
tests/test_deploy.py; main.yml with a server by the unreachable-registry test below."""

from __future__ import annotations

import json
import socket
import subprocess
from pathlib import Path

import pytest

from gitops_ml import __version__
from harness import run_act
from tests.conftest import render_project

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
def gh_state(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The GitHub releases of the project, kept by the `gh` stand-in across act runs."""
    return tmp_path_factory.mktemp("gh-state")


def with_releases(state: Path) -> dict[str, str]:
    return {"ACT_GH_STATE_DIR": str(state)}


@pytest.fixture(scope="module")
def two_pushes(project, gh_state, tmp_path_factory) -> tuple[list, Path]:
    """Two merges to main on fresh runners with no MLflow server: the `gh` stand-in keeps
    the releases the first run creates (ACT_GH_STATE_DIR) for the second to download."""
    runs = []
    for number in (1, 2):
        result = run_act(
            project,
            "push",
            push("refs/heads/main"),
            workflow="main.yml",
            tmp_path=tmp_path_factory.mktemp(f"push-{number}"),
            env=with_releases(gh_state),
        )
        print(f"\n[act] main.yml push {number}: {result.seconds:.0f} s, {result.job_results}")
        runs.append(result)
    return runs, gh_state / "releases"


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
    # the promotion result the action read (src/gitops_ml/results.py)
    assert (record["schema_version"], record["kind"]) == (1, "promotion")
    assert record["decision"] == "promoted"
    assert record["trigger"].startswith("push by ")
    # the runner's environment got the gitops-ml the project pins, from the action's checkout
    assert f"setup: gitops-ml {__version__} (the project's pin) from this action's checkout" in (
        result.log
    )
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


def test_tag_push_without_a_server_deploys_the_champion_of_the_latest_release(
    project, two_pushes, gh_state, tmp_path
):
    # Given model-v1 published by the first merge and no MLFLOW_TRACKING_URI secret
    _, releases = two_pushes
    assert sorted(p.name for p in releases.iterdir()) == ["model-v1"]
    # When a v* tag is pushed (GitHub-hosted runner: no DEPLOY_RUNNER variable)
    result = run_act(
        project,
        "push",
        push("refs/tags/v1.0.0"),
        workflow="release.yml",
        tmp_path=tmp_path,
        env=with_releases(gh_state),
    )
    print(f"\n[act] release.yml, no server: {result.seconds:.0f} s, jobs {result.job_results}")
    print(result.summary)
    # Then the fresh runner restored model-v1 with the job's token, and nginx served it: the
    # first deployment answers real predictions through nginx before it reports "serving"
    assert result.succeeded, result.tail()
    downloads = [c for c in result.calls("gh") if c["argv"][:2] == ["release", "download"]]
    assert [c["argv"][2] for c in downloads] == ["model-v1"]
    assert all(c["token"] for c in downloads)
    summary = result.summary
    assert "make deploy` on this runner: succeeded" in summary
    assert "Restored: restored release model-v1 as 'champion' (version 1)." in summary
    # outputs and summary come from the deployment result file, never from make's stdout
    url = result.outputs("deploy")["url"]
    assert f"Outcome: **deployed**: version 1 serves all traffic; URL {url}" in summary
    assert "- deploy: version 1 serving in" in summary
    assert "- stopped afterwards (stop-after): undeploy: stopped server v1 (pid " in summary
    assert result.outputs("deploy")["release"] == "model-v1"
    assert result.outputs("deploy")["url"].startswith("http://127.0.0.1:")
    assert not any(c["argv"][:2] == ["release", "create"] for c in result.calls("gh"))


@pytest.fixture(scope="module")
def second_champion(project, two_pushes, gh_state, tmp_path_factory) -> Path:
    """A third merge: a much weaker regularisation constant gives a different model, and
    a non-inferiority margin of -1 lets the gate promote it: model-v2."""
    params = project / "params.yaml"
    text = params.read_text(encoding="utf-8")
    changed = text.replace("    C: 1.0\n", "    C: 0.001\n").replace(
        "min_improvement: 0.0\n", "min_improvement: -1.0\n"
    )
    assert changed.count("C: 0.001") == 1 and "min_improvement: -1.0" in changed
    params.write_text(changed, encoding="utf-8")
    subprocess.run(
        ["git", "commit", "-qam", "Weaker model, non-inferiority margin"], cwd=project, check=True
    )
    result = run_act(
        project,
        "push",
        push("refs/heads/main"),
        workflow="main.yml",
        tmp_path=tmp_path_factory.mktemp("push-3"),
        env=with_releases(gh_state),
    )
    print(f"\n[act] main.yml push 3: {result.seconds:.0f} s, {result.job_results}")
    assert result.succeeded, result.tail()
    assert result.outputs("promote")["champion-release"] == "model-v2", result.summary
    releases = gh_state / "releases"
    models = [(releases / tag / "model.joblib").read_bytes() for tag in ("model-v1", "model-v2")]
    assert models[0] != models[1]
    return releases


def rollback_run(project, gh_state, tmp_path, version: str):
    result = run_act(
        project,
        "workflow_dispatch",
        {"inputs": {"version": version}, "repository": {"full_name": "acme/project"}},
        workflow="rollback.yml",
        tmp_path=tmp_path,
        env=with_releases(gh_state),
    )
    print(f"\n[act] rollback.yml version={version!r}: {result.seconds:.0f} s, {result.job_results}")
    print(result.summary)
    return result


def test_rollback_without_a_server_publishes_the_previous_model_as_a_new_release(
    project, second_champion, gh_state, tmp_path
):
    releases = second_champion
    # When the rollback workflow is dispatched with no version on a GitHub-hosted runner
    result = rollback_run(project, gh_state, tmp_path, "")
    # Then the registry's champion moved back (nothing serves here) and model-v3 records it
    assert result.succeeded, result.tail()
    summary = result.summary
    assert "make rollback` on this runner: succeeded" in summary
    assert "Outcome: **rolled back**: nothing serves on this runner; registry `champion`" in (
        summary
    )
    assert "release model-v1 as 'previous-champion'" in summary
    assert "- rollback: nothing is deployed here; registry 'champion' moved from" in summary
    assert "Rollback published as release model-v3 (rollback from model-v2 to model-v1)" in summary
    assert sorted(p.name for p in releases.iterdir()) == ["model-v1", "model-v2", "model-v3"]
    restored = releases / "model-v3"
    assert (restored / "model.joblib").read_bytes() == (
        releases / "model-v1" / "model.joblib"
    ).read_bytes()
    record = json.loads((restored / "record.json").read_text())
    assert record["decision"] == "rollback"
    assert (record["rolled_back_from"], record["restored_release"]) == ("model-v2", "model-v1")
    assert record["trigger"].startswith("workflow_dispatch by ")
    assert record["restored_record"]["decision"] == "promoted"
    assert result.outputs("rollback")["release"] == "model-v3"


def test_rollback_to_a_given_release_without_a_server(project, second_champion, gh_state, tmp_path):
    releases = second_champion
    assert (releases / "model-v3").is_dir(), "runs after the default rollback (file order)"
    # When the rollback names release 2 (the model rolled back from just before)
    result = rollback_run(project, gh_state, tmp_path, "2")
    # Then model-v2's model is the champion again, recorded as model-v4
    assert result.succeeded, result.tail()
    assert "Rollback published as release model-v4 (rollback from model-v3 to model-v2)" in (
        result.summary
    )
    record = json.loads((releases / "model-v4" / "record.json").read_text())
    assert (record["decision"], record["restored_release"]) == ("rollback", "model-v2")
    assert (releases / "model-v4" / "model.joblib").read_bytes() == (
        releases / "model-v2" / "model.joblib"
    ).read_bytes()
