"""The champion's home without an MLflow server: GitHub releases `model-v<N>`, with an
in-memory `gh` and a real sqlite registry. Module under test: gitops_ml.champion_store.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from gitops_ml.champion_store import (
    RELEASE_TAG,
    Releases,
    latest,
    next_tag,
    pull,
    push,
    rollback,
)
from gitops_ml.errors import PipelineError
from gitops_ml.registry import CHAMPION, PREVIOUS, load_version, registry_client, restore
from gitops_ml.schema import Schema
from gitops_ml.tables import split_target

from .helpers import fit_pipeline, schema_of


class FakeGh:
    """`gh release list|create|download` against releases kept in a directory."""

    def __init__(
        self,
        root: Path,
        fail: str | None = None,
        keep_notes: bool = False,
        attestation: tuple[int, str] | None = None,
    ) -> None:
        self.root = root
        self.fail = fail
        self.keep_notes = keep_notes
        self.notes: dict[str, str] = {}
        self.attestation = attestation  # (exit code, stderr) of `gh attestation verify`
        self.calls: list[list[str]] = []

    def __call__(self, args: Sequence[str]) -> subprocess.CompletedProcess[str]:
        args = list(args)
        self.calls.append(args)
        if self.fail:
            return subprocess.CompletedProcess(args, 1, "", self.fail)
        out = ""
        if args[:2] == ["attestation", "verify"] and self.attestation is not None:
            code, stderr = self.attestation
            return subprocess.CompletedProcess(args, code, "", stderr)
        if args[:2] == ["release", "list"]:
            tags = sorted(p.name for p in self.root.iterdir()) if self.root.exists() else []
            out = json.dumps([{"tagName": tag} for tag in tags])
        elif args[:2] == ["release", "create"]:
            files = args[3 : args.index("--title")]
            (self.root / args[2]).mkdir(parents=True)
            for name in files:
                shutil.copy(name, self.root / args[2])
            if self.keep_notes:
                notes = Path(args[args.index("--notes-file") + 1])
                self.notes[args[2]] = notes.read_text(encoding="utf-8")
        elif args[:2] == ["release", "download"]:
            patterns = [args[i + 1] for i, a in enumerate(args) if a == "--pattern"]
            target = Path(args[args.index("--dir") + 1])
            for asset in (self.root / args[2]).iterdir():
                if any(fnmatch.fnmatch(asset.name, p) for p in patterns):
                    shutil.copy(asset, target / asset.name)
        return subprocess.CompletedProcess(args, 0, out, "")

    def created(self) -> list[list[str]]:
        return [call for call in self.calls if call[:2] == ["release", "create"]]


@pytest.fixture
def schema(mixed_frame, params) -> Schema:
    """The column types ingest records (data/interim/schema.json): re-logged models get
    their MLflow signature from it."""
    return schema_of(mixed_frame, params)


@pytest.fixture
def champion(in_tmp_project, mixed_frame, params):
    """A trained Pipeline with its promotion files, as `make promote` leaves them."""
    model = fit_pipeline(mixed_frame, params)
    out = in_tmp_project / "release-files"
    out.mkdir()
    import joblib

    joblib.dump(model, out / "model.joblib")
    record = {
        "decision": "promoted",
        "registered_model": params.mlflow.registered_model,
        "metric": params.promote.metric,
        "candidate_metric": 0.91,
        "commit": "a" * 40,
        "data": {"test": "0123abcd"},
    }
    (out / "record.json").write_text(json.dumps(record))
    (out / "model_card.md").write_text("# Model card\n")
    return model, out


@pytest.fixture(autouse=True)
def outside_github_actions(monkeypatch):
    """No repository to verify attestations against, as on a workstation (tests opt in)."""
    monkeypatch.delenv("GITHUB_REPOSITORY", raising=False)
    monkeypatch.delenv("GH_REPO", raising=False)
    monkeypatch.delenv("ACT", raising=False)


def publish(releases: Releases, files: Path) -> str | None:
    return push(releases, files / "record.json", files / "model_card.md", files / "model.joblib")


def aliases(client, name: str) -> dict[str, str]:
    return {alias: str(v) for alias, v in client.get_registered_model(name).aliases.items()}


def test_latest_release_is_the_highest_number_and_ignores_other_tags():
    tags = ["v1.0.0", "model-v9", "model-v10", "model-v2-rc", "nightly"]
    assert latest(tags) == (10, "model-v10")
    assert next_tag(tags) == "model-v11"
    assert latest(["v1.0.0"]) is None
    assert next_tag([]) == "model-v1"


def test_push_publishes_a_promoted_model_as_the_next_release(champion, tmp_path):
    _, files = champion
    gh = FakeGh(tmp_path / "gh")
    (tmp_path / "gh" / "model-v1").mkdir(parents=True)
    tag = publish(Releases(gh), files)
    assert tag == "model-v2"
    [call] = gh.created()
    assert call[2] == "model-v2"
    assert call[call.index("--target") + 1] == "a" * 40
    assert "--latest=false" in call  # the project's own v* releases stay "Latest"
    released = tmp_path / "gh" / "model-v2"
    assert sorted(p.name for p in released.iterdir()) == [
        "model.joblib",
        "model_card.md",
        "record.json",
    ]


def test_push_records_the_sha256_of_each_asset_in_the_record_and_the_notes(champion, tmp_path):
    # Given a promoted candidate; When it is published
    _, files = champion
    gh = FakeGh(tmp_path / "gh", keep_notes=True)
    publish(Releases(gh), files)
    released = tmp_path / "gh" / "model-v1"
    # Then the record asset carries the model's and the card's digests
    record = json.loads((released / "record.json").read_text())
    assert record["sha256"] == {
        "model.joblib": digest(files / "model.joblib"),
        "model_card.md": digest(files / "model_card.md"),
    }
    assert record["decision"] == "promoted"  # the rest of the record is unchanged
    # And the release notes are the card followed by all three digests
    notes = gh.notes["model-v1"]
    assert notes.startswith("# Model card\n")
    for asset in ("model.joblib", "model_card.md", "record.json"):
        assert f"- `{asset}`: `{digest(released / asset)}`" in notes
    # And the promotion's own record file is left as `make promote` wrote it
    assert "sha256" not in json.loads((files / "record.json").read_text())


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def tamper(asset: Path) -> None:
    """Change a stored release asset after publication, as an attacker or a bad upload would."""
    asset.write_bytes(asset.read_bytes() + b"tampered")


def test_push_of_a_model_that_was_not_promoted_creates_nothing(champion, tmp_path):
    _, files = champion
    record = json.loads((files / "record.json").read_text())
    (files / "record.json").write_text(json.dumps({**record, "decision": "not promoted"}))
    gh = FakeGh(tmp_path / "gh")
    assert publish(Releases(gh), files) is None
    assert gh.calls == []


def test_pull_registers_the_latest_release_as_champion_in_an_empty_registry(
    champion, tmp_path, params, mixed_frame, schema
):
    model, files = champion
    gh = FakeGh(tmp_path / "gh")
    releases = Releases(gh)
    publish(releases, files)
    client = registry_client()  # the fixture's fresh sqlite store, like a new CI runner

    message = pull(releases, client, params, mixed_frame, schema=schema)

    assert message == [f"restored release model-v1 as '{CHAMPION}' (version 1)"]
    name = params.mlflow.registered_model
    assert aliases(client, name) == {CHAMPION: "1"}
    assert client.get_model_version(name, "1").tags[RELEASE_TAG] == "model-v1"
    features = split_target(mixed_frame, params.data.target)[0]
    restored = load_version(name, "1").predict(features)
    np.testing.assert_array_equal(restored, model.predict(features))


def test_pull_again_reuses_the_registered_version(champion, tmp_path, params, mixed_frame, schema):
    _, files = champion
    releases = Releases(FakeGh(tmp_path / "gh"))
    publish(releases, files)
    client = registry_client()
    pull(releases, client, params, mixed_frame, schema=schema)
    gh = FakeGh(tmp_path / "gh")
    message = pull(Releases(gh), client, params, mixed_frame, schema=schema)
    assert message == [f"release model-v1 is already '{CHAMPION}' (version 1)"]
    assert not [call for call in gh.calls if call[1] == "download"]


def test_pull_of_a_newer_release_keeps_the_old_champion_as_previous(
    champion, tmp_path, params, mixed_frame, schema
):
    _, files = champion
    releases = Releases(FakeGh(tmp_path / "gh"))
    publish(releases, files)
    client = registry_client()
    pull(releases, client, params, mixed_frame, schema=schema)
    publish(releases, files)
    [message] = pull(releases, client, params, mixed_frame, schema=schema)
    assert message.startswith("restored release model-v2")
    assert aliases(client, params.mlflow.registered_model) == {CHAMPION: "2", PREVIOUS: "1"}


def test_pull_without_any_release_leaves_the_registry_alone(tmp_path, params, mixed_frame, schema):
    gh = FakeGh(tmp_path / "gh")
    # None: the registry is not touched
    message = pull(Releases(gh), None, params, mixed_frame, schema=schema)
    assert message[0].startswith("no champion release (model-v<N>) yet")
    assert gh.calls == [["release", "list", "--json", "tagName", "--limit", "1000"]]


def test_gh_failures_name_the_call_and_the_cause(tmp_path, params, mixed_frame, schema):
    gh = FakeGh(tmp_path / "gh", fail="HTTP 401: Bad credentials (https://api.github.com)")
    with pytest.raises(PipelineError, match=r"gh release list failed: HTTP 401: Bad credentials"):
        pull(Releases(gh), None, params, mixed_frame, schema=schema)


def test_missing_gh_says_what_to_install(tmp_path, params, mixed_frame, schema):
    def absent(args: Sequence[str]) -> subprocess.CompletedProcess[str]:
        raise FileNotFoundError("gh")

    with pytest.raises(PipelineError, match=r"the GitHub CLI `gh` is not installed"):
        pull(Releases(absent), None, params, mixed_frame, schema=schema)


# --- rollback without a server: previous-champion restored, then a durable rollback release


def two_releases(champion, tmp_path, params, mixed_frame):
    """model-v1 = the fixture's model, model-v2 = a different model (commit b...b)."""
    model, files = champion
    root = tmp_path / "gh"
    releases = Releases(FakeGh(root))
    publish(releases, files)
    other = files.parent / "other-files"
    shutil.copytree(files, other)
    import joblib

    features, target = split_target(mixed_frame, params.data.target)
    second = joblib.load(other / "model.joblib")
    second.fit(features.head(60), target.head(60))  # fewer rows: other predictions
    joblib.dump(second, other / "model.joblib")
    record = json.loads((other / "record.json").read_text())
    (other / "record.json").write_text(json.dumps({**record, "commit": "b" * 40}))
    publish(releases, other)
    return model, second, root, features


