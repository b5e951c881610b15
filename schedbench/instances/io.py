"""Reading, checking and writing instance files (schema ``schedbench/instance/1``).

:func:`from_document` is the strict checker: every problem raises
:class:`~schedbench.errors.DataError` with the file, the JSON path, what was expected and what
was found. :func:`to_document` and :func:`dumps` give the canonical form, whose sha256
(:func:`content_hash`) identifies the instance. The file format is documented in
``docs/formats.md`` and as a JSON Schema in :mod:`schedbench.instances.schema`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal, overload

import numpy as np

from schedbench import jsonio
from schedbench.errors import DataError, describe
from schedbench.instances.model import (
    SCHEMA_ID,
    GpuType,
    Instance,
    Jobs,
    Node,
    Problem,
    Resource,
)
from schedbench.instances.problems import PER_TYPE_FIELDS, PROBLEM_CLASSES

_NUM = (int, float)


class _Ctx:
    """Error construction for one file."""

    def __init__(self, file: str) -> None:
        self.file = file

    def fail(self, path: str, expected: str, found: Any, *, raw: bool = False) -> DataError:
        return DataError(self.file, path, expected, found if raw else describe(found))

    def obj(self, value: Any, path: str, required: tuple[str, ...], optional: tuple[str, ...] = ()) -> dict:
        if not isinstance(value, dict):
            raise self.fail(path, "an object", value)
        for key in required:
            if key not in value:
                raise self.fail(f"{path}.{key}", "a value (required field)", "nothing", raw=True)
        allowed = set(required) | set(optional)
        for key in value:
            if key not in allowed:
                raise self.fail(
                    f"{path}.{key}", f"one of the fields {sorted(allowed)}", f"unknown field {key!r}", raw=True
                )
        return value

    @overload
    def string(self, value: Any, path: str, *, nullable: Literal[False] = False) -> str: ...

    @overload
    def string(self, value: Any, path: str, *, nullable: bool) -> str | None: ...

    def string(self, value: Any, path: str, *, nullable: bool = False) -> str | None:
        """``value`` when it is a non-empty string (or None when ``nullable``); else raises this file's DataError."""
        if value is None and nullable:
            return None
        if not isinstance(value, str) or not value:
            raise self.fail(path, "a non-empty string" + (" or null" if nullable else ""), value)
        return value

    def number(
        self, value: Any, path: str, *, minimum: float | None = None, positive: bool = False, nullable: bool = False
    ) -> float | None:
        if value is None and nullable:
            return None
        if type(value) not in _NUM or not math.isfinite(value):
            raise self.fail(path, "a finite number" + (" or null" if nullable else ""), value)
        if positive and value <= 0:
            raise self.fail(path, "a number > 0", value)
        if minimum is not None and value < minimum:
            raise self.fail(path, f"a number >= {minimum}", value)
        return float(value)

    def array(self, value: Any, path: str, length: int | None = None) -> list:
        if not isinstance(value, list):
            raise self.fail(path, "an array" if length is None else f"an array of length {length}", value)
        if length is not None and len(value) != length:
            raise self.fail(path, f"an array of length {length} (one entry per job)", value)
        return value

    def strings(self, value: Any, path: str, length: int | None, *, nullable: bool = False) -> tuple:
        items = self.array(value, path, length)
        ok = (str, type(None)) if nullable else (str,)
        for i, v in enumerate(items):
            if type(v) not in ok or v == "":
                raise self.fail(f"{path}[{i}]", "a non-empty string" + (" or null" if nullable else ""), v)
        return tuple(items)

    def numbers(
        self,
        value: Any,
        path: str,
        length: int,
        *,
        nullable: bool = False,
        integer: bool = False,
        minimum: float | None = None,
        positive: bool = False,
    ) -> np.ndarray:
        """A numeric array, vectorised; nulls become NaN when ``nullable``."""
        items = self.array(value, path, length)
        what = "an integer" if integer else "a finite number"
        if nullable:
            what += " or null"
        allowed = (int, float, type(None)) if nullable else _NUM
        bad = next((i for i, v in enumerate(items) if type(v) not in allowed), None)
        if bad is not None:
            raise self.fail(f"{path}[{bad}]", what, items[bad])
        try:
            arr = np.array(items, dtype=np.float64)
        except OverflowError:
            raise self.fail(path, "numbers within double range", "an overflowing integer", raw=True) from None
        arr = arr.reshape(len(items))
        if np.isinf(arr).any():
            i = int(np.flatnonzero(np.isinf(arr))[0])
            raise self.fail(f"{path}[{i}]", what, items[i])
        finite = ~np.isnan(arr)
        if integer:
            bad_int = finite & (arr != np.round(arr))
            if bad_int.any():
                i = int(np.flatnonzero(bad_int)[0])
                raise self.fail(f"{path}[{i}]", what, items[i])
            huge = finite & (np.abs(arr) >= 2.0**63)  # would wrap around in int64 (1e30 -> -2^63)
            if huge.any():
                i = int(np.flatnonzero(huge)[0])
                raise self.fail(f"{path}[{i}]", "an integer within the 64-bit range (|n| < 2^63)", items[i])
        if minimum is not None and (arr[finite] < minimum).any():
            i = int(np.flatnonzero(finite & (arr < minimum))[0])
            raise self.fail(f"{path}[{i}]", f"a number >= {minimum}", items[i])
        if positive and (arr[finite] <= 0).any():
            i = int(np.flatnonzero(finite & (arr <= 0))[0])
            raise self.fail(f"{path}[{i}]", "a number > 0", items[i])
        return arr

    def booleans(self, value: Any, path: str, length: int) -> np.ndarray:
        items = self.array(value, path, length)
        bad = next((i for i, v in enumerate(items) if type(v) is not bool), None)
        if bad is not None:
            raise self.fail(f"{path}[{bad}]", "true or false", items[bad])
        return np.array(items, dtype=bool).reshape(len(items))

    def unique(self, ids: tuple[str, ...], path: str, what: str) -> None:
        if len(set(ids)) != len(ids):
            seen: set[str] = set()
            for i, v in enumerate(ids):
                if v in seen:
                    raise self.fail(f"{path}[{i}]", f"a unique {what} id", f"duplicate id {v!r}", raw=True)
                seen.add(v)


