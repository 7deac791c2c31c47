"""Run the project's monitor and turn its summary into outputs (the `monitor` action).

The project's monitor exits 0 (no alert), 3 (alert) or 1 (error), but through `make` any
failure becomes status 2. So the verdict is read from the summary the command writes, after
removing any stale copy: a summary counts only when this run wrote it, and a failing command
without a fresh alert summary is an error, never "no drift". The summary is a `monitoring`
result file (actions/_shared/results.py): one of a kind or schema version this action does not
understand fails the step with one sentence, never a verdict.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "_shared"))
from results import ResultError, read  # noqa: E402
from workflow_commands import error, warning  # noqa: E402

EXIT_ALERT = 3
TOP_COLUMNS = 10
SAFE_PATH = re.compile(r"^[A-Za-z0-9_./*?\[\]{},@+=-][A-Za-z0-9_./*?\[\]{},@+= -]*$")


class InputError(ValueError):
    pass


def check_inputs(summary: str, report: str, current: str, fail_on_alert: str) -> None:
    for name, value in (("summary", summary), ("report", report)):
        if not value or value.startswith("/") or ".." in Path(value).parts:
            raise InputError(f"{name} must be a relative path inside the project, got {value!r}")
    if current and (not SAFE_PATH.match(current) or ".." in Path(current).parts):
        raise InputError(
            f"current must be a file, folder or glob inside the project, got {current!r}"
        )
    if fail_on_alert not in {"true", "false"}:
        raise InputError(f"fail-on-alert must be true or false, got {fail_on_alert!r}")


def load_summary(path: Path) -> dict[str, Any]:
    """The `monitoring` result in `path`.

    Raises:
        ResultError (a ValueError): missing, not JSON, another kind or schema version, or no
            boolean `alert`.
    """
    summary = read(path, "monitoring")
    if not isinstance(summary.get("alert"), bool):
        raise ResultError(f"{path} has no boolean 'alert'")
    return summary


def verdict(returncode: int, summary_path: Path) -> tuple[str, dict[str, Any] | None, str]:
    """('ok'|'alert'|'error', the summary, why it cannot be read), from the exit status and
    the summary written by this run."""
    if not summary_path.is_file():
        return "error", None, ""
    try:
        summary = load_summary(summary_path)
    except ResultError as exc:
        return "error", None, str(exc)
    if returncode == 0:
        return ("alert" if summary["alert"] else "ok"), summary, ""
    if summary["alert"]:
        return "alert", summary, ""
    return "error", summary, ""


def markdown(summary: Mapping[str, Any], report: str) -> str:
    """Verdict, reasons, the most drifted columns and what was sampled."""
    title = "Monitoring alert" if summary["alert"] else "Monitoring: no alert"
    lines = [f"### {title}", ""]
    lines += [f"- {reason}" for reason in summary.get("reasons", [])] or [
        "- no column drifted and the prediction is stable"
    ]
    columns = summary.get("columns", {})
    lines += [
        "",
        f"Drifted columns: **{len(summary.get('drifted_columns', []))}** of {len(columns)} "
        f"(share {float(summary.get('drift_share', 0)):.2f})",
        "",
        "| column | method | score | threshold | drifted |",
        "|---|---|---:|---:|---|",
    ]
    ranked = sorted(columns.items(), key=lambda item: -float(item[1]["score"]))
    for name, column in ranked[:TOP_COLUMNS]:
        lines.append(
            f"| {name} | {column['method']} | {float(column['score']):.4g} | "
            f"{float(column['threshold']):g} | {'**yes**' if column['drifted'] else 'no'} |"
        )
    prediction = summary.get("prediction_drift")
    if prediction:
        lines += [
            "",
            f"Prediction drift: {prediction['method']} {float(prediction['score']):.4g} "
            f"(threshold {float(prediction['threshold']):g}): "
            f"{'drifted' if prediction['drifted'] else 'stable'}",
        ]
    unseen = {c: u for c, u in (summary.get("unseen_values") or {}).items() if u.get("rows")}
    if unseen:
        lines += ["", "Values the model never saw:"]
        lines += [
            f"- {column}: {u['rows']} row(s), {float(u['share']):.1%} (limit "
            f"{float(u['limit']):.1%}): "
            + ", ".join(f"{value!r} ({n})" for value, n in u["values"].items())
            for column, u in unseen.items()
        ]
    not_compared = summary.get("not_compared") or {}
    if not_compared:
        skipped = "; ".join(f"{column} ({why})" for column, why in not_compared.items())
        lines += ["", f"Not compared: {skipped}"]
    performance = summary.get("performance")
    if performance and "skipped" in performance:
        lines += ["", f"Quality not compared: {performance['skipped']}"]
    elif performance and performance.get("judged_on", [performance.get("metric")]):
        metrics = performance.get("metrics") or {}
        judged = performance.get("judged_on") or [performance["metric"]]
        shown = []
        for name in judged:
            metric = metrics.get(name) or performance
            if metric.get("current") is None or metric.get("reference") is None:
                continue
            shown.append(
                f"{name} {float(metric['current']):.4g} vs reference "
                f"{float(metric['reference']):.4g} ({float(metric['relative_drop']):+.1%} worse)"
            )
        lines += [
            "",
            f"Quality on {performance['rows']} labelled rows (limit "
            f"{float(performance['max_drop']):.0%} worse): " + "; ".join(shown),
        ]
    elif performance:
        lines += ["", "Quality not judged: no metric is defined on this batch and in the reference"]
    for note in summary.get("notes") or []:
        lines.append(f"- note: {note}")
    sampling = summary.get("sampling")
    if sampling:
        lines += [
            "",
            f"Rows compared: reference {sampling['reference']['used']:,} of "
            f"{sampling['reference']['rows']:,}, current {sampling['current']['used']:,} of "
            f"{sampling['current']['rows']:,} ({sampling['method']}).",
        ]
    lines += ["", f"Full report: `{report}` (workflow artifact)."]
    return "\n".join(lines) + "\n"


def append(name: str, text: str, env: Mapping[str, str]) -> None:
    target = env.get(name)
    if target:
        with Path(target).open("a", encoding="utf-8") as handle:
            handle.write(text)


def main(
    env: Mapping[str, str] | None = None,
    runner: Callable[[str, Mapping[str, str]], int] | None = None,
) -> int:
    env = os.environ if env is None else env
    command = env.get("MONITOR_COMMAND", "")
    summary_file = env.get("MONITOR_SUMMARY", "")
    report = env.get("MONITOR_REPORT", "")
    current = env.get("MONITOR_CURRENT", "")
    fail_on_alert = env.get("MONITOR_FAIL_ON_ALERT", "false")
    try:
        check_inputs(summary_file, report, current, fail_on_alert)
        if not command.strip():
            raise InputError("command must not be empty")
    except InputError as exc:
        return error("monitor", exc)

    summary_path = Path(summary_file)
    summary_path.unlink(missing_ok=True)  # only a summary written by this run counts
    child_env = dict(env)
    child_env.pop("CURRENT", None)
    if current:
        child_env["CURRENT"] = current  # the generated Makefile's `make monitor CURRENT=...`
    runner = runner or (
        lambda cmd, e: subprocess.run(["bash", "-c", cmd], env=dict(e), check=False).returncode
    )
    returncode = runner(command, child_env)
    outcome, summary, unreadable = verdict(returncode, summary_path)
    if outcome == "error":
        append("GITHUB_OUTPUT", "alert=\nsummary=\ndrifted-columns=\n", env)
        append("GITHUB_STEP_SUMMARY", "### Monitoring failed\n\nSee the job log.\n", env)
        return error(
            "monitor",
            unreadable
            or f"'{command}' failed (status {returncode}) without writing an alert to "
            f"{summary_file}: no verdict",
        )
    assert summary is not None
    drifted = ",".join(summary.get("drifted_columns", []))
    alert = str(outcome == "alert").lower()
    append(
        "GITHUB_OUTPUT",
        f"alert={alert}\nsummary={summary_file}\nreport={report}\ndrifted-columns={drifted}\n",
        env,
    )
    append("GITHUB_STEP_SUMMARY", markdown(summary, report), env)
    if outcome == "alert":
        warning("monitoring alert", "; ".join(summary.get("reasons", [])))
        return EXIT_ALERT if fail_on_alert == "true" else 0
    print("monitor: no alert")
    return 0


if __name__ == "__main__":
    sys.exit(main())
