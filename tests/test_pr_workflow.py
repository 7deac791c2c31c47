"""The generated pr.yml, executed end to end with nektos/act (see harness/README.md).

A generated project's `main` (pipeline run, metrics committed, data pushed to a local DVC
remote) lives in a bare `origin`; each scenario clones it, makes a pull-request branch and
runs the `model` job of pr.yml for a pull_request event, with a recording `gh` on PATH (the
report's default backend). One scenario asks for CML on a runner where npm cannot install it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from harness import STANDINS, ActResult, pull_request_event, run_act

from .conftest import make, render_project, run

pytestmark = pytest.mark.slow

IDENTITY = ["-c", "user.name=PR Author", "-c", "user.email=author@example.com"]
MARKER = "<!-- gitops-ml report: Model report -->"
COMMENTS = re.compile(r"^repos/acme/project/issues/7/comments$")
ROW = re.compile(
    r"^\| (?P<name>[\w.]+) \| (?P<base>[^|]+) \| (?P<pr>[^|]+) \| (?P<change>[^|]+) \|$"
)


def git(repo: Path, *args: str) -> str:
    return run(["git", *args], repo).stdout


@pytest.fixture(scope="module")
def origin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A bare repository whose `main` has run its pipeline, with the data in the DVC remote."""
    base = tmp_path_factory.mktemp("pr-origin")
    project = render_project(base / "render")
    make(project, "repro")
    # The workflow runs in act's copy of the repository: the remote must be an absolute path.
    run(["dvc", "remote", "modify", "storage", "url", str(base / "dvc-storage")], project)
    git(project, "add", "-A")
    git(project, *IDENTITY, "commit", "-q", "-m", "Run the pipeline: metrics and plots")
    run(["dvc", "push", "-q"], project)
    bare = base / "origin.git"
    git(base, "clone", "-q", "--bare", str(project), str(bare))
    return bare


def pull_request(origin: Path, tmp_path: Path, branch: str, change) -> Path:
    repo = tmp_path / "repo"
    git(tmp_path, "clone", "-q", str(origin), str(repo))
    # act names the repository after the remote (GITHUB_REPOSITORY); origin/main stays local.
    git(repo, "remote", "set-url", "origin", "https://github.com/acme/project.git")
    git(repo, "checkout", "-q", "-b", branch)
    change(repo)
    git(repo, "add", "-A")
    git(repo, *IDENTITY, "commit", "-q", "-m", f"PR: {branch}")
    return repo


def lower_c(repo: Path) -> None:
    params = repo / "params.yaml"
    text = params.read_text(encoding="utf-8")
    assert "    C: 1.0\n" in text
    params.write_text(text.replace("    C: 1.0\n", "    C: 0.05\n"), encoding="utf-8")


def break_the_data(repo: Path) -> None:
    """Real data with a unit error: 15 negative radii, fed through data.source."""
    from sklearn.datasets import load_breast_cancer

    frame = load_breast_cancer(as_frame=True).frame
    frame.loc[:14, "mean radius"] = -5.0
    frame.to_csv(repo / "data/raw/dataset.csv", index=False)
    params = repo / "params.yaml"
    text = params.read_text(encoding="utf-8")
    assert "  source: demo\n" in text
    params.write_text(text.replace("  source: demo\n", "  source: data/raw/dataset.csv\n"))


def act_pr(repo: Path, tmp_path: Path, branch: str, *, fork: bool = False, **kwargs) -> ActResult:
    event = pull_request_event(7, branch, fork=fork)
    return run_act(
        repo, "pull_request", event, workflow="pr.yml", job="model", tmp_path=tmp_path, **kwargs
    )


def comment(result: ActResult) -> str:
    """The report posted by the one gh call that wrote the comment (watermark line removed)."""
    writes = [c for c in result.calls("gh") if "--method" in c["argv"]]
    assert len(writes) == 1, result.calls("gh")
    markdown = writes[0]["markdown"]
    assert markdown.startswith(MARKER + "\n"), markdown[:200]
    return markdown.removeprefix(MARKER + "\n")