def _problem(ctx: _Ctx, doc: Any) -> Problem:
    p = ctx.obj(doc, "$.problem", ("class", "objective"), ("params",))
    cls_name = p["class"]
    if cls_name not in PROBLEM_CLASSES:
        raise ctx.fail("$.problem.class", f"one of {sorted(PROBLEM_CLASSES)}", cls_name)
    cls = PROBLEM_CLASSES[cls_name]
    objective = p["objective"]
    if not isinstance(objective, str) or cls.objective(objective) is None:
        raise ctx.fail("$.problem.objective", f"one of {[o.name for o in cls.objectives]}", objective)
    raw = p.get("params", {})
    if not isinstance(raw, dict):
        raise ctx.fail("$.problem.params", "an object", raw)
    known = {q.name: q for q in cls.params}
    params: dict[str, Any] = {}
    for key, value in raw.items():
        spec = known.get(key)
        if spec is None:
            raise ctx.fail(
                f"$.problem.params.{key}",
                f"one of the {cls_name} parameters {sorted(known)}",
                f"unknown parameter {key!r}",
                raw=True,
            )
        try:
            params[key] = spec.check(value)
        except ValueError as exc:
            raise ctx.fail(f"$.problem.params.{key}", str(exc), value) from None
    for spec in cls.params:
        params.setdefault(spec.name, spec.default)
    return Problem(cls_name, objective, params)


