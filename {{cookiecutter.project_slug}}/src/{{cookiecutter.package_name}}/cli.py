"""Shared entry-point plumbing: expected failures print one clear line and exit 1."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Sequence

from .config import ParamsError
from .schema import SchemaError


class PipelineError(RuntimeError):
    """A stage cannot proceed; the message tells the user what to fix."""


def run(main: Callable[[Sequence[str] | None], None], argv: Sequence[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        main(argv)
    except (PipelineError, ParamsError, SchemaError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(1) from None
