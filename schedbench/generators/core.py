"""The instance generator: class + spec + seed -> a reproducible instance.

``generate(cls, params, seed)`` draws jobs from the measured catalogue and the trace fits
(:mod:`.workload`), builds the cluster (:mod:`.clusters`) and assembles the class as its
:class:`~schedbench.instances.problems.ProblemClass` declares (its generator parameters after the
common ones, planting, arrivals when it has a ``load`` or ``arrival_load`` parameter, the ``cost``
and ``throughput`` columns when its objectives read them). For the built-in classes:

* ``placement``: *planted* so that the all-jobs objectives are feasible by construction. Each job
  is first placed on a GPU type it is eligible for (drawn in proportion to the preset's GPUs of
  each type) by first-fit onto nodes whose GPUs are loaded to at most ``tightness`` times their
  capacity in every resource; a new node is opened when none fits. The cluster is the nodes so
  opened: ``cluster`` gives the GPU types, their mix and the node size, ``tightness`` (like the
  0.8 of the classic GAP generators) gives how full the planted solution leaves it. A job whose
  demand alone exceeds the tightness limit (a whole-GPU job) takes an empty GPU by itself. For
  ``max-weight`` only a random ``1/oversubscription`` of the jobs is planted, so not all fit.
* ``batch``: the preset cluster; releases 0, or arrivals at offered load ``arrival_load``.
* ``allocation``: the preset cluster; per-type throughputs from the catalogue at each job's gang.
* ``online``: the preset cluster; arrivals from the Philly arrival fit (diurnal and weekly shape
  unless ``diurnal=false``), scaled so that the offered load is ``load``:
  ``rate = load * GPUs / mean(gang * best time)``. The realised offered load
  (``sum(gang * best time) / (GPUs * arrival span)``) is reported in the metadata.

Reproducibility: all randomness comes from named numpy streams spawned from
:func:`.spec.seed_sequence` (a hash of generator, version, canonical parameters and seed);
drawn numbers are rounded (times to 1 ms, memory to 1 MiB, costs to 1e-6, throughputs to 6
significant digits) so that the bytes do not depend on the last-ulp behaviour of a platform's
math library.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from schedbench import jsonio
from schedbench.errors import InputError
from schedbench.generators import spec as S  # noqa: N812 (short alias for the spec helpers)
from schedbench.generators.clusters import (
    NodeGroup,
    build_nodes,
    cluster_groups,
    gpu_price,
    scale_groups,
)
from schedbench.generators.workload import (
    SampledJobs,
    WorkloadTables,
    describe_fallbacks,
    largest_runnable_count,
    mix_weights,
    runnable_table,
    sample_jobs,
)
from schedbench.instances.model import GpuType, Instance, Jobs, Node, Problem, Resource
from schedbench.instances.problems import PROBLEM_CLASSES, ProblemClass

if TYPE_CHECKING:  # imported where used (SciPy and HiGHS load only for the fluid load)
    from schedbench.generators.load import FluidLoad

VERSION = "2"
STREAMS = ("types", "gangs", "durations", "weights", "tenants", "deadlines", "arrivals", "planting", "outcomes")
RESOURCES = (Resource("memory_gib", "GiB"), Resource("compute", "GPU"))


def _duration(value: Any) -> Any:
    if value in ("philly", "gavel"):
        return value
    if isinstance(value, dict) and value.get("dist") == "lognormal" and set(value) == {"dist", "median_s", "sigma"}:
        S.positive_number(value["median_s"])
        S.positive_number(value["sigma"])
        return {"dist": "lognormal", "median_s": float(value["median_s"]), "sigma": float(value["sigma"])}
    if isinstance(value, dict) and value.get("dist") == "fixed" and set(value) == {"dist", "seconds"}:
        return {"dist": "fixed", "seconds": S.positive_number(value["seconds"])}
    if isinstance(value, dict) and value.get("dist") == "exponential" and set(value) == {"dist", "mean_s"}:
        return {"dist": "exponential", "mean_s": S.positive_number(value["mean_s"])}
    raise ValueError(
        "'philly', 'gavel', {dist: lognormal, median_s, sigma}, {dist: exponential, mean_s} or {dist: fixed, seconds}"
    )


def duration_mean(d: Any) -> float | None:
    """Mean of an analytic duration distribution (before clipping); None for the trace fits."""
    if isinstance(d, str):
        return None
    if d["dist"] == "exponential":
        return float(d["mean_s"])
    if d["dist"] == "lognormal":
        return float(d["median_s"] * np.exp(d["sigma"] ** 2 / 2))
    return float(d["seconds"])


def duration_scv(d: Any) -> float | None:
    """Squared coefficient of variation of an analytic duration distribution; None for the trace fits."""
    if isinstance(d, str):
        return None
    if d["dist"] == "exponential":
        return 1.0
    if d["dist"] == "lognormal":
        return float(np.expm1(d["sigma"] ** 2))
    return 0.0


def _gang(value: Any) -> Any:
    if value in ("philly", "gavel"):
        return value
    m = S.pmf(value)
    if isinstance(m, str) or not all(k.isdigit() and int(k) >= 1 for k in m):
        raise ValueError("'philly', 'gavel' or a mapping from GPU counts to weights, e.g. {\"1\": 3, \"2\": 1}")
    return m


def _cluster(value: Any) -> Any:
    cluster_groups(value, alibaba_groups=(NodeGroup("x", 1, 1),))  # shape check only
    return value


def _problem_params(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValueError("a mapping of problem parameters")
    return value


COMMON: tuple[S.ParamSpec, ...] = (
    S.ParamSpec("jobs", 50, "number of jobs", S.positive_int),
    S.ParamSpec(
        "cluster",
        "gavel",
        "preset (gavel, modern, tiny, alibaba-openb) or [{gpu_type, nodes, gpus_per_node}]",
        _cluster,
    ),
    S.ParamSpec("cluster_scale", 1.0, "multiply the preset's node counts", S.positive_number),
    S.ParamSpec(
        "mix", "all", "job-type mix: all, a source (gavel, lambda) or {key|family:F|source:S: weight}", S.weights_map
    ),
    S.ParamSpec(
        "duration",
        "philly",
        "duration model: philly, gavel, {dist: lognormal, median_s, sigma}, "
        "{dist: exponential, mean_s}, {dist: fixed, seconds}",
        _duration,
    ),
    S.ParamSpec("min_duration_s", 60.0, "shortest duration (clip)", S.positive_number),
    S.ParamSpec("max_duration_s", 14 * 86400.0, "longest duration (clip)", S.positive_number),
    S.ParamSpec("gang", "philly", "GPUs-per-job distribution: philly, gavel or {count: weight}", _gang),
    S.ParamSpec(
        "joint",
        True,
        "when gang and duration name the same trace, draw (GPUs, duration) pairs jointly "
        "(per-GPU-count duration quantiles of the trace) among the GPU counts the cluster can run",
        S.boolean,
    ),
    S.ParamSpec("reference_gpu", "V100", "GPU type on which drawn durations are run times", str),
    S.ParamSpec(
        "default_memory_fraction",
        0.5,
        "memory demand (fraction of a GPU) when the catalogue has none "
        "and no formula applies (a fallback, counted in metadata.stats.figures)",
        S.positive_number,
    ),
    S.ParamSpec(
        "outcomes",
        "as-run",
        "as-run: trace durations as recorded, failed and killed jobs included; "
        "completed: only jobs that completed, by Acme's Philly completion rates (joint draws only)",
        S.one_of("as-run", "completed"),
    ),
    S.ParamSpec(
        "include_suspect",
        False,
        "use throughput figures the catalogue's plausibility checks marked suspect (left out by default)",
        S.boolean,
    ),
    S.ParamSpec(
        "user_catalogue",
        False,
        "also draw from your own catalogue (`schedbench catalogue merge`, "
        "docs/profile.md); its version is recorded in metadata.source.catalogue",
        S.boolean,
    ),
    S.ParamSpec("weights", "one", "job weights: one, or {weight: probability}", S.weights_map),
    S.ParamSpec("tenants", 0, "number of tenants (0: none)", S.non_negative_int),
    S.ParamSpec(
        "deadline_slack", None, "null, or [lo, hi]: deadline = release + U(lo, hi) x best time", S.fraction_range
    ),
    S.ParamSpec("problem_params", {}, "parameters of the problem class (see docs/formats.md)", _problem_params),
    S.ParamSpec("name", "", "instance name (default: derived from class, objective, cluster, jobs, seed)", str),
)


def param_specs(cls: str) -> tuple[S.ParamSpec, ...]:
    """All parameters of a class's generator: :data:`COMMON`, ``objective`` (default: the class's first
    objective) and the class's own :attr:`~schedbench.instances.problems.ProblemClass.generator_params`.

    Raises:
        KeyError: ``cls`` is not a registered problem class.
    """
    spec = PROBLEM_CLASSES[cls]
    names = [o.name for o in spec.objectives]
    objective = S.ParamSpec("objective", names[0], f"one of {names}", S.one_of(*names))
    return (*COMMON, objective, *spec.generator_params)


def _alibaba_groups() -> tuple[NodeGroup, ...]:
    """Node groups of Alibaba's openb GPU nodes, from the shipped node-list summary: per GPU model,
    its node count and its mean GPUs per node (rounded). V100M16 and V100M32 both map to the
    catalogue's V100 (16 GB; the 32 GB variant's extra memory is not modelled); models the
    catalogue does not know (T4, and the undisclosed G2 and G3) are left out."""
    from schedbench.catalogue.gpus import GPU_IDS
    from schedbench.traces.models import shipped_fit

    models = shipped_fit("fractional/alibaba-openb")["params"]["nodes"]["models"]
    groups = []
    for model, entry in sorted(models.items()):
        gid = {"V100M16": "V100", "V100M32": "V100"}.get(model, model)
        if gid in GPU_IDS and entry["nodes"] > 0:
            groups.append(NodeGroup(gid, int(entry["nodes"]), max(1, round(entry["gpus"] / entry["nodes"]))))
    return tuple(groups)


def _round(a: np.ndarray, decimals: int) -> np.ndarray:
    return np.round(a, decimals)


def _sig(a: np.ndarray, digits: int = 6) -> np.ndarray:
    """Round to significant digits (NaN kept)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        mag = np.where(np.isfinite(a) & (a != 0), np.floor(np.log10(np.abs(a))), 0)
    scale = 10.0 ** (digits - 1 - mag)
    return np.round(a * scale) / scale