def _resources(ctx: _Ctx, doc: Any) -> tuple[Resource, ...]:
    items = ctx.array(doc, "$.resources")
    if not items:
        raise ctx.fail("$.resources", "at least one resource dimension", items)
    out = []
    for i, item in enumerate(items):
        path = f"$.resources[{i}]"
        r = ctx.obj(item, path, ("id",), ("unit", "description"))
        rid = ctx.string(r["id"], f"{path}.id")
        unit = r.get("unit", "")
        if not isinstance(unit, str):
            raise ctx.fail(f"{path}.unit", "a string", unit)
        out.append(Resource(rid, unit))
    ctx.unique(tuple(r.id for r in out), "$.resources", "resource")
    return tuple(out)


def _gpu_types(ctx: _Ctx, doc: Any, resources: tuple[str, ...]) -> tuple[GpuType, ...]:
    items = ctx.array(doc, "$.gpu_types")
    if not items:
        raise ctx.fail("$.gpu_types", "at least one GPU type", items)
    out = []
    for i, item in enumerate(items):
        path = f"$.gpu_types[{i}]"
        t = ctx.obj(item, path, ("id", "capacity"), ("cost_per_hour", "peak_tflops", "description"))
        tid = ctx.string(t["id"], f"{path}.id")
        cap = ctx.obj(t["capacity"], f"{path}.capacity", resources)
        capacity = {r: ctx.number(cap[r], f"{path}.capacity.{r}", minimum=0.0) for r in resources}
        cost = ctx.number(t.get("cost_per_hour"), f"{path}.cost_per_hour", minimum=0.0, nullable=True)
        peak = ctx.number(t.get("peak_tflops"), f"{path}.peak_tflops", minimum=0.0, nullable=True)
        out.append(GpuType(tid, capacity, cost, peak))  # type: ignore[arg-type]
    ctx.unique(tuple(t.id for t in out), "$.gpu_types", "GPU type")
    return tuple(out)


def _nodes(ctx: _Ctx, doc: Any, type_ids: tuple[str, ...]) -> tuple[Node, ...]:
    c = ctx.obj(doc, "$.cluster", ("nodes",), ("description",))
    items = ctx.array(c["nodes"], "$.cluster.nodes")
    if not items:
        raise ctx.fail("$.cluster.nodes", "at least one node", items)
    known = set(type_ids)
    out = []
    for i, item in enumerate(items):
        path = f"$.cluster.nodes[{i}]"
        n = ctx.obj(item, path, ("id", "gpu_type", "gpus"))
        nid = ctx.string(n["id"], f"{path}.id")
        gtype = ctx.string(n["gpu_type"], f"{path}.gpu_type")
        if gtype not in known:
            raise ctx.fail(f"{path}.gpu_type", f"a GPU type id declared in $.gpu_types {sorted(known)}", gtype)
        gpus = ctx.strings(n["gpus"], f"{path}.gpus", None)
        if not gpus:
            raise ctx.fail(f"{path}.gpus", "at least one GPU id", n["gpus"])
        out.append(Node(nid, gtype, gpus))
    ctx.unique(tuple(n.id for n in out), "$.cluster.nodes[*].id", "node")
    all_gpus = tuple(g for n in out for g in n.gpus)
    if len(set(all_gpus)) != len(all_gpus):
        seen: set[str] = set()
        for k, node in enumerate(out):
            for j, g in enumerate(node.gpus):
                if g in seen:
                    raise ctx.fail(
                        f"$.cluster.nodes[{k}].gpus[{j}]",
                        "a GPU id unique in the cluster",
                        f"duplicate id {g!r}",
                        raw=True,
                    )
                seen.add(g)
    return tuple(out)