def test_pull_restores_the_release_before_the_latest_as_previous_champion(
    champion, tmp_path, params, mixed_frame, schema
):
    # Given two releases and a fresh registry (a new CI runner)
    first, _, root, features = two_releases(champion, tmp_path, params, mixed_frame)
    client = registry_client()
    # When the champion is pulled
    [message] = pull(Releases(FakeGh(root)), client, params, mixed_frame, schema=schema)
    # Then model-v2 is `champion` and model-v1, registered first, is `previous-champion`
    assert message == (
        f"restored release model-v2 as '{CHAMPION}' (version 2), "
        f"release model-v1 as '{PREVIOUS}' (version 1)"
    )
    name = params.mlflow.registered_model
    assert aliases(client, name) == {CHAMPION: "2", PREVIOUS: "1"}
    np.testing.assert_array_equal(
        load_version(name, "1").predict(features), first.predict(features)
    )


def test_pull_of_a_requested_release_registers_it_and_names_its_version(
    champion, tmp_path, params, mixed_frame, schema
):
    _, _, root, _ = two_releases(champion, tmp_path, params, mixed_frame)
    (root / "model-v3").mkdir()
    for asset in (root / "model-v1").iterdir():
        shutil.copy(asset, root / "model-v3")
    client = registry_client()
    lines = pull(Releases(FakeGh(root)), client, params, mixed_frame, schema=schema, release=1)
    # model-v2 (previous) and model-v3 (champion) first, then the requested model-v1
    assert lines[-1] == "release model-v1 is version 3"
    assert client.get_model_version(params.mlflow.registered_model, "3").tags[RELEASE_TAG] == (
        "model-v1"
    )
    with pytest.raises(PipelineError, match="there is no release model-v9 to restore"):
        pull(Releases(FakeGh(root)), client, params, mixed_frame, schema=schema, release=9)