def generate(cls: str, params: Mapping[str, Any] | None = None, seed: int = 0, *, source: str = "<params>") -> Instance:
    """Generate one instance (see :func:`generate_planted` for its arguments and errors)."""
    return generate_planted(cls, params, seed, source=source)[0]


def generate_planted(
    cls: str, params: Mapping[str, Any] | None = None, seed: int = 0, *, source: str = "<params>"
) -> tuple[Instance, dict[str, Any] | None]:
    """Generate one instance, with the planted solution for placement (None for the other classes).

    The planted solution is feasible by construction; its objective value is recorded in the
    instance's ``metadata.known`` as a bound (``upper_bound`` for min-cost and min-gpus,
    ``lower_bound`` for max-weight).

    Args:
        cls: problem class.
        params: generator parameters (see :func:`param_specs`); defaults fill the rest.
        seed: non-negative integer.
        source: file name for error messages (a suite manifest, ``--param``).

    Raises:
        InputError: an unknown class or parameter, or a bad value (names it and what was expected).
    """
    if cls not in PROBLEM_CLASSES:
        raise InputError(source, "class", f"one of {sorted(PROBLEM_CLASSES)}", repr(cls))
    spec = PROBLEM_CLASSES[cls]
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise InputError(source, "seed", "a non-negative integer", repr(seed))
    p = S.parse_params(f"{cls}", param_specs(cls), dict(params or {}), source)
    name = f"schedbench.generators.{cls}"
    root = S.seed_sequence(name, VERSION, p, seed)
    rng = S.streams(root, STREAMS)
    catalogue, groups, types, tables, probs = _workload(p, source)
    n = p["jobs"]
    # gangs larger than a node only where the problem allows multi-node jobs (the placement planter
    # places a gang within one node, so planted placement instances keep node-sized gangs)
    multi_node = bool(p["problem_params"].get("allow_multi_node", False)) and not spec.planted
    gang_draw, dur, joint, outcome_note = _gangs_and_durations(p, tables, groups, probs, rng, n, multi_node, source)
    jobs = sample_jobs(
        tables,
        groups,
        probs,
        gang_draw,
        dur,
        rng["types"],
        reference_gpu=p["reference_gpu"],
        default_memory_fraction=p["default_memory_fraction"],
        multi_node=multi_node,
    )
    time = _round(jobs.time, 3)
    time = np.where(jobs.eligible, np.maximum(time, 0.001), np.nan)
    best = np.nanmin(np.where(jobs.eligible, time, np.inf), axis=1)
    # weights and tenants
    weight = _weights(p, rng["weights"], n, source)
    tenant: list[str | None] | None = None
    if p["tenants"]:
        tenant = [f"tenant{k}" for k in rng["tenants"].integers(0, p["tenants"], n).tolist()]
    notes = describe_fallbacks(jobs.fallbacks)
    if outcome_note:
        notes.append(outcome_note)
    stats = _stats(jobs, tables, dur, joint, p)
    meta_extra: dict[str, Any] = {}
    # class assembly, driven by the class's declaration: planting, arrivals (a `load` or `arrival_load`
    # parameter), the per-type columns its objectives read (cost, throughput)
    release = np.zeros(n)
    nodes: tuple[Node, ...]
    planted: dict[str, list[str]] | None = None
    if spec.planted:
        nodes, planted, planted_note = _plant(jobs, groups, tables.types, tables.gpu_memory, p, rng["planting"], n)
        notes.append(planted_note)
    else:
        nodes = build_nodes(groups)
    G = sum(len(nd.gpus) for nd in nodes)
    load = p.get("load", p.get("arrival_load"))
    if load is not None:
        release = _arrivals(p, load, jobs, time, nodes, types, rng["arrivals"], n, source, stats, meta_extra)
    deadline = None
    if p["deadline_slack"] is not None:
        lo, hi = p["deadline_slack"]
        deadline = _round(release + rng["deadlines"].uniform(lo, hi, n) * best, 3)
    # prices and costs: cited prices only (none for a GPU type without one)
    gpu_types = []
    prices = []
    price_notes = {}
    present = [t for t in types if any(nd.gpu_type == t for nd in nodes)]
    for t in present:
        gpu = catalogue.gpus[t]
        tf = gpu.peak_fp32_tflops.value if gpu.peak_fp32_tflops is not None else None
        price, how = gpu_price(t)
        prices.append(np.nan if price is None else price)
        price_notes[t] = how
        gpu_types.append(
            GpuType(t, {"memory_gib": float(gpu.memory_gib.value), "compute": 1.0}, cost_per_hour=price, peak_tflops=tf)
        )
    idx = [types.index(t) for t in present]
    price_arr = np.array(prices)
    unpriced = [t for t, pr in zip(present, prices, strict=True) if np.isnan(pr)]
    objective = p["objective"]
    priced = _reads(spec, "cost")
    wants_cost = priced and (
        "cost" in _requires(spec, objective)
        or (objective == "min-gpus" and p["problem_params"].get("measure") == "cost")
    )
    if wants_cost and unpriced:
        raise InputError(
            source,
            "params.objective",
            "a cost objective only on clusters whose every GPU type has a cited price (docs/generators.md, Prices)",
            f"no cited price for {unpriced}",
        )
    cost = _round(price_arr[None, :] * jobs.gang[:, None] * time[:, idx] / 3600.0, 6)
    elig = jobs.eligible[:, idx]
    demand = np.stack([_round(jobs.memory[:, idx], 3), _round(jobs.share[:, idx], 4)], axis=2)
    job_block = Jobs.build(
        [f"j{i}" for i in range(n)],
        np.nan_to_num(demand, nan=0.0),
        eligible=elig,
        gang=jobs.gang,
        release=release,
        weight=weight,
        time=np.nan_to_num(time[:, idx], nan=1.0),
        cost=np.nan_to_num(cost, nan=0.0) if priced and not np.isnan(price_arr).any() else None,
        throughput=np.nan_to_num(_sig(jobs.throughput[:, idx]), nan=1.0) if _reads(spec, "throughput") else None,
        deadline=deadline,
        job_type=[tables.keys[k] for k in jobs.job_type.tolist()],
        tenant=tenant,
    )
    problem_params = dict(p["problem_params"])
    label = p["name"] or f"{cls}-{objective}-{p['cluster'] if isinstance(p['cluster'], str) else 'custom'}-n{n}-s{seed}"
    metadata: dict[str, Any] = {
        "name": label,
        "description": f"generated {cls}/{objective} instance: {n} jobs on {G} GPUs",
        "generator": {"name": name, "version": VERSION, "params": p, "seed": seed},
        "source": {
            "catalogue": catalogue.version,
            "gpu_prices": price_notes,
            "citation": "job figures: schedbench catalogue (Gavel, Narayanan et al. OSDI 2020; Lambda "
            "deep-learning-benchmark); durations, gangs and arrivals: schedbench trace fits "
            "(Philly, Jeon et al. ATC 2019)",
        },
        "notes": notes,
    }
    if stats:
        metadata["stats"] = stats
    if meta_extra:
        ol = meta_extra["offered_load"]
        realised = "n/a" if ol["realised"] is None else f"{ol['realised']:.4f}"
        metadata["notes"] = [
            *notes,
            f"offered load (fluid LP): requested {ol['target']}, at the arrival rate "
            f"{ol['fluid']:.4f} (nominal {ol['nominal']:.4f}), realised over the "
            f"arrival span {realised}; arrival rate {ol['rate_per_hour']:.6g} jobs/hour",
        ]
        if ol["fluid"] >= 1.0:
            metadata["notes"].append(
                f"WARNING: fluid offered load {ol['fluid']:.4f} >= 1: no scheduler keeps up, queues grow without bound"
            )
    from schedbench.instances.io import make_instance

    solution = None
    if planted is not None:
        solution = {"problem": "placement", "assignment": planted}
        metadata["known"] = _planted_bound(objective, job_block, gpu_types, planted)
    # the arrays are canonical by construction (Jobs.build); tests load every written instance
    inst = make_instance(
        resources=RESOURCES,
        gpu_types=gpu_types,
        nodes=nodes,
        jobs=job_block,
        problem=Problem(cls, objective, problem_params),
        metadata=jsonio.normalise(metadata),
        verify=False,
    )
    return inst, solution


