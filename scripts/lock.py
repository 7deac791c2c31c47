"""Pin the generated project's dependencies and this repo's dev environment (`make lock`).

Writes `{{cookiecutter.project_slug}}/requirements.lock`: one universal lock per DVC remote
and feature store choice, selected by Jinja at generation time. The `feast` lock of a remote
is resolved first; the lock without Feast is constrained to it, so both choices install the
same version of every package they share. Then `requirements-dev.lock` for this repo,
constrained to the generated project's `local`+`feast` lock so that the tests' shared
environment has exactly the versions a generated project installs, with or without Feast.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from cookiecutter.main import cookiecutter

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE_LOCK = ROOT / "{{cookiecutter.project_slug}}" / "requirements.lock"
DEV_LOCK = ROOT / "requirements-dev.lock"
REMOTES = ("local", "s3", "gcs", "azure")
PYTHON_FLOOR = "3.10"
HEADER = "# Pinned by `make lock` (uv pip compile --universal): edit pyproject.toml instead.\n"


def compile_lock(sources: list[Path], *extra: str) -> str:
    command = [
        "uv", "pip", "compile", *map(str, sources), "--extra", "dev", "--universal",
        "--python-version", PYTHON_FLOOR, "--no-header", "--no-annotate", "--quiet", *extra,
    ]  # fmt: skip
    return subprocess.run(command, check=True, capture_output=True, text=True).stdout


def render(remote: str, out: Path, feature_store: str = "feast") -> Path:
    context = {
        "dvc_remote": remote,
        "dvc_remote_url": "",
        "project_slug": f"lock-{remote}-{feature_store}",
        "feature_store": feature_store,
    }
    context["dvc_remote_url"] = {"local": "../storage", "s3": "s3://b/p", "gcs": "gs://b/p"}.get(
        remote, "azure://b/p"
    )
    path = cookiecutter(
        str(ROOT), no_input=True, extra_context=context, output_dir=str(out), accept_hooks=False
    )
    return Path(path)


def build_library(out: Path) -> list[str]:
    """A wheel of this working tree's gitops-ml in `out`: the uv options that resolve it.

    Generated projects require gitops-ml==<version>, which the package index may not have yet
    (it is released with this tag); its own dependencies are pinned, the library is not."""
    subprocess.run(
        ["uv", "build", "--wheel", "--quiet", "-o", str(out), str(ROOT)],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    return ["--find-links", str(out), "--no-emit-package", "gitops-ml"]


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        library = build_library(Path(tmp) / "wheels")
        locks: dict[tuple[str, str], str] = {}
        for remote in REMOTES:
            feast = compile_lock([render(remote, Path(tmp)) / "pyproject.toml"], *library)
            constraints = Path(tmp) / f"constraints-{remote}.txt"
            constraints.write_text(feast, encoding="utf-8")
            plain = render(remote, Path(tmp), "none") / "pyproject.toml"
            locks[(remote, "feast")] = feast
            locks[(remote, "none")] = compile_lock([plain], "-c", str(constraints), *library)
        blocks = []
        for index, (remote, store) in enumerate(locks):
            keyword = "if" if index == 0 else "elif"
            condition = (
                f"{{% {keyword} cookiecutter.dvc_remote == '{remote}' "
                f"and cookiecutter.feature_store == '{store}' -%}}"
            )
            blocks.append(f"{condition}\n{locks[(remote, store)]}")
        TEMPLATE_LOCK.write_text(HEADER + "".join(blocks) + "{% endif -%}\n", encoding="utf-8")
        constraints = Path(tmp) / "constraints-local.txt"
        project = render("local", Path(tmp) / "dev")
        sources = [ROOT / "pyproject.toml", project / "pyproject.toml"]
        dev = compile_lock(sources, "-c", str(constraints), *library)
        DEV_LOCK.write_text(HEADER + dev, encoding="utf-8")
    print(f"wrote {TEMPLATE_LOCK.relative_to(ROOT)} and {DEV_LOCK.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
