"""Keep the champion across CI runs without an MLflow server: GitHub releases `model-v<N>`.

A CI runner's sqlite registry disappears with the job. Without `MLFLOW_TRACKING_URI`, every
promotion is therefore also published as a GitHub release `model-v<N>` on the promoted
commit, carrying the champion's `model.joblib`, the audit record (`record.json`) and the
model card (`model_card.md`, also the release notes). Before the next gate or deployment,
`pull` finds the highest N, downloads the model and registers it in the fresh registry as
`champion` (and release N-1 as `previous-champion`, so a rollback has something to restore),
so the candidate is compared with it on the same held-out rows, exactly as with a server or
with a local `mlflow.db` that kept its history.

A rollback moves `champion` back in the runner's registry (`make rollback`); `rollback` then
makes it durable: release `model-v<N+1>` carries the restored model and a record whose
decision is `rollback` (from which release to which, and who triggered it), so the next pull
and the next gate see the restored champion. Without a server, the version a user names
(`pull --release N`) is the release number N: registry versions only live as long as the job.
Only the `gh` CLI and a token that may write releases are needed: no cloud account.

Deploy only what was promoted, byte for byte: every release's audit record (`record.json`,
field `sha256`) and its notes carry the SHA-256 of each asset, and whatever downloads a
release (`pull`, `rollback`) compares the downloaded model with the recorded digest before
the registry can serve it; a mismatch refuses with one sentence naming the release and the
asset, and `champion` stays where it was. On GitHub, the workflow that publishes a release
also attests the model's build provenance; where `gh attestation verify` is available and
`GITHUB_REPOSITORY` (or `GH_REPO`) names the repository, the downloaded model must verify
too, otherwise one notice says why it was not verified (an older `gh`, no network, act).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import subprocess
import tempfile
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd

from .errors import PipelineError, run
from .params import LibraryParams, load_params
from .promote import relog, trigger
from .registry import CHAMPION, PREVIOUS, alias_version, ensure_registered, move_champion
from .schema import Schema, SchemaError, load_schema, read_frame
from .tables import split_target

TAG = re.compile(r"^model-v(\d+)$")
RELEASE_TAG = "champion_store.release"  # model version tag: the release it came from
MODEL_ASSET = "model.joblib"
RECORD_ASSET = "record.json"
CARD_ASSET = "model_card.md"
ROLLBACK = "rollback"  # the decision of a release that restores an earlier champion
DIGESTS = "sha256"  # record field: {asset name: SHA-256 hex digest} of the other assets
NOTES_ASSET = "release_notes.md"  # not an asset: the release text (the card plus the digests)

GhRunner = Callable[[Sequence[str]], "subprocess.CompletedProcess[str]"]


def run_gh(args: Sequence[str]) -> subprocess.CompletedProcess[str]:
    """Run ``gh <args>``, capturing stdout and stderr as text; a failure is not raised.

    Raises:
        FileNotFoundError: the ``gh`` CLI is not installed.
    """
    return subprocess.run(["gh", *args], capture_output=True, text=True)


def latest(tags: Sequence[str]) -> tuple[int, str] | None:
    """The champion release with the highest number, or None when there is none."""
    numbered = [(int(match[1]), tag) for tag in tags if (match := TAG.match(tag))]
    return max(numbered, default=None)


def next_tag(tags: Sequence[str]) -> str:
    """The tag of the next champion release: ``model-v<N+1>``, or ``model-v1`` for the first."""
    found = latest(tags)
    return f"model-v{1 if found is None else found[0] + 1}"


class Releases:
    """The few `gh release` calls the store needs; `runner` is replaced in tests."""

    def __init__(self, runner: GhRunner = run_gh) -> None:
        """Use ``runner(args)`` to run ``gh`` (default :func:`run_gh`)."""
        self.runner = runner
        self.notices: list[str] = []  # what could not be checked, one sentence each

    def call(self, *args: str) -> str:
        """The stdout of ``gh <args>``.

        Raises:
            PipelineError: ``gh`` is not installed, or exits non-zero (its last stderr line
                is quoted).
        """
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
        """The tags of the repository's releases (at most 1,000), as ``gh`` lists them.

        Raises:
            PipelineError: ``gh`` fails (see :meth:`call`).
        """
        answer = self.call("release", "list", "--json", "tagName", "--limit", "1000")
        return [release["tagName"] for release in json.loads(answer or "[]")]

    def download(self, tag: str, directory: Path) -> None:
        """Download release ``tag``'s model and record assets into ``directory`` (overwriting).

        Raises:
            PipelineError: ``gh`` fails, e.g. the release does not exist.
        """
        patterns = [arg for asset in (MODEL_ASSET, RECORD_ASSET) for arg in ("--pattern", asset)]
        self.call("release", "download", tag, *patterns, "--dir", str(directory), "--clobber")

    def create(
        self, tag: str, files: Sequence[Path], *, title: str, notes: Path, target: str | None
    ) -> None:
        """Create release ``tag`` with ``files`` as assets and ``notes`` as its text.

        The release is never marked latest; ``target`` is the commit to tag (None: the
        default branch).

        Raises:
            PipelineError: ``gh`` fails, e.g. the tag exists or the token may not write.
        """
        args = ["release", "create", tag, *map(str, files), "--title", title]
        args += ["--notes-file", str(notes), "--latest=false"]
        if target:
            args += ["--target", target]
        self.call(*args)

    def verify_attestation(self, tag: str, model: Path) -> None:
        """Check ``model``'s build-provenance attestation with ``gh attestation verify``.

        Skipped silently without a repository to verify against (``GITHUB_REPOSITORY``
        or ``GH_REPO`` unset, as on a workstation: the SHA-256 check still ran); skipped
        with a notice (in :attr:`notices`) under act (``ACT`` set: offline, and its ``gh``
        stand-in cannot verify), or when ``gh`` is missing, lacks the command or cannot
        reach GitHub.

        Raises:
            PipelineError: ``gh`` ran the check and the model has no valid attestation.
        """
        repository = os.environ.get("GITHUB_REPOSITORY") or os.environ.get("GH_REPO", "")
        if not repository:
            return
        skipped = "running under act (offline)" if os.environ.get("ACT") else None
        if skipped is None:
            try:
                result = self.runner(["attestation", "verify", str(model), "--repo", repository])
            except FileNotFoundError:
                result = None
                skipped = "the GitHub CLI `gh` is not installed"
            if result is not None and result.returncode != 0:
                said = (result.stderr or result.stdout).strip()
                last = said.splitlines()[-1] if said else f"exit code {result.returncode}"
                if re.search(r"unknown command|dial tcp|no such host|timeout|connection", said):
                    skipped = f"gh could not check it ({last})"
                else:
                    raise PipelineError(
                        f"release {tag} asset {MODEL_ASSET} has no valid build-provenance "
                        f"attestation in {repository} ({last}): refusing to serve it"
                    )
        if skipped is not None:
            self.notices.append(
                f"release {tag}: the model's build-provenance attestation was not verified: "
                f"{skipped} (its SHA-256 matched the audit record)"
            )


def sha256(path: Path) -> str:
    """The SHA-256 hex digest of the file at ``path``."""
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_digests(tag: str, directory: Path, record: dict[str, Any], keeps: str) -> None:
    """Refuse a downloaded release whose assets differ from its audit record's digests.

    ``keeps`` ends the refusal: what stays serving (e.g. "version 2 keeps serving"). A
    release published before digests were recorded (no ``sha256`` field) passes unchecked.

    Raises:
        PipelineError: an asset in ``directory`` has another SHA-256 than the record says.
    """
    for asset, expected in sorted((record.get(DIGESTS) or {}).items()):
        path = directory / asset
        if not path.is_file():
            continue  # only the assets that were downloaded are served
        actual = sha256(path)
        if actual != expected:
            raise PipelineError(
                f"release {tag} asset {asset} has SHA-256 {actual}, but its audit record says "
                f"{expected}: refusing to serve it; {keeps}"
            )


def release_notes(card: Path, digests: dict[str, str], record_digest: str) -> str:
    """The release text: the model card, then every asset's SHA-256."""
    lines = [card.read_text(encoding="utf-8").rstrip(), "", "## Asset digests (SHA-256)", ""]
    lines += [f"- `{asset}`: `{digest}`" for asset, digest in sorted(digests.items())]
    lines.append(f"- `{RECORD_ASSET}`: `{record_digest}`")
    return "\n".join(lines) + "\n"


