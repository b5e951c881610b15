"""Strict readers for the published GPU-cluster trace files, returning numpy columns.

Formats (a header line naming the columns, then one row per record; extra columns are ignored,
the named ones are required; a trailing blank line is allowed, a blank line elsewhere is not):

=================  ====================================================================  ==============
format             required columns                                                      one row is
=================  ====================================================================  ==============
``philly``         ``timestamp, duration, num_gpus, gpu_time, cluster``                  a Philly job
``gavel``          ``duration_s, num_gpus``                                              a sampled job
``alibaba-pods``   ``name, cpu_milli, memory_mib, num_gpu, gpu_milli, gpu_spec, qos,``   a pod (task)
                   ``pod_phase, creation_time, deletion_time, scheduled_time``
``alibaba-nodes``  ``sn, cpu_milli, memory_mib, gpu, model``                             a node
``acme``           ``id, job_num, ... fail_rate_cpu`` (see :data:`ACME_NUMBER_COLUMNS`)   a cluster
=================  ====================================================================  ==============

Files are read with :func:`schedbench.jsonio.read_bytes` (size caps, gzip detected), decoded as
UTF-8 (a BOM is dropped) and split with the :mod:`csv` module. Numbers are checked with a regular
expression before numpy converts a whole column at once: decimal integers for integer columns,
decimal or exponent notation for real columns (no ``nan``/``inf``/``_``). Philly timestamps
``YYYY-MM-DD HH:MM:SS`` are parsed as naive times (no timezone is applied: the wall clock of the
machine reading the file plays no part) and returned as int64 seconds since 1970-01-01 of the
trace's own clock. Every malformed value raises :class:`~schedbench.errors.InputError` naming the
file, ``line L, column C (name)``, what was expected and what was found.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from schedbench import jsonio
from schedbench.errors import InputError

_INT = re.compile(r"[+-]?[0-9]+")
_REAL = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?")
_STAMP = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[ T][0-9]{2}:[0-9]{2}:[0-9]{2}")
#: Largest integer magnitude accepted (float64 instance arrays hold integers exactly up to here).
MAX_INT = 2**53


@dataclass(frozen=True)
class TraceFormat:
    """A trace file format: its name, required columns, where it comes from and its licence."""

    name: str
    columns: tuple[str, ...]
    description: str
    citation: str
    licence: str


PHILLY_CITATION = (
    "M. Jeon, S. Venkataraman, A. Phanishayee, J. Qian, W. Xiao & F. Yang, Analysis of Large-Scale Multi-Tenant "
    "GPU Clusters for DNN Training Workloads, USENIX ATC 2019 (Microsoft Philly trace); job table as published "
    "with A. Qiao et al., Pollux: Co-adaptive Cluster Scheduling for Goodput-Optimized Deep Learning, OSDI 2021 "
    "(AdaptDL repository)"
)
GAVEL_CITATION = (
    "D. Narayanan, K. Santhanam, F. Kazhamiaka, A. Phanishayee & M. Zaharia, Heterogeneity-Aware Cluster "
    "Scheduling Policies for Deep Learning Workloads, OSDI 2020 (Gavel repository: (duration, GPUs) pairs "
    "sampled from the Philly trace of Jeon et al., USENIX ATC 2019)"
)
ALIBABA_CITATION = (
    "Q. Weng, L. Yang, Y. Yu, W. Wang, X. Tang, G. Yang & L. Zhang, Beware of Fragmentation: Scheduling "
    "GPU-Sharing Workloads with Fragmentation Gradient Descent, USENIX ATC 2023 (Alibaba cluster-trace-gpu-v2023, "
    "openb)"
)
ACME_CITATION = (
    "Q. Hu et al., Characterization of Large Language Model Development in the Datacenter, NSDI 2024 (Acme "
    "trace: per-cluster summary of Seren, Kalos and, from earlier studies, Philly, Helios, PAI)"
)

#: Numeric columns of the Acme summary (every one may be empty: not reported for that cluster).
ACME_NUMBER_COLUMNS = (
    "job_num",
    "cpu_job_num",
    "gpu_job_num",
    "avg_run_time_gpu",
    "avg_que_time_gpu",
    "avg_gpu_num",
    "med_run_time_gpu",
    "med_que_time_gpu",
    "med_gpu_num",
    "max_run_time_gpu",
    "max_gpu",
    "complete_rate_gpu",
    "cancel_rate_gpu",
    "fail_rate_gpu",
    "complete_gpu_time",
    "cancel_gpu_time",
    "fail_gpu_time",
    "complete_rate_gpu_time",
    "cancel_rate_gpu_time",
    "fail_rate_gpu_time",
    "avg_run_time_cpu",
    "avg_que_time_cpu",
    "med_run_time_cpu",
    "med_que_time_cpu",
    "complete_rate_cpu",
    "cancel_rate_cpu",
    "fail_rate_cpu",
)

FORMATS: dict[str, TraceFormat] = {
    "philly": TraceFormat(
        "philly",
        ("timestamp", "duration", "num_gpus", "gpu_time", "cluster"),
        "Philly jobs (AdaptDL/Pollux table): submit time, run time (s), GPUs, GPU time (s), virtual cluster",
        PHILLY_CITATION,
        "Apache-2.0 (AdaptDL repository)",
    ),
    "gavel": TraceFormat(
        "gavel",
        ("duration_s", "num_gpus"),
        "Gavel's sample of Philly jobs: run time (s) and GPUs",
        GAVEL_CITATION,
        "MIT (Gavel repository)",
    ),
    "alibaba-pods": TraceFormat(
        "alibaba-pods",
        (
            "name",
            "cpu_milli",
            "memory_mib",
            "num_gpu",
            "gpu_milli",
            "gpu_spec",
            "qos",
            "pod_phase",
            "creation_time",
            "deletion_time",
            "scheduled_time",
        ),
        "Alibaba openb pod list: requests (CPU milli-cores, memory MiB, GPUs, GPU milli), GPU model constraint, "
        "QoS, phase, times (s)",
        ALIBABA_CITATION,
        "no licence file in the trace's folder: figures quoted as facts with citation",
    ),
    "alibaba-nodes": TraceFormat(
        "alibaba-nodes",
        ("sn", "cpu_milli", "memory_mib", "gpu", "model"),
        "Alibaba openb node list: CPU milli-cores, memory MiB, GPU count and model per node",
        ALIBABA_CITATION,
        "no licence file in the trace's folder: figures quoted as facts with citation",
    ),
    "acme": TraceFormat(
        "acme",
        ("id", *ACME_NUMBER_COLUMNS),
        "Acme per-cluster job summary: counts, run/queue times, GPUs per job, completion/cancel/failure rates",
        ACME_CITATION,
        "CC-BY-4.0",
    ),
}


# --------------------------------------------------------------------------- results


@dataclass(frozen=True, eq=False)
class PhillyTrace:
    """Philly jobs, one entry per row, in file order.

    Attributes:
        timestamp: submit time, int64 seconds since 1970-01-01 of the trace's (naive) clock.
        duration: run time (s), > 0.
        num_gpus: GPUs, int64 >= 1.
        gpu_time: GPU time (s), >= 0.
        cluster: virtual cluster id per job (str array).
        line: file line of each row (1-based; the header is line 1).
    """

    file: str
    sha256: str
    timestamp: np.ndarray
    duration: np.ndarray
    num_gpus: np.ndarray
    gpu_time: np.ndarray
    cluster: np.ndarray
    line: np.ndarray

    def __len__(self) -> int:
        return len(self.duration)


@dataclass(frozen=True, eq=False)
class GavelSample:
    """Gavel's Philly sample: ``duration`` (s, > 0), ``num_gpus`` (int64 >= 1), ``line``."""

    file: str
    sha256: str
    duration: np.ndarray
    num_gpus: np.ndarray
    line: np.ndarray

    def __len__(self) -> int:
        return len(self.duration)


