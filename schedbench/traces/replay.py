"""Trace replay: a measured trace, or a window of it, imported directly as a schedbench instance.

``TRACE_IMPORTERS`` has the same :class:`~schedbench.importers.Importer` entries as
``schedbench.importers.IMPORTERS`` (``schedbench import FORMAT PATH -o DIR``):

=================  ==========================================  ======================  ======================
format             file                                        class / objective       options
=================  ==========================================  ======================  ======================
``philly``         Philly job table (AdaptDL/Pollux CSV)       online / mean-jct       cluster, start,
                                                                                       window_hours, max_jobs,
                                                                                       gpus, load
``alibaba-openb``  Alibaba openb pod list (+ its node list)     placement / max-weight  nodes, start,
                                                                                       window_hours, max_jobs,
                                                                                       weight
=================  ==========================================  ======================  ======================

**philly** (one ``online`` instance, objective ``mean-jct``). Jobs: the rows of virtual cluster
``cluster`` (default ``"all"``) submitted in ``[start, start + window_hours)`` (``start`` a time
``YYYY-MM-DD[ HH:MM[:SS]]`` of the trace's clock, default the first submit time; no window = to
the end), in submit order (file order among equal times), at most ``max_jobs``. Job id
``job<L>`` with ``L`` the file line; release = submit time - window start; gang = ``num_gpus``;
processing time = the measured ``duration``; tenant = the virtual cluster; weight 1. The trace
names no GPU model, so there is one GPU type ``philly-gpu`` with the single resource ``compute``
(capacity 1, every job demands 1 per GPU: whole GPUs). Cluster: ``gpus`` GPUs in nodes of 8 (the
last node holds the remainder). Default ``gpus``: the window's offered load divided by ``load``
(default 0.8), rounded up to a multiple of 8 and at least the largest gang rounded up to 8, where
the offered load is sum(gang x in-window run time) / window length (the run time of each job
counted up to the window's end; window length = ``window_hours``, or the last release when only
``max_jobs`` bounds the window). ``allow_multi_node`` is true when some gang exceeds 8 GPUs.

**alibaba-openb** (one ``placement`` instance, objective ``max-weight``). Cluster: one node per
node-list row with GPUs (id = ``sn``), of GPU type = its ``model``, with ``gpu`` GPUs. The node
list is the option ``nodes`` or, by default, the file beside the pod list whose name has
``node_list_gpu_node`` in place of ``pod_list_<name>``. Jobs: the pods that request a GPU
(``num_gpu >= 1`` or ``gpu_milli > 0``) created in ``[start, start + window_hours)`` (seconds of
the trace's clock, default from 0, no end), in creation order, at most ``max_jobs``; id = the pod
name; gang = max(1, ``num_gpu``); per-GPU ``compute`` demand = ``gpu_milli / 1000`` for single-GPU
pods (1.0 when ``gpu_milli`` is 0 or the pod takes several GPUs). Assumption: the trace gives no
GPU memory per pod, so the instance has the single resource ``compute`` (a memory demand
proportional to ``gpu_milli`` would bind exactly as compute does). A pod is eligible for a GPU
model when its ``gpu_spec`` names it (any model when empty) and some node of that model has at
least ``gang`` GPUs; pods eligible nowhere are left out and counted in the notes. Weight: 1
(``weight="one"``) or the GPUs requested, ``gang x compute`` (``weight="gpu-share"``: maximising it
maximises the allocated GPU share, the figure of merit of Weng et al.). CPU and memory requests
are not modelled (the instance format holds per-GPU resources only).
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import numpy as np

from schedbench.errors import InputError
from schedbench.importers import Importer, Option
from schedbench.instances.io import make_instance
from schedbench.instances.model import GpuType, Instance, Jobs, Node, Problem, Resource
from schedbench.traces import readers
from schedbench.traces.fit import _iso

#: GPUs per node of a replayed Philly cluster.
PHILLY_NODE_GPUS = 8
PHILLY_GPU_TYPE = "philly-gpu"
_TIME = re.compile(r"([0-9]{4}-[0-9]{2}-[0-9]{2})([ T]([0-9]{2}):([0-9]{2})(:([0-9]{2}))?)?")
_NAME_SAFE = re.compile(r"[^A-Za-z0-9_.-]+")


# --------------------------------------------------------------------------- options


def _opt_int(name: str, value: Any, minimum: int = 1) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError(f"option {name} must be an integer, not {value!r}")
    try:
        out = int(value) if not isinstance(value, str) else int(value.strip())
    except (TypeError, ValueError):
        raise ValueError(f"option {name} must be an integer, not {value!r}") from None
    if isinstance(value, float) and value != out:
        raise ValueError(f"option {name} must be an integer, not {value!r}")
    if out < minimum:
        raise ValueError(f"option {name} must be >= {minimum}, not {out}")
    return out


def _opt_float(name: str, value: Any, *, minimum: float = 0.0, positive: bool = True) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError(f"option {name} must be a number, not {value!r}")
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"option {name} must be a number, not {value!r}") from None
    if not math.isfinite(out) or out < minimum or (positive and out <= 0):
        raise ValueError(f"option {name} must be a finite number {'>' if positive else '>='} {minimum}, not {value!r}")
    return out


def _opt_time(value: Any) -> int | None:
    """A Philly clock time ``YYYY-MM-DD[ HH:MM[:SS]]`` as int64 seconds of the naive clock."""
    if value is None:
        return None
    text = str(value).strip()
    m = _TIME.fullmatch(text)
    if m is None:
        raise ValueError(f"option start must be a time YYYY-MM-DD[ HH:MM[:SS]], not {value!r}")
    iso = m.group(1) + "T" + (m.group(3) or "00") + ":" + (m.group(4) or "00") + ":" + (m.group(6) or "00")
    try:
        return int(np.datetime64(iso, "s").astype(np.int64))
    except ValueError:
        raise ValueError(f"option start is not a valid calendar time: {value!r}") from None


def _window(
    keys: np.ndarray, lines: np.ndarray, start: float | None, window_s: float | None, max_jobs: int | None
) -> tuple[np.ndarray, float]:
    """Row indices in the window, sorted by (key, line), and the window's reference time."""
    order = np.lexsort((lines, keys))
    if start is not None:
        order = order[keys[order] >= start]
    ref = float(start) if start is not None else (float(keys[order[0]]) if len(order) else 0.0)
    if window_s is not None:
        order = order[keys[order] < ref + window_s]
    if max_jobs is not None:
        order = order[:max_jobs]
    return order, ref