def _workload(
    p: dict[str, Any], source: str
) -> tuple[Any, tuple[NodeGroup, ...], tuple[str, ...], WorkloadTables, np.ndarray]:
    """The catalogue, the cluster's node groups and GPU types, the workload tables and the job-type mix.

    Raises:
        InputError: a bad cluster or mix, or no catalogued job runnable on the cluster.
    """
    # the shipped catalogue and the project's own measurements (schedbench/data/profiled.json: CPU types only,
    # so GPU-cluster bytes do not change); a user's catalogue only when asked: it must not change bytes unasked
    from schedbench.catalogue.build import load_catalogue

    catalogue = load_catalogue(user=p["user_catalogue"])
    try:
        groups = scale_groups(
            cluster_groups(p["cluster"], _alibaba_groups() if p["cluster"] == "alibaba-openb" else None),
            p["cluster_scale"],
        )
    except ValueError as exc:
        raise InputError(source, "params.cluster", str(exc), repr(p["cluster"])) from None
    types = tuple(dict.fromkeys(g.gpu_type for g in groups))
    unknown = [t for t in types if t not in catalogue.gpus]
    if unknown:
        raise InputError(
            source,
            "params.cluster",
            f"GPU types of the catalogue {sorted(catalogue.gpus)}",
            f"unknown GPU type(s) {unknown}",
        )
    tables = WorkloadTables.build(catalogue, types, include_suspect=p["include_suspect"])
    if not tables.keys:
        raise InputError(
            source, "params.cluster", "GPU types on which some catalogued job has a throughput", f"{list(types)}"
        )
    try:
        probs = mix_weights(tables, catalogue, p["mix"])
    except ValueError as exc:
        raise InputError(source, "params.mix", "job types runnable on the cluster", str(exc)) from None
    return catalogue, groups, types, tables, probs


