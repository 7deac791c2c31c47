"""What the demo prints while it runs, and the summary table at the end.

One line per step and sub-step, each with the time since the demo started, so a reader sees
where it is; a failing step raises `StepFailed` with the step's name and the reason. Every
step keeps its wall time, its outcome and where its artefacts are, for the table.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO


class StepFailed(RuntimeError):
    """A step could not do its part: the demo stops, names the step and the reason."""

    def __init__(self, step: str, reason: str):
        super().__init__(f"step {step!r} failed: {reason}")
        self.step, self.reason = step, reason


@dataclass
class Step:
    """One step of the loop as the summary table shows it."""

    number: int
    title: str
    seconds: float = 0.0
    outcome: str = "not run"
    artefacts: dict[str, Path | str] = field(default_factory=dict)


class Progress:
    """Prints `[mm:ss] ...` lines and records each step (the summary table's rows).

    `root` is the folder artefact paths are shown relative to.
    """

    def __init__(self, root: Path, out: TextIO = sys.stdout):
        self.root, self.out = root, out
        self.started = time.monotonic()
        self.steps: list[Step] = []

    def elapsed(self) -> str:
        seconds = int(time.monotonic() - self.started)
        return f"{seconds // 60:02d}:{seconds % 60:02d}"

    def say(self, text: str, indent: int = 0) -> None:
        """One progress line (continuation lines of `text` are indented under it)."""
        pad = "  " * indent
        lines = text.rstrip("\n").splitlines() or [""]
        print(f"[{self.elapsed()}] {pad}{lines[0]}", file=self.out, flush=True)
        for line in lines[1:]:
            print(f"        {pad}{line}", file=self.out, flush=True)

    def sub(self, text: str) -> None:
        """A sub-step line of the current step."""
        self.say(f"- {text}", indent=1)

    def block(self, text: str) -> None:
        """Text shown as it is (a report, an issue), framed, without time stamps."""
        rule = "-" * 78
        print(f"{rule}\n{text.rstrip()}\n{rule}", file=self.out, flush=True)

    @contextmanager
    def step(self, number: int, title: str) -> Iterator[Step]:
        """Time the step; its outcome is `done` unless the body sets another or raises.

        Raises:
            StepFailed: the body raised anything but KeyboardInterrupt (the message names the
                step and the error), or the body raised StepFailed itself.
        """
        step = Step(number, title)
        self.steps.append(step)
        self.say(f"Step {number}: {title}")
        started = time.monotonic()
        try:
            yield step
        except StepFailed as failure:
            step.outcome = f"FAILED: {failure.reason}"
            raise
        except Exception as error:  # any error stops the demo with the step's name
            step.outcome = f"FAILED: {type(error).__name__}: {error}"
            raise StepFailed(title, f"{type(error).__name__}: {error}") from error
        except BaseException:  # Ctrl-C: the demo still tears down (loop.main)
            step.outcome = "interrupted"
            raise
        finally:
            step.seconds = time.monotonic() - started
            if step.outcome == "not run":
                step.outcome = "done"
            self.say(f"Step {number} {step.outcome.split(':')[0]} in {step.seconds:.1f} s")

    def where(self, path: Path | str) -> str:
        """`path` relative to the root when it is inside it."""
        if isinstance(path, Path):
            try:
                return str(path.resolve().relative_to(self.root.resolve()))
            except ValueError:
                return str(path)
        return path

    def table(self) -> str:
        """The summary: one row per step with its wall time, outcome and artefacts."""
        rows = [("#", "Step", "Wall time", "Outcome", "Artefacts")]
        for step in self.steps:
            artefacts = "; ".join(f"{k}: {self.where(v)}" for k, v in step.artefacts.items())
            outcome = step.outcome if len(step.outcome) <= 60 else step.outcome[:57] + "..."
            rows.append(
                (str(step.number), step.title, f"{step.seconds:.1f} s", outcome, artefacts or "-")
            )
        total = time.monotonic() - self.started
        rows.append(("", "total (prerequisites included)", f"{total:.1f} s", "", ""))
        widths = [min(max(len(r[i]) for r in rows), 60) for i in range(4)]
        lines = []
        for index, row in enumerate(rows):
            cells = [row[i].ljust(widths[i]) for i in range(4)]
            lines.append(" | ".join([*cells, row[4]]).rstrip())
            if index == 0:
                lines.append("-+-".join(["-" * w for w in widths] + ["-" * 9]))
        return "\n".join(lines)
