"""actions/promote and actions/deploy, in-process: inputs, the commands they run, outputs and
job summaries. The generated project's own commands are faked here; tests/test_promote.py and
tests/test_deploy.py run them for real."""

from __future__ import annotations

import importlib.util
import json
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from types import ModuleType

import pytest

from gitops_ml import results
from gitops_ml.canary import StepResult
from gitops_ml.params import DeployParams
from gitops_ml.results import Deployment

ROOT = Path(__file__).resolve().parent.parent


def load(relative: str) -> ModuleType:
    path = ROOT / relative
    spec = importlib.util.spec_from_file_location(path.stem + "_under_test", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


promote_action = load("actions/promote/promote_action.py")
deploy_action = load("actions/deploy/deploy_action.py")
PREFIX = deploy_action.PREFIX

RECORD = {
    "schema_version": 1,
    "kind": "promotion",
    "decision": "not promoted",
    "reason": "roc_auc candidate 0.9410 vs champion 0.9954, improvement -0.0544, 95% CI "
    "[-0.1058, -0.0129] does not lie above +0.0000: no evidence the candidate is better, "
    "champion unchanged",
    "candidate_version": "3",
    "champion_version": "2",
}


class Recorder:
    """Stands in for subprocess: records each command and answers from a script."""

    def __init__(self, answers: dict[str, tuple[int, str, str]] | None = None, on_call=None):
        self.calls: list[tuple[list[str], dict[str, str]]] = []
        self.answers = answers or {}
        self.on_call = on_call

    def __call__(self, command: Sequence[str], env: Mapping[str, str]):
        self.calls.append((list(command), dict(env)))
        if self.on_call:
            self.on_call(list(command))
        key = " ".join(command[:2])
        code, out, err = self.answers.get(key, (0, "", ""))
        return subprocess.CompletedProcess(list(command), code, out, err)


@pytest.fixture
def github(tmp_path: Path) -> dict[str, str]:
    (tmp_path / "out").write_text("")
    (tmp_path / "summary").write_text("")
    return {
        "GITHUB_OUTPUT": str(tmp_path / "out"),
        "GITHUB_STEP_SUMMARY": str(tmp_path / "summary"),
    }


def outputs(env: Mapping[str, str]) -> dict[str, str]:
    lines = Path(env["GITHUB_OUTPUT"]).read_text().splitlines()
    return dict(line.split("=", 1) for line in lines)


def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    (root / "reports" / "promotion").mkdir(parents=True)
    (root / "Makefile").write_text("promote:\n")
    return root


def write_result(root: Path, record: dict) -> None:
    (root / "reports" / "promotion" / "record.json").write_text(json.dumps(record))
    (root / "reports" / "promotion" / "model_card.md").write_text("# Model card: m version 3\n")


# --- promote ------------------------------------------------------------------------------


def test_promote_not_promoted_succeeds_with_reason_in_summary(tmp_path, github, capsys):
    root = project(tmp_path)
    runner = Recorder(on_call=lambda command: write_result(root, RECORD))
    env = {**github, "PROMOTE_VENV": ".venv", "PROMOTE_TRACKING_URI": ""}
    assert promote_action.main(env, root, runner) == 0
    assert runner.calls[0][0] == ["make", "promote", "VENV=.venv"]
    assert outputs(env) == {
        "decision": "not promoted",
        "candidate-version": "3",
        "champion-version": "2",
        "record": "reports/promotion/record.json",
        "model-card": "reports/promotion/model_card.md",
        "champion-release": "",
    }
    summary = Path(env["GITHUB_STEP_SUMMARY"]).read_text()
    assert "# Model card: m version 3" in summary
    assert "does not outlive the job" in summary
    assert "::notice::version 3 not promoted: roc_auc candidate 0.9410" in capsys.readouterr().out


def test_promote_passes_the_registry_uri_through_the_environment(tmp_path, github):
    root = project(tmp_path)
    promoted = {**RECORD, "decision": "promoted"}
    runner = Recorder(on_call=lambda command: write_result(root, promoted))
    env = {**github, "PROMOTE_VENV": ".venv", "PROMOTE_TRACKING_URI": "https://mlflow.example"}
    assert promote_action.main(env, root, runner) == 0
    assert runner.calls[0][1]["MLFLOW_TRACKING_URI"] == "https://mlflow.example"
    assert outputs(env)["champion-version"] == "3"
    assert "does not outlive" not in Path(env["GITHUB_STEP_SUMMARY"]).read_text()


def test_promote_registry_failure_fails_with_the_reason(tmp_path, github, capsys):
    root = project(tmp_path)
    error = "error: MLflow registry at http://x is unreachable or failed; 'champion' was not moved"
    runner = Recorder({"make promote": (1, "", error)})
    env = {**github, "PROMOTE_VENV": ".venv", "PROMOTE_TRACKING_URI": ""}
    assert promote_action.main(env, root, runner) == 1
    out = capsys.readouterr().out
    assert "::error::promotion failed, 'champion' unchanged: MLflow registry at http://x" in out
    assert outputs(env) == {}


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("PROMOTE_VENV", "--help", "venv must be a directory path"),
        ("PROMOTE_TRACKING_URI", "mlflow.example", "tracking-uri must be a URI"),
    ],
)
def test_promote_invalid_inputs_fail_with_error(tmp_path, github, capsys, name, value, message):
    env = {**github, "PROMOTE_VENV": ".venv", "PROMOTE_TRACKING_URI": "", name: value}
    runner = Recorder()
    assert promote_action.main(env, project(tmp_path), runner) == 1
    assert f"::error::{message}" in capsys.readouterr().out
    assert runner.calls == []


