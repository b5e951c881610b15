"""The catalogue's data model: figures with provenance, GPU specs, job types, the catalogue.

Every number in the catalogue is a :class:`Figure`: a value, its unit and a :class:`Provenance`
saying where it comes from. A provenance is one of three kinds:

``measured``
    quoted from a published measurement (``source`` names it, ``detail`` says where in it: file,
    key or row and column); ``rule`` is None.
``specified``
    quoted from a vendor specification (a datasheet: memory capacity, peak TFLOP/s); ``rule`` is None.
``derived``
    computed from other figures by one of the documented rules of :mod:`schedbench.catalogue.derive`
    (or :mod:`schedbench.catalogue.gpus` for datasheet arithmetic); ``rule`` names the rule and its
    inputs, with their values. A derived figure is an estimate, never a measurement.

A figure that neither source gives and no rule derives is absent: the accessors return None and
:meth:`Catalogue.coverage` reports it as ``"unknown"``.

The JSON form (``schema: "schedbench/catalogue/1"``) is :meth:`Catalogue.to_dict`; it is written
with :func:`schedbench.jsonio.dumps_canonical` and read back strictly by :meth:`Catalogue.from_dict`
(every malformed value raises :class:`~schedbench.errors.InputError` naming the file and the JSON
path), so that ``to_dict(from_dict(doc))`` writes the same bytes.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from schedbench.errors import InputError, describe

SCHEMA = "schedbench/catalogue/1"

MEASURED = "measured"
DERIVED = "derived"
SPECIFIED = "specified"
KINDS = (MEASURED, DERIVED, SPECIFIED)

#: Job families. ``cnn`` convolutional vision models, ``rnn`` recurrent (LSTM) models, ``transformer``
#: attention models, ``gan`` generative adversarial, ``recommendation`` recommender models, ``rl``
#: reinforcement learning, ``speech`` speech synthesis.
FAMILIES = ("cnn", "rnn", "transformer", "gan", "recommendation", "rl", "speech")

#: Placements of a multi-GPU job (Gavel measured both): workers packed onto as few servers as
#: possible, or spread over separate servers.
CONSOLIDATED = "consolidated"
UNCONSOLIDATED = "unconsolidated"

#: Numbers of GPUs a throughput may be given for.
GPU_COUNTS = (1, 2, 4, 8)

_KEY_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


@dataclass(frozen=True)
class Source:
    """A published source the catalogue quotes.

    Attributes:
        key: short stable id (``"gavel"``, ``"lambda"``, ``"nvidia-v100"``...), used by provenances.
        citation: full citation.
        url_or_file: where the figures can be found (repository path, web page).
        licence: the source's licence, or how its figures may be used.
    """

    key: str
    citation: str
    url_or_file: str
    licence: str

    def to_dict(self) -> dict[str, Any]:
        """The source as its JSON object."""
        return {"key": self.key, "citation": self.citation, "url_or_file": self.url_or_file, "licence": self.licence}


@dataclass(frozen=True)
class Provenance:
    """Where a figure comes from.

    Attributes:
        kind: ``"measured"``, ``"specified"`` or ``"derived"``.
        source: key of the catalogue source the figure is quoted from (for a derived figure: the
            source of the figure it was derived from).
        detail: where in the source: file and key, row and column, or datasheet line.
        hardware: the hardware the figure is for (GPU, count, placement).
        method: how the source obtained it (measurement procedure, vendor specification...).
        rule: for a derived figure, the rule and its inputs with their values; None otherwise.
        inputs: keys of every source the figure depends on (``source`` first).
    """

    kind: str
    source: str
    detail: str
    hardware: str
    method: str
    rule: str | None = None
    inputs: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"provenance kind must be one of {KINDS}, not {self.kind!r}")
        if (self.kind == DERIVED) != bool(self.rule):
            raise ValueError("a derived figure needs a rule, and only a derived figure has one")
        if not self.inputs:
            object.__setattr__(self, "inputs", (self.source,))
        elif self.inputs[0] != self.source:
            raise ValueError("provenance inputs must start with its source")

    def to_dict(self) -> dict[str, Any]:
        """The provenance as its JSON object."""
        return {
            "kind": self.kind,
            "source": self.source,
            "detail": self.detail,
            "hardware": self.hardware,
            "method": self.method,
            "rule": self.rule,
            "inputs": list(self.inputs),
        }


@dataclass(frozen=True)
class Figure:
    """A number with its unit and provenance.

    ``suspect``: None, or why the figure failed a plausibility check
    (:mod:`schedbench.catalogue.plausibility`): it is kept with its source, left out of the derivation
    rules' inputs and, by default, of generated instances.
    """

    value: float
    unit: str
    provenance: Provenance
    suspect: str | None = None

    @property
    def kind(self) -> str:
        """``"measured"``, ``"specified"`` or ``"derived"``."""
        return self.provenance.kind

    @property
    def is_derived(self) -> bool:
        """Whether the figure was derived by a rule (not measured or published)."""
        return self.provenance.kind == DERIVED

    def to_dict(self) -> dict[str, Any]:
        """The figure as its JSON object (``suspect`` only when set)."""
        out = {"value": self.value, "unit": self.unit, "provenance": self.provenance.to_dict()}
        if self.suspect is not None:
            out["suspect"] = self.suspect
        return out


@dataclass(frozen=True)
class GpuSpec:
    """A GPU type.

    Attributes:
        id: canonical id (``"V100"``, ``"A100-SXM4-80GB"``...; see :mod:`schedbench.catalogue.gpus`).
        name: full product name.
        chip: the GPU model it is a variant of (``"A100"``), to group variants.
        memory_gib: memory capacity of one GPU (GiB).
        peak_fp32_tflops: peak FP32 TFLOP/s of one GPU, or None.
        aliases: the names the sources use for it (``"v100"``, ``"LambdaCloud V100 16GB"``...).
    """

    id: str
    name: str
    chip: str
    memory_gib: Figure
    peak_fp32_tflops: Figure | None = None
    aliases: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The GPU spec as its JSON object."""
        return {
            "id": self.id,
            "name": self.name,
            "chip": self.chip,
            "memory_gib": self.memory_gib.to_dict(),
            "peak_fp32_tflops": None if self.peak_fp32_tflops is None else self.peak_fp32_tflops.to_dict(),
            "aliases": list(self.aliases),
        }


