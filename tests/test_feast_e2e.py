"""A `feature_store=feast` project end to end: its pull request, merge and release workflows
run by act, and the served model answering requests that carry only entity keys.

One history: `main` has run its pipeline (feature repository applied, online store
materialized, reports/feature_store.json committed); a pull request stops using a column as a
feature, and its report lists the feature view's change; a merge promotes the model; a `v*`
tag deploys it. Then `make deploy` on the project serves the champion behind nginx and real
HTTP requests with keys only, full rows and an unknown key get their answers.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path

import pandas as pd
import pytest

from harness import run_act

from .conftest import make, render_project, run
from .test_pr_workflow import IDENTITY, act_pr, comment, git, pull_request

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def origin(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The rendered project after `make repro` (committed) and a bare clone as `origin`."""
    base = tmp_path_factory.mktemp("feast-origin")
    project = render_project(base / "render", project_name="Feast Flow", feature_store="feast")
    make(project, "repro")
    run(["dvc", "remote", "modify", "storage", "url", str(base / "dvc-storage")], project)
    git(project, "add", "-A")
    git(project, *IDENTITY, "commit", "-q", "-m", "Run the pipeline: features, metrics, plots")
    run(["dvc", "push", "-q"], project)
    bare = base / "origin.git"
    git(base, "clone", "-q", "--bare", str(project), str(bare))
    return project, bare


def ignore_mean_radius(repo: Path) -> None:
    """Stop using `mean radius` as a feature: params and the expectation suite agree."""
    params = repo / "params.yaml"
    text = params.read_text(encoding="utf-8")
    assert "  column_types: {}\n" in text
    params.write_text(
        text.replace("  column_types: {}\n", '  column_types: {"mean radius": ignore}\n'),
        encoding="utf-8",
    )
    path = repo / "expectations" / "suite.json"
    suite = json.loads(path.read_text(encoding="utf-8"))
    kept = []
    for expectation in suite["expectations"]:
        kwargs = expectation["kwargs"]
        if kwargs.get("column") == "mean radius":
            continue
        if "column_set" in kwargs:
            kwargs["column_set"] = [c for c in kwargs["column_set"] if c != "mean radius"]
        kept.append(expectation)
    suite["expectations"] = kept
    path.write_text(json.dumps(suite, indent=2) + "\n", encoding="utf-8")


def test_pull_request_report_lists_the_feature_view_change(origin, tmp_path):
    _, bare = origin
    repo = pull_request(bare, tmp_path, "drop-radius", ignore_mean_radius)
    result = act_pr(repo, tmp_path, "drop-radius")
    assert result.succeeded, result.tail()
    markdown = comment(result)
    section = markdown.split("### Feature store", 1)[1].split("###", 1)[0]
    print(f"\n[act] pr.yml with Feast: {result.seconds:.0f} s\n{section}")
    assert "Feature service `feast-flow` version `sha256:" in section
    assert "entity keys `patient_id`; 29 features served." in section
    assert "- feature view `features`: removed field `mean radius`" in section
    assert "- feature service `feast-flow`: version sha256:" in section
    assert "data.column_types" in markdown  # the params diff shows the cause


def test_merge_promotes_and_a_tag_deploys_the_feature_store_model(origin, tmp_path_factory):
    project, _ = origin
    state = tmp_path_factory.mktemp("feast-gh-state")
    event = {"repository": {"full_name": "acme/project", "name": "project"}}
    merged = run_act(
        project, "push", {**event, "ref": "refs/heads/main"}, workflow="main.yml",
        tmp_path=tmp_path_factory.mktemp("feast-main"), env={"ACT_GH_STATE_DIR": str(state)},
    )  # fmt: skip
    print(f"\n[act] main.yml with Feast: {merged.seconds:.0f} s, {merged.job_results}")
    assert merged.succeeded, merged.tail()
    assert "Decision: promoted." in merged.summary
    # The release's audit record carries the feature spec, so a restored champion keeps it.
    record = json.loads((state / "releases" / "model-v1" / "record.json").read_text())
    spec = json.loads((project / "reports" / "feature_store.json").read_text())["spec"]
    assert record["feature_store"] == spec
    released = run_act(
        project, "push", {**event, "ref": "refs/tags/v1.0.0"}, workflow="release.yml",
        tmp_path=tmp_path_factory.mktemp("feast-release"), env={"ACT_GH_STATE_DIR": str(state)},
    )  # fmt: skip
    print(f"[act] release.yml with Feast: {released.seconds:.0f} s\n{released.summary}")
    assert released.succeeded, released.tail()
    assert "Outcome: **deployed**: version 1 serves all traffic" in released.summary


def post(url: str, frame: pd.DataFrame) -> tuple[int, dict]:
    body = json.dumps({"dataframe_split": json.loads(frame.to_json(orient="split", index=False))})
    request = urllib.request.Request(
        f"{url}/invocations", data=body.encode(), headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_the_deployed_model_answers_entity_keys_like_full_rows(origin):
    project, _ = origin
    make(project, "promote")
    make(project, "deploy")
    try:
        url = json.loads((project / "reports" / "deploy" / "result.json").read_text())["url"]
        test = pd.read_csv(project / "data" / "interim" / "test_features.csv")
        schema = json.loads((project / "data" / "interim" / "schema.json").read_text())
        features = [n for n, c in schema["columns"].items() if c["type"] == "numeric"]
        status, by_keys = post(url, test[["patient_id"]].head(10))
        assert status == 200, by_keys
        status, by_rows = post(url, test[features].head(10))
        assert status == 200, by_rows
        assert by_keys == by_rows
        status, unknown = post(url, pd.DataFrame({"patient_id": [1001, 424242]}))
        assert status == 400
        assert unknown["message"].endswith(
            "unknown entity: patient_id=424242 not in the online store of feature service "
            "'feast-flow'; send a known key or the full feature row"
        )
        # The prediction log holds the features the model used, so monitoring reads them.
        logs = list((project / "logs").rglob("*.csv"))
        logged = pd.concat([pd.read_csv(p) for p in logs])
        assert logged["mean radius"].notna().all() and len(logged) == 20
    finally:
        make(project, "undeploy")
