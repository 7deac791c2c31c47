"""Result files: what a command decided, as JSON that the GitHub Actions read (never stdout).

Every command that produces a result writes one JSON object that starts with two fields::

    {"schema_version": 1, "kind": "deployment", ...}

``kind`` says what the file is, ``schema_version`` which shape of that kind it has. A reader
understands exactly the versions in :data:`SCHEMA_VERSIONS` and refuses any other with one
sentence naming the file, the kind and the version. The version of a kind goes up when one of
its fields is removed, renamed or changes meaning; adding a field keeps it.

The kinds, who writes them and where (:data:`PATHS`, relative to the project's root):

``promotion`` (``gitops-ml promote --record``, reports/promotion/record.json): the audit record
    of one promotion attempt, :class:`gitops_ml.promote.Record`: ``decision`` ("promoted" or
    "not promoted"), ``reason``, ``registered_model``, ``candidate_version``,
    ``champion_version`` (null: no champion yet), ``metric``, ``candidate_metric``,
    ``champion_metric``, ``difference``, ``interval`` ([low, high] or null),
    ``resamples_requested``, ``resamples_scored``, ``test_rows``, ``test_rows_per_class``,
    ``min_class_rows``, ``gate`` (params.yaml ``promote:``), ``trigger``, ``commit``, ``data``
    (DVC md5 per input), ``run_id``, ``model_source``, ``tracking_uri`` (no credentials),
    ``time``, ``checks`` (the verdicts of params.yaml ``promote.extra_checks``),
    ``feature_store`` (the feature service the model is served with, or null).

``deployment`` (``gitops-ml deploy|rollback|undeploy`` and ``gitops-ml kserve
    deploy|rollback|undeploy``, ``--result``, reports/deploy/result.json): :class:`Deployment`:
    ``target`` ("local" or "kserve"), ``action`` ("deploy", "rollback" or "undeploy"),
    ``outcome`` (see :data:`OUTCOMES`), ``reason`` (why it failed or was rolled back, else
    null), ``url`` (the endpoint, null when nothing serves), ``version`` (the registered
    version serving all traffic afterwards, null when none does), ``previous_version`` (the one
    serving before, null when none did), ``champion`` (the registry's ``champion`` alias when
    the command moved it, else null), ``ab`` (an A/B test it started: ``stable``,
    ``candidate``, ``share``; else null), ``limits`` (the checks' thresholds: params.yaml
    ``deploy:`` ``max_error_rate``, ``max_p95_latency_ms``, ``min_agreement``,
    ``extra_checks``; empty when nothing was checked), ``steps`` (one object per checked
    step, in order: :func:`step_fields`) and ``notes`` (what the command reported on the way,
    one line each).

``monitoring`` (``gitops-ml monitor check --out DIR``, reports/monitoring/summary.json): the
    verdict of :func:`gitops_ml.monitor.summarize` plus ``reference`` and ``current``:
    ``alert`` (bool), ``reasons``, ``notes``, ``drifted_columns``, ``drift_share``,
    ``columns_checked``, ``columns`` (per column ``kind``, ``method``, ``score``,
    ``threshold``, ``noise_floor``, ``drifted``), ``not_compared``, ``unseen_values``,
    ``raised_thresholds``, ``prediction_drift``, ``performance``, ``sampling``, ``settings``.

The actions in this repository's ``actions/`` carry their own stdlib copy of the reader
(``actions/_shared/results.py``: the alert job runs on the runner's python3, without this
library); ``tests/test_results.py`` asserts the two agree on kinds, versions, paths and words.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from . import __version__
from .errors import UserError

SCHEMA_VERSIONS: dict[str, int] = {"promotion": 1, "deployment": 1, "monitoring": 1}
PATHS: dict[str, str] = {
    "promotion": "reports/promotion/record.json",
    "deployment": "reports/deploy/result.json",
    "monitoring": "reports/monitoring/summary.json",
}
# deployment outcomes: the requested version serves all traffic; a rollback serves the older
# version again (the rollback command, or a failed canary step sent traffic back); an A/B test
# runs; undeploy stopped what served, or found nothing; the command failed otherwise
OUTCOMES = ("deployed", "rolled back", "ab test", "undeployed", "not deployed", "failed")


class ResultError(UserError, ValueError):
    """A result file that cannot be used; the message is one sentence.

    The file is missing, is not a JSON object, is of another kind, or has a
    ``schema_version`` its reader does not understand.
    """


def stamp(kind: str, fields: Mapping[str, Any]) -> dict[str, Any]:
    """``fields`` headed by ``schema_version`` and ``kind`` (any of theirs is replaced).

    Raises:
        ValueError: ``kind`` is not one of :data:`SCHEMA_VERSIONS`.
    """
    if kind not in SCHEMA_VERSIONS:
        raise ValueError(f"unknown result kind {kind!r}; one of {', '.join(SCHEMA_VERSIONS)}")
    rest = {k: v for k, v in fields.items() if k not in ("schema_version", "kind")}
    return {"schema_version": SCHEMA_VERSIONS[kind], "kind": kind, **rest}


def strict(value: Any) -> Any:
    """``value`` as strict JSON holds it.

    Numpy scalars become Python values, NaN and infinities null, tuples lists, keys strings.
    """
    if isinstance(value, Mapping):
        return {str(k): strict(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [strict(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, str | bytes):  # a numpy scalar
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def write(path: Path, kind: str, fields: Mapping[str, Any]) -> dict[str, Any]:
    """Write ``fields`` as a ``kind`` result to ``path`` (folders created); return the object.

    Raises:
        ValueError: an unknown ``kind``.
        OSError: ``path`` cannot be written.
    """
    result = strict(stamp(kind, fields))
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(result, indent=2, allow_nan=False, ensure_ascii=False) + "\n"
    path.write_text(text, encoding="utf-8")
    return result


def released() -> str:
    """This library's release line, e.g. ``gitops-ml 1.x``."""
    return f"gitops-ml {__version__.split('.')[0]}.x"


