"""The prediction log's schema: a leaf module both the serving logger and the monitor import.

One CSV row per predicted input row, in files ``predictions-<YYYY-MM-DD>-v<version>-<pid>.csv``
of the log folder (``deploy.prediction_log``)::

    timestamp, model_version, request_id, <the model's input columns>, prediction

Requests whose ``params`` carry ``traffic: probe`` (the deploy commands' own checks) are
answered but never logged; client traffic is ``traffic: client`` (the default).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

PREDICTION = "prediction"
# Columns a prediction log may carry besides the model inputs, the prediction and the label.
LOG_METADATA = ("timestamp", "model_version", "request_id")
# The request parameter that tells client traffic from the deploy commands' own requests.
TRAFFIC_PARAM = "traffic"
CLIENT = "client"
PROBE = "probe"


def log_file(log_dir: Path, version: str, when: datetime, pid: int) -> Path:
    """This server process's log file for the UTC day of ``when``."""
    return log_dir / f"predictions-{when:%Y-%m-%d}-v{version}-{pid}.csv"
