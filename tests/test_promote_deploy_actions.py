"""actions/promote and actions/deploy, in-process: inputs, the commands they run, outputs and
job summaries. The generated project's own commands are faked here; tests/test_promote.py and
tests/test_deploy.py run them for real."""

from __future__ import annotations

import importlib.util
import json
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent


def load(relative: str) -> ModuleType:
    path = ROOT / relative
    spec = importlib.util.spec_from_file_location(path.stem + "_under_test", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


promote_action = load("actions/promote/promote_action.py")
deploy_action = load("actions/deploy/deploy_action.py")

RECORD = {
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


# --- deploy -------------------------------------------------------------------------------

DEPLOY_OUT = """deploy: canary of version 2 beside version 1
canary 10%: candidate served 4/40 requests, errors 0, p95 12 ms, agreement 100%: ok
canary 100%: candidate served 40/40 requests, errors 0, p95 11 ms, agreement 100%: ok
deploy: version 2 serves 100% after 16.7 s
http://127.0.0.1:51311
"""


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


def commands(runner: Recorder) -> list[str]:
    return [" ".join(call[0]) for call in runner.calls]


def summary_of(env: Mapping[str, str]) -> str:
    return Path(env["GITHUB_STEP_SUMMARY"]).read_text()


@pytest.mark.parametrize(
    ("target", "make_target"), [("local", "deploy"), ("kserve", "kserve-deploy")]
)
def test_deploy_runs_the_project_target_and_reports_url_and_canary_steps(
    github, target, make_target
):
    # Given a project whose deploy target prints the shared output contract
    runner = Recorder({f"make {make_target}": (0, DEPLOY_OUT, "")})
    env = deploy_env(
        github,
        DEPLOY_TARGET=target,
        DEPLOY_VERSION="2",
        DEPLOY_TRACKING_URI="https://mlflow.example.com",
    )
    # When the action deploys version 2
    assert deploy_action.main(env, runner) == 0
    # Then one make command ran, with the registry URI in its environment, and nothing else
    assert commands(runner) == [f"make {make_target} VENV=.venv VERSION=2"]
    assert runner.calls[0][1]["MLFLOW_TRACKING_URI"] == "https://mlflow.example.com"
    assert outputs(env) == {"url": "http://127.0.0.1:51311", "version": "2", "release": ""}
    summary = summary_of(env)
    assert summary.startswith(f"### `make {make_target}` {deploy_action.WHERE[target]}: succeeded")
    assert "| canary 10% | candidate served 4/40 requests" in summary
    assert "- deploy: version 2 serves 100% after 16.7 s" in summary
    assert "GitHub releases" not in summary


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("local", ["make deploy VENV=.venv", "make undeploy VENV=.venv"]),
        ("kserve", ["make kserve-deploy VENV=.venv", "make kserve-undeploy VENV=.venv"]),
    ],
)
def test_deploy_failure_reports_the_reason_and_stop_after_undeploys(
    github, capsys, target, expected
):
    stderr = "error: version 3 rolled back: canary at 10%: candidate agrees on 38% < 90%\n"
    out = (
        "canary 10%: candidate served 4/40 requests, errors 0, p95 12 ms, agreement 38%: "
        "FAILED (agreement 38% < 90%)\ndeploy: rolled back to version 2 in 0.8 s\n"
    )
    runner = Recorder({expected[0].rsplit(" ", 1)[0]: (1, out, stderr)})
    env = deploy_env(github, DEPLOY_TARGET=target, DEPLOY_STOP_AFTER="true")
    assert deploy_action.main(env, runner) == 1
    assert "::error::version 3 rolled back: canary at 10%" in capsys.readouterr().out
    assert commands(runner) == expected
    summary = summary_of(env)
    assert "FAILED" in summary.splitlines()[0]
    assert "| canary 10% | candidate served 4/40 requests" in summary
    assert "- deploy: rolled back to version 2 in 0.8 s" in summary
    assert outputs(env) == {"url": "", "version": "", "release": ""}