def test_promote_without_makefile_names_the_input(tmp_path, github, capsys):
    env = {**github, "PROMOTE_VENV": ".venv", "PROMOTE_TRACKING_URI": ""}
    assert promote_action.main(env, tmp_path, Recorder()) == 1
    assert "set working-directory to the generated project" in capsys.readouterr().out


def store_runner(root: Path, record: dict, answers: dict | None = None) -> Recorder:
    """`make champion-pull`, `make promote` and `make champion-push` as a run prints them."""
    said = {
        "make champion-pull": (
            0,
            "champion-store: restored release model-v4 as 'champion' (version 1)\n",
            "",
        ),
        "make champion-push": (0, "champion-store: published release model-v5\n", ""),
    }
    return Recorder(
        {**said, **(answers or {})},
        on_call=lambda command: command[1] == "promote" and write_result(root, record),
    )


def test_promote_without_a_server_restores_and_publishes_the_champion(tmp_path, github):
    root = project(tmp_path)
    runner = store_runner(root, {**RECORD, "decision": "promoted"})
    env = {
        **github,
        "PROMOTE_VENV": ".venv",
        "PROMOTE_TRACKING_URI": "",
        "PROMOTE_GITHUB_TOKEN": "ghs_token",
        "GITHUB_REPOSITORY": "acme/project",
    }
    assert promote_action.main(env, root, runner) == 0
    targets = [command[1] for command, _ in runner.calls]
    assert targets == ["champion-pull", "promote", "champion-push"]
    for command, child in runner.calls:
        assert "MLFLOW_TRACKING_URI" not in child
        if command[1] == "promote":  # the model code never sees the token
            assert "GH_TOKEN" not in child and "PROMOTE_GITHUB_TOKEN" not in child
        else:
            assert (child["GH_TOKEN"], child["GH_REPO"]) == ("ghs_token", "acme/project")
    assert outputs(env)["champion-release"] == "model-v5"
    summary = Path(env["GITHUB_STEP_SUMMARY"]).read_text()
    assert "restored release model-v4 as 'champion' (version 1)" in summary
    assert "New champion published as release `model-v5`" in summary
    assert "does not outlive" not in summary


def test_promote_without_a_server_publishes_nothing_when_not_promoted(tmp_path, github):
    root = project(tmp_path)
    runner = store_runner(root, RECORD)
    env = {
        **github,
        "PROMOTE_VENV": ".venv",
        "PROMOTE_TRACKING_URI": "",
        "PROMOTE_GITHUB_TOKEN": "t",
    }
    assert promote_action.main(env, root, runner) == 0
    assert [command[1] for command, _ in runner.calls] == ["champion-pull", "promote"]
    assert outputs(env)["champion-release"] == ""


def test_promote_with_a_server_never_touches_the_releases(tmp_path, github):
    root = project(tmp_path)
    runner = store_runner(root, {**RECORD, "decision": "promoted"})
    env = {
        **github,
        "PROMOTE_VENV": ".venv",
        "PROMOTE_TRACKING_URI": "https://mlflow.example",
        "PROMOTE_GITHUB_TOKEN": "t",
    }
    assert promote_action.main(env, root, runner) == 0
    assert [command[1] for command, _ in runner.calls] == ["promote"]
    assert "GH_TOKEN" not in runner.calls[0][1]


