"""Fits of job-arrival, duration, gang-size, fractional-GPU and outcome distributions to traces.

One pure function per KIND works on arrays (``arrival_params``, ``duration_params``,
``pmf_params``, ...); the file-level functions (``fit_arrival(path)``, ...) read a trace with
:mod:`schedbench.traces.readers` and wrap the result as a small JSON-ready document::

    {"kind": ..., "method": "...", "source": {"format", "file", "sha256", "citation", "licence"},
     "data": {"n": ..., summary}, "params": {...}, "goodness": {...}}

Everything is deterministic: no randomness, optimisers start from fixed points (quantiles of the
data), and every real number is rounded to 6 significant digits (:func:`sig`) so that re-fitting the
same file reproduces the shipped document (``schedbench/data/trace_fits.json``) exactly. The
methods are described in ``docs/traces.md``.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any, SupportsFloat

import numpy as np

from schedbench.traces import readers
from schedbench.traces.readers import FORMATS

#: Significant digits of every real number in a fit.
DIGITS = 6
#: Probabilities at which empirical duration quantiles are stored (inverse-CDF sampling grid).
QUANTILE_PROBS = tuple(sorted({0.0, 0.001, 0.005, 0.995, 0.999, 1.0} | {round(k / 100, 2) for k in range(1, 100)}))
#: Mixture sizes tried for the duration fit (1 = a single log-normal).
MIXTURE_SIZES = (1, 2, 3, 4)
#: Smallest standard deviation (of log seconds) a mixture component may shrink to.
MIN_LOG_SIGMA = 0.05
#: Tail fraction above which the Hill tail index is estimated.
HILL_TAIL = 0.1
#: Schema id of the shipped document.
FITS_SCHEMA = "schedbench/trace-fits/1"


def sig(x: SupportsFloat, digits: int = DIGITS) -> float | int:
    """``x`` rounded to ``digits`` significant digits (an int when integral)."""
    v = float(f"{float(x):.{digits}g}")
    return int(v) if v.is_integer() and abs(v) < 2**53 else v


def sigs(values: Any, digits: int = DIGITS) -> list[float | int]:
    """:func:`sig` over a sequence."""
    return [sig(v, digits) for v in np.asarray(values, dtype=np.float64).tolist()]


def source(fmt: str, file: str, sha256: str) -> dict[str, str]:
    """The ``source`` block of a fit: format, file name, sha256 of its bytes, citation, licence."""
    info = FORMATS[fmt]
    return {
        "format": fmt,
        "file": Path(file).name,
        "sha256": sha256,
        "citation": info.citation,
        "licence": info.licence,
    }


def _iso(seconds: int) -> str:
    return (_dt.datetime(1970, 1, 1) + _dt.timedelta(seconds=int(seconds))).isoformat(sep=" ")


# --------------------------------------------------------------------------- arrival


def arrival_params(timestamps: np.ndarray) -> dict[str, Any]:
    """Arrival process of submit times (int64 seconds of a naive clock).

    Model: a non-homogeneous Poisson process with intensity ``rate * hour[h] * weekday[d]`` per hour,
    where ``hour`` (24 values) and ``weekday`` (7 values, Monday first) are profiles normalised to
    mean 1. ``rate`` = jobs / (last - first submit time) per hour. A profile value is the number of
    arrivals in that hour of day (day of week) divided by the number of such whole clock hours (days)
    in the span, divided by the mean over hours (days). The hour profile needs a span of at least one
    day, the weekday profile at least 14 days (else None).

    Goodness: the Pearson dispersion of hourly counts around the fitted intensity (1 for a Poisson
    process with this intensity; larger = burstier) and the chi-square of the hour-of-day counts
    against a flat profile (how strong the diurnal shape is).
    """
    t = np.sort(np.asarray(timestamps, dtype=np.int64))
    n = len(t)
    if n < 2 or t[-1] == t[0]:
        raise ValueError("an arrival fit needs at least two distinct submit times")
    span_h = (int(t[-1]) - int(t[0])) / 3600.0
    rate = n / span_h
    hours = t // 3600
    h0, h1 = int(hours[0]), int(hours[-1])
    clock = np.arange(h0, h1 + 1, dtype=np.int64)
    per_hour = np.bincount(hours - h0, minlength=len(clock)).astype(np.float64)
    hod_exposure = np.bincount(clock % 24, minlength=24).astype(np.float64)
    hod_counts = np.bincount(hours % 24, minlength=24).astype(np.float64)
    days = clock // 24
    dow_of_hour = (days + 3) % 7  # 1970-01-01 was a Thursday; Monday = 0
    span_days = span_h / 24.0
    hour_profile = None
    if span_days >= 1.0:
        raw = hod_counts / hod_exposure
        hour_profile = raw / raw.mean()
    weekday_profile = None
    if span_days >= 14.0:
        day_exposure = np.bincount(dow_of_hour, minlength=7).astype(np.float64) / 24.0
        day_counts = np.bincount((hours // 24 + 3) % 7, minlength=7).astype(np.float64)
        raw = day_counts / day_exposure
        weekday_profile = raw / raw.mean()
    # fitted expected count per clock hour, for the dispersion figure
    expected = np.full(len(clock), rate)
    if hour_profile is not None:
        expected = expected * hour_profile[clock % 24]
    if weekday_profile is not None:
        expected = expected * weekday_profile[dow_of_hour]
    live = expected > 0  # a zero-rate hour of day holds no arrival by construction
    dispersion = float(np.sum((per_hour[live] - expected[live]) ** 2 / expected[live]) / max(live.sum() - 1, 1))
    daily = np.bincount(hours // 24 - h0 // 24).astype(np.float64)
    lo, hi = np.quantile(t, [0.01, 0.99])
    busy_rate = 0.98 * n / max((hi - lo) / 3600.0, 1e-9)
    params: dict[str, Any] = {
        "rate_per_hour": sig(rate),
        "rate_per_hour_central_98pct": sig(busy_rate),
        "hour_profile": None,
        "weekday_profile": None,
    }
    goodness: dict[str, Any] = {"hourly_count_dispersion": sig(dispersion)}
    if hour_profile is not None:
        params["hour_profile"] = sigs(hour_profile)
        params["peak_hour"] = int(np.argmax(hour_profile))
        params["trough_hour"] = int(np.argmin(hour_profile))
        params["peak_to_trough"] = sig(hour_profile.max() / hour_profile.min()) if hour_profile.min() > 0 else None
        flat = hod_exposure * (n / hod_exposure.sum())
        goodness["hour_chi2_vs_flat"] = sig(np.sum((hod_counts - flat) ** 2 / flat))
        goodness["hour_chi2_dof"] = 23
    if weekday_profile is not None:
        params["weekday_profile"] = sigs(weekday_profile)
    data = {
        "n": n,
        "first": _iso(t[0]),
        "last": _iso(t[-1]),
        "span_hours": sig(span_h),
        "jobs_per_day": {
            "median": sig(np.median(daily)),
            "p10": sig(np.quantile(daily, 0.1)),
            "p90": sig(np.quantile(daily, 0.9)),
            "max": int(daily.max()),
        },
    }
    return {"params": params, "goodness": goodness, "data": data}


def fit_arrival(path: str | Path) -> dict[str, Any]:
    """Fit the arrival process of a Philly job table (see :func:`arrival_params`), with per-cluster
    job counts and rates (over the whole trace span, so they add up to the total rate)."""
    tr = readers.read_philly(path)
    out = arrival_params(tr.timestamp)
    span_h = out["data"]["span_hours"]
    ids, counts = np.unique(tr.cluster, return_counts=True)
    order = np.argsort(-counts, kind="stable")
    out["params"]["per_cluster"] = {
        str(ids[k]): {"n": int(counts[k]), "rate_per_hour": sig(counts[k] / span_h)} for k in order.tolist()
    }
    return {
        "kind": "arrival",
        "method": "non-homogeneous Poisson: rate x hour-of-day x day-of-week profiles "
        "(trace clock, timezone not stated)",
        "source": source("philly", tr.file, tr.sha256),
        **_order(out),
    }


# --------------------------------------------------------------------------- duration


def _norm_cdf(z: np.ndarray) -> np.ndarray:
    from scipy.special import ndtr

    return ndtr(z)


def _log_norm_pdf(x: np.ndarray, mu: np.ndarray | float, sd: np.ndarray | float) -> np.ndarray:
    return -0.5 * ((x - mu) / sd) ** 2 - np.log(sd) - 0.5 * np.log(2 * np.pi)


def lognormal_mixture_em(
    x: np.ndarray, k: int, *, counts: np.ndarray | None = None, max_iter: int = 5000, tol: float = 1e-9
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float, int]:
    """Maximum-likelihood Gaussian mixture of ``k`` components on ``x`` (= log durations) by EM.

    ``counts`` (optional) are multiplicities of the values of ``x``: EM over the distinct values of
    integer durations with their counts is the same estimator, several times faster.
    Deterministic start: means at the ``(i + 1/2)/k`` quantiles of the data, standard deviations
    ``std/k``, equal weights. Stops when the log-likelihood gains less than ``tol`` per point.
    Standard deviations are kept >= :data:`MIN_LOG_SIGMA` (a component may not collapse onto one
    repeated integer duration).

    Returns:
        weights, means, sds (sorted by mean), the log-likelihood of the data, iterations used.
    """
    x = np.asarray(x, dtype=np.float64)
    c = np.ones(len(x)) if counts is None else np.asarray(counts, dtype=np.float64)
    n = float(c.sum())
    mean = float((c * x).sum() / n)
    std = float(np.sqrt((c * (x - mean) ** 2).sum() / n))
    if k == 1:
        sd1 = max(std, MIN_LOG_SIGMA)
        ll = float((c * _log_norm_pdf(x, mean, sd1)).sum())
        return np.ones(1), np.array([mean]), np.array([sd1]), ll, 0
    order = np.argsort(x, kind="stable")
    cum = np.cumsum(c[order])
    targets = (np.arange(k) + 0.5) / k * n
    mu = x[order][np.minimum(np.searchsorted(cum, targets), len(x) - 1)]
    w = np.full(k, 1.0 / k)
    sd = np.full(k, max(std / k, MIN_LOG_SIGMA))
    ll_old = -np.inf
    xs = x[:, None]
    cs = c[:, None]
    it = 0
    ll = -np.inf
    for it in range(1, max_iter + 1):  # noqa: B007 (the count is returned)
        lp = np.log(w) + _log_norm_pdf(xs, mu, sd)
        top = lp.max(axis=1, keepdims=True)
        e = np.exp(lp - top)
        tot = e.sum(axis=1, keepdims=True)
        ll = float((c * (top[:, 0] + np.log(tot[:, 0]))).sum())
        r = cs * (e / tot)
        nk = r.sum(axis=0)
        w = nk / n
        mu = (r * xs).sum(axis=0) / nk
        sd = np.maximum(np.sqrt((r * (xs - mu) ** 2).sum(axis=0) / nk), MIN_LOG_SIGMA)
        if ll - ll_old < tol * n:
            break
        ll_old = ll
    order = np.argsort(mu, kind="stable")
    return w[order], mu[order], sd[order], ll, it


def mixture_cdf(x: np.ndarray, weights: Any, mu: Any, sigma: Any) -> np.ndarray:
    """CDF at ``x`` (seconds, > 0) of a log-normal mixture with parameters of log seconds."""
    lx = np.log(np.asarray(x, dtype=np.float64))[..., None]
    return (np.asarray(weights) * _norm_cdf((lx - np.asarray(mu)) / np.asarray(sigma))).sum(axis=-1)


def mixture_quantile(p: Any, weights: Any, mu: Any, sigma: Any) -> np.ndarray:
    """Quantiles of a log-normal mixture (bisection on log seconds, to 1e-12 relative)."""
    p = np.atleast_1d(np.asarray(p, dtype=np.float64))
    mu_a, sd_a = np.asarray(mu, dtype=np.float64), np.asarray(sigma, dtype=np.float64)
    lo = np.full(p.shape, float((mu_a - 12 * sd_a).min()))
    hi = np.full(p.shape, float((mu_a + 12 * sd_a).max()))
    w = np.asarray(weights, dtype=np.float64)
    for _ in range(100):
        mid = 0.5 * (lo + hi)
        below = (w * _norm_cdf((mid[..., None] - mu_a) / sd_a)).sum(axis=-1) < p
        lo = np.where(below, mid, lo)
        hi = np.where(below, hi, mid)
    return np.exp(0.5 * (lo + hi))


def ks_distance(data: np.ndarray, cdf: Callable[[np.ndarray], np.ndarray]) -> float:
    """Kolmogorov-Smirnov distance between the empirical CDF of ``data`` (ties allowed) and ``cdf``."""
    values, counts = np.unique(np.asarray(data, dtype=np.float64), return_counts=True)
    n = counts.sum()
    right = np.cumsum(counts) / n
    left = right - counts / n
    f = cdf(values)
    return float(max(np.abs(f - right).max(), np.abs(f - left).max()))


def duration_params(durations: np.ndarray, sizes: tuple[int, ...] = MIXTURE_SIZES) -> dict[str, Any]:
    """Heavy-tailed job-duration fit (seconds).

    Candidates: a log-normal and mixtures of 2, 3 and 4 log-normals (maximum likelihood on log
    durations by EM, :func:`lognormal_mixture_em`). The chosen model minimises BIC
    (``-2 log L + p log n`` with ``p = 3k - 1``, likelihood of the durations in seconds); every
    candidate's KS distance, log-likelihood and BIC are reported (``sizes``: the numbers of
    components tried; a mixture of k components needs at least 10k durations). Also stored: empirical quantiles
    at :data:`QUANTILE_PROBS` (for inverse-CDF sampling of the empirical distribution), summary
    figures and the Hill tail index of the top :data:`HILL_TAIL` fraction.
    """
    d = np.asarray(durations, dtype=np.float64)
    if len(d) < 10 or (d <= 0).any():
        raise ValueError("a duration fit needs at least 10 durations, all > 0")
    n = len(d)
    uniq, mult = np.unique(d, return_counts=True)
    x = np.log(uniq)
    jac = float((mult * x).sum())  # log |d x / d t| summed: density of t = density of x / t
    candidates: list[dict[str, Any]] = []
    for k in sizes:
        if n < 10 * k and k > 1:
            continue
        w, mu, sd, ll_x, iters = lognormal_mixture_em(x, k, counts=mult)
        ll = ll_x - jac
        p = 3 * k - 1
        ks = ks_distance(d, partial(mixture_cdf, weights=w, mu=mu, sigma=sd))
        candidates.append(
            {
                "components": k,
                "weights": sigs(w),
                "mu": sigs(mu),
                "sigma": sigs(sd),
                "log_likelihood": sig(ll),
                "bic": sig(-2 * ll + p * np.log(n)),
                "ks": sig(ks, 4),
                "em_iterations": iters,
            }
        )
    best = min(candidates, key=lambda c: c["bic"])
    model_q = mixture_quantile([0.5, 0.9, 0.99], best["weights"], best["mu"], best["sigma"])
    u = np.quantile(d, 1 - HILL_TAIL)
    tail = d[d > u]
    hill = len(tail) / np.log(tail / u).sum() if len(tail) and u > 0 else None
    params = {
        "chosen": "lognormal" if best["components"] == 1 else f"lognormal-mixture-{best['components']}",
        "weights": best["weights"],
        "mu": best["mu"],
        "sigma": best["sigma"],
        "quantile_probs": list(QUANTILE_PROBS),
        "quantiles": sigs(np.quantile(d, QUANTILE_PROBS)),
    }
    goodness = {
        "criterion": f"min BIC over log-normal mixtures with {', '.join(str(c['components']) for c in candidates)} "
        "component(s)",
        "candidates": candidates,
        "chosen_ks": best["ks"],
        "model_median": sig(model_q[0]),
        "model_p90": sig(model_q[1]),
        "model_p99": sig(model_q[2]),
        "hill_tail_index": None if hill is None else sig(hill, 4),
        "hill_threshold_s": sig(u),
    }
    data = {
        "n": n,
        "mean": sig(d.mean()),
        "median": sig(np.median(d)),
        "p90": sig(np.quantile(d, 0.9)),
        "p99": sig(np.quantile(d, 0.99)),
        "min": sig(d.min()),
        "max": sig(d.max()),
    }
    return {"params": params, "goodness": goodness, "data": data}


def fit_duration(path: str | Path) -> dict[str, Any]:
    """Fit job durations of a Philly job table or Gavel's sample (see :func:`duration_params`)."""
    fmt = readers.detect_format(path)
    tr = _read_jobs(path, fmt)
    return {
        "kind": "duration",
        "method": "log-normal mixtures (EM), chosen by BIC; empirical quantiles",
        "source": source(fmt, tr.file, tr.sha256),
        **_order(duration_params(tr.duration)),
    }


