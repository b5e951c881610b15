"""The documented rules that derive figures no source measured. Every result is an estimate.

Each rule is a pure function from measured (or specified) figures to a :class:`Figure` of kind
``derived`` whose ``rule`` text names the rule, its inputs and their values, and whose
``inputs`` lists every source used. :func:`apply_rules` applies them to a merged catalogue; it
never replaces a figure a source gives.

R1 memory per GPU (GiB at the job's batch size)
    *R1a fits* (Lambda's job types): Lambda ran the job with per-GPU batch ``b`` on a GPU type, the
    largest its procedure found to fit, so the memory the job needs at that batch is at most the
    GPU's capacity ``M``. The figure is ``M``: an upper bound, tight when ``b`` really is the largest
    batch that fits (Lambda sets batch sizes per memory size, so it may not be).

    *R1b batch-proportional* (Gavel's job types with a same-model Lambda job: ResNet-50): with
    ``b_max`` the per-GPU batch Lambda's FP32 job ran on a GPU type of capacity ``M``,
    ``memory(B) = M x B / b_max`` for ``B <= b_max`` (no figure when ``B > b_max``: the rule does not
    extrapolate beyond a batch that fitted). It treats all memory as proportional to the batch; the
    fixed part (weights, optimizer state, workspaces) makes the true need higher for small ``B``,
    and ``b_max`` below the true largest batch makes the estimate high. An estimate, not a bound.

    Since catalogue 2.0.0 R1b is no longer applied: R4 gives the memory of every Gavel job type.

R4 memory formula (Gavel's job types; :mod:`schedbench.catalogue.memory`)
    ``memory(B) = context + state_bytes x P + B x activation bytes per sample`` from the model's
    parameters, optimiser and architecture, with cited constants: one figure for the job, the same
    on every GPU type on which it has a throughput. Where a source measured the job on a GPU type
    (it ran there) the figure is capped at that GPU's capacity, so the formula never removes a
    measured configuration. An estimate.

R2 speed-ratio (throughput of Gavel's job types on GPU types Gavel did not measure)
    ``T(job, G, n) = T_gavel(job, V100, n) x r`` where ``r`` is the measured speed ratio
    ``T_lambda(m, G, n) / T_lambda(m, V100, n)`` of the same model ``m`` in Lambda's FP32 tables
    (Gavel ResNet-50 <- Lambda ResNet-50), or else the geometric mean of that ratio over Lambda's
    FP32 models of the job's family (cnn: ResNet-50, SSD; rnn: GNMT; transformer: BERT-base,
    BERT-large, Transformer-XL base and large; recommendation: NCF) that have both figures, at the
    same GPU count ``n``. V100 is the common reference: the only GPU type both sources measured.
    Assumes the job speeds up like its reference model(s), that Gavel's V100 is as fast as Lambda's
    V100 16 GB, and inherits Lambda's ``fp32`` settings (TF32 maths on Ampere/Hopper). No rule for
    the rl and gan families (no Lambda reference): unknown.

R3 co-location share (compute share)
    For a single-GPU job and a GPU type Gavel measured, the share when co-located with a partner
    ``o`` is ``s_o = T_with_o / T_alone`` (the fraction of its isolated throughput the job keeps
    while another job shares the GPU). The figure is the median of ``s_o`` over every partner in
    Gavel's table that ran together with it (pairs recorded as ``[0, 0]`` did not, and are left
    out). About 0.5 means the job takes the GPU's whole compute (sharing halves it); near 1 means it
    leaves room for a partner. Job types Gavel did not co-locate: unknown.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable
from dataclasses import replace

from schedbench.catalogue import lambdalabs
from schedbench.catalogue.model import DERIVED, Catalogue, Colocation, Figure, JobType, Provenance

#: The GPU type both sources measured, used as the reference of speed ratios.
REFERENCE_GPU = "V100"
#: Gavel model -> Lambda model column of the same model.
SAME_MODEL = {"ResNet-50": "resnet50"}
SHARE_UNIT = "fraction of isolated throughput"
_METHOD = "estimate computed from cited figures by a documented rule (schedbench.catalogue.derive)"


def _g(x: float) -> str:
    return f"{x:.6g}"


def _inputs(*figures: Figure, first: str) -> tuple[str, ...]:
    keys = [first]
    for f in figures:
        for k in f.provenance.inputs:
            if k not in keys:
                keys.append(k)
    return tuple(keys)


def geometric_mean(values: Iterable[float]) -> float:
    """Geometric mean of positive numbers."""
    vals = list(values)
    return math.exp(sum(math.log(v) for v in vals) / len(vals))


# ---------------------------------------------------------------------- R1 memory


def memory_fits(capacity: Figure, gpu: str, per_gpu_batch: int, max_batch: Figure, job_label: str) -> Figure:
    """R1a: the memory of a job run at the largest batch that fits is at most the GPU's capacity."""
    rule = (
        f"R1a fits: Lambda ran {job_label} on {gpu} with a per-GPU batch of {per_gpu_batch} (the largest "
        f"its procedure found to fit), so the memory it needs at that batch is at most the GPU's capacity, "
        f"{_g(capacity.value)} GiB; recorded as that upper bound"
    )
    prov = Provenance(
        DERIVED,
        max_batch.provenance.source,
        f"{max_batch.provenance.detail}; capacity: {capacity.provenance.detail}",
        f"one {gpu} GPU",
        _METHOD,
        rule,
        _inputs(max_batch, capacity, first=max_batch.provenance.source),
    )
    return Figure(capacity.value, "GiB", prov)


