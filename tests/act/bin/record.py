"""Recording stand-in for the `cml` and `gh` CLIs (tests only; see tests/act/README.md).

Appends one JSON line per call to $ACT_RECORD_DIR/<tool>.jsonl: argv, cwd and the Markdown
the call would have posted (`cml comment create|update FILE`, `gh ... -F body=@FILE`).
$ACT_FAKE_<TOOL>_EXIT makes the call fail with that exit code (to test failure handling);
$ACT_FAKE_<TOOL>_STDOUT is printed as the call's answer (for example a commit SHA for gh).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path


def posted_markdown(tool: str, args: list[str]) -> str | None:
    path = None
    if tool == "cml" and args[:1] == ["comment"] and len(args) > 2:
        path = args[2]
    if tool == "gh":
        path = next((a.removeprefix("body=@") for a in args if a.startswith("body=@")), None)
    if path and Path(path).is_file():
        return Path(path).read_text(encoding="utf-8")
    return None


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
    if canned is not None:
        print(canned)
    elif tool == "cml" and args[:1] == ["comment"]:
        print("https://github.com/acme/project/pull/7#issuecomment-1")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[0]).name))