def test_promote_fails_before_the_gate_when_the_champion_cannot_be_restored(
    tmp_path, github, capsys
):
    root = project(tmp_path)
    error = "error: gh release list failed: HTTP 401: Bad credentials"
    runner = store_runner(root, RECORD, {"make champion-pull": (1, "", error)})
    env = {
        **github,
        "PROMOTE_VENV": ".venv",
        "PROMOTE_TRACKING_URI": "",
        "PROMOTE_GITHUB_TOKEN": "t",
    }
    assert promote_action.main(env, root, runner) == 1
    assert [command[1] for command, _ in runner.calls] == ["champion-pull"]
    out = capsys.readouterr().out
    assert (
        "::error::could not restore the champion from the GitHub releases: gh release list" in out
    )


def test_promote_fails_when_a_new_champion_cannot_be_published(tmp_path, github, capsys):
    root = project(tmp_path)
    error = "error: gh release create failed: a release with the same tag name already exists"
    runner = store_runner(
        root, {**RECORD, "decision": "promoted"}, {"make champion-push": (1, "", error)}
    )
    env = {
        **github,
        "PROMOTE_VENV": ".venv",
        "PROMOTE_TRACKING_URI": "",
        "PROMOTE_GITHUB_TOKEN": "t",
    }
    assert promote_action.main(env, root, runner) == 1
    out = capsys.readouterr().out
    assert "the next run will not see this champion: gh release create failed" in out
    assert outputs(env)["record"] == "reports/promotion/record.json"  # still kept as artifact
    assert "Publishing the new champion failed" in Path(env["GITHUB_STEP_SUMMARY"]).read_text()


@pytest.mark.parametrize(
    ("record", "sentence"),
    [
        (
            {**RECORD, "schema_version": 2},
            "has promotion schema_version 2, which this action does not understand: it needs "
            "gitops-ml 1.x (the version released with these actions)",
        ),
        (
            {k: v for k, v in RECORD.items() if k not in ("schema_version", "kind")},
            "has no schema_version, which this action does not understand: it needs "
            "gitops-ml 1.x (the version released with these actions)",
        ),
        (
            {**RECORD, "kind": "deployment"},
            "has kind 'deployment', so it is not a promotion result",
        ),
    ],
    ids=["newer", "before-result-files", "other-kind"],
)
def test_promote_refuses_a_record_it_does_not_understand(
    tmp_path, github, capsys, record, sentence
):
    # Given a project whose gitops-ml writes a record these actions were not released with
    root = project(tmp_path)
    runner = Recorder(on_call=lambda command: write_result(root, record))
    env = {**github, "PROMOTE_VENV": ".venv", "PROMOTE_TRACKING_URI": ""}
    # When the action promotes, it fails with one sentence and sets no output
    assert promote_action.main(env, root, runner) == 1
    out = capsys.readouterr().out
    assert out.endswith(f"::error::reports/promotion/record.json {sentence}\n")
    assert outputs(env) == {}


def test_promote_fails_clearly_when_make_promote_wrote_no_record(tmp_path, github, capsys):
    root = project(tmp_path)
    env = {**github, "PROMOTE_VENV": ".venv", "PROMOTE_TRACKING_URI": ""}
    assert promote_action.main(env, root, Recorder()) == 1
    assert (
        "::error::reports/promotion/record.json was not written, so there is no promotion result"
        in capsys.readouterr().out
    )


# --- deploy -------------------------------------------------------------------------------
# The project's deploy commands write a `deployment` result file (gitops_ml.results); the
# fakes below write one built by the library itself, so the shapes cannot drift apart.

UNDERSTOOD = (
    "has deployment schema_version 3, which this action does not understand: it needs "
    "gitops-ml 1.x (the version released with these actions)"
)


def step(share: int, agreement: float = 1.0, failures: Sequence[str] = ()) -> StepResult:
    return StepResult(
        weight=share, details=f"candidate served {share * 40 // 100}/40 requests",
        failures=list(failures), requests=40, candidate_requests=share * 40 // 100, errors=0,
        p95_ms=12.0, agreement=agreement,
    )  # fmt: skip


