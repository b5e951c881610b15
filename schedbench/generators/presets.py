"""Named generator parameter sets (``schedbench generate CLASS --preset NAME``).

Two kinds:

* **fixed** presets (:data:`PRESETS`): ``(class, params)``; ``--param`` values given with a preset
  override them.
* **queueing / sweep** presets (:data:`MACROS`): a few preset-level parameters (e.g. ``servers``,
  ``load``, ``scv``) that expand into generator parameters; ``--param`` takes the preset-level
  parameters and, besides them, any generator parameter (applied after the expansion).

  - ``mmc``: M/M/c. ``servers`` single-GPU nodes of one GPU type (``gpu``, default V100),
    homogeneous Poisson arrivals (``diurnal=false``), exponential sizes of mean ``mean_s`` (default
    3,600 s), every job 1 GPU, arrival rate ``load * servers / mean_s`` (``load_basis=model``).
  - ``mg1``: M/G/1. One GPU, Poisson arrivals, log-normal sizes matched by moments to Philly's
    durations: mean 13,135.9 s and squared coefficient of variation 41.34 (82,247 jobs of
    ``philly_jobs_adaptdl.csv``, Qiao et al. OSDI 2021, from Jeon et al. ATC 2019); so
    ``sigma = sqrt(ln(1 + scv))`` = 1.9336 and ``median = mean / sqrt(1 + scv)``. ``mean_s`` and
    ``scv`` override them. Clipping is disabled (1 ms to 10^9 s) so the moments hold.
  - ``philly-1024``: the Philly-fitted generator (durations, GPUs per job, diurnal arrivals) on a
    1,024-GPU cluster of 128 nodes x 8 V100, at offered load ``load`` (sweep it with ``-p load=``).

An instance records the expanded generator parameters (all of them, canonical), so the same preset,
parameters and seed give the same bytes, and the instance can be rebuilt without the preset.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from schedbench.errors import InputError
from schedbench.generators import spec as S  # noqa: N812

PRESETS: dict[str, tuple[str, dict[str, Any]]] = {
    "gap-like": ("placement", {"objective": "min-cost", "cluster": "gavel", "tightness": 0.8, "jobs": 200}),
    "packing": ("placement", {"objective": "min-gpus", "cluster": "modern", "tightness": 0.9, "jobs": 200}),
    "knapsack": (
        "placement",
        {
            "objective": "max-weight",
            "cluster": "gavel",
            "oversubscription": 1.5,
            "jobs": 200,
            "weights": {"1": 2, "2": 1, "4": 1},
        },
    ),
    "gavel-makespan": ("batch", {"objective": "makespan", "cluster": "gavel", "mix": "gavel", "jobs": 200}),
    "weighted-completion": (
        "batch",
        {
            "objective": "weighted-completion",
            "cluster": "gavel",
            "arrival_load": 0.9,
            "weights": {"1": 1, "2": 1, "4": 1},
            "jobs": 200,
        },
    ),
    "tardiness": (
        "batch",
        {
            "objective": "weighted-tardiness",
            "cluster": "gavel",
            "arrival_load": 0.8,
            "deadline_slack": [1.2, 3.0],
            "jobs": 200,
        },
    ),
    "gavel-fairness": (
        "allocation",
        {"objective": "max-min-fairness", "cluster": "gavel", "mix": "gavel", "jobs": 100},
    ),
    "gavel-online": (
        "online",
        {"objective": "mean-jct", "cluster": "gavel", "mix": "gavel", "load": 0.8, "jobs": 1000},
    ),
    "modern-online": ("online", {"objective": "mean-jct", "cluster": "modern", "load": 0.8, "jobs": 1000}),
    # heterogeneous mix (issue #13): the five families in equal parts, per-type throughputs from the catalogue
    "hetero-online": (
        "online",
        {
            "objective": "mean-jct",
            "cluster": "gavel",
            "load": 0.8,
            "jobs": 1000,
            "mix": {
                "family:cnn": 1,
                "family:rnn": 1,
                "family:gan": 1,
                "family:transformer": 1,
                "family:recommendation": 1,
            },
        },
    ),
}

#: Philly's job durations (82,247 jobs of philly_jobs_adaptdl.csv): mean seconds and squared
#: coefficient of variation (variance / mean^2), computed from the trace file.
PHILLY_MEAN_S = 13135.9
PHILLY_SCV = 41.34


@dataclass(frozen=True)
class Macro:
    """A preset with its own parameters: ``specs`` are checked like generator parameters, then
    ``expand(values)`` gives the generator parameters."""

    cls: str
    help: str
    specs: tuple[S.ParamSpec, ...]
    expand: Callable[[dict[str, Any]], dict[str, Any]]


def _gpu(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError("a catalogue GPU type id, e.g. V100")
    return value


_OPEN_CLIP = {"min_duration_s": 0.001, "max_duration_s": 1e9}


def _mmc(v: dict[str, Any]) -> dict[str, Any]:
    return {
        "objective": "mean-jct",
        "cluster": [{"gpu_type": v["gpu"], "nodes": v["servers"], "gpus_per_node": 1}],
        "mix": "all",
        "gang": {"1": 1},
        "duration": {"dist": "exponential", "mean_s": v["mean_s"]},
        "diurnal": False,
        "load": v["load"],
        "load_basis": "model",
        "jobs": v["jobs"],
        "reference_gpu": v["gpu"],
        **_OPEN_CLIP,
    }


def _mg1(v: dict[str, Any]) -> dict[str, Any]:
    sigma = math.sqrt(math.log1p(v["scv"]))
    median = v["mean_s"] / math.sqrt(1.0 + v["scv"])
    return {
        "objective": "mean-jct",
        "cluster": [{"gpu_type": v["gpu"], "nodes": 1, "gpus_per_node": 1}],
        "mix": "all",
        "gang": {"1": 1},
        "duration": {"dist": "lognormal", "median_s": round(median, 6), "sigma": round(sigma, 9)},
        "diurnal": False,
        "load": v["load"],
        "load_basis": "model",
        "jobs": v["jobs"],
        "reference_gpu": v["gpu"],
        **_OPEN_CLIP,
    }


def _philly_1024(v: dict[str, Any]) -> dict[str, Any]:
    return {
        "objective": "mean-jct",
        "cluster": [{"gpu_type": v["gpu"], "nodes": 128, "gpus_per_node": 8}],
        "mix": "all",
        "gang": "philly",
        "duration": "philly",
        "diurnal": True,
        "load": v["load"],
        "jobs": v["jobs"],
        "reference_gpu": v["gpu"],
    }


MACROS: dict[str, Macro] = {
    "mmc": Macro(
        "online",
        "M/M/c: servers single-GPU nodes, Poisson arrivals, exponential sizes",
        (
            S.ParamSpec("servers", 4, "number of servers (single-GPU nodes)", S.positive_int),
            S.ParamSpec("load", 0.8, "offered load rho = lambda * mean_s / servers", S.positive_number),
            S.ParamSpec("jobs", 1000, "number of jobs", S.positive_int),
            S.ParamSpec("mean_s", 3600.0, "mean job size, seconds", S.positive_number),
            S.ParamSpec("gpu", "V100", "the GPU type of every server", _gpu),
        ),
        _mmc,
    ),
    "mg1": Macro(
        "online",
        "M/G/1: one GPU, Poisson arrivals, log-normal sizes with Philly's mean and SCV",
        (
            S.ParamSpec("load", 0.8, "offered load rho = lambda * mean_s", S.positive_number),
            S.ParamSpec("jobs", 1000, "number of jobs", S.positive_int),
            S.ParamSpec("mean_s", PHILLY_MEAN_S, "mean job size, seconds (Philly's)", S.positive_number),
            S.ParamSpec("scv", PHILLY_SCV, "squared coefficient of variation of sizes (Philly's)", S.positive_number),
            S.ParamSpec("gpu", "V100", "the GPU type of the server", _gpu),
        ),
        _mg1,
    ),
    "philly-1024": Macro(
        "online",
        "Philly-fitted jobs and arrivals on 128 nodes x 8 GPUs, load sweepable",
        (
            S.ParamSpec("load", 0.8, "offered load of the arrivals", S.positive_number),
            S.ParamSpec("jobs", 5000, "number of jobs", S.positive_int),
            S.ParamSpec("gpu", "V100", "the GPU type of every node", _gpu),
        ),
        _philly_1024,
    ),
}


def preset_names(cls: str) -> list[str]:
    """Names of the presets of a class, fixed and parametric."""
    return sorted([k for k, v in PRESETS.items() if v[0] == cls] + [k for k, m in MACROS.items() if m.cls == cls])


def resolve(cls: str, preset: str | None, given: Mapping[str, Any], source: str = "--param") -> dict[str, Any]:
    """Generator parameters of ``preset`` (None: none) with ``given`` applied.

    For a fixed preset, ``given`` overrides its parameters. For a parametric preset, the keys of
    ``given`` that name preset parameters feed the expansion and the other keys override the
    expanded generator parameters.

    Raises:
        InputError: an unknown preset for the class, or a bad preset parameter value.
    """
    if preset is None:
        return dict(given)
    if preset in PRESETS and PRESETS[preset][0] == cls:
        return {**PRESETS[preset][1], **given}
    if preset in MACROS and MACROS[preset].cls == cls:
        macro = MACROS[preset]
        names = {s.name for s in macro.specs}
        values = S.parse_params(f"preset {preset}", macro.specs, {k: v for k, v in given.items() if k in names}, source)
        return {**macro.expand(values), **{k: v for k, v in given.items() if k not in names}}
    raise InputError(source, "preset", f"a {cls} preset, one of {preset_names(cls)}", repr(preset))