def _gangs_and_durations(
    p: dict[str, Any],
    tables: WorkloadTables,
    groups: tuple[NodeGroup, ...],
    probs: np.ndarray,
    rng: dict[str, np.random.Generator],
    n: int,
    multi_node: bool,
    source: str,
) -> tuple[np.ndarray, np.ndarray, Any, str | None]:
    """Per job its GPU count and duration (drawn jointly from a trace when ``gang`` and ``duration``
    name the same one), the joint model (or None) and a note on the ``outcomes`` filter (or None).

    Raises:
        InputError: ``outcomes=completed`` without joint trace draws.
    """
    from schedbench.traces.models import DurationModel, GangModel, JointModel

    joint = None
    outcome_note = None
    if p["joint"] and isinstance(p["gang"], str) and p["gang"] == p["duration"]:
        # (GPUs, duration) pairs as the trace has them, among the GPU counts the cluster can run
        cap = largest_runnable_count(runnable_table(tables, groups, p["default_memory_fraction"], multi_node), probs)
        joint = JointModel.shipped(p["gang"], max_gpus=cap)
        if p["outcomes"] == "completed":
            from schedbench.traces.models import shipped_fit

            acme = shipped_fit("outcomes/acme")["params"]["clusters"]["Philly"]
            ca, cb = joint.completion_model(acme["complete_rate_gpu"], acme["complete_rate_gpu_time"])
            gang_draw, joint_dur = joint.sample_completed(rng["outcomes"], n, ca, cb)
            outcome_note = (
                f"outcomes=completed: jobs kept with P(completed | d) = 1 / (1 + exp({ca:.6g} + {cb:.6g} "
                f"ln d)), calibrated so that {acme['complete_rate_gpu']:.3g} of the jobs and "
                f"{acme['complete_rate_gpu_time']:.3g} of the GPU time complete (Acme, Philly)"
            )
        else:
            gang_draw, joint_dur = joint.sample(rng["gangs"], n)
    elif p["outcomes"] == "completed":
        raise InputError(
            source,
            "params.outcomes",
            "completed only with joint trace draws (gang and duration naming the same trace, joint=true)",
            "'completed'",
        )
    elif isinstance(p["gang"], str):
        gang_draw = GangModel.shipped(p["gang"]).sample(rng["gangs"], n)
    else:
        vals = np.array([int(k) for k in p["gang"]], dtype=np.int64)
        w = np.array(list(p["gang"].values()))
        gang_draw = vals[rng["gangs"].choice(len(vals), size=n, p=w / w.sum())]
    # durations
    d = p["duration"]
    if joint is not None:
        dur = joint_dur
    elif isinstance(d, str):
        dur = DurationModel.shipped(d).sample(rng["durations"], n)
    elif d["dist"] == "lognormal":
        dur = d["median_s"] * np.exp(d["sigma"] * rng["durations"].standard_normal(n))
    elif d["dist"] == "exponential":
        dur = rng["durations"].exponential(d["mean_s"], n)
    else:
        dur = np.full(n, d["seconds"])
    dur = _round(np.clip(dur, p["min_duration_s"], max(p["min_duration_s"], p["max_duration_s"])), 3)
    return gang_draw, dur, joint, outcome_note