@dataclass(frozen=True, eq=False)
class AlibabaPods:
    """Alibaba openb pods, in file order.

    Attributes:
        name: pod names (str array).
        cpu_milli, memory_mib, num_gpu, gpu_milli: int64 requests (``gpu_milli`` in 0..1000: the share
            of each GPU, 1000 = a whole GPU).
        gpu_spec: per pod, the tuple of GPU models it may run on (``()`` = no constraint).
        qos, pod_phase: str arrays.
        creation_time, deletion_time: float seconds; ``scheduled_time``: float, NaN where empty.
        line: file line of each row.
    """

    file: str
    sha256: str
    name: np.ndarray
    cpu_milli: np.ndarray
    memory_mib: np.ndarray
    num_gpu: np.ndarray
    gpu_milli: np.ndarray
    gpu_spec: tuple[tuple[str, ...], ...]
    qos: np.ndarray
    pod_phase: np.ndarray
    creation_time: np.ndarray
    deletion_time: np.ndarray
    scheduled_time: np.ndarray
    line: np.ndarray

    def __len__(self) -> int:
        return len(self.name)


@dataclass(frozen=True, eq=False)
class AlibabaNodes:
    """Alibaba openb nodes: ``sn`` (str), ``cpu_milli``, ``memory_mib``, ``gpu`` (int64), ``model`` (str)."""

    file: str
    sha256: str
    sn: np.ndarray
    cpu_milli: np.ndarray
    memory_mib: np.ndarray
    gpu: np.ndarray
    model: np.ndarray
    line: np.ndarray

    def __len__(self) -> int:
        return len(self.sn)