def metric_rows(markdown: str) -> dict[str, tuple[str, str, str]]:
    section = markdown.split("### Metrics", 1)[1].split("###", 1)[0]
    rows = {}
    for line in section.splitlines():
        match = ROW.match(line.strip())
        if match and match["name"] != "Metric":
            rows[match["name"]] = (
                match["base"].strip(),
                match["pr"].strip(),
                match["change"].strip(),
            )
    return rows


@pytest.fixture(scope="module")
def good_pr(origin, tmp_path_factory) -> tuple[Path, ActResult]:
    tmp_path = tmp_path_factory.mktemp("good-pr")
    repo = pull_request(origin, tmp_path, "tune-c", lower_c)
    return repo, act_pr(repo, tmp_path, "tune-c")


def test_good_pr_succeeds_and_posts_one_sticky_comment(good_pr):
    _, result = good_pr
    print(f"act wall time, good PR: {result.seconds:.1f} s")
    assert result.succeeded, result.tail()
    assert result.step("Validate the data") == "success"
    assert result.step("Train (dvc repro with the run-cache)") == "success"
    assert result.outputs("validate")["success"] == "true"
    assert result.outputs("validate")["summary"] == "reports/validation.json"
    assert result.outputs("train")["metrics-path"] == "reports/metrics.json"
    find, write = result.calls("gh")
    assert find["argv"][:2] == ["api", "--paginate"] and COMMENTS.match(find["argv"][2])
    assert MARKER in find["argv"][-1], "the comment is found by its watermark: one per PR"
    assert write["argv"][:3] == ["api", "--method", "POST"] and COMMENTS.match(write["argv"][3])
    assert write["token"], "gh needs the token to comment"
    assert result.calls("cml") == []
    assert comment(result)


def flat(values: dict, prefix: str = "") -> dict:
    """metrics.json as `dvc metrics diff` names its keys: nested keys joined by dots."""
    found = {}
    for key, value in values.items():
        if isinstance(value, dict):
            found.update(flat(value, f"{prefix}{key}."))
        else:
            found[f"{prefix}{key}"] = value
    return found


def test_good_pr_report_compares_every_metric_with_main(good_pr):
    repo, result = good_pr
    markdown = comment(result)
    assert markdown.startswith("## Model report: `tune-c` vs `main`")
    main_metrics = flat(json.loads(git(repo, "show", "origin/main:reports/metrics.json")))
    rows = metric_rows(markdown)
    assert set(rows) == set(main_metrics)
    # The evaluate stage's own keys: which class the binary scores are about, rows per class.
    assert rows["positive_label"][:2] == ("0", "0")
    assert "about the positive class `0`." in markdown
    changed = 0
    scores = {k: v for k, v in main_metrics.items() if k not in {"average", "positive_label"}}
    for name, main_value in scores.items():
        base, pr, change = rows[name]
        assert base == f"{main_value:.6g}"
        expected = float(pr) - main_value
        assert change == "0" if expected == 0 else abs(float(change) - expected) < 1e-5
        changed += change != "0"
    assert changed, "lowering C must move at least one metric"


def test_good_pr_report_has_params_validation_data_and_plots(good_pr):
    repo, result = good_pr
    markdown = comment(result)
    assert "| `train.logistic_regression.C` | 1 | 0.05 |" in markdown
    assert "✅ **Passed**: suite `my-ml-project`" in markdown
    assert "| `data/interim/train.csv` | 455 | 455 | 0 | unchanged | none |" in markdown
    plots = sorted(p.split("/")[-1] for p in git(repo, "ls-files", "reports/plots").split())
    images = [p for p in plots if p.endswith(".png")]
    assert images
    for image in images:
        assert f"`{image}`" in markdown
        assert (result.artifact_dir / "model-report" / image).is_file()
    assert f"[plots](file://{result.artifact_dir}/model-report)" in markdown