def _weights(p: dict[str, Any], rng: np.random.Generator, n: int, source: str) -> np.ndarray:
    """Job weights: all one, or drawn from ``{weight: probability}``.

    Raises:
        InputError: a name other than ``one``, or non-numeric weights.
    """
    if p["weights"] == "one":
        return np.ones(n)
    if isinstance(p["weights"], str):
        raise InputError(source, "params.weights", "'one' or a mapping {weight: probability}", repr(p["weights"]))
    try:
        vals_w = np.array([float(k) for k in p["weights"]])
    except ValueError:
        raise InputError(source, "params.weights", "numeric weights as keys", repr(p["weights"])) from None
    pw = np.array(list(p["weights"].values()))
    return vals_w[rng.choice(len(vals_w), size=n, p=pw / pw.sum())]


def _stats(jobs: Any, tables: WorkloadTables, dur: np.ndarray, joint: Any, p: dict[str, Any]) -> dict[str, Any]:
    """``metadata.stats``: the provenance of the demand figures and the drawn jobs' statistics."""
    from schedbench.generators.stats import job_stats
    from schedbench.traces.models import DurationModel

    d = p["duration"]
    prov = jobs.fallbacks["provenance"]
    pairs = int(jobs.eligible.sum())
    fallback_figs = (
        prov["memory"]["other GPU (fallback)"]
        + prov["memory"]["default fraction (fallback)"]
        + prov["compute"]["whole GPU (fallback)"]
    )
    figures = {
        "pairs": pairs,
        "memory": prov["memory"],
        "compute": prov["compute"],
        "fallback_share": _r(fallback_figs / (2 * pairs), 6) if pairs else 0.0,
        "suspect_throughputs_left_out": tables.suspect_left_out,
        "definition": "over the (job, eligible GPU type) pairs: the provenance of each memory and compute "
        "demand figure; fallback_share = fallback figures / (2 x pairs)",
    }
    stats: dict[str, Any] = {
        "figures": figures,
        "jobs": job_stats(
            jobs.gang,
            dur,
            joint,
            DurationModel.shipped(d) if joint is None and isinstance(d, str) else None,
            p["gang"] if joint is not None else None,
        ),
    }
    return stats


