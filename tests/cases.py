"""The option combinations the tests render, chosen on purpose.

Options that interact (problem type x dataset x DVC remote) go through a full product
filtered by a validity check; independent options rotate with itertools.cycle so each
value is exercised without multiplying the matrix. Each case has a readable id.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHOICES = {
    key: value
    for key, value in json.loads((ROOT / "cookiecutter.json").read_text(encoding="utf-8")).items()
    if isinstance(value, list) and not key.startswith("_")
}
INTERACTING = ("problem_type", "dataset", "dvc_remote")
INDEPENDENT = tuple(key for key in CHOICES if key not in INTERACTING)


def is_valid(case: dict[str, str]) -> bool:
    """Combinations the pre-generation hook accepts (see UNSUPPORTED for the others)."""
    return not any(all(case.get(k) == v for k, v in bad.items()) for bad, _ in UNSUPPORTED)


# Each unsupported combination and the message the pre-generation hook must print.
UNSUPPORTED: list[tuple[dict[str, str], str]] = [
    (
        {"training_runner": runner, "dvc_remote": "local"},
        f"training_runner '{runner}' trains on a cloud machine that cannot reach a local DVC "
        "remote: choose dvc_remote s3, gcs or azure, or training_runner 'github'.",
    )
    for runner in ("cml-aws", "cml-gcp", "cml-azure")
]


def cases() -> list[dict[str, str]]:
    product = [
        dict(zip(INTERACTING, values, strict=True))
        for values in itertools.product(*(CHOICES[key] for key in INTERACTING))
    ]
    rotations = {key: itertools.cycle(CHOICES[key]) for key in INDEPENDENT}
    found = []
    for case in product:
        for key, values in rotations.items():
            case[key] = next(values)
            if not is_valid(case):  # a rotated value the other answers exclude: first valid one
                case[key] = next(v for v in CHOICES[key] if is_valid({**case, key: v}))
        found.append(case)
    # feature_store and deploy_target rotate in step (two values each): the feature store
    # also with the local deploy target and DVC remote (the cases act can run), per problem.
    for first in (found[0], found[len(found) // 2]):
        found.append({**first, "feature_store": "feast"})
    # Names at the length limit the hook allows: generated code must still lint clean.
    found.append({**found[-3], "project_name": "Customer Lifetime Value Forecast"})
    return found


def case_id(case: dict[str, str]) -> str:
    suffix = ["long-names"] if "project_name" in case else []
    return "-".join([*(case[key] for key in (*INTERACTING, *INDEPENDENT)), *suffix])