@dataclass(frozen=True, eq=False)
class AcmeSummary:
    """The Acme per-cluster summary: ``clusters`` (ids, file order) and ``values[cluster][column]``
    (float, or None where the cell is empty)."""

    file: str
    sha256: str
    clusters: tuple[str, ...]
    values: dict[str, dict[str, float | None]]

    def __len__(self) -> int:
        return len(self.clusters)


# --------------------------------------------------------------------------- the CSV table


def _show(text: str, limit: int = 40) -> str:
    return repr(text if len(text) <= limit else text[:limit] + "...")


class _Table:
    """A CSV file split into a header and rows of strings, with positions for error messages."""

    def __init__(self, path: str | Path, fmt: TraceFormat) -> None:
        self.file = str(path)
        raw = jsonio.read_bytes(path)
        self.sha256 = jsonio.sha256_hex(raw)
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = raw.count(b"\n", 0, exc.start) + 1
            raise InputError(self.file, f"line {line}", "UTF-8 text", f"invalid byte at offset {exc.start}") from None
        if text.startswith("\ufeff"):
            text = text[1:]
        if "\x00" in text:
            line = text.count("\n", 0, text.index("\x00")) + 1
            raise InputError(self.file, f"line {line}", "CSV text", "a NUL byte")
        reader = csv.reader(io.StringIO(text, newline=""), strict=True)
        try:
            rows = list(reader)
        except csv.Error as exc:
            raise InputError(self.file, f"line {reader.line_num}", "well-formed CSV", str(exc)) from None
        if not rows or not any(rows[0]):
            raise InputError(
                self.file,
                "line 1",
                f"a header line naming the columns {list(fmt.columns)}",
                "an empty file" if not rows else "an empty line",
            )
        header = [h.strip() for h in rows[0]]
        seen: set[str] = set()
        for c, h in enumerate(header):
            if h in seen:
                raise InputError(
                    self.file, f"line 1, column {c + 1}", "a column name not used before", f"a second column {h!r}"
                )
            seen.add(h)
        missing = [c for c in fmt.columns if c not in seen]
        if missing:
            raise InputError(
                self.file,
                "line 1",
                f"the {fmt.name} header naming the columns {list(fmt.columns)}",
                f"no column(s) {missing} (header {header})",
            )
        self.header = header
        self.width = len(header)
        # csv.reader does not report physical lines: count them (quoted newlines never occur in
        # these formats, so row k sits on line k + 1 unless a field holds a newline).
        body = rows[1:]
        while body and body[-1] == []:
            body.pop()
        self.line = np.arange(2, len(body) + 2, dtype=np.int64)
        if any("\n" in f or "\r" in f for r in body for f in r):
            self.line = self._physical_lines(text, len(body))
        for k, row in enumerate(body):
            if len(row) != self.width:
                found = "an empty line" if not row else f"{len(row)} field(s)"
                raise InputError(
                    self.file,
                    f"line {int(self.line[k])}",
                    f"{self.width} comma-separated fields (as in the header)",
                    found,
                )
        self.rows = body
        self._cols = list(zip(*body, strict=True)) if body else [() for _ in header]
        self.index = {h: c for c, h in enumerate(header)}

    @staticmethod
    def _physical_lines(text: str, n: int) -> np.ndarray:
        reader = csv.reader(io.StringIO(text, newline=""), strict=True)
        next(reader)
        out = []
        for _ in range(n):
            out.append(reader.line_num + 1)
            next(reader)
        return np.asarray(out, dtype=np.int64)

    def __len__(self) -> int:
        return len(self.rows)

    def where(self, name: str, k: int) -> str:
        c = self.index[name]
        return f"line {int(self.line[k])}, column {c + 1} ({name})"

    def fail(self, name: str, k: int, expected: str, found: str | None = None) -> InputError:
        value = self._cols[self.index[name]][k]
        return InputError(
            self.file,
            self.where(name, k),
            expected,
            found if found is not None else ("an empty field" if value.strip() == "" else _show(value)),
        )

    def strings(self, name: str, *, nonempty: bool = True) -> np.ndarray:
        values = [v.strip() for v in self._cols[self.index[name]]]
        if nonempty:
            for k, v in enumerate(values):
                if not v:
                    raise self.fail(name, k, "a non-empty value")
        return np.asarray(values, dtype=str) if values else np.zeros(0, dtype=str)

    def _check(self, name: str, pattern: re.Pattern[str], what: str, optional: bool) -> list[str]:
        values = [v.strip() for v in self._cols[self.index[name]]]
        for k, v in enumerate(values):
            if pattern.fullmatch(v) is None and not (optional and v == ""):
                raise self.fail(name, k, what + (" or an empty field" if optional else ""))
        return values

    def integers(self, name: str, *, minimum: int | None = None, maximum: int | None = None) -> np.ndarray:
        values = self._check(name, _INT, "an integer", False)
        big = next((k for k, v in enumerate(values) if len(v.lstrip("+-")) > 15 and abs(int(v)) > MAX_INT), None)
        if big is not None:
            raise self.fail(name, big, f"an integer of magnitude at most 2**{MAX_INT.bit_length() - 1}")
        arr = np.asarray([int(v) for v in values], dtype=np.int64) if values else np.zeros(0, dtype=np.int64)
        self._bounds(name, arr, minimum, maximum, "an integer")
        return arr

    def reals(
        self,
        name: str,
        *,
        minimum: float | None = None,
        maximum: float | None = None,
        positive: bool = False,
        optional: bool = False,
    ) -> np.ndarray:
        values = self._check(name, _REAL, "a decimal number", optional)
        arr = np.asarray([v if v else "nan" for v in values], dtype=np.float64) if values else np.zeros(0)
        bad = np.isinf(arr)
        if bad.any():
            raise self.fail(name, int(np.flatnonzero(bad)[0]), "a finite number")
        if positive:
            low = arr <= 0
            if low.any():
                raise self.fail(name, int(np.flatnonzero(low)[0]), "a number > 0")
        self._bounds(name, arr, minimum, maximum, "a number")
        return arr

    def _bounds(self, name: str, arr: np.ndarray, minimum: float | None, maximum: float | None, what: str) -> None:
        if minimum is not None:
            low = arr < minimum
            if low.any():
                raise self.fail(name, int(np.flatnonzero(low)[0]), f"{what} >= {minimum}")
        if maximum is not None:
            high = arr > maximum
            if high.any():
                raise self.fail(name, int(np.flatnonzero(high)[0]), f"{what} <= {maximum}")

    def timestamps(self, name: str) -> np.ndarray:
        values = self._check(name, _STAMP, "a time YYYY-MM-DD HH:MM:SS", False)
        if not values:
            return np.zeros(0, dtype=np.int64)
        iso = [v[:10] + "T" + v[11:] for v in values]
        try:
            stamps = np.asarray(iso, dtype="datetime64[s]")
        except ValueError:
            for k, v in enumerate(iso):
                try:
                    np.datetime64(v, "s")
                except ValueError:
                    raise self.fail(name, k, "a valid calendar time YYYY-MM-DD HH:MM:SS") from None
            raise  # pragma: no cover
        return stamps.astype(np.int64)