def test_undeploy_runs_the_target_undeploy_without_version_or_releases(github):
    runner = Recorder({"make kserve-undeploy": (0, "undeploy: deleted my-ml-project\n", "")})
    env = deploy_env(
        github, DEPLOY_COMMAND="undeploy", DEPLOY_TARGET="kserve", DEPLOY_VERSION="3",
        DEPLOY_GITHUB_TOKEN="ghs_x",
    )  # fmt: skip
    assert deploy_action.main(env, runner) == 0
    assert commands(runner) == ["make kserve-undeploy VENV=.venv"]
    assert "- undeploy: deleted my-ml-project" in summary_of(env)


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
def test_deploy_invalid_inputs_fail_with_error(github, capsys, name, value, message):
    runner = Recorder()
    assert deploy_action.main(deploy_env(github, **{name: value}), runner) == 1
    assert f"::error::{message}" in capsys.readouterr().out
    assert runner.calls == []


# --- deploy and rollback without an MLflow server: the champion from GitHub releases ------

PULLED = (
    "champion-store: restored release model-v2 as 'champion' (version 2), "
    "release model-v1 as 'previous-champion' (version 1)\n"
)


def test_deploy_without_a_server_restores_the_champion_from_the_releases_first(github):
    runner = Recorder(
        {
            "make champion-pull": (0, PULLED, ""),
            "make deploy": (0, "deploy: version 2 serving in 4.1 s\nhttp://127.0.0.1:8080\n", ""),
        }
    )
    env = deploy_env(github, DEPLOY_GITHUB_TOKEN="ghs_x", GITHUB_REPOSITORY="acme/project")
    assert deploy_action.main(env, runner) == 0
    assert commands(runner) == ["make champion-pull VENV=.venv", "make deploy VENV=.venv"]
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


def test_deploy_without_a_server_maps_the_version_to_its_release(github):
    pulled = PULLED + "champion-store: release model-v1 is version 1\n"
    runner = Recorder({"make champion-pull": (0, pulled, "")})
    env = deploy_env(github, DEPLOY_VERSION="1", DEPLOY_GITHUB_TOKEN="ghs_x")
    assert deploy_action.main(env, runner) == 0
    # release model-v1 is registry version 1 on this runner: make deploy gets the latter
    assert commands(runner) == [
        "make champion-pull VENV=.venv RELEASE=1",
        "make deploy VENV=.venv VERSION=1",
    ]
    assert outputs(env)["release"] == "model-v1"


def test_deploy_with_a_server_or_without_a_token_never_touches_the_releases(github):
    for overrides in (
        {"DEPLOY_TRACKING_URI": "https://mlflow.example.com", "DEPLOY_GITHUB_TOKEN": "ghs_x"},
        {"DEPLOY_GITHUB_TOKEN": ""},
    ):
        runner = Recorder()
        env = deploy_env(github, **overrides)
        assert deploy_action.main(env, runner) == 0
        assert commands(runner) == ["make deploy VENV=.venv"]
        assert ("this runner's own registry" in summary_of(env)) == (
            not overrides.get("DEPLOY_TRACKING_URI")
        )


def test_deploy_fails_before_deploying_when_the_champion_cannot_be_restored(github, capsys):
    error = "error: gh release list failed: HTTP 401: Bad credentials\n"
    runner = Recorder({"make champion-pull": (1, "", error)})
    env = deploy_env(github, DEPLOY_GITHUB_TOKEN="ghs_x", DEPLOY_STOP_AFTER="true")
    assert deploy_action.main(env, runner) == 1
    assert "::error::could not restore the champion from the GitHub releases: gh release list" in (
        capsys.readouterr().out
    )
    assert commands(runner) == ["make champion-pull VENV=.venv", "make undeploy VENV=.venv"]


