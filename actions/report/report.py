"""Build the pull-request model report (Markdown) and post it as one sticky PR comment.

Pure builders (`metrics_section`, `params_section`, `validation_section`, `data_section`,
`plots_section`, `build_report`) take plain data and return Markdown, so they are unit-tested
in-process. They build the report twice: in full (the report file and the job summary) and
with long lists summarised (`limit` rows, failures grouped), so the PR comment stays under
GitHub's 65,536-character limit whatever the data (`fit` is the last guard). `collect_*`
functions gather that data with `dvc`/`git`; `choose_backend` decides who posts (the GitHub
CLI by default; CML on request, installed from npm when missing, and gh again when CML cannot
be had); the `*_command` functions build the CML or gh command lines. The action (action.yml)
is thin glue around `main()`.

Standard library only, plus pandas/scipy/dvc for the data summary: they come from the
project's own environment, which the `setup` action puts on PATH.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "_shared"))
from validation_failures import detail, value  # noqa: E402
from workflow_commands import error, notice  # noqa: E402

PLOT_DELIVERY = ("artifact", "cml-publish", "none")
BACKENDS = ("cml", "gh")
DEFAULT_BACKEND = "gh"  # preinstalled on GitHub's runners; CML is installed from npm on request
CML_PACKAGE = "@dvcorg/cml"
DEFAULT_CML_VERSION = "0.20.6"
VERSION = re.compile(r"^[0-9]+\.[0-9]+\.[0-9]+$")
TOKENS = ("GH_TOKEN", "GITHUB_TOKEN", "REPO_TOKEN")  # never handed to npm
TITLE = re.compile(r"^[A-Za-z0-9 ._-]{1,80}$")
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".svg", ".gif"}
COMMENT_LIMIT = 65_536  # characters: GitHub refuses longer comment bodies
COMMENT_BUDGET = 60_000  # what the report may use: room for the watermark CML or gh adds
SUMMARY_LIMIT = 1_000_000  # bytes: GitHub keeps at most 1 MiB of job summary per step
COMMENT_ROWS = 20  # rows (or groups, or columns) a long list keeps in the comment
FULL_REPORT = "full list in the job summary and the report file"


class ReportError(RuntimeError):
    """An input or environment problem the user must fix; printed as ::error::."""


def fmt(item: Any) -> str:
    """One number format for every table: up to 6 significant digits, '-' when missing."""
    return "-" if item is None else value(item)


def fmt_change(item: Any) -> str:
    if item is None:
        return "-"
    if isinstance(item, int | float) and not isinstance(item, bool):
        if item == 0:
            return "0"
        return f"{item:+.6g}"
    return str(item)


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def more(count: int) -> str:
    return f"... and {count} more: {FULL_REPORT}"


def table(header: Sequence[str], rows: Sequence[Sequence[Any]], limit: int | None = None) -> str:
    """A Markdown table; with `limit`, the first `limit` rows and a line counting the rest."""
    shown = rows if limit is None else rows[:limit]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in shown]
    if len(rows) > len(shown):
        lines += ["", more(len(rows) - len(shown))]
    return "\n".join(lines)


def listing(items: Sequence[str], limit: int | None = None, separator: str = ", ") -> str:
    """`a`, `b`, `c` ... and 7 more (the rest in the full report)."""
    shown = items if limit is None else items[:limit]
    text = separator.join(shown)
    if len(items) > len(shown):
        text += f" ... and {len(items) - len(shown)} more"
    return text


def fit(text: str, budget: int = COMMENT_BUDGET) -> str:
    """The last guard for the comment: cut at a line boundary, say where the rest is."""
    if len(text) <= budget:
        return text
    tail = f"\n\n... the report is cut here (too long for a comment): {FULL_REPORT}.\n"
    cut = text.rfind("\n", 0, budget - len(tail))
    return text[: max(cut, 0)] + tail


# ---------------------------------------------------------------- metrics and params


def metrics_section(
    diff: Mapping[str, Any] | None, base: str, trained: bool = True, limit: int | None = None
) -> str:
    """`dvc metrics diff <base> --json --all` as a table: base value, PR value, change."""
    lines = ["### Metrics"]
    if not trained:
        lines.append(
            "Training did not run on this pull request, so there are no new metrics to "
            "compare. Fix the failures above and push again."
        )
        return "\n\n".join(lines)
    if not diff:
        lines.append(f"No metrics found in this pull request or on `{base}`.")
        return "\n\n".join(lines)
    several = len(diff) > 1
    header = (["File"] if several else []) + ["Metric", base, "this PR", "Change"]
    rows = []
    for path in sorted(diff):
        for name in sorted(diff[path]):
            entry = diff[path][name] or {}
            old, new = entry.get("old"), entry.get("new")
            change = entry.get("diff")
            if change is None and isinstance(old, int | float) and isinstance(new, int | float):
                change = new - old
            row = [name, fmt(old), fmt(new), fmt_change(change)]
            rows.append(([f"`{path}`"] if several else []) + row)
    lines.append(table(header, rows, limit))
    lines += evidence_notes(diff)
    return "\n\n".join(lines)


def evidence_notes(diff: Mapping[str, Any]) -> list[str]:
    """What this PR's metrics rest on, from the evaluate stage's own keys: the positive class
    of a binary target, how a multiclass score averages, and its too-few-rows warning."""
    notes = []
    for path in sorted(diff):
        new = {name: (entry or {}).get("new") for name, entry in diff[path].items()}
        where = f" (`{path}`)" if len(diff) > 1 else ""
        if new.get("positive_label") is not None:
            notes.append(
                f"Precision, recall, f1 and the curves are about the positive class "
                f"`{new['positive_label']}`{where}."
            )
        elif new.get("average") == "macro":
            notes.append(
                f"Precision, recall, f1 and roc_auc are macro averages over the classes{where}."
            )
        if new.get("warning"):
            notes.append(f"⚠️ **Too little evidence**{where}: {new['warning']}")
    return notes


def params_section(diff: Mapping[str, Any] | None, base: str, limit: int | None = None) -> str:
    """`dvc params diff <base> --json`: only the parameters this PR changed."""
    lines = ["### Changed parameters"]
    rows = [
        [f"`{name}`", fmt(entry.get("old")), fmt(entry.get("new"))]
        for path in sorted(diff or {})
        for name, entry in sorted((diff or {})[path].items())
    ]
    if rows:
        lines.append(table(["Parameter", base, "this PR"], rows, limit))
    else:
        lines.append(f"No parameter differs from `{base}`.")
    return "\n\n".join(lines)


# ---------------------------------------------------------------- validation


def failure_groups(failed: Sequence[tuple[str, Mapping[str, Any]]]) -> list[str]:
    """One line per expectation type and set of splits, counting the columns that failed.

    E.g. "150 columns: `expect_column_values_to_be_between` failed in train and test".
    """
    splits: dict[tuple[str, str | None], list[str]] = {}
    for name, failure in failed:
        key = (str(failure.get("expectation")), failure.get("column"))
        splits.setdefault(key, [])
        if name not in splits[key]:
            splits[key].append(name)
    groups: dict[tuple[str, tuple[str, ...]], list[str | None]] = {}
    for (expectation, column), names in splits.items():
        groups.setdefault((expectation, tuple(names)), []).append(column)
    lines = []
    for (expectation, names), columns in groups.items():
        named = [f"`{c}`" for c in columns if c]
        what = [f"{len(named)} column{'s' if len(named) != 1 else ''}"] if named else []
        what += ["the table"] if len(named) < len(columns) else []
        where = " and ".join(names) if len(names) < 3 else ", ".join(names)
        lines.append(
            f"- {' and '.join(what)}: `{expectation}` failed in {where}"
            + (f" ({listing(named, 5)})" if named else "")
        )
    return lines


def validation_section(summary: Mapping[str, Any] | None, limit: int | None = None) -> str:
    """The validate stage's JSON summary: verdict, per-split counts, each failed expectation.

    With `limit` and more failures than that, the failures are grouped by expectation type
    (the full report keeps one row per failure).
    """
    lines = ["### Data validation"]
    if summary is None:
        lines.append("Data validation did not run (see the job log).")
        return "\n\n".join(lines)
    splits = summary.get("splits", {})
    counts = ", ".join(
        f"{name}: {r.get('rows', '?')} rows, {r.get('evaluated', '?')} expectations"
        for name, r in splits.items()
    )
    failed = [(name, failure) for name, r in splits.items() for failure in r.get("failed", [])]
    if summary.get("success"):
        lines.append(f"✅ **Passed**: suite `{summary.get('suite', '?')}` ({counts}).")
        return "\n\n".join(lines)
    lines.append(
        f"❌ **Failed**: {len(failed)} expectation(s) of suite `{summary.get('suite', '?')}` "
        f"failed ({counts}). Nothing downstream ran on this data."
    )
    if limit is not None and len(failed) > limit:
        groups = failure_groups(failed)
        lines.append("\n".join(groups[:limit]))
        if len(groups) > limit:
            lines.append(more(len(groups) - limit))
        lines.append(f"Each failure with its bad values and why it exists: {FULL_REPORT}.")
        return "\n\n".join(lines)
    rows = [
        [
            name,
            f"`{failure.get('expectation')}`",
            f"`{failure['column']}`" if failure.get("column") else "(table)",
            detail(failure),
            failure.get("why") or "",
        ]
        for name, failure in failed
    ]
    lines.append(table(["Split", "Expectation", "Column", "Detail", "Why it exists"], rows))
    return "\n\n".join(lines)


# ---------------------------------------------------------------- data summary


@dataclass
class DatasetComparison:
    name: str
    base_rows: int | None
    rows: int
    added_columns: list[str] = field(default_factory=list)
    removed_columns: list[str] = field(default_factory=list)
    type_changes: list[tuple[str, str, str]] = field(default_factory=list)
    drifted: list[tuple[str, float]] = field(default_factory=list)
    note: str = ""


def compare_frames(name: str, current: Any, base: Any, threshold: float) -> DatasetComparison:
    """Rows, schema changes and drifted columns of one dataset, PR (`current`) vs base.

    Drift: two-sample Kolmogorov-Smirnov test for numeric columns, chi-squared test on the
    category counts for the others; a column drifts when the p-value is below `threshold`.
    """
    from scipy import stats

    result = DatasetComparison(name=name, base_rows=None, rows=len(current))
    if base is None:
        return result
    result.base_rows = len(base)
    current_cols, base_cols = list(current.columns), list(base.columns)
    result.added_columns = [c for c in current_cols if c not in base_cols]
    result.removed_columns = [c for c in base_cols if c not in current_cols]
    for column in (c for c in current_cols if c in base_cols):
        new_type, old_type = str(current[column].dtype), str(base[column].dtype)
        if new_type != old_type:
            result.type_changes.append((column, old_type, new_type))
            continue
        new, old = current[column].dropna(), base[column].dropna()
        if len(new) < 2 or len(old) < 2:
            continue
        if new.dtype.kind in "biuf":
            p_value = float(stats.ks_2samp(old.to_numpy(), new.to_numpy()).pvalue)
        else:
            categories = sorted(set(old.astype(str)) | set(new.astype(str)))
            if len(categories) < 2:
                continue
            old_counts = old.astype(str).value_counts().reindex(categories, fill_value=0)
            new_counts = new.astype(str).value_counts().reindex(categories, fill_value=0)
            p_value = float(stats.chi2_contingency([old_counts, new_counts]).pvalue)
        if p_value < threshold:
            result.drifted.append((column, p_value))
    return result


def data_section(
    comparisons: Sequence[DatasetComparison],
    base: str,
    threshold: float,
    note: str = "",
    limit: int | None = None,
) -> str:
    lines = [f"### Data: this PR vs `{base}`"]
    if note:
        lines.append(note)
    if not comparisons:
        if not note:
            lines.append("No datasets to compare.")
        return "\n\n".join(lines)
    rows = []
    for item in comparisons:
        change = None if item.base_rows is None else item.rows - item.base_rows
        schema = []
        if item.added_columns:
            schema.append("added " + listing([f"`{c}`" for c in item.added_columns], limit))
        if item.removed_columns:
            schema.append("removed " + listing([f"`{c}`" for c in item.removed_columns], limit))
        changes = [f"`{c}` {old} → {new}" for c, old, new in item.type_changes]
        if changes:
            schema.append(listing(changes, limit, "; "))
        if item.base_rows is None:
            schema_text = item.note or f"not available on `{base}`"
            drift_text = "-"
        else:
            schema_text = "; ".join(schema) or "unchanged"
            drifted = [f"`{c}` (p={p:.2g})" for c, p in item.drifted]
            drift_text = listing(drifted, limit) if drifted else "none"
            if limit is not None and len(drifted) > limit:
                drift_text = f"{len(drifted)} columns: {drift_text}"
        rows.append(
            [
                f"`{item.name}`",
                fmt(item.base_rows),
                fmt(item.rows),
                fmt_change(change),
                schema_text,
                drift_text,
            ]
        )
    lines.append(
        table(["Dataset", f"{base} rows", "PR rows", "Change", "Schema", "Drifted columns"], rows)
    )
    lines.append(
        f"Drift: Kolmogorov-Smirnov (numeric) or chi-squared (categorical) test, p < {threshold}."
    )
    lists = [
        c
        for item in comparisons
        for c in (item.added_columns, item.removed_columns, item.type_changes, item.drifted)
    ]
    if limit is not None and any(len(columns) > limit for columns in lists):
        lines.append(f"Column lists cut after {limit}: {FULL_REPORT}.")
    return "\n\n".join(lines)


# ---------------------------------------------------------------- plots


def plot_files(plots_dir: Path) -> list[Path]:
    if not plots_dir.is_dir():
        return []
    return sorted(p for p in plots_dir.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)


def plots_section(
    plots: Sequence[str], delivery: str, artifact_url: str = "", published: bool = True
) -> str:
    """How the images reach the reader depends on `plot-delivery` (documented in docs/actions.md).

    artifact: images stay private in a workflow artifact, the report links to it.
    cml-publish: the report embeds local paths; CML uploads them to its public asset server
    (`published=False` when CML was unavailable and gh posts instead: the files are named).
    none: the report only names the files.
    """
    lines = ["### Plots"]
    if not plots:
        lines.append("No plot images were produced.")
        return "\n\n".join(lines)
    if delivery == "cml-publish" and published:
        lines += [f"![{Path(p).name}]({p})" for p in plots]
        return "\n\n".join(lines)
    names = ", ".join(f"`{Path(p).name}`" for p in plots)
    if delivery == "artifact" and artifact_url:
        lines.append(f"Images in the workflow artifact [plots]({artifact_url}): {names}.")
    elif delivery == "artifact":
        lines.append(f"Images in this run's workflow artifacts: {names}.")
    elif delivery == "cml-publish":
        lines.append(
            f"Images not published (CML, which uploads them for `plot-delivery: cml-publish`, "
            f"was unavailable): {names}."
        )
    else:
        lines.append(f"Images (not attached, `plot-delivery: none`): {names}.")
    return "\n\n".join(lines)


def feature_store_section(
    current: Mapping[str, Any] | None, base: Mapping[str, Any] | None, label: str
) -> str:
    """The feature views this PR changes (`reports/feature_store.json` here and on base).

    Empty when the project has no feature store. The lines come from the library's
    `gitops_ml.feature_store.changes`, imported only then (the project environment has it)."""
    if current is None:
        return ""
    from gitops_ml.feature_store import changes

    spec = current.get("spec", {})
    lines = [
        "### Feature store",
        "",
        f"Feature service `{spec.get('service')}` version `{str(spec.get('version'))[:19]}`, "
        f"entity keys {', '.join(f'`{k}`' for k in spec.get('entity_keys', []))}; "
        f"{len(spec.get('features', []))} features served.",
        "",
    ]
    found = changes(base, current)
    if base is None:
        lines.append(f"No feature store on `{label}`: every feature view is new.")
    elif found:
        lines += [f"- {line}" for line in found]
    else:
        lines.append(f"No feature view differs from `{label}`.")
    return "\n".join(lines)


# ---------------------------------------------------------------- whole report


def build_report(
    *,
    title: str,
    base: str,
    head: str,
    metrics: str,
    params: str,
    validation: str,
    data: str,
    plots: str,
    run_url: str = "",
    features: str = "",
) -> str:
    heading = f"## {title}: `{head}` vs `{base}`" if head else f"## {title} vs `{base}`"
    parts = [heading, validation, metrics, params, *([features] if features else []), data, plots]
    if run_url:
        parts.append(f"[Workflow run]({run_url})")
    return "\n\n".join(parts) + "\n"


# ---------------------------------------------------------------- collectors (dvc, git)


def _run(
    command: Sequence[str], cwd: Path, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        list(command), cwd=cwd, env=env, capture_output=True, text=True, check=False
    )


def resolve_base(base: str, cwd: Path) -> str | None:
    """`origin/<base>` (what actions/checkout with fetch-depth: 0 creates), else `<base>`."""
    for candidate in (f"origin/{base}", base):
        check = ["git", "rev-parse", "--verify", "--quiet", f"{candidate}^{{commit}}"]
        if _run(check, cwd).returncode == 0:
            return candidate
    return None


def collect_json(command: Sequence[str], cwd: Path) -> dict[str, Any]:
    result = _run(command, cwd)
    if result.returncode != 0:
        raise ReportError(f"{' '.join(command)} failed: {result.stderr.strip()[-500:]}")
    text = result.stdout.strip()
    return json.loads(text) if text else {}


def read_json_at(path: str, rev: str | None, cwd: Path) -> dict[str, Any] | None:
    """A committed JSON file at `rev` (`git show`), or in the workspace when `rev` is None.

    None when the file does not exist there."""
    if rev is None:
        local = cwd / path
        return json.loads(local.read_text(encoding="utf-8")) if local.is_file() else None
    result = _run(["git", "show", f"{rev}:{path}"], cwd)
    return json.loads(result.stdout) if result.returncode == 0 and result.stdout.strip() else None


def read_base_frame(path: str, rev: str, cwd: Path) -> Any:
    import dvc.api
    import pandas as pd

    with dvc.api.open(path, repo=str(cwd), rev=rev) as handle:
        return pd.read_csv(handle)


def collect_data(
    paths: Sequence[str], rev: str | None, cwd: Path, threshold: float
) -> tuple[list[DatasetComparison], str]:
    comparisons = []
    for path in paths:
        local = cwd / path
        if not local.is_file():
            continue
        import pandas as pd  # only when there is data: the project environment has it

        current = pd.read_csv(local)
        base, note = None, ""
        if rev is not None:
            try:
                base = read_base_frame(path, rev, cwd)
            except Exception as exc:  # noqa: BLE001 - any read failure is reported, not fatal
                note = f"not readable on the base branch ({type(exc).__name__})"
        item = compare_frames(path, current, base, threshold)
        item.note = note
        comparisons.append(item)
    return comparisons, "" if comparisons else "The PR's datasets were not produced."


# ---------------------------------------------------------------- posting


def cml_install_command(version: str) -> list[str]:
    """npm's global install of CML, without install scripts.

    @dvcorg/cml's own dependency tree needs no build step: its lockfile's only install scripts
    are ssh2's optional native crypto binding and cpu-features (`cml runner` over SSH, which
    fall back to JavaScript) and macOS's fsevents; `cml comment` uses none of them. The
    `canvas` source build that fails on current runners belongs to setup-cml's separate Vega
    install, not to this package. Skipping scripts also keeps 700 packages' install hooks away
    from the runner.
    """
    return [
        "npm",
        "install",
        "--global",
        "--ignore-scripts",
        "--no-fund",
        "--no-audit",
        f"{CML_PACKAGE}@{version}",
    ]


def _failure_tail(result: subprocess.CompletedProcess[str], lines: int = 40) -> str:
    output = (result.stdout + result.stderr).strip().splitlines()
    return "\n".join(output[-lines:])


def choose_backend(requested: str, cml_version: str, cwd: Path) -> tuple[str, str]:
    """The backend that posts, and why it is not the requested one ('' when it is).

    `gh` is used as asked. `cml` is used when it is on PATH, else installed with npm (output
    folded into a log group); when npm is missing or the install fails, gh posts instead.
    """
    if requested != "cml" or shutil.which("cml"):
        return requested, ""
    spec = f"{CML_PACKAGE}@{cml_version}"
    if shutil.which("npm") is None:
        return "gh", f"cml is not on PATH and npm is not installed to install {spec}"
    env = {k: v for k, v in os.environ.items() if k not in TOKENS}
    result = _run(cml_install_command(cml_version), cwd, env)
    if result.returncode != 0:
        token = uuid.uuid4().hex  # npm's output is printed, never read as workflow commands
        print(f"::group::npm install {spec} failed (exit {result.returncode})")
        print(f"::stop-commands::{token}\n{_failure_tail(result)}\n::{token}::")
        print("::endgroup::")
        return "gh", f"npm install {spec} failed (exit {result.returncode}, log above)"
    if shutil.which("cml") is None:
        return "gh", f"npm installed {spec}, but cml is not on PATH"
    print(f"report: installed {spec} with npm")
    return "cml", ""


def watermark(title: str) -> str:
    return f"<!-- gitops-ml report: {title} -->"


def cml_command(report: Path, title: str, publish: bool) -> list[str]:
    """One sticky comment: `cml comment update` edits the comment carrying the watermark."""
    return [
        "cml",
        "comment",
        "update",
        str(report),
        f"--watermark-title={title}",
        "--publish" if publish else "--no-publish",
    ]


def gh_find_command(repository: str, number: str, title: str) -> list[str]:
    marker = watermark(title)
    return [
        "gh",
        "api",
        "--paginate",
        f"repos/{repository}/issues/{number}/comments",
        "--jq",
        f'.[] | select(.body | contains("{marker}")) | .id',
    ]


def gh_write_command(repository: str, number: str, body: Path, comment_id: str = "") -> list[str]:
    if comment_id:
        return [
            "gh",
            "api",
            "--method",
            "PATCH",
            f"repos/{repository}/issues/comments/{comment_id}",
            "-F",
            f"body=@{body}",
        ]
    return [
        "gh",
        "api",
        "--method",
        "POST",
        f"repos/{repository}/issues/{number}/comments",
        "-F",
        f"body=@{body}",
    ]


def post(
    report: Path, backend: str, title: str, publish: bool, repository: str, number: str, cwd: Path
) -> str:
    """Post or update the sticky comment; return a one-line description of what happened."""
    if backend == "cml":
        if shutil.which("cml") is None:
            raise ReportError("cml is not on PATH: install it or use backend: gh")
        result = _run(cml_command(report, title, publish), cwd)
        if result.returncode != 0:
            raise ReportError(f"cml comment update failed: {result.stderr.strip()[-500:]}")
        return f"updated the '{title}' comment with CML"
    if shutil.which("gh") is None:
        raise ReportError("gh is not on PATH: install the GitHub CLI or use backend: cml")
    if not number:
        raise ReportError("no pull request number: the gh backend only comments on pull requests")
    body = report.with_suffix(".gh.md")
    body.write_text(watermark(title) + "\n" + report.read_text(encoding="utf-8"), encoding="utf-8")
    found = _run(gh_find_command(repository, number, title), cwd)
    if found.returncode != 0:
        raise ReportError(f"gh could not list the PR comments: {found.stderr.strip()[-500:]}")
    ids = found.stdout.split()
    written = _run(gh_write_command(repository, number, body, ids[0] if ids else ""), cwd)
    if written.returncode != 0:
        raise ReportError(f"gh could not write the comment: {written.stderr.strip()[-500:]}")
    return f"{'updated' if ids else 'created'} the '{title}' comment with gh"


# ---------------------------------------------------------------- command line


def check_inputs(args: argparse.Namespace) -> None:
    if args.plot_delivery not in PLOT_DELIVERY:
        raise ReportError(
            f"plot-delivery must be one of {', '.join(PLOT_DELIVERY)}, got {args.plot_delivery!r}"
        )
    if args.backend not in BACKENDS:
        raise ReportError(f"backend must be one of {', '.join(BACKENDS)}, got {args.backend!r}")
    if not TITLE.match(args.title):
        raise ReportError(
            f"title {args.title!r} must be 1-80 letters, digits, spaces, dots, dashes or "
            "underscores"
        )
    if args.comment not in ("true", "false"):
        raise ReportError(f"comment must be true or false, got {args.comment!r}")
    if not VERSION.match(args.cml_version):
        raise ReportError(f"cml-version must look like 0.20.6, got {args.cml_version!r}")
    if args.plot_delivery == "cml-publish" and args.backend != "cml":
        raise ReportError(
            "plot-delivery cml-publish uploads the images through CML: set backend to cml, "
            "or use plot-delivery artifact"
        )
    if args.trained not in ("true", "false"):
        raise ReportError(f"trained must be true or false, got {args.trained!r}")
    if not args.base:
        raise ReportError("base-ref is empty: run on pull_request events or set base-ref")
    try:
        threshold = float(args.drift_threshold)
    except ValueError:
        threshold = -1.0
    if not 0 < threshold < 1:
        raise ReportError(
            f"drift-threshold must be a number between 0 and 1, got {args.drift_threshold!r}"
        )


def build_from_workspace(
    args: argparse.Namespace, cwd: Path, published: bool = True
) -> tuple[str, str]:
    """The full report and the PR comment: the same sections, long lists summarised.

    `published=False`: CML will not upload the plots (see `plots_section`)."""
    threshold = float(args.drift_threshold)
    rev = resolve_base(args.base, cwd)
    label = args.base
    trained = args.trained == "true"
    metrics_diff: dict[str, Any] | None = None
    params_diff: dict[str, Any] = {}
    missing = ""
    if rev is None:
        missing = (
            f"The base branch `{args.base}` is not in this clone: check out with "
            "`fetch-depth: 0` to compare."
        )
    else:
        if trained:
            metrics_diff = collect_json(["dvc", "metrics", "diff", rev, "--json", "--all"], cwd)
        params_diff = collect_json(["dvc", "params", "diff", rev, "--json"], cwd)
    comparisons, note = collect_data(args.data, rev, cwd, threshold)
    summary = None
    if args.validation_summary:
        path = cwd / args.validation_summary
        if path.is_file():
            summary = json.loads(path.read_text(encoding="utf-8"))
    plots = [
        str(p.relative_to(cwd)) if p.is_relative_to(cwd) else str(p)
        for p in plot_files(cwd / args.plots)
    ]
    features_now = read_json_at(args.feature_store, None, cwd) if args.feature_store else None
    features_base = read_json_at(args.feature_store, rev, cwd) if features_now and rev else None

    def report(limit: int | None) -> str:
        if missing:
            metrics = "### Metrics\n\n" + missing
            params = "### Changed parameters\n\n" + missing
        else:
            metrics = metrics_section(metrics_diff, label, trained=trained, limit=limit)
            params = params_section(params_diff, label, limit=limit)
        return build_report(
            title=args.title,
            base=label,
            head=args.head,
            metrics=metrics,
            params=params,
            validation=validation_section(summary, limit=limit),
            data=data_section(comparisons, label, threshold, note, limit=limit),
            plots=plots_section(plots, args.plot_delivery, args.artifact_url, published),
            run_url=args.run_url,
            features=feature_store_section(features_now, features_base, label),
        )

    full = report(None)
    return full, full if len(full) <= COMMENT_BUDGET else fit(report(COMMENT_ROWS))


def job_summary(report: str) -> str:
    """The full report, unless it passes GitHub's 1 MiB job-summary limit."""
    if len(report.encode("utf-8")) <= SUMMARY_LIMIT:
        return report
    tail = (
        "\n\n... the report is cut here (over the 1 MiB job-summary limit): see the report file.\n"
    )
    cut = report.encode("utf-8")[: SUMMARY_LIMIT - len(tail.encode("utf-8"))]
    text = cut.decode("utf-8", errors="ignore")
    return text[: text.rfind("\n")] + tail