def test_good_pr_job_summary_holds_the_same_report(good_pr):
    _, result = good_pr
    markdown = comment(result)
    assert markdown in result.summary
    assert "### Training metrics" in result.summary
    assert "### Data validation ✅ passed" in result.summary


def test_broken_data_fails_at_validation_and_the_report_names_the_expectation(origin, tmp_path):
    repo = pull_request(origin, tmp_path, "bad-data", break_the_data)
    result = act_pr(repo, tmp_path, "bad-data")
    print(f"act wall time, broken-data PR: {result.seconds:.1f} s")
    assert not result.succeeded
    assert result.job_results == {"model": "failure"}
    assert result.step("Validate the data") == "failure"
    assert result.outputs("validate")["success"] == "false"
    assert result.step("Train (dvc repro with the run-cache)") in (None, "skipped")
    errors = result.annotations("error")
    assert any("expect_column_values_to_be_between failed on mean radius: " in e for e in errors), (
        errors
    )
    markdown = comment(result)
    assert "❌ **Failed**" in markdown
    assert "`expect_column_values_to_be_between` | `mean radius` |" in markdown
    assert "-5" in markdown
    assert "Training did not run on this pull request" in markdown
    assert "### Data validation ❌ failed" in result.summary


def test_fork_pr_trains_and_summarises_but_does_not_comment(origin, tmp_path):
    repo = pull_request(origin, tmp_path, "fork-tune", lower_c)
    result = act_pr(repo, tmp_path, "fork-tune", fork=True)
    print(f"act wall time, fork PR: {result.seconds:.1f} s")
    assert result.succeeded, result.tail()
    assert result.calls("cml") == []
    assert result.calls("gh") == []
    notices = result.annotations("notice")
    assert any("comes from a fork" in n and "job summary" in n for n in notices), notices
    assert "| `train.logistic_regression.C` | 1 | 0.05 |" in result.summary
    assert "| Metric | main | this PR | Change |" in result.summary


def test_lint_and_test_job_runs_the_projects_own_commands(origin, tmp_path):
    repo = pull_request(origin, tmp_path, "tune-c", lower_c)
    event = pull_request_event(7, "tune-c")
    result = run_act(repo, "pull_request", event, workflow="pr.yml", job="test", tmp_path=tmp_path)
    print(f"act wall time, lint and test job: {result.seconds:.1f} s")
    assert result.job_results == {"test": "success"}, result.tail()
    assert result.step("Lint") == "success"
    assert result.step("Test") == "success"
    assert " passed" in result.log
    assert result.calls("cml") == []
    assert result.calls("gh") == []


# ------------------------------------------------------------------ CML unavailable: gh posts

NO_CML = STANDINS / "bin-without-cml"  # gh recorder and an npm that fails on canvas; no cml
CML_SPEC = "@dvcorg/cml@0.20.6"


def choose_cml(repo: Path) -> None:
    """The project asks for CML (`backend: cml`) and lowers C."""
    lower_c(repo)
    workflow = repo / ".github" / "workflows" / "pr.yml"
    text = workflow.read_text(encoding="utf-8")
    assert text.count("          plot-delivery: artifact\n") == 1
    workflow.write_text(
        text.replace(
            "          plot-delivery: artifact\n",
            "          plot-delivery: artifact\n          backend: cml\n",
        ),
        encoding="utf-8",
    )


