"""Static gates over the reusable actions, this repository's workflows and the generated
workflows of every option combination that changes them (dvc_remote x training_runner).

zizmor --offline (zero findings; every inline suppression carries a reason), actionlint with
shellcheck, check-jsonschema with the vendored GitHub schemas, plus the security rules the
linters do not enforce: SHA pins with a version comment, no expressions inside `run:`,
persist-credentials: false, least-privilege permissions, no pull_request_target.
"""

from __future__ import annotations

import itertools
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from .conftest import ROOT, SHARED_VENV, project_env, render_project

BIN = SHARED_VENV / "bin"
ACTIONS = sorted((ROOT / "actions").rglob("action.yml"))
REPO_WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
SHA_PIN = re.compile(r"^[\w.-]+/[\w.-]+(/[\w./-]+)?@[0-9a-f]{40} # v\d+\.\d+\.\d+$")
EXPRESSION = re.compile(r"\$\{\{")
ATTEST = "actions/attest-build-provenance"
SUPPRESSION = re.compile(r"#\s*zizmor:\s*ignore\[[\w,-]+\](?P<reason>.*)$")
REMOTE_URLS = {"local": "", "s3": "s3://b/p", "gcs": "gs://b/p", "azure": "azure://c/p"}
RUNNERS = ("github", "cml-aws", "cml-gcp", "cml-azure")
COMBINATIONS = [
    (remote, runner)
    for remote, runner in itertools.product(REMOTE_URLS, RUNNERS)
    if not (remote == "local" and runner != "github")
]
PYTHONS = itertools.cycle(["3.11", "3.12", "3.10"])
# deploy_target is independent of the remote and the runner: it rotates (release.yml and
# rollback.yml differ per target)
TARGETS = itertools.cycle(["local", "kserve"])
CASES = [(remote, runner, next(PYTHONS), next(TARGETS)) for remote, runner in COMBINATIONS]


def tool(name: str) -> str:
    found = shutil.which(name, path=str(BIN)) or shutil.which(name)
    assert found, f"{name} is missing: run 'make env' (it is in requirements-dev.lock)"
    return found


def lint(command: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = project_env()
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, check=False)


def zizmor(target: Path) -> subprocess.CompletedProcess[str]:
    return lint([tool("zizmor"), "--offline", "--no-progress", str(target)], target.parent)


def actionlint(files: list[Path]) -> subprocess.CompletedProcess[str]:
    tool("shellcheck")  # actionlint only runs shellcheck when it is on PATH
    return lint([tool("actionlint"), *map(str, files)], files[0].parent)


def schema(kind: str, files: list[Path]) -> subprocess.CompletedProcess[str]:
    command = [tool("check-jsonschema"), "--builtin-schema", f"vendor.{kind}", *map(str, files)]
    return lint(command, files[0].parent)


def steps_of(document: dict[str, Any]) -> list[dict[str, Any]]:
    if "runs" in document:
        return document["runs"].get("steps", [])
    return [step for job in document["jobs"].values() for step in job.get("steps", [])]


def security_problems(path: Path, allowed_refs: tuple[str, ...] = ()) -> list[str]:
    """The rules of DEVELOPERS.md that linters do not check, as readable problems."""
    text = path.read_text(encoding="utf-8")
    document = yaml.safe_load(text)
    problems = []
    for step in steps_of(document):
        run = step.get("run")
        if run and EXPRESSION.search(run):
            problems.append(f"{path.name}: expression inside run: {run[:60]!r}")
        uses = step.get("uses", "")
        if (
            uses.startswith("actions/checkout@")
            and (step.get("with") or {}).get("persist-credentials") is not False
        ):
            problems.append(f"{path.name}: checkout without persist-credentials: false")
    for line in text.splitlines():
        match = re.match(r"^\s*(?:-\s+)?uses:\s+(.+)$", line)
        if not match or match[1].startswith("./"):
            continue
        value = match[1].strip()
        if not (SHA_PIN.match(value) or value.startswith(allowed_refs or ("\0",))):
            problems.append(f"{path.name}: not pinned to a SHA with a # vX.Y.Z comment: {value}")
    for line in text.splitlines():
        suppression = SUPPRESSION.search(line)
        if suppression and len(suppression["reason"].strip()) < 10:
            problems.append(f"{path.name}: zizmor suppression without a reason: {line.strip()}")
    triggers = document.get(True, document.get("on")) or {}
    if "pull_request_target" in (triggers if isinstance(triggers, dict | list) else [triggers]):
        problems.append(f"{path.name}: pull_request_target")
    return problems