def _arrivals(
    p: dict[str, Any],
    load: float,
    jobs: Any,
    time: np.ndarray,
    nodes: tuple[Node, ...],
    types: tuple[str, ...],
    rng: np.random.Generator,
    n: int,
    source: str,
    stats: dict[str, Any],
    meta_extra: dict[str, Any],
) -> np.ndarray:
    """Release times at offered load ``load`` (fluid LP, docs/generators.md); records the offered load in
    ``stats`` (and the queueing model with ``load_basis=model``) and in ``meta_extra``.

    Raises:
        InputError: ``arrivals=replay`` with ``load_basis=model``, or a bad ``load_basis=model`` setting.
    """
    from schedbench.traces.models import ArrivalModel

    G = sum(len(nd.gpus) for nd in nodes)
    model = ArrivalModel.shipped(weekly=p["diurnal"], diurnal=p["diurnal"])
    fl = _fluid(jobs.job_type, jobs.gang, time, nodes, types)
    # per-job horizon: with rate lambda, n jobs span n / lambda; fluid = rho1 * lambda / n
    rate_per_hour = load * n / fl.work_per_s * 3600.0 if n else 1.0
    if p.get("load_basis") == "model":
        queueing = _queueing(p, types, G, load, source)
        rate_per_hour = queueing["arrival_rate_per_s"] * 3600.0
        stats["queueing"] = queueing
    if p["arrivals"] == "replay":
        if p.get("load_basis") == "model":
            raise InputError(source, "params.arrivals", "fit with load_basis=model (Poisson)", "'replay'")
        from schedbench.traces.models import ArrivalReplay

        arrivals, start_hour = ArrivalReplay.shipped("philly").sample(rng, n, rate_per_hour)
        stats["arrivals"] = {"mode": "replay", "trace": "philly", "start_hour_of_trace": start_hour}
    else:
        arrivals = model.sample(rng, n, rate_scale=rate_per_hour / model.rate_per_hour)
    release = _round(arrivals - arrivals[0], 3) if n else np.zeros(n)
    span = float(release[-1] - release[0]) if n > 1 else 0.0
    per_job_h = n / (rate_per_hour / 3600.0)
    fluid_at_rate = fl.at(per_job_h) if n else 0.0
    nominal_at_rate = fl.nominal_at(per_job_h) if n else 0.0
    realised = fl.at(span) if span > 0 else None
    meta_extra["offered_load"] = {
        "target": load,
        "realised": realised,
        "rate_per_hour": rate_per_hour,
        "fluid": fluid_at_rate,
        "nominal": nominal_at_rate,
    }
    stats["offered_load"] = {
        "requested": load,
        "basis": p.get("load_basis", "sample"),
        "fluid": _r(fluid_at_rate),
        "nominal": _r(nominal_at_rate),
        "realised_fluid": None if realised is None else _r(realised),
        "realised_nominal": None if realised is None else _r(fl.nominal_at(span)),
        "arrival_rate_per_hour": _r(rate_per_hour, 12),
        "definition": "fluid: least rho such that every job's work (gang x time) can be split over its "
        "eligible GPU types with every type busy at most rho (HiGHS LP, docs/generators.md); "
        "nominal: sum(gang x fastest time) / (GPUs x horizon)",
    }
    return release