ROLLED_BACK = (
    "rollback: nothing is deployed here; registry 'champion' moved from version 2 to 1, "
    "which the next 'make deploy' serves\n"
)
PUBLISHED = "champion-store: published release model-v3 (rollback from model-v2 to model-v1)\n"


def test_rollback_without_a_server_publishes_the_restored_champion(github):
    runner = Recorder(
        {
            "make champion-pull": (0, PULLED, ""),
            "make rollback": (0, ROLLED_BACK, ""),
            "make champion-rollback": (0, PUBLISHED, ""),
        }
    )
    env = deploy_env(github, DEPLOY_COMMAND="rollback", DEPLOY_GITHUB_TOKEN="ghs_x")
    assert deploy_action.main(env, runner) == 0
    assert commands(runner) == [
        "make champion-pull VENV=.venv",
        "make rollback VENV=.venv",
        "make champion-rollback VENV=.venv",
    ]
    assert runner.calls[2][1]["GH_TOKEN"] == "ghs_x"
    # nothing serves on this (GitHub-hosted) runner: no URL, no version; the release moved
    assert outputs(env) == {"url": "", "version": "", "release": "model-v3"}
    summary = summary_of(env)
    assert "- rollback: nothing is deployed here; registry 'champion' moved" in summary
    assert "Rollback published as release model-v3 (rollback from model-v2 to model-v1)" in summary


def test_rollback_without_a_server_to_a_given_release(github):
    pulled = PULLED.replace("v2", "v3").replace("v1", "v2") + (
        "champion-store: release model-v1 is version 3\n"
    )
    served = "rollback: version 3 serves 100% (was 2) after 2.0 s\nhttp://127.0.0.1:8080\n"
    runner = Recorder(
        {
            "make champion-pull": (0, pulled, ""),
            "make kserve-rollback": (0, served, ""),
            "make champion-rollback": (0, PUBLISHED.replace("v3", "v4"), ""),
        }
    )
    env = deploy_env(
        github, DEPLOY_COMMAND="rollback", DEPLOY_TARGET="kserve", DEPLOY_VERSION="1",
        DEPLOY_GITHUB_TOKEN="ghs_x",
    )  # fmt: skip
    assert deploy_action.main(env, runner) == 0
    assert commands(runner)[:2] == [
        "make champion-pull VENV=.venv RELEASE=1",
        "make kserve-rollback VENV=.venv VERSION=3",
    ]
    assert outputs(env) == {"url": "http://127.0.0.1:8080", "version": "3", "release": "model-v4"}


def test_rollback_that_cannot_be_published_fails_and_says_what_it_means(github, capsys):
    error = "error: gh release create failed: HTTP 403: Resource not accessible by integration\n"
    runner = Recorder(
        {
            "make champion-pull": (0, PULLED, ""),
            "make rollback": (0, ROLLED_BACK, ""),
            "make champion-rollback": (1, "", error),
        }
    )
    env = deploy_env(github, DEPLOY_COMMAND="rollback", DEPLOY_GITHUB_TOKEN="ghs_x")
    assert deploy_action.main(env, runner) == 1
    out = capsys.readouterr().out
    assert "::error::rolled back on this runner, but the rollback release was not created" in out
    assert "HTTP 403" in out
    assert "FAILED" in summary_of(env).splitlines()[0]


def test_failed_rollback_publishes_nothing(github, capsys):
    error = "error: no version to restore: 'previous-champion' is not set; pass a version\n"
    runner = Recorder({"make champion-pull": (0, PULLED, ""), "make rollback": (1, "", error)})
    env = deploy_env(github, DEPLOY_COMMAND="rollback", DEPLOY_GITHUB_TOKEN="ghs_x")
    assert deploy_action.main(env, runner) == 1
    assert commands(runner) == ["make champion-pull VENV=.venv", "make rollback VENV=.venv"]
    assert "::error::no version to restore" in capsys.readouterr().out