def deployment(target: str = "local", action: str = "deploy", **fields) -> dict:
    """A `deployment` result as `gitops-ml deploy|rollback|undeploy` writes it."""
    result = Deployment(target, action)
    steps = fields.pop("steps", [])
    if steps:
        result.checked(DeployParams(), steps)
    for name, value in fields.items():
        setattr(result, name, value)
    return results.stamp("deployment", asdict(result))


DEPLOYED = deployment(
    outcome="deployed",
    url="http://127.0.0.1:51311",
    version="2",
    previous_version="1",
    steps=[step(10), step(100)],
    notes=[
        "deploy: canary of version 2 beside version 1",
        "deploy: version 2 serves 100% after 16.7 s",
    ],
)


class DeployRecorder(Recorder):
    """Recorder whose `make <target> DEPLOY_RESULT=<path>` writes `results[target]` there."""

    def __init__(self, cwd: Path, answers=None, written: dict[str, dict] | None = None):
        super().__init__(answers, on_call=self.write)
        self.cwd, self.written = cwd, written or {}

    def write(self, command: list[str]) -> None:
        paths = [arg.split("=", 1)[1] for arg in command if arg.startswith("DEPLOY_RESULT=")]
        if paths and command[1] in self.written:
            path = self.cwd / paths[0]
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(self.written[command[1]]), encoding="utf-8")


def deploy_env(github: dict[str, str], **overrides: str) -> dict[str, str]:
    values = {
        "DEPLOY_COMMAND": "deploy",
        "DEPLOY_TARGET": "local",
        "DEPLOY_VERSION": "",
        "DEPLOY_VENV": ".venv",
        "DEPLOY_TRACKING_URI": "",
        "DEPLOY_STOP_AFTER": "false",
    }
    return {**github, **values, **overrides}


RESULT_ARG = "DEPLOY_RESULT=reports/deploy/result.json"
STOPPED_ARG = "DEPLOY_RESULT=reports/deploy/stop-after.json"


def commands(runner: Recorder) -> list[str]:
    return [" ".join(call[0]) for call in runner.calls]


def summary_of(env: Mapping[str, str]) -> str:
    return Path(env["GITHUB_STEP_SUMMARY"]).read_text()


@pytest.mark.parametrize(
    ("target", "make_target"), [("local", "deploy"), ("kserve", "kserve-deploy")]
)
def test_deploy_runs_the_project_target_and_reports_url_and_canary_steps(
    github, tmp_path, target, make_target
):
    # Given a project whose deploy target writes its deployment result
    runner = DeployRecorder(tmp_path, written={make_target: {**DEPLOYED, "target": target}})
    env = deploy_env(
        github,
        DEPLOY_TARGET=target,
        DEPLOY_VERSION="2",
        DEPLOY_TRACKING_URI="https://mlflow.example.com",
    )
    # When the action deploys version 2
    assert deploy_action.main(env, runner, tmp_path) == 0
    # Then one make command ran, with the registry URI in its environment, and nothing else
    assert commands(runner) == [f"make {make_target} VENV=.venv {RESULT_ARG} VERSION=2"]
    assert runner.calls[0][1]["MLFLOW_TRACKING_URI"] == "https://mlflow.example.com"
    assert outputs(env) == {"url": "http://127.0.0.1:51311", "version": "2", "release": ""}
    summary = summary_of(env)
    assert summary.startswith(f"### `make {make_target}` {deploy_action.WHERE[target]}: succeeded")
    assert (
        "Outcome: **deployed**: version 2 serves all traffic (before: version 1); "
        "URL http://127.0.0.1:51311"
    ) in summary
    assert "| 10% | 40 (4) | 0.00% | 12 ms | 100% | ok |" in summary
    assert "| 100% | 40 (40) | 0.00% | 12 ms | 100% | ok |" in summary
    assert "error rate <= 0.00%, candidate p95 <= 1000 ms, agreement >= 90%" in summary
    assert "- deploy: version 2 serves 100% after 16.7 s" in summary
    assert "GitHub releases" not in summary


def test_deploy_outputs_come_from_the_result_file_not_from_stdout(github, tmp_path):
    # Given a make target whose stdout says one thing and whose result file another
    stdout = "deploy: version 9 serves 100% after 1.0 s\nhttp://stdout.example:1\n"
    runner = DeployRecorder(tmp_path, {"make deploy": (0, stdout, "")}, {"deploy": DEPLOYED})
    env = deploy_env(github)
    # When the action deploys
    assert deploy_action.main(env, runner, tmp_path) == 0
    # Then url and version are the result file's
    assert outputs(env) == {"url": "http://127.0.0.1:51311", "version": "2", "release": ""}
    assert "version 9" not in summary_of(env) and "stdout.example" not in summary_of(env)


