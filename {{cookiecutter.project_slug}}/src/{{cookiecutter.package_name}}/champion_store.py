"""Keep the champion across CI runs without an MLflow server: GitHub releases `model-v<N>`.

A CI runner's sqlite registry disappears with the job. Without `MLFLOW_TRACKING_URI`, every
promotion is therefore also published as a GitHub release `model-v<N>` on the promoted
commit, carrying the champion's `model.joblib`, the audit record (`record.json`) and the
model card (`model_card.md`, also the release notes). Before the next gate, `pull` finds the
highest N, downloads the model and registers it in the fresh registry as `champion`, so the
candidate is compared with it on the same held-out rows, exactly as with a server or with a
local `mlflow.db` that kept its history. Only the `gh` CLI and a token that may write
releases are needed: no cloud account.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from .cli import PipelineError, run
from .config import Params, load_params
from .data import split_target
from .promote import CHAMPION, alias_version, ensure_registered, move_champion, relog

TAG = re.compile(r"^model-v(\d+)$")
RELEASE_TAG = "champion_store.release"  # model version tag: the release it came from
MODEL_ASSET = "model.joblib"
RECORD_ASSET = "record.json"

GhRunner = Callable[[Sequence[str]], "subprocess.CompletedProcess[str]"]


def run_gh(args: Sequence[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["gh", *args], capture_output=True, text=True)


def latest(tags: Sequence[str]) -> tuple[int, str] | None:
    """The champion release with the highest number, or None when there is none."""
    numbered = [(int(match[1]), tag) for tag in tags if (match := TAG.match(tag))]
    return max(numbered, default=None)


def next_tag(tags: Sequence[str]) -> str:
    found = latest(tags)
    return f"model-v{1 if found is None else found[0] + 1}"


class Releases:
    """The few `gh release` calls the store needs; `runner` is replaced in tests."""

    def __init__(self, runner: GhRunner = run_gh) -> None:
        self.runner = runner

    def call(self, *args: str) -> str:
        try:
            result = self.runner(list(args))
        except FileNotFoundError:
            raise PipelineError(
                "the GitHub CLI `gh` is not installed (https://cli.github.com); it keeps the "
                "champion in GitHub releases when no MLflow server is configured"
            ) from None
        if result.returncode != 0:
            lines = result.stderr.strip().splitlines() or [f"exit code {result.returncode}"]
            raise PipelineError(f"gh {' '.join(args[:2])} failed: {lines[-1]}")
        return result.stdout

    def tags(self) -> list[str]:
        answer = self.call("release", "list", "--json", "tagName", "--limit", "1000")
        return [release["tagName"] for release in json.loads(answer or "[]")]

    def download(self, tag: str, directory: Path) -> None:
        patterns = [arg for asset in (MODEL_ASSET, RECORD_ASSET) for arg in ("--pattern", asset)]
        self.call("release", "download", tag, *patterns, "--dir", str(directory), "--clobber")

    def create(
        self, tag: str, files: Sequence[Path], *, title: str, notes: Path, target: str | None
    ) -> None:
        args = ["release", "create", tag, *map(str, files), "--title", title]
        args += ["--notes-file", str(notes), "--latest=false"]
        if target:
            args += ["--target", target]
        self.call(*args)


def pull(
    releases: Releases,
    client: Any,
    params: Params,
    test: pd.DataFrame,
    *,
    load_model: Callable[[Path], Any] | None = None,
) -> str:
    """Make the latest `model-v<N>` release the registry's `champion`; returns what happened."""
    from mlflow.exceptions import MlflowException

    found = latest(releases.tags())
    if found is None:
        return "no champion release (model-v<N>) yet: the candidate is judged against the floor"
    tag = found[1]
    name = params.mlflow.registered_model
    try:
        ensure_registered(client, name)
        current = alias_version(client, name, CHAMPION)
        version = next(
            (
                str(v.version)
                for v in client.search_model_versions(f"name = '{name}'")
                if client.get_model_version(name, v.version).tags.get(RELEASE_TAG) == tag
            ),
            None,
        )
        if version is None:
            with tempfile.TemporaryDirectory() as scratch:
                releases.download(tag, Path(scratch))
                model_file = Path(scratch) / MODEL_ASSET
                if not model_file.is_file():
                    raise PipelineError(f"release {tag} has no {MODEL_ASSET} asset")
                record_file = Path(scratch) / RECORD_ASSET
                record = (
                    json.loads(record_file.read_text(encoding="utf-8"))
                    if record_file.is_file()
                    else {}
                )
                model = (load_model or _joblib_load)(model_file)
            example = split_target(test.head(5), params.data.target)[0]
            run_info = relog(model, example, params, dict(record.get("data") or {}))
            created = client.create_model_version(
                name, run_info["model_uri"], run_id=run_info["run_id"]
            )
            version = str(created.version)
            client.set_model_version_tag(name, version, RELEASE_TAG, tag)
            if record.get("commit"):
                client.set_model_version_tag(name, version, "promotion.commit", record["commit"])
        if current == version:
            return f"release {tag} is already '{CHAMPION}' (version {version})"
        move_champion(client, name, version, current)
    except MlflowException as exc:
        raise PipelineError(
            f"could not register release {tag} as '{CHAMPION}' ({exc.error_code}): {exc.message}"
        ) from None
    return f"restored release {tag} as '{CHAMPION}' (version {version})"


def _joblib_load(path: Path) -> Any:
    import joblib

    return joblib.load(path)


def push(releases: Releases, record_path: Path, card_path: Path, model_path: Path) -> str | None:
    """Publish a promoted candidate as release `model-v<N+1>`; None when it was not promoted."""
    record = json.loads(record_path.read_text(encoding="utf-8"))
    if record["decision"] != "promoted":
        return None
    for path, asset in ((model_path, MODEL_ASSET), (record_path, RECORD_ASSET)):
        if path.name != asset or not path.is_file():
            raise PipelineError(f"{path} must be an existing file named {asset}")
    tag = next_tag(releases.tags())
    commit = record.get("commit", "")
    releases.create(
        tag,
        [model_path, record_path, card_path],
        title=f"{record['registered_model']} {tag}: {record['metric']} "
        f"{record['candidate_metric']:.4f}",
        notes=card_path,
        target=commit if re.fullmatch(r"[0-9a-f]{40}", commit) else None,
    )
    return tag


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    pull_parser = commands.add_parser("pull", help="latest release -> registry 'champion'")
    pull_parser.add_argument("--test", type=Path, required=True, help="held-out rows")
    push_parser = commands.add_parser("push", help="promoted candidate -> new release")
    push_parser.add_argument("--record", type=Path, required=True)
    push_parser.add_argument("--card", type=Path, required=True)
    push_parser.add_argument("--model", type=Path, required=True)
    args = parser.parse_args(argv)

    releases = Releases()
    if args.command == "pull":
        from .promote import registry_client

        if not args.test.exists():
            raise PipelineError(f"{args.test} not found: run 'make repro' first")
        message = pull(releases, registry_client(), load_params(), pd.read_csv(args.test))
        print(f"champion-store: {message}")
        return
    if not args.record.exists():
        raise PipelineError(f"{args.record} not found: run 'make promote' first")
    tag = push(releases, args.record, args.card, args.model)
    if tag is None:
        print("champion-store: not promoted, no release")
    else:
        print(f"champion-store: published release {tag}")


if __name__ == "__main__":
    run(main)