# ------------------------------------------------------------------ this repository


def test_actions_pass_zizmor_with_zero_findings():
    result = zizmor(ROOT / "actions")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No findings to report" in result.stdout


def test_actions_match_the_github_action_schema():
    result = schema("github-actions", ACTIONS)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("action", ACTIONS, ids=lambda p: p.parent.name)
def test_action_contract(action):
    """Kebab-case inputs with description/required/default, outputs from step ids, env-only."""
    document = yaml.safe_load(action.read_text(encoding="utf-8"))
    assert document["runs"]["using"] == "composite"
    for name, spec in document.get("inputs", {}).items():
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", name), name
        assert {"description", "required", "default"} <= set(spec), name
    step_ids = {step.get("id") for step in document["runs"]["steps"]}
    for name, spec in document.get("outputs", {}).items():
        match = re.fullmatch(r"\$\{\{ steps\.([\w-]+)\.outputs\.[\w-]+ \}\}", spec["value"])
        assert match and match[1] in step_ids, f"{name}: {spec['value']}"
    for step in document["runs"]["steps"]:
        if "run" in step:
            assert "${{" not in step["run"]
            assert "$GITHUB_ACTION_PATH" in step["run"] or len(step["run"].splitlines()) < 25
    assert security_problems(action) == []


def test_repository_workflows_pass_every_gate():
    assert REPO_WORKFLOWS, "no workflows in .github/workflows"
    result = zizmor(ROOT / ".github")
    assert result.returncode == 0, result.stdout + result.stderr
    result = actionlint(REPO_WORKFLOWS)
    assert result.returncode == 0, result.stdout + result.stderr
    result = schema("github-workflows", REPO_WORKFLOWS)
    assert result.returncode == 0, result.stdout + result.stderr
    for workflow in REPO_WORKFLOWS:
        assert security_problems(workflow) == []


def test_release_workflow_moves_the_major_tag_with_the_least_permissions():
    release = yaml.safe_load((ROOT / ".github/workflows/release.yml").read_text())
    assert release[True] == {"release": {"types": ["published"]}}
    assert release["permissions"] == {}
    job = release["jobs"]["move-major-tag"]
    assert job["permissions"] == {"contents": "write"}
    assert "prerelease" in job["if"]


# ------------------------------------------------------------------ generated workflows


def answers_of(project: Path) -> dict[str, str]:
    """The answers the project was rendered with (template_repo and template_ref matter here)."""
    saved = project / ".cookiecutter.json"
    if saved.is_file():
        return json.loads(saved.read_text(encoding="utf-8"))
    defaults = json.loads((ROOT / "cookiecutter.json").read_text(encoding="utf-8"))
    repo = defaults["template_repo"].replace(
        "{{ cookiecutter.github_owner }}", defaults["github_owner"]
    )
    return {"template_repo": repo, "template_ref": defaults["template_ref"]}


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> dict[tuple[str, str, str, str], Path]:
    projects = {}
    for remote, runner, python, target in CASES:
        context = {
            "dvc_remote": remote,
            "training_runner": runner,
            "python_version": python,
            "deploy_target": target,
        }
        if REMOTE_URLS[remote]:
            context["dvc_remote_url"] = REMOTE_URLS[remote]
        out = tmp_path_factory.mktemp(f"wf-{remote}-{runner}")
        projects[(remote, runner, python, target)] = render_project(out, **context)
    return projects


@pytest.mark.parametrize("case", CASES, ids=lambda c: "-".join(c))
def test_generated_workflows_pass_every_gate(rendered, case):
    project = rendered[case]
    workflows = sorted((project / ".github" / "workflows").glob("*.yml"))
    assert {p.name for p in workflows} >= {"pr.yml", "ci.yml"}
    result = zizmor(project / ".github")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No findings to report" in result.stdout
    result = actionlint(workflows)
    assert result.returncode == 0, result.stdout + result.stderr
    result = schema("github-workflows", workflows)
    assert result.returncode == 0, result.stdout + result.stderr
    answers = answers_of(project)
    ours = f"{answers['template_repo']}/actions/"
    for workflow in workflows:
        assert security_problems(workflow, allowed_refs=(ours,)) == []