# --------------------------------------------------------------------------- readers


def read_philly(path: str | Path) -> PhillyTrace:
    """Read a Philly job table (``philly`` format)."""
    t = _Table(path, FORMATS["philly"])
    return PhillyTrace(
        file=t.file,
        sha256=t.sha256,
        timestamp=t.timestamps("timestamp"),
        duration=t.reals("duration", positive=True),
        num_gpus=t.integers("num_gpus", minimum=1),
        gpu_time=t.reals("gpu_time", minimum=0.0),
        cluster=t.strings("cluster"),
        line=t.line,
    )


def read_gavel(path: str | Path) -> GavelSample:
    """Read Gavel's Philly job sample (``gavel`` format)."""
    t = _Table(path, FORMATS["gavel"])
    return GavelSample(
        file=t.file,
        sha256=t.sha256,
        duration=t.reals("duration_s", positive=True),
        num_gpus=t.integers("num_gpus", minimum=1),
        line=t.line,
    )


def _unique(t: _Table, name: str, values: np.ndarray, what: str) -> None:
    if len(np.unique(values)) != len(values):
        seen: set[str] = set()
        for k, v in enumerate(values.tolist()):
            if v in seen:
                raise t.fail(name, k, f"a {what} not listed before")
            seen.add(v)


def _gpu_spec(t: _Table) -> tuple[tuple[str, ...], ...]:
    out = []
    for k, raw in enumerate(t.strings("gpu_spec", nonempty=False).tolist()):
        if raw == "" or raw.lower() == "nan":
            out.append(())
            continue
        models = tuple(m.strip() for m in raw.split("|"))
        if any(not m for m in models):
            raise t.fail("gpu_spec", k, "GPU model names separated by '|' (e.g. V100M16|V100M32)")
        out.append(models)
    return tuple(out)


