"""The GitOps loop of a generated project, played offline with its real workflows (`make demo`).

Six steps, each printed with its elapsed time, every workflow run by nektos/act through the
act harness (harness/: this checkout's actions, local stand-ins for third-party ones, a `gh`
that keeps releases, issues and pull-request comments in `github/` like GitHub would):

1. render a project with the defaults, run its pipeline, commit, push to a bare `origin`;
   the push to `main` runs `main.yml`, which publishes the first champion (`model-v1`), and
   the tag `v0.1.0` runs `release.yml` on the deploy runner (DEPLOY_RUNNER, so the
   deployment outlives the job: runner.py), which serves it behind nginx;
2. a pull request lowers `train.logistic_regression.C` (a simpler model) and accepts it when
   it is no worse than 0.01 AUC (`promote.min_improvement: -0.01`, a non-inferiority
   margin): the `model` job of `pr.yml` validates, trains and posts its report, printed here
   and saved as Markdown and HTML;
3. the merge runs `main.yml` again: the promotion gate's numbers and decision are printed;
4. the tag `v1.0.0` runs `release.yml` on the deploy runner: the new champion is rolled out
   as a canary beside the serving version (10%, 50%, 100% of the traffic, each step checked),
   and real prediction requests get answers;
5. a drifted batch (`gitops-ml monitor demo-batch`) goes through the endpoint; the prediction
   log it leaves is committed as `monitor.current`, and the scheduled `monitor.yml` opens the
   alert issue, printed here;
6. teardown: `gitops-ml undeploy`, then a check that no process and no port is left.

A step that fails stops the demo with its name and the reason; teardown runs anyway. The
summary table lists each step's wall time, outcome and artefacts. Everything lives in
`--work` (default build/loop-demo/), which the next run replaces.

    python -m demo [--work DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from harness import (
    QUIET_ENV,
    ROOT,
    SHARED_BIN,
    ActResult,
    pull_request_event,
    push_event,
    run_act,
    schedule_event,
)

from . import prerequisites, report
from .endpoint import deployment_info, predict, send_batch
from .progress import Progress, StepFailed
from .runner import Runner, teardown

DEFAULT_WORK = ROOT / "build" / "loop-demo"
REPOSITORY = "acme/my-ml-project"
GITHUB_URL = f"https://github.com/{REPOSITORY}.git"
IDENTITY = ["-c", "user.name=Demo Developer", "-c", "user.email=developer@example.com"]
BRANCH, PR_NUMBER, FIRST_TAG, TAG = "tune-c", 1, "v0.1.0", "v1.0.0"
C_BEFORE, C_AFTER = "    C: 1.0\n", "    C: 0.05\n"
MARGIN_BEFORE, MARGIN_AFTER = "  min_improvement: 0.0\n", "  min_improvement: -0.01\n"
REPORT_MARKER = "<!-- gitops-ml report: Model report -->"
ISSUE_TITLE = "Monitoring alert: data or model drift"
DRIFTED_ROWS, CHUNK = 1000, 50


class CommandFailed(RuntimeError):
    """A command of the demo (git, make, dvc, gitops-ml) exited non-zero."""


def developer_env() -> dict[str, str]:
    """The developer's shell: this repository's environment first on PATH, telemetry off,
    no parent make, virtualenv or tracking server leaking in."""
    env = {**os.environ, **QUIET_ENV}
    env["PATH"] = f"{SHARED_BIN}{os.pathsep}{env.get('PATH', '')}"
    for name in ("MLFLOW_TRACKING_URI", "VIRTUAL_ENV", "MAKEFLAGS", "MFLAGS", "MAKELEVEL"):
        env.pop(name, None)
    return env


def run(command: Sequence[str], cwd: Path, timeout: float = 900) -> str:
    """Run `command` in `cwd` as the developer; its stdout, or CommandFailed with the tail."""
    done = subprocess.run(
        list(command), cwd=cwd, env=developer_env(), capture_output=True, text=True,
        timeout=timeout,
    )  # fmt: skip
    if done.returncode != 0:
        tail = (done.stdout[-1500:] + "\n" + done.stderr[-1500:]).strip()
        raise CommandFailed(f"{' '.join(command)} exited {done.returncode}: {tail}")
    return done.stdout


def git(cwd: Path, *args: str) -> str:
    """`git -c <identity> ARGS` in `cwd`."""
    return run(["git", *IDENTITY, *args], cwd)


class Loop:
    """The demo's state: where everything is, and the steps in order."""

    def __init__(self, work: Path, progress: Progress):
        self.work = work.resolve()
        self.progress = progress
        self.origin = self.work / "origin.git"
        self.storage = self.work / "dvc-storage"
        self.github = self.work / "github"  # the gh stand-in's releases, issues, comments
        self.runs = self.work / "act-runs"
        self.checkouts = self.work / "checkouts"
        self.runner = Runner(self.work / "deploy-runner")
        self.project = self.work / "my-ml-project"
        self.url = ""

    # --- helpers -----------------------------------------------------------------------------

    def checkout(self, ref: str, name: str, *, reachable: bool = False) -> Path:
        """A fresh clone of `origin` at `ref`, as a runner checks out the event's commit.

        Its `origin` then looks like GitHub (act names the repository after it:
        GITHUB_REPOSITORY); `origin/main` stays, for the comparisons with main. `reachable`
        also lets the job fetch from and push to the bare origin behind that URL (git's
        insteadOf), which act then reports as the repository's name instead.
        """
        path = self.checkouts / name
        run(["git", "clone", "-q", str(self.origin), str(path)], self.work)
        git(path, "checkout", "-q", ref)
        git(path, "remote", "set-url", "origin", GITHUB_URL)
        if reachable:
            git(path, "config", f"url.{self.origin}.insteadOf", GITHUB_URL)
        return path

    def act(
        self,
        label: str,
        checkout: Path,
        event_name: str,
        event: Mapping[str, Any],
        workflow: str,
        **options: Any,
    ) -> ActResult:
        """Run `workflow` through act in `checkout`; its log is kept as act-runs/<label>.log.

        Raises:
            RuntimeError: a job failed (the failing step and its error annotations are named).
        """
        job = f" (job {options['job']})" if "job" in options else ""
        self.progress.sub(f"act {event_name}: {workflow}{job}")
        result = run_act(
            checkout,
            event_name,
            event,
            workflow=workflow,
            tmp_path=self.runs / label,
            env={"ACT_GH_STATE_DIR": str(self.github)},
            timeout=900,
            **options,
        )
        log = self.runs / f"{label}.log"
        log.write_text(result.log + "\n--- stderr ---\n" + result.stderr, encoding="utf-8")
        jobs = ", ".join(f"{job} {outcome}" for job, outcome in result.job_results.items())
        self.progress.sub(f"{workflow}: {jobs or 'no job ran'} in {result.seconds:.1f} s (log: "
                          f"{self.progress.where(log)})")  # fmt: skip
        if not result.succeeded:
            errors = "; ".join(result.annotations("error")[-2:])
            if not errors:  # no ::error:: annotation: the last lines the job printed
                printed = [line.strip() for line in result.log.splitlines() if line.strip()]
                errors = " / ".join(printed[-4:])[-600:]
            failed = result.failed_step() or "act itself"
            raise RuntimeError(f"{workflow} failed at step {failed!r}: {errors} (full log: {log})")
        return result

    def params(self) -> dict[str, Any]:
        return yaml.safe_load((self.project / "params.yaml").read_text(encoding="utf-8"))

    # --- the steps ---------------------------------------------------------------------------

    def render(self) -> None:
        """Step 1: render, run the pipeline, push to origin; main.yml publishes model-v1."""
        from cookiecutter.main import cookiecutter

        with self.progress.step(1, f"Render, push, tag {FIRST_TAG}: model-v1 serves") as step:
            self.progress.sub("cookiecutter --no-input (the defaults), DVC remote in dvc-storage/")
            self.storage.mkdir(parents=True)
            cookiecutter(
                str(ROOT),
                no_input=True,
                output_dir=str(self.work),
                extra_context={"dvc_remote_url": str(self.storage)},
            )
            self.progress.sub("make repro: ingest, validate, featurize, train, evaluate")
            run(["make", "repro", f"VENV={sys.prefix}"], self.project)
            git(self.project, "add", "-A")
            git(self.project, "commit", "-q", "-m", "Run the pipeline: dvc.lock, metrics, plots")
            run(["dvc", "push", "-q", "--run-cache"], self.project)
            self.progress.sub("push main to origin.git (a bare repository standing in for GitHub)")
            run(["git", "init", "-q", "--bare", "-b", "main", str(self.origin)], self.work)
            git(self.project, "remote", "add", "origin", GITHUB_URL)
            git(self.project, "config", f"url.{self.origin}.insteadOf", GITHUB_URL)
            git(self.project, "push", "-q", "-u", "origin", "main")
            self.progress.sub("the push to main runs main.yml: the first model becomes champion")
            result = self.act(
                "1-main", self.checkout("main", "main-1"), "push",
                push_event("refs/heads/main", REPOSITORY), "main.yml",
            )  # fmt: skip
            record = self.promotion_record(result)
            self.progress.sub(
                f"promotion: {record['decision']}: {record['reason']}; release "
                f"{result.outputs('promote').get('champion-release') or '-'}"
            )
            self.progress.sub(f"tag {FIRST_TAG}: release.yml serves model-v1 on the deploy runner")
            outputs, _ = self.deploy(FIRST_TAG, "1-release")
            step.outcome = (
                f"model-v1 published ({record['metric']} {record['candidate_metric']}), "
                f"served as version {outputs.get('version')}"
            )
            step.artefacts = {
                "project": self.project,
                "origin": self.origin,
                "releases": self.github / "releases",
            }

    def pull_request(self) -> None:
        """Step 2: a branch lowers C; pr.yml's model job posts the report (printed, saved)."""
        with self.progress.step(2, "Pull request changing a parameter: pr.yml") as step:
            self.progress.sub(
                f"branch {BRANCH}: train.logistic_regression.C {C_BEFORE.split()[1]} -> "
                f"{C_AFTER.split()[1]} (a simpler model), promote.min_improvement "
                f"{MARGIN_BEFORE.split()[1]} -> {MARGIN_AFTER.split()[1]} (accepted when no "
                "worse than 0.01), make repro, commit, dvc push, git push"
            )
            git(self.project, "checkout", "-q", "-b", BRANCH)
            params = self.project / "params.yaml"
            text = params.read_text(encoding="utf-8")
            for before, after in ((C_BEFORE, C_AFTER), (MARGIN_BEFORE, MARGIN_AFTER)):
                if text.count(before) != 1:
                    raise RuntimeError(f"params.yaml has no single line {before.strip()!r}")
                text = text.replace(before, after)
            params.write_text(text, encoding="utf-8")
            run(["make", "repro", f"VENV={sys.prefix}"], self.project)
            git(self.project, "add", "-A")
            git(self.project, "commit", "-q", "-m",
                "A simpler model: lower C, accepted when no worse than 0.01 AUC")  # fmt: skip
            run(["dvc", "push", "-q", "--run-cache"], self.project)
            git(self.project, "push", "-q", "-u", "origin", BRANCH)
            result = self.act(
                "2-pr", self.checkout(BRANCH, "pr-1"), "pull_request",
                pull_request_event(PR_NUMBER, BRANCH, repository=REPOSITORY), "pr.yml",
                job="model",
            )  # fmt: skip
            posted = [c for c in result.calls("gh") if "--method" in c["argv"] and c["markdown"]]
            if not posted:
                raise RuntimeError("pr.yml succeeded but posted no report (no gh api write)")
            markdown = posted[-1]["markdown"].removeprefix(REPORT_MARKER + "\n")
            md_path, html_path = report.save(
                markdown, self.work, "pr-report", f"Model report: pull request #{PR_NUMBER}"
            )
            verb = posted[-1]["argv"][2]
            self.progress.sub(f"the report, posted as a pull-request comment (gh api {verb}):")
            self.progress.block(markdown)
            step.outcome = "report posted"
            step.artefacts = {"report": md_path, "html": html_path}

    def promotion_record(self, result: ActResult) -> dict[str, Any]:
        """The promotion's audit record (record.json of the `promotion` artifact)."""
        found = sorted((result.artifact_dir / "promotion").rglob("record.json"))
        if not found:
            raise RuntimeError("main.yml kept no promotion record (artifact `promotion`)")
        return json.loads(found[0].read_text(encoding="utf-8"))

    def merge(self) -> None:
        """Step 3: merge to main; main.yml's gate compares the candidate with the champion."""
        with self.progress.step(3, "Merge: main.yml gates and promotes (or not)") as step:
            self.progress.sub(f"merge {BRANCH} into main, push")
            git(self.project, "checkout", "-q", "main")
            git(self.project, "merge", "-q", "--no-ff", BRANCH, "-m",
                f"Merge pull request #{PR_NUMBER} from {BRANCH}")  # fmt: skip
            git(self.project, "push", "-q", "origin", "main")
            result = self.act(
                "3-main", self.checkout("main", "main-2"), "push",
                push_event("refs/heads/main", REPOSITORY), "main.yml",
            )  # fmt: skip
            record = self.promotion_record(result)
            record_path = self.work / "promotion-record.json"
            record_path.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
            interval = record.get("interval") or [None, None]
            self.progress.sub(
                f"gate on {record['test_rows']} held-out rows, metric {record['metric']}: "
                f"candidate (version {record['candidate_version']}) "
                f"{record['candidate_metric']}, champion (version "
                f"{record['champion_version']}) {record['champion_metric']}, difference "
                f"{record['difference']}, 95% interval [{interval[0]}, {interval[1]}], "
                f"required improvement {record['gate'].get('min_improvement')}"
            )
            self.progress.sub(f"decision: {record['decision']}: {record['reason']}")
            release = result.outputs("promote").get("champion-release") or ""
            step.outcome = record["decision"] + (f" ({release})" if release else "")
            step.artefacts = {"gate": record_path}

    def deploy(self, tag: str, label: str) -> tuple[dict[str, str], ActResult]:
        """Push ``tag``; release.yml deploys the champion on the deploy runner.

        Returns:
            The deploy step's outputs (url, release, version...) and the act result.
        """
        git(self.project, "tag", tag)
        git(self.project, "push", "-q", "origin", tag)
        checkout = self.checkout(tag, f"release-{tag}")
        answers = json.loads((checkout / ".cookiecutter.json").read_text(encoding="utf-8"))
        self.progress.sub(
            "the deploy runner (DEPLOY_RUNNER=self-hosted): its .venv, .deploy and logs "
            f"persist in {self.progress.where(self.runner.root)}"
        )
        self.runner.link_into(checkout)
        self.runner.prepare_venv(
            f"python{answers['python_version']}", checkout / "requirements.lock", ROOT
        )
        result = self.act(
            label, checkout, "push", push_event(f"refs/tags/{tag}", REPOSITORY),
            "release.yml", variables={"DEPLOY_RUNNER": "self-hosted"}, use_gitignore=False,
        )  # fmt: skip
        outputs = result.outputs("deploy")
        self.url = outputs.get("url", "")
        if not self.url:
            raise RuntimeError("release.yml succeeded but its deploy step gave no URL")
        outcome = next(
            (line for line in result.summary.splitlines() if line.startswith("Outcome:")), ""
        )
        self.progress.sub(
            f"deployed release {outputs.get('release')} (version {outputs.get('version')}) "
            f"at {self.url}: {outcome.removeprefix('Outcome: ').replace('**', '')}"
        )
        return outputs, result

    def release(self) -> None:
        """Step 4: tag v1.0.0; release.yml rolls the new champion out as a canary; requests."""
        with self.progress.step(4, f"Tag {TAG}: release.yml canary behind nginx") as step:
            outputs, result = self.deploy(TAG, "4-release")
            # The rollout as `gitops-ml deploy` printed it: one line per checked step.
            rollout = re.findall(r"^.*?((?:deploy: canary of|canary \d+%:) .+)$", result.log, re.M)
            for line in dict.fromkeys(rollout):
                self.progress.sub(line)
            self.progress.sub(f"GET {self.url}/deployment -> {deployment_info(self.url)}")
            test = pd.read_csv(self.project / "data" / "interim" / "test.csv")
            target = self.params()["data"]["target"]
            rows = test.drop(columns=[target]).head(3)
            for index in range(len(rows)):
                answer = predict(self.url, rows.iloc[[index]])
                if answer.status != 200:
                    raise RuntimeError(f"/invocations answered {answer.status}: {answer.error}")
                self.progress.sub(
                    f"POST /invocations (test row {index}, label {test[target].iloc[index]}) -> "
                    f"{answer.status} prediction {answer.predictions} from version "
                    f"{answer.version} ({answer.variant}), request {answer.request_id}"
                )
            step.outcome = f"serving version {outputs.get('version')}"
            step.artefacts = {"endpoint": self.url, "state": self.runner.state_dir}

    def monitor(self) -> None:
        """Step 5: a drifted batch through the endpoint; monitor.yml on its prediction log."""
        with self.progress.step(5, "Drifted traffic: monitor.yml opens the alert issue") as step:
            batch_path = self.work / "drifted-batch.csv"
            self.progress.sub(run(
                ["gitops-ml", "monitor", "demo-batch", "--data", "data/interim/train.csv",
                 "data/interim/test.csv", "--schema", "data/interim/schema.json",
                 "--out", str(batch_path), "--rows", str(DRIFTED_ROWS)],
                self.project,
            ).strip())  # fmt: skip
            target = self.params()["data"]["target"]
            batch = pd.read_csv(batch_path).drop(columns=[target])
            answers = send_batch(self.url, batch, CHUNK)
            failed = [a for a in answers if a.status != 200]
            predictions = pd.Series([p for a in answers for p in a.predictions])
            self.progress.sub(
                f"sent {len(batch)} rows in {len(answers)} requests of {CHUNK} to {self.url}: "
                f"{len(answers) - len(failed)} answered 200, predictions "
                f"{predictions.value_counts().to_dict()}"
            )
            if failed:
                raise RuntimeError(f"{len(failed)} requests failed: {failed[0].error}")
            logs = sorted((self.runner.log_dir / "predictions").glob("*.csv"))
            if not logs:
                raise RuntimeError(f"no prediction log in {self.runner.log_dir / 'predictions'}")
            log = pd.concat([pd.read_csv(path) for path in logs], ignore_index=True)
            current = self.project / "data" / "monitoring" / "current.csv"
            current.parent.mkdir(parents=True, exist_ok=True)
            log.to_csv(current, index=False)
            self.progress.sub(
                f"prediction log: {len(log)} rows in {len(logs)} file(s); committed as "
                "data/monitoring/current.csv (monitor.current) and pushed"
            )
            git(self.project, "add", "data/monitoring/current.csv")
            git(self.project, "commit", "-q", "-m", "Production batch: the prediction log")
            git(self.project, "push", "-q", "origin", "main")
            result = self.act(
                "5-monitor", self.checkout("main", "monitor", reachable=True), "schedule",
                schedule_event("17 6 * * *"), "monitor.yml",
            )  # fmt: skip
            kept = sorted((result.artifact_dir / "monitoring-report").rglob("report.html"))
            github = json.loads((self.github / "github.json").read_text(encoding="utf-8"))
            issues = [i for i in github.get("issues", []) if i["title"] == ISSUE_TITLE]
            if not issues:
                raise RuntimeError(f"monitor.yml opened no issue {ISSUE_TITLE!r}")
            issue = issues[-1]
            issue_path = self.work / "alert-issue.md"
            issue_path.write_text(f"# {issue['title']}\n\n{issue['body']}\n", encoding="utf-8")
            self.progress.sub(f"issue #{issue.get('number', '?')} ({issue['state']}), "
                              f"labels {issue.get('labels', [])}:")  # fmt: skip
            self.progress.block(f"{issue['title']}\n\n{issue['body']}")
            step.outcome = f"alert issue #{issue.get('number', '?')} opened"
            step.artefacts = {"issue": issue_path, "log": current}
            if kept:
                step.artefacts["drift report"] = kept[0]

    def teardown(self) -> None:
        """Step 6: stop the deployment; check that no process and no port is left."""
        with self.progress.step(6, "Tear down: undeploy, no process or port left") as step:
            for line in teardown(self.runner, self.project if self.project.is_dir() else ROOT):
                self.progress.sub(line)
            step.outcome = "nothing left running"