@pytest.mark.parametrize("case", CASES, ids=lambda c: "-".join(c))
def test_pr_workflow_shape(rendered, case):
    remote, runner, python, _ = case
    project = rendered[case]
    answers = answers_of(project)
    pr = yaml.safe_load((project / ".github/workflows/pr.yml").read_text())
    assert list(pr[True]) == ["pull_request"]
    assert pr["permissions"] == {"contents": "read"}
    assert pr["concurrency"] == {
        "group": "pr-${{ github.event.pull_request.number }}",
        "cancel-in-progress": True,
    }
    writers = [name for name, job in pr["jobs"].items() if "write" in str(job.get("permissions"))]
    assert writers == ["model"]
    model = pr["jobs"]["model"]
    uses = [step.get("uses", "") for step in model["steps"]]
    ref = answers["template_ref"]
    for action in ("setup", "validate-data", "train", "report"):
        assert f"{answers['template_repo']}/actions/{action}@{ref}" in uses
    report = next(s for s in model["steps"] if "/actions/report@" in s.get("uses", ""))
    assert report["with"]["comment"] == "${{ !github.event.pull_request.head.repo.fork }}"
    assert report["with"]["plot-delivery"] == "artifact"
    setup = next(s for s in model["steps"] if "/actions/setup@" in s.get("uses", ""))
    assert setup["with"]["python-version"] == python
    secrets = {k for k, v in setup["with"].items() if "secrets." in str(v)}
    assert (
        secrets
        == {
            "local": set(),
            "s3": {"aws-access-key-id", "aws-secret-access-key"},
            "gcs": {"google-credentials"},
            "azure": {"azure-storage-connection-string"},
        }[remote]
    )
    if runner == "github":
        assert model["runs-on"] == "ubuntu-latest"
        assert "launch-runner" not in pr["jobs"]
    else:
        assert model["needs"] == "launch-runner"
        assert model["runs-on"][0] == "self-hosted"
        launch = pr["jobs"]["launch-runner"]
        script = launch["steps"][-1]["run"]
        assert f"--cloud={runner.removeprefix('cml-')}" in script
        assert "--single" in script
        assert launch["steps"][-1]["env"]["REPO_TOKEN"] == "${{ secrets.CML_RUNNER_TOKEN }}"


@pytest.mark.parametrize("runner", ["cml-aws", "cml-gcp", "cml-azure"])
def test_cloud_runner_with_a_local_remote_is_rejected_in_one_sentence(tmp_path, capfd, runner):
    from cookiecutter.exceptions import FailedHookException

    with pytest.raises(FailedHookException):
        render_project(tmp_path, training_runner=runner, dvc_remote="local")
    err = capfd.readouterr().err
    assert (
        f"ERROR: training_runner '{runner}' trains on a cloud machine that cannot reach a local "
        "DVC remote: choose dvc_remote s3, gcs or azure, or training_runner 'github'."
    ) in err
    assert not any(tmp_path.iterdir())


def test_main_workflow_grants_release_writes_to_the_promote_job_only(rendered):
    """Without an MLflow server the promote step keeps the champion as a GitHub release, so
    that job (and only it) may write contents; promotions never run concurrently."""
    project = rendered[CASES[0]]
    main = yaml.safe_load((project / ".github/workflows/main.yml").read_text())
    assert main["permissions"] == {"contents": "read"}
    assert main["concurrency"] == {"group": "promote", "cancel-in-progress": False}
    writers = {name: job.get("permissions") for name, job in main["jobs"].items()}
    assert writers == {
        "promote": {"contents": "write", "attestations": "write", "id-token": "write"}
    }
    steps = main["jobs"]["promote"]["steps"]
    step = next(s for s in steps if s.get("id") == "promote")
    assert step["with"] == {
        "tracking-uri": "${{ secrets.MLFLOW_TRACKING_URI }}",
        "github-token": "${{ github.token }}",
    }