def test_rollback_publishes_the_restored_model_as_the_next_release(
    champion, tmp_path, params, mixed_frame, schema, monkeypatch
):
    # Given the champion pulled from two releases and moved back, as `make rollback` does
    first, _, root, features = two_releases(champion, tmp_path, params, mixed_frame)
    client = registry_client()
    gh = FakeGh(root)
    pull(Releases(gh), client, params, mixed_frame, schema=schema)
    name = params.mlflow.registered_model
    restore(client, name)
    # When the rollback is published
    said = rollback(
        Releases(gh),
        client,
        name,
        triggered_by="workflow_dispatch by alice",
        workdir=tmp_path / "w",
    )
    # Then model-v3 carries model-v1's exact model and a record of the rollback
    assert said == "model-v3 (rollback from model-v2 to model-v1)"
    published = root / "model-v3"
    assert (published / "model.joblib").read_bytes() == (
        root / "model-v1/model.joblib"
    ).read_bytes()
    record = json.loads((published / "record.json").read_text())
    assert record["decision"] == "rollback"
    assert (record["rolled_back_from"], record["restored_release"]) == ("model-v2", "model-v1")
    assert record["trigger"] == "workflow_dispatch by alice"
    assert record["commit"] == "a" * 40  # the restored model's commit, not the bad one's
    [call] = [c for c in gh.created() if c[2] == "model-v3"]
    assert call[call.index("--target") + 1] == "a" * 40
    assert "rollback from model-v2 to model-v1" in call[call.index("--title") + 1]
    assert "Decision: rollback." in (published / "model_card.md").read_text()

    # And the next runner's pull restores the rolled-back model, the bad one as previous
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'next-runner.db'}")
    fresh = registry_client()
    [message] = pull(Releases(FakeGh(root)), fresh, params, mixed_frame, schema=schema)
    assert message == (
        f"restored release model-v3 as '{CHAMPION}' (version 2), "
        f"release model-v2 as '{PREVIOUS}' (version 1)"
    )
    restored = load_version(name, "2").predict(features)
    np.testing.assert_array_equal(restored, first.predict(features))