def memory_proportional(
    capacity: Figure, gpu: str, batch: int, per_gpu_max: int, max_batch: Figure, job_label: str, ref_label: str
) -> Figure | None:
    """R1b: ``memory(B) = M x B / b_max`` for ``B <= b_max``; None beyond ``b_max``."""
    if batch > per_gpu_max or per_gpu_max <= 0:
        return None
    value = capacity.value * batch / per_gpu_max
    rule = (
        f"R1b batch-proportional: memory of {job_label} = capacity x B / b_max = {_g(capacity.value)} GiB x "
        f"{batch} / {per_gpu_max} = {_g(value)} GiB, where b_max = {per_gpu_max} is the per-GPU batch {ref_label} "
        f"ran on {gpu} (the largest that fits); ignores memory that does not grow with the batch: an estimate, "
        "not a bound"
    )
    prov = Provenance(
        DERIVED,
        max_batch.provenance.source,
        f"{max_batch.provenance.detail}; capacity: {capacity.provenance.detail}",
        f"one {gpu} GPU",
        _METHOD,
        rule,
        _inputs(max_batch, capacity, first=max_batch.provenance.source),
    )
    return Figure(value, "GiB", prov)


# ---------------------------------------------------------------------- R2 speed ratio


def speed_ratio(
    base: Figure, gpu: str, num_gpus: int, refs: list[tuple[str, Figure, Figure]], *, scope: str, job_label: str
) -> Figure:
    """R2: ``base x r``, ``r`` the geometric mean over ``refs`` of ``target / reference`` throughput.

    ``refs``: ``(model name, figure on gpu, figure on the reference GPU)``, same GPU count;
    ``scope``: ``"same model"`` or ``"<family> family"``.
    """
    ratios = [t.value / r.value for _, t, r in refs]
    ratio = geometric_mean(ratios)
    value = base.value * ratio
    parts = ", ".join(f"{name} {_g(t.value)}/{_g(r.value)} {t.unit}" for name, t, r in refs)
    how = "the ratio" if len(refs) == 1 else f"the geometric mean of {len(refs)} ratios"
    rule = (
        f"R2 speed-ratio ({scope}): {job_label} measured on {num_gpus} x {REFERENCE_GPU} "
        f"({_g(base.value)} {base.unit}) x {_g(ratio)} = {_g(value)}, {_g(ratio)} being {how} of Lambda's fp32 "
        f"throughput on {num_gpus} x {gpu} to {num_gpus} x {REFERENCE_GPU} ({parts}); "
        "assumptions: docs/catalogue.md, R2"
    )
    detail = f"{base.provenance.detail}; ratio: " + "; ".join(
        f"{t.provenance.detail} / {r.provenance.detail}" for _, t, r in refs
    )
    prov = Provenance(
        DERIVED,
        base.provenance.source,
        detail,
        f"{num_gpus} x {gpu} (not measured: estimate)",
        _METHOD,
        rule,
        _inputs(base, *(f for _, t, r in refs for f in (t, r)), first=base.provenance.source),
    )
    return Figure(value, base.unit, prov)


