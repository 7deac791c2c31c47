"""A generated project's environment without uv on PATH: the Makefile's uv bootstrap vs pip.

A default project is rendered once; each run deletes its .venv and builds it again, with a
PATH that holds no `uv` (this repository's .venv/bin included), the library from this
checkout (GITOPS_ML=<checkout>, as offline users do) and everything else from PyPI:

- **bootstrap** `make env`: `python -m venv`, `pip install uv` into it, then that uv installs
  requirements.lock, the library and the project (the generated Makefile's `$(STAMP)` recipe);
- **pip** the Makefile's fallback commands run directly, on the same lock: `python -m venv`,
  `pip install --upgrade pip`, `pip install -r requirements.lock <library>`, `pip install -e .`.

Cold: an empty cache (uv: a fresh UV_CACHE_DIR; the pip of the bootstrap: a fresh
PIP_CACHE_DIR; plain pip: `--no-cache-dir`). Warm: the cache the cold run filled (plain pip
gets one more cold run that fills a fresh PIP_CACHE_DIR, reported too). The machine's pip
configuration (a local wheel mirror here) is switched off, so both sides download from PyPI.

Goal (issue 13): the bootstrap at most 20 s cold on 2 cores and at least 5x faster than pip.

    python benchmarks/bench_env.py [--library PATH] [--skip-pip-warm]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.conftest import project_env, render_project  # noqa: E402

GOAL_SECONDS, GOAL_RATIO = 20.0, 5.0  # bootstrap cold
BOOTSTRAP_SAYS = "uv is not on PATH: installing uv into .venv with pip"
# Where this machine's pip looks besides PyPI: a newcomer has none of it.
PIP_SETTINGS = ("PIP_FIND_LINKS", "PIP_EXTRA_INDEX_URL", "PIP_INDEX_URL", "PIP_CONSTRAINT")


def env_without_uv(**extra: str) -> dict[str, str]:
    """A newcomer's environment: no uv on PATH, pip reading PyPI only."""
    env = project_env(**extra)
    kept = [d for d in env["PATH"].split(os.pathsep) if d and not (Path(d) / "uv").exists()]
    env["PATH"] = os.pathsep.join(kept)
    for name in PIP_SETTINGS:
        env.pop(name, None)
    env["PIP_CONFIG_FILE"] = os.devnull
    for name in ("UV_OFFLINE", "UV_NO_CACHE", "UV_CACHE_DIR"):
        env.pop(name, None)
    return {**env, **extra}


def interpreter(env: dict[str, str], version: str) -> str:
    """What the generated Makefile's PYTHON finds: python<version>, else python3."""
    found = shutil.which(f"python{version}", path=env["PATH"]) or shutil.which(
        "python3", path=env["PATH"]
    )
    if not found:
        raise SystemExit(f"neither python{version} nor python3 is on PATH")
    return found


def timed(commands: list[list[str]], project: Path, env: dict[str, str]) -> tuple[float, str]:
    """Seconds for `commands` run in turn from an empty .venv; their stdout."""
    shutil.rmtree(project / ".venv", ignore_errors=True)
    out = []
    start = time.perf_counter()
    for command in commands:
        done = subprocess.run(command, cwd=project, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(
                f"{' '.join(command)} failed ({done.returncode}):\n"
                f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
            )
        out.append(done.stdout)
    seconds = time.perf_counter() - start
    version = subprocess.run(
        [str(project / ".venv/bin/gitops-ml"), "--version"], capture_output=True, text=True
    )
    if version.returncode != 0:
        raise SystemExit(f"gitops-ml does not run in the new environment:\n{version.stderr}")
    return seconds, "".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--library", type=Path, default=ROOT, help="GITOPS_ML: the gitops-ml checkout or wheel"
    )
    parser.add_argument(
        "--skip-pip-warm", action="store_true", help="no warm pip run (saves two pip runs)"
    )
    args = parser.parse_args()
    print(f"bench_env: no uv on PATH, GITOPS_ML={args.library}, packages from PyPI")
    with tempfile.TemporaryDirectory(prefix="bench-env-") as tmp:
        work = Path(tmp)
        project = render_project(work / "render")
        answers = json.loads((project / ".cookiecutter.json").read_text(encoding="utf-8"))
        version = answers["python_version"]
        make_env = ["make", "env", f"GITOPS_ML={args.library}"]
        base = env_without_uv()
        python = interpreter(base, version)
        bin_python = str(project / ".venv/bin/python")
        pip = [bin_python, "-m", "pip", "install", "--quiet"]
        pip_steps = [
            [python, "-m", "venv", ".venv"],
            [*pip, "--upgrade", "pip"],
            [*pip, "-r", "requirements.lock", str(args.library)],
            [*pip, "--no-deps", "-e", "."],
        ]
        # The bootstrap's caches: empty for the cold run, filled by it for the warm one.
        uv_caches = {"UV_CACHE_DIR": str(work / "uv-cache"), "PIP_CACHE_DIR": str(work / "pip-uv")}
        runs = [
            ("bootstrap cold", [make_env], uv_caches),
            ("bootstrap warm", [make_env], uv_caches),
            ("pip cold (--no-cache-dir)", pip_steps, {"PIP_NO_CACHE_DIR": "1"}),
        ]
        if not args.skip_pip_warm:
            pip_cache = {"PIP_CACHE_DIR": str(work / "pip-cache")}
            runs += [("pip cold, filling its cache", pip_steps, pip_cache)]
            runs += [("pip warm", pip_steps, pip_cache)]
        results: dict[str, float] = {}
        for label, commands, extra in runs:
            seconds, stdout = timed(commands, project, env_without_uv(**extra))
            bootstrapped = BOOTSTRAP_SAYS in stdout and (project / ".venv/bin/uv").is_file()
            if label.startswith("bootstrap") and not bootstrapped:
                raise SystemExit(f"{label}: the environment was not built by a bootstrapped uv")
            results[label] = seconds
            print(f"  {label:<30} {seconds:7.1f} s", flush=True)

    cold, pip_cold = results["bootstrap cold"], results["pip cold (--no-cache-dir)"]
    print(f"ratio cold: pip {pip_cold:.1f} s / bootstrap {cold:.1f} s = {pip_cold / cold:.1f}x")
    if "pip warm" in results:
        warm, pip_warm = results["bootstrap warm"], results["pip warm"]
        print(f"ratio warm: pip {pip_warm:.1f} s / bootstrap {warm:.1f} s = {pip_warm / warm:.1f}x")
    checks = [
        (f"bootstrap cold {cold:.1f} s (goal <= {GOAL_SECONDS:.0f} s)", cold <= GOAL_SECONDS),
        (f"bootstrap cold {pip_cold / cold:.1f}x faster than pip cold (goal >= {GOAL_RATIO:.0f}x)",
         pip_cold / cold >= GOAL_RATIO),
    ]  # fmt: skip
    for line, ok in checks:
        print(f"{'PASS' if ok else 'FAIL'}: {line}")
    ok = all(passed for _, passed in checks)
    print("bench_env: PASS" if ok else "bench_env: FAIL")
    if not ok:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
