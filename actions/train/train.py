"""`dvc repro` with DVC's run-cache around it (the `train` action), unit-tested in-process.

Before: `dvc pull --run-cache` so stages whose inputs are unchanged are restored, not rerun.
After: `dvc push --run-cache` when pushing is enabled; a read-only or missing remote (fork pull
requests, first run) is a warning, because the trained model in the workspace is still valid.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "_shared"))
from workflow_commands import error, warning  # noqa: E402

TARGET = re.compile(r"^[A-Za-z0-9_./:@-]+$")
BOOLEAN = ("true", "false")

Runner = Callable[[Sequence[str]], "subprocess.CompletedProcess[str]"]


class InputError(ValueError):
    pass


def parse_inputs(env: Mapping[str, str]) -> tuple[list[str], bool, bool]:
    targets = env.get("TRAIN_TARGETS", "").split()
    for target in targets:
        if not TARGET.match(target):
            raise InputError(f"targets: {target!r} is not a DVC stage or dvc.yaml path")
    flags = []
    for name in ("TRAIN_RUN_CACHE", "TRAIN_PUSH"):
        value = env.get(name, "")
        if value not in BOOLEAN:
            label = name.removeprefix("TRAIN_").lower().replace("_", "-")
            raise InputError(f"{label} must be true or false, got {value!r}")
        flags.append(value == "true")
    return targets, flags[0], flags[1]


def plan(targets: Sequence[str], run_cache: bool, push: bool) -> list[tuple[str, list[str]]]:
    """The commands in order, each tagged 'soft' (warning on failure) or 'hard' (fails)."""
    steps: list[tuple[str, list[str]]] = []
    if run_cache:
        steps.append(("soft", ["dvc", "pull", "--run-cache", "--allow-missing", *targets]))
    steps.append(("hard", ["dvc", "repro", *targets]))
    if push:
        steps.append(("soft", ["dvc", "push", "--run-cache", *targets]))
    return steps


def metrics_files(show: Mapping[str, Any]) -> dict[str, Any]:
    """`dvc metrics show --json` -> {path: metrics} of the workspace."""
    # DVC 3 keys the workspace as "" (older releases: "workspace").
    workspace = (show.get("") or show.get("workspace") or {}).get("data", {})
    return {path: entry.get("data", {}) for path, entry in sorted(workspace.items())}


def metrics_markdown(files: Mapping[str, Mapping[str, Any]]) -> str:
    lines = ["### Training metrics", "", "| File | Metric | Value |", "|---|---|---|"]
    for path, values in files.items():
        for name, value in sorted(_flatten(values).items()):
            shown = f"{value:.6g}" if isinstance(value, float) else str(value)
            lines.append(f"| `{path}` | {name} | {shown} |")
    return "\n".join(lines) + "\n"


def _flatten(values: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in values.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(_flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


def append(variable: str, text: str, env: Mapping[str, str]) -> None:
    if env.get(variable):
        with Path(env[variable]).open("a", encoding="utf-8") as handle:
            handle.write(text)


def _default_runner(command: Sequence[str]) -> subprocess.CompletedProcess[str]:
    print(f"$ {shlex.join(command)}", flush=True)
    capture = command[:2] == ["dvc", "metrics"]
    try:
        return subprocess.run(list(command), capture_output=capture, text=True, check=False)
    except FileNotFoundError:
        error("train", f"{command[0]} is not on PATH: run the setup action first")
        return subprocess.CompletedProcess(list(command), 127, "", "")


def main(env: Mapping[str, str] | None = None, runner: Runner | None = None) -> int:
    env = os.environ if env is None else env
    runner = runner or _default_runner
    try:
        targets, run_cache, push = parse_inputs(env)
    except InputError as exc:
        return error("train", exc)
    for kind, command in plan(targets, run_cache, push):
        if runner(command).returncode == 0:
            continue
        if kind == "hard":
            return error("train", f"{shlex.join(command)} failed (see the log above)")
        warning("train", f"{shlex.join(command)} failed; continuing without it")
    shown = runner(["dvc", "metrics", "show", "--json"])
    files = metrics_files(json.loads(shown.stdout or "{}")) if shown.returncode == 0 else {}
    first = next(iter(files), "")
    append("GITHUB_OUTPUT", f"metrics-path={first}\nmetrics={json.dumps(files)}\n", env)
    if files:
        append("GITHUB_STEP_SUMMARY", metrics_markdown(files), env)
    print(f"train: done; metrics in {', '.join(files) or 'no metrics file'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
