"""Event payloads act needs for the triggers of a generated project's workflows.

act reads the event from a JSON file (`--eventpath`); these build the smallest payload each
workflow reads. A pull_request payload needs the top-level `number`; a push names its `ref`.
"""

from __future__ import annotations

from typing import Any

REPOSITORY = "acme/project"


def pull_request_event(
    number: int,
    head: str,
    base: str = "main",
    *,
    fork: bool = False,
    repository: str = REPOSITORY,
) -> dict[str, Any]:
    """A minimal pull_request payload for pull request `number` from branch `head`."""
    head_repo = "contributor/project" if fork else repository
    return {
        "action": "synchronize",
        "number": number,
        "pull_request": {
            "number": number,
            "head": {"ref": head, "repo": {"full_name": head_repo, "fork": fork}},
            "base": {"ref": base, "repo": {"full_name": repository}},
        },
        "repository": {"full_name": repository, "name": repository.split("/")[1]},
    }


def push_event(ref: str, repository: str = REPOSITORY) -> dict[str, Any]:
    """A push of `ref`: `refs/heads/main` (a merge) or `refs/tags/v1.0.0` (a release tag)."""
    return {"ref": ref, "repository": {"full_name": repository, "name": repository.split("/")[1]}}


def schedule_event(cron: str, default_branch: str = "main") -> dict[str, Any]:
    """A scheduled run (`on: schedule`) of the cron line `cron`."""
    return {"schedule": cron, "repository": {"default_branch": default_branch}}


def dispatch_event(inputs: dict[str, str], repository: str = REPOSITORY) -> dict[str, Any]:
    """A workflow_dispatch run with `inputs` (values as the form sends them: text)."""
    return {"inputs": inputs, "repository": {"full_name": repository, "default_branch": "main"}}
