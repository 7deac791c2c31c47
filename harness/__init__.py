"""Run a generated project's GitHub workflows offline with nektos/act, and read the results.

    from harness import run_act, pull_request_event

    result = run_act(repo, "pull_request", pull_request_event(7, "tune-c"), workflow="pr.yml",
                     job="model", tmp_path=tmp_path)
    assert result.succeeded, result.tail()
    result.calls("gh")          # recorded gh invocations: [{"argv", "cwd", "markdown", "token"}]
    result.summary             # everything the job wrote to $GITHUB_STEP_SUMMARY
    result.step("Train (dvc repro with the run-cache)")   # "success" | "failure" | "skipped"
    result.annotations("error") # ["::error::" messages]
    result.outputs("train")     # {"metrics-path": "reports/metrics.json", ...} of `id: train`

One concept per module: `run` (run_act), `result` (ActResult, act's JSON log), `mapping`
(which local directory stands in for each `uses:`), `host` (the act binary, PATH, telemetry),
`events` (payloads), `errors`. The stand-ins themselves are in `standins/`; what each does and
how a run is wired: harness/README.md. Used by the tests, the benchmarks and `make demo`.
"""

from __future__ import annotations

from .errors import HarnessError
from .events import dispatch_event, pull_request_event, push_event, schedule_event
from .host import QUIET_ENV, SHARED_BIN, act_binary, host_path
from .mapping import (
    ROOT,
    SNAPSHOT,
    STANDINS,
    local_repositories,
    referenced_files,
    snapshot_actions,
    used_actions,
)
from .result import ActResult
from .run import run_act

__all__ = [
    "QUIET_ENV",
    "ROOT",
    "SHARED_BIN",
    "SNAPSHOT",
    "STANDINS",
    "ActResult",
    "HarnessError",
    "act_binary",
    "dispatch_event",
    "host_path",
    "local_repositories",
    "pull_request_event",
    "push_event",
    "referenced_files",
    "run_act",
    "schedule_event",
    "snapshot_actions",
    "used_actions",
]