# --------------------------------------------------------------------------- GPUs per job


def pmf_params(values: np.ndarray) -> dict[str, Any]:
    """Empirical probability mass function of integer values: ``values`` (sorted), ``counts``,
    ``pmf`` (counts / n, rounded), and the mean."""
    v = np.asarray(values, dtype=np.int64)
    if len(v) == 0:
        raise ValueError("a pmf needs at least one value")
    vals, counts = np.unique(v, return_counts=True)
    return {
        "values": vals.tolist(),
        "counts": counts.tolist(),
        "pmf": sigs(counts / counts.sum()),
        "mean": sig(v.mean()),
    }


def _read_jobs(path: str | Path, fmt: str) -> readers.PhillyTrace | readers.GavelSample:
    if fmt == "philly":
        return readers.read_philly(path)
    if fmt == "gavel":
        return readers.read_gavel(path)
    raise ValueError(
        f"{path}: a {fmt!r} file has no jobs with durations and GPU counts (expected a philly or gavel trace)"
    )


def fit_gpus(path: str | Path) -> dict[str, Any]:
    """GPUs-per-job pmf of a Philly job table or Gavel's sample."""
    fmt = readers.detect_format(path)
    tr = _read_jobs(path, fmt)
    p = pmf_params(tr.num_gpus)
    return {
        "kind": "gpus",
        "method": "empirical pmf of GPUs per job",
        "source": source(fmt, tr.file, tr.sha256),
        "data": {"n": len(tr)},
        "params": {"values": p["values"], "pmf": p["pmf"], "counts": p["counts"]},
        "goodness": {
            "mean": p["mean"],
            "single_gpu_fraction": sig(np.mean(tr.num_gpus == 1)),
            "over_8_fraction": sig(np.mean(tr.num_gpus > 8)),
        },
    }


