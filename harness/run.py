"""`run_act`: one workflow of a git repository, for one event, through nektos/act on this host."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .errors import HarnessError
from .host import DROPPED_ENV, QUIET_ENV, act_binary, host_path
from .mapping import STANDINS, local_repositories, snapshot_actions
from .result import ActResult


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
    variables: Mapping[str, str] | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = 1200,
    standin_dirs: Sequence[Path] = (STANDINS,),
    use_gitignore: bool = True,
    recorders: Path = STANDINS / "bin",
) -> ActResult:
    """Run `workflow` of the git repository `repo` for one event; never raises on job failure.

    `repo`'s working tree (with `.git`) is what act copies into the job's workspace at the
    checkout step, and its `.cookiecutter.json` names the template repository and ref the
    workflows pin (or pass `template_repo`/`template_ref`). `secrets` and `variables` are the
    repository's `secrets.*` and `vars.*` (GITHUB_TOKEN is always a fake one). `env` reaches
    every step (`ACT_GH_STATE_DIR` makes the `gh` stand-in keep releases, issues and pull
    requests across runs). `recorders` is the directory of CLI stand-ins put first on PATH
    (harness/README.md). `use_gitignore=False` copies gitignored files into the workspace too
    (the outputs of a `make repro` that ran before, which a real runner would `dvc pull`).

    Each run gets its own folder under `tmp_path` (records, artifacts, the event, a snapshot
    of this repository's actions). act runs in its own session: on `timeout` the whole
    session is killed and the result says so (returncode -9).

    Raises:
        HarnessError: act or uv is missing, the template is unknown, or the workflow uses an
            action with no stand-in (named in the message).
    """
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
    for name, value in (variables or {}).items():
        command += ["--var", f"{name}={value}"]

    run_env = {**os.environ, **QUIET_ENV, **(env or {})}
    for name in DROPPED_ENV:
        run_env.pop(name, None)
    run_env.update(
        PATH=host_path(run_dir, recorders),
        ACT_RECORD_DIR=str(record_dir),
        ACT_ARTIFACT_DIR=str(artifact_dir),
    )
    started = time.monotonic()
    process = subprocess.Popen(
        command,
        cwd=repo,
        env=run_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        stdout, stderr = process.communicate()
        stderr += f"\nrun_act: act did not finish within {timeout:.0f} s and was killed"
    events = []
    for line in stdout.splitlines():
        try:
            events.append(json.loads(line))
        except json.JSONDecodeError:
            events.append({"msg": line})
    job_results = {e["jobID"]: e["jobResult"] for e in events if "jobResult" in e}
    return ActResult(
        returncode=process.returncode,
        events=events,
        record_dir=record_dir,
        artifact_dir=artifact_dir,
        seconds=time.monotonic() - started,
        stderr=stderr,
        job_results=job_results,
    )
