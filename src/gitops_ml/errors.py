"""Errors a user can fix, and the entry-point wrapper that prints them as one line.

Kept free of heavy imports: every command imports it first.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Sequence


class UserError(Exception):
    """Base of the errors whose message tells the user what to fix (exit status 1)."""


class PipelineError(UserError, RuntimeError):
    """A command cannot proceed; the message tells the user what to fix."""


def run(main: Callable[[Sequence[str] | None], None], argv: Sequence[str] | None = None) -> None:
    """Call ``main(argv)``; a :class:`UserError` prints ``error: <message>`` and exits 1.

    Raises:
        SystemExit: with status 1 on a :class:`UserError` (other exceptions propagate).
    """
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        main(argv)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(1) from None