def test_deploy_never_reports_a_stale_result(github, tmp_path, capsys):
    # Given a result left by an earlier run and a make target that writes none
    stale = tmp_path / "reports" / "deploy" / "result.json"
    stale.parent.mkdir(parents=True)
    stale.write_text(json.dumps(DEPLOYED))
    runner = DeployRecorder(tmp_path, {"make deploy": (0, "http://127.0.0.1:1\n", "")})
    env = deploy_env(github)
    # Then the step fails, saying which gitops-ml writes result files
    assert deploy_action.main(env, runner, tmp_path) == 1
    assert (
        "::error::make deploy succeeded but wrote no reports/deploy/result.json, so this action "
        "cannot tell what serves: it needs gitops-ml 1.x (the version released with these "
        "actions)"
    ) in capsys.readouterr().out
    assert outputs(env) == {"url": "", "version": "", "release": ""}


@pytest.mark.parametrize("returncode", [0, 1])
def test_deploy_refuses_a_result_of_an_unknown_schema_version(github, tmp_path, capsys, returncode):
    # Given a project whose gitops-ml writes deployment schema_version 3
    runner = DeployRecorder(
        tmp_path,
        {"make deploy": (returncode, "http://127.0.0.1:1\n", "")},
        {"deploy": {**DEPLOYED, "schema_version": 3}},
    )
    env = deploy_env(github)
    # When the action deploys, it fails with one sentence naming the file and the version
    assert deploy_action.main(env, runner, tmp_path) == 1
    out = capsys.readouterr().out
    assert f"::error::reports/deploy/result.json {UNDERSTOOD}\n" in out
    assert outputs(env) == {"url": "", "version": "", "release": ""}
    assert f"**reports/deploy/result.json {UNDERSTOOD}**" in summary_of(env)


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        (
            "local",
            [f"make deploy VENV=.venv {RESULT_ARG}", f"make undeploy VENV=.venv {STOPPED_ARG}"],
        ),
        (
            "kserve",
            [
                f"make kserve-deploy VENV=.venv {RESULT_ARG}",
                f"make kserve-undeploy VENV=.venv {STOPPED_ARG}",
            ],
        ),
    ],
)
def test_deploy_failure_reports_the_reason_and_stop_after_undeploys(
    github, tmp_path, capsys, target, expected
):
    reason = "version 3 rolled back: canary at 10%: candidate agrees on 38% < 90%"
    failed = deployment(
        target,
        outcome="rolled back",
        reason=reason,
        url="http://127.0.0.1:51311",
        version="2",
        previous_version="2",
        steps=[step(10, 0.38, ["candidate agrees on 38% < 90%"])],
        notes=["deploy: rolled back to version 2 in 0.8 s"],
    )
    undeploy = PREFIX[target] + "undeploy"
    stopped = deployment(
        target, "undeploy", outcome="undeployed", notes=["undeploy: stopped server v2 (pid 7)"]
    )
    make_target = PREFIX[target] + "deploy"
    runner = DeployRecorder(
        tmp_path,
        {f"make {make_target}": (1, "", f"error: {reason}\n")},
        {make_target: failed, undeploy: stopped},
    )
    env = deploy_env(github, DEPLOY_TARGET=target, DEPLOY_STOP_AFTER="true")
    assert deploy_action.main(env, runner, tmp_path) == 1
    # the runner decodes %25 to % (workflow_commands.escape_data)
    assert f"::error::{reason.replace('%', '%25')}\n" in capsys.readouterr().out
    assert commands(runner) == expected
    summary = summary_of(env)
    assert "FAILED" in summary.splitlines()[0]
    assert "Outcome: **rolled back**: version 2 serves all traffic" in summary
    assert "| 10% | 40 (4) | 0.00% | 12 ms | 38% | FAILED: candidate agrees on 38% < 90% |" in (
        summary
    )
    assert "- deploy: rolled back to version 2 in 0.8 s" in summary
    assert "- stopped afterwards (stop-after): undeploy: stopped server v2 (pid 7)" in summary
    # what serves after the automatic rollback (stop-after stopped it later)
    assert outputs(env) == {"url": "http://127.0.0.1:51311", "version": "2", "release": ""}
    # the deployment's own result stays for later steps; stop-after's is beside it
    kept = json.loads((tmp_path / "reports/deploy/result.json").read_text())
    assert kept["outcome"] == "rolled back"


