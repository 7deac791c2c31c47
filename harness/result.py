"""What one act run did, read from act's JSON log (`act --json`) and the stand-ins' records."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class ActResult:
    """One act run: exit status, the JSON log's events, and where the stand-ins wrote.

    `record_dir` holds the `cml`/`gh`/`npm` recorders' JSONL files, `artifact_dir` what the
    upload-artifact stand-in kept (one folder per artifact name).
    """

    returncode: int
    events: list[dict[str, Any]]
    record_dir: Path
    artifact_dir: Path
    seconds: float
    stderr: str = ""
    job_results: dict[str, str] = field(default_factory=dict)

    @property
    def succeeded(self) -> bool:
        """act exited 0 and every job that ran reported success."""
        return self.returncode == 0 and all(r == "success" for r in self.job_results.values())

    @property
    def log(self) -> str:
        """The whole log as text, one message per line."""
        return "".join(str(e.get("msg", "")).rstrip("\n") + "\n" for e in self.events)

    def tail(self, lines: int = 120) -> str:
        """The end of the log (for assertion messages)."""
        return "\n".join(self.log.splitlines()[-lines:]) + "\n" + self.stderr[-3000:]

    @property
    def summary(self) -> str:
        """The job summary: what top-level steps appended to $GITHUB_STEP_SUMMARY."""
        parts = [
            e["content"]
            for e in self.events
            if e.get("command") == "summary" and len(e.get("stepID") or []) == 1
        ]
        return "".join(parts)

    def step(self, name: str) -> str | None:
        """Result of the top-level step called `name` (its `name:` or, without one, its run)."""
        for event in self.events:
            if event.get("step") == name and "stepResult" in event and event.get("stage") == "Main":
                return event["stepResult"]
        return None

    def failed_step(self) -> str | None:
        """The name of the first top-level step that failed, if one did."""
        for event in self.events:
            if event.get("stepResult") == "failure" and event.get("stage") == "Main":
                return event.get("step")
        return None

    def outputs(self, step_id: str) -> dict[str, str]:
        """Outputs set by the step with `id: step_id` (for a composite action: its steps')."""
        found = {}
        for event in self.events:
            ids = event.get("stepID") or []
            if event.get("command") == "set-output" and ids[:1] == [step_id]:
                found[event["name"]] = event.get("arg", "")
        return found

    def annotations(self, kind: str) -> list[str]:
        """Messages of the ::error::/::warning::/::notice:: workflow commands, in order."""
        return [e.get("arg", "") for e in self.events if e.get("command") == kind]

    def calls(self, tool: str) -> list[dict[str, Any]]:
        """The recorded calls of the `tool` stand-in (`gh`, `cml`, `npm`), in order."""
        path = self.record_dir / f"{tool}.jsonl"
        if not path.is_file():
            return []
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