def test_rollback_publishes_nothing_unless_the_champion_moved_back_to_a_release(
    champion, tmp_path, params, mixed_frame, schema
):
    _, _, root, _ = two_releases(champion, tmp_path, params, mixed_frame)
    client = registry_client()
    name = params.mlflow.registered_model
    gh = FakeGh(root)
    pull(Releases(gh), client, params, mixed_frame, schema=schema)
    # `champion` is still the latest release: nothing was rolled back
    with pytest.raises(PipelineError, match="still release model-v2, the latest: nothing was"):
        rollback(Releases(gh), client, name, triggered_by="x", workdir=tmp_path / "w")
    # `champion` moved to a version that came from no release (a local model, say)
    client.delete_model_version_tag(name, "1", RELEASE_TAG)
    restore(client, name)
    with pytest.raises(PipelineError, match=r"did not come from a model-v<N> release"):
        rollback(Releases(gh), client, name, triggered_by="x", workdir=tmp_path / "w")
    assert gh.created() == []


# --- byte for byte: the recorded digests and the attestation, checked before serving


def test_pull_refuses_a_tampered_release_and_the_champion_stays(
    champion, tmp_path, params, mixed_frame, schema
):
    # Given model-v1 serving as `champion`, then model-v2 published and tampered with
    first, _, root, features = two_releases(champion, tmp_path, params, mixed_frame)
    shutil.rmtree(root / "model-v2")
    client = registry_client()
    pull(Releases(FakeGh(root)), client, params, mixed_frame, schema=schema)
    _, files = champion
    publish(Releases(FakeGh(root)), files)
    recorded = json.loads((root / "model-v2/record.json").read_text())["sha256"]["model.joblib"]
    tamper(root / "model-v2/model.joblib")
    # When the next deploy pulls it
    with pytest.raises(PipelineError) as refused:
        pull(Releases(FakeGh(root)), client, params, mixed_frame, schema=schema)
    # Then it refuses with one sentence naming the release and the asset
    actual = digest(root / "model-v2/model.joblib")
    assert str(refused.value) == (
        f"release model-v2 asset model.joblib has SHA-256 {actual}, but its audit record says "
        f"{recorded}: refusing to serve it; version 1 keeps serving as '{CHAMPION}'"
    )
    # And `champion` is still model-v1's version, which still answers like model-v1
    name = params.mlflow.registered_model
    assert aliases(client, name) == {CHAMPION: "1"}
    assert [str(v.version) for v in client.search_model_versions(f"name = '{name}'")] == ["1"]
    np.testing.assert_array_equal(
        load_version(name, "1").predict(features), first.predict(features)
    )