# ---------------------------------------------------------------------- R3 compute share


def compute_share(colocation: Colocation, isolated: Figure, gpu: str, job_label: str) -> Figure | None:
    """R3: median over partners that ran together of (co-located / isolated) throughput; None when
    the job did not run alone or with any partner."""
    if isolated.value <= 0:
        return None
    shares = sorted(a / isolated.value for a, b in colocation.pairs.values() if a > 0 and b > 0)
    if not shares:
        return None
    value = statistics.median(shares)
    left_out = len(colocation.pairs) - len(shares)
    rule = (
        f"R3 co-location share: median over {len(shares)} partners of {job_label}'s co-located / isolated "
        f"throughput on one {gpu} (isolated {_g(isolated.value)} {isolated.unit}; shares from {_g(shares[0])} "
        f"to {_g(shares[-1])}; {left_out} listed pairs that did not run together left out)"
    )
    prov = Provenance(
        DERIVED,
        colocation.provenance.source,
        f"{colocation.provenance.detail}; isolated: {isolated.provenance.detail}",
        f"one {gpu} shared by two jobs",
        _METHOD,
        rule,
        _inputs(isolated, first=colocation.provenance.source),
    )
    return Figure(value, SHARE_UNIT, prov)


# ---------------------------------------------------------------------- applying the rules


_SOURCE_NAMES = {"gavel": "Gavel", "lambda": "Lambda"}


def _label(jt: JobType) -> str:
    who = _SOURCE_NAMES.get(jt.source, jt.source)
    bs = f" (batch size {jt.batch_size})" if jt.batch_size is not None else ""
    return f"{who}'s {jt.model}{bs}" if jt.precision is None else f"{who}'s {jt.precision} {jt.model}"


def _per_gpu_max(jt: JobType, gpu: str) -> tuple[int, Figure] | None:
    """The per-GPU batch a Lambda job ran on ``gpu`` (fewest GPUs first) and its figure."""
    counts = sorted(n for g, n in jt.max_batch if g == gpu)
    if not counts:
        return None
    n = counts[0]
    fig = jt.max_batch[(gpu, n)]
    return int(fig.value) // n, fig


def _lambda_refs(cat: Catalogue, jt: JobType) -> list[tuple[str, list[JobType]]]:
    """Candidate Lambda fp32 references of a Gavel job type, in order of preference:
    ``[("same model", [ref]), ("<family> family", [refs...])]`` (empty lists left out)."""
    out: list[tuple[str, list[JobType]]] = []
    same = SAME_MODEL.get(jt.model)
    ref = cat.job_types.get(lambdalabs.job_key(same, "fp32")) if same else None
    if ref is not None:
        out.append(("same model", [ref]))
    family = [
        r
        for _, r in sorted(cat.job_types.items())
        if r.source == lambdalabs.SOURCE.key and r.precision == "fp32" and r.family == jt.family
    ]
    if family:
        out.append((f"{jt.family} family", family))
    return out


def _throughput_by_ratio(cat: Catalogue, jt: JobType) -> dict[tuple[str, int], Figure]:
    """R2 for one Gavel job type: every GPU type and count a reference allows."""
    out: dict[tuple[str, int], Figure] = {}
    if jt.source == lambdalabs.SOURCE.key:
        return out
    candidates = _lambda_refs(cat, jt)
    measured_gpus = {g for g, _ in jt.throughput}
    for (g0, n), base in sorted(jt.throughput.items()):
        if g0 != REFERENCE_GPU or base.value <= 0 or base.suspect is not None:
            continue
        for gpu in sorted(set(cat.gpus) - measured_gpus):
            for scope, refs in candidates:
                pairs = [
                    (r.model, r.throughput[(gpu, n)], r.throughput[(REFERENCE_GPU, n)])
                    for r in refs
                    if (gpu, n) in r.throughput
                    and (REFERENCE_GPU, n) in r.throughput
                    and r.throughput[(gpu, n)].suspect is None
                    and r.throughput[(REFERENCE_GPU, n)].suspect is None
                ]
                if pairs:
                    out[(gpu, n)] = speed_ratio(base, gpu, n, pairs, scope=scope, job_label=_label(jt))
                    break
    return out


