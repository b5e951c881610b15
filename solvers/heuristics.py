"""Constructive heuristics: bin-packing placement, list scheduling, water-filling allocation.

All solvers here are deterministic (ties go to the lowest index) and never modify the instance.
The algorithms are described in ``docs/solvers-heuristics.md``; in short:

* ``ffd`` / ``bfd`` (placement): jobs in decreasing *size* = ``gang x`` the smallest, over the
  job's eligible types, of the largest ``demand / capacity`` ratio over resources
  (``_lib.packing.normalised_size``); for ``max-weight`` by decreasing ``weight / size``. A job goes
  to the first (``ffd``: lowest GPU index) or best (``bfd``: smallest largest-remaining-fraction
  after placement) gang of ``gang`` fitting GPUs of one type on one node (one type anywhere with
  ``allow_multi_node``); for ``min-cost`` only the cheapest type that has room is considered.
  When ``min-cost``/``min-gpus`` jobs remain unplaced, repair passes try the other rule and
  (``min-cost``) both rules without the cheapest-type restriction.
* ``regret`` (placement ``min-cost``): Martello-Toth regret heuristic for the GAP (gang-1 jobs):
  repeatedly place the unplaced job whose regret (second-cheapest minus cheapest feasible GPU
  cost; infinite with a single feasible GPU) is largest on its cheapest feasible GPU. Instances
  with a gang > 1 use ``bfd``.
* ``list-ect`` / ``wspt`` / ``edd`` (batch): jobs in LPT order of their best time, in decreasing
  ``weight / best time``, or by earliest due date (no deadline last); each on the gang of GPUs
  (one type, one node) with the earliest completion time, started at ``max(release, the gang's
  free time)``. Always feasible when every job has a usable type.
* ``waterfill`` (allocation): progressive filling for max-min fairness (see ``waterfill``).
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from schedbench.instances.model import Instance
from schedbench.plugins.solver import Context, Solver, SolveResult
from schedbench.validator.allocation import equal_share_throughput, throughput_matrix

from ._lib.assignment import regret_placement
from ._lib.packing import heuristic_placement
from ._lib.schedule import heuristic_schedule

PLACEMENT_OBJECTIVES = ("min-cost", "min-gpus", "max-weight")
BATCH_OBJECTIVES = ("makespan", "weighted-completion", "weighted-tardiness")


# ---------------------------------------------------------------------------------------- placement
class _Placement(Solver):
    family = "greedy"
    version = "1"
    problems: ClassVar[dict[str, tuple[str, ...]]] = {"placement": PLACEMENT_OBJECTIVES}
    deterministic = True
    mode = "first"

    def solve(self, instance: Instance, context: Context) -> SolveResult:
        """Pack the jobs (see the module docstring); repair passes when jobs stay unplaced."""
        return heuristic_placement(instance, self.mode)


class FirstFitDecreasing(_Placement):
    """First-fit-decreasing placement."""

    name = "ffd"
    mode = "first"
    description = "first-fit-decreasing placement by normalised size (gangs on one node, cheapest type first)"


class BestFitDecreasing(_Placement):
    """Best-fit-decreasing placement."""

    name = "bfd"
    mode = "best"
    description = "best-fit-decreasing placement by normalised size (tightest fit, cheapest type first)"


class Regret(_Placement):
    """Martello-Toth regret heuristic (GAP); bfd for gang jobs."""

    name = "regret"
    mode = "best"  # the fallback for gangs; repair passes try first fit next
    problems: ClassVar[dict[str, tuple[str, ...]]] = {"placement": ("min-cost",)}
    description = "Martello-Toth regret heuristic for min-cost placement (gang-1; bfd otherwise)"

    def solve(self, instance: Instance, context: Context) -> SolveResult:
        """The regret construction (bfd where it does not apply), then the repair passes."""
        return heuristic_placement(instance, self.mode, regret_placement)


# ---------------------------------------------------------------------------------------- batch
class _Batch(Solver):
    family = "greedy"
    version = "1"
    problems: ClassVar[dict[str, tuple[str, ...]]] = {"batch": BATCH_OBJECTIVES}
    deterministic = True
    rule = "lpt"

    def solve(self, instance: Instance, context: Context) -> SolveResult:
        """List scheduling in the rule's order (see the module docstring)."""
        return heuristic_schedule(instance, self.rule)


class ListECT(_Batch):
    """LPT list scheduling with earliest-completion-time assignment."""

    name = "list-ect"
    rule = "lpt"
    description = "list scheduling, LPT order of best time, earliest completion time gang (releases respected)"


class WSPT(_Batch):
    """Weighted-shortest-processing-time order, earliest-completion assignment."""

    name = "wspt"
    rule = "wspt"
    description = "list scheduling in WSPT order (weight / best time decreasing), earliest completion gang"


class EDD(_Batch):
    """Earliest-due-date order, earliest-completion assignment."""

    name = "edd"
    rule = "edd"
    description = "list scheduling in earliest-due-date order (no deadline last), earliest completion gang"