def test_rollback_refuses_a_tampered_restored_release_and_publishes_nothing(
    champion, tmp_path, params, mixed_frame, schema
):
    _, _, root, _ = two_releases(champion, tmp_path, params, mixed_frame)
    client = registry_client()
    gh = FakeGh(root)
    pull(Releases(gh), client, params, mixed_frame, schema=schema)
    name = params.mlflow.registered_model
    restore(client, name)  # `make rollback`: champion back to model-v1's version
    tamper(root / "model-v1/model.joblib")
    with pytest.raises(
        PipelineError,
        match=r"^release model-v1 asset model.joblib has SHA-256 "
        r"[0-9a-f]{64}, but its audit record says [0-9a-f]{64}: refusing to "
        r"serve it; nothing was published \(model-v2 stays latest\)$",
    ):
        rollback(Releases(gh), client, name, triggered_by="x", workdir=tmp_path / "w")
    assert gh.created() == []


def test_a_release_from_before_digests_were_recorded_still_pulls(
    champion, tmp_path, params, mixed_frame, schema
):
    _, files = champion
    root = tmp_path / "gh"
    publish(Releases(FakeGh(root)), files)
    record = json.loads((root / "model-v1/record.json").read_text())
    del record["sha256"]
    (root / "model-v1/record.json").write_text(json.dumps(record))
    [line] = pull(Releases(FakeGh(root)), registry_client(), params, mixed_frame, schema=schema)
    assert line.startswith("restored release model-v1")


def test_on_github_the_model_attestation_is_verified_against_the_repository(
    champion, tmp_path, params, mixed_frame, schema, monkeypatch
):
    _, files = champion
    root = tmp_path / "gh"
    publish(Releases(FakeGh(root)), files)
    monkeypatch.setenv("GITHUB_REPOSITORY", "octo/churn")
    gh = FakeGh(root, attestation=(0, ""))
    [line] = pull(Releases(gh), registry_client(), params, mixed_frame, schema=schema)
    assert line.startswith("restored release model-v1")
    [verify] = [call for call in gh.calls if call[0] == "attestation"]
    assert verify[:2] == ["attestation", "verify"]
    assert verify[2].endswith("model.joblib")
    assert verify[3:] == ["--repo", "octo/churn"]


def test_a_model_without_a_valid_attestation_is_refused(
    champion, tmp_path, params, mixed_frame, schema, monkeypatch
):
    _, files = champion
    root = tmp_path / "gh"
    publish(Releases(FakeGh(root)), files)
    monkeypatch.setenv("GITHUB_REPOSITORY", "octo/churn")
    gh = FakeGh(root, attestation=(1, "Error: no attestations found for subject"))
    client = registry_client()
    with pytest.raises(
        PipelineError,
        match=r"^release model-v1 asset model.joblib has no valid "
        r"build-provenance attestation in octo/churn \(Error: no attestations "
        r"found for subject\): refusing to serve it",
    ):
        pull(Releases(gh), client, params, mixed_frame, schema=schema)
    assert client.search_model_versions(f"name = '{params.mlflow.registered_model}'") == []


@pytest.mark.parametrize(
    ("environment", "attestation", "why"),
    [
        ({"ACT": "true"}, None, "running under act (offline)"),
        ({}, (1, 'unknown command "attestation" for "gh"'), "gh could not check it"),
        ({}, (1, "dial tcp: lookup api.github.com: no such host"), "gh could not check it"),
    ],
    ids=["under-act", "old-gh", "offline"],
)
def test_an_attestation_that_cannot_be_checked_degrades_to_one_notice(
    champion, tmp_path, params, mixed_frame, schema, monkeypatch, environment, attestation, why
):
    _, files = champion
    root = tmp_path / "gh"
    publish(Releases(FakeGh(root)), files)
    monkeypatch.setenv("GITHUB_REPOSITORY", "octo/churn")
    for key, value in environment.items():
        monkeypatch.setenv(key, value)
    gh = FakeGh(root, attestation=attestation)
    restored, notice = pull(Releases(gh), registry_client(), params, mixed_frame, schema=schema)
    assert restored.startswith("restored release model-v1")
    assert notice.startswith(
        f"release model-v1: the model's build-provenance attestation was not verified: {why}"
    )
    assert notice.endswith("(its SHA-256 matched the audit record)")
