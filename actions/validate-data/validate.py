"""Run the DVC validate stage and report its JSON summary (the `validate-data` action).

`summarize()` turns the summary into Markdown for $GITHUB_STEP_SUMMARY and is unit-tested
in-process; `main()` runs `dvc repro <stage>` and decides which summary can be trusted: the
stage's own summary when the stage ran now or DVC says it is up to date, never a stale copy.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "_shared"))
from validation_failures import detail  # noqa: E402
from workflow_commands import command, error  # noqa: E402

STAGE = re.compile(r"^[A-Za-z0-9_./:@-]+$")


class InputError(ValueError):
    pass


def check_inputs(stage: str, summary: str) -> None:
    if not STAGE.match(stage):
        raise InputError(f"stage {stage!r} is not a DVC stage name")
    if not summary or summary.startswith("/") or ".." in Path(summary).parts:
        raise InputError(f"summary must be a relative path inside the project, got {summary!r}")


def summarize(summary: Mapping[str, Any]) -> str:
    """Readable Markdown: verdict, rows and expectations per split, one row per failure."""
    splits = summary.get("splits", {})
    counts = ", ".join(
        f"{name}: {r.get('rows', '?')} rows, {r.get('evaluated', '?')} expectations"
        for name, r in splits.items()
    )
    failed = [(name, f) for name, r in splits.items() for f in r.get("failed", [])]
    suite = summary.get("suite", "?")
    if summary.get("success"):
        return f"### Data validation ✅ passed\n\nSuite `{suite}`: {counts}.\n"
    lines = [
        "### Data validation ❌ failed",
        "",
        f"Suite `{suite}`: {len(failed)} failed expectation(s) ({counts}).",
        "",
        "| Split | Expectation | Column | Detail | Why it exists |",
        "|---|---|---|---|---|",
    ]
    for name, failure in failed:
        column = f"`{failure['column']}`" if failure.get("column") else "(table)"
        cells = [
            name,
            f"`{failure.get('expectation')}`",
            column,
            detail(failure),
            failure.get("why") or "",
        ]
        lines.append("| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines) + "\n"


def error_lines(summary: Mapping[str, Any]) -> list[str]:
    """One `::error::` annotation per failed expectation."""
    return [
        command(
            "error",
            f"[{name}] {failure.get('expectation')} failed on "
            f"{failure.get('column') or 'the table'}: {detail(failure)}",
            "Data validation",
        )
        for name, result in summary.get("splits", {}).items()
        for failure in result.get("failed", [])
    ]


def trusted_summary(path: Path, repro_ok: bool, started: float) -> dict[str, Any] | None:
    """The summary if it belongs to this run: DVC succeeded, or the stage rewrote it now."""
    if not path.is_file():
        return None
    if not repro_ok and path.stat().st_mtime < started:
        return None
    return json.loads(path.read_text(encoding="utf-8"))


def run(argv: Sequence[str]) -> int:
    try:
        return subprocess.run(list(argv), check=False).returncode
    except FileNotFoundError:
        error("validate-data", f"{argv[0]} is not on PATH: run the setup action first")
        return 127


def append(variable: str, text: str, env: Mapping[str, str]) -> None:
    if env.get(variable):
        with Path(env[variable]).open("a", encoding="utf-8") as handle:
            handle.write(text)


def main(
    env: Mapping[str, str] | None = None,
    runner: Callable[[Sequence[str]], int] | None = None,
) -> int:
    env = os.environ if env is None else env
    runner = runner or run
    stage, summary_path = env.get("VALIDATE_STAGE", ""), env.get("VALIDATE_SUMMARY", "")
    try:
        check_inputs(stage, summary_path)
    except InputError as exc:
        return error("validate-data", exc)
    started = time.time() - 1
    repro_ok = runner(["dvc", "repro", stage]) == 0
    summary = trusted_summary(Path(summary_path), repro_ok, started)
    if summary is None:
        append("GITHUB_OUTPUT", "success=false\nsummary=\n", env)
        append("GITHUB_STEP_SUMMARY", "### Data validation did not run\n\nSee the job log.\n", env)
        return error("validate-data", f"dvc repro {stage} failed before writing {summary_path}")
    success = bool(summary.get("success")) and repro_ok
    append("GITHUB_OUTPUT", f"success={str(success).lower()}\nsummary={summary_path}\n", env)
    append("GITHUB_STEP_SUMMARY", summarize(summary), env)
    if success:
        print(f"validate-data: passed ({summary_path})")
        return 0
    lines = error_lines(summary)
    if not lines:  # no failed expectation to name: DVC itself failed
        return error("validate-data", f"dvc repro {stage} failed")
    print(*lines, sep="\n")
    return 1


if __name__ == "__main__":
    sys.exit(main())
