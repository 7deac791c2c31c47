"""Reading the result files the project's gitops-ml writes: the actions' side of the contract.

The project's commands write what they decided as JSON (src/gitops_ml/results.py in this
repository): a `promotion` record, a `deployment` result, a `monitoring` summary, each headed
by `"schema_version": <int>` and `"kind"`. The actions read those files, never the commands'
stdout, and refuse a file whose kind or schema version they do not know with one sentence.

This is a stdlib copy of the library's reader, not an import of it: the alert job runs on the
runner's own python3 without the project's environment, and an action must judge a file by
the versions *it* understands (those released with it), whatever gitops-ml the project pins.
tests/test_results.py asserts that SCHEMA_VERSIONS, PATHS and the refusals agree with the
library's.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

SCHEMA_VERSIONS: dict[str, int] = {"promotion": 1, "deployment": 1, "monitoring": 1}
PATHS: dict[str, str] = {
    "promotion": "reports/promotion/record.json",
    "deployment": "reports/deploy/result.json",
    "monitoring": "reports/monitoring/summary.json",
}
# A workflow that uses `owner/repo/actions/<name>@ref` gets the whole repository at that ref:
# the library released with these actions is there.
LIBRARY = Path(__file__).resolve().parent.parent.parent / "src" / "gitops_ml" / "__init__.py"
VERSION = re.compile(r"""^__version__\s*=\s*["']([^"']+)["']""", re.MULTILINE)


class ResultError(ValueError):
    """A result file that cannot be used; the message is one sentence."""


def library_version(init: Path = LIBRARY) -> str:
    """The gitops-ml version released with these actions ('' when it cannot be read)."""
    try:
        match = VERSION.search(init.read_text(encoding="utf-8"))
    except OSError:
        return ""
    return match[1] if match else ""


def needs() -> str:
    """What a refused file lacks, e.g. 'gitops-ml 1.x (the version released with these actions)'."""
    version = library_version()
    if not version:
        return "the gitops-ml released with these actions"
    return f"gitops-ml {version.split('.')[0]}.x (the version released with these actions)"


def check(result: Any, kind: str, source: str) -> dict[str, Any]:
    """`result` itself when it is a `kind` result of the schema version these actions know.

    Raises:
        ResultError: not a JSON object, another kind, or an unknown or missing schema_version.
    """
    if not isinstance(result, dict):
        raise ResultError(f"{source} is not a JSON object, so not a {kind} result")
    version = result.get("schema_version")
    if "schema_version" in result and result.get("kind") != kind:
        found = "no kind" if "kind" not in result else f"kind {result['kind']!r}"
        raise ResultError(f"{source} has {found}, so it is not a {kind} result")
    if isinstance(version, bool) or version != SCHEMA_VERSIONS[kind]:
        found = "no schema_version" if version is None else f"{kind} schema_version {version}"
        raise ResultError(
            f"{source} has {found}, which this action does not understand: it needs {needs()}"
        )
    return result


def read(path: Path | str, kind: str, source: str = "") -> dict[str, Any]:
    """The `kind` result in `path`; messages name it `source` (default: `path`), e.g. the
    path relative to the project.

    Raises:
        ResultError: the file is missing or not JSON, or check() refuses it.
    """
    source = source or str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ResultError(f"{source} was not written, so there is no {kind} result") from None
    try:
        result = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ResultError(f"{source} is not JSON ({exc}), so not a {kind} result") from None
    return check(result, kind, source)
