"""User-supplied checks: functions named in params.yaml that can veto a promotion or a canary.

A check is named ``"module:function"`` (``promote.extra_checks`` or ``deploy.extra_checks``)
and imported from the project (the Makefile puts ``src/`` on ``PYTHONPATH``, so
``my_project.checks:fairness`` is ``src/my_project/checks.py``). It receives one context
object and returns ``None`` (or an empty string) to pass, or a sentence saying why it vetoes.
A check that raises vetoes too, with the exception as the reason: a broken check never lets a
model through. Example, a fairness check on the test split::

    def fairness(context):
        rows = context.features.assign(correct=context.candidate_predictions == context.labels)
        by_group = rows.groupby("sex")["correct"].mean()
        if by_group.max() - by_group.min() > 0.05:
            return f"accuracy differs by {by_group.max() - by_group.min():.1%} between groups"
        return None
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from .errors import PipelineError


@dataclass(frozen=True)
class Verdict:
    """What one user check said: ``passed`` False carries the veto ``reason``."""

    check: str
    passed: bool
    reason: str


def load(spec: str) -> Callable[[Any], str | None]:
    """The function ``spec`` names (``"package.module:function"``).

    Raises:
        PipelineError: ``spec`` is malformed, its module cannot be imported or has no such
            callable.
    """
    module_name, _, function_name = spec.partition(":")
    if not module_name or not function_name:
        raise PipelineError(f"check {spec!r} must be written 'module:function'")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise PipelineError(f"check {spec!r}: cannot import {module_name!r} ({exc})") from None
    function = getattr(module, function_name, None)
    if not callable(function):
        raise PipelineError(f"check {spec!r}: {module_name!r} has no function {function_name!r}")
    return function


def run_checks(specs: Sequence[str], context: Any) -> list[Verdict]:
    """Call every check in ``specs`` with ``context``, in order; one verdict each.

    Raises:
        PipelineError: a check cannot be loaded (see :func:`load`); nothing was decided.
    """
    functions = [(spec, load(spec)) for spec in specs]
    verdicts = []
    for spec, function in functions:
        try:
            reason = function(context)
        except Exception as exc:  # noqa: BLE001 - a failing check vetoes, never promotes
            verdicts.append(Verdict(spec, False, f"raised {type(exc).__name__}: {exc}"))
            continue
        if reason is None or reason == "":
            verdicts.append(Verdict(spec, True, ""))
        else:
            verdicts.append(Verdict(spec, False, str(reason)))
    return verdicts


def vetoes(verdicts: Sequence[Verdict]) -> list[str]:
    """``"<check>: <reason>"`` for every check that vetoed."""
    return [f"{v.check}: {v.reason}" for v in verdicts if not v.passed]
