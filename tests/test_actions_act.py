"""Each reusable action on its own, executed through nektos/act (harness/, the act harness).

A tiny git repository holds one workflow whose jobs call an action with bad inputs (each must
fail with its ::error:: message) or drive the report action's posting backends against the
recording `cml`/`gh` stand-ins. No project pipeline runs here: tests/test_pr_workflow.py does
that, so these runs take seconds.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from harness import ActResult, run_act

TEMPLATE = "acme/cookiecutter-gitops-ml"
REF = "v1"
IDENTITY = ["-c", "user.name=T", "-c", "user.email=t@example.com"]


def action(name: str) -> str:
    return f"{TEMPLATE}/actions/{name}@{REF}"


WORKFLOW = f"""
name: Actions
on: push
permissions:
  contents: read
jobs:
  setup-bad-python:
    runs-on: ubuntu-latest
    steps:
      - uses: {action("setup")}
        with:
          python-version: latest
  setup-half-aws-credentials:
    runs-on: ubuntu-latest
    steps:
      - uses: {action("setup")}
        with:
          aws-access-key-id: AKIAEXAMPLE
  validate-bad-stage:
    runs-on: ubuntu-latest
    steps:
      - uses: {action("validate-data")}
        with:
          stage: "validate; rm -rf ~"
  validate-no-pipeline:
    runs-on: ubuntu-latest
    steps:
      - uses: {action("validate-data")}
  train-bad-push:
    runs-on: ubuntu-latest
    steps:
      - uses: {action("train")}
        with:
          push: maybe
  report-bad-delivery:
    runs-on: ubuntu-latest
    steps:
      - uses: {action("report")}
        with:
          plot-delivery: imgur
  report-gh:
    runs-on: ubuntu-latest
    steps:
      - id: report
        uses: {action("report")}
        with:
          base-ref: main
          backend: gh
          pr-number: "7"
          data: ""
          validation-summary: ""
          plot-delivery: none
          trained: "false"
      - name: Show outputs
        env:
          POSTED: ${{{{ steps.report.outputs.posted }}}}
        run: echo "posted=$POSTED" >> "$GITHUB_STEP_SUMMARY"
  report-cml:
    runs-on: ubuntu-latest
    steps:
      - uses: {action("report")}
        with:
          base-ref: main
          backend: cml
          data: ""
          validation-summary: ""
          plot-delivery: cml-publish
"""


@pytest.fixture(scope="module")
def repo(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("actions-repo")
    (path / ".github" / "workflows").mkdir(parents=True)
    (path / ".github" / "workflows" / "actions.yml").write_text(WORKFLOW, encoding="utf-8")
    for command in (
        ["git", "init", "-q", "-b", "feature"],
        ["git", "remote", "add", "origin", "https://github.com/acme/tiny.git"],
        ["git", "add", "-A"],
        ["git", *IDENTITY, "commit", "-q", "-m", "workflow"],
    ):
        subprocess.run(command, cwd=path, check=True, capture_output=True)
    return path


def act(repo: Path, tmp_path: Path, job: str, **env: str) -> ActResult:
    return run_act(
        repo,
        "push",
        {"ref": "refs/heads/feature"},
        workflow="actions.yml",
        job=job,
        tmp_path=tmp_path,
        template_repo=TEMPLATE,
        template_ref=REF,
        env=env,
    )


@pytest.mark.parametrize(
    ("job", "message"),
    [
        ("setup-bad-python", "python-version must look like 3.11 or 3.11.9, got 'latest'"),
        (
            "setup-half-aws-credentials",
            "aws-access-key-id and aws-secret-access-key must be given together",
        ),
        ("validate-bad-stage", "stage 'validate; rm -rf ~' is not a DVC stage name"),
        ("train-bad-push", "push must be true or false, got 'maybe'"),
        (
            "report-bad-delivery",
            "plot-delivery must be artifact, cml-publish or none, got 'imgur'",
        ),
    ],
)
def test_bad_input_fails_the_job_with_an_error_annotation(repo, tmp_path, job, message):
    result = act(repo, tmp_path, job)
    assert result.job_results == {job: "failure"}, result.tail()
    assert message in result.annotations("error"), result.annotations("error")


def test_setup_never_prints_a_secret_it_was_given(repo, tmp_path):
    result = act(repo, tmp_path, "setup-half-aws-credentials")
    assert "::add-mask::AKIAEXAMPLE" in result.log or "***" in result.log
    leaked = [line for line in result.log.splitlines() if "AKIAEXAMPLE" in line]
    assert all("add-mask" in line for line in leaked), leaked


def test_validate_data_outside_a_dvc_project_says_the_stage_did_not_run(repo, tmp_path):
    result = act(repo, tmp_path, "validate-no-pipeline")
    assert result.job_results == {"validate-no-pipeline": "failure"}
    assert "dvc repro validate failed before writing reports/validation.json" in result.annotations(
        "error"
    )
    assert "### Data validation did not run" in result.summary


def test_report_gh_backend_creates_the_sticky_comment(repo, tmp_path):
    result = act(repo, tmp_path, "report-gh")
    assert result.job_results == {"report-gh": "success"}, result.tail()
    calls = result.calls("gh")
    assert [c["argv"][:4] for c in calls] == [
        ["api", "--paginate", "repos/acme/tiny/issues/7/comments", "--jq"],
        ["api", "--method", "POST", "repos/acme/tiny/issues/7/comments"],
    ]
    assert calls[1]["markdown"].startswith("<!-- gitops-ml report: Model report -->\n## Model")
    assert "The base branch `main` is not in this clone" in calls[1]["markdown"]
    assert result.calls("cml") == []
    assert "posted=true" in result.summary


def test_report_cml_publish_is_explicit_and_passes_publish(repo, tmp_path):
    result = act(repo, tmp_path, "report-cml")
    assert result.job_results == {"report-cml": "success"}, result.tail()
    (call,) = result.calls("cml")
    assert call["argv"][:2] == ["comment", "update"]
    assert "--publish" in call["argv"]


def test_report_fails_clearly_when_cml_cannot_comment(repo, tmp_path):
    result = act(repo, tmp_path, "report-cml", ACT_FAKE_CML_EXIT="1")
    assert result.job_results == {"report-cml": "failure"}
    errors = result.annotations("error")
    assert any(
        e.startswith("cml comment update failed: cml: simulated failure (HTTP 403") for e in errors
    ), errors
    # the job summary still has the report, so nothing is lost when posting fails
    assert "## Model report" in result.summary


def test_the_harness_refuses_an_action_without_a_stand_in(repo, tmp_path):
    from harness import HarnessError

    workflow = repo / ".github" / "workflows" / "unknown.yml"
    workflow.write_text(
        "on: push\njobs:\n  j:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - uses: someone/unknown-action@0123456789012345678901234567890123456789\n"
    )
    try:
        with pytest.raises(
            HarnessError, match="no stand-in under harness/standins/ for: someone/unknown"
        ):
            run_act(
                repo,
                "push",
                {},
                workflow="unknown.yml",
                tmp_path=tmp_path,
                template_repo=TEMPLATE,
                template_ref=REF,
            )
    finally:
        workflow.unlink()
