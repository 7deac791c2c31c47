"""The `promote` action: `make promote`, then outputs and the model card in the job summary.

The gate itself lives in the generated project (src/<package>/promote.py, `make promote`), so
local runs and CI take the same decision; this script only validates the inputs, passes the
registry URI through the environment and publishes the result. Unit-tested in-process.

Without a registry URI but with a GitHub token, the champion lives in GitHub releases
`model-v<N>` (src/<package>/champion_store.py): `make champion-pull` restores the latest one
into the runner's fresh registry before the gate, `make champion-push` publishes a new
champion after it.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

RECORD = "reports/promotion/record.json"
CARD = "reports/promotion/model_card.md"
VENV = re.compile(r"^[A-Za-z0-9_./-]+$")

Runner = Callable[[Sequence[str], Mapping[str, str]], "subprocess.CompletedProcess[str]"]


class InputError(ValueError):
    pass


def parse_inputs(env: Mapping[str, str], cwd: Path) -> tuple[str, str]:
    venv = env.get("PROMOTE_VENV", "")
    if not VENV.match(venv) or venv.startswith("-"):
        raise InputError(f"venv must be a directory path, got {venv!r}")
    if not (cwd / "Makefile").exists():
        raise InputError(f"no Makefile in {cwd}: set working-directory to the generated project")
    uri = env.get("PROMOTE_TRACKING_URI", "")
    if uri and "://" not in uri and not uri.startswith(("sqlite:", "databricks")):
        raise InputError("tracking-uri must be a URI such as https://mlflow.example.com")
    return venv, uri


def run_make(command: Sequence[str], env: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(command), env=dict(env), capture_output=True, text=True)


def summary(card: str, uri: str, store: list[str] | None = None) -> str:
    lines = [card.rstrip(), ""]
    if store is not None:
        lines += [
            "> No `MLFLOW_TRACKING_URI` secret: the champion is kept in GitHub releases "
            "`model-v<N>` (docs/deployment.md). " + " ".join(store),
            "",
        ]
    elif not uri:
        lines += [
            "> No `MLFLOW_TRACKING_URI` secret: this run used the runner's local sqlite "
            "registry, which does not outlive the job. Set the secret to a shared MLflow "
            "server to keep the `champion` alias across runs (docs/deployment.md).",
            "",
        ]
    return "\n".join(lines) + "\n"


def outputs(record: Mapping[str, Any]) -> dict[str, str]:
    promoted = record["decision"] == "promoted"
    champion = record["candidate_version"] if promoted else record["champion_version"]
    return {
        "decision": record["decision"],
        "candidate-version": str(record["candidate_version"]),
        "champion-version": "" if champion is None else str(champion),
        "record": RECORD,
        "model-card": CARD,
    }


def failure(result: subprocess.CompletedProcess[str], what: str) -> str:
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    return errors[-1].removeprefix("error: ") if errors else f"{what} failed"


def store_said(result: subprocess.CompletedProcess[str]) -> str:
    lines = [line for line in result.stdout.splitlines() if line.startswith("champion-store: ")]
    return lines[-1].removeprefix("champion-store: ") if lines else ""


def make(runner: Runner, target: str, venv: str, env: Mapping[str, str]):
    result = runner(["make", target, f"VENV={venv}"], env)
    sys.stdout.write(result.stdout)
    sys.stderr.write(result.stderr)
    return result


def main(env: Mapping[str, str], cwd: Path, runner: Runner = run_make) -> int:
    try:
        venv, uri = parse_inputs(env, cwd)
    except InputError as exc:
        print(f"::error::{exc}")
        return 1
    child = dict(env)
    if uri:
        child["MLFLOW_TRACKING_URI"] = uri
    token = env.get("PROMOTE_GITHUB_TOKEN", "")
    store = None if uri or not token else []
    # The token reaches the two `gh` steps only, never the model code `make promote` runs.
    gh_env = {**child, "GH_TOKEN": token, "GH_REPO": env.get("GITHUB_REPOSITORY", "")}
    if not gh_env["GH_REPO"]:
        del gh_env["GH_REPO"]
    if store is not None:
        result = make(runner, "champion-pull", venv, gh_env)
        if result.returncode != 0:
            reason = failure(result, "make champion-pull")
            print(f"::error::could not restore the champion from the GitHub releases: {reason}")
            return 1
        store.append(f"Before the gate: {store_said(result)}.")
    (cwd / RECORD).unlink(missing_ok=True)
    result = make(runner, "promote", venv, child)
    if result.returncode != 0:
        reason = failure(result, "make promote")
        print(f"::error::promotion failed, 'champion' unchanged: {reason}")
        return 1
    record = json.loads((cwd / RECORD).read_text(encoding="utf-8"))
    release, published = "", True
    if store is not None and record["decision"] == "promoted":
        result = make(runner, "champion-push", venv, gh_env)
        published = result.returncode == 0
        if published:
            release = store_said(result).removeprefix("published release ")
            store.append(f"New champion published as release `{release}`.")
        else:
            store.append(f"**Publishing the new champion failed**: {failure(result, 'push')}.")
    card = (cwd / CARD).read_text(encoding="utf-8")
    if path := env.get("GITHUB_OUTPUT"):
        with Path(path).open("a", encoding="utf-8") as handle:
            handle.writelines(f"{key}={value}\n" for key, value in outputs(record).items())
            handle.write(f"champion-release={release}\n")
    if path := env.get("GITHUB_STEP_SUMMARY"):
        with Path(path).open("a", encoding="utf-8") as handle:
            handle.write(summary(card, uri, store))
    version, decision = record["candidate_version"], record["decision"]
    if not published:  # outputs and summary are written: the audit record is still kept
        print(
            f"::error::version {version} promoted in this runner's registry, but the GitHub "
            "release was not created, so the next run will not see this champion: "
            f"{failure(result, 'make champion-push')}"
        )
        return 1
    print(f"::notice::version {version} {decision}: {record['reason']}")
    return 0


if __name__ == "__main__":
    sys.exit(main(os.environ, Path.cwd()))
