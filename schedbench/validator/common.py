"""Pieces shared by the per-class validators: the solution envelope and the gang checks."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from schedbench.errors import DataError, describe
from schedbench.instances.model import Instance
from schedbench.instances.problems import PROBLEM_CLASSES
from schedbench.validator.result import Violations

#: Optional top-level fields a solution may carry besides ``problem`` and its body.
ENVELOPE_FIELDS = ("objective", "bound", "status", "solver", "metadata")
#: Relative tolerance on capacities, fractions and times.
RTOL = 1e-9
#: Absolute tolerance on capacities and fractions.
ATOL = 1e-9
#: Absolute tolerance on times (seconds): solvers writing decimal seconds may round.
TIME_ATOL = 1e-6


_NUMBER_TYPES = (int, float, np.integer, np.floating)


def as_number(value: Any) -> float | None:
    """``float(value)`` when value is a finite JSON (or numpy) number, else None. Booleans are not numbers."""
    if type(value) is float:
        return value if math.isfinite(value) else None
    if isinstance(value, _NUMBER_TYPES) and not isinstance(value, (bool, np.bool_)):
        try:
            f = float(value)
        except OverflowError:  # an integer beyond double range
            return None
        if math.isfinite(f):
            return f
    return None


def check_envelope(doc: Any, inst: Instance, file: str) -> tuple[Any, float | None]:
    """Check a solution's top level; return its body and the claimed objective (or None).

    Raises:
        DataError: wrong problem class, missing body, unknown top-level field.
    """
    cls = inst.problem.cls
    body_key = PROBLEM_CLASSES[cls].body_key
    if not isinstance(doc, dict):
        raise DataError(file, "$", "a solution object", describe(doc))
    if doc.get("problem") != cls:
        raise DataError(file, "$.problem", f"{cls!r} (the instance's problem class)", describe(doc.get("problem")))
    if body_key not in doc:
        raise DataError(file, f"$.{body_key}", f"the {cls} answer (required field)", "nothing")
    for dup in getattr(doc, "duplicates", ()):  # two top-level "assignment"s: never read last-wins
        raise DataError(file, f"$.{dup}", "each top-level field once", f"the field {dup!r} repeated")
    allowed = {"problem", body_key, *ENVELOPE_FIELDS}
    for key in doc:
        if key not in allowed:
            raise DataError(file, f"$.{key}", f"one of the fields {sorted(allowed)}", f"unknown field {key!r}")
    claimed = doc.get("objective")
    value = as_number(claimed)
    if claimed is not None and value is None:
        raise DataError(file, "$.objective", "a finite number or null", describe(claimed))
    return doc[body_key], value


@dataclass
class Gangs:
    """Flattened GPU lists of solution entries.

    Attributes:
        entry_job: job index of each entry, ``(E,)``.
        pair_entry: entry index of each (entry, GPU) pair, ``(P,)``.
        pair_gpu: GPU index of each pair, ``(P,)`` (unknown GPUs are left out and reported).
        entry_type: GPU type index of each entry (its first known GPU's), -1 when it has none.
        entry_ok: the entry passed every gang check.
    """

    entry_job: np.ndarray
    pair_entry: np.ndarray
    pair_gpu: np.ndarray
    entry_type: np.ndarray
    entry_ok: np.ndarray


def gpu_lists(inst: Instance, jobs: list[int], lists: list[list[str]], viol: Violations) -> Gangs:
    """Turn GPU id lists into index arrays, reporting unknown GPU ids, then check gangs:
    size, repeated GPUs, one GPU type, one node (unless ``allow_multi_node``), eligibility."""
    index = inst.gpu_index
    ids = inst.jobs.ids
    pe: list[int] = []
    pg: list[int] = []
    E = len(lists)
    ok = np.ones(E, dtype=bool)
    for e, gpus in enumerate(lists):
        for g in gpus:
            k = index.get(g)
            if k is None:
                ok[e] = False
                viol.add("unknown-gpu", f"job {ids[jobs[e]]!r} names unknown GPU {g!r}", job=ids[jobs[e]], gpu=g)
                continue
            pe.append(e)
            pg.append(k)
    entry_job = np.asarray(jobs, dtype=np.int64)
    pair_entry = np.asarray(pe, dtype=np.int64)
    pair_gpu = np.asarray(pg, dtype=np.int64)
    # repeated GPUs within one entry
    order = np.lexsort((pair_gpu, pair_entry))
    se, sg = pair_entry[order], pair_gpu[order]
    rep = np.flatnonzero((se[1:] == se[:-1]) & (sg[1:] == sg[:-1]))
    for k in rep.tolist():
        e = int(se[k + 1])
        ok[e] = False
        job = ids[jobs[e]]
        viol.add(
            "duplicate-gpu",
            f"job {job!r} lists GPU {inst.gpu_ids[sg[k]]!r} more than once",
            job=job,
            gpu=inst.gpu_ids[sg[k]],
        )
    # gang size: distinct GPUs listed
    first = np.ones(len(se), dtype=bool)
    first[1:] = (se[1:] != se[:-1]) | (sg[1:] != sg[:-1])
    distinct = np.bincount(se[first], minlength=E)
    gang = inst.jobs.gang[entry_job] if E else np.zeros(0, dtype=np.int64)
    bad = np.flatnonzero(distinct != gang)
    for e in bad.tolist():
        ok[e] = False
        job = ids[jobs[e]]
        viol.add(
            "gang-size", f"job {job!r} needs {int(gang[e])} GPU(s) at once but is given {int(distinct[e])}", job=job
        )
    # one type, one node
    entry_type = np.full(E, -1, dtype=np.int64)
    if len(pair_entry):
        ptype = inst.gpu_type[pair_gpu]
        pnode = inst.gpu_node[pair_gpu]
        starts = np.full(E, -1, dtype=np.int64)
        # first pair of each entry, in input order
        uniq, first_idx = np.unique(pair_entry, return_index=True)
        starts[uniq] = first_idx
        entry_type[uniq] = ptype[first_idx]
        mixed = ptype != entry_type[pair_entry]
        for e in np.unique(pair_entry[mixed]).tolist():
            ok[e] = False
            job = ids[jobs[e]]
            types = sorted({inst.type_ids[t] for t in ptype[pair_entry == e].tolist()})
            viol.add("gang-mixed-types", f"job {job!r} spans GPU types {types}", job=job)
        if not inst.problem.params.get("allow_multi_node", False):
            entry_node = np.full(E, -1, dtype=np.int64)
            entry_node[uniq] = pnode[first_idx]
            split = pnode != entry_node[pair_entry]
            for e in np.unique(pair_entry[split]).tolist():
                ok[e] = False
                job = ids[jobs[e]]
                nodes = sorted({inst.nodes[k].id for k in pnode[pair_entry == e].tolist()})
                viol.add("gang-multi-node", f"job {job!r} spans nodes {nodes} (allow_multi_node is false)", job=job)
        has = entry_type >= 0
        inel = np.zeros(E, dtype=bool)
        inel[has] = ~inst.jobs.eligible[entry_job[has], entry_type[has]]
        for e in np.flatnonzero(inel).tolist():
            ok[e] = False
            job = ids[jobs[e]]
            viol.add("ineligible-type", f"job {job!r} cannot run on GPU type {inst.type_ids[entry_type[e]]!r}", job=job)
    return Gangs(entry_job, pair_entry, pair_gpu, entry_type, ok)


def parse_job_keys(body: dict, inst: Instance, viol: Violations, what: str) -> list[tuple[int, Any]]:
    """Map a solution body's job-id keys to job indices; report unknown and repeated job ids."""
    index = inst.jobs.index
    for dup in getattr(body, "duplicates", ()):
        viol.add("duplicate-job", f"job {dup!r} appears more than once in the {what}", job=dup)
    out: list[tuple[int, Any]] = []
    for key, value in body.items():
        j = index.get(key)
        if j is None:
            viol.add("unknown-job", f"the {what} names unknown job {key!r}", job=key)
            continue
        out.append((j, value))
    return out


def gpu_id_list(value: Any, file: str, path: str) -> list[str]:
    """Check a list of GPU id strings (structure only)."""
    if type(value) is not list:
        raise DataError(file, path, "an array of GPU id strings", describe(value))
    for g in value:
        if type(g) is not str:
            raise DataError(file, path, "an array of GPU id strings", f"an element {describe(g)}")
    return value