@pytest.fixture(scope="module")
def cml_unavailable(origin, tmp_path_factory) -> tuple[ActResult, ActResult, Path]:
    """Two pushes to one PR asking for CML, on a runner where `npm install` fails on canvas;
    gh keeps the PR's comments between the runs as GitHub would."""
    tmp_path = tmp_path_factory.mktemp("cml-unavailable")
    state = tmp_path / "github"
    state.mkdir()
    repo = pull_request(origin, tmp_path, "cml-tune", choose_cml)
    options = {"recorders": NO_CML, "env": {"ACT_GH_STATE_DIR": str(state)}}
    first = act_pr(repo, tmp_path, "cml-tune", **options)
    params = repo / "params.yaml"
    params.write_text(params.read_text().replace("    C: 0.05\n", "    C: 0.2\n"))
    git(repo, *IDENTITY, "commit", "-q", "-am", "PR: second push")
    second = act_pr(repo, tmp_path, "cml-tune", **options)
    return first, second, state


def test_cml_that_npm_cannot_install_falls_back_to_gh_with_one_notice(cml_unavailable):
    first, second, _ = cml_unavailable
    print(f"act wall time, CML unavailable: {first.seconds:.1f} s and {second.seconds:.1f} s")
    for result in (first, second):
        assert result.succeeded, result.tail()
        (install,) = result.calls("npm")
        assert install["argv"] == [
            "install", "--global", "--ignore-scripts", "--no-fund", "--no-audit", CML_SPEC
        ]  # fmt: skip
        assert not install["token"], "npm (and any install script) never sees the token"
        assert result.calls("cml") == []
        assert "Package pixman-1 was not found in the pkg-config search path" in result.log
        notices = [n for n in result.annotations("notice") if "CML" in n]
        assert notices == [
            f"CML is unavailable (npm install {CML_SPEC} failed (exit 1, log above)): posting "
            "the report through the GitHub CLI (gh) instead."
        ], result.annotations("notice")
    print(
        "\n".join(
            f"run {i}: ::notice::{n}"
            for i, r in enumerate((first, second), 1)
            for n in r.annotations("notice")
            if "CML" in n
        )
    )
    assert "report: created the 'Model report' comment with gh" in first.log
    assert "report: updated the 'Model report' comment with gh" in second.log


def test_cml_unavailable_posts_one_sticky_comment_updated_on_the_next_push(cml_unavailable):
    first, second, state = cml_unavailable
    (created,) = [c["argv"] for c in first.calls("gh") if "--method" in c["argv"]]
    assert created[:3] == ["api", "--method", "POST"] and COMMENTS.match(created[3])
    (edited,) = [c["argv"] for c in second.calls("gh") if "--method" in c["argv"]]
    for i, result in enumerate((first, second), 1):
        print(f"run {i} gh calls:", *(" ".join(c["argv"][:4]) for c in result.calls("gh")))
    assert edited[:3] == ["api", "--method", "PATCH"]
    comments = json.loads((state / "comments.json").read_text(encoding="utf-8"))
    assert len(comments) == 1, "the second push edits the first comment"
    assert edited[3] == f"repos/acme/project/issues/comments/{comments[0]['id']}"
    assert comments[0]["body"] == MARKER + "\n" + comment(second)


def test_cml_unavailable_comment_is_the_full_report(cml_unavailable, origin):
    _, second, _ = cml_unavailable
    markdown = comment(second)
    print(f"the sticky comment after the second push ({len(markdown)} characters):\n{markdown}")
    assert markdown.startswith("## Model report: `cml-tune` vs `main`")
    assert "✅ **Passed**: suite `my-ml-project`" in markdown
    assert "| Metric | main | this PR | Change |" in markdown
    assert len(metric_rows(markdown)) > 3
    assert "| `train.logistic_regression.C` | 1 | 0.2 |" in markdown
    assert "| `data/interim/train.csv` | 455 | 455 | 0 | unchanged | none |" in markdown
    plots = markdown.split("### Plots", 1)[1]
    committed = git(origin, "ls-tree", "--name-only", "main", "reports/plots/").split()
    images = [Path(p).name for p in committed if p.endswith(".png")]
    assert images
    for image in images:
        assert f"`{image}`" in plots
    assert f"[plots](file://{second.artifact_dir}/model-report)" in plots
    assert markdown in second.summary