@dataclass(frozen=True)
class Colocation:
    """Throughputs of a job sharing one GPU with another job (space sharing), measured in pairs.

    ``pairs[other_key] = (self, other)``: this job's and the other job's throughput (in ``unit``)
    while both run on one GPU. ``(0, 0)`` means the pair did not run together (the source records a
    failed co-located run, for example out of memory, as zero).
    """

    unit: str
    provenance: Provenance
    pairs: dict[str, tuple[float, float]]

    def to_dict(self) -> dict[str, Any]:
        """The colocation table as its JSON object (pairs sorted by key)."""
        return {
            "unit": self.unit,
            "provenance": self.provenance.to_dict(),
            "pairs": {k: [a, b] for k, (a, b) in sorted(self.pairs.items())},
        }


@dataclass(frozen=True)
class JobType:
    """A type of training job: a model at a batch size (and precision), with its figures per GPU.

    Attributes:
        key: stable id, e.g. ``"resnet50-bs64"`` (Gavel) or ``"resnet50-fp32-maxbatch"`` (Lambda).
        family: one of :data:`FAMILIES`.
        model: model name as the source gives it.
        task: task and data set.
        source: key of the source that defines this job type.
        batch_size: the per-GPU batch size, or None when it is not fixed (Lambda's jobs run the largest
            batch that fits each GPU: see ``max_batch``) or the model has none (A3C).
        precision: ``"fp32"`` or ``"fp16"`` (mixed precision), or None when the source does not say.
        unit: what one unit of throughput is (``"iterations/s"``, ``"images/s"``...).
        description: one paragraph on what the job is and how its figures were obtained.
        throughput: ``(gpu, num_gpus) -> Figure``, consolidated placement (all on one server when it
            fits; the only placement Lambda measured).
        throughput_unconsolidated: ``(gpu, num_gpus) -> Figure`` for multi-GPU jobs whose workers are
            spread over separate servers (Gavel only; num_gpus >= 2).
        max_batch: ``(gpu, num_gpus) -> Figure``: the batch size the source ran, all GPUs together
            (Lambda: the largest that fitted).
        memory_gib: ``gpu -> Figure``: GPU memory one worker needs at this job's batch size.
        compute_share: ``gpu -> Figure``: the fraction of its isolated throughput the job keeps when
            it shares one GPU with another job (see :func:`schedbench.catalogue.derive.compute_share`).
            Not a compute demand: a low share means the job suffers most from sharing.
        colocation: ``gpu -> Colocation``: the measured pairwise co-location throughputs (one GPU).
    """

    key: str
    family: str
    model: str
    task: str
    source: str
    batch_size: int | None
    precision: str | None
    unit: str
    description: str
    throughput: dict[tuple[str, int], Figure] = field(default_factory=dict)
    throughput_unconsolidated: dict[tuple[str, int], Figure] = field(default_factory=dict)
    max_batch: dict[tuple[str, int], Figure] = field(default_factory=dict)
    memory_gib: dict[str, Figure] = field(default_factory=dict)
    compute_share: dict[str, Figure] = field(default_factory=dict)
    colocation: dict[str, Colocation] = field(default_factory=dict)

    def gpus(self) -> list[str]:
        """GPU ids with a throughput figure (any count, any kind), sorted."""
        return sorted({g for g, _ in self.throughput})

    def gpu_status(self, gpu: str) -> str:
        """``"measured"`` when a source measured this job's throughput on ``gpu`` (any GPU count),
        else ``"derived"`` when a rule estimated one, else ``"unknown"``."""
        kinds = {f.kind for (g, _), f in self.throughput.items() if g == gpu}
        if MEASURED in kinds:
            return MEASURED
        if DERIVED in kinds:
            return DERIVED
        return "unknown"

    def figures(self) -> Iterable[tuple[str, Figure]]:
        """Every figure of the job with a label saying what it is (for listings and checks)."""
        for (g, n), f in sorted(self.throughput.items()):
            yield f"throughput {g} x{n}", f
        for (g, n), f in sorted(self.throughput_unconsolidated.items()):
            yield f"throughput (unconsolidated) {g} x{n}", f
        for (g, n), f in sorted(self.max_batch.items()):
            yield f"max batch {g} x{n}", f
        for g, f in sorted(self.memory_gib.items()):
            yield f"memory {g}", f
        for g, f in sorted(self.compute_share.items()):
            yield f"compute share {g}", f

    def to_dict(self) -> dict[str, Any]:
        """The job type as its JSON object."""
        return {
            "key": self.key,
            "family": self.family,
            "model": self.model,
            "task": self.task,
            "source": self.source,
            "batch_size": self.batch_size,
            "precision": self.precision,
            "unit": self.unit,
            "description": self.description,
            "throughput": _by_gpu_count(self.throughput),
            "throughput_unconsolidated": _by_gpu_count(self.throughput_unconsolidated),
            "max_batch": _by_gpu_count(self.max_batch),
            "memory_gib": {g: f.to_dict() for g, f in sorted(self.memory_gib.items())},
            "compute_share": {g: f.to_dict() for g, f in sorted(self.compute_share.items())},
            "colocation": {g: c.to_dict() for g, c in sorted(self.colocation.items())},
        }


