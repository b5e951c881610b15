"""One measurement: a workload's training step at one batch size on one device.

Imports torch: import this module only after :func:`schedbench.profiler.require_torch`.

Procedure (:func:`measure`), documented in docs/profile.md:

1. Seed torch (weights) and a generator (data); build the model(s), an Adam optimizer per model and
   one synthetic batch on the device (inputs of the workload's shapes, targets from the output's
   shape). The same batch is reused every step: no data loading is measured.
2. Reset the peak-memory counter, run ``warmup`` steps (not timed), then ``steps`` timed steps.
   A step is ``zero_grad``, forward, loss, backward, optimizer step (the GAN: a discriminator
   update on B real and B generated images, then a generator update through the frozen
   discriminator). CPU: each step is timed with ``time.perf_counter`` (CPU work is synchronous).
   CUDA: a pair of CUDA events around each step, read after one synchronisation at the end.
   Throughput = batch size x steps / wall time of the timed loop (on CUDA the loop ends with a
   synchronisation).
3. Peak memory: CUDA ``torch.cuda.max_memory_allocated`` since the reset (tensors only, not the
   caching allocator's reserve nor the CUDA context). CPU: the resident set size high-water mark
   (``VmHWM``) after resetting it through ``/proc/self/clear_refs`` once the model and batch are
   built: the process's peak while training, including the interpreter, the torch libraries, the
   model and the batch. Where the reset is not possible the process's lifetime ``ru_maxrss`` is
   used and the method says so. With ``isolate`` (the CLI's default on CPU) each batch size runs in
   a fresh process (:mod:`.worker`), so no memory kept from another measurement can count.
4. FLOPs per step: one more step under ``torch.utils.flop_counter.FlopCounterMode`` with the oneDNN
   and cuDNN kernels disabled, so that recurrent layers decompose into the matrix products it
   counts (fused RNN kernels are otherwise not counted). FlopCounterMode counts matrix products,
   convolutions and attention, forward and backward (2 FLOPs per multiply-add); element-wise
   operations, normalisation, embedding look-ups and the optimizer step count zero.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import gc
import importlib
import os
import resource
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, NoReturn

import numpy as np
import torch
from torch import nn

from schedbench.profiler import OutOfMemoryError, ProfileError
from schedbench.profiler.hardware import describe_device, utc_now
from schedbench.profiler.workloads import TensorSpec, Workload

Progress = Callable[[str, int, int], None]  # (phase "warmup" | "timed", done, total)

TIMING_CPU = "time.perf_counter around each step (CPU work is synchronous)"
TIMING_CUDA = "CUDA events around each step, read after one synchronisation at the end of the timed loop"


@dataclass
class Measurement:
    """The figures of one measurement (all plain Python values; JSON-ready with :meth:`to_dict`).

    ``step_time_s`` holds ``mean``, ``std``, ``min``, ``p5``, ``p50``, ``p95``, ``max`` over the timed
    steps; ``step_times_s`` every timed step. Memory in bytes: ``peak_memory_bytes`` is the figure,
    ``baseline_memory_bytes`` what was resident (CPU) or allocated (CUDA) before the model was built
    (CPU) or before the steps (CUDA). ``flops_per_step`` counts forward and backward FLOPs of one
    step (``flops_by_op`` per aten operator). ``params`` counts trainable parameters.
    """

    workload: str
    key: str
    batch_size: int
    device: str
    steps: int
    warmup: int
    seed: int
    throughput: float
    elapsed_s: float
    step_time_s: dict[str, float]
    step_times_s: list[float]
    peak_memory_bytes: int | None
    baseline_memory_bytes: int | None
    memory_method: str
    flops_per_step: int
    flops_by_op: dict[str, int]
    params: int
    params_total: int
    timing_method: str
    device_info: dict[str, Any]
    date: str
    isolated: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The measurement as a JSON-ready dict (what the isolated worker sends back)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Measurement:
        """The measurement :meth:`to_dict` wrote."""
        return cls(**d)


# ---------------------------------------------------------------------- building


def load_factory(path: str) -> Callable[[], Any]:
    """The callable ``pkg.module:attr`` names (the current directory is importable, as for other
    tools that take import paths)."""
    module_name, _, attr = path.partition(":")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        obj: Any = importlib.import_module(module_name)
    except Exception as exc:  # a user module may fail in any way
        raise ProfileError(
            f"model {path!r}: cannot import {module_name!r}: {type(exc).__name__}: {_first_line(exc)}"
        ) from None
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise ProfileError(f"model {path!r}: module {module_name!r} has no attribute {attr!r}")
        obj = getattr(obj, part)
    if not callable(obj):
        raise ProfileError(f"model {path!r}: {attr!r} is not callable")
    return obj


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else ""


def _dtype(name: str) -> torch.dtype:
    return getattr(torch, name)


def synthetic(spec: TensorSpec, batch: int, gen: torch.Generator, device: torch.device) -> torch.Tensor:
    """A synthetic batch for one input: ints uniform in [0, high), floats N(0, 1)."""
    shape = (batch, *spec.shape)
    if spec.high is not None:
        t = torch.randint(0, spec.high, shape, generator=gen, dtype=torch.int64).to(_dtype(spec.dtype))
    else:
        t = torch.randn(shape, generator=gen).to(_dtype(spec.dtype))
    return t.to(device)


class Trainer:
    """One training step of a workload on one synthetic batch (built by :func:`build_trainer`)."""

    modules: list[nn.Module]
    step: Callable[[], None]


def _supervised(workload: Workload, model: Any, batch: int, device: torch.device, gen: torch.Generator) -> Trainer:
    if not isinstance(model, nn.Module):
        raise ProfileError(
            f"model {workload.name!r}: the factory returned {type(model).__name__}, expected a torch.nn.Module"
        )
    model = model.to(device)
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ProfileError(f"model {workload.name!r}: the model has no trainable parameters")
    opt = torch.optim.Adam(params, lr=1e-3)
    inputs = [synthetic(s, batch, gen, device) for s in workload.inputs]
    try:
        with torch.no_grad():
            probe = model(*inputs)
    except Exception as exc:
        if is_out_of_memory(exc):
            raise OutOfMemoryError(
                f"model {workload.name!r} at batch size {batch} on {device}: the forward pass ran out of memory"
            ) from None
        raise ProfileError(
            f"model {workload.name!r}: the forward pass failed on inputs "
            f"{[s.text() for s in workload.inputs]} at batch size {batch}: {type(exc).__name__}: "
            f"{_first_line(exc)}"
        ) from None
    if not isinstance(probe, torch.Tensor) or not probe.is_floating_point():
        raise ProfileError(
            f"model {workload.name!r}: the forward pass must return one floating-point tensor, "
            f"not {type(probe).__name__}"
        )
    if probe.dim() == 0 or probe.shape[0] != batch:
        raise ProfileError(
            f"model {workload.name!r}: the output's first dimension must be the batch ({batch}), "
            f"found shape {tuple(probe.shape)}"
        )
    if workload.loss == "cross-entropy":
        if probe.dim() < 2:
            raise ProfileError(
                f"model {workload.name!r}: --loss cross-entropy needs class logits in dim 1, found "
                f"output shape {tuple(probe.shape)}"
            )
        target = torch.randint(0, probe.shape[1], (batch, *probe.shape[2:]), generator=gen).to(device)
        loss_fn: nn.Module = nn.CrossEntropyLoss()
    elif workload.loss == "bce":
        target = torch.randint(0, 2, tuple(probe.shape), generator=gen).to(device=device, dtype=probe.dtype)
        loss_fn = nn.BCEWithLogitsLoss()
    else:
        target = torch.randn(tuple(probe.shape), generator=gen).to(device=device, dtype=probe.dtype)
        loss_fn = nn.MSELoss()
    del probe

    def step() -> None:
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(*inputs), target)
        loss.backward()
        opt.step()

    tr = Trainer()
    tr.modules = [model]
    tr.step = step
    return tr


def _gan(workload: Workload, models: Any, batch: int, device: torch.device, gen: torch.Generator) -> Trainer:
    from schedbench.profiler.models import LATENT

    g, d = models
    g, d = g.to(device).train(), d.to(device).train()
    opt_g = torch.optim.Adam([p for p in g.parameters() if p.requires_grad], lr=1e-3)
    opt_d = torch.optim.Adam([p for p in d.parameters() if p.requires_grad], lr=1e-3)
    real = (torch.rand((batch, *workload.inputs[0].shape), generator=gen) * 2 - 1).to(device)  # tanh range
    ones = torch.ones(batch, 1, device=device)
    labels_d = torch.cat([ones, torch.zeros(batch, 1, device=device)])
    bce = nn.BCEWithLogitsLoss()
    d_params = [p for p in d.parameters() if p.requires_grad]

    def step() -> None:
        # discriminator: B real and B generated images, one batch (Keras: discriminator.train_on_batch)
        with torch.no_grad():
            fake = g(torch.randn(batch, LATENT, device=device))
        opt_d.zero_grad(set_to_none=True)
        bce(d(torch.cat([real, fake])), labels_d).backward()
        opt_d.step()
        # generator through the frozen discriminator (Keras: discriminator.trainable = False; gan)
        for p in d_params:
            p.requires_grad_(False)
        opt_g.zero_grad(set_to_none=True)
        bce(d(g(torch.randn(batch, LATENT, device=device))), ones).backward()
        opt_g.step()
        for p in d_params:
            p.requires_grad_(True)

    tr = Trainer()
    tr.modules = [g, d]
    tr.step = step
    return tr


def build_trainer(workload: Workload, batch: int, device: torch.device, seed: int = 0) -> Trainer:
    """Build the model(s), optimizer(s) and one synthetic batch on ``device``."""
    torch.manual_seed(seed)
    gen = torch.Generator(device="cpu").manual_seed(seed)
    factory = load_factory(workload.factory)
    try:
        built = factory()
    except Exception as exc:
        raise ProfileError(
            f"model {workload.name!r}: the factory failed: {type(exc).__name__}: {_first_line(exc)}"
        ) from None
    if workload.kind == "gan":
        return _gan(workload, built, batch, device, gen)
    return _supervised(workload, built, batch, device, gen)


# ---------------------------------------------------------------------- memory


def _proc_status_bytes(field_name: str) -> int | None:
    try:
        with open("/proc/self/status", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith(field_name + ":"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def rss_bytes() -> int | None:
    """Current resident set size (``VmRSS``), or None where /proc is not available."""
    return _proc_status_bytes("VmRSS")


def _ru_maxrss_bytes() -> int:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak if sys.platform == "darwin" else peak * 1024)


def reset_rss_peak() -> bool:
    """Return freed heap to the OS (``malloc_trim``) and reset the RSS high-water mark
    (``/proc/self/clear_refs``, Linux >= 4.0); False when the reset is not possible."""
    gc.collect()
    with contextlib.suppress(Exception):
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.malloc_trim(0)
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as fh:
            fh.write("5")
    except OSError:
        return False
    return _proc_status_bytes("VmHWM") is not None


def rss_peak_bytes(reset_ok: bool) -> int:
    """The RSS high-water mark: ``VmHWM`` (since the reset) or the lifetime ``ru_maxrss``."""
    if reset_ok:
        peak = _proc_status_bytes("VmHWM")
        if peak is not None:
            return peak
    return _ru_maxrss_bytes()


def cpu_memory_method(reset_ok: bool, isolated: bool) -> str:
    where = (
        "a fresh Python process per batch size"
        if isolated
        else "the profiling process (memory the allocator kept from an earlier measurement in it can count)"
    )
    if reset_ok:
        return (
            f"peak resident set size (VmHWM of /proc/self/status) of {where}, reset through /proc/self/clear_refs "
            "after the model and the batch were built: the peak while training, including the interpreter, "
            "the torch libraries, the model and the batch"
        )
    return (
        f"lifetime peak resident set size (getrusage ru_maxrss) of {where}; the high-water mark could not be "
        "reset, so it also covers model construction"
    )


CUDA_MEMORY_METHOD = (
    "torch.cuda.max_memory_allocated since torch.cuda.reset_peak_memory_stats after the model and "
    "the batch were built (tensors only: not the caching allocator's reserve, not the CUDA context)"
)


# ---------------------------------------------------------------------- FLOPs


def count_flops(step: Callable[[], None]) -> tuple[int, dict[str, int]]:
    """FLOPs of one step under FlopCounterMode, with fused oneDNN/cuDNN kernels disabled so that
    recurrent layers decompose into counted matrix products. Returns (total, per aten operator)."""
    from torch.utils.flop_counter import FlopCounterMode

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with torch.backends.mkldnn.flags(enabled=False), torch.backends.cudnn.flags(enabled=False):
            counter = FlopCounterMode(display=False)
            with counter:
                step()
    by_op = {str(op): int(n) for op, n in counter.get_flop_counts().get("Global", {}).items()}
    return int(counter.get_total_flops()), dict(sorted(by_op.items()))


def parameter_counts(modules: list[nn.Module]) -> tuple[int, int]:
    """(trainable, total) parameter counts."""
    trainable = sum(p.numel() for m in modules for p in m.parameters() if p.requires_grad)
    total = sum(p.numel() for m in modules for p in m.parameters())
    return int(trainable), int(total)


# ---------------------------------------------------------------------- measuring


def _stats(times: list[float]) -> dict[str, float]:
    a = np.asarray(times, dtype=np.float64)
    q = np.percentile(a, [5, 50, 95])
    return {
        "mean": float(a.mean()),
        "std": float(a.std(ddof=1)) if len(a) > 1 else 0.0,
        "min": float(a.min()),
        "p5": float(q[0]),
        "p50": float(q[1]),
        "p95": float(q[2]),
        "max": float(a.max()),
    }


def is_out_of_memory(exc: BaseException) -> bool:
    """Whether an exception from a step is an out-of-memory failure."""
    oom = getattr(torch.cuda, "OutOfMemoryError", None)
    return (
        isinstance(exc, MemoryError)
        or (oom is not None and isinstance(exc, oom))
        or any(s in str(exc).lower() for s in ("out of memory", "can't allocate memory"))
    )


def _fail(workload: Workload, batch_size: int, device: str, what: str, exc: BaseException) -> NoReturn:
    where = f"model {workload.name!r} at batch size {batch_size} on {device}: {what}"
    if is_out_of_memory(exc):
        if device.startswith("cuda"):
            torch.cuda.empty_cache()
        raise OutOfMemoryError(f"{where} ran out of memory") from None
    raise ProfileError(f"{where} failed: {type(exc).__name__}: {_first_line(exc)}") from None


def _device(device: str) -> torch.device:
    """The torch device named ``device`` (``cpu``, ``cuda`` or ``cuda:N``), made current when CUDA."""
    dev = torch.device(device)
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            built = "without CUDA" if torch.version.cuda is None else f"with CUDA {torch.version.cuda}"
            raise ProfileError(f"--device {device}: CUDA is not available (torch {torch.__version__}, built {built})")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise ProfileError(f"--device {device}: only {torch.cuda.device_count()} CUDA device(s)")
        dev = torch.device("cuda", dev.index if dev.index is not None else torch.cuda.current_device())
        torch.cuda.set_device(dev)
    elif dev.type != "cpu":
        raise ProfileError(f"--device must be cpu or cuda[:N], not {device!r}")
    return dev


def _timed_cuda(
    trainer: Trainer, dev: torch.device, steps: int, progress: Progress | None
) -> tuple[list[float], float]:
    """Per-step times (CUDA events) and the wall time of ``steps`` steps."""
    torch.cuda.synchronize(dev)
    starts = [torch.cuda.Event(enable_timing=True) for _ in range(steps)]
    ends = [torch.cuda.Event(enable_timing=True) for _ in range(steps)]
    t0 = time.perf_counter()
    for i in range(steps):
        starts[i].record()
        trainer.step()
        ends[i].record()
        if progress:
            progress("timed", i + 1, steps)
    torch.cuda.synchronize(dev)
    elapsed = time.perf_counter() - t0
    return [s.elapsed_time(e) / 1000.0 for s, e in zip(starts, ends, strict=True)], elapsed


def _timed_cpu(trainer: Trainer, steps: int, progress: Progress | None) -> tuple[list[float], float]:
    """Per-step times (``perf_counter``) and the wall time of ``steps`` steps."""
    times: list[float] = []
    t0 = time.perf_counter()
    for i in range(steps):
        a = time.perf_counter()
        trainer.step()
        times.append(time.perf_counter() - a)
        if progress:
            progress("timed", i + 1, steps)
    return times, time.perf_counter() - t0


def measure(
    workload: Workload,
    batch_size: int,
    *,
    device: str = "cpu",
    steps: int = 20,
    warmup: int = 5,
    seed: int = 0,
    threads: int | None = None,
    progress: Progress | None = None,
    isolated: bool = False,
) -> Measurement:
    """Measure ``steps`` training steps of ``workload`` at ``batch_size`` on ``device`` (see the
    module docstring for the procedure).

    Raises:
        ProfileError: the device is not available, the model cannot be built or a step fails
            (``out of memory`` named as such).
    """
    if batch_size < 1 or steps < 1 or warmup < 0:
        raise ProfileError("--batch-size and --steps must be >= 1 and --warmup >= 0")
    if threads is not None:
        torch.set_num_threads(threads)
    dev = _device(device)
    cuda = dev.type == "cuda"
    info = describe_device(torch, "cpu" if not cuda else f"cuda:{dev.index}")
    date = utc_now()
    baseline = rss_bytes() if not cuda else None
    try:
        trainer = build_trainer(workload, batch_size, dev, seed)
    except ProfileError:
        raise
    except Exception as exc:  # moving a model or a batch to the device may fail (out of memory)
        _fail(workload, batch_size, device, "building the model and the batch", exc)
    params, params_total = parameter_counts(trainer.modules)
    if cuda:
        torch.cuda.synchronize(dev)
        baseline = int(torch.cuda.memory_allocated(dev))
        torch.cuda.reset_peak_memory_stats(dev)
        reset_ok = True
    else:
        reset_ok = reset_rss_peak()
    try:
        for i in range(warmup):
            trainer.step()
            if progress:
                progress("warmup", i + 1, warmup)
        if cuda:
            times, elapsed = _timed_cuda(trainer, dev, steps, progress)
            peak: int | None = int(torch.cuda.max_memory_allocated(dev))
            memory_method = CUDA_MEMORY_METHOD
        else:
            times, elapsed = _timed_cpu(trainer, steps, progress)
            peak = rss_peak_bytes(reset_ok)
            memory_method = cpu_memory_method(reset_ok, isolated)
        flops, by_op = count_flops(trainer.step)
    except ProfileError:
        raise
    except Exception as exc:  # a user model may fail in any way
        _fail(workload, batch_size, device, "the training step", exc)
    extra: dict[str, Any] = {}
    with contextlib.suppress(OSError, AttributeError):
        extra["load_average_1min"] = round(os.getloadavg()[0], 2)  # other work on the machine, for the record
    if cuda:
        extra["max_memory_reserved_bytes"] = int(torch.cuda.max_memory_reserved(dev))
        extra["tf32"] = {
            "matmul": bool(torch.backends.cuda.matmul.allow_tf32),
            "cudnn": bool(torch.backends.cudnn.allow_tf32),
        }
    return Measurement(
        workload=workload.name,
        key=workload.key,
        batch_size=batch_size,
        device=str(dev) if cuda else "cpu",
        steps=steps,
        warmup=warmup,
        seed=seed,
        throughput=batch_size * steps / elapsed,
        elapsed_s=elapsed,
        step_time_s=_stats(times),
        step_times_s=times,
        peak_memory_bytes=peak,
        baseline_memory_bytes=baseline,
        memory_method=memory_method,
        flops_per_step=flops,
        flops_by_op=by_op,
        params=params,
        params_total=params_total,
        timing_method=TIMING_CUDA if cuda else TIMING_CPU,
        device_info=info.to_dict(),
        date=date,
        isolated=isolated,
        extra=extra,
    )


__all__ = [
    "CUDA_MEMORY_METHOD",
    "Measurement",
    "Trainer",
    "build_trainer",
    "count_flops",
    "is_out_of_memory",
    "load_factory",
    "measure",
    "parameter_counts",
    "reset_rss_peak",
    "rss_bytes",
    "rss_peak_bytes",
    "synthetic",
]