def publish(
    releases: Releases,
    tag: str,
    record: dict[str, Any],
    model: Path,
    card: Path,
    *,
    title: str,
    staging: Path,
) -> None:
    """Create release ``tag``: the model, the card and ``record`` plus the assets' digests.

    The record asset gets field ``sha256`` (model and card); the release notes are the card
    followed by all three digests.
    """
    digests = {model.name: sha256(model), card.name: sha256(card)}
    staging.mkdir(parents=True, exist_ok=True)
    record_file = staging / RECORD_ASSET
    record_file.write_text(json.dumps({**record, DIGESTS: digests}, indent=2) + "\n", "utf-8")
    notes = staging / NOTES_ASSET
    notes.write_text(release_notes(card, digests, sha256(record_file)), encoding="utf-8")
    commit = str(record.get("commit") or "")
    releases.create(
        tag,
        [model, record_file, card],
        title=title,
        notes=notes,
        target=commit if re.fullmatch(r"[0-9a-f]{40}", commit) else None,
    )


def serving_now(current: str | None) -> str:
    """The end of a refusal: the registry's champion that stays (or that nothing moved)."""
    if current is None:
        return "nothing was switched"
    return f"version {current} keeps serving as '{CHAMPION}'"


def release_tag(number: int | str) -> str:
    """The tag of champion release ``number``: ``model-v<number>``."""
    return f"model-v{number}"


