"""Samplers built from the shipped trace fits, for the instance generators.

Every sampler is a small frozen dataclass with ``from_fit(fit_dict)`` (a fit document of
:mod:`schedbench.traces.fit`), ``shipped(...)`` (the fit of ``schedbench/data/trace_fits.json``)
and a vectorised ``sample(rng, n)`` that draws from the numpy ``Generator`` it is given (never from
global state): the same generator state gives the same samples. A million samples take well
under a second.

=====================  =====================================  =========================================
model                  ``sample`` returns                     from
=====================  =====================================  =========================================
:class:`DurationModel`  job durations, seconds (float64)       ``duration/philly`` (or ``/gavel``)
:class:`GangModel`      GPUs per job (int64)                   ``gpus/philly`` (or ``/gavel``)
:class:`ArrivalModel`   sorted arrival times, seconds          ``arrival/philly``
:class:`FractionModel`  share of one GPU per job, in (0, 1]    ``fractional/alibaba-openb``
=====================  =====================================  =========================================
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

import numpy as np

from schedbench import jsonio

FITS_RESOURCE = "data/trace_fits.json"


@lru_cache(maxsize=1)
def _fits_document() -> dict[str, Any]:
    data = resources.files("schedbench").joinpath(FITS_RESOURCE).read_bytes()
    return jsonio.loads(data, f"schedbench/{FITS_RESOURCE}")


def load_fits() -> dict[str, Any]:
    """The shipped fits document (``{"schema", "description", "fits": {key: fit}}``), read once and
    cached; each call returns a fresh copy, so callers may modify it."""
    return copy.deepcopy(_fits_document())


def shipped_fit(key: str) -> dict[str, Any]:
    """One shipped fit, e.g. ``"duration/philly"``.

    Raises:
        KeyError: no such fit (the message lists the keys).
    """
    fits = _fits_document()["fits"]
    if key not in fits:
        raise KeyError(f"no shipped fit {key!r}; available: {sorted(fits)}")
    return copy.deepcopy(fits[key])


def _check_kind(fit: dict[str, Any], kind: str) -> dict[str, Any]:
    if fit.get("kind") != kind:
        raise ValueError(f"expected a {kind!r} fit, got kind {fit.get('kind')!r}")
    return fit["params"]


def _pmf(counts: Any, pmf: Any) -> np.ndarray:
    p = np.asarray(counts if counts is not None else pmf, dtype=np.float64)
    if p.ndim != 1 or len(p) == 0 or (p < 0).any() or p.sum() <= 0:
        raise ValueError("a pmf needs non-negative weights with a positive sum")
    return p / p.sum()


def _count(n: int) -> int:
    if isinstance(n, bool) or int(n) != n or n < 0:
        raise ValueError(f"n must be a non-negative integer, got {n!r}")
    return int(n)


@dataclass(frozen=True, eq=False)
class DurationModel:
    """Job durations (seconds).

    ``method="mixture"``: the fitted log-normal mixture (weights, ``mu``, ``sigma`` of log
    seconds), clamped to ``[low, high]`` (the trace's shortest and longest job) unless those are
    None. ``method="empirical"``: inverse-CDF sampling of the empirical distribution, interpolating
    log seconds linearly between the stored quantiles.

    Contract: ``sample(rng, n)`` returns ``n`` float64 durations > 0, i.i.d., drawn from ``rng``.
    """

    method: str
    weights: np.ndarray
    mu: np.ndarray
    sigma: np.ndarray
    probs: np.ndarray
    log_quantiles: np.ndarray
    low: float | None
    high: float | None

    @classmethod
    def from_fit(cls, fit: dict[str, Any], method: str = "mixture", clamp: bool = True) -> DurationModel:
        """From a ``duration`` fit; ``method`` ``"mixture"`` (default) or ``"empirical"``; ``clamp``
        keeps mixture samples within the observed range."""
        p = _check_kind(fit, "duration")
        if method not in ("mixture", "empirical"):
            raise ValueError(f"method must be 'mixture' or 'empirical', not {method!r}")
        q = np.asarray(p["quantiles"], dtype=np.float64)
        probs = np.asarray(p["quantile_probs"], dtype=np.float64)
        if len(q) != len(probs) or len(q) < 2 or probs[0] != 0.0 or probs[-1] != 1.0 or (np.diff(q) < 0).any():
            raise ValueError("quantiles must be non-decreasing, one per probability, from p=0 to p=1")
        w = np.asarray(p["weights"], dtype=np.float64)
        return cls(
            method=method,
            weights=w / w.sum(),
            mu=np.asarray(p["mu"], dtype=np.float64),
            sigma=np.asarray(p["sigma"], dtype=np.float64),
            probs=probs,
            log_quantiles=np.log(q),
            low=float(q[0]) if clamp else None,
            high=float(q[-1]) if clamp else None,
        )

    @classmethod
    def shipped(cls, source: str = "philly", method: str = "mixture", clamp: bool = True) -> DurationModel:
        """From the shipped fit ``duration/<source>`` (``philly`` or ``gavel``)."""
        return cls.from_fit(shipped_fit(f"duration/{source}"), method, clamp)

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` durations in seconds (float64)."""
        n = _count(n)
        if self.method == "empirical":
            return np.exp(np.interp(rng.random(n), self.probs, self.log_quantiles))
        comp = rng.choice(len(self.weights), size=n, p=self.weights) if len(self.weights) > 1 else np.zeros(n, int)
        out = np.exp(self.mu[comp] + self.sigma[comp] * rng.standard_normal(n))
        if self.low is not None or self.high is not None:
            np.clip(out, self.low, self.high, out=out)
        return out

    def quantile(self, p: Any) -> np.ndarray:
        """Quantiles of the model (before clamping for the mixture)."""
        p = np.asarray(p, dtype=np.float64)
        if self.method == "empirical":
            return np.exp(np.interp(p, self.probs, self.log_quantiles))
        from schedbench.traces.fit import mixture_quantile

        return mixture_quantile(p, self.weights, self.mu, self.sigma).reshape(p.shape)


@dataclass(frozen=True, eq=False)
class GangModel:
    """GPUs per job: the empirical pmf of a ``gpus`` fit.

    ``max_gpus`` (optional) drops larger values and renormalises (e.g. to fit a small cluster).
    Contract: ``sample(rng, n)`` returns ``n`` int64 values from ``values``, i.i.d. with ``pmf``.
    """

    values: np.ndarray
    pmf: np.ndarray

    @classmethod
    def from_fit(cls, fit: dict[str, Any], max_gpus: int | None = None) -> GangModel:
        """The model of a ``gpus`` fit (``max_gpus``: drop larger counts and renormalise)."""
        p = _check_kind(fit, "gpus")
        values = np.asarray(p["values"], dtype=np.int64)
        pmf = _pmf(p.get("counts"), p["pmf"])
        if len(values) != len(pmf):
            raise ValueError("values and pmf differ in length")
        if max_gpus is not None:
            keep = values <= max_gpus
            if not keep.any():
                raise ValueError(f"no GPU count <= {max_gpus} in the fit")
            values, pmf = values[keep], pmf[keep] / pmf[keep].sum()
        return cls(values=values, pmf=pmf)

    @classmethod
    def shipped(cls, source: str = "philly", max_gpus: int | None = None) -> GangModel:
        """From the shipped fit ``gpus/<source>`` (``philly`` or ``gavel``)."""
        return cls.from_fit(shipped_fit(f"gpus/{source}"), max_gpus)

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` GPU counts (int64)."""
        return self.values[rng.choice(len(self.values), size=_count(n), p=self.pmf)]


@dataclass(frozen=True, eq=False)
class FractionModel:
    """Share of one GPU requested by a single-GPU job (Alibaba openb ``gpu_milli / 1000``).

    ``sharing_only=True`` samples only the requests below a whole GPU.
    Contract: ``sample(rng, n)`` returns ``n`` float64 shares in (0, 1], i.i.d. with the fitted pmf.
    """

    values: np.ndarray
    pmf: np.ndarray

    @classmethod
    def from_fit(cls, fit: dict[str, Any], sharing_only: bool = False) -> FractionModel:
        """The model of a ``fractional`` fit (``sharing_only``: only requests below a whole GPU)."""
        p = _check_kind(fit, "fractional")
        block = p["gpu_milli_single"]
        milli = np.asarray(block["values"], dtype=np.float64)
        pmf = _pmf(block.get("counts"), block["pmf"])
        keep = milli > 0
        if sharing_only:
            keep &= milli < 1000
        if not keep.any():
            raise ValueError("no GPU share in the fit")
        return cls(values=milli[keep] / 1000.0, pmf=pmf[keep] / pmf[keep].sum())

    @classmethod
    def shipped(cls, sharing_only: bool = False) -> FractionModel:
        """From the shipped fit ``fractional/alibaba-openb``."""
        return cls.from_fit(shipped_fit("fractional/alibaba-openb"), sharing_only)

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` GPU shares (float64, 1.0 = a whole GPU)."""
        return self.values[rng.choice(len(self.values), size=_count(n), p=self.pmf)]


@dataclass(frozen=True, eq=False)
class ArrivalModel:
    """Job arrivals: a non-homogeneous Poisson process with a weekly-periodic, piecewise-constant
    intensity ``rate_per_hour * hour_profile[hour of day] * weekday_profile[day of week]``.

    Time 0 is the start of hour ``start_hour`` of the week (0 = Monday 00:00 of the trace's clock).
    Sampling inverts the cumulative intensity: the ``k``-th arrival is ``Lambda^-1(E_1 + ... + E_k)``
    with unit exponentials ``E``, exact and vectorised.
    Contract: ``sample(rng, n, rate_scale)`` returns the first ``n`` arrival times (seconds, float64,
    non-decreasing, > 0) of the process with intensity scaled by ``rate_scale``.
    """

    rate_per_hour: float
    hour_profile: np.ndarray
    weekday_profile: np.ndarray

    @classmethod
    def from_fit(cls, fit: dict[str, Any], *, weekly: bool = True, diurnal: bool = True) -> ArrivalModel:
        """From an ``arrival`` fit. ``diurnal=False`` / ``weekly=False`` drop the hour-of-day /
        day-of-week profile (flat), e.g. for a homogeneous Poisson process."""
        p = _check_kind(fit, "arrival")
        hour = p.get("hour_profile") if diurnal else None
        week = p.get("weekday_profile") if weekly else None
        return cls.build(float(p["rate_per_hour"]), hour, week)

    @classmethod
    def build(cls, rate_per_hour: float, hour_profile: Any = None, weekday_profile: Any = None) -> ArrivalModel:
        """From numbers: profiles are rescaled to mean 1 (None = flat)."""
        if not np.isfinite(rate_per_hour) or rate_per_hour <= 0:
            raise ValueError(f"rate_per_hour must be > 0, got {rate_per_hour!r}")
        hour = np.ones(24) if hour_profile is None else np.asarray(hour_profile, dtype=np.float64)
        week = np.ones(7) if weekday_profile is None else np.asarray(weekday_profile, dtype=np.float64)
        for name, prof, size in (("hour_profile", hour, 24), ("weekday_profile", week, 7)):
            if prof.shape != (size,) or (prof < 0).any() or not np.isfinite(prof).all() or prof.sum() <= 0:
                raise ValueError(f"{name} needs {size} non-negative values with a positive sum")
        return cls(float(rate_per_hour), hour / hour.mean(), week / week.mean())

    @classmethod
    def shipped(cls, *, weekly: bool = True, diurnal: bool = True) -> ArrivalModel:
        """From the shipped fit ``arrival/philly``."""
        return cls.from_fit(shipped_fit("arrival/philly"), weekly=weekly, diurnal=diurnal)

    def hourly_rates(self, rate_scale: float = 1.0) -> np.ndarray:
        """Expected arrivals in each of the 168 hours of the week (Monday 00:00 first)."""
        return rate_scale * self.rate_per_hour * np.repeat(self.weekday_profile, 24) * np.tile(self.hour_profile, 7)

    def intensity(self, t: Any, rate_scale: float = 1.0, start_hour: int = 0) -> np.ndarray:
        """Arrivals per hour at times ``t`` (seconds)."""
        h = (np.floor(np.asarray(t, dtype=np.float64) / 3600.0).astype(np.int64) + start_hour) % 168
        return self.hourly_rates(rate_scale)[h]

    def sample(self, rng: np.random.Generator, n: int, rate_scale: float = 1.0, start_hour: int = 0) -> np.ndarray:
        """The first ``n`` arrival times in seconds (sorted)."""
        n = _count(n)
        if not np.isfinite(rate_scale) or rate_scale <= 0:
            raise ValueError(f"rate_scale must be > 0, got {rate_scale!r}")
        if isinstance(start_hour, bool) or int(start_hour) != start_hour or not 0 <= start_hour < 168:
            raise ValueError(f"start_hour must be an integer hour of the week in 0..167, got {start_hour!r}")
        lam = self.hourly_rates(rate_scale)
        cum = np.concatenate(([0.0], np.cumsum(lam)))
        week = cum[-1]
        target = np.cumsum(rng.exponential(1.0, n)) + cum[start_hour]
        k = np.floor(target / week)
        r = target - k * week
        idx = np.clip(np.searchsorted(cum, r, side="right") - 1, 0, 167)
        # r lies in [cum[idx], cum[idx + 1]); a zero-rate hour is never chosen (side="right")
        frac = np.divide(r - cum[idx], lam[idx], out=np.zeros(n), where=lam[idx] > 0)
        hours = k * 168.0 + idx + np.minimum(frac, 1.0) - start_hour
        return hours * 3600.0


@dataclass(frozen=True, eq=False)
class JointModel:
    """(GPUs, duration) drawn jointly: the GPUs-per-job pmf of a ``joint`` fit, then the duration by
    inverse-CDF sampling of that GPU count's empirical quantiles (log seconds interpolated linearly).

    ``max_gpus`` (optional) drops larger GPU counts and renormalises: the pairs a cluster can host,
    as the trace has them (the reference figures of :meth:`gpu_time_share` use the same subset).
    Contract: ``sample(rng, n)`` returns ``(gpus int64, durations float64 > 0)``, i.i.d. pairs.
    """

    values: np.ndarray
    pmf: np.ndarray
    probs: np.ndarray
    log_quantiles: np.ndarray  # (len(values), len(probs))
    mean_s: np.ndarray

    @classmethod
    def from_fit(cls, fit: dict[str, Any], max_gpus: int | None = None) -> JointModel:
        """The model of a ``joint`` fit (``max_gpus``: drop larger counts and renormalise)."""
        p = _check_kind(fit, "joint")
        values = np.asarray(p["values"], dtype=np.int64)
        pmf = _pmf(p["counts"], None)
        q = np.asarray(p["quantiles"], dtype=np.float64)
        probs = np.asarray(p["quantile_probs"], dtype=np.float64)
        if q.shape != (len(values), len(probs)) or (np.diff(q, axis=1) < 0).any() or (q <= 0).any():
            raise ValueError("per GPU count, positive non-decreasing quantiles, one per probability")
        mean_s = np.asarray(fit.get("goodness", {}).get("mean_s", np.full(len(values), np.nan)), dtype=np.float64)
        if max_gpus is not None:
            keep = values <= max_gpus
            if not keep.any():
                raise ValueError(f"no GPU count <= {max_gpus} in the fit")
            values, pmf, q, mean_s = values[keep], pmf[keep] / pmf[keep].sum(), q[keep], mean_s[keep]
        return cls(values, pmf, probs, np.log(q), mean_s)

    @classmethod
    def shipped(cls, source: str = "philly", max_gpus: int | None = None) -> JointModel:
        """From the shipped fit ``joint/<source>`` (``philly`` or ``gavel``)."""
        return cls.from_fit(shipped_fit(f"joint/{source}"), max_gpus)

    def sample(self, rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
        """``n`` (GPUs, duration) pairs."""
        n = _count(n)
        k = rng.choice(len(self.values), size=n, p=self.pmf)
        u = rng.random(n)
        # per-row interpolation, vectorised: locate u in the shared probability grid
        i = np.clip(np.searchsorted(self.probs, u, side="right") - 1, 0, len(self.probs) - 2)
        p0, p1 = self.probs[i], self.probs[i + 1]
        q0, q1 = self.log_quantiles[k, i], self.log_quantiles[k, i + 1]
        w = np.where(p1 > p0, (u - p0) / np.where(p1 > p0, p1 - p0, 1.0), 0.0)
        return self.values[k], np.exp(q0 + w * (q1 - q0))

    def grid(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """A discrete stand-in for the model: ``(gpus, duration, weight)`` at the midpoints of every
        GPU count's quantile grid (for calibrations that need expectations over the model)."""
        mid_p = (self.probs[:-1] + self.probs[1:]) / 2
        w_p = np.diff(self.probs)
        g = np.repeat(self.values, len(mid_p))
        d = np.concatenate([np.exp(np.interp(mid_p, self.probs, lq)) for lq in self.log_quantiles])
        w = np.concatenate([self.pmf[k] * w_p for k in range(len(self.values))])
        return g, d, w

    def completion_model(self, job_rate: float, gpu_time_rate: float) -> tuple[float, float]:
        """``(a, b)`` of ``P(completed | duration d) = 1 / (1 + exp(a + b ln d))`` such that, over this
        model, the completed jobs are ``job_rate`` of the jobs and hold ``gpu_time_rate`` of the GPU
        time (Acme's published Philly rates: failed and killed jobs run longer than completed ones).
        Solved by Newton's method from (0, 0); deterministic."""
        g, d, w = self.grid()
        x = np.log(d)
        gt = w * g * d
        a, b = 0.0, 0.0
        for _ in range(100):
            q = 1.0 / (1.0 + np.exp(np.clip(a + b * x, -50, 50)))  # P(completed)
            f = np.array([(w * q).sum() - job_rate, (gt * q).sum() / gt.sum() - gpu_time_rate])
            dq = -q * (1 - q)  # d q / d(a + b x)
            jac = np.array(
                [[(w * dq).sum(), (w * dq * x).sum()], [(gt * dq).sum() / gt.sum(), (gt * dq * x).sum() / gt.sum()]]
            )
            step = np.linalg.solve(jac, f)
            a, b = a - step[0], b - step[1]
            if np.abs(f).max() < 1e-12:
                break
        return float(f"{a:.9g}"), float(f"{b:.9g}")

    def sample_completed(self, rng: np.random.Generator, n: int, a: float, b: float) -> tuple[np.ndarray, np.ndarray]:
        """``n`` pairs of jobs that completed: pairs drawn as :meth:`sample`, each kept with
        probability ``1 / (1 + exp(a + b ln d))`` (rejection; batches until ``n`` are kept)."""
        n = _count(n)
        gs, ds = [], []
        kept = 0
        while kept < n:
            g, d = self.sample(rng, max(2 * (n - kept), 64))
            keep = rng.random(len(d)) < 1.0 / (1.0 + np.exp(np.clip(a + b * np.log(d), -50, 50)))
            gs.append(g[keep])
            ds.append(d[keep])
            kept += int(keep.sum())
        return np.concatenate(gs)[:n], np.concatenate(ds)[:n]

    def gpu_time_share(self) -> dict[int, float]:
        """Expected share of GPU time per GPU count (``pmf x count x mean duration``), the reference
        a generated instance is compared with."""
        gt = self.pmf * self.values * self.mean_s
        return {int(v): float(s) for v, s in zip(self.values, gt / gt.sum(), strict=True)}

    def marginal_quantile(self, p: Any) -> np.ndarray:
        """Quantiles of the duration over all GPU counts (the pmf-weighted mixture), by inverting its
        CDF on a fine log grid."""
        grid = np.linspace(self.log_quantiles.min(), self.log_quantiles.max(), 4001)
        cdf = np.zeros_like(grid)
        for k in range(len(self.values)):
            lq = self.log_quantiles[k]
            cdf += self.pmf[k] * np.interp(grid, lq, self.probs, left=0.0, right=1.0)
        cdf = np.maximum.accumulate(cdf)
        return np.exp(np.interp(np.asarray(p, dtype=np.float64), cdf, grid))

    def duration_quantiles(self, p: Any, gpus: int) -> np.ndarray:
        """Quantiles of the duration of jobs with ``gpus`` GPUs."""
        k = int(np.flatnonzero(self.values == gpus)[0])
        return np.exp(np.interp(np.asarray(p, dtype=np.float64), self.probs, self.log_quantiles[k]))


@dataclass(frozen=True, eq=False)
class ArrivalReplay:
    """Trace replay of arrivals: the trace's arrivals per clock hour (an ``arrival-counts`` fit),
    replayed from a random start hour (wrapping around at the end), each hour's arrivals placed
    uniformly at random within it, then time scaled so that the mean rate is ``rate_per_hour``. Bursts
    (hours with hundreds of submissions, idle hours) are kept as the trace has them, in trace time
    scaled by the rate ratio.

    Contract: ``sample(rng, n, rate_per_hour)`` returns ``n`` sorted arrival times (s, float64,
    first >= 0) and the start hour used.
    """

    counts: np.ndarray

    @classmethod
    def shipped(cls, source: str = "philly") -> ArrivalReplay:
        """The shipped ``arrival-counts`` fit of trace ``source``."""
        p = _check_kind(shipped_fit(f"arrival-counts/{source}"), "arrival-counts")
        return cls(np.asarray(p["counts"], dtype=np.int64))

    @property
    def rate_per_hour(self) -> float:
        """The trace's mean arrivals per hour."""
        return float(self.counts.sum() / len(self.counts))

    def sample(self, rng: np.random.Generator, n: int, rate_per_hour: float) -> tuple[np.ndarray, int]:
        """``n`` sorted arrival times (s) at ``rate_per_hour`` and the start hour used; see the class docstring."""
        n = _count(n)
        if not np.isfinite(rate_per_hour) or rate_per_hour <= 0:
            raise ValueError(f"rate_per_hour must be > 0, got {rate_per_hour!r}")
        H = len(self.counts)
        start = int(rng.integers(0, H))
        total = int(self.counts.sum())
        laps = n // total + 2
        order = (start + np.arange(laps * H)) % H
        c = self.counts[order]
        cum = np.cumsum(c)
        hours_needed = int(np.searchsorted(cum, n) + 1)
        c = c[:hours_needed]
        hour_of = np.repeat(np.arange(hours_needed), c)[:n]
        t_trace = (hour_of + rng.random(n)) * 3600.0
        t_trace.sort()
        return t_trace * (self.rate_per_hour / rate_per_hour), start