def _jobs(
    ctx: _Ctx,
    doc: Any,
    problem: Problem,
    resources: tuple[str, ...],
    type_ids: tuple[str, ...],
    gpus_per_type: dict[str, int],
) -> Jobs:
    j = ctx.obj(doc, "$.jobs", ("id", "gang", "release", "weight", "per_type"), ("job_type", "deadline", "tenant"))
    ids = ctx.strings(j["id"], "$.jobs.id", None)
    n = len(ids)
    ctx.unique(ids, "$.jobs.id", "job")
    gang = ctx.numbers(j["gang"], "$.jobs.gang", n, integer=True, minimum=1).astype(np.int64)
    release = ctx.numbers(j["release"], "$.jobs.release", n, minimum=0.0)
    weight = ctx.numbers(j["weight"], "$.jobs.weight", n, minimum=0.0)
    job_type = ctx.strings(j["job_type"], "$.jobs.job_type", n, nullable=True) if "job_type" in j else None
    tenant = ctx.strings(j["tenant"], "$.jobs.tenant", n, nullable=True) if "tenant" in j else None
    deadline = None
    if "deadline" in j:
        deadline = ctx.numbers(j["deadline"], "$.jobs.deadline", n, nullable=True, minimum=0.0)
    per_type = ctx.obj(j["per_type"], "$.jobs.per_type", type_ids)
    T, R = len(type_ids), len(resources)
    eligible = np.zeros((n, T), dtype=bool)
    demand = np.full((n, T, R), np.nan)
    fields: dict[str, np.ndarray] = {}
    present: dict[str, str] = {}
    for t, tid in enumerate(type_ids):
        base = f"$.jobs.per_type.{tid}"
        entry = ctx.obj(per_type[tid], base, ("eligible", "demand"), PER_TYPE_FIELDS)
        elig = ctx.booleans(entry["eligible"], f"{base}.eligible", n)
        eligible[:, t] = elig
        dem = ctx.obj(entry["demand"], f"{base}.demand", resources)
        for r, rid in enumerate(resources):
            demand[:, t, r] = _masked(ctx, dem[rid], f"{base}.demand.{rid}", n, elig, minimum=0.0)
        for name in PER_TYPE_FIELDS:
            if name in entry:
                if t > 0 and name not in present:
                    raise ctx.fail(f"{base}.{name}", f"no {name!r} (GPU type {type_ids[0]!r} has none)", entry[name])
                present[name] = tid
                arr = fields.setdefault(name, np.full((n, T), np.nan))
                arr[:, t] = _masked(
                    ctx, entry[name], f"{base}.{name}", n, elig, positive=name in ("time", "throughput")
                )
            elif name in present:
                raise ctx.fail(
                    f"{base}.{name}", f"a {name!r} array (GPU type {present[name]!r} has one)", "nothing", raw=True
                )
    cls = PROBLEM_CLASSES[problem.cls]
    objective = cls.objective(problem.objective)
    assert objective is not None
    for need in objective.requires:
        options = need.split("|")
        if not any(o in fields for o in options):
            raise ctx.fail(
                f"$.jobs.per_type.{type_ids[0]}",
                f"per-type {' or '.join(repr(o) for o in options)} arrays "
                f"(needed by {problem.cls}/{problem.objective})",
                "none",
                raw=True,
            )
    usable = eligible & (np.array([gpus_per_type[t] for t in type_ids])[None, :] >= gang[:, None])
    if n and not usable.any(axis=1).all():
        i = int(np.flatnonzero(~usable.any(axis=1))[0])
        raise ctx.fail(
            f"$.jobs.per_type (job {ids[i]!r}, row {i})",
            "every job eligible for a GPU type with at least gang-size GPUs",
            "no such type",
            raw=True,
        )
    return Jobs(
        ids=ids,
        gang=gang,
        release=release,
        weight=weight,
        eligible=eligible,
        demand=demand,
        job_type=job_type,
        deadline=deadline,
        tenant=tenant,
        time=fields.get("time"),
        cost=fields.get("cost"),
        throughput=fields.get("throughput"),
    )