def append(path_variable: str, text: str) -> None:
    target = os.environ.get(path_variable)
    if target:
        with Path(target).open("a", encoding="utf-8") as handle:
            handle.write(text)


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, required=True, help="where to write the Markdown")
    parser.add_argument("--title", default="Model report")
    parser.add_argument("--base", default="")
    parser.add_argument("--head", default="")
    parser.add_argument("--trained", default="true")
    parser.add_argument("--validation-summary", default="")
    parser.add_argument("--data", nargs="*", default=[])
    parser.add_argument("--drift-threshold", default="0.05")
    parser.add_argument("--plots", default="reports/plots")
    parser.add_argument("--feature-store", default="reports/feature_store.json")
    parser.add_argument("--plot-delivery", default="artifact")
    parser.add_argument("--artifact-url", default="")
    parser.add_argument("--run-url", default="")
    parser.add_argument("--comment", default="true")
    parser.add_argument("--backend", default=DEFAULT_BACKEND)
    parser.add_argument("--cml-version", default=DEFAULT_CML_VERSION)
    parser.add_argument("--repository", default="")
    parser.add_argument("--pr-number", default="")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None, cwd: Path | None = None) -> int:
    args = parse(argv)
    cwd = cwd or Path.cwd()
    try:
        check_inputs(args)
        backend, fallback = args.backend, ""
        if args.comment == "true":
            backend, fallback = choose_backend(args.backend, args.cml_version, cwd)
        published = backend == "cml"
        report, comment = build_from_workspace(args, cwd, published)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(report, encoding="utf-8")
        body = args.out.with_name(args.out.stem + ".comment.md")
        body.write_text(comment, encoding="utf-8")
        append("GITHUB_STEP_SUMMARY", job_summary(report))
        append("GITHUB_OUTPUT", f"report={args.out}\ncomment={body}\n")
        if args.comment == "false":
            notice(
                "Report not posted",
                "This pull request comes from a fork (or comment is false): its token cannot "
                "comment, so the report is only in the job summary.",
            )
            append("GITHUB_OUTPUT", "posted=false\n")
            return 0
        if fallback:
            notice(
                "CML unavailable",
                f"CML is unavailable ({fallback}): posting the report through the GitHub "
                "CLI (gh) instead.",
            )
        what = post(
            body,
            backend,
            args.title,
            args.plot_delivery == "cml-publish",
            args.repository,
            args.pr_number,
            cwd,
        )
        print(f"report: {what}")
        append("GITHUB_OUTPUT", "posted=true\n")
        return 0
    except ReportError as exc:
        return error("Model report", exc)


if __name__ == "__main__":
    sys.exit(main())
