"""Recording stand-in for the `cml` and `gh` CLIs (offline runs; see harness/README.md).

Appends one JSON line per call to $ACT_RECORD_DIR/<tool>.jsonl: argv, cwd and the Markdown
the call would have posted (`cml comment create|update FILE`, `gh ... -F body=@FILE`).
$ACT_FAKE_<TOOL>_EXIT makes the call fail with that exit code (to test failure handling);
$ACT_FAKE_<TOOL>_STDOUT is printed as the call's answer (for example a commit SHA for gh).

With $ACT_GH_STATE_DIR set, gh keeps real state there, so a later run sees what an earlier
one did: `gh release create|list|download` (one directory per release holding its assets)
and `gh issue list|create|edit|comment`, `gh pr create`, `gh label create`, `gh auth
setup-git` (issues and pull requests in `github.json`; an unsupported issue/pr call fails),
and `gh api` on pull-request comments: list (answering a `--jq` that selects bodies containing
a marker with the matching ids), POST and PATCH (in `comments.json`), as the report's sticky
comment uses them. Without it they only record, as every other call does.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import shutil
import sys
from pathlib import Path

VALUE_FLAGS = {"--title", "-t", "--notes-file", "-F", "--notes", "-n", "--target", "--repo", "-R"}


def posted_markdown(tool: str, args: list[str]) -> str | None:
    path = None
    if tool == "cml" and args[:1] == ["comment"] and len(args) > 2:
        path = args[2]
    if tool == "gh":
        path = next((a.removeprefix("body=@") for a in args if a.startswith("body=@")), None)
    if path and Path(path).is_file():
        return Path(path).read_text(encoding="utf-8")
    return None


def options(args: list[str]) -> tuple[list[str], dict[str, list[str]]]:
    """Positional arguments and flag values (repeatable flags keep every value)."""
    positional, flags, rest = [], {}, iter(args)
    for arg in rest:
        if arg in VALUE_FLAGS or arg in (
            "--pattern",
            "-p",
            "--dir",
            "-D",
            "--json",
            "--limit",
            "-L",
        ):
            flags.setdefault(arg, []).append(next(rest, ""))
        elif arg.startswith("-"):
            flags.setdefault(arg.split("=")[0], []).append(arg.partition("=")[2])
        else:
            positional.append(arg)
    return positional, flags


def release(state: Path, args: list[str]) -> int:
    """`gh release create|list|download`, served from directories under `state`."""
    releases = state / "releases"
    releases.mkdir(parents=True, exist_ok=True)
    positional, flags = options(args[1:])
    if args[0] == "list":
        tags = sorted(p.name for p in releases.iterdir())
        print(json.dumps([{"tagName": tag} for tag in tags]))
        return 0
    tag = positional[0] if positional else ""
    where = releases / tag
    if args[0] == "create":
        if not tag or where.exists():
            print("a release with the same tag name already exists: " + tag, file=sys.stderr)
            return 1
        where.mkdir()
        for name in positional[1:]:
            shutil.copy(name.split("#")[0], where)
        print(f"https://github.com/acme/project/releases/tag/{tag}")
        return 0
    if args[0] == "download":
        if not tag or not where.is_dir():
            print(f"release not found: {tag}", file=sys.stderr)
            return 1
        target = Path((flags.get("--dir") or flags.get("-D") or ["."])[-1])
        target.mkdir(parents=True, exist_ok=True)
        patterns = flags.get("--pattern", []) + flags.get("-p", []) or ["*"]
        for asset in where.iterdir():
            if any(fnmatch.fnmatch(asset.name, p) for p in patterns):
                shutil.copy(asset, target / asset.name)
        return 0
    return 0


def option(args: list[str], name: str) -> str | None:
    return args[args.index(name) + 1] if name in args else None


def github(state: Path, args: list[str]) -> int:
    """Issues, pull requests and labels, kept in `state/github.json` (GitHub's answers)."""
    path = state / "github.json"
    data = json.loads(path.read_text()) if path.exists() else {"issues": [], "prs": []}
    repo = os.environ.get("GH_REPO", "acme/project")
    verb = args[:2]
    if verb == ["issue", "list"]:
        label = option(args, "--label")
        issues = [
            {"number": issue["number"], "title": issue["title"]}
            for issue in data["issues"]
            if issue["state"] == "open" and label in issue["labels"]
        ]
        print(json.dumps(issues))
    elif verb in (["issue", "create"], ["pr", "create"]):
        number = 100 + len(data["issues"]) + len(data["prs"])
        if verb[0] == "issue":
            data["issues"].append(
                {
                    "number": number,
                    "title": option(args, "--title"),
                    "state": "open",
                    "labels": [option(args, "--label")],
                    "body": Path(option(args, "--body-file")).read_text(encoding="utf-8"),
                    "comments": [],
                }
            )
            print(f"https://github.com/{repo}/issues/{number}")
        else:
            data["prs"].append(
                {
                    "number": number,
                    "title": option(args, "--title"),
                    "head": option(args, "--head"),
                    "base": option(args, "--base"),
                }
            )
            print(f"https://github.com/{repo}/pull/{number}")
    elif verb in (["issue", "edit"], ["issue", "comment"]):
        issue = next(i for i in data["issues"] if i["number"] == int(args[2]))
        if verb[1] == "edit":
            issue["body"] = Path(option(args, "--body-file")).read_text(encoding="utf-8")
        else:
            issue["comments"].append(option(args, "--body"))
    elif verb not in (["label", "create"], ["auth", "setup-git"]):
        print(f"gh stand-in: unsupported command {args}", file=sys.stderr)
        return 2
    path.write_text(json.dumps(data, indent=1), encoding="utf-8")
    return 0


COMMENTS = re.compile(r"^repos/[^/]+/[^/]+/issues/(?P<number>[0-9]+)/comments$")
COMMENT = re.compile(r"^repos/[^/]+/[^/]+/issues/comments/(?P<id>[0-9]+)$")
CONTAINS = re.compile(r'contains\("(?P<marker>[^"]*)"\)')


def comments(state: Path, args: list[str]) -> int | None:
    """`gh api` on issue comments, kept in `state/comments.json`; None for other API paths."""
    path = next((a for a in args[1:] if a.startswith("repos/")), "")
    listing, single = COMMENTS.match(path), COMMENT.match(path)
    if not (listing or single):
        return None
    store = state / "comments.json"
    data = json.loads(store.read_text(encoding="utf-8")) if store.exists() else []
    method = option(args, "--method") or "GET"
    body_file = next((a.removeprefix("body=@") for a in args if a.startswith("body=@")), None)
    if listing and method == "GET":
        found = [c for c in data if c["number"] == int(listing["number"])]
        jq = option(args, "--jq")
        if jq is None:
            print(json.dumps(found))
            return 0
        marker = CONTAINS.search(jq)
        if marker is None:
            print(f"gh stand-in: unsupported --jq {jq!r}", file=sys.stderr)
            return 2
        for comment in found:
            if marker["marker"] in comment["body"]:
                print(comment["id"])
        return 0
    if listing and method == "POST" and body_file:
        comment = {
            "id": 4000 + len(data),
            "number": int(listing["number"]),
            "body": Path(body_file).read_text(encoding="utf-8"),
        }
        data.append(comment)
    elif single and method == "PATCH" and body_file:
        comment = next((c for c in data if c["id"] == int(single["id"])), None)
        if comment is None:
            print("gh: Not Found (HTTP 404)", file=sys.stderr)
            return 1
        comment["body"] = Path(body_file).read_text(encoding="utf-8")
    else:
        print(f"gh stand-in: unsupported command {args}", file=sys.stderr)
        return 2
    store.write_text(json.dumps(data, indent=1), encoding="utf-8")
    print(json.dumps({"id": comment["id"]}))
    return 0


def main(tool: str) -> int:
    args = sys.argv[1:]
    record = {"argv": args, "cwd": str(Path.cwd()), "markdown": posted_markdown(tool, args)}
    record["token"] = bool(os.environ.get("REPO_TOKEN") or os.environ.get("GH_TOKEN"))
    directory = Path(os.environ["ACT_RECORD_DIR"])
    with (directory / f"{tool}.jsonl").open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(record) + "\n")
    code = int(os.environ.get(f"ACT_FAKE_{tool.upper()}_EXIT", "0"))
    if code:
        print(
            f"{tool}: simulated failure (HTTP 403: Resource not accessible by integration)",
            file=sys.stderr,
        )
        return code
    canned = os.environ.get(f"ACT_FAKE_{tool.upper()}_STDOUT")
    state = os.environ.get("ACT_GH_STATE_DIR")
    if tool == "gh" and state and canned is None and args[:1] == ["release"] and len(args) > 1:
        return release(Path(state), args[1:])
    if (
        tool == "gh"
        and state
        and canned is None
        and args[:1] in (["issue"], ["pr"], ["label"], ["auth"])
    ):
        return github(Path(state), args)
    if tool == "gh" and state and canned is None and args[:1] == ["api"]:
        answered = comments(Path(state), args)
        if answered is not None:
            return answered
    if canned is not None:
        print(canned)
    elif tool == "cml" and args[:1] == ["comment"]:
        print("https://github.com/acme/project/pull/7#issuecomment-1")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[0]).name))
