"""Processing-time predictors: what a policy is told about a job's size when it is released.

* ``oracle``: the true times (every result says ``oracle``: the policy was clairvoyant).
* ``noisy``: the true times times one log-normal factor per job, ``exp(sigma z)`` with ``z`` standard
  normal drawn from ``numpy.random.default_rng([seed, 0x6E6F6973])`` in job-row order (so the same
  seed gives the same errors whatever the policy).
* ``history``: the mean observed run time (seconds of progress, overheads excluded) of the jobs
  already finished with the same ``job_type``, else the same tenant, else of all finished jobs, else
  ``prior_s`` (default: 3600 s). It knows nothing of the job's own size and learns only from what
  finished before the job was released; the same figure is given for every usable type.
"""

from __future__ import annotations

import numpy as np

from schedbench.instances.model import Instance

PREDICTORS = ("oracle", "noisy", "history")


class Predictor:
    """Predicted times per job; ``label`` names it in results."""

    label = "oracle"

    def __init__(self, inst: Instance, usable: np.ndarray, times: np.ndarray) -> None:
        self._usable = usable
        self._times = times  # (n, T), NaN where unusable
        rows = np.where(usable, times, np.inf)
        self._rank = np.argsort(rows, axis=1, kind="stable").tolist()
        self._usable_l = usable.tolist()
        self._times_l = times.tolist()

    def predict(self, j: int) -> dict[int, float]:
        """``{type index: predicted seconds}`` over the usable types of job ``j``, fastest first."""
        ok, row = self._usable_l[j], self._times_l[j]
        if len(row) == 1:
            return {0: row[0]} if ok[0] else {}
        return {t: row[t] for t in self._rank[j] if ok[t]}

    def observe(self, j: int, ran_s: float) -> None:
        """Job ``j`` finished after ``ran_s`` seconds of progress (learning predictors use it)."""


class Noisy(Predictor):
    """The oracle's times, each job's times a log-normal error ``exp(sigma * z)`` (one draw per job and seed)."""

    label = "noisy"


class History(Predictor):
    """Means of finished jobs by job type, tenant, everything; ``prior_s`` before anything finished."""

    label = "history"

    def __init__(self, inst: Instance, usable: np.ndarray, prior_s: float) -> None:
        super().__init__(inst, usable, np.where(usable, 1.0, np.nan))
        jobs = inst.jobs
        self._type = jobs.job_type
        self._tenant = jobs.tenant
        self._prior = float(prior_s)
        self._sum: dict[tuple[str, str | None], list[float]] = {}
        self._all = [0.0, 0]

    def _mean(self, key: tuple[str, str | None]) -> float | None:
        s = self._sum.get(key)
        return s[0] / s[1] if s else None

    def predict(self, j: int) -> dict[int, float]:
        """The running mean of the job's type, else tenant, else of all finished jobs, else ``prior_s``."""
        guess = None
        if self._type is not None:
            guess = self._mean(("type", self._type[j]))
        if guess is None and self._tenant is not None:
            guess = self._mean(("tenant", self._tenant[j]))
        if guess is None and self._all[1]:
            guess = self._all[0] / self._all[1]
        if guess is None:
            guess = self._prior
        ok = self._usable_l[j]
        return {t: guess for t in range(len(ok)) if ok[t]}

    def observe(self, j: int, ran_s: float) -> None:
        """Add the job's time to the means of its type, its tenant and all jobs."""
        keys = []
        if self._type is not None:
            keys.append(("type", self._type[j]))
        if self._tenant is not None:
            keys.append(("tenant", self._tenant[j]))
        for key in keys:
            s = self._sum.setdefault(key, [0.0, 0])
            s[0] += ran_s
            s[1] += 1
        self._all[0] += ran_s
        self._all[1] += 1


def make_predictor(
    name: str, inst: Instance, usable: np.ndarray, *, sigma: float = 0.5, seed: int = 0, prior_s: float | None = None
) -> Predictor:
    """The predictor called ``name`` (one of :data:`PREDICTORS`)."""
    jobs = inst.jobs
    assert jobs.time is not None
    times = np.where(usable, jobs.time, np.nan)
    if name == "oracle":
        return Predictor(inst, usable, times)
    if name == "noisy":
        if not sigma >= 0:
            raise ValueError(f"predictor 'noisy': sigma must be >= 0, got {sigma}")
        z = np.random.default_rng([int(seed) & 0xFFFFFFFF, 0x6E6F6973]).standard_normal(inst.n_jobs)
        return Noisy(inst, usable, times * np.exp(sigma * z)[:, None])
    if name == "history":
        return History(inst, usable, 3600.0 if prior_s is None else prior_s)
    raise ValueError(f"unknown predictor {name!r}; expected one of {list(PREDICTORS)}")