def register(
    releases: Releases,
    client: Any,
    params: LibraryParams,
    test: pd.DataFrame,
    tag: str,
    *,
    schema: Schema,
    load_model: Callable[[Path], Any] | None = None,
    keeps: str = "nothing was switched",
) -> str:
    """The registry version holding release ``tag``'s model.

    A version that already came from it (tag ``champion_store.release``) is reused;
    otherwise the model is downloaded, checked against the SHA-256 its audit record
    recorded (and its attestation, see :meth:`Releases.verify_attestation`), re-logged
    (its signature from the ingest ``schema``, its input example from the first 5 rows of
    ``test``, its record's feature spec) and registered, tagged with the release and the
    promotion commit of its record. ``keeps`` ends a refusal (see :func:`check_digests`).

    Raises:
        PipelineError: ``gh`` fails, the release has no model.joblib asset, or the model
            differs from its recorded digest or fails attestation.
        mlflow.exceptions.MlflowException: the registry refuses a call.
    """
    name = params.mlflow.registered_model
    for found in client.search_model_versions(f"name = '{name}'"):
        if client.get_model_version(name, found.version).tags.get(RELEASE_TAG) == tag:
            return str(found.version)
    with tempfile.TemporaryDirectory() as scratch:
        releases.download(tag, Path(scratch))
        model_file = Path(scratch) / MODEL_ASSET
        if not model_file.is_file():
            raise PipelineError(f"release {tag} has no {MODEL_ASSET} asset")
        record_file = Path(scratch) / RECORD_ASSET
        record = (
            json.loads(record_file.read_text(encoding="utf-8")) if record_file.is_file() else {}
        )
        check_digests(tag, Path(scratch), record, keeps)
        releases.verify_attestation(tag, model_file)
        model = (load_model or _joblib_load)(model_file)
    example = split_target(test.head(5), params.data.target)[0]
    run_info = relog(
        model, example, params, dict(record.get("data") or {}), schema, record.get("feature_store")
    )
    created = client.create_model_version(name, run_info["model_uri"], run_id=run_info["run_id"])
    version = str(created.version)
    client.set_model_version_tag(name, version, RELEASE_TAG, tag)
    if record.get("commit"):
        client.set_model_version_tag(name, version, "promotion.commit", record["commit"])
    return version