def test_a_failure_without_a_result_reports_the_projects_error_line(github, tmp_path, capsys):
    # make stopped before gitops-ml ran (no nginx): no result, the error line is the reason
    stderr = "error: version 3 is not healthy\n"
    runner = DeployRecorder(tmp_path, {"make deploy": (2, "", stderr)})
    assert deploy_action.main(deploy_env(github), runner, tmp_path) == 1
    assert "::error::version 3 is not healthy" in capsys.readouterr().out


def test_undeploy_runs_the_target_undeploy_without_version_or_releases(github, tmp_path):
    stopped = deployment(
        "kserve", "undeploy", outcome="undeployed",
        notes=["undeploy: deleted inferenceservice my-ml-project"],
    )  # fmt: skip
    runner = DeployRecorder(tmp_path, written={"kserve-undeploy": stopped})
    env = deploy_env(
        github, DEPLOY_COMMAND="undeploy", DEPLOY_TARGET="kserve", DEPLOY_VERSION="3",
        DEPLOY_GITHUB_TOKEN="ghs_x",
    )  # fmt: skip
    assert deploy_action.main(env, runner, tmp_path) == 0
    assert commands(runner) == [f"make kserve-undeploy VENV=.venv {RESULT_ARG}"]
    summary = summary_of(env)
    assert "Outcome: **undeployed**: nothing serves on the cluster (KUBECONFIG)" in summary
    assert "- undeploy: deleted inferenceservice my-ml-project" in summary


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("DEPLOY_COMMAND", "destroy", "command must be one of deploy, rollback, undeploy"),
        ("DEPLOY_TARGET", "k8s", "target must be one of local, kserve"),
        ("DEPLOY_VERSION", "1; rm -rf /", "version must be a registered version number"),
        ("DEPLOY_STOP_AFTER", "yes", "stop-after must be true or false"),
        ("DEPLOY_VENV", "--help", "venv must be a directory path"),
        ("DEPLOY_TRACKING_URI", "mlflow.example.com", "tracking-uri must be a URI"),
    ],
)
def test_deploy_invalid_inputs_fail_with_error(github, tmp_path, capsys, name, value, message):
    runner = Recorder()
    assert deploy_action.main(deploy_env(github, **{name: value}), runner, tmp_path) == 1
    assert f"::error::{message}" in capsys.readouterr().out
    assert runner.calls == []


# --- deploy and rollback without an MLflow server: the champion from GitHub releases ------

PULLED = (
    "champion-store: restored release model-v2 as 'champion' (version 2), "
    "release model-v1 as 'previous-champion' (version 1)\n"
)
FIRST = deployment(
    outcome="deployed", url="http://127.0.0.1:8080", version="2",
    notes=["deploy: version 2 serving in 4.1 s"],
)  # fmt: skip


def test_deploy_without_a_server_restores_the_champion_from_the_releases_first(github, tmp_path):
    runner = DeployRecorder(tmp_path, {"make champion-pull": (0, PULLED, "")}, {"deploy": FIRST})
    env = deploy_env(github, DEPLOY_GITHUB_TOKEN="ghs_x", GITHUB_REPOSITORY="acme/project")
    assert deploy_action.main(env, runner, tmp_path) == 0
    assert commands(runner) == [
        "make champion-pull VENV=.venv",
        f"make deploy VENV=.venv {RESULT_ARG}",
    ]
    pull_env, deploy_env_ = runner.calls[0][1], runner.calls[1][1]
    assert (pull_env["GH_TOKEN"], pull_env["GH_REPO"]) == ("ghs_x", "acme/project")
    # the token reaches gh only, never the model code of make deploy
    assert "GH_TOKEN" not in deploy_env_ and "DEPLOY_GITHUB_TOKEN" not in deploy_env_
    assert "MLFLOW_TRACKING_URI" not in deploy_env_
    assert outputs(env) == {
        "url": "http://127.0.0.1:8080",
        "version": "2",
        "release": "model-v2",
    }
    summary = summary_of(env)
    assert "champion comes from GitHub releases" in summary
    assert "Restored: restored release model-v2 as 'champion' (version 2)" in summary
    assert "- deploy: version 2 serving in 4.1 s" in summary