# --------------------------------------------------------------------------- fractional GPUs


def fractional_params(
    num_gpu: np.ndarray, gpu_milli: np.ndarray, gpu_spec: tuple[tuple[str, ...], ...], qos: np.ndarray | None = None
) -> dict[str, Any]:
    """GPU-sharing requests of pods.

    ``num_gpu`` pmf over all pods; among single-GPU pods the pmf of ``gpu_milli`` (the share of the
    GPU requested, 1000 = whole) and the fraction that share a GPU (``gpu_milli < 1000``); among GPU
    pods (num_gpu >= 1) the fraction with a GPU-model constraint (``gpu_spec``), how often each model
    is named in a constraint and the constraint sets; the QoS classes.
    """
    num_gpu = np.asarray(num_gpu, dtype=np.int64)
    gpu_milli = np.asarray(gpu_milli, dtype=np.int64)
    n = len(num_gpu)
    if n == 0:
        raise ValueError("a fractional fit needs at least one pod")
    gpu_pod = (num_gpu >= 1) | (gpu_milli > 0)
    single = num_gpu == 1
    params: dict[str, Any] = {"num_gpu": _pmf_block(num_gpu)}
    if single.any():
        shares = gpu_milli[single]
        params["gpu_milli_single"] = _pmf_block(shares)
        params["sharing_fraction_single"] = sig(np.mean(shares < 1000))
        params["mean_share_single"] = sig(shares.mean() / 1000)
    constrained = np.array([len(s) > 0 for s in gpu_spec], dtype=bool)
    n_gpu = int(gpu_pod.sum())
    named: dict[str, int] = {}
    sets: dict[str, int] = {}
    for k in np.flatnonzero(constrained & gpu_pod).tolist():
        for m in gpu_spec[k]:
            named[m] = named.get(m, 0) + 1
        key = "|".join(gpu_spec[k])
        sets[key] = sets.get(key, 0) + 1
    params["gpu_spec"] = {
        "constrained_fraction": sig(constrained[gpu_pod].mean()) if n_gpu else 0,
        "constrained_pods": int((constrained & gpu_pod).sum()),
        "model_named": dict(sorted(named.items())),
        "sets": dict(sorted(sets.items())),
    }
    data: dict[str, Any] = {
        "n": n,
        "gpu_pods": n_gpu,
        "cpu_only_pods": int(n - n_gpu),
        "requested_gpus": sig(np.where(single, gpu_milli / 1000, num_gpu).sum()),
    }
    if qos is not None:
        ids, counts = np.unique(np.asarray(qos), return_counts=True)
        data["qos"] = {str(i): int(c) for i, c in zip(ids.tolist(), counts.tolist(), strict=True)}
    return {"params": params, "data": data}


