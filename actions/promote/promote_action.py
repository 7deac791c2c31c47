"""The `promote` action: `make promote`, then outputs and the model card in the job summary.

The gate itself lives in the project's gitops-ml (`make promote`), so local runs and CI take
the same decision; this script only validates the inputs, passes the registry URI through the
environment and publishes the result: the audit record `make promote` writes, a `promotion`
result file read through actions/_shared/results.py (never the command's stdout). A record of
a kind or schema version this action does not understand fails the step with one sentence.
Unit-tested in-process.

Without a registry URI but with a GitHub token, the champion lives in GitHub releases
`model-v<N>` (gitops-ml champion): `make champion-pull` restores the latest one
into the runner's fresh registry before the gate, `make champion-push` publishes a new
champion after it.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "_shared"))

from project_make import (  # noqa: E402
    Runner,
    failure,
    github_env,
    make,
    run,
    store_lines,
    tracking_uri_error,
    venv_error,
)
from results import PATHS, ResultError, read  # noqa: E402
from workflow_commands import error, notice  # noqa: E402

RECORD = PATHS["promotion"]
CARD = "reports/promotion/model_card.md"


class InputError(ValueError):
    pass


def parse_inputs(env: Mapping[str, str], cwd: Path) -> tuple[str, str]:
    venv = env.get("PROMOTE_VENV", "")
    if problem := venv_error(venv):
        raise InputError(problem)
    if not (cwd / "Makefile").exists():
        raise InputError(f"no Makefile in {cwd}: set working-directory to the generated project")
    uri = env.get("PROMOTE_TRACKING_URI", "")
    if problem := tracking_uri_error(uri):
        raise InputError(problem)
    return venv, uri


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


def store_said(result: Any) -> str:
    """What the champion store did (its first line), then its notices (attestation...)."""
    said = store_lines(result)
    return "; ".join(said)


def main(env: Mapping[str, str], cwd: Path, runner: Runner = run) -> int:
    try:
        venv, uri = parse_inputs(env, cwd)
    except InputError as exc:
        return error("", exc)
    child = dict(env)
    token = child.pop("PROMOTE_GITHUB_TOKEN", "")
    if uri:
        child["MLFLOW_TRACKING_URI"] = uri
    store = None if uri or not token else []
    # The token reaches the two `gh` steps only, never the model code `make promote` runs.
    gh_env = github_env(child, token)
    if store is not None:
        result = make(runner, "champion-pull", venv, gh_env)
        if result.returncode != 0:
            reason = failure(result, "make champion-pull")
            return error("", f"could not restore the champion from the GitHub releases: {reason}")
        store.append(f"Before the gate: {store_said(result)}.")
    (cwd / RECORD).unlink(missing_ok=True)
    result = make(runner, "promote", venv, child)
    if result.returncode != 0:
        reason = failure(result, "make promote")
        return error("", f"promotion failed, 'champion' unchanged: {reason}")
    try:
        record = read(cwd / RECORD, "promotion", RECORD)
    except ResultError as exc:
        return error("", exc)
    release, published = "", True
    if store is not None and record["decision"] == "promoted":
        result = make(runner, "champion-push", venv, gh_env)
        published = result.returncode == 0
        if published:
            said = store_lines(result)
            release = said[-1].removeprefix("published release ") if said else ""
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
        return error(
            "",
            f"version {version} promoted in this runner's registry, but the GitHub release "
            "was not created, so the next run will not see this champion: "
            f"{failure(result, 'make champion-push')}",
        )
    notice("", f"version {version} {decision}: {record['reason']}")
    return 0


if __name__ == "__main__":
    sys.exit(main(os.environ, Path.cwd()))
