"""GPU types: canonical ids, the names the sources use for them, and vendor datasheet facts.

GPU ids
-------
An id is the GPU's model name (``K80``, ``P100``, ``V100``, ``A10``, ``RTX3090``...). When a source
distinguishes variants of one chip that differ in memory or form factor, each variant is its own id,
``<chip>-<form factor>-<memory>``: ``A100-PCIe-40GB``, ``A100-PCIe-80GB``, ``A100-SXM4-80GB``,
``H100-PCIe-80GB``, ``H100-SXM5-80GB`` (the SXM parts run at higher power and clocks, so their
throughput differs). :attr:`GpuSpec.chip` groups variants (``"A100"``).

Gavel's ``k80``, ``p100`` and ``v100`` and Lambda's ``LambdaCloud V100 16GB`` are the same chips as
``K80``, ``P100`` and ``V100``; Gavel's file does not say which memory variant it measured, Lambda
says 16 GB, so ``V100`` is the 16 GB V100 (the smallest V100 variant, a lower bound for either).

One K80 ``GPU`` is one of the two GK210 GPUs of a Tesla K80 board: that is what a cloud instance or
a scheduler allocates as one GPU (and what Gavel's ``k80`` worker is), so its memory is 12 GiB and
its peak is half the board's.

Datasheet facts
---------------
Memory capacities and peak FP32 TFLOP/s are quoted from NVIDIA's datasheets and product pages
(sources ``nvidia-*``) as ``specified`` figures. NVIDIA writes binary capacities as "GB" (a "16 GB"
V100 has 16 GiB of HBM2), so the value is recorded in GiB. Where the catalogue's id does not pin
one variant (the form factor of Gavel's P100 and of both sources' V100), the figure is ``derived``
by the rule "the smallest value among the variants the datasheet lists", a lower bound for the
unknown variant.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from schedbench.catalogue.model import DERIVED, SPECIFIED, Figure, GpuSpec, Provenance, Source

_NV = "NVIDIA datasheet and product page figures, quoted as facts with citation"

#: Vendor sources of the datasheet facts.
SOURCES: dict[str, Source] = {
    s.key: s
    for s in (
        Source(
            "nvidia-k80",
            "NVIDIA Corporation. Tesla K80 GPU Accelerator, datasheet.",
            "https://www.nvidia.com/en-gb/data-center/tesla-k80/",
            _NV,
        ),
        Source(
            "nvidia-p100",
            "NVIDIA Corporation. Tesla P100 GPU Accelerator, datasheet (PCIe and SXM2/NVLink).",
            "https://www.nvidia.com/en-us/data-center/tesla-p100/",
            _NV,
        ),
        Source(
            "nvidia-v100",
            "NVIDIA Corporation. Tesla V100 GPU Accelerator, datasheet (PCIe and SXM2).",
            "https://www.nvidia.com/en-us/data-center/v100/",
            _NV,
        ),
        Source(
            "nvidia-a100",
            "NVIDIA Corporation. NVIDIA A100 Tensor Core GPU, datasheet (40 GB and 80 GB, PCIe and SXM4).",
            "https://www.nvidia.com/en-us/data-center/a100/",
            _NV,
        ),
        Source(
            "nvidia-h100",
            "NVIDIA Corporation. NVIDIA H100 Tensor Core GPU, datasheet (SXM5 and PCIe).",
            "https://www.nvidia.com/en-us/data-center/h100/",
            _NV,
        ),
        Source(
            "nvidia-a10",
            "NVIDIA Corporation. NVIDIA A10 Tensor Core GPU, datasheet.",
            "https://www.nvidia.com/en-us/data-center/products/a10-gpu/",
            _NV,
        ),
        Source(
            "nvidia-rtx8000",
            "NVIDIA Corporation. Quadro RTX 8000, datasheet.",
            "https://www.nvidia.com/en-us/design-visualization/quadro/rtx-8000/",
            _NV,
        ),
        Source(
            "nvidia-rtxa6000",
            "NVIDIA Corporation. NVIDIA RTX A6000, datasheet.",
            "https://www.nvidia.com/en-us/design-visualization/rtx-a6000/",
            _NV,
        ),
        Source(
            "nvidia-rtx6000ada",
            "NVIDIA Corporation. NVIDIA RTX 6000 Ada Generation, datasheet.",
            "https://www.nvidia.com/en-us/design-visualization/rtx-6000/",
            _NV,
        ),
        Source(
            "nvidia-ga102",
            "NVIDIA Corporation. GeForce RTX 3090 specifications; NVIDIA Ampere GA102 GPU "
            "Architecture whitepaper (peak FP32).",
            "https://www.nvidia.com/en-us/geforce/graphics-cards/30-series/rtx-3090-3090ti/",
            _NV,
        ),
        Source(
            "nvidia-ada",
            "NVIDIA Corporation. GeForce RTX 4090 specifications; NVIDIA Ada GPU Architecture whitepaper (peak FP32).",
            "https://www.nvidia.com/en-us/geforce/graphics-cards/40-series/rtx-4090/",
            _NV,
        ),
    )
}

_SPEC = "vendor specification (datasheet)"


@dataclass(frozen=True)
class _Fact:
    value: float
    detail: str
    rule: str | None = None  # None: quoted as is (specified); else derived by this rule


@dataclass(frozen=True)
class _Gpu:
    id: str
    name: str
    chip: str
    source: str
    memory: _Fact
    fp32: _Fact | None


_SMALLEST = "R0 smallest-variant: the id does not pin one variant, so the smallest value the datasheet lists is used"

_TABLE: tuple[_Gpu, ...] = (
    _Gpu(
        "K80",
        "NVIDIA Tesla K80 (one GK210 GPU of the dual-GPU board)",
        "K80",
        "nvidia-k80",
        _Fact(12, "memory size: 24 GB GDDR5 per board, 12 GB per GPU"),
        _Fact(
            4.365,
            "peak single precision: 8.73 TFLOP/s per dual-GPU board with GPU Boost",
            "R0 per-GPU share: board peak 8.73 TFLOP/s / 2 GPUs per board",
        ),
    ),
    _Gpu(
        "P100",
        "NVIDIA Tesla P100",
        "P100",
        "nvidia-p100",
        _Fact(
            12,
            "memory: 12 GB or 16 GB CoWoS HBM2 (PCIe); 16 GB (SXM2)",
            f"{_SMALLEST} (12 GB PCIe; 16 GB PCIe and SXM2); Gavel's file does not name the variant",
        ),
        _Fact(
            9.3,
            "single precision: 9.3 TFLOP/s (PCIe), 10.6 TFLOP/s (SXM2/NVLink)",
            f"{_SMALLEST} (9.3 PCIe; 10.6 SXM2); Gavel's file does not name the form factor",
        ),
    ),
    _Gpu(
        "V100",
        "NVIDIA Tesla V100 16 GB",
        "V100",
        "nvidia-v100",
        _Fact(16, "memory: 16 GB or 32 GB HBM2; Lambda's rows name the 16 GB variant"),
        _Fact(
            14,
            "single precision: 14 TFLOP/s (PCIe), 15.7 TFLOP/s (SXM2)",
            f"{_SMALLEST} (14 PCIe; 15.7 SXM2); neither source names the form factor",
        ),
    ),
    _Gpu(
        "A100-PCIe-40GB",
        "NVIDIA A100 40GB PCIe",
        "A100",
        "nvidia-a100",
        _Fact(40, "GPU memory: 40 GB HBM2 (A100 40GB PCIe)"),
        _Fact(19.5, "FP32: 19.5 TFLOP/s"),
    ),
    _Gpu(
        "A100-PCIe-80GB",
        "NVIDIA A100 80GB PCIe",
        "A100",
        "nvidia-a100",
        _Fact(80, "GPU memory: 80 GB HBM2e (A100 80GB PCIe)"),
        _Fact(19.5, "FP32: 19.5 TFLOP/s"),
    ),
    _Gpu(
        "A100-SXM4-80GB",
        "NVIDIA A100 80GB SXM4",
        "A100",
        "nvidia-a100",
        _Fact(80, "GPU memory: 80 GB HBM2e (A100 80GB SXM)"),
        _Fact(19.5, "FP32: 19.5 TFLOP/s"),
    ),
    _Gpu(
        "H100-PCIe-80GB",
        "NVIDIA H100 80GB PCIe",
        "H100",
        "nvidia-h100",
        _Fact(80, "GPU memory: 80 GB (H100 PCIe)"),
        _Fact(51, "FP32: 51 TFLOP/s (H100 PCIe)"),
    ),
    _Gpu(
        "H100-SXM5-80GB",
        "NVIDIA H100 80GB SXM5",
        "H100",
        "nvidia-h100",
        _Fact(80, "GPU memory: 80 GB HBM3 (H100 SXM)"),
        _Fact(67, "FP32: 67 TFLOP/s (H100 SXM)"),
    ),
    _Gpu(
        "A10",
        "NVIDIA A10",
        "A10",
        "nvidia-a10",
        _Fact(24, "GPU memory: 24 GB GDDR6"),
        _Fact(31.2, "peak FP32: 31.2 TFLOP/s"),
    ),
    _Gpu(
        "RTX8000",
        "NVIDIA Quadro RTX 8000",
        "RTX8000",
        "nvidia-rtx8000",
        _Fact(48, "GPU memory: 48 GB GDDR6"),
        _Fact(16.3, "FP32 performance: 16.3 TFLOP/s"),
    ),
    _Gpu(
        "RTXA6000",
        "NVIDIA RTX A6000",
        "RTXA6000",
        "nvidia-rtxa6000",
        _Fact(48, "GPU memory: 48 GB GDDR6"),
        _Fact(38.7, "single-precision performance: 38.7 TFLOP/s"),
    ),
    _Gpu(
        "RTX6000Ada",
        "NVIDIA RTX 6000 Ada Generation",
        "RTX6000Ada",
        "nvidia-rtx6000ada",
        _Fact(48, "GPU memory: 48 GB GDDR6"),
        _Fact(91.1, "single-precision performance: 91.1 TFLOP/s"),
    ),
    _Gpu(
        "RTX3090",
        "NVIDIA GeForce RTX 3090",
        "RTX3090",
        "nvidia-ga102",
        _Fact(24, "memory: 24 GB GDDR6X"),
        _Fact(35.6, "peak FP32: 35.6 TFLOP/s"),
    ),
    _Gpu(
        "RTX4090",
        "NVIDIA GeForce RTX 4090",
        "RTX4090",
        "nvidia-ada",
        _Fact(24, "memory: 24 GB GDDR6X"),
        _Fact(82.6, "peak FP32: 82.6 TFLOP/s"),
    ),
)

#: Every GPU id the catalogue knows, in table order.
GPU_IDS: tuple[str, ...] = tuple(g.id for g in _TABLE)
_BY_ID = {g.id: g for g in _TABLE}


def _figure(g: _Gpu, fact: _Fact, unit: str) -> Figure:
    prov = Provenance(
        DERIVED if fact.rule else SPECIFIED, g.source, f"{g.name} datasheet: {fact.detail}", g.name, _SPEC, fact.rule
    )
    return Figure(float(fact.value), unit, prov)


def gpu_spec(gpu_id: str, aliases: tuple[str, ...] = ()) -> GpuSpec:
    """The :class:`GpuSpec` of a known GPU id, with the given source aliases."""
    g = _BY_ID[gpu_id]
    return GpuSpec(
        g.id,
        g.name,
        g.chip,
        _figure(g, g.memory, "GiB"),
        None if g.fp32 is None else _figure(g, g.fp32, "TFLOP/s"),
        tuple(sorted(set(aliases))),
    )


def spec_sources(gpu_ids: list[str] | set[str]) -> dict[str, Source]:
    """The datasheet sources the given GPU ids cite."""
    return {_BY_ID[g].source: SOURCES[_BY_ID[g].source] for g in gpu_ids}


# ---------------------------------------------------------------------- source names

#: Gavel's worker types.
GAVEL_WORKER_TYPES = {"k80": "K80", "p100": "P100", "v100": "V100"}

#: Lambda's GPU names (the part after the system prefix and the GPU count), longest first.
LAMBDA_NAMES: tuple[tuple[str, str], ...] = (
    ("Quadro RTX 8000", "RTX8000"),
    ("H100 80GB PCIe Gen5", "H100-PCIe-80GB"),
    ("H100 80GB SXM5", "H100-SXM5-80GB"),
    ("A100 40GB PCIe", "A100-PCIe-40GB"),
    ("A100 80GB PCIe", "A100-PCIe-80GB"),
    ("A100 80GB SXM4", "A100-SXM4-80GB"),
    ("RTX 6000 Ada", "RTX6000Ada"),
    ("RTX A6000", "RTXA6000"),
    ("RTX 3090", "RTX3090"),
    ("RTX 4090", "RTX4090"),
    ("V100 16GB", "V100"),
    ("A10", "A10"),
)

_PREFIX_RE = re.compile(r"^(?:(?P<system>(?![0-9]+x\b)\S+) )?(?:(?P<count>[0-9]+)x ?)?$")


@dataclass(frozen=True)
class LambdaName:
    """A parsed Lambda ``name_gpu``: system (None for Lambda's own unprefixed rows), count, GPU id."""

    system: str | None
    count: int
    gpu: str


def parse_lambda_name(name: str) -> LambdaName | None:
    """Parse ``"[<system> ][<n>x[ ]]<GPU name>"`` (``"LambdaCloud 2x V100 16GB"``, ``"LambdaCloud 4xV100 16GB"``,
    ``"8x H100 80GB SXM5"``, ``"Dell H100 80GB SXM5"``); None when the GPU name is not one the catalogue knows."""
    for suffix, gpu in LAMBDA_NAMES:
        if not name.endswith(suffix):
            continue
        m = _PREFIX_RE.match(name[: len(name) - len(suffix)])
        if m is None:
            continue
        count = int(m.group("count")) if m.group("count") else 1
        return LambdaName(m.group("system"), count, gpu)
    return None