def _pmf_block(values: np.ndarray) -> dict[str, Any]:
    p = pmf_params(values)
    return {"values": p["values"], "counts": p["counts"], "pmf": p["pmf"]}


def node_params(gpu: np.ndarray, model: np.ndarray) -> dict[str, Any]:
    """GPU nodes: per GPU model the number of nodes and GPUs, and the GPUs-per-node pmf."""
    gpu = np.asarray(gpu, dtype=np.int64)
    model = np.asarray(model)
    has = gpu > 0
    models: dict[str, dict[str, int]] = {}
    for m in sorted(set(model[has].tolist())):
        sel = has & (model == m)
        models[m] = {"nodes": int(sel.sum()), "gpus": int(gpu[sel].sum())}
    return {
        "nodes": int(has.sum()),
        "gpus": int(gpu.sum()),
        "models": models,
        "gpus_per_node": _pmf_block(gpu[has]) if has.any() else None,
    }


def fit_fractional(pods_path: str | Path, nodes_path: str | Path | None = None) -> dict[str, Any]:
    """Fractional GPU requests and GPU-model constraints of an Alibaba openb pod list, with the GPU
    model counts of its node list when given (see :func:`fractional_params`, :func:`node_params`)."""
    pods = readers.read_alibaba_pods(pods_path)
    out = fractional_params(pods.num_gpu, pods.gpu_milli, pods.gpu_spec, pods.qos)
    src: dict[str, Any] = source("alibaba-pods", pods.file, pods.sha256)
    goodness: dict[str, Any] = {}
    if nodes_path is not None:
        nodes = readers.read_alibaba_nodes(nodes_path)
        out["params"]["nodes"] = node_params(nodes.gpu, nodes.model)
        nsrc = source("alibaba-nodes", nodes.file, nodes.sha256)
        src["nodes_file"] = nsrc["file"]
        src["nodes_sha256"] = nsrc["sha256"]
        total = out["params"]["nodes"]["gpus"]
        if total:
            goodness["requested_over_capacity"] = sig(out["data"]["requested_gpus"] / total)
    return {
        "kind": "fractional",
        "method": "empirical pmfs of GPUs and GPU shares per pod; GPU-model constraints",
        "source": src,
        "data": out["data"],
        "params": out["params"],
        "goodness": goodness,
    }