def memory_formula(jt: JobType, gpu: str, capacity: Figure, measured_there: bool) -> Figure | None:
    """R4 for one job type on one GPU type (None for a model without constants)."""
    from schedbench.catalogue import memory as mm

    est = mm.estimate_gib(jt.model, jt.batch_size)
    if est is None:
        return None
    model = mm.MODELS[jt.model]
    b = model.default_batch if jt.batch_size is None else jt.batch_size
    value = est
    capped = measured_there and est > capacity.value
    if capped:
        value = capacity.value
    rule = (
        f"R4 memory formula: {_label(jt)} = {_g(mm.CONTEXT_GIB)} GiB context + "
        f"{mm.STATE_BYTES[model.optimiser]} B x {_g(model.params)} parameters ({model.optimiser}) + {b} x "
        f"{_g(model.act_bytes / 2**20)} MiB activations per sample = {_g(est)} GiB ({model.basis})"
        + (f"; capped at {gpu}'s {_g(capacity.value)} GiB: the source measured the job there" if capped else "")
    )
    prov = Provenance(
        DERIVED,
        jt.source,
        f"model {jt.model!r}, batch size {b}; schedbench/catalogue/memory.py",
        f"one {gpu} GPU",
        _METHOD,
        rule,
        (jt.source, mm.SOURCE_KEY),
    )
    return Figure(round(value, 6), "GiB", prov)


def _memory(cat: Catalogue, jt: JobType) -> dict[str, Figure]:
    out: dict[str, Figure] = {}
    if jt.source != lambdalabs.SOURCE.key:
        from schedbench.catalogue import memory as mm

        if mm.SOURCE_KEY not in cat.sources:
            return out
        measured = {g for (g, _), f in jt.throughput.items() if f.kind == "measured"}
        for gpu in sorted({g for g, _ in jt.throughput} & set(cat.gpus)):
            fig = memory_formula(jt, gpu, cat.gpus[gpu].memory_gib, gpu in measured)
            if fig is not None:
                out[gpu] = fig
        return out
    if jt.source == lambdalabs.SOURCE.key:
        for gpu in sorted({g for g, _ in jt.max_batch}):
            found = _per_gpu_max(jt, gpu)
            if found is None or gpu not in cat.gpus or not any(g == gpu for g, _ in jt.throughput):
                continue
            per_gpu, fig = found
            out[gpu] = memory_fits(cat.gpus[gpu].memory_gib, gpu, per_gpu, fig, _label(jt))
        return out
    same = SAME_MODEL.get(jt.model)
    ref = cat.job_types.get(lambdalabs.job_key(same, "fp32")) if same else None
    if ref is None or jt.batch_size is None:
        return out
    for gpu in sorted({g for g, _ in ref.max_batch}):
        found = _per_gpu_max(ref, gpu)
        if found is None or gpu not in cat.gpus:
            continue
        per_gpu, fig = found
        mem = memory_proportional(cat.gpus[gpu].memory_gib, gpu, jt.batch_size, per_gpu, fig, _label(jt), _label(ref))
        if mem is not None:
            out[gpu] = mem
    return out


def _shares(jt: JobType) -> dict[str, Figure]:
    out: dict[str, Figure] = {}
    for gpu, coloc in sorted(jt.colocation.items()):
        iso = jt.throughput.get((gpu, 1))
        if iso is None:
            continue
        share = compute_share(coloc, iso, gpu, _label(jt))
        if share is not None:
            out[gpu] = share
    return out


def apply_rules(cat: Catalogue) -> Catalogue:
    """The catalogue with every derivable figure added (R2 throughput, R1 memory, R3 compute share);
    figures a source gives are kept as they are."""
    jobs: dict[str, JobType] = {}
    for key, jt in sorted(cat.job_types.items()):
        throughput = dict(jt.throughput)
        for k, f in _throughput_by_ratio(cat, jt).items():
            throughput.setdefault(k, f)
        memory = dict(jt.memory_gib)
        for g, f in _memory(cat, replace(jt, throughput=throughput)).items():
            memory.setdefault(g, f)
        shares = dict(jt.compute_share)
        for g, f in _shares(jt).items():
            shares.setdefault(g, f)
        jobs[key] = replace(jt, throughput=throughput, memory_gib=memory, compute_share=shares)
    return replace(cat, job_types=jobs)