def pull(
    releases: Releases,
    client: Any,
    params: LibraryParams,
    test: pd.DataFrame,
    *,
    schema: Schema,
    release: int | None = None,
    load_model: Callable[[Path], Any] | None = None,
) -> list[str]:
    """Make the latest ``model-v<N>`` release the registry's ``champion``.

    The release before it becomes ``previous-champion``; with ``release``, that release is
    registered too. ``test`` (held-out rows read with the ingest ``schema``) gives the
    re-logged models their input example.

    Returns:
        What happened, one line each (the requested release's line ends with "is version
        <registry version>"); one line saying there is no release yet when there is none.

    Raises:
        PipelineError: ``release`` does not exist, ``gh`` fails, a release has no model,
            the registry fails, or ``champion`` moved concurrently.
    """
    from mlflow.exceptions import MlflowException

    tags = releases.tags()
    found = latest(tags)
    if release is not None and release_tag(release) not in tags:
        raise PipelineError(f"there is no release {release_tag(release)} to restore")
    if found is None:
        return ["no champion release (model-v<N>) yet: the candidate is judged against the floor"]
    number, tag = found
    previous_tag = max(
        (tag_ for tag_ in tags if (m := TAG.match(tag_)) and int(m[1]) < number),
        key=lambda tag_: int(tag_.removeprefix("model-v")),
        default=None,
    )
    name = params.mlflow.registered_model
    try:
        ensure_registered(client, name)
        current = alias_version(client, name, CHAMPION)
        keeps = serving_now(current)
        previous = None
        if previous_tag is not None:
            previous = register(
                releases,
                client,
                params,
                test,
                previous_tag,
                schema=schema,
                load_model=load_model,
                keeps=keeps,
            )
        version = register(
            releases, client, params, test, tag, schema=schema, load_model=load_model, keeps=keeps
        )
        if current == version:
            lines = [f"release {tag} is already '{CHAMPION}' (version {version})"]
        else:
            move_champion(client, name, version, current)
            lines = [f"restored release {tag} as '{CHAMPION}' (version {version})"]
        if previous is not None:
            if alias_version(client, name, PREVIOUS) != previous:
                client.set_registered_model_alias(name, PREVIOUS, previous)
            lines[0] += f", release {previous_tag} as '{PREVIOUS}' (version {previous})"
        if release is not None:
            wanted = release_tag(release)
            known = {tag: version, previous_tag: previous}
            number_of = known.get(wanted) or register(
                releases,
                client,
                params,
                test,
                wanted,
                schema=schema,
                load_model=load_model,
                keeps=keeps,
            )
            lines.append(f"release {wanted} is version {number_of}")
    except MlflowException as exc:
        raise PipelineError(
            f"could not register release {tag} as '{CHAMPION}' ({exc.error_code}): {exc.message}"
        ) from None
    return lines + releases.notices


def _joblib_load(path: Path) -> Any:
    import joblib

    return joblib.load(path)


def push(releases: Releases, record_path: Path, card_path: Path, model_path: Path) -> str | None:
    """Publish a promoted candidate as release `model-v<N+1>`; None when it was not promoted.

    The assets are the model, the record (plus field ``sha256``: the model's and the card's
    digests) and the model card; the notes are the card followed by the three digests. The
    release tags the record's commit when it is a full SHA.

    Returns:
        The new tag, or None when the record's decision is not "promoted".

    Raises:
        PipelineError: the model or record is missing or misnamed, or ``gh`` fails.
        KeyError: the record lacks ``decision`` (or, when promoted, a field of the title).
    """
    record = json.loads(record_path.read_text(encoding="utf-8"))
    if record["decision"] != "promoted":
        return None
    for path, asset in ((model_path, MODEL_ASSET), (record_path, RECORD_ASSET)):
        if path.name != asset or not path.is_file():
            raise PipelineError(f"{path} must be an existing file named {asset}")
    tag = next_tag(releases.tags())
    title = (
        f"{record['registered_model']} {tag}: {record['metric']} {record['candidate_metric']:.4f}"
    )
    with tempfile.TemporaryDirectory() as staging:
        publish(releases, tag, record, model_path, card_path, title=title, staging=Path(staging))
    return tag