# --------------------------------------------------------------------------- (duration, GPUs) jointly


def joint_params(durations: np.ndarray, gpus: np.ndarray) -> dict[str, Any]:
    """Durations per GPU count: the joint distribution of (GPUs, duration) as the GPUs-per-job pmf
    and, per GPU count, the empirical duration quantiles at :data:`QUANTILE_PROBS` (inverse-CDF
    sampling, log-linear between them). Also per count: job share, GPU-time share
    (``gpus x duration``), median and mean duration, so generated instances can be compared.
    """
    d = np.asarray(durations, dtype=np.float64)
    g = np.asarray(gpus, dtype=np.int64)
    if len(d) != len(g) or len(d) < 10 or (d <= 0).any() or (g < 1).any():
        raise ValueError("a joint fit needs at least 10 (duration > 0, GPUs >= 1) pairs")
    vals, inv, counts = np.unique(g, return_inverse=True, return_counts=True)
    gt = np.bincount(inv, weights=d * g)
    quantiles, medians, means = [], [], []
    for k in range(len(vals)):
        dk = d[inv == k]
        quantiles.append(sigs(np.quantile(dk, QUANTILE_PROBS)))
        medians.append(sig(np.median(dk)))
        means.append(sig(dk.mean()))
    params = {
        "values": vals.tolist(),
        "counts": counts.tolist(),
        "quantile_probs": list(QUANTILE_PROBS),
        "quantiles": quantiles,
    }
    goodness = {
        "job_share": sigs(counts / counts.sum()),
        "gpu_time_share": sigs(gt / gt.sum()),
        "median_s": medians,
        "mean_s": means,
        "spearman_gpus_duration": sig(_spearman(g.astype(np.float64), d), 4),
    }
    data = {"n": len(d), "mean_gpus": sig(g.mean()), "gpu_time_s": sig(gt.sum())}
    return {"params": params, "goodness": goodness, "data": data}


