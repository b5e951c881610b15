"""Importer for Gavel's measured throughputs (``scheduler/simulation_throughputs.json``).

Format
------
``{worker_type: {job: {"null": isolated, other_job: [self, other], ...}}}`` where

- ``worker_type`` is ``k80``, ``p100`` or ``v100``, optionally with the suffix ``_unconsolidated``;
- ``job`` and ``other_job`` are Python tuple reprs ``"('<Model> (batch size B)', scale)"`` (A3C and
  CycleGAN have no batch size); ``scale`` is the number of GPUs (1, 2, 4, 8), one worker per GPU;
- ``"null"`` is the job's throughput running alone, ``[self, other]`` the two jobs' throughputs
  while they share the GPU(s) (space sharing); only jobs of the same scale are paired.

Units: iterations (training steps) per second. For a distributed job Gavel's profiler
(``scheduler/scripts/profiling/measure_throughput.py``) adds up the steps/s of its workers, so the
figure for ``scale`` n is the sum over the n workers. A value of 0 is how the profiler records a
run that did not complete (for example out of memory).

Consolidated and unconsolidated
-------------------------------
For a multi-GPU job, throughput depends on where its workers run: Gavel measured it with the
workers *consolidated* (packed onto as few servers as possible, the placement its mechanism
prefers: it assigns workers "in a strided fashion to minimize the number of servers used") and
*unconsolidated* (spread over separate servers), and stores the second under the worker type
``<gpu>_unconsolidated``. Gavel's scheduler uses the plain worker types; the
``_unconsolidated`` ones model placement sensitivity and are left out of its throughput estimator.
The catalogue keeps both: plain worker types give :attr:`JobType.throughput`, the
``_unconsolidated`` ones :attr:`JobType.throughput_unconsolidated` for 2, 4 and 8 GPUs. A
single-GPU job has no placement choice; the file repeats the consolidated values (and pairs)
under the unconsolidated worker types, and those repeats are not imported (a differing repeat is
reported in the notes).

Co-location pairs are imported for single-GPU jobs; the file lists pairs of multi-GPU jobs too,
but in the published file all of them are ``[0, 0]`` (no co-located multi-GPU run), so they are
counted in the notes and not imported.

Citation: D. Narayanan, K. Santhanam, F. Kazhamiaka, A. Phanishayee, M. Zaharia. Heterogeneity-Aware
Cluster Scheduling Policies for Deep Learning Workloads. OSDI 2020. Code and data: MIT licence.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from schedbench import jsonio
from schedbench.catalogue import gpus as gpu_table
from schedbench.catalogue.model import (
    MEASURED,
    Catalogue,
    Colocation,
    Figure,
    ImportResult,
    JobType,
    Provenance,
    Source,
)
from schedbench.errors import InputError, describe

SOURCE = Source(
    "gavel",
    "D. Narayanan, K. Santhanam, F. Kazhamiaka, A. Phanishayee, M. Zaharia. Heterogeneity-Aware Cluster "
    "Scheduling Policies for Deep Learning Workloads. 14th USENIX Symposium on Operating Systems Design and "
    "Implementation (OSDI 20), 2020, pp. 481-498.",
    "https://github.com/stanford-futuredata/gavel (scheduler/simulation_throughputs.json)",
    "MIT (Gavel repository); figures quoted with citation",
)

UNIT = "iterations/s"

_METHOD = (
    "Gavel's throughput profiler: steps per second of the job run alone on the GPU type "
    "(a distributed job's figure is the sum of its workers' steps/s; 0 = the run did not complete)"
)
_PAIR_METHOD = (
    "Gavel's throughput profiler: the two jobs run together on one GPU (space sharing); "
    "[self, other] steps/s, [0, 0] = the pair did not run together"
)


@dataclass(frozen=True)
class _Model:
    key: str
    family: str
    model: str
    task: str
    batched: bool


#: Gavel's job templates (``scheduler/job_table.py``): model name -> catalogue naming and task.
MODELS: dict[str, _Model] = {
    "ResNet-18": _Model("resnet18", "cnn", "ResNet-18", "image classification, CIFAR-10", True),
    "ResNet-50": _Model("resnet50", "cnn", "ResNet-50", "image classification, ImageNet", True),
    "Transformer": _Model("transformer", "transformer", "Transformer", "translation, Multi30k", True),
    "LM": _Model("lstm-lm", "rnn", "LSTM language model", "language modelling, WikiText-2", True),
    "Recommendation": _Model(
        "recommendation", "recommendation", "Recommendation", "recommendation, MovieLens-20M", True
    ),
    "A3C": _Model("a3c", "rl", "A3C", "reinforcement learning, Atari Pong (PongDeterministic-v4)", False),
    "CycleGAN": _Model("cyclegan", "gan", "CycleGAN", "image-to-image translation, monet2photo", False),
}

_JOB_RE = re.compile(r"^\('(?P<name>[^']+?)(?: \(batch size (?P<bs>[0-9]+)\))?', (?P<scale>[0-9]+)\)$")


@dataclass(frozen=True)
class _Job:
    model: _Model
    batch_size: int | None
    scale: int

    @property
    def key(self) -> str:
        return self.model.key if self.batch_size is None else f"{self.model.key}-bs{self.batch_size}"


def _path(*keys: str) -> str:
    return "$" + "".join(f"[{json.dumps(k)}]" for k in keys)


def _parse_job(text: str, file: str, path: str) -> _Job:
    m = _JOB_RE.match(text)
    if m is None:
        raise InputError(file, path, "a job key \"('<Model> (batch size B)', scale)\"", describe(text))
    model = MODELS.get(m.group("name"))
    if model is None:
        raise InputError(file, path, f"one of Gavel's models {sorted(MODELS)}", repr(m.group("name")))
    bs = m.group("bs")
    if model.batched != (bs is not None):
        raise InputError(file, path, f"{'a' if model.batched else 'no'} batch size for {m.group('name')}", repr(text))
    scale = int(m.group("scale"))
    if scale < 1:
        raise InputError(file, path, "a scale (number of GPUs) >= 1", str(scale))
    return _Job(model, None if bs is None else int(bs), scale)


def _number(value: Any, file: str, path: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise InputError(file, path, "a finite number >= 0 (iterations/s)", describe(value))
    return float(value)


def _pairs(
    entry: dict[str, Any], job: _Job, parsed: dict[str, _Job], file: str, worker_type: str, job_text: str
) -> list[tuple[str, float, float]]:
    """The co-location pairs of one entry, in file order: (other job's key, this job's throughput, the other's)."""
    pairs: list[tuple[str, float, float]] = []
    for other_text, value in entry.items():
        if other_text == "null":
            continue
        pp = _path(worker_type, job_text, other_text)
        other = parsed.get(other_text)
        if other is None:
            _parse_job(other_text, file, pp)
            raise InputError(file, pp, f"a job listed under {_path(worker_type)}", repr(other_text))
        if other.scale != job.scale:
            raise InputError(file, pp, f"a job of the same scale ({job.scale})", repr(other_text))
        if not isinstance(value, list) or len(value) != 2:
            raise InputError(file, pp, "an array [self, other] of two throughputs", describe(value))
        pairs.append((other.key, _number(value[0], file, pp + "[0]"), _number(value[1], file, pp + "[1]")))
    return pairs


def _job_type(key: str, rec: dict[str, Any]) -> JobType:
    """The job type of one Gavel job from the figures collected for it (``rec``)."""
    job: _Job = rec["job"]
    m = job.model
    bs_text = f" at batch size {job.batch_size}" if job.batch_size is not None else ""
    return JobType(
        key=key,
        family=m.family,
        model=m.model,
        task=m.task,
        source=SOURCE.key,
        batch_size=job.batch_size,
        precision=None,
        unit=UNIT,
        description=(
            f"{m.model} ({m.task}){bs_text}, one of Gavel's workloads (PyTorch; Gavel's "
            "scheduler/job_table.py). Throughput in training iterations per second, measured by Gavel "
            "on K80, P100 and V100 GPUs alone and co-located in pairs; the file does not state the "
            "numeric precision."
        ),
        throughput=rec["throughput"],
        throughput_unconsolidated=rec["spread"],
        colocation=rec["pairs"],
    )


def read_gavel(path: str | Path) -> ImportResult:
    """Read Gavel's throughput file into a catalogue fragment (job types with measured figures).

    Raises:
        InputError: the file is missing, not JSON, or not in Gavel's format (names the key path).
    """
    file = str(path)
    name = Path(path).name
    doc = jsonio.load(path)
    if not isinstance(doc, dict) or not doc:
        raise InputError(file, "$", "an object of Gavel worker types", describe(doc))
    notes: list[str] = []
    # job key -> fields being collected
    jobs: dict[str, dict[str, Any]] = {}
    used_gpus: dict[str, set[str]] = {}
    multi_pairs = multi_pairs_nonzero = repeats_differing = 0
    for worker_type, table in doc.items():
        base, _, suffix = worker_type.partition("_")
        gpu = gpu_table.GAVEL_WORKER_TYPES.get(base)
        if gpu is None or suffix not in ("", "unconsolidated"):
            raise InputError(
                file,
                _path(worker_type),
                f"a Gavel worker type ({', '.join(gpu_table.GAVEL_WORKER_TYPES)}, optionally with '_unconsolidated')",
                repr(worker_type),
            )
        spread = suffix == "unconsolidated"
        used_gpus.setdefault(gpu, set()).add(base)
        if not isinstance(table, dict):
            raise InputError(file, _path(worker_type), "an object of jobs", describe(table))
        parsed = {k: _parse_job(k, file, _path(worker_type, k)) for k in table}
        for job_text, entry in table.items():
            job = parsed[job_text]
            p = _path(worker_type, job_text)
            if not isinstance(entry, dict) or "null" not in entry:
                raise InputError(file, p, 'an object with the isolated throughput under "null"', describe(entry))
            iso = _number(entry["null"], file, _path(worker_type, job_text, "null"))
            rec = jobs.setdefault(job.key, {"job": job, "throughput": {}, "spread": {}, "pairs": {}})
            detail = f"{name} {_path(worker_type, job_text, 'null')[1:]}"
            where = "consolidated" if job.scale > 1 and not spread else "unconsolidated" if spread else ""
            hardware = f"{job.scale} x NVIDIA {gpu} (Gavel worker type {base!r}), one worker per GPU" + (
                f", {where} placement" if where else ""
            )
            fig = Figure(iso, UNIT, Provenance(MEASURED, SOURCE.key, detail, hardware, _METHOD))
            if spread and job.scale == 1:
                plain = doc.get(base)
                consolidated = plain.get(job_text) if isinstance(plain, dict) else None
                if not isinstance(consolidated, dict) or consolidated.get("null") != entry["null"]:
                    repeats_differing += 1
            elif spread:
                rec["spread"][(gpu, job.scale)] = fig
            else:
                rec["throughput"][(gpu, job.scale)] = fig
            found = _pairs(entry, job, parsed, file, worker_type, job_text)
            if job.scale > 1:  # not imported: counted in a note
                multi_pairs += len(found)
                multi_pairs_nonzero += sum(a > 0 or b > 0 for _, a, b in found)
                continue
            pairs = {key: (a, b) for key, a, b in found}
            if pairs and not spread:
                prov = Provenance(
                    MEASURED,
                    SOURCE.key,
                    f"{name} {_path(worker_type, job_text)[1:]}[<each other job>]",
                    f"one NVIDIA {gpu} (Gavel worker type {base!r}) shared by two jobs",
                    _PAIR_METHOD,
                )
                rec["pairs"][gpu] = Colocation(UNIT, prov, pairs)
    job_types = {key: _job_type(key, rec) for key, rec in jobs.items()}
    if multi_pairs:
        notes.append(
            f"{multi_pairs} co-location pairs of multi-GPU jobs not imported ({multi_pairs_nonzero} of them non-zero)"
        )
    if repeats_differing:
        notes.append(
            f"{repeats_differing} single-GPU entries under an _unconsolidated worker type differ from the "
            "consolidated ones (not imported)"
        )
    zero = sum(
        1
        for jt in job_types.values()
        for f in (*jt.throughput.values(), *jt.throughput_unconsolidated.values())
        if f.value == 0
    )
    if zero:
        notes.append(f"{zero} throughput figures are 0 (runs that did not complete), kept as measured")
    gpus = {g: gpu_table.gpu_spec(g, tuple(sorted(bases))) for g, bases in used_gpus.items()}
    sources = {SOURCE.key: SOURCE, **gpu_table.spec_sources(set(gpus))}
    return ImportResult(Catalogue("fragment:gavel", sources, gpus, job_types), tuple(notes))