def read_alibaba_pods(path: str | Path) -> AlibabaPods:
    """Read an Alibaba openb pod list (``alibaba-pods`` format)."""
    t = _Table(path, FORMATS["alibaba-pods"])
    names = t.strings("name")
    _unique(t, "name", names, "pod name")
    pods = AlibabaPods(
        file=t.file,
        sha256=t.sha256,
        name=names,
        cpu_milli=t.integers("cpu_milli", minimum=0),
        memory_mib=t.integers("memory_mib", minimum=0),
        num_gpu=t.integers("num_gpu", minimum=0),
        gpu_milli=t.integers("gpu_milli", minimum=0, maximum=1000),
        gpu_spec=_gpu_spec(t),
        qos=t.strings("qos"),
        pod_phase=t.strings("pod_phase"),
        creation_time=t.reals("creation_time", minimum=0.0),
        deletion_time=t.reals("deletion_time", minimum=0.0),
        scheduled_time=t.reals("scheduled_time", minimum=0.0, optional=True),
        line=t.line,
    )
    multi_shared = (pods.num_gpu > 1) & (pods.gpu_milli != 1000)
    if multi_shared.any():
        raise t.fail(
            "gpu_milli", int(np.flatnonzero(multi_shared)[0]), "1000 (a pod with num_gpu > 1 takes whole GPUs)"
        )
    return pods