def _name(*parts: Any) -> str:
    return _NAME_SAFE.sub("-", "-".join(str(p) for p in parts if p not in (None, ""))).strip("-")


# --------------------------------------------------------------------------- philly


def philly_offered_load(release: np.ndarray, duration: np.ndarray, gang: np.ndarray, window_s: float) -> float:
    """Mean number of busy GPUs over ``[0, window_s)`` if every job started on release: sum of
    gang x run time inside the window, divided by the window length (0 for an empty window)."""
    if window_s <= 0:
        return 0.0
    inside = np.clip(np.minimum(duration, window_s - release), 0.0, None)
    return float((gang * inside).sum() / window_s)


def read_philly_window(
    path: str | Path,
    *,
    cluster: str = "all",
    start: Any = None,
    window_hours: Any = None,
    max_jobs: Any = None,
    gpus: Any = None,
    load: Any = None,
) -> list[Instance]:
    """A window of a Philly job table as one ``online`` / ``mean-jct`` instance (module docstring).

    Raises:
        InputError: a malformed trace file.
        ValueError: a bad option value, an unknown cluster, or an empty window.
    """
    path = Path(path)
    cluster = "all" if cluster is None else str(cluster).strip()
    start_s = _opt_time(start)
    hours = _opt_float("window_hours", window_hours)
    limit = _opt_int("max_jobs", max_jobs)
    size = _opt_int("gpus", gpus)
    target = _opt_float("load", load) if load is not None else 0.8
    assert target is not None
    tr = readers.read_philly(path)
    rows = np.arange(len(tr))
    if cluster != "all":
        ids, counts = np.unique(tr.cluster, return_counts=True)
        if cluster not in set(ids.tolist()):
            top = [str(i) for i in ids[np.argsort(-counts, kind="stable")][:15]]
            raise ValueError(
                f"option cluster: {cluster!r} is not a virtual cluster of {path.name}; expected 'all' or one of {top}"
            )
        rows = np.flatnonzero(tr.cluster == cluster)
    window_s = None if hours is None else hours * 3600.0
    order, ref = _window(tr.timestamp[rows].astype(np.float64), tr.line[rows], start_s, window_s, limit)
    sel = rows[order]
    if len(sel) == 0:
        raise ValueError(
            f"no {'' if cluster == 'all' else cluster + ' '}jobs of {path.name} in the window "
            f"(start {_iso(int(ref))}, window_hours {hours}, max_jobs {limit})"
        )
    release = tr.timestamp[sel].astype(np.float64) - ref
    duration = tr.duration[sel]
    gang = tr.num_gpus[sel]
    length = window_s if window_s is not None else float(release.max())
    offered = philly_offered_load(release, duration, gang, length)
    max_gang = int(gang.max())
    node = PHILLY_NODE_GPUS
    if size is None:
        size = max(node * math.ceil(max_gang / node), node * math.ceil(offered / target / node), node)
        rule = (
            f"default: offered load {offered:.4g} GPUs / load {target:g}, rounded up to a multiple of {node}, "
            f"at least the largest gang ({max_gang}) rounded up to {node}"
        )
    else:
        if size < max_gang:
            raise ValueError(f"option gpus: {size} GPUs cannot run the window's largest gang of {max_gang}")
        rule = "option gpus"
    n_nodes = math.ceil(size / node)
    nodes = []
    for k in range(n_nodes):
        g = min(node, size - k * node)
        nodes.append(Node(f"n{k}", PHILLY_GPU_TYPE, tuple(f"n{k}/g{i}" for i in range(g))))
    n = len(sel)
    job_ids = [f"job{int(line)}" for line in tr.line[sel]]
    jobs = Jobs.build(
        job_ids,
        np.ones((n, 1, 1)),
        gang=gang,
        release=release,
        time=duration.reshape(n, 1),
        tenant=[str(c) for c in tr.cluster[sel]],
    )
    first, last = _iso(int(ref)), _iso(int(ref + release.max()))
    window = {
        "cluster": cluster,
        "start": first,
        "window_hours": hours,
        "max_jobs": limit,
        "jobs": n,
        "last_submit": last,
    }
    stamp = first.replace("-", "").replace(":", "").replace(" ", "T")
    name = _name("philly", cluster, stamp, f"{hours:g}h" if hours is not None else None, f"{n}jobs")
    metadata = {
        "name": name,
        "description": f"Philly trace replay: {n} jobs of {'all virtual clusters' if cluster == 'all' else cluster} "
        f"submitted from {first} to {last}, on {size} GPUs ({n_nodes} nodes).",
        "source": {
            "citation": readers.PHILLY_CITATION,
            "licence": readers.FORMATS["philly"].licence,
            "format": "philly",
            "file": path.name,
            "sha256": tr.sha256,
            "window": window,
            "offered_load_gpus": round(offered, 6),
            "gpus": size,
            "gpus_rule": rule,
        },
        "notes": [
            "The trace does not name GPU models: one GPU type 'philly-gpu' with a single resource 'compute' "
            "(1 = a whole GPU); every job takes whole GPUs.",
            "Processing time = the measured run time ('duration'); release = submit time - window start.",
            f"Cluster size is not in the trace: {size} GPUs in nodes of {node} ({rule}).",
            "Submit times are read in the trace's own clock (timezone not stated); tenant = virtual cluster.",
        ],
        "tags": ["trace-replay", "philly"],
    }
    inst = make_instance(
        resources=[Resource("compute", "GPU")],
        gpu_types=[GpuType(PHILLY_GPU_TYPE, {"compute": 1.0})],
        nodes=nodes,
        jobs=jobs,
        problem=Problem("online", "mean-jct", {"allow_multi_node": max_gang > node}),
        metadata=metadata,
    )
    return [inst]


