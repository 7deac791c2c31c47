"""The one error the harness raises: a run it cannot set up (never a job that failed)."""

from __future__ import annotations


class HarnessError(RuntimeError):
    """act, uv or a stand-in is missing, or the workflow names an action that does not exist.

    A job that runs and fails is not an error: `run_act` returns its `ActResult`.
    """