def _masked(
    ctx: _Ctx,
    value: Any,
    path: str,
    n: int,
    eligible: np.ndarray,
    *,
    minimum: float | None = None,
    positive: bool = False,
) -> np.ndarray:
    """A per-job array that is null exactly where the job is not eligible for the type."""
    arr = ctx.numbers(value, path, n, nullable=True, minimum=minimum, positive=positive)
    missing = np.isnan(arr)
    wrong = missing == eligible
    if wrong.any():
        i = int(np.flatnonzero(wrong)[0])
        if eligible[i]:
            raise ctx.fail(f"{path}[{i}]", "a number (the job is eligible for this type)", "null", raw=True)
        raise ctx.fail(f"{path}[{i}]", "null (the job is not eligible for this type)", value[i])
    return arr


def _metadata(ctx: _Ctx, doc: Any) -> dict[str, Any]:
    m = ctx.obj(doc, "$.metadata", ("name",), ("description", "source", "generator", "known", "notes", "tags", "stats"))
    ctx.string(m["name"], "$.metadata.name")
    if "known" in m:
        known = ctx.obj(
            m["known"], "$.metadata.known", (), ("optimum", "best_known", "lower_bound", "upper_bound", "source")
        )
        for key in ("optimum", "best_known", "lower_bound", "upper_bound"):
            if key in known:
                ctx.number(known[key], f"$.metadata.known.{key}", nullable=True)
    if "generator" in m:
        g = ctx.obj(m["generator"], "$.metadata.generator", ("name", "version"), ("params", "seed"))
        ctx.string(g["name"], "$.metadata.generator.name")
        ctx.string(g["version"], "$.metadata.generator.version")
        if "seed" in g and (type(g["seed"]) is not int or g["seed"] < 0):
            raise ctx.fail("$.metadata.generator.seed", "a non-negative integer", g["seed"])
    return dict(m)


def from_document(doc: Any, file: str = "<document>") -> Instance:
    """Check a parsed instance document and build the :class:`Instance`.

    Raises:
        DataError: naming ``file``, the JSON path, what was expected and what was found.
    """
    ctx = _Ctx(file)
    top = ctx.obj(doc, "$", ("schema", "metadata", "problem", "resources", "gpu_types", "cluster", "jobs"))
    if top["schema"] != SCHEMA_ID:
        raise ctx.fail("$.schema", repr(SCHEMA_ID), top["schema"])
    metadata = _metadata(ctx, top["metadata"])
    problem = _problem(ctx, top["problem"])
    resources = _resources(ctx, top["resources"])
    rids = tuple(r.id for r in resources)
    gpu_types = _gpu_types(ctx, top["gpu_types"], rids)
    tids = tuple(t.id for t in gpu_types)
    nodes = _nodes(ctx, top["cluster"], tids)
    per_type = {t: 0 for t in tids}
    for node in nodes:
        per_type[node.gpu_type] += len(node.gpus)
    jobs = _jobs(ctx, top["jobs"], problem, rids, tids, per_type)
    if problem.params.get("measure") == "cost":
        for i, t in enumerate(gpu_types):
            if t.cost_per_hour is None:
                raise ctx.fail(
                    f"$.gpu_types[{i}].cost_per_hour", "a price (min-gpus with measure=cost)", "nothing", raw=True
                )
    return Instance(resources, gpu_types, nodes, jobs, problem, metadata)