def test_main_workflow_attests_the_released_model_after_publishing_it(rendered):
    """The model of a new `model-v<N>` release gets GitHub's build-provenance attestation
    (the deploy side verifies it with `gh attestation verify`); only when a release was made."""
    for case in CASES:
        main = yaml.safe_load((rendered[case] / ".github/workflows/main.yml").read_text())
        steps = main["jobs"]["promote"]["steps"]
        [attest] = [s for s in steps if s.get("uses", "").startswith(ATTEST)]
        assert attest["uses"] == f"{ATTEST}@a2bbfa25375fe432b6a289bc6b6cd05ecd0c4c32"
        assert attest["if"] == "${{ steps.promote.outputs.champion-release != '' }}"
        assert attest["with"] == {"subject-path": "models/model.joblib"}
        order = [s.get("id") or s.get("uses", "").split("@")[0] for s in steps]
        assert order.index("promote") < order.index(ATTEST)
        attesting = [
            n for n, j in main["jobs"].items() if "attestations" in str(j.get("permissions"))
        ]
        assert attesting == ["promote"]


@pytest.mark.parametrize("target", ["local", "kserve"])
def test_deploy_workflows_read_releases_and_only_rollback_may_write(rendered, target):
    """Without an MLflow server the deploy action restores the champion from the releases
    (read) and a rollback publishes a new release (write): the token reaches the action and
    only the rollback job may write contents."""
    case = next(c for c in CASES if c[3] == target)
    workflows = rendered[case] / ".github" / "workflows"
    release = yaml.safe_load((workflows / "release.yml").read_text())
    rollback = yaml.safe_load((workflows / "rollback.yml").read_text())
    assert release["permissions"] == rollback["permissions"] == {"contents": "read"}
    oidc = {"id-token": "write"} if case[0] != "local" else {}
    assert release["jobs"]["deploy"]["permissions"] == {"contents": "read", **oidc}
    assert rollback["jobs"]["rollback"]["permissions"] == {"contents": "write", **oidc}
    for workflow, job in ((release, "deploy"), (rollback, "rollback")):
        step = next(s for s in workflow["jobs"][job]["steps"] if s.get("id") == job)
        assert step["with"]["github-token"] == "${{ github.token }}"
        assert step["with"]["tracking-uri"] == "${{ secrets.MLFLOW_TRACKING_URI }}"
        assert step["with"]["target"] == target
        kubeconfig = [s for s in workflow["jobs"][job]["steps"] if "KUBECONFIG" in str(s)]
        assert len(kubeconfig) == (target == "kserve")


# ------------------------------------------------------------------ cloud credentials (OIDC)

OIDC_ACTIONS = {
    "s3": "aws-actions/configure-aws-credentials@e6de054238d6b7531b4efff3b6587d9aade6a06c",
    "gcs": "google-github-actions/auth@7c6bc770dae815cd3e89ee6cdf493a5fab2cc093",
    "azure": "azure/login@f5d393ae46f8fde4be8b75f32e3fc50e654ad0ca",
}
OIDC_VARIABLE = {
    "s3": "AWS_ROLE_ARN",
    "gcs": "GCP_WORKLOAD_IDENTITY_PROVIDER",
    "azure": "AZURE_CLIENT_ID",
}
OIDC_INPUTS = {
    "s3": {"role-to-assume": "AWS_ROLE_ARN", "aws-region": None},
    "gcs": {
        "workload_identity_provider": "GCP_WORKLOAD_IDENTITY_PROVIDER",
        "service_account": "GCP_SERVICE_ACCOUNT",
    },
    "azure": {
        "client-id": "AZURE_CLIENT_ID",
        "tenant-id": "AZURE_TENANT_ID",
        "subscription-id": "AZURE_SUBSCRIPTION_ID",
    },
}
# The jobs that pull from or push to the DVC remote, with their permissions on a cloud
# remote; on a local remote the same without `id-token`. Every other job has no id-token.
REMOTE_JOBS = {
    ("pr.yml", "model"): {"contents": "read", "pull-requests": "write", "id-token": "write"},
    ("main.yml", "promote"): {"contents": "write", "attestations": "write", "id-token": "write"},
    ("release.yml", "deploy"): {"contents": "read", "id-token": "write"},
    ("rollback.yml", "rollback"): {"contents": "write", "id-token": "write"},
    ("monitor.yml", "monitor"): {"contents": "read", "id-token": "write"},
    ("monitor.yml", "retrain"): {
        "contents": "write",
        "pull-requests": "write",
        "id-token": "write",
    },
}