def _spearman(x: np.ndarray, y: np.ndarray) -> float:
    from scipy.stats import spearmanr

    return float(spearmanr(x, y).statistic)


def fit_joint(path: str | Path) -> dict[str, Any]:
    """Joint (GPUs, duration) fit of a Philly job table or Gavel's sample (:func:`joint_params`)."""
    fmt = readers.detect_format(path)
    tr = _read_jobs(path, fmt)
    return {
        "kind": "joint",
        "method": "GPUs-per-job pmf; per GPU count, empirical duration quantiles",
        "source": source(fmt, tr.file, tr.sha256),
        **_order(joint_params(tr.duration, tr.num_gpus)),
    }


def arrival_counts_params(timestamps: np.ndarray) -> dict[str, Any]:
    """Arrivals per clock hour from the first to the last submit (for trace replay: bursts kept),
    with the variance-to-mean ratio of the counts (1 for a homogeneous Poisson process)."""
    t = np.sort(np.asarray(timestamps, dtype=np.int64))
    if len(t) < 2:
        raise ValueError("arrival counts need at least two submit times")
    hours = t // 3600
    counts = np.bincount(hours - hours[0])
    return {
        "params": {"start": _iso(int(hours[0]) * 3600), "hour_seconds": 3600, "counts": counts.tolist()},
        "goodness": {
            "variance_to_mean": sig(counts.var() / counts.mean()),
            "zero_hours": sig(float(np.mean(counts == 0))),
        },
        "data": {"n": len(t), "hours": len(counts), "max_per_hour": int(counts.max())},
    }


