"""HTTP to the deployment: prediction requests through nginx, as a client sends them."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

import pandas as pd


@dataclass
class Answer:
    """One response of `POST <url>/invocations`."""

    status: int
    predictions: list[Any]
    version: str
    variant: str
    request_id: str
    error: str = ""


def predict(url: str, rows: pd.DataFrame, timeout: float = 30.0) -> Answer:
    """POST `rows` (the model's input columns) as `dataframe_split`; never raises on HTTP."""
    body = json.dumps(
        {"dataframe_split": json.loads(rows.to_json(orient="split", index=False))}
    ).encode()
    request = urllib.request.Request(
        f"{url}/invocations", data=body, method="POST", headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            headers, status, text = response.headers, response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        headers, status = error.headers, error.code
        text = error.read().decode(errors="replace")
    except (urllib.error.URLError, OSError) as error:
        return Answer(0, [], "", "", "", str(error))
    predictions: list[Any] = []
    error = ""
    if status == 200:
        predictions = json.loads(text).get("predictions", [])
    else:
        error = text[:300]
    return Answer(
        status,
        predictions,
        headers.get("X-Model-Version", ""),
        headers.get("X-Model-Variant", ""),
        headers.get("X-Request-Id", ""),
        error,
    )


def deployment_info(url: str, timeout: float = 10.0) -> dict[str, Any]:
    """nginx's `GET /deployment` (the split it serves now), or {"error": ...}."""
    try:
        with urllib.request.urlopen(f"{url}/deployment", timeout=timeout) as response:
            return json.loads(response.read().decode())
    except (urllib.error.URLError, OSError, ValueError) as error:
        return {"error": str(error)}


def send_batch(url: str, rows: pd.DataFrame, chunk: int = 50) -> list[Answer]:
    """Send `rows` in requests of `chunk` rows each, in order; one Answer per request."""
    return [predict(url, rows.iloc[start : start + chunk]) for start in range(0, len(rows), chunk)]