# ---------------------------------------------------------------------------------------- allocation
def _fill(inst: Instance, price: np.ndarray) -> tuple[np.ndarray, int]:
    """One progressive filling with type preference ``thr[j, t] * price[t]``; returns ``x`` ``(n, T)``
    and the type whose saturation first froze a job (-1: none).

    Every unfrozen job's normalised throughput ``rho_j`` (validator definitions) rises at the same
    rate ``z``. Each unfrozen job draws its time share from its *active* type: the unsaturated
    usable type with the largest throughput; raising ``z`` by ``dz`` costs it ``eq_j / thr[j, t] dz``
    of share on that type, i.e. ``gang_j eq_j / thr[j, t] dz`` of the type's GPUs. The next event
    is the smallest ``dz`` at which a type saturates (its gang-weighted share sum reaches its GPU
    count: its jobs switch to their next best unsaturated type, or freeze if none) or a job's share
    sum reaches 1 (it freezes). At most ``n + T`` events; each is ``O(n)``.
    """
    jobs = inst.jobs
    n, T = inst.n_jobs, len(inst.gpu_types)
    x = np.zeros((n, T))
    if n == 0:
        return x, -1
    counts = inst.gpus_per_type.astype(np.float64)
    thr = throughput_matrix(inst)
    eq = equal_share_throughput(inst)
    gang = jobs.gang.astype(np.float64)
    usable = jobs.eligible & (inst.gpus_per_type[None, :] >= jobs.gang[:, None]) & (thr > 0)
    free = counts.copy()
    saturated = free <= 0
    frozen = ~(eq > 0) | ~usable.any(axis=1)
    total = np.zeros(n)
    pref = np.where(usable, thr * price[None, :], -np.inf)
    culprit = -1
    last_sat = -1
    for _ in range(2 * (n + T) + 5):
        live = ~frozen
        if not live.any():
            break
        avail = np.where(saturated[None, :], -np.inf, pref[live])
        act = np.argmax(avail, axis=1)
        ok = np.isfinite(avail[np.arange(len(act)), act])
        lj = np.flatnonzero(live)
        if not ok.all():
            if culprit < 0 and saturated.any():
                culprit = last_sat
            frozen[lj[~ok]] = True
            lj, act = lj[ok], act[ok]
            if not len(lj):
                break
        rate_share = eq[lj] / thr[lj, act]  # share per unit z
        type_rate = np.bincount(act, weights=gang[lj] * rate_share, minlength=T)
        with np.errstate(divide="ignore", invalid="ignore"):
            dz_type = np.where(type_rate > 0, free / type_rate, np.inf)
            dz_job = (1.0 - total[lj]) / rate_share
        dz = float(min(dz_type.min(), dz_job.min()))
        dz = max(dz, 0.0)
        x[lj, act] += rate_share * dz
        total[lj] += rate_share * dz
        free -= type_rate * dz
        tsat = np.flatnonzero((type_rate > 0) & (dz_type <= dz * (1 + 1e-12)))
        saturated[tsat] = True
        if len(tsat):
            last_sat = int(tsat[0])
        frozen[lj[dz_job <= dz * (1 + 1e-12)]] = True
    # exact feasibility: scale shares that overshoot by rounding
    x = np.clip(x, 0.0, None)
    s = x.sum(axis=1)
    x = np.where(s[:, None] > 1, x / np.where(s > 0, s, 1.0)[:, None], x)
    used = gang @ x
    scale = np.where(used > counts, counts / np.where(used > 0, used, 1.0), 1.0)
    return x * scale[None, :], culprit


def waterfill(inst: Instance, rounds: int = 25) -> np.ndarray:
    """Progressive filling for max-min fairness; returns ``x`` ``(n, T)``.

    Runs :func:`_fill` up to ``rounds`` times: after each, the price of the type whose saturation
    first froze a job is multiplied by 0.8, so that jobs with a comparable rate elsewhere move
    off it; the allocation with the largest minimum normalised throughput is kept (the first on
    ties). Deterministic.
    """
    T = len(inst.gpu_types)
    thr = throughput_matrix(inst)
    eq = equal_share_throughput(inst)
    price = np.ones(T)
    best, best_val = None, -np.inf
    for _ in range(rounds):
        x, culprit = _fill(inst, price)
        with np.errstate(divide="ignore", invalid="ignore"):
            rho = np.where(eq > 0, (x * thr).sum(axis=1) / eq, 0.0)
        val = float(rho.min()) if len(rho) else 0.0
        if val > best_val + 1e-12:
            best, best_val = x, val
        if culprit < 0:
            break
        price[culprit] *= 0.8
    assert best is not None
    return best


class WaterFill(Solver):
    """Water-filling (progressive filling) for max-min fairness."""

    name = "waterfill"
    family = "greedy"
    version = "1"
    problems: ClassVar[dict[str, tuple[str, ...]]] = {"allocation": ("max-min-fairness",)}
    deterministic = True
    description = "progressive filling for max-min fairness: raise all jobs' normalised throughput together"

    def solve(self, instance: Instance, context: Context) -> SolveResult:
        """Solve ``instance`` as the class docstring describes; never modifies it."""
        x = waterfill(instance)
        types = instance.type_ids
        alloc = {
            jid: {types[t]: float(x[j, t]) for t in np.flatnonzero(x[j] > 0).tolist()}
            for j, jid in enumerate(instance.jobs.ids)
        }
        return SolveResult({"problem": "allocation", "allocation": alloc}, "feasible")