def to_document(inst: Instance) -> dict[str, Any]:
    """The canonical JSON document of an instance (the inverse of :func:`from_document`)."""
    jobs = inst.jobs
    cls = PROBLEM_CLASSES[inst.problem.cls]
    defaults = {p.name: p.default for p in cls.params}
    params = {k: v for k, v in inst.problem.params.items() if defaults.get(k, object()) != v}
    problem: dict[str, Any] = {"class": inst.problem.cls, "objective": inst.problem.objective}
    if params:
        problem["params"] = params
    per_type: dict[str, Any] = {}
    for t, tid in enumerate(inst.type_ids):
        entry: dict[str, Any] = {
            "eligible": jobs.eligible[:, t].tolist(),
            "demand": {rid: jsonio.canonical_list(jobs.demand[:, t, r]) for r, rid in enumerate(inst.resource_ids)},
        }
        for name in PER_TYPE_FIELDS:
            arr = getattr(jobs, name)
            if arr is not None:
                entry[name] = jsonio.canonical_list(arr[:, t])
        per_type[tid] = entry
    jdoc: dict[str, Any] = {
        "id": list(jobs.ids),
        "gang": jsonio.canonical_list(jobs.gang),
        "release": jsonio.canonical_list(jobs.release),
        "weight": jsonio.canonical_list(jobs.weight),
        "per_type": per_type,
    }
    if jobs.job_type is not None:
        jdoc["job_type"] = list(jobs.job_type)
    if jobs.tenant is not None:
        jdoc["tenant"] = list(jobs.tenant)
    if jobs.deadline is not None:
        jdoc["deadline"] = jsonio.canonical_list(jobs.deadline)
    gpu_types = []
    for spec in inst.gpu_types:
        gt: dict[str, Any] = {"id": spec.id, "capacity": dict(spec.capacity)}
        if spec.cost_per_hour is not None:
            gt["cost_per_hour"] = spec.cost_per_hour
        if spec.peak_tflops is not None:
            gt["peak_tflops"] = spec.peak_tflops
        gpu_types.append(gt)
    resources = []
    for r in inst.resources:
        rd: dict[str, Any] = {"id": r.id}
        if r.unit:
            rd["unit"] = r.unit
        resources.append(rd)
    return {
        "schema": SCHEMA_ID,
        "metadata": jsonio.normalise(inst.metadata),
        "problem": jsonio.normalise(problem),
        "resources": resources,
        "gpu_types": jsonio.normalise(gpu_types),
        "cluster": {"nodes": [{"id": n.id, "gpu_type": n.gpu_type, "gpus": list(n.gpus)} for n in inst.nodes]},
        "jobs": jdoc,
    }


def dumps(inst: Instance) -> bytes:
    """Canonical bytes of an instance."""
    return jsonio.dumps_canonical(to_document(inst), normalised=True)


def content_hash(inst: Instance) -> str:
    """sha256 (hex) of the canonical bytes: the instance's identity."""
    return jsonio.sha256_hex(dumps(inst))


def loads(data: bytes | str, name: str = "<string>") -> Instance:
    """Parse and check instance JSON text."""
    return from_document(jsonio.loads(data, name), name)


def load(path: str | Path) -> Instance:
    """Read, parse and check an instance file (``.json`` or gzipped)."""
    return from_document(jsonio.load(path), str(path))


def save(inst: Instance, path: str | Path, *, compress: bool | None = None) -> str:
    """Write the canonical form (gzipped when ``compress`` or the path ends in ``.gz``).

    Returns:
        The content hash (of the uncompressed canonical bytes).
    """
    data = dumps(inst)
    jsonio.write_bytes(path, data, compress=compress)
    return jsonio.sha256_hex(data)


def make_instance(
    *,
    resources: Iterable[Resource],
    gpu_types: Iterable[GpuType],
    nodes: Iterable[Node],
    jobs: Jobs,
    problem: Problem,
    metadata: Mapping[str, Any],
    verify: bool = True,
) -> Instance:
    """Build an instance from Python objects.

    With ``verify`` (the default) the instance is written canonically and read back through the
    strict loader, so importers cannot emit what the loader would refuse. Generators of very
    large instances pass ``verify=False`` and must then hand over canonical arrays (as
    :meth:`Jobs.build` makes them) and a metadata mapping of plain JSON values; their tests load
    what they write to check it. Problem parameters are completed with their defaults either way.
    """
    cls = PROBLEM_CLASSES[problem.cls]
    params = {p.name: p.default for p in cls.params}
    params.update(problem.params)
    problem = Problem(problem.cls, problem.objective, params)
    inst = Instance(tuple(resources), tuple(gpu_types), tuple(nodes), jobs, problem, dict(metadata))
    if not verify:
        return inst
    return from_document(jsonio.loads(dumps(inst), "<generated>"), f"<{metadata.get('name', 'instance')}>")