def rollback(
    releases: Releases, client: Any, name: str, *, triggered_by: str, workdir: Path
) -> str:
    """Publish the registry's `champion`, moved back by `make rollback`, as the next release.

    The restored model is the asset of the release it came from (byte for byte); the new
    record's decision is `rollback`, from the latest release to that one.

    Returns:
        ``"<new tag> (rollback from <latest> to <restored>)"``.

    Raises:
        PipelineError: there is no release, no ``champion``, a ``champion`` that came from no
            release or is still the latest, a release without a model, or ``gh`` fails.
    """
    tags = releases.tags()
    found = latest(tags)
    if found is None:
        raise PipelineError("there is no champion release (model-v<N>) to roll back from")
    current = alias_version(client, name, CHAMPION)
    if current is None:
        raise PipelineError(f"model '{name}' has no '{CHAMPION}' alias: run 'make champion-pull'")
    restored = client.get_model_version(name, current).tags.get(RELEASE_TAG)
    if restored is None:
        raise PipelineError(
            f"'{CHAMPION}' (version {current}) did not come from a model-v<N> release: "
            "restore one with 'make champion-pull' and 'make rollback' first"
        )
    if restored == found[1]:
        raise PipelineError(
            f"'{CHAMPION}' is still release {restored}, the latest: nothing was rolled back"
        )
    assets = workdir / "assets"
    assets.mkdir(parents=True, exist_ok=True)
    releases.download(restored, assets)
    model = assets / MODEL_ASSET
    if not model.is_file():
        raise PipelineError(f"release {restored} has no {MODEL_ASSET} asset")
    record_file = assets / RECORD_ASSET
    earlier = json.loads(record_file.read_text(encoding="utf-8")) if record_file.is_file() else {}
    check_digests(restored, assets, earlier, f"nothing was published ({found[1]} stays latest)")
    releases.verify_attestation(restored, model)
    tag = next_tag(tags)
    reason = f"rollback from {found[1]} to {restored}"
    record = {
        "decision": ROLLBACK,
        "reason": f"{reason}, {triggered_by}",
        "registered_model": name,
        "rolled_back_from": found[1],
        "restored_release": restored,
        "trigger": triggered_by,
        # the restored model's lineage, so the next pull tags it like the original
        "commit": earlier.get("commit", ""),
        "data": earlier.get("data") or {},
        "metric": earlier.get("metric"),
        "candidate_metric": earlier.get("candidate_metric"),
        "restored_record": {key: value for key, value in earlier.items() if key != DIGESTS},
        "time": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    files = workdir / "release"
    files.mkdir(parents=True, exist_ok=True)
    (files / MODEL_ASSET).write_bytes(model.read_bytes())
    card = files / CARD_ASSET
    card.write_text(
        f"# Rollback: {name} {tag}\n\n"
        f"**Decision: {ROLLBACK}.** The champion moved back from release `{found[1]}` to "
        f"`{restored}` ({triggered_by}). This release carries the model of `{restored}`.\n\n"
        f"- Restored model's promotion: {earlier.get('reason', 'unknown')}\n"
        f"- Restored model's commit: `{earlier.get('commit', 'unknown')}`\n"
        f"- Time: {record['time']}\n",
        encoding="utf-8",
    )
    publish(
        releases,
        tag,
        record,
        files / MODEL_ASSET,
        card,
        title=f"{name} {tag}: {reason}",
        staging=workdir / "staged",
    )
    return f"{tag} ({reason})"


def main(argv: Sequence[str] | None = None) -> None:
    """``gitops-ml champion pull|push|rollback``: parse ``argv`` and run the sub-command.

    Raises:
        SystemExit: 2 on a wrong command line (argparse).
        ParamsError: params.yaml is missing or invalid.
        PipelineError: an input file is missing or unreadable, or the sub-command fails
            (see :func:`pull`, :func:`push`, :func:`rollback`).
    """
    parser = argparse.ArgumentParser(description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    pull_parser = commands.add_parser("pull", help="latest release -> registry 'champion'")
    pull_parser.add_argument("--test", type=Path, required=True, help="held-out rows")
    pull_parser.add_argument(
        "--schema", type=Path, required=True, help="column types (ingest's schema file)"
    )
    pull_parser.add_argument(
        "--release", type=int, default=None, help="also register release model-v<N>"
    )
    push_parser = commands.add_parser("push", help="promoted candidate -> new release")
    push_parser.add_argument("--record", type=Path, required=True)
    push_parser.add_argument("--card", type=Path, required=True)
    push_parser.add_argument("--model", type=Path, required=True)
    commands.add_parser("rollback", help="registry 'champion' moved back -> new release")
    args = parser.parse_args(argv)

    from .registry import registry_client

    releases = Releases()
    if args.command == "pull":
        if not args.test.exists():
            raise PipelineError(f"{args.test} not found: run 'make repro' first")
        try:
            schema = load_schema(args.schema)
            test = read_frame(args.test, schema)
        except SchemaError as exc:
            raise PipelineError(str(exc)) from None
        lines = pull(
            releases, registry_client(), load_params(), test, schema=schema, release=args.release
        )
        for line in lines:
            print(f"champion-store: {line}")
        return
    if args.command == "rollback":
        from mlflow.exceptions import MlflowException

        name = load_params().mlflow.registered_model
        try:
            with tempfile.TemporaryDirectory() as scratch:
                said = rollback(
                    releases, registry_client(), name, triggered_by=trigger(), workdir=Path(scratch)
                )
        except MlflowException as exc:
            raise PipelineError(
                f"could not read '{CHAMPION}' ({exc.error_code}): {exc.message}"
            ) from None
        for notice in releases.notices:
            print(f"champion-store: {notice}")
        print(f"champion-store: published release {said}")
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
