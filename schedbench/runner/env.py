"""The machine and software a campaign ran on: :func:`environment`.

Deterministic keys and no timestamps (the store adds those). Package versions come from
``importlib.metadata`` (nothing heavy is imported); the git revision is that of the working tree
holding the schedbench sources, with ``-dirty`` when it has uncommitted changes, or None when it
is not a git checkout.
"""

from __future__ import annotations

import contextlib
import os
import platform
import socket
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

from schedbench.runner.worker import THREAD_VARS


def packages() -> tuple[str, ...]:
    """Distributions whose versions are recorded (None when not installed): the core's and those
    providing the registered solvers' ``requires``
    (:func:`schedbench.plugins.registry.required_distributions`)."""
    from schedbench.plugins.registry import required_distributions

    return required_distributions()


def _cpu_model() -> str:
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as fh:
        for line in fh:
            key, _, value = line.partition(":")
            if key.strip() in ("model name", "Hardware", "Processor", "cpu model") and value.strip():
                return value.strip()
    if sys.platform == "darwin":
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            out = subprocess.run(
                ["sysctl", "-n", "machdep.cpu.brand_string"], capture_output=True, text=True, timeout=5
            )
            if out.returncode == 0 and out.stdout.strip():
                return out.stdout.strip()
    return platform.processor() or platform.machine()


def _memory_mb() -> float | None:
    with contextlib.suppress(OSError, ValueError), open("/proc/meminfo") as fh:
        for line in fh:
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024.0, 1)
    with contextlib.suppress(ValueError, OSError, AttributeError):
        return round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / (1 << 20), 1)
    return None


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def git_revision(path: str | Path | None = None) -> str | None:
    """``git rev-parse HEAD`` of the checkout holding ``path`` (default: the schedbench sources),
    with ``-dirty`` when ``git status --porcelain`` lists changes; None outside a checkout."""
    where = str(path or Path(__file__).resolve().parents[2])
    try:
        head = subprocess.run(["git", "-C", where, "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10)
        if head.returncode != 0:
            return None
        status = subprocess.run(
            ["git", "--no-optional-locks", "-C", where, "status", "--porcelain"],
            capture_output=True,
            text=True,
            timeout=30,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    rev = head.stdout.strip()
    if not rev:
        return None
    return rev + ("-dirty" if status.returncode == 0 and status.stdout.strip() else "")


def environment() -> dict[str, Any]:
    """Python, OS, CPU, memory, package versions, git revision and thread settings of this machine."""
    try:
        affinity: int | None = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        affinity = None
    return {
        "python": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "executable": sys.executable,
        "platform": platform.platform(),
        "system": platform.system(),
        "release": platform.release(),
        "machine": platform.machine(),
        "hostname": socket.gethostname(),
        "cpu_model": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "cpu_affinity": affinity,
        "memory_total_mb": _memory_mb(),
        "packages": {name: _version(name) for name in packages()},
        "git_revision": git_revision(),
        "thread_env": {var: os.environ.get(var) for var in THREAD_VARS},
    }
