"""The ``gitops-ml`` command: one sub-command per lifecycle step, run from a project's root.

Every sub-command reads the project's ``params.yaml`` and imports only the module it runs
(``gitops-ml promote`` never imports Evidently or Great Expectations), so ``--help`` answers
in a fraction of a second. Commands that produce a result also write it as JSON with a
``schema_version`` (``results.py``); the GitHub Actions read those files, never stdout.

Exit status: 0 success, 1 an error the message explains, 2 a wrong command line, 3 an alert
(``monitor check``) or a refused promotion when ``--strict`` is given.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence
from typing import NamedTuple

from . import __version__


class Command(NamedTuple):
    """A sub-command: the module whose ``main(argv)`` runs it and arguments put first."""

    module: str
    summary: str
    prefix: tuple[str, ...] = ()


COMMANDS: dict[str, Command] = {
    "expectations": Command("gitops_ml.suite", "build expectations/suite.json from the splits"),
    "tune": Command("gitops_ml.tune", "run params.yaml's tune.grid as DVC experiments, ranked"),
    "promote": Command(
        "gitops_ml.promote", "register the model; move `champion` only if it beats the champion"
    ),
    "champion": Command(
        "gitops_ml.champion_store", "pull|push|rollback the champion as GitHub releases"
    ),
    "deploy": Command(
        "gitops_ml.serve.local", "serve the champion behind nginx as a checked canary", ("deploy",)
    ),
    "rollback": Command("gitops_ml.serve.local", "serve the previous version again", ("rollback",)),
    "undeploy": Command(
        "gitops_ml.serve.local", "stop every process `deploy` started", ("undeploy",)
    ),
    "ab-compare": Command(
        "gitops_ml.serve.local", "compare the outcomes of an A/B deployment", ("ab-compare",)
    ),
    "kserve": Command(
        "gitops_ml.serve.kserve", "deploy|rollback|undeploy|manifest on a KServe cluster"
    ),
    "monitor": Command(
        "gitops_ml.monitor", "check|demo-batch|dashboard: drift, quality and their history"
    ),
}


def usage() -> str:
    """The ``--help`` text: one line per sub-command."""
    width = max(map(len, COMMANDS))
    lines = [
        f"usage: gitops-ml <command> [options]   (gitops-ml {__version__})",
        "",
        "Run from a generated project's root; `gitops-ml <command> --help` for options.",
        "",
        "commands:",
        *(f"  {name:<{width}}  {command.summary}" for name, command in COMMANDS.items()),
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    """Dispatch ``argv`` (default ``sys.argv[1:]``) to a sub-command's module.

    Raises:
        SystemExit: 0 after ``--help``/``--version``, 2 for an unknown command, otherwise
            the status of the sub-command (1 for an error it explains).
    """
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in {"-h", "--help", "help"}:
        print(usage())
        raise SystemExit(0 if args else 2)
    if args[0] == "--version":
        print(f"gitops-ml {__version__}")
        raise SystemExit(0)
    name, rest = args[0], args[1:]
    command = COMMANDS.get(name)
    if command is None:
        print(f"gitops-ml: unknown command {name!r}; choose one of {', '.join(COMMANDS)}",
              file=sys.stderr)  # fmt: skip
        raise SystemExit(2)
    module = importlib.import_module(command.module)
    sys.argv[0] = f"gitops-ml {name}"
    from .errors import run

    run(module.main, [*command.prefix, *rest])


if __name__ == "__main__":
    main()