# --------------------------------------------------------------------------- alibaba openb


def alibaba_node_list(pods_path: Path) -> Path:
    """The node list beside an openb pod list: ``...pod_list_<x>.csv`` -> ``...node_list_gpu_node.csv``
    (else the only ``*node_list_gpu_node*`` file of the folder).

    Raises:
        InputError: no such file.
    """
    name = pods_path.name
    guess = re.sub(r"pod_list_[^.]*", "node_list_gpu_node", name, count=1)
    if guess != name and (pods_path.parent / guess).is_file():
        return pods_path.parent / guess
    found = sorted(pods_path.parent.glob("*node_list_gpu_node*"))
    if len(found) == 1:
        return found[0]
    raise InputError(
        str(pods_path),
        "$",
        "an openb node list beside the pod list (or the option nodes=PATH)",
        f"no file {guess!r}" if not found else f"{len(found)} candidate node lists",
    )


def read_alibaba_openb(
    path: str | Path,
    *,
    nodes: Any = None,
    start: Any = None,
    window_hours: Any = None,
    max_jobs: Any = None,
    weight: str = "one",
) -> list[Instance]:
    """An Alibaba openb pod list (a window of it) on its node list as one ``placement`` /
    ``max-weight`` instance (module docstring).

    Raises:
        InputError: a malformed pod or node list, or no node list found.
        ValueError: a bad option value, or no GPU pod in the window.
    """
    path = Path(path)
    start_s = _opt_float("start", start, positive=False)
    hours = _opt_float("window_hours", window_hours)
    limit = _opt_int("max_jobs", max_jobs)
    if weight not in ("one", "gpu-share"):
        raise ValueError(f"option weight must be 'one' or 'gpu-share', not {weight!r}")
    node_path = Path(nodes) if nodes is not None else alibaba_node_list(path)
    pods = readers.read_alibaba_pods(path)
    nl = readers.read_alibaba_nodes(node_path)
    has = nl.gpu > 0
    if not has.any():
        raise InputError(str(node_path), "$", "at least one node with GPUs", "none")
    type_ids = sorted(set(nl.model[has].tolist()))
    tindex = {t: i for i, t in enumerate(type_ids)}
    biggest = np.zeros(len(type_ids), dtype=np.int64)
    for m, g in zip(nl.model[has].tolist(), nl.gpu[has].tolist(), strict=True):
        biggest[tindex[m]] = max(biggest[tindex[m]], g)
    gpu_pod = np.flatnonzero((pods.num_gpu >= 1) | (pods.gpu_milli > 0))
    window_s = None if hours is None else hours * 3600.0
    order, ref = _window(
        pods.creation_time[gpu_pod], pods.line[gpu_pod], 0.0 if start_s is None else start_s, window_s, None
    )
    sel = gpu_pod[order]
    gang_all = np.maximum(pods.num_gpu[sel], 1)
    elig_all = np.zeros((len(sel), len(type_ids)), dtype=bool)
    unknown_models: set[str] = set()
    for r, k in enumerate(sel.tolist()):
        spec = pods.gpu_spec[k]
        if spec:
            for m in spec:
                if m in tindex:
                    elig_all[r, tindex[m]] = True
                else:
                    unknown_models.add(m)
        else:
            elig_all[r] = True
    elig_all &= biggest[None, :] >= gang_all[:, None]
    ok = np.any(elig_all, axis=1)
    keep = np.flatnonzero(ok)
    if limit is not None and len(keep) > limit:
        keep = keep[:limit]
        dropped = int((~ok[: keep[-1] + 1]).sum())  # left out before the cut
    else:
        dropped = int((~ok).sum())
    if len(keep) == 0:
        raise ValueError(
            f"no GPU pod of {path.name} that fits a node in the window (start {start_s}, "
            f"window_hours {hours}, max_jobs {limit})"
        )
    sel, gang, elig = sel[keep], gang_all[keep], elig_all[keep]
    n = len(sel)
    milli = pods.gpu_milli[sel]
    share = np.where((pods.num_gpu[sel] <= 1) & (milli > 0), milli / 1000.0, 1.0)
    T = len(type_ids)
    demand = np.broadcast_to(share[:, None, None], (n, T, 1)).copy()
    w = np.ones(n) if weight == "one" else gang * share
    jobs = Jobs.build([str(s) for s in pods.name[sel]], demand, eligible=elig, gang=gang, weight=w)
    node_objs = [
        Node(str(sn), str(m), tuple(f"{sn}/g{i}" for i in range(int(g))))
        for sn, m, g in zip(nl.sn[has].tolist(), nl.model[has].tolist(), nl.gpu[has].tolist(), strict=True)
    ]
    created = pods.creation_time[sel]
    window = {
        "start_s": ref,
        "window_hours": hours,
        "max_jobs": limit,
        "jobs": n,
        "first_creation_s": float(created.min()),
        "last_creation_s": float(created.max()),
    }
    notes = [
        "GPU memory per pod is not in the trace: the instance has the single resource 'compute' (1 = a whole GPU; "
        "a single-GPU pod demands gpu_milli/1000). A gpu_milli-proportional memory demand would bind as compute does.",
        "CPU and host-memory requests (cpu_milli, memory_mib) are not modelled.",
        f"weight = {'1 per pod' if weight == 'one' else 'GPUs requested (gang x compute share)'}; all pods, "
        "whatever their phase (Running, Succeeded, Failed, Pending), are requests to place.",
        "A pod is eligible for a GPU model named by its gpu_spec (any model when empty) that has a node with at "
        "least gang GPUs.",
    ]
    if dropped:
        notes.append(f"{dropped} GPU pod(s) in the window fit no node of an allowed GPU model and are left out.")
    if unknown_models:
        notes.append(f"gpu_spec names models absent from the node list: {sorted(unknown_models)}.")
    label = re.search(r"pod_list_([^.]+)", path.name)
    stem = label.group(1) if label else re.sub(r"\.csv(\.gz)?$", "", path.name)
    name = _name(
        "alibaba-openb",
        stem,
        f"from{ref:g}s" if start_s is not None else None,
        f"{hours:g}h" if hours is not None else None,
        f"{n}pods",
    )
    metadata = {
        "name": name,
        "description": f"Alibaba openb replay: {n} GPU pods of {path.name} on the {len(node_objs)} GPU nodes "
        f"({int(nl.gpu[has].sum())} GPUs, {T} models) of {node_path.name}; maximise "
        f"{'placed pods' if weight == 'one' else 'placed GPU share'}.",
        "source": {
            "citation": readers.ALIBABA_CITATION,
            "licence": readers.FORMATS["alibaba-pods"].licence,
            "format": "alibaba-openb",
            "file": path.name,
            "sha256": pods.sha256,
            "nodes_file": node_path.name,
            "nodes_sha256": nl.sha256,
            "window": window,
            "weight": weight,
        },
        "notes": notes,
        "tags": ["trace-replay", "alibaba-openb", "gpu-sharing"],
    }
    inst = make_instance(
        resources=[Resource("compute", "GPU")],
        gpu_types=[GpuType(t, {"compute": 1.0}) for t in type_ids],
        nodes=node_objs,
        jobs=jobs,
        problem=Problem("placement", "max-weight"),
        metadata=metadata,
    )
    return [inst]


