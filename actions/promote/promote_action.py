"""The `promote` action: `make promote`, then outputs and the model card in the job summary.

The gate itself lives in the generated project (src/<package>/promote.py, `make promote`), so
local runs and CI take the same decision; this script only validates the inputs, passes the
registry URI through the environment and publishes the result. Unit-tested in-process.
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


def summary(card: str, uri: str) -> str:
    lines = [card.rstrip(), ""]
    if not uri:
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


def main(env: Mapping[str, str], cwd: Path, runner: Runner = run_make) -> int:
    try:
        venv, uri = parse_inputs(env, cwd)
    except InputError as exc:
        print(f"::error::{exc}")
        return 1
    child = dict(env)
    if uri:
        child["MLFLOW_TRACKING_URI"] = uri
    (cwd / RECORD).unlink(missing_ok=True)
    result = runner(["make", "promote", f"VENV={venv}"], child)
    sys.stdout.write(result.stdout)
    sys.stderr.write(result.stderr)
    if result.returncode != 0:
        errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
        reason = errors[-1].removeprefix("error: ") if errors else "make promote failed"
        print(f"::error::promotion failed, 'champion' unchanged: {reason}")
        return 1
    record = json.loads((cwd / RECORD).read_text(encoding="utf-8"))
    card = (cwd / CARD).read_text(encoding="utf-8")
    if path := env.get("GITHUB_OUTPUT"):
        with Path(path).open("a", encoding="utf-8") as handle:
            handle.writelines(f"{key}={value}\n" for key, value in outputs(record).items())
    if path := env.get("GITHUB_STEP_SUMMARY"):
        with Path(path).open("a", encoding="utf-8") as handle:
            handle.write(summary(card, uri))
    version, decision = record["candidate_version"], record["decision"]
    print(f"::notice::version {version} {decision}: {record['reason']}")
    return 0


if __name__ == "__main__":
    sys.exit(main(os.environ, Path.cwd()))