def _requires(spec: ProblemClass, objective: str) -> tuple[str, ...]:
    """The per-type fields ``objective`` of the class requires."""
    o = spec.objective(objective)
    return () if o is None else o.requires


def _reads(spec: ProblemClass, field: str) -> bool:
    """Whether some objective of the class reads the per-type job field ``field`` (``cost``, ``throughput``)."""
    return any(field in need.split("|") for o in spec.objectives for need in o.requires)


def _r(x: float, digits: int = 9) -> float:
    """Round to ``digits`` significant digits (stable bytes across platforms)."""
    return float(_sig(np.array([x], dtype=np.float64), digits)[0])


def _fluid(
    kind: np.ndarray, gang: np.ndarray, time: np.ndarray, nodes: tuple[Node, ...], types: tuple[str, ...]
) -> FluidLoad:
    """The fluid LP (:mod:`.load`) of the drawn jobs, one row per (job type, gang) group (their
    time vectors are proportional), for horizon 1 s; its value rounded to 9 significant digits so
    the arrival rate, and the bytes, do not depend on HiGHS's last digits."""
    from dataclasses import replace

    from schedbench.generators.load import fluid_load

    gpus = np.zeros(len(types))
    for nd in nodes:
        gpus[types.index(nd.gpu_type)] += len(nd.gpus)
    key = kind.astype(np.int64) * 1024 + gang.astype(np.int64)
    uniq, inv = np.unique(key, return_inverse=True)
    work = np.zeros((len(uniq), len(types)))
    np.add.at(work, inv, np.nan_to_num(gang[:, None] * time, nan=0.0))
    elig = np.zeros((len(uniq), len(types)), dtype=bool)
    np.logical_or.at(elig, inv, np.isfinite(time))
    work = np.where(elig, work, np.nan)
    fl = fluid_load(work, gpus)
    return replace(fl, work_per_s=_r(fl.work_per_s), nominal_per_s=_r(fl.nominal_per_s))


def _queueing(p: dict[str, Any], types: tuple[str, ...], G: int, load: float, source: str) -> dict[str, Any]:
    """The queueing model behind ``load_basis=model``: arrival rate ``load * G / (E[gang] E[S])`` from the
    distributions' means (so that the instance is a sample path of a known M/G/c-type system).

    Raises:
        InputError: more than one GPU type, a trace-fitted duration model, or a named gang model.
    """
    if len(types) != 1:
        raise InputError(source, "params.load_basis", "model only on a cluster of one GPU type", repr(list(types)))
    if p["diurnal"]:
        raise InputError(source, "params.load_basis", "model only with Poisson arrivals (diurnal=false)", "true")
    mean_s = duration_mean(p["duration"])
    if mean_s is None:
        raise InputError(
            source,
            "params.load_basis",
            "model only with an analytic duration ({dist: exponential|lognormal|fixed, ...})",
            repr(p["duration"]),
        )
    if isinstance(p["gang"], str):
        raise InputError(
            source, "params.load_basis", 'model only with an explicit gang pmf, e.g. {"1": 1}', repr(p["gang"])
        )
    vals = np.array([int(k) for k in p["gang"]], dtype=np.float64)
    w = np.array(list(p["gang"].values()))
    mean_gang = float((vals * w).sum() / w.sum())
    lam = load * G / (mean_gang * mean_s)
    scv = duration_scv(p["duration"])
    clipped = p["min_duration_s"] > 1e-3 or p["max_duration_s"] < 1e9
    kind = {"exponential": "M", "fixed": "D"}.get(p["duration"]["dist"], "G")

    def r(x: float | None) -> float | None:
        return None if x is None else float(_sig(np.array([x]), 12)[0])

    return {
        "model": f"M/{kind}/{G}" if set(vals.tolist()) == {1.0} else "M/G/c with gangs",
        "servers": G,
        "arrival_rate_per_s": r(lam),
        "mean_size_s": r(mean_s),
        "size_scv": r(scv),
        "mean_gang": mean_gang,
        "load": load,
        "note": "sizes clipped to [min_duration_s, max_duration_s] and rounded to 1 ms"
        if clipped
        else "sizes rounded to 1 ms",
    }