def _by_gpu_count(figures: Mapping[tuple[str, int], Figure]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for (g, n), f in sorted(figures.items()):
        out.setdefault(g, {})[str(n)] = f.to_dict()
    return out


@dataclass(frozen=True)
class ImportResult:
    """What an importer read: a catalogue fragment and notes on what it kept, skipped or chose."""

    catalogue: Catalogue
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Catalogue:
    """A versioned catalogue of job types, GPU types and the sources every figure cites.

    The accessors instance generators need: :meth:`job_types_in` / ``job_types`` (key, family),
    :meth:`throughput` (per GPU type and GPU count), :meth:`memory`, :meth:`compute_share`,
    :meth:`gpu_memory_gib` (capacity of a GPU type). All return None for an unknown figure.
    """

    version: str
    sources: dict[str, Source]
    gpus: dict[str, GpuSpec]
    job_types: dict[str, JobType]

    # ------------------------------------------------------------------ accessors

    def job(self, key: str) -> JobType:
        """The job type ``key``; KeyError (listing a few keys) when there is none."""
        try:
            return self.job_types[key]
        except KeyError:
            raise KeyError(f"no job type {key!r} in the catalogue (e.g. {sorted(self.job_types)[:5]})") from None

    def throughput(self, job: str, gpu: str, num_gpus: int = 1, *, placement: str = CONSOLIDATED) -> Figure | None:
        """Throughput of job type ``job`` on ``num_gpus`` GPUs of type ``gpu`` (in the job's unit),
        or None when unknown. ``placement`` is ``"consolidated"`` (default) or ``"unconsolidated"``
        (workers on separate servers; only Gavel measured it, for num_gpus >= 2)."""
        jt = self.job(job)
        if placement == CONSOLIDATED:
            return jt.throughput.get((gpu, num_gpus))
        if placement == UNCONSOLIDATED:
            return jt.throughput_unconsolidated.get((gpu, num_gpus))
        raise ValueError(f"placement must be {CONSOLIDATED!r} or {UNCONSOLIDATED!r}, not {placement!r}")

    def memory(self, job: str, gpu: str) -> Figure | None:
        """GPU memory (GiB) one worker of ``job`` needs on ``gpu``, or None when unknown."""
        return self.job(job).memory_gib.get(gpu)

    def compute_share(self, job: str, gpu: str) -> Figure | None:
        """The job's compute share on ``gpu`` (fraction of its isolated throughput kept when sharing
        the GPU with another job; not a demand: see docs/catalogue.md, R3), or None when unknown."""
        return self.job(job).compute_share.get(gpu)

    def gpu_memory_gib(self, gpu: str) -> float:
        """Memory capacity (GiB) of one GPU of type ``gpu``."""
        return self.gpus[gpu].memory_gib.value

    def families(self) -> list[str]:
        """The families that have job types, in :data:`FAMILIES` order."""
        present = {jt.family for jt in self.job_types.values()}
        return [f for f in FAMILIES if f in present]

    def job_types_in(self, family: str) -> list[JobType]:
        """Job types of one family, by key."""
        if family not in FAMILIES:
            raise ValueError(f"unknown family {family!r}; expected one of {list(FAMILIES)}")
        return [jt for _, jt in sorted(self.job_types.items()) if jt.family == family]

    def coverage(self) -> dict[str, dict[str, str]]:
        """``job key -> gpu id -> "measured" | "derived" | "unknown"`` over every job and GPU type
        (see :meth:`JobType.gpu_status`)."""
        return {k: {g: jt.gpu_status(g) for g in sorted(self.gpus)} for k, jt in sorted(self.job_types.items())}

    def coverage_counts(self) -> dict[str, int]:
        """How many (job type, GPU type) cells are measured, derived and unknown."""
        counts = {MEASURED: 0, DERIVED: 0, "unknown": 0}
        for row in self.coverage().values():
            for status in row.values():
                counts[status] += 1
        return counts

    def figures(self) -> Iterable[tuple[str, Figure]]:
        """Every figure in the catalogue with a label (GPU specs, then job types)."""
        for g, spec in sorted(self.gpus.items()):
            yield f"gpu {g} memory", spec.memory_gib
            if spec.peak_fp32_tflops is not None:
                yield f"gpu {g} peak fp32", spec.peak_fp32_tflops
        for k, jt in sorted(self.job_types.items()):
            for label, f in jt.figures():
                yield f"{k}: {label}", f

    def provenances(self) -> Iterable[tuple[str, Provenance]]:
        """Every provenance (figures and co-location tables) with a label."""
        for label, f in self.figures():
            yield label, f.provenance
        for k, jt in sorted(self.job_types.items()):
            for g, c in sorted(jt.colocation.items()):
                yield f"{k}: colocation {g}", c.provenance

    # ------------------------------------------------------------------ combining

    def merge(self, other: Catalogue, version: str | None = None) -> Catalogue:
        """The union of two catalogues (fragments). A source or GPU present in both must be equal;
        a job type may be in only one. Raises ValueError on a conflict."""
        sources = dict(self.sources)
        for k, s in other.sources.items():
            if k in sources and sources[k] != s:
                raise ValueError(f"source {k!r} differs between the catalogues being merged")
            sources[k] = s
        gpus = dict(self.gpus)
        for k, g in other.gpus.items():
            if k in gpus and gpus[k] != g:
                if gpus[k].memory_gib == g.memory_gib and gpus[k].peak_fp32_tflops == g.peak_fp32_tflops:
                    g = replace(g, aliases=tuple(sorted(set(gpus[k].aliases) | set(g.aliases))))
                else:
                    raise ValueError(f"GPU {k!r} differs between the catalogues being merged")
            gpus[k] = g
        jobs = dict(self.job_types)
        for k, jt in other.job_types.items():
            if k in jobs:
                raise ValueError(f"job type {k!r} is in both catalogues being merged")
            jobs[k] = jt
        return Catalogue(version or self.version, sources, gpus, jobs)

    # ------------------------------------------------------------------ JSON

    def to_dict(self) -> dict[str, Any]:
        """The JSON document (write it with :func:`schedbench.jsonio.dumps_canonical`)."""
        return {
            "schema": SCHEMA,
            "version": self.version,
            "sources": {k: s.to_dict() for k, s in sorted(self.sources.items())},
            "gpus": {k: g.to_dict() for k, g in sorted(self.gpus.items())},
            "job_types": {k: jt.to_dict() for k, jt in sorted(self.job_types.items())},
        }

    @classmethod
    def from_dict(cls, doc: Any, file: str = "<catalogue>") -> Catalogue:
        """Read a catalogue document strictly; InputError (file, JSON path) on anything malformed."""
        return _Reader(file).catalogue(doc)


# ---------------------------------------------------------------------- strict reading


class _Reader:
    """Strict reader of the JSON form; every error names the file and the JSON path."""

    def __init__(self, file: str) -> None:
        self.file = file

    def fail(self, path: str, expected: str, found: Any, *, raw: bool = False) -> InputError:
        return InputError(self.file, path, expected, found if raw else describe(found))

    def obj(self, value: Any, path: str, keys: tuple[str, ...] | None = None) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(path, "an object", value)
        if keys is not None:
            missing = [k for k in keys if k not in value]
            if missing:
                raise self.fail(path, f"an object with key(s) {missing}", f"keys {sorted(value)}", raw=True)
            extra = sorted(set(value) - set(keys))
            if extra:
                raise self.fail(f"{path}.{extra[0]}", f"only the keys {list(keys)}", f"key {extra[0]!r}", raw=True)
        return value

    def string(self, value: Any, path: str, *, empty: bool = False) -> str:
        if not isinstance(value, str) or (not empty and not value):
            raise self.fail(path, "a non-empty string" if not empty else "a string", value)
        return value

    def opt_string(self, value: Any, path: str) -> str | None:
        return None if value is None else self.string(value, path)

    def number(self, value: Any, path: str) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise self.fail(path, "a finite number", value)
        if value < 0:
            raise self.fail(path, "a number >= 0", value)
        return float(value)

    def key(self, value: str, path: str, what: str) -> str:
        if not _KEY_RE.match(value):
            raise self.fail(path, f"a {what} id of letters, digits, '.', '_' or '-'", value)
        return value

    def provenance(self, value: Any, path: str, sources: Mapping[str, Source]) -> Provenance:
        d = self.obj(value, path, ("kind", "source", "detail", "hardware", "method", "rule", "inputs"))
        kind = self.string(d["kind"], f"{path}.kind")
        if kind not in KINDS:
            raise self.fail(f"{path}.kind", f"one of {list(KINDS)}", kind)
        source = self.string(d["source"], f"{path}.source")
        rule = self.opt_string(d["rule"], f"{path}.rule")
        if kind == DERIVED and rule is None:
            raise self.fail(f"{path}.rule", "a rule (the figure is derived)", rule)
        if kind != DERIVED and rule is not None:
            raise self.fail(f"{path}.rule", f"null (a {kind} figure has no rule)", rule)
        if not isinstance(d["inputs"], list) or not d["inputs"]:
            raise self.fail(f"{path}.inputs", "a non-empty array of source keys", d["inputs"])
        inputs = tuple(self.string(x, f"{path}.inputs[{i}]") for i, x in enumerate(d["inputs"]))
        if inputs[0] != source:
            raise self.fail(f"{path}.inputs[0]", f"the provenance's source {source!r}", inputs[0])
        for i, k in enumerate(inputs):
            if k not in sources:
                raise self.fail(f"{path}.inputs[{i}]" if i else f"{path}.source", "a key of $.sources", k)
        return Provenance(
            kind,
            source,
            self.string(d["detail"], f"{path}.detail"),
            self.string(d["hardware"], f"{path}.hardware"),
            self.string(d["method"], f"{path}.method"),
            rule,
            inputs,
        )

    def figure(self, value: Any, path: str, sources: Mapping[str, Source]) -> Figure:
        d = (
            self.obj(
                value,
                path,
                ("value", "unit", "provenance", "suspect") if "suspect" in value else ("value", "unit", "provenance"),
            )
            if isinstance(value, dict)
            else self.obj(value, path)
        )
        return Figure(
            self.number(d["value"], f"{path}.value"),
            self.string(d["unit"], f"{path}.unit"),
            self.provenance(d["provenance"], f"{path}.provenance", sources),
            self.opt_string(d.get("suspect"), f"{path}.suspect"),
        )

    def per_gpu(
        self, value: Any, path: str, sources: Mapping[str, Source], gpus: Mapping[str, Any]
    ) -> dict[str, Figure]:
        out = {}
        for g, f in self.obj(value, path).items():
            if g not in gpus:
                raise self.fail(f"{path}.{g}", "a GPU id of $.gpus", g)
            out[g] = self.figure(f, f"{path}.{g}", sources)
        return out

    def per_gpu_count(
        self, value: Any, path: str, sources: Mapping[str, Source], gpus: Mapping[str, Any]
    ) -> dict[tuple[str, int], Figure]:
        out = {}
        for g, by_n in self.obj(value, path).items():
            if g not in gpus:
                raise self.fail(f"{path}.{g}", "a GPU id of $.gpus", g)
            for n, f in self.obj(by_n, f"{path}.{g}").items():
                if not re.fullmatch(r"[1-9][0-9]*", n):
                    raise self.fail(f"{path}.{g}", "GPU counts written as positive integers", f"key {n!r}", raw=True)
                out[(g, int(n))] = self.figure(f, f"{path}.{g}['{n}']", sources)
        return out

    def catalogue(self, doc: Any) -> Catalogue:
        """The catalogue of a parsed ``schedbench/catalogue/1`` document; raises at the first bad field."""
        d = self.obj(doc, "$", ("schema", "version", "sources", "gpus", "job_types"))
        if d["schema"] != SCHEMA:
            raise self.fail("$.schema", f"{SCHEMA!r}", d["schema"])
        version = self.string(d["version"], "$.version")
        sources = {k: self.source(k, s) for k, s in self.obj(d["sources"], "$.sources").items()}
        gpus = {k: self.gpu(k, g, sources) for k, g in self.obj(d["gpus"], "$.gpus").items()}
        raw_jobs = self.obj(d["job_types"], "$.job_types")
        jobs = {k: self.job_type(k, j, sources, gpus, raw_jobs) for k, j in raw_jobs.items()}
        return Catalogue(version, sources, gpus, jobs)

    def source(self, k: str, s: Any) -> Source:
        """The source ``$.sources.<k>``."""
        p = f"$.sources.{k}"
        self.key(k, p, "source")
        sd = self.obj(s, p, ("key", "citation", "url_or_file", "licence"))
        if sd["key"] != k:
            raise self.fail(f"{p}.key", f"the source's own key {k!r}", sd["key"])
        return Source(
            k,
            self.string(sd["citation"], f"{p}.citation"),
            self.string(sd["url_or_file"], f"{p}.url_or_file"),
            self.string(sd["licence"], f"{p}.licence"),
        )

    def gpu(self, k: str, g: Any, sources: Mapping[str, Source]) -> GpuSpec:
        """The GPU spec ``$.gpus.<k>``."""
        p = f"$.gpus.{k}"
        self.key(k, p, "GPU")
        gd = self.obj(g, p, ("id", "name", "chip", "memory_gib", "peak_fp32_tflops", "aliases"))
        if gd["id"] != k:
            raise self.fail(f"{p}.id", f"the GPU's own id {k!r}", gd["id"])
        if not isinstance(gd["aliases"], list):
            raise self.fail(f"{p}.aliases", "an array of strings", gd["aliases"])
        peak = gd["peak_fp32_tflops"]
        return GpuSpec(
            k,
            self.string(gd["name"], f"{p}.name"),
            self.string(gd["chip"], f"{p}.chip"),
            self.figure(gd["memory_gib"], f"{p}.memory_gib", sources),
            None if peak is None else self.figure(peak, f"{p}.peak_fp32_tflops", sources),
            tuple(self.string(a, f"{p}.aliases[{i}]") for i, a in enumerate(gd["aliases"])),
        )

    def job_type(
        self, k: str, j: Any, sources: Mapping[str, Source], gpus: Mapping[str, GpuSpec], raw_jobs: Mapping[str, Any]
    ) -> JobType:
        """The job type ``$.job_types.<k>`` (``raw_jobs``: every job type's key, for colocation pairs)."""
        p = f"$.job_types.{k}"
        self.key(k, p, "job type")
        jd = self.obj(
            j,
            p,
            (
                "key",
                "family",
                "model",
                "task",
                "source",
                "batch_size",
                "precision",
                "unit",
                "description",
                "throughput",
                "throughput_unconsolidated",
                "max_batch",
                "memory_gib",
                "compute_share",
                "colocation",
            ),
        )
        if jd["key"] != k:
            raise self.fail(f"{p}.key", f"the job type's own key {k!r}", jd["key"])
        family = self.string(jd["family"], f"{p}.family")
        if family not in FAMILIES:
            raise self.fail(f"{p}.family", f"one of {list(FAMILIES)}", family)
        source = self.string(jd["source"], f"{p}.source")
        if source not in sources:
            raise self.fail(f"{p}.source", "a key of $.sources", source)
        bs = jd["batch_size"]
        if bs is not None and (isinstance(bs, bool) or not isinstance(bs, int) or bs < 1):
            raise self.fail(f"{p}.batch_size", "a positive integer or null", bs)
        colocation = {
            g: self.colocation(p, g, c, sources, gpus, raw_jobs)
            for g, c in self.obj(jd["colocation"], f"{p}.colocation").items()
        }
        return JobType(
            key=k,
            family=family,
            model=self.string(jd["model"], f"{p}.model"),
            task=self.string(jd["task"], f"{p}.task"),
            source=source,
            batch_size=bs,
            precision=self.opt_string(jd["precision"], f"{p}.precision"),
            unit=self.string(jd["unit"], f"{p}.unit"),
            description=self.string(jd["description"], f"{p}.description"),
            throughput=self.per_gpu_count(jd["throughput"], f"{p}.throughput", sources, gpus),
            throughput_unconsolidated=self.per_gpu_count(
                jd["throughput_unconsolidated"], f"{p}.throughput_unconsolidated", sources, gpus
            ),
            max_batch=self.per_gpu_count(jd["max_batch"], f"{p}.max_batch", sources, gpus),
            memory_gib=self.per_gpu(jd["memory_gib"], f"{p}.memory_gib", sources, gpus),
            compute_share=self.per_gpu(jd["compute_share"], f"{p}.compute_share", sources, gpus),
            colocation=colocation,
        )

    def colocation(
        self,
        p: str,
        g: str,
        c: Any,
        sources: Mapping[str, Source],
        gpus: Mapping[str, GpuSpec],
        raw_jobs: Mapping[str, Any],
    ) -> Colocation:
        """The colocation table of GPU ``g`` in the job type at path ``p``."""
        cp = f"{p}.colocation.{g}"
        if g not in gpus:
            raise self.fail(cp, "a GPU id of $.gpus", g)
        cd = self.obj(c, cp, ("unit", "provenance", "pairs"))
        pairs: dict[str, tuple[float, float]] = {}
        for other, ab in self.obj(cd["pairs"], f"{cp}.pairs").items():
            pp = f"{cp}.pairs.{other}"
            if other not in raw_jobs:
                raise self.fail(pp, "a job type key of $.job_types", other)
            if not isinstance(ab, list) or len(ab) != 2:
                raise self.fail(pp, "an array [self, other] of two numbers", ab)
            pairs[other] = (self.number(ab[0], f"{pp}[0]"), self.number(ab[1], f"{pp}[1]"))
        return Colocation(
            self.string(cd["unit"], f"{cp}.unit"), self.provenance(cd["provenance"], f"{cp}.provenance", sources), pairs
        )