def test_deploy_without_a_server_maps_the_version_to_its_release(github, tmp_path):
    pulled = PULLED + "champion-store: release model-v1 is version 1\n"
    runner = DeployRecorder(
        tmp_path, {"make champion-pull": (0, pulled, "")}, {"deploy": {**FIRST, "version": "1"}}
    )
    env = deploy_env(github, DEPLOY_VERSION="1", DEPLOY_GITHUB_TOKEN="ghs_x")
    assert deploy_action.main(env, runner, tmp_path) == 0
    # release model-v1 is registry version 1 on this runner: make deploy gets the latter
    assert commands(runner) == [
        "make champion-pull VENV=.venv RELEASE=1",
        f"make deploy VENV=.venv {RESULT_ARG} VERSION=1",
    ]
    assert outputs(env)["release"] == "model-v1"


def test_deploy_with_a_server_or_without_a_token_never_touches_the_releases(github, tmp_path):
    for overrides in (
        {"DEPLOY_TRACKING_URI": "https://mlflow.example.com", "DEPLOY_GITHUB_TOKEN": "ghs_x"},
        {"DEPLOY_GITHUB_TOKEN": ""},
    ):
        runner = DeployRecorder(tmp_path, written={"deploy": FIRST})
        env = deploy_env(github, **overrides)
        assert deploy_action.main(env, runner, tmp_path) == 0
        assert commands(runner) == [f"make deploy VENV=.venv {RESULT_ARG}"]
        assert ("this runner's own registry" in summary_of(env)) == (
            not overrides.get("DEPLOY_TRACKING_URI")
        )


def test_deploy_fails_before_deploying_when_the_champion_cannot_be_restored(
    github, tmp_path, capsys
):
    error = "error: gh release list failed: HTTP 401: Bad credentials\n"
    runner = DeployRecorder(tmp_path, {"make champion-pull": (1, "", error)})
    env = deploy_env(github, DEPLOY_GITHUB_TOKEN="ghs_x", DEPLOY_STOP_AFTER="true")
    assert deploy_action.main(env, runner, tmp_path) == 1
    assert "::error::could not restore the champion from the GitHub releases: gh release list" in (
        capsys.readouterr().out
    )
    assert commands(runner) == [
        "make champion-pull VENV=.venv",
        f"make undeploy VENV=.venv {STOPPED_ARG}",
    ]


def test_deploy_refuses_a_release_whose_model_differs_from_its_record_and_switches_nothing(
    github, tmp_path, capsys
):
    # Given champion-pull finding a tampered model-v3 (gitops_ml.champion_store refuses it)
    refusal = (
        "release model-v3 asset model.joblib has SHA-256 "
        + "1" * 64
        + ", but its audit record says "
        + "2" * 64
        + ": refusing to serve it; nothing was switched"
    )
    runner = DeployRecorder(tmp_path, {"make champion-pull": (1, "", f"error: {refusal}\n")})
    # When the deploy action runs on the serving (self-hosted) runner
    env = deploy_env(github, DEPLOY_GITHUB_TOKEN="ghs_x", DEPLOY_STOP_AFTER="false")
    assert deploy_action.main(env, runner, tmp_path) == 1
    # Then it fails with the one sentence, and `make deploy` never ran: the old version serves
    out = capsys.readouterr().out
    assert f"::error::could not restore the champion from the GitHub releases: {refusal}" in out
    assert commands(runner) == ["make champion-pull VENV=.venv"]


def test_an_attestation_that_could_not_be_verified_is_noted_in_the_summary(github, tmp_path):
    notice = (
        "release model-v2: the model's build-provenance attestation was not verified: "
        "running under act (offline) (its SHA-256 matched the audit record)"
    )
    pulled = PULLED + f"champion-store: {notice}\n"
    runner = DeployRecorder(tmp_path, {"make champion-pull": (0, pulled, "")}, {"deploy": FIRST})
    env = deploy_env(github, DEPLOY_GITHUB_TOKEN="ghs_x")
    assert deploy_action.main(env, runner, tmp_path) == 0
    assert notice in summary_of(env)


ROLLED_BACK = deployment(
    action="rollback",
    outcome="rolled back",
    champion="1",
    notes=[
        "rollback: nothing is deployed here; registry 'champion' moved from version 2 to 1, "
        "which the next 'make deploy' serves"
    ],
)
PUBLISHED = "champion-store: published release model-v3 (rollback from model-v2 to model-v1)\n"


