"""Canary rollout steps, shared by both deploy targets (local nginx and KServe).

A rollout sends a growing share of traffic (``deploy.canary_steps``, percent) to the
candidate. At each step the target measures (its effects: nginx weights or an
InferenceService's ``canaryTrafficPercent``, real requests, probe predictions) and this module
judges: health, error rate, the candidate's p95 latency, its agreement with the stable model on
probe rows, then the user's ``deploy.extra_checks``. :func:`roll_out` is the one step loop and
:func:`report` the one writer of the ``canary N%: ...: ok|FAILED (...)`` progress line.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from . import checks
from .errors import PipelineError
from .params import DeployParams, ProblemType


@dataclass
class Answer:
    """One request through the load balancer: HTTP status (0: no answer), seconds, variant."""

    status: int
    seconds: float
    variant: str
    body: str = ""


def p95(values: Sequence[float]) -> float:
    """The 95th percentile of ``values`` (numpy's linear interpolation); 0.0 when empty."""
    return float(np.percentile(values, 95)) if values else 0.0


def agreement(
    stable: Sequence[Any], candidate: Sequence[Any], problem_type: ProblemType, tolerance: float
) -> float:
    """Share (0..1) of probe rows on which the candidate agrees with the stable model.

    Classification: the same class. Regression: a prediction within ``tolerance`` times the
    standard deviation of the stable predictions. Different shapes agree on nothing (0.0).
    """
    stable_values, candidate_values = np.asarray(stable), np.asarray(candidate)
    if stable_values.shape != candidate_values.shape:
        return 0.0
    if problem_type == "classification":
        return float(np.mean(stable_values == candidate_values))
    spread = float(np.std(stable_values)) or 1.0
    close = (
        np.abs(stable_values.astype(float) - candidate_values.astype(float)) <= tolerance * spread
    )
    return float(np.mean(close))


def check_step(
    answers: Sequence[Answer], agreed: float, params: DeployParams, weight: int
) -> list[str]:
    """The built-in reasons a canary step fails (empty: the step passed).

    ``answers``: the step's requests (variant ``candidate`` for those the candidate served);
    ``agreed``: :func:`agreement` on the probe rows; ``weight``: the candidate's share, %.
    """
    failures = []
    served = [a for a in answers if a.variant == "candidate"]
    if weight > 0 and not served:
        failures.append(f"the candidate served none of {len(answers)} requests")
    errors = [a for a in answers if a.status >= 500 or a.status == 0]
    rate = len(errors) / len(answers) if answers else 1.0
    if rate > params.max_error_rate:
        failures.append(f"error rate {rate:.2%} > {params.max_error_rate:.2%}")
    latency = p95([a.seconds * 1000 for a in served])
    if latency > params.max_p95_latency_ms:
        failures.append(f"candidate p95 latency {latency:.0f} ms > {params.max_p95_latency_ms} ms")
    if agreed < params.min_agreement:
        failures.append(
            f"candidate agrees with the stable model on {agreed:.0%} of probe rows "
            f"< {params.min_agreement:.0%}"
        )
    return failures


@dataclass
class Measurement:
    """What a target measured at one step, before judging.

    ``answers`` None: nothing could be sent (``failures`` says why); ``agreed`` None: no
    stable model to compare with (a first revision); ``details``: the progress line's middle.
    """

    answers: list[Answer] | None
    agreed: float | None
    details: str
    failures: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class CanaryStep:
    """What a user canary check (``deploy.extra_checks``) receives at each step."""

    target: str
    version: str
    weight: int
    answers: list[Answer]
    agreement: float | None
    problem_type: ProblemType


@dataclass
class StepResult:
    """One judged step: its share (%), the progress details and every failure reason."""

    weight: int
    details: str
    failures: list[str]
    checks: list[dict[str, Any]] = field(default_factory=list)
    requests: int = 0
    candidate_requests: int = 0
    errors: int = 0
    p95_ms: float | None = None
    agreement: float | None = None

    @property
    def passed(self) -> bool:
        """True when no check failed."""
        return not self.failures


class CanaryFailed(PipelineError):
    """A step failed: ``steps`` holds every step judged, the failed one last."""

    def __init__(self, steps: list[StepResult]) -> None:
        """The message names the failed step's share and every failure reason."""
        step = steps[-1]
        super().__init__(f"canary at {step.weight}%: " + "; ".join(step.failures))
        self.steps = steps


def report(step: StepResult) -> None:
    """Print the step's progress line: ``canary <N>%: <details>: ok|FAILED (<reasons>)``."""
    verdict = "ok" if step.passed else "FAILED (" + "; ".join(step.failures) + ")"
    print(f"canary {step.weight}%: {step.details}: {verdict}", flush=True)


def judge(
    measured: Measurement,
    weight: int,
    params: DeployParams,
    *,
    target: str,
    version: str,
    problem_type: ProblemType,
) -> StepResult:
    """Built-in checks, then ``params.extra_checks``, on one step's measurement."""
    failures = list(measured.failures)
    answers = measured.answers or []
    found: list[dict[str, Any]] = []
    if measured.answers is not None:
        agreed = 1.0 if measured.agreed is None else measured.agreed
        failures += check_step(answers, agreed, params, weight)
        if params.extra_checks:
            context = CanaryStep(target, version, weight, answers, measured.agreed, problem_type)
            verdicts = checks.run_checks(params.extra_checks, context)
            found = [asdict(v) for v in verdicts]
            failures += checks.vetoes(verdicts)
    served = [a for a in answers if a.variant == "candidate"]
    return StepResult(
        weight=weight,
        details=measured.details,
        failures=failures,
        checks=found,
        requests=len(answers),
        candidate_requests=len(served),
        errors=sum(a.status >= 500 or a.status == 0 for a in answers),
        p95_ms=round(p95([a.seconds * 1000 for a in served]), 1) if served else None,
        agreement=measured.agreed,
    )


def roll_out(
    weights: Sequence[int],
    measure: Callable[[int], Measurement],
    params: DeployParams,
    *,
    target: str,
    version: str,
    problem_type: ProblemType,
) -> list[StepResult]:
    """The step loop: for each share, ``measure(weight)``, judge, report; stop at a failure.

    Returns every step's result when all passed.

    Raises:
        CanaryFailed: at the first failed step, holding the steps judged so far.
    """
    results: list[StepResult] = []
    for weight in weights:
        step = judge(
            measure(weight), weight, params, target=target, version=version,
            problem_type=problem_type,
        )  # fmt: skip
        report(step)
        results.append(step)
        if not step.passed:
            raise CanaryFailed(results)
    return results