def _planted_bound(
    objective: str, jobs: Jobs, gpu_types: list[GpuType], planted: dict[str, list[str]]
) -> dict[str, Any]:
    """The planted solution's objective as a known bound (computed here, checked by the tests)."""
    tindex = {t.id: i for i, t in enumerate(gpu_types)}
    rows = [int(j[1:]) for j in planted]
    if objective == "min-cost":
        assert jobs.cost is not None
        cols = [tindex[g[0].split("-n")[0]] for g in planted.values()]
        value = float(np.round(jobs.cost[rows, cols].sum(), 6))
        return {"upper_bound": value, "source": "planted solution of the generator"}
    if objective == "min-gpus":
        return {
            "upper_bound": float(len({g for gs in planted.values() for g in gs})),
            "source": "planted solution of the generator",
        }
    return {"lower_bound": float(jobs.weight[rows].sum()), "source": "planted solution of the generator"}


def _plant(
    jobs: SampledJobs,
    groups: tuple[NodeGroup, ...],
    types: tuple[str, ...],
    gpu_memory: np.ndarray,
    p: dict[str, Any],
    rng: np.random.Generator,
    n: int,
) -> tuple[tuple[Node, ...], dict[str, list[str]], str]:
    """Planted placement (module docstring): returns the opened nodes and a metadata note."""
    tight = p["tightness"]
    T = len(types)
    gpus_of_type = np.zeros(T)
    per_node = np.zeros(T, dtype=np.int64)
    for g in groups:
        t = types.index(g.gpu_type)
        gpus_of_type[t] += g.nodes * g.gpus_per_node
        per_node[t] = max(per_node[t], g.gpus_per_node)
    planted = np.ones(n, dtype=bool)
    if p["objective"] == "max-weight":
        k = int(np.ceil(n / max(1.0, p["oversubscription"])))
        planted[:] = False
        planted[rng.permutation(n)[:k]] = True
    # planted type: drawn among eligible types in proportion to the preset's GPUs of each type
    w = jobs.eligible * gpus_of_type[None, :]
    cum = np.cumsum(w, axis=1)
    u = rng.random(n) * cum[:, -1]
    choice = np.minimum((cum <= u[:, None]).sum(axis=1), T - 1)
    # per type: loads of the opened nodes, (nodes, GPUs per node, 2 resources), grown by doubling
    loads = [np.zeros((4, int(per_node[t]), 2)) for t in range(T)]
    opened = np.zeros(T, dtype=np.int64)
    assignment: dict[str, list[str]] = {}
    for j in np.flatnonzero(planted).tolist():
        t = int(choice[j])
        gang = int(jobs.gang[j])
        dem = np.array([np.round(jobs.memory[j, t], 3), np.round(jobs.share[j, t], 4)])
        limit = np.array([tight * gpu_memory[t], tight])
        live = loads[t][: opened[t]]
        # a GPU takes the job if its load stays within the limit, or if it is empty (a job above the
        # tightness limit, e.g. a whole-GPU job, runs alone on a GPU: it fits the capacity)
        fits = ((live + dem) <= limit + 1e-9).all(axis=2) | (live == 0).all(axis=2)
        enough = np.flatnonzero(fits.sum(axis=1) >= gang)
        if len(enough):
            k = int(enough[0])
            cand = np.flatnonzero(fits[k])
            pick = np.sort(cand[np.argsort(live[k, cand, 0], kind="stable")[:gang]])
        else:
            k = int(opened[t])
            if k == len(loads[t]):
                loads[t] = np.concatenate([loads[t], np.zeros_like(loads[t])])
            opened[t] += 1
            pick = np.arange(gang)
        loads[t][k, pick] += dem
        assignment[f"j{j}"] = [f"{types[t]}-n{k}/{g}" for g in pick.tolist()]
    nodes = []
    for t in range(T):
        for k in range(int(opened[t])):
            nid = f"{types[t]}-n{k}"
            nodes.append(Node(nid, types[t], tuple(f"{nid}/{i}" for i in range(int(per_node[t])))))
    if not nodes:  # nothing planted (no jobs): one node of the first group
        nodes = list(build_nodes(groups[:1]))[:1]
    opened_total = int(opened.sum())
    note = (
        f"planted: {int(planted.sum())} of {n} jobs placed on {opened_total} nodes, every GPU loaded to at most "
        f"{tight} of its capacity (the cluster is the nodes the planting opened)"
    )
    return tuple(nodes), assignment, note