def check(
    result: Any, kind: str, source: str, *, reader: str = "", needs: str = ""
) -> dict[str, Any]:
    """``result`` itself when it is a ``kind`` result of a schema version this reader knows.

    ``reader`` and ``needs`` word the refusal, as in "reports/deploy/result.json has
    deployment schema_version 3, which this action does not understand: it needs gitops-ml
    1.x (the version released with these actions)". Defaults: ``gitops-ml <version>`` and a
    result written by ``gitops-ml <major>.x``.

    Raises:
        ResultError: ``result`` is not an object, its ``kind`` differs, or its
            ``schema_version`` is missing or not :data:`SCHEMA_VERSIONS` ``[kind]``.
    """
    reader = reader or f"gitops-ml {__version__}"
    needs = needs or f"a result written by {released()}"
    if not isinstance(result, dict):
        raise ResultError(f"{source} is not a JSON object, so not a {kind} result")
    version = result.get("schema_version")
    if "schema_version" in result and result.get("kind") != kind:
        found = "no kind" if "kind" not in result else f"kind {result['kind']!r}"
        raise ResultError(f"{source} has {found}, so it is not a {kind} result")
    if isinstance(version, bool) or version != SCHEMA_VERSIONS[kind]:
        found = "no schema_version" if version is None else f"{kind} schema_version {version}"
        raise ResultError(
            f"{source} has {found}, which {reader} does not understand: it needs {needs}"
        )
    return result


def read(path: Path, kind: str, *, reader: str = "", needs: str = "") -> dict[str, Any]:
    """The ``kind`` result in ``path`` (:func:`check` words the refusals).

    Raises:
        ResultError: ``path`` does not exist or is not JSON, or :func:`check` refuses it.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ResultError(f"{path} was not written, so there is no {kind} result") from None
    try:
        result = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ResultError(f"{path} is not JSON ({exc}), so not a {kind} result") from None
    return check(result, kind, str(path), reader=reader, needs=needs)


# --- the deployment result, built while a deploy, rollback or undeploy runs ------------------


def step_fields(step: Any) -> dict[str, Any]:
    """One judged canary step (:class:`gitops_ml.canary.StepResult`) as the result holds it.

    ``share``: % of traffic on the candidate; ``requests``: requests sent during the step;
    ``candidate_requests``: those the candidate answered; ``errors`` and ``error_rate``: the
    requests that failed (5xx or no answer), null rate when none was sent; ``p95_ms``: the
    candidate's p95 latency (null without candidate answers); ``agreement``: share of probe
    rows on which the candidate agrees with the stable model (null: nothing to compare with);
    ``passed``, ``failures`` (every failed check, in words), ``checks`` (the verdicts of
    params.yaml ``deploy.extra_checks``) and ``details`` (the progress line's middle).
    """
    return {
        "share": step.weight,
        "requests": step.requests,
        "candidate_requests": step.candidate_requests,
        "errors": step.errors,
        "error_rate": round(step.errors / step.requests, 6) if step.requests else None,
        "p95_ms": step.p95_ms,
        "agreement": step.agreement,
        "passed": not step.failures,
        "failures": list(step.failures),
        "checks": list(step.checks),
        "details": step.details,
    }


@dataclass
class Deployment:
    """The ``deployment`` result of one command, filled in as it runs (fields: module doc)."""

    target: str
    action: str
    outcome: str = "failed"
    reason: str | None = None
    url: str | None = None
    version: str | None = None
    previous_version: str | None = None
    champion: str | None = None
    ab: dict[str, Any] | None = None
    limits: dict[str, Any] = field(default_factory=dict)
    steps: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def say(self, line: str) -> None:
        """Print ``line`` for the person watching and keep it in ``notes``."""
        print(line, flush=True)
        self.notes.append(line)

    def checked(self, settings: Any, steps: Any) -> None:
        """Record the judged ``steps`` and the thresholds (params.yaml ``deploy:``) they met."""
        self.limits = {
            "max_error_rate": settings.max_error_rate,
            "max_p95_latency_ms": settings.max_p95_latency_ms,
            "min_agreement": settings.min_agreement,
            "extra_checks": list(settings.extra_checks),
        }
        self.steps = [step_fields(step) for step in steps]

    def failed(self, reason: str) -> None:
        """Record why the command failed.

        A deployment whose canary failed and whose traffic went back keeps the outcome
        ``rolled back``; any other failure is ``failed``.
        """
        self.reason = reason
        if not (self.action == "deploy" and self.outcome == "rolled back"):
            self.outcome = "failed"

    def write(self, path: Path) -> dict[str, Any]:
        """Write this result to ``path`` (see :func:`write`)."""
        return write(path, "deployment", asdict(self))