def fit_arrival_counts(path: str | Path) -> dict[str, Any]:
    """Hourly arrival counts of a Philly job table (:func:`arrival_counts_params`)."""
    tr = readers.read_philly(path)
    return {
        "kind": "arrival-counts",
        "method": "arrivals per clock hour, first to last submit (trace clock)",
        "source": source("philly", tr.file, tr.sha256),
        **_order(arrival_counts_params(tr.timestamp)),
    }


# --------------------------------------------------------------------------- outcomes


def fit_outcomes(path: str | Path) -> dict[str, Any]:
    """Job outcomes per cluster as published in the Acme summary (quoted, not re-estimated).

    ``params.clusters[id]``: GPU-job completion / cancel / failure rates (by job count and by GPU
    time), GPU job count, mean GPUs per job and run/queue times, as given (null where not reported).
    """
    acme = readers.read_acme(path)
    keep = (
        "gpu_job_num",
        "complete_rate_gpu",
        "cancel_rate_gpu",
        "fail_rate_gpu",
        "complete_rate_gpu_time",
        "cancel_rate_gpu_time",
        "fail_rate_gpu_time",
        "avg_gpu_num",
        "med_gpu_num",
        "avg_run_time_gpu",
        "med_run_time_gpu",
        "avg_que_time_gpu",
        "med_que_time_gpu",
    )
    clusters = {}
    sums = {}
    for c in acme.clusters:
        row = acme.values[c]
        clusters[c] = {k: row[k] for k in keep}  # quoted exactly as published
        rates = [row[k] for k in ("complete_rate_gpu", "cancel_rate_gpu", "fail_rate_gpu")]
        known = [r for r in rates if r is not None]
        if len(known) == len(rates):
            sums[c] = sig(sum(known), 4)
    return {
        "kind": "outcomes",
        "method": "quoted from the published per-cluster summary",
        "source": source("acme", acme.file, acme.sha256),
        "data": {"n": len(acme)},
        "params": {"clusters": clusters},
        "goodness": {"rate_sums": sums},
    }


# --------------------------------------------------------------------------- dispatch


