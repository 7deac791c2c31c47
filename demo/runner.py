"""The self-hosted deploy runner the demo plays, and tearing its deployment down.

release.yml deploys on the machine that serves: the runner labelled by the DEPLOY_RUNNER
variable, whose deployment outlives the job. A self-hosted runner keeps its workspace between
jobs; act deletes the workspace it ran a job in as soon as the job ends, taking the
deployment's state, the prediction log and the environment the servers run from with it. So
the demo gives the runner three persistent directories, linked from the checkout act copies
(symlinks survive act's copy and its clean-up):

- `venv/` as `.venv`: created here beforehand with this path, so the servers' interpreter
  and libraries stay where they are after the job (the setup action finds it up to date);
- `deploy/` as `.deploy`: nginx's configuration, the PIDs and ports (state.json), logs;
- `logs/` as `logs`: the prediction log the servers append to (deploy.prediction_log).

`teardown` stops everything with `gitops-ml undeploy` and then proves it: no PID of the
deployment alive, none of its ports listening, no process left whose command line names the
runner's directory.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from gitops_ml.serve.local import alive
from harness import QUIET_ENV, SHARED_BIN

LINKS = {".venv": "venv", ".deploy": "deploy", "logs": "logs"}


@dataclass
class Runner:
    """The deploy runner's persistent directories under `root`."""

    root: Path

    @property
    def venv(self) -> Path:
        return self.root / "venv"

    @property
    def state_dir(self) -> Path:
        return self.root / "deploy"

    @property
    def log_dir(self) -> Path:
        return self.root / "logs"

    def link_into(self, checkout: Path) -> None:
        """Make `.venv`, `.deploy` and `logs` of `checkout` absolute links to this runner's."""
        for name, target in LINKS.items():
            (self.root / target).mkdir(parents=True, exist_ok=True)
            link = checkout / name
            if link.is_symlink() or link.exists():
                link.unlink()
            link.symlink_to((self.root / target).resolve(), target_is_directory=True)

    def prepare_venv(self, python: str, lock: Path, library: Path) -> None:
        """Create the runner's environment at its persistent path: the project's lock and the
        gitops-ml of `library` (uv, from its cache; the setup action then finds it complete).

        Raises:
            subprocess.CalledProcessError: uv failed (its output is in the message).
        """
        uv = str(SHARED_BIN / "uv") if (SHARED_BIN / "uv").exists() else "uv"
        env = {**os.environ, **QUIET_ENV}
        env.pop("VIRTUAL_ENV", None)
        steps = [
            [uv, "venv", "--quiet", "--allow-existing", "--python", python, str(self.venv)],
            [uv, "pip", "install", "--quiet", "--python", str(self.venv / "bin" / "python"),
             "-r", str(lock), str(library)],
        ]  # fmt: skip
        for command in steps:
            subprocess.run(command, env=env, check=True, capture_output=True, text=True)

    def deployment(self) -> dict | None:
        """state.json of the deployment (PIDs and ports), or None when nothing is deployed."""
        path = self.state_dir / "state.json"
        return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def pids_and_ports(state: dict) -> tuple[list[int], list[int]]:
    """The PIDs (nginx, servers) and TCP ports (nginx's, servers') a state.json names."""
    pids, ports = [state.get("nginx_pid", 0)], [state.get("port", 0)]
    for key in ("stable", "candidate"):
        if state.get(key):
            pids.append(state[key]["pid"])
            ports.append(state[key]["port"])
    return [p for p in pids if p > 0], [p for p in ports if p > 0]


def listening(ports: list[int]) -> list[int]:
    """Which of `ports` something listens on (TCP, any address), from `ss -ltn`."""
    done = subprocess.run(["ss", "-ltnH"], capture_output=True, text=True, check=False)
    open_ports = {int(m) for m in re.findall(r":(\d+)\s", done.stdout)}
    return [port for port in ports if port in open_ports]


def processes_naming(path: Path) -> list[tuple[int, str]]:
    """Processes (PID, command line) whose command line contains `path`, this one excepted."""
    needle = str(path.resolve())
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if needle in command and alive(int(entry.name)):
            found.append((int(entry.name), command.strip()))
    return found


def undeploy(runner: Runner, project: Path) -> str:
    """`gitops-ml undeploy` on the runner's state directory; returns what it printed."""
    env = {**os.environ, **QUIET_ENV}
    done = subprocess.run(
        [str(SHARED_BIN / "gitops-ml"), "undeploy", "--state", str(runner.state_dir),
         "--result", str(runner.root / "undeploy.json")],
        cwd=project, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    return (done.stdout + done.stderr).strip()


def teardown(runner: Runner, project: Path) -> list[str]:
    """Stop the deployment and check nothing is left; returns one line per finding.

    A process still naming the runner's directory after `gitops-ml undeploy` (a server
    started before its PID was saved) is stopped by its PID, and that is reported.

    Raises:
        RuntimeError: a process or a port of the deployment is still there at the end.
    """
    lines = []
    state = runner.deployment()
    pids, ports = pids_and_ports(state) if state else ([], [])
    lines.append(undeploy(runner, project) or "gitops-ml undeploy: nothing to stop")
    for pid, command in processes_naming(runner.root):
        os.kill(pid, signal.SIGTERM)
        lines.append(f"stopped a leftover process {pid}: {command[:120]}")
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and (
        any(alive(p) for p in pids) or listening(ports) or processes_naming(runner.root)
    ):
        time.sleep(0.3)
    left = [p for p in pids if alive(p)] + [p for p, _ in processes_naming(runner.root)]
    still = listening(ports)
    if left or still:
        raise RuntimeError(f"still running: PIDs {left}; ports still listening: {still}")
    if pids:
        lines.append(
            f"checked: PIDs {', '.join(map(str, pids))} gone; ports "
            f"{', '.join(map(str, ports))} free (ss -ltn); no process names {runner.root}"
        )
    return lines
