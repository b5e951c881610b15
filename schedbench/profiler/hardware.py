"""Provenance of a measurement: the machine, the device, the software, the date.

:func:`describe_cpu` and :func:`host_memory_bytes` need no torch; :func:`describe_device` takes the
torch module (the caller imports it) and names a CPU or a CUDA device with its driver and CUDA
versions.
"""

from __future__ import annotations

import datetime as _dt
import os
import platform
import re
import shutil
import subprocess
from dataclasses import asdict, dataclass
from typing import Any


def cpu_model() -> str:
    """The CPU's model string (``model name`` of /proc/cpuinfo on Linux, else the platform's)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                if line.lower().startswith(("model name", "hardware", "cpu model")):
                    name = line.split(":", 1)[1].strip()
                    if name:
                        return " ".join(name.split())
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def logical_cpus() -> int:
    """CPUs this process may run on (its affinity mask where the OS has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def host_memory_bytes() -> int | None:
    """Total physical memory (``MemTotal`` of /proc/meminfo, else ``sysconf``), or None."""
    try:
        with open("/proc/meminfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, ValueError, OSError):
        return None


def nvidia_driver_version() -> str | None:
    """The NVIDIA driver version from ``nvidia-smi``, or None when it is not available."""
    exe = shutil.which("nvidia-smi")
    if exe is None:
        return None
    try:
        res = subprocess.run(
            [exe, "--query-gpu=driver_version", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=20,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    line = res.stdout.strip().splitlines()[0].strip() if res.returncode == 0 and res.stdout.strip() else ""
    return line or None


def utc_now() -> str:
    """The current UTC time, ISO 8601 to the second (the date of a measurement)."""
    return _dt.datetime.now(_dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def slug(text: str) -> str:
    """``text`` as an id fragment: letters and digits, words joined by '-'."""
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-") or "unknown"


def cpu_slug(model: str) -> str:
    """A short id fragment for a CPU model string (trademarks, 'Processor', 'CPU', core counts and
    clock speeds left out): ``AMD EPYC 7763 64-Core Processor`` -> ``AMD-EPYC-7763``."""
    text = re.sub(r"\((?:R|TM|tm|r)\)", " ", model)
    text = re.sub(r"@.*$", " ", text)
    text = re.sub(r"\b\d+-Core\b|\bProcessor\b|\bCPU\b|\bwith\b.*$", " ", text, flags=re.IGNORECASE)
    return slug(text)


@dataclass(frozen=True)
class DeviceInfo:
    """The device a measurement ran on, and the software around it.

    Attributes:
        kind: ``"cpu"`` or ``"cuda"``.
        name: CPU model string or CUDA device name.
        index: CUDA device index (None on CPU).
        memory_bytes: host memory (CPU) or device memory (CUDA).
        threads: torch intra-op threads (CPU) or None.
        logical_cpus: CPUs the process may use.
        torch: torch version; cuda: CUDA runtime torch was built with; cudnn: cuDNN version;
        driver: NVIDIA driver version; python, platform: interpreter and OS.
    """

    kind: str
    name: str
    index: int | None
    memory_bytes: int | None
    threads: int | None
    logical_cpus: int
    torch: str
    cuda: str | None
    cudnn: str | None
    driver: str | None
    python: str
    platform: str

    def to_dict(self) -> dict[str, Any]:
        """The fields as a plain dict (what a measurement records as ``device_info``)."""
        return asdict(self)

    def summary(self) -> str:
        """One line naming the hardware and the software versions."""
        gib = f"{self.memory_bytes / 2**30:.1f} GiB" if self.memory_bytes else "memory unknown"
        if self.kind == "cpu":
            hw = (
                f"CPU measurement (not a GPU): {self.name}, {self.threads} torch threads on {self.logical_cpus} "
                f"logical CPUs, {gib} RAM"
            )
        else:
            hw = (
                f"GPU: {self.name} (cuda:{self.index}, {gib}), NVIDIA driver {self.driver or 'unknown'}, CUDA "
                f"{self.cuda or 'unknown'}, cuDNN {self.cudnn or 'unknown'}"
            )
        return f"{hw}; torch {self.torch}, Python {self.python}, {self.platform}"


def describe_device(torch: Any, device: str) -> DeviceInfo:
    """Describe ``device`` (``"cpu"`` or ``"cuda:N"``) with the given torch module."""
    cpus, version, python = logical_cpus(), str(torch.__version__), platform.python_version()
    system = f"{platform.system()} {platform.release()} {platform.machine()}"
    cudnn = None
    if torch.backends.cudnn.is_available():
        v = torch.backends.cudnn.version()
        cudnn = None if v is None else str(v)
    if device == "cpu":
        return DeviceInfo(
            "cpu",
            cpu_model(),
            None,
            host_memory_bytes(),
            torch.get_num_threads(),
            cuda=None,
            cudnn=None,
            driver=None,
            logical_cpus=cpus,
            torch=version,
            python=python,
            platform=system,
        )
    index = int(device.split(":", 1)[1]) if ":" in device else torch.cuda.current_device()
    props = torch.cuda.get_device_properties(index)
    return DeviceInfo(
        "cuda",
        torch.cuda.get_device_name(index),
        index,
        int(props.total_memory),
        None,
        cuda=torch.version.cuda,
        cudnn=cudnn,
        driver=nvidia_driver_version(),
        logical_cpus=cpus,
        torch=version,
        python=python,
        platform=system,
    )


__all__ = [
    "DeviceInfo",
    "cpu_model",
    "cpu_slug",
    "describe_device",
    "host_memory_bytes",
    "logical_cpus",
    "nvidia_driver_version",
    "slug",
    "utc_now",
]