def read_alibaba_nodes(path: str | Path) -> AlibabaNodes:
    """Read an Alibaba openb node list (``alibaba-nodes`` format)."""
    t = _Table(path, FORMATS["alibaba-nodes"])
    gpu = t.integers("gpu", minimum=0)
    models = t.strings("model", nonempty=False)
    for k in np.flatnonzero((gpu > 0) & ((models == "") | (np.char.lower(models) == "nan"))).tolist():
        raise t.fail("model", int(k), "a GPU model name (the node has GPUs)")
    sn = t.strings("sn")
    _unique(t, "sn", sn, "node name")
    return AlibabaNodes(
        file=t.file,
        sha256=t.sha256,
        sn=sn,
        cpu_milli=t.integers("cpu_milli", minimum=0),
        memory_mib=t.integers("memory_mib", minimum=0),
        gpu=gpu,
        model=models,
        line=t.line,
    )


def read_acme(path: str | Path) -> AcmeSummary:
    """Read the Acme per-cluster summary (``acme`` format). Rates must lie in [0, 1]."""
    t = _Table(path, FORMATS["acme"])
    clusters = t.strings("id")
    _unique(t, "id", clusters, "cluster id")
    cols = {}
    for name in ACME_NUMBER_COLUMNS:
        rate = "_rate_" in name
        cols[name] = t.reals(name, minimum=0.0, maximum=1.0 if rate else None, optional=True)
    values = {
        c: {name: (None if np.isnan(cols[name][k]) else float(cols[name][k])) for name in ACME_NUMBER_COLUMNS}
        for k, c in enumerate(clusters.tolist())
    }
    return AcmeSummary(file=t.file, sha256=t.sha256, clusters=tuple(clusters.tolist()), values=values)


READERS: dict[str, Callable[[str | Path], object]] = {
    "philly": read_philly,
    "gavel": read_gavel,
    "alibaba-pods": read_alibaba_pods,
    "alibaba-nodes": read_alibaba_nodes,
    "acme": read_acme,
}


def detect_format(path: str | Path) -> str:
    """The format of a trace file, from its header line (the format whose required columns it has;
    the one with the most required columns wins).

    Raises:
        InputError: the file is unreadable or its header matches no known format.
    """
    raw = jsonio.read_bytes(path)
    first = raw.split(b"\n", 1)[0].decode("utf-8", errors="replace").lstrip("\ufeff")
    names = {h.strip() for h in next(csv.reader([first]), [])}
    matches = sorted((f for f in FORMATS.values() if set(f.columns) <= names), key=lambda f: -len(f.columns))
    if not matches:
        known = "; ".join(
            f"{f.name}: {', '.join(f.columns[:6])}{', ...' if len(f.columns) > 6 else ''}" for f in FORMATS.values()
        )
        raise InputError(str(path), "line 1", f"the header of a known trace format ({known})", _show(first, 80))
    return matches[0].name


def read(path: str | Path, fmt: str | None = None) -> object:
    """Read a trace file of format ``fmt`` (detected from the header when None)."""
    fmt = detect_format(path) if fmt is None else fmt
    if fmt not in READERS:
        raise ValueError(f"unknown trace format {fmt!r}; expected one of {sorted(READERS)}")
    return READERS[fmt](path)
