"""One failed expectation of the validate stage's JSON summary, as the `Detail` text that the
`validate-data` job summary and annotations and the `report` comment show.

The stage writes each failure as data (`expectation`, `column`, `why`, and the evidence:
`missing_columns`/`unexpected_columns`, `unexpected_count` with `examples`, `observed`,
`error`); this is the one place that turns that evidence into words for the actions.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

EXAMPLES = 5


def value(item: Any) -> str:
    """A JSON value as text: floats to 6 significant digits, JSON's null/true/false.

    The report's tables use it too (with '-' for a missing value).
    """
    if item is None:
        return "null"
    if isinstance(item, bool):
        return str(item).lower()
    if isinstance(item, float):
        return f"{item:.6g}"
    return str(item)


def detail(failure: Mapping[str, Any]) -> str:
    """E.g. `12 bad values (e.g. -5, -5, 900.5)` or `missing columns age, plan`."""
    parts = []
    if failure.get("missing_columns"):
        parts.append("missing columns " + ", ".join(map(str, failure["missing_columns"])))
    if failure.get("unexpected_columns"):
        parts.append("unexpected columns " + ", ".join(map(str, failure["unexpected_columns"])))
    if "unexpected_count" in failure:
        examples = ", ".join(value(v) for v in (failure.get("examples") or [])[:EXAMPLES])
        parts.append(f"{failure['unexpected_count']} bad values (e.g. {examples})")
    elif "observed" in failure:
        parts.append(f"observed {value(failure['observed'])}")
    if failure.get("error"):
        parts.append(str(failure["error"]))
    return "; ".join(parts) or "-"