def _order(out: dict[str, Any]) -> dict[str, Any]:
    return {"data": out["data"], "params": out["params"], "goodness": out.get("goodness", {})}


#: KIND -> (fitting function, the trace formats it accepts, what the files are).
KINDS: dict[str, tuple[Callable[..., dict[str, Any]], tuple[str, ...], str]] = {
    "arrival": (fit_arrival, ("philly",), "a Philly job table"),
    "duration": (fit_duration, ("philly", "gavel"), "a Philly job table or Gavel's Philly sample"),
    "gpus": (fit_gpus, ("philly", "gavel"), "a Philly job table or Gavel's Philly sample"),
    "fractional": (
        fit_fractional,
        ("alibaba-pods", "alibaba-nodes"),
        "an Alibaba openb pod list, optionally with its node list",
    ),
    "outcomes": (fit_outcomes, ("acme",), "the Acme cluster summary"),
    "joint": (fit_joint, ("philly", "gavel"), "a Philly job table or Gavel's Philly sample"),
    "arrival-counts": (fit_arrival_counts, ("philly",), "a Philly job table"),
}


def fit(kind: str, *paths: str | Path) -> dict[str, Any]:
    """Fit ``kind`` on the given trace file(s); formats are detected from the headers.

    Raises:
        ValueError: unknown kind, or files of the wrong format or number.
        InputError: a malformed file.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown fit kind {kind!r}; expected one of {sorted(KINDS)}")
    fn, formats, what = KINDS[kind]
    if not paths:
        raise ValueError(f"fit {kind} needs {what}")
    found = {str(p): readers.detect_format(p) for p in paths}
    for p, f in found.items():
        if f not in formats:
            raise ValueError(f"fit {kind} needs {what}; {p} is in the {f!r} format")
    if kind == "fractional":
        pods = [p for p in paths if found[str(p)] == "alibaba-pods"]
        nodes = [p for p in paths if found[str(p)] == "alibaba-nodes"]
        if len(pods) != 1 or len(nodes) > 1 or len(paths) != len(pods) + len(nodes):
            raise ValueError(f"fit fractional needs one pod list and at most one node list, got {len(paths)} file(s)")
        return fit_fractional(pods[0], nodes[0] if nodes else None)
    if len(paths) != 1:
        raise ValueError(f"fit {kind} takes one file, got {len(paths)}")
    return fn(paths[0])


#: Shipped fits: key -> (kind, file names under the traces folder).
SHIPPED: dict[str, tuple[str, tuple[str, ...]]] = {
    "arrival/philly": ("arrival", ("philly_jobs_adaptdl.csv",)),
    "duration/philly": ("duration", ("philly_jobs_adaptdl.csv",)),
    "duration/gavel": ("duration", ("gavel_philly_job_distribution.csv",)),
    "gpus/philly": ("gpus", ("philly_jobs_adaptdl.csv",)),
    "gpus/gavel": ("gpus", ("gavel_philly_job_distribution.csv",)),
    "fractional/alibaba-openb": (
        "fractional",
        ("alibaba_openb_pod_list_default.csv", "alibaba_openb_node_list_gpu_node.csv"),
    ),
    "outcomes/acme": ("outcomes", ("acme_cluster_summary.csv",)),
    "joint/philly": ("joint", ("philly_jobs_adaptdl.csv",)),
    "joint/gavel": ("joint", ("gavel_philly_job_distribution.csv",)),
    "arrival-counts/philly": ("arrival-counts", ("philly_jobs_adaptdl.csv",)),
}


def fit_all(traces_dir: str | Path, keys: tuple[str, ...] | None = None) -> dict[str, Any]:
    """The shipped document: every fit of :data:`SHIPPED` (or just ``keys``) re-computed from the
    published files in ``traces_dir``."""
    folder = Path(traces_dir)
    fits = {}
    for key in keys or tuple(SHIPPED):
        kind, files = SHIPPED[key]
        fits[key] = fit(kind, *(folder / f for f in files))
    return {
        "schema": FITS_SCHEMA,
        "description": "Distributions fitted to published GPU-cluster traces by schedbench.traces.fit "
        "(re-run: schedbench traces fit-all DIR). Each fit names its source file, sha256, "
        "citation and licence; the numbers are quoted facts about those traces.",
        "fits": fits,
    }
