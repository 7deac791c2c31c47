"""Stage 2, validate: check the ingested data against the committed Great Expectations suite.

Nothing downstream runs on data that fails: the stage exits non-zero, prints each failed
expectation with its column and example bad values, and writes a JSON summary and an HTML page.
"""

from __future__ import annotations

import argparse
import html
import json
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd
from gitops_ml.errors import PipelineError, run
from gitops_ml.schema import load_schema, read_frame

EXAMPLES = 5


def load_suite(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise PipelineError(
            f"no expectation suite at {path}: run 'make expectations', review the file and "
            "commit it"
        )
    with path.open(encoding="utf-8") as handle:
        return json.load(handle)


def _failure(result: Any) -> dict[str, Any]:
    config = result.expectation_config
    details = result.result or {}
    failure: dict[str, Any] = {
        "expectation": config.type,
        "column": config.kwargs.get("column"),
        "why": (config.meta or {}).get("why"),
    }
    if result.exception_info and result.exception_info.get("raised_exception"):
        failure["error"] = result.exception_info.get("exception_message")
    if "unexpected_count" in details:
        failure["unexpected_count"] = int(details["unexpected_count"])
        failure["examples"] = [_jsonable(v) for v in details.get("partial_unexpected_list", [])][
            :EXAMPLES
        ]
    mismatched = (details.get("details") or {}).get("mismatched")
    if mismatched:
        failure["missing_columns"] = sorted(mismatched.get("missing") or [])
        failure["unexpected_columns"] = sorted(mismatched.get("unexpected") or [])
    elif "observed_value" in details:
        failure["observed"] = _jsonable(details["observed_value"])
    return failure


def _jsonable(value: Any) -> Any:
    if isinstance(value, float) and value != value:  # NaN
        return None
    if hasattr(value, "item"):
        return value.item()
    if isinstance(value, list | tuple):
        return [_jsonable(item) for item in value]
    return value


def validate_frame(frame: pd.DataFrame, suite: dict[str, Any]) -> dict[str, Any]:
    """Run the suite on one DataFrame; return a deterministic summary (no timestamps)."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    logging.getLogger("great_expectations").setLevel(logging.ERROR)
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    gx_suite = context.suites.add(
        gx.ExpectationSuite(name=suite.get("name", "data"), expectations=suite["expectations"])
    )
    batch = (
        context.data_sources.add_pandas("pipeline")
        .add_dataframe_asset("frame")
        .add_batch_definition_whole_dataframe("whole")
    )
    definition = gx.ValidationDefinition(name="validate", data=batch, suite=gx_suite)
    outcome = definition.run(batch_parameters={"dataframe": frame}, result_format="SUMMARY")
    failures = [_failure(result) for result in outcome.results if not result.success]
    failures.sort(key=lambda item: (str(item["column"]), item["expectation"]))
    return {
        "success": bool(outcome.success),
        "rows": len(frame),
        "evaluated": len(outcome.results),
        "failed": failures,
    }


def validate_splits(splits: dict[str, pd.DataFrame], suite: dict[str, Any]) -> dict[str, Any]:
    results = {name: validate_frame(frame, suite) for name, frame in splits.items()}
    return {
        "success": all(result["success"] for result in results.values()),
        "suite": suite.get("name", "data"),
        "splits": results,
    }


def describe_failure(split: str, failure: dict[str, Any]) -> str:
    column = f"column '{failure['column']}'" if failure["column"] else "table"
    text = f"[{split}] {failure['expectation']} failed on {column}"
    if failure.get("missing_columns"):
        text += f": missing columns {failure['missing_columns']}"
    if failure.get("unexpected_columns"):
        text += f": unexpected columns {failure['unexpected_columns']}"
    if "unexpected_count" in failure:
        text += f": {failure['unexpected_count']} bad values, e.g. {failure['examples']}"
    elif "observed" in failure:
        text += f": observed {failure['observed']}"
    if failure.get("error"):
        text += f" ({failure['error']})"
    return text


def failure_lines(summary: dict[str, Any]) -> list[str]:
    return [
        describe_failure(split, failure)
        for split, result in summary["splits"].items()
        for failure in result["failed"]
    ]


def render_html(summary: dict[str, Any]) -> str:
    """A self-contained page (no CDN) listing the outcome per split."""
    verdict = "passed" if summary["success"] else "FAILED"
    rows = []
    for split, result in summary["splits"].items():
        if not result["failed"]:
            rows.append(f"<tr><td>{split}</td><td colspan='4'>all expectations passed</td></tr>")
        for failure in result["failed"]:
            cells = [
                split,
                failure["expectation"],
                failure["column"] or "(table)",
                describe_failure(split, failure).split(": ", 1)[-1],
                failure.get("why") or "",
            ]
            rows.append(
                "<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in cells) + "</tr>"
            )
    counts = ", ".join(
        f"{split}: {r['rows']} rows, {r['evaluated']} expectations, {len(r['failed'])} failed"
        for split, r in summary["splits"].items()
    )
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>Data validation</title>"
        "<style>body{font-family:sans-serif;margin:2em}td,th{border:1px solid #ccc;"
        "padding:4px 8px}table{border-collapse:collapse}.ok{color:#080}.ko{color:#b00}</style>"
        f"</head><body><h1>Data validation <span class='{'ok' if summary['success'] else 'ko'}'>"
        f"{verdict}</span></h1><p>Suite <code>{html.escape(summary['suite'])}</code>. "
        f"{html.escape(counts)}</p><table><tr><th>split</th><th>expectation</th><th>column</th>"
        f"<th>detail</th><th>why it exists</th></tr>{''.join(rows)}</table></body></html>\n"
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--suite", type=Path, required=True)
    parser.add_argument("--schema", type=Path, required=True)
    parser.add_argument("--train", type=Path, required=True)
    parser.add_argument("--test", type=Path, required=True)
    parser.add_argument("--summary", type=Path, required=True)
    parser.add_argument("--html", type=Path, required=True)
    args = parser.parse_args(argv)

    suite = load_suite(args.suite)
    schema = load_schema(args.schema)
    splits = {
        name: read_frame(path, schema)
        for name, path in (("train", args.train), ("test", args.test))
    }
    summary = validate_splits(splits, suite)
    args.summary.parent.mkdir(parents=True, exist_ok=True)
    args.summary.write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    args.html.write_text(render_html(summary), encoding="utf-8")
    if not summary["success"]:
        lines = failure_lines(summary)
        raise PipelineError(
            f"data validation failed ({len(lines)} expectations); nothing downstream runs:\n  "
            + "\n  ".join(lines)
            + f"\nsee {args.summary} and {args.html}"
        )
    evaluated = sum(r["evaluated"] for r in summary["splits"].values())
    print(f"validate: all {evaluated} expectations passed on {len(splits)} splits")


if __name__ == "__main__":
    run(main)
