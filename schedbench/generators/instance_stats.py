"""``schedbench show INSTANCE --stats``: the figures a reviewer asks about an instance.

* **Offered load**, recomputed from the file: the fluid LP (:mod:`.load`) over the jobs' eligible
  GPU types and the realised arrival span, beside the nominal figure and, for generated
  instances, the requested load; plus each GPU type's busy share at the LP's optimum.
* **GPU time by job size** (``gang x duration`` per GPU count, ``duration`` the run time on the
  generator's reference GPU type where the job is eligible there, else on its fastest type) beside
  the trace's shares over the same GPU counts.
* **Duration quantiles** beside the model's.
* **Figures by provenance**: how the generator obtained each memory and compute demand (recorded
  at generation; a file alone cannot tell).

Works on any instance: what does not apply (no arrivals, no generator metadata) is reported as
such.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from schedbench.generators.stats import QUANTILE_P, duration_quantiles, gpu_time_share


def _durations(inst: Any) -> np.ndarray | None:
    jobs = inst.jobs
    if jobs.time is None:
        return None
    ref = (inst.metadata.get("generator") or {}).get("params", {}).get("reference_gpu")
    t = np.where(jobs.eligible, jobs.time, np.inf)
    best = t.min(axis=1)
    if ref in inst.type_ids:
        k = inst.type_ids.index(ref)
        return np.where(jobs.eligible[:, k], jobs.time[:, k], best)
    return best


def instance_stats(inst: Any) -> dict[str, Any]:
    """The ``--stats`` figures of an instance (a JSON-ready mapping)."""
    from schedbench.generators.load import instance_fluid

    meta = inst.metadata
    recorded = meta.get("stats") or {}
    params = (meta.get("generator") or {}).get("params") or {}
    out: dict[str, Any] = {}
    requested = params.get("load", params.get("arrival_load")) if params else None
    load: dict[str, Any] = {"requested": requested}
    try:
        fl = instance_fluid(inst)
        load.update({k: fl[k] for k in ("fluid", "nominal", "span_s")})
        load["per_type_busy_at_optimum"] = fl["per_type"]
        if requested and fl["fluid"] is not None:
            load["fluid_vs_requested"] = fl["fluid"] / requested - 1.0
    except ValueError as exc:
        load["note"] = str(exc)
    if load.get("fluid") is None and "note" not in load:
        load["note"] = "all jobs are released together: no arrival process, no offered load"
    out["offered_load"] = load
    dur = _durations(inst)
    jobs_rec = recorded.get("jobs") or {}
    if dur is not None:
        out["gpu_time_share_by_gpus"] = {
            "instance": gpu_time_share(inst.jobs.gang, dur),
            "trace": (jobs_rec.get("reference") or {}).get("gpu_time_share_by_gpus"),
            "subset": (jobs_rec.get("reference") or {}).get("subset"),
        }
        out["duration_quantiles"] = {
            "p": list(QUANTILE_P),
            "instance": duration_quantiles(dur),
            "model": (jobs_rec.get("duration_quantiles") or {}).get("model"),
        }
    out["figures"] = recorded.get("figures")
    return out


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f} %"


def _num(x: Any) -> str:
    return "-" if x is None else f"{x:.4f}"


def _load_table(ol: dict[str, Any]) -> Any:
    from rich.table import Table

    t = Table(title="offered load (fluid LP over eligible GPU types, realised arrival span)")
    for col in ("requested", "fluid", "nominal (fastest type, all GPUs)", "fluid vs requested"):
        t.add_column(col)
    rel = ol.get("fluid_vs_requested")
    t.add_row(
        _num(ol.get("requested")),
        _num(ol.get("fluid")),
        _num(ol.get("nominal")),
        "-" if rel is None else f"{100 * rel:+.1f} %",
    )
    return t


def _share_table(g: dict[str, Any]) -> Any:
    from rich.table import Table

    t = Table(title="GPU time by job size (gang x duration)" + (f"; trace: {g['subset']}" if g.get("subset") else ""))
    for col in ("GPUs", "instance", "trace"):
        t.add_column(col)
    trace = g.get("trace") or {}
    for k in sorted(set(g["instance"]) | set(trace), key=int):
        t.add_row(k, _pct(g["instance"].get(k)), _pct(trace.get(k)) if trace else "-")
    return t


def _quantile_table(d: dict[str, Any]) -> Any:
    from rich.table import Table

    t = Table(title="duration quantiles (s, on the reference GPU type)")
    t.add_column("")
    for p in d["p"]:
        t.add_column(f"p{round(100 * p)}")
    t.add_row("instance", *[f"{v:.6g}" for v in d["instance"]])
    if d.get("model"):
        t.add_row("model", *[f"{v:.6g}" for v in d["model"]])
    return t


def _figures_table(fig: dict[str, Any]) -> Any:
    from rich.table import Table

    t = Table(
        title=f"figures by provenance over {fig['pairs']} (job, eligible GPU type) pairs; fallbacks "
        f"{_pct(fig['fallback_share'])}"
    )
    t.add_column("figure")
    t.add_column("provenance")
    t.add_column("pairs")
    for what in ("memory", "compute"):
        for k, v in fig[what].items():
            if v:
                t.add_row(what, k, str(v))
    return t


def render(stats: dict[str, Any], console: Any) -> None:
    """Print the ``--stats`` figures as rich tables."""
    ol = stats["offered_load"]
    console.print(_load_table(ol))
    if ol.get("per_type_busy_at_optimum"):
        console.print(
            "busy at the LP optimum: " + ", ".join(f"{k} {v:.3f}" for k, v in ol["per_type_busy_at_optimum"].items())
        )
    if ol.get("note"):
        console.print(f"offered load: {ol['note']}")
    g = stats.get("gpu_time_share_by_gpus")
    if g:
        console.print(_share_table(g))
    d = stats.get("duration_quantiles")
    if d:
        console.print(_quantile_table(d))
    fig = stats.get("figures")
    if fig:
        console.print(_figures_table(fig))
        if fig.get("suspect_throughputs_left_out"):
            console.print(f"{fig['suspect_throughputs_left_out']} suspect catalogue throughputs left out")
    else:
        console.print("figures by provenance: not recorded (not a version-2 generated instance)")
