"""Measurements -> a catalogue fragment in the catalogue's own format, with full provenance.

A fragment is a complete ``schedbench/catalogue/1`` document (readable by
:meth:`schedbench.catalogue.model.Catalogue.from_dict` and ``schedbench catalogue list --catalogue``)
holding: the source ``schedbench-profile``; the device as a GPU type; one job type per
(workload, batch size), keyed ``<stem>-bs<B>`` (``article-cnn-bs32``), with one measured throughput
figure (1 device) and one measured memory figure for that device type.

Device types:

- **CPU**: ``CPU-<model>-<N>T`` (``CPU-AMD-EPYC-2T``: the CPU model and the torch thread count), chip
  ``CPU``; its name and every figure's ``hardware`` say "CPU measurement (not a GPU)"; its memory is
  the host's physical memory. A CPU type is never a GPU type of the shipped catalogue, so CPU figures
  never mix with GPU figures (the generators use it only in a cluster that names it).
- **CUDA**: the catalogue GPU id given with ``--gpu-type``, else the catalogue GPU whose id or alias
  matches the device name (``NVIDIA A100-SXM4-80GB`` -> ``A100-SXM4-80GB``), else a new GPU type
  named after the device and its memory (``H200-140GB``) with the memory the driver reports.

Provenance of each figure: ``kind`` measured, ``source`` schedbench-profile, ``method`` "measured by
schedbench profile: ..." (timing or memory procedure), ``hardware`` the device, driver, CUDA, cuDNN,
torch, Python and OS, ``detail`` the date, the command line, the step counts, the step-time
distribution, FLOPs and parameters.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any

from schedbench.catalogue.model import MEASURED, Catalogue, Figure, GpuSpec, JobType, Provenance, Source
from schedbench.profiler import ProfileError
from schedbench.profiler.hardware import DeviceInfo, cpu_slug, slug

SOURCE_KEY = "schedbench-profile"
METHOD = "measured by schedbench profile"
SOURCE = Source(
    SOURCE_KEY,
    "schedbench profile: training-step measurements made with this project's profiler (schedbench.profiler). Each "
    "figure's detail names its run (date, command line, steps, step-time distribution) and its hardware field the "
    "device and the software versions.",
    "schedbench/profiler (procedure: docs/profile.md)",
    "measurements by whoever ran the command named in each figure; those shipped with schedbench are under the "
    "project's licence (MIT)",
)
CPU_CHIP = "CPU"


def _sig(x: float, digits: int = 6) -> float:
    """``x`` rounded to significant digits (stable JSON bytes across platforms)."""
    if x == 0 or not math.isfinite(x):
        return x
    return round(x, digits - 1 - math.floor(math.log10(abs(x))))


def cpu_type_id(info: DeviceInfo) -> str:
    """``CPU-<model>-<threads>T``."""
    return f"CPU-{cpu_slug(info.name)}-{info.threads}T"


def _cpu_spec(info: DeviceInfo) -> GpuSpec:
    if not info.memory_bytes:
        raise ProfileError("cannot read the host's physical memory (MemTotal), which a CPU type needs")
    prov = Provenance(
        MEASURED,
        SOURCE_KEY,
        "MemTotal of /proc/meminfo: the host's physical memory",
        f"CPU measurement (not a GPU): {info.name}",
        f"{METHOD}: read from the operating system",
    )
    return GpuSpec(
        cpu_type_id(info),
        f"CPU {info.name}, {info.threads} torch threads (CPU measurement, not a GPU)",
        CPU_CHIP,
        Figure(_sig(info.memory_bytes / 2**30, 4), "GiB", prov),
        None,
        (info.name,),
    )


def _norm(name: str) -> str:
    text = re.sub(r"^(NVIDIA|Tesla|GeForce|Quadro)\s+", "", name.strip(), flags=re.IGNORECASE)
    text = re.sub(r"^(Tesla|GeForce|Quadro)\s+", "", text, flags=re.IGNORECASE)
    return re.sub(r"[\s_]+", "-", text).lower()


def match_gpu(name: str, catalogue: Catalogue) -> str | None:
    """The catalogue GPU id whose id or alias is the device name (vendor prefix and spacing aside)."""
    key = _norm(name)
    for gid, spec in sorted(catalogue.gpus.items()):
        if spec.chip == CPU_CHIP:
            continue
        if key == gid.lower() or key in {_norm(a) for a in spec.aliases} or key == _norm(spec.name):
            return gid
    return None


def _cuda_spec(info: DeviceInfo, catalogue: Catalogue, gpu_type: str | None) -> tuple[GpuSpec, dict[str, Source]]:
    gid = gpu_type or match_gpu(info.name, catalogue)
    if gid is not None:
        if gid not in catalogue.gpus or catalogue.gpus[gid].chip == CPU_CHIP:
            raise ProfileError(
                f"--gpu-type {gid!r} is not a GPU type of the catalogue; expected one of "
                f"{sorted(g for g, s in catalogue.gpus.items() if s.chip != CPU_CHIP)}"
            )
        spec = catalogue.gpus[gid]
        keys = [k for f in (spec.memory_gib, spec.peak_fp32_tflops) if f is not None for k in f.provenance.inputs]
        return spec, {k: catalogue.sources[k] for k in keys}
    gib = (info.memory_bytes or 0) / 2**30
    if gib <= 0:
        raise ProfileError(f"cannot read the memory of {info.name}")
    chip = slug(re.sub(r"^(NVIDIA|Tesla)\s+", "", info.name))
    prov = Provenance(
        MEASURED,
        SOURCE_KEY,
        "total_memory of torch.cuda.get_device_properties (as the driver reports it)",
        f"GPU: {info.name}",
        f"{METHOD}: read from the CUDA driver",
    )
    size = f"{round(gib)}GB"
    gid = chip if chip.upper().endswith(size.upper()) else f"{chip}-{size}"
    spec = GpuSpec(gid, info.name, chip, Figure(_sig(gib, 4), "GiB", prov), None, (info.name,))
    return spec, {}


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.4g} ms"


def figure_detail(m: Any, command: str) -> str:
    """The ``detail`` of a throughput figure: the run and its figures."""
    st = m.step_time_s
    tflops = m.flops_per_step * m.steps / m.elapsed_s / 1e12 if m.elapsed_s > 0 else 0.0
    load = m.extra.get("load_average_1min")
    load_text = (
        f"; 1-min load average {load} on {m.device_info['logical_cpus']} logical CPUs" if load is not None else ""
    )
    tf32 = m.extra.get("tf32")
    if tf32:
        load_text += f"; TF32 allowed for matmul {tf32['matmul']}, for cuDNN {tf32['cudnn']}"
    return (
        f"schedbench profile run of {m.date}: `{command}`; batch size {m.batch_size}, {m.steps} timed steps after "
        f"{m.warmup} warm-up steps, seed {m.seed}, synthetic data; step time p50 {_ms(st['p50'])}, p95 "
        f"{_ms(st['p95'])}, mean {_ms(st['mean'])}, min {_ms(st['min'])}, max {_ms(st['max'])}; "
        f"{m.flops_per_step:,} FLOPs per step (FlopCounterMode), {tflops:.3g} TFLOP/s achieved; "
        f"{m.params:,} trainable parameters{load_text}"
    )


def memory_detail(m: Any, command: str) -> str:
    base = m.baseline_memory_bytes
    when = "resident before the model was built" if m.device == "cpu" else "allocated before the first step"
    base_text = "" if base is None else f"; {base / 2**20:.1f} MiB {when}"
    return (
        f"schedbench profile run of {m.date}: `{command}`; peak {m.peak_memory_bytes / 2**20:.1f} MiB over "
        f"{m.warmup} warm-up and {m.steps} timed steps at batch size {m.batch_size}{base_text}"
    )


def job_key(m: Any) -> str:
    """The catalogue key of a measurement's job type: ``<workload key>-bs<batch size>``."""
    return f"{m.key}-bs{m.batch_size}"