def test_rollback_without_a_server_publishes_the_restored_champion(github, tmp_path):
    runner = DeployRecorder(
        tmp_path,
        {
            "make champion-pull": (0, PULLED, ""),
            "make champion-rollback": (0, PUBLISHED, ""),
        },
        {"rollback": ROLLED_BACK},
    )
    env = deploy_env(github, DEPLOY_COMMAND="rollback", DEPLOY_GITHUB_TOKEN="ghs_x")
    assert deploy_action.main(env, runner, tmp_path) == 0
    assert commands(runner) == [
        "make champion-pull VENV=.venv",
        f"make rollback VENV=.venv {RESULT_ARG}",
        "make champion-rollback VENV=.venv",
    ]
    assert runner.calls[2][1]["GH_TOKEN"] == "ghs_x"
    # nothing serves on this (GitHub-hosted) runner: no URL, no version; the release moved
    assert outputs(env) == {"url": "", "version": "", "release": "model-v3"}
    summary = summary_of(env)
    assert (
        "Outcome: **rolled back**: nothing serves on this runner; registry `champion`: version 1"
    ) in summary
    assert "- rollback: nothing is deployed here; registry 'champion' moved" in summary
    assert "Rollback published as release model-v3 (rollback from model-v2 to model-v1)" in summary


def test_rollback_without_a_server_to_a_given_release(github, tmp_path):
    pulled = PULLED.replace("v2", "v3").replace("v1", "v2") + (
        "champion-store: release model-v1 is version 3\n"
    )
    served = deployment(
        "kserve", "rollback", outcome="rolled back", url="http://127.0.0.1:8080", version="3",
        previous_version="2", champion="3",
        notes=["rollback: version 3 serves 100% (was 2) after 2.0 s"],
    )  # fmt: skip
    runner = DeployRecorder(
        tmp_path,
        {
            "make champion-pull": (0, pulled, ""),
            "make champion-rollback": (0, PUBLISHED.replace("v3", "v4"), ""),
        },
        {"kserve-rollback": served},
    )
    env = deploy_env(
        github, DEPLOY_COMMAND="rollback", DEPLOY_TARGET="kserve", DEPLOY_VERSION="1",
        DEPLOY_GITHUB_TOKEN="ghs_x",
    )  # fmt: skip
    assert deploy_action.main(env, runner, tmp_path) == 0
    assert commands(runner)[:2] == [
        "make champion-pull VENV=.venv RELEASE=1",
        f"make kserve-rollback VENV=.venv {RESULT_ARG} VERSION=3",
    ]
    assert outputs(env) == {"url": "http://127.0.0.1:8080", "version": "3", "release": "model-v4"}


def test_rollback_that_cannot_be_published_fails_and_says_what_it_means(github, tmp_path, capsys):
    error = "error: gh release create failed: HTTP 403: Resource not accessible by integration\n"
    runner = DeployRecorder(
        tmp_path,
        {
            "make champion-pull": (0, PULLED, ""),
            "make champion-rollback": (1, "", error),
        },
        {"rollback": ROLLED_BACK},
    )
    env = deploy_env(github, DEPLOY_COMMAND="rollback", DEPLOY_GITHUB_TOKEN="ghs_x")
    assert deploy_action.main(env, runner, tmp_path) == 1
    out = capsys.readouterr().out
    assert "::error::rolled back on this runner, but the rollback release was not created" in out
    assert "HTTP 403" in out
    assert "FAILED" in summary_of(env).splitlines()[0]


def test_failed_rollback_publishes_nothing(github, tmp_path, capsys):
    reason = "no version to restore: 'previous-champion' is not set; pass a version"
    failed = deployment(action="rollback", outcome="failed", reason=reason)
    runner = DeployRecorder(
        tmp_path,
        {"make champion-pull": (0, PULLED, ""), "make rollback": (1, "", f"error: {reason}\n")},
        {"rollback": failed},
    )
    env = deploy_env(github, DEPLOY_COMMAND="rollback", DEPLOY_GITHUB_TOKEN="ghs_x")
    assert deploy_action.main(env, runner, tmp_path) == 1
    assert commands(runner) == [
        "make champion-pull VENV=.venv",
        f"make rollback VENV=.venv {RESULT_ARG}",
    ]
    assert "::error::no version to restore" in capsys.readouterr().out