# --------------------------------------------------------------------------- registry


def _no_known(path: Path, **options: Any) -> None:
    return None


_WINDOW_HOURS = Option("window_hours", "length of the window in hours (default: to the end of the trace)")
_MAX_JOBS = Option("max_jobs", "at most this many jobs, the earliest first")

TRACE_IMPORTERS: dict[str, Importer] = {
    "philly": Importer(
        "philly",
        "Philly job table (timestamp, duration, num_gpus, gpu_time, cluster): a window replayed as online arrivals",
        "online",
        "mean-jct",
        readers.PHILLY_CITATION,
        (
            Option("cluster", "virtual cluster id, or 'all' (default)"),
            Option("start", "window start, a time YYYY-MM-DD[ HH:MM[:SS]] of the trace (default: first submit)"),
            _WINDOW_HOURS,
            _MAX_JOBS,
            Option("gpus", "cluster size in GPUs, nodes of 8 (default: offered load / load, rounded up to 8)"),
            Option("load", "target offered load per GPU for the default cluster size (default 0.8)"),
        ),
        read_philly_window,
        _no_known,
    ),
    "alibaba-openb": Importer(
        "alibaba-openb",
        "Alibaba openb pod list (fractional GPU requests) on its node list: a placement snapshot, max weight",
        "placement",
        "max-weight",
        readers.ALIBABA_CITATION,
        (
            Option("nodes", "node list file (default: the openb_node_list_gpu_node file beside the pod list)"),
            Option("start", "window start, seconds of the trace's clock (creation_time; default 0)"),
            _WINDOW_HOURS,
            _MAX_JOBS,
            Option("weight", "'one' (default): weight 1 per pod; 'gpu-share': GPUs requested", ("one", "gpu-share")),
        ),
        read_alibaba_openb,
        _no_known,
    ),
}

__all__ = ["TRACE_IMPORTERS", "read_alibaba_openb", "read_philly_window"]