# Jobs that need id-token whatever the remote: a GitHub Pages deployment proves its origin
# with OIDC (actions/deploy-pages), and only that job holds pages: write.
PAGES_JOBS = {("monitor.yml", "pages"): {"pages": "write", "id-token": "write"}}


@pytest.mark.parametrize("target", ["local", "kserve"])
def test_a_serving_runner_keeps_its_live_deployment_at_checkout(rendered, target):
    """On a DEPLOY_RUNNER the deployment (state, prediction log, the servers' .venv) lives in
    the workspace: actions/checkout must not `git clean` it away under the live servers."""
    case = next(c for c in CASES if c[3] == target)
    workflows = rendered[case] / ".github" / "workflows"
    for name, job in (("release.yml", "deploy"), ("rollback.yml", "rollback")):
        steps = yaml.safe_load((workflows / name).read_text())["jobs"][job]["steps"]
        checkout = next(s for s in steps if s.get("uses", "").startswith("actions/checkout@"))
        expected = "${{ !vars.DEPLOY_RUNNER }}" if target == "local" else None
        assert checkout["with"].get("clean") == expected, name


def permission_table(project: Path) -> dict[tuple[str, str], dict[str, str] | None]:
    """(workflow, job) -> the job's own permissions (None: the workflow's read-only default)."""
    table = {}
    for path in sorted((project / ".github" / "workflows").glob("*.yml")):
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        for name, job in document["jobs"].items():
            table[(path.name, name)] = job.get("permissions")
    return table


@pytest.mark.parametrize("case", CASES, ids=lambda c: "-".join(c))
def test_id_token_is_granted_only_to_the_jobs_that_need_it(rendered, case):
    remote = case[0]
    table = permission_table(rendered[case])
    for (workflow, job), permissions in table.items():
        if (workflow, job) in PAGES_JOBS:
            assert permissions == PAGES_JOBS[(workflow, job)], (workflow, job)
            continue
        expected = REMOTE_JOBS.get((workflow, job))
        if expected is None:
            assert "id-token" not in (permissions or {}), (workflow, job)
            continue
        if remote == "local" and (workflow, job) != ("main.yml", "promote"):
            expected = {k: v for k, v in expected.items() if k != "id-token"}
        assert permissions == expected, (workflow, job)


@pytest.mark.parametrize("case", [c for c in CASES if c[0] != "local"], ids=lambda c: "-".join(c))
def test_cloud_remotes_authenticate_with_oidc_and_keep_keys_as_a_fallback(rendered, case):
    """Every job that reaches the DVC remote first authenticates through the provider's
    official action (when its repository variable is set), then hands the long-lived secret
    to the setup action only when that variable is absent."""
    remote = case[0]
    variable = OIDC_VARIABLE[remote]
    workflows = rendered[case] / ".github" / "workflows"
    for workflow, job in REMOTE_JOBS:
        document = yaml.safe_load((workflows / workflow).read_text(encoding="utf-8"))
        steps = document["jobs"][job]["steps"]
        [auth] = [
            s
            for s in steps
            if s.get("uses", "").split("@")[0] in {a.split("@")[0] for a in OIDC_ACTIONS.values()}
        ]
        assert auth["uses"] == OIDC_ACTIONS[remote], (workflow, job)
        assert auth["if"] == f"${{{{ vars.{variable} != '' }}}}"
        for key, source in OIDC_INPUTS[remote].items():
            if source:
                assert auth["with"][key] == f"${{{{ vars.{source} }}}}"
        assert "secrets." not in str(auth)
        setup = next(i for i, s in enumerate(steps) if "/actions/setup@" in s.get("uses", ""))
        assert steps.index(auth) < setup
        for key, value in steps[setup]["with"].items():
            if "secrets." in str(value):
                assert value.startswith(f"${{{{ vars.{variable} == '' && secrets."), key
