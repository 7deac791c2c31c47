"""Which local directory stands in for each `uses:` of a workflow (act `--local-repository`).

This repository's actions (`<template_repo>/actions/<name>@<template_ref>`, as a generated
project pins them) map to a snapshot of the working tree, so a run exercises the code under
review; every other `owner/repo@ref` maps to the stand-in `standins/<repo>/` (README.md).
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterable, Sequence
from pathlib import Path

from .errors import HarnessError

ROOT = Path(__file__).resolve().parent.parent
STANDINS = Path(__file__).resolve().parent / "standins"
USES = re.compile(r"^\s*(?:-\s+)?uses:\s*['\"]?([^'\"\s#]+)", re.MULTILINE)
# What the mapped action repository holds: the actions, and what builds the gitops-ml library
# released with them (the setup action installs it from there when the project pins it).
SNAPSHOT = ("actions", "src/gitops_ml", "pyproject.toml", "README.md")


def used_actions(files: Iterable[Path]) -> set[str]:
    """Every remote `owner/repo[/path]@ref` in the given workflow or action files."""
    found = set()
    for path in files:
        for uses in USES.findall(path.read_text(encoding="utf-8")):
            if not uses.startswith(("./", "docker://")) and "@" in uses:
                found.add(uses)
    return found


def snapshot_actions(target: Path) -> Path:
    """A copy of the working tree's SNAPSHOT only: act copies a mapped repository for every
    step that uses it, and this repository's root also holds a 1 GB virtual environment."""
    ignore = shutil.ignore_patterns("__pycache__")
    for name in SNAPSHOT:
        source, copy = ROOT / name, target / name
        copy.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, copy, ignore=ignore)
        else:
            shutil.copy2(source, copy)
    return target


def referenced_files(workflow: Path, template_repo: str, template_ref: str) -> list[Path]:
    """The workflow plus every action of this repository it uses, directly or through another."""
    prefix, suffix = f"{template_repo}/actions/", f"@{template_ref}"
    files, queue = [workflow], [workflow]
    while queue:
        for uses in used_actions([queue.pop()]):
            if uses.startswith(prefix) and uses.endswith(suffix):
                name = uses[len(prefix) : -len(suffix)]
                action = ROOT / "actions" / name / "action.yml"
                if not action.is_file():
                    raise HarnessError(f"{uses}: there is no actions/{name}/action.yml")
                if action not in files:
                    files.append(action)
                    queue.append(action)
    return files


def local_repositories(
    workflow: Path,
    template_repo: str,
    template_ref: str,
    template_copy: Path,
    standin_dirs: Sequence[Path] = (STANDINS,),
) -> dict[str, Path]:
    """`--local-repository` mappings: our actions -> working tree, the rest -> stand-ins
    (the first `<dir>/<repo>/action.yml` found in `standin_dirs`)."""
    ours = f"{template_repo}@{template_ref}"
    mapping: dict[str, Path] = {ours: template_copy}
    missing = []
    for uses in sorted(used_actions(referenced_files(workflow, template_repo, template_ref))):
        name, ref = uses.rsplit("@", 1)
        owner_repo = "/".join(name.split("/")[:2])
        if f"{owner_repo}@{ref}" == ours or owner_repo == "actions/checkout":
            continue  # act copies the repository itself for a same-repo checkout
        repo_name = owner_repo.split("/")[1]
        found = [d / repo_name for d in standin_dirs if (d / repo_name / "action.yml").is_file()]
        if not found:
            missing.append(uses)
            continue
        mapping[f"{owner_repo}@{ref}"] = found[0]
    if missing:
        raise HarnessError(
            "no stand-in under harness/standins/ for: "
            + ", ".join(missing)
            + " (see harness/README.md)"
        )
    return mapping
