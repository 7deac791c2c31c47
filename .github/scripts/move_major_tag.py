"""Move the major-version tag (v1) to the commit of a release tag (v1.4.2) through the GitHub API.

Used by .github/workflows/release.yml. `major_tag()` is pure and unit-tested; the API calls go
through the `gh` CLI with the job's token (GH_TOKEN), so no credentials are written to disk.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable, Sequence

RELEASE = re.compile(r"^v(?P<major>[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$")


class ReleaseError(ValueError):
    pass


def major_tag(release_tag: str) -> str:
    """'v1.4.2' -> 'v1'; anything but a final vX.Y.Z release is refused."""
    match = RELEASE.match(release_tag)
    if not match:
        raise ReleaseError(
            f"release tag {release_tag!r} is not vMAJOR.MINOR.PATCH (for example v1.4.2): "
            "the major tag was not moved"
        )
    return f"v{match['major']}"


def commands(repository: str, release_tag: str, sha: str, exists: bool) -> list[str]:
    major = major_tag(release_tag)
    if exists:
        return [
            "gh",
            "api",
            "--method",
            "PATCH",
            f"repos/{repository}/git/refs/tags/{major}",
            "-f",
            f"sha={sha}",
            "-F",
            "force=true",
        ]
    return [
        "gh",
        "api",
        "--method",
        "POST",
        f"repos/{repository}/git/refs",
        "-f",
        f"ref=refs/tags/{major}",
        "-f",
        f"sha={sha}",
    ]


def _gh(args: Sequence[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), capture_output=True, text=True, check=False)


def main(env: dict[str, str] | None = None, gh: Callable = _gh) -> int:
    env = dict(os.environ) if env is None else env
    tag, repository = env.get("RELEASE_TAG", ""), env.get("REPOSITORY", "")
    try:
        major = major_tag(tag)
    except ReleaseError as exc:
        print(f"::error title=release::{exc}")
        return 1
    commit = gh(["gh", "api", f"repos/{repository}/commits/{tag}", "--jq", ".sha"])
    sha = commit.stdout.strip()
    if commit.returncode != 0 or not re.fullmatch(r"[0-9a-f]{40}", sha):
        print(f"::error title=release::cannot resolve {tag} to a commit: {commit.stderr.strip()}")
        return 1
    exists = gh(["gh", "api", f"repos/{repository}/git/ref/tags/{major}"]).returncode == 0
    moved = gh(commands(repository, tag, sha, exists))
    if moved.returncode != 0:
        print(f"::error title=release::could not move {major}: {moved.stderr.strip()}")
        return 1
    print(f"{major} now points at {tag} ({sha})")
    summary = env.get("GITHUB_STEP_SUMMARY")
    if summary:
        with open(summary, "a", encoding="utf-8") as handle:  # noqa: PTH123
            handle.write(f"`{major}` now points at `{tag}` (`{sha}`).\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