def build_fragment(
    measurements: Sequence[Any],
    workload: Any,
    command: str,
    catalogue: Catalogue | None = None,
    *,
    gpu_type: str | None = None,
) -> Catalogue:
    """A catalogue fragment for ``measurements`` (all of ``workload``, one device).

    Args:
        measurements: :class:`~schedbench.profiler.measure.Measurement` objects (one per batch size).
        workload: the :class:`~schedbench.profiler.workloads.Workload` measured.
        command: the command line, for the provenance.
        catalogue: the catalogue whose GPU types a CUDA device is matched against (default: the
            layered catalogue, loaded only for a CUDA device).
        gpu_type: the catalogue GPU id of a CUDA device (overrides the name match).

    Raises:
        ProfileError: no measurement, several devices, a repeated batch size, an unknown --gpu-type.
    """
    if not measurements:
        raise ProfileError("no measurement to write")
    infos = {DeviceInfo(**m.device_info) for m in measurements}
    if len({(i.kind, i.name, i.index, i.threads) for i in infos}) != 1:
        raise ProfileError("the measurements of one fragment must come from one device")
    info = next(iter(infos))
    if info.kind == "cpu":
        if gpu_type is not None:
            raise ProfileError("--gpu-type applies to CUDA devices; a CPU measurement gets its own CPU type")
        spec = _cpu_spec(info)
        spec_sources: dict[str, Source] = {}
    else:
        if catalogue is None:
            from schedbench.catalogue.build import load_catalogue

            catalogue = load_catalogue()
        spec, spec_sources = _cuda_spec(info, catalogue, gpu_type)
    unit = f"{workload.samples}/s"
    jobs: dict[str, JobType] = {}
    for m in measurements:
        key = job_key(m)
        if key in jobs:
            raise ProfileError(f"batch size {m.batch_size} measured twice")
        hardware = DeviceInfo(**m.device_info).summary()
        tp = Figure(
            _sig(m.throughput),
            unit,
            Provenance(
                MEASURED,
                SOURCE_KEY,
                figure_detail(m, command),
                hardware,
                f"{METHOD}: {m.timing_method}; throughput = batch size x timed steps / their wall time; a step is "
                "zero_grad, forward, loss, backward and the optimizer step on one synthetic batch",
            ),
        )
        memory = {}
        if m.peak_memory_bytes is not None:
            memory[spec.id] = Figure(
                _sig(m.peak_memory_bytes / 2**30, 4),
                "GiB",
                Provenance(MEASURED, SOURCE_KEY, memory_detail(m, command), hardware, f"{METHOD}: {m.memory_method}"),
            )
        jobs[key] = JobType(
            key=key,
            family=workload.family,
            model=workload.model,
            task=workload.task,
            source=SOURCE_KEY,
            batch_size=m.batch_size,
            precision="fp32",
            unit=unit,
            description=(
                f"{workload.description} Batch size {m.batch_size}: {m.params:,} trainable parameters, "
                f"{m.flops_per_step:,} FLOPs per training step (torch FlopCounterMode: matrix products and "
                "convolutions, forward and backward)."
            ),
            throughput={(spec.id, 1): tp},
            memory_gib=memory,
        )
    sources = {SOURCE_KEY: SOURCE, **spec_sources}
    return Catalogue(f"profile-{measurements[0].date}", sources, {spec.id: spec}, jobs)


__all__ = [
    "CPU_CHIP",
    "METHOD",
    "SOURCE",
    "SOURCE_KEY",
    "build_fragment",
    "cpu_type_id",
    "figure_detail",
    "job_key",
    "match_gpu",
]