def clean(work: Path, progress: Progress) -> None:
    """Remove an earlier demo's folder, stopping its deployment first if one still runs."""
    runner = Runner(work / "deploy-runner")
    if runner.deployment():
        progress.sub("an earlier demo's deployment still runs: stopping it")
        for line in teardown(runner, ROOT):
            progress.sub(line)
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)


def main(argv: Sequence[str] | None = None) -> int:
    """Check the prerequisites, play the six steps, tear down, print the table.

    Returns:
        0 when every step succeeded; 1 when a step failed (named, with its reason); 2 when a
        prerequisite is missing (each named with the command that installs it).
    """
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work", type=Path, default=DEFAULT_WORK, help="folder for everything")
    args = parser.parse_args(argv)
    progress = Progress(args.work)
    defaults = json.loads((ROOT / "cookiecutter.json").read_text(encoding="utf-8"))
    python_version = defaults["python_version"][0]
    progress.say("Prerequisites: act, uv, git, nginx, python" + python_version + ", free ports")
    problems = prerequisites.missing(python_version)
    if problems:
        for problem in problems:
            progress.sub(f"missing {problem}")
        progress.say("The demo needs the above; nothing was started.")
        return 2
    clean(args.work, progress)
    loop = Loop(args.work, progress)
    status = 0
    try:
        loop.render()
        loop.pull_request()
        loop.merge()
        loop.release()
        loop.monitor()
    except StepFailed as failure:
        progress.say(f"Demo stopped at step {failure.step!r}: {failure.reason}")
        status = 1
    except KeyboardInterrupt:
        progress.say("Interrupted: tearing down")
        status = 130
    finally:
        try:
            loop.teardown()
        except StepFailed as failure:
            progress.say(f"Teardown failed: {failure.reason}")
            status = status or 1
    print("\nSummary (wall times on this machine):\n" + progress.table(), flush=True)
    print(f"\nEverything is in {args.work}", flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
