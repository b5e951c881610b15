"""Decision-point policies shared by the RL environments and the RL solver plugins.

Both environments step the simulator's own event engine (:class:`~schedbench.simulator.Simulator`)
through a :class:`~schedbench.simulator.policy.Policy` subclass defined here. At each decision
point the policy builds an observation and an action mask from the :class:`~schedbench.simulator.View`
only (predicted times, never the true ones) and calls ``decide(obs, mask) -> action``:

* inside an environment, ``decide`` suspends the engine (a greenlet switch) and hands the
  observation to the agent; ``env.step(action)`` resumes it with the answer;
* inside a solver plugin, ``decide`` is a trained model's forward pass.

So training and evaluation run the same engine, the same features and the same decisions.

Observation layouts (float32, flat; the action mask is always the *last* ``n_actions`` entries, so
a masked Q-network can read it from the observation):

* :class:`QueueAgentPolicy` (``queue`` env, after RLScheduler): ``W`` slots of ``SLOT_F`` features
  for the first ``W`` waiting jobs in arrival order (present, log(1 + wait / s), log(1 + predicted
  time / s), gang / largest node, type affinity = predicted speed on the fastest type that fits
  now relative to the job's fastest type (0: fits nowhere now), can start now), then ``CLUSTER_F``
  cluster features (free GPU fraction, running jobs / GPUs, log(1 + waiting jobs), waiting jobs
  beyond the window / W, largest free block / largest node), then the mask of ``W + 1`` actions:
  start slot ``i`` (the job fits now), or wait (allowed while some job runs, so an idle cluster
  always starts something and no run starves; never allowed when the policy is built with
  ``wait=False``, which makes the agent a work-conserving orderer as in RLScheduler). ``s`` is the
  mean predicted time of the jobs released so far (non-clairvoyant scale, the same rule everywhere).
* :class:`PlacementAgentPolicy` (``placement`` env): one waiting job at a time (arrival order,
  each job offered at most once per event time): ``JOB_F`` job features (log(1 + predicted time /
  s), log(1 + wait / s), gang / largest node, log(1 + waiting jobs), free GPU fraction, running
  jobs / GPUs), then ``K`` type slots ordered by the job's predicted speed (slot 0 = its fastest
  usable type) of ``TYPE_F`` features (exists, speed relative to slot 0, free fraction of the type,
  largest free block of the type / largest node, fits now), then the mask of ``K + 1`` actions:
  start on slot ``k``'s type (fits now), or hold (allowed while some job runs) until the next event.

An action the mask forbids is never applied: it is replaced by the first allowed start (counted
in ``invalid_actions``), so a random or unmasked agent cannot break a run.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from itertools import islice

import numpy as np

from schedbench.simulator.engine import View
from schedbench.simulator.policy import Policy

SLOT_F = 6
CLUSTER_F = 5
JOB_F = 6
TYPE_F = 5

Decide = Callable[[np.ndarray, np.ndarray], int]


class _Base(Policy):
    """Shared state: per-job arrays filled at arrival, the running integral of jobs in system.

    A subclass sets ``n_actions`` (the size of its discrete action space) and ``obs_dim`` (the length
    of its flat observation) in its constructor.
    """

    n_actions: int
    obs_dim: int

    def __init__(self, decide: Decide | None = None) -> None:
        super().__init__()
        self.decide: Decide | None = decide
        self.area = 0.0  # integral of jobs in system dt up to last_t
        self.last_t = 0.0
        self.in_system = 0
        self.decisions = 0
        self.invalid_actions = 0
        self._sum_pred = 0.0
        self._n_pred = 0

    def setup(self, view: View) -> None:
        super().setup(view)
        self.view = view
        n, T = len(view.state), len(view.type_ids)
        self.T = T
        # one row per job, gathered in one operation per decision: need per type (the gang where usable,
        # inf elsewhere), speed per type (pred on the fastest type / pred on the type), release, pred, gang
        self.rows = np.zeros((n, 2 * T + 3), dtype=np.float64)
        self.rows[:, :T] = np.inf
        self.need = self.rows[:, :T]
        self.speed = self.rows[:, T : 2 * T]
        self.rel = self.rows[:, 2 * T]
        self.pred = self.rows[:, 2 * T + 1]
        self.gang = self.rows[:, 2 * T + 2]
        cl = view.cluster
        sizes = [0] * T
        for k, t in enumerate(cl.node_type):
            sizes[t] = max(sizes[t], cl.node_free(k))
        self.node_max = float(max(sizes) if not cl.multi_node else max(cl.total))
        self.n_gpus = float(view.n_gpus)

    def _tick(self, now: float) -> None:
        self.area += self.in_system * (now - self.last_t)
        self.last_t = now

    def area_at(self, now: float) -> float:
        """Integral of the number of jobs in the system from 0 to ``now`` (jobs released, not finished)."""
        return self.area + self.in_system * (now - self.last_t)

    @property
    def scale(self) -> float:
        """Mean predicted time of the jobs released so far (1 before any)."""
        return self._sum_pred / self._n_pred if self._n_pred and self._sum_pred > 0 else 1.0

    def on_arrival(self, view: View, j: int) -> None:
        self._tick(view.now)
        self.in_system += 1
        row = view.pred_types[j]
        assert row is not None
        p = view.pred[j] or 0.0
        g = view.gang[j]
        for t, pt in row.items():
            self.need[j, t] = g
            self.speed[j, t] = p / pt if pt > 0 else 1.0
        self.gang[j] = g
        self.pred[j] = p
        self.rel[j] = view.release[j]
        if math.isfinite(p):
            self._sum_pred += p
            self._n_pred += 1

    def on_finish(self, view: View, j: int) -> None:
        self._tick(view.now)
        self.in_system -= 1

    def _blocks(self, view: View) -> np.ndarray:
        cl = view.cluster
        return np.fromiter((cl.largest_free_block(t) for t in range(self.T)), dtype=np.float64, count=self.T)

    def _ask(self, obs: np.ndarray, mask: np.ndarray) -> int:
        self.decisions += 1
        assert self.decide is not None, "no decide callback"
        a = int(self.decide(obs, mask))
        if 0 <= a < len(mask) and mask[a]:
            return a
        self.invalid_actions += 1
        return int(np.flatnonzero(mask)[0])


class QueueAgentPolicy(_Base):
    """Pick one of the first ``window`` waiting jobs to start, or wait (see the module docstring)."""

    def __init__(self, window: int = 128, decide: Decide | None = None, wait: bool = True) -> None:
        super().__init__(decide)
        if window < 1:
            raise ValueError(f"window must be >= 1, got {window}")
        self.W = int(window)
        self.wait = bool(wait)
        self.n_actions = self.W + 1
        self.obs_dim = self.W * SLOT_F + CLUSTER_F + self.n_actions

    def observe(self, view: View) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """(observation, mask, window job indices), or None when no window job can start now."""
        W = self.W
        idx = np.fromiter(islice(view.waiting, W), dtype=np.int64)
        w = len(idx)
        if w == 0:
            return None
        L = self._blocks(view)
        T = self.T
        G = self.rows[idx]
        fitsT = G[:, :T] <= L
        can = fitsT.any(axis=1)
        if not can.any():
            return None
        s = self.scale
        obs = np.zeros(self.obs_dim, dtype=np.float32)
        slots = obs[: W * SLOT_F].reshape(W, SLOT_F)
        slots[:w, 0] = 1.0
        slots[:w, 1] = np.log1p((view.now - G[:, 2 * T]) / s)
        slots[:w, 2] = np.log1p(G[:, 2 * T + 1] / s)
        slots[:w, 3] = G[:, 2 * T + 2] / self.node_max
        slots[:w, 4] = (G[:, T : 2 * T] * fitsT).max(axis=1)
        slots[:w, 5] = can
        cl = view.cluster
        nw = len(view.waiting)
        c = W * SLOT_F
        obs[c] = sum(cl.free) / self.n_gpus
        obs[c + 1] = len(view.running) / self.n_gpus
        obs[c + 2] = math.log1p(nw)
        obs[c + 3] = max(0, nw - W) / W
        obs[c + 4] = L.max() / self.node_max
        mask = np.zeros(self.n_actions, dtype=bool)
        mask[:w] = can
        mask[W] = self.wait and bool(view.running)
        obs[-self.n_actions :] = mask
        return obs, mask, idx

    def schedule(self, view: View) -> None:
        """Ask the agent at each decision point; start its choice until it chooses to wait or nothing fits."""
        while True:
            got = self.observe(view)
            if got is None:
                return
            obs, mask, idx = got
            a = self._ask(obs, mask)
            if a == self.W:
                return
            view.start(int(idx[a]))


class PlacementAgentPolicy(_Base):
    """Place each waiting job (arrival order) on one of its types, or hold it until the next event."""

    def __init__(self, max_types: int = 4, decide: Decide | None = None) -> None:
        super().__init__(decide)
        if max_types < 1:
            raise ValueError(f"max_types must be >= 1, got {max_types}")
        self.K = int(max_types)
        self.n_actions = self.K + 1
        self.obs_dim = JOB_F + self.K * TYPE_F + self.n_actions

    def setup(self, view: View) -> None:
        """Refuse instances with more GPU types than ``max_types``; see :meth:`Policy.setup`."""
        super().setup(view)
        if self.T > self.K:
            raise ValueError(
                f"the instance has {self.T} GPU types; this placement agent handles at most {self.K} (max_types)"
            )
        self._order = np.zeros((len(view.state), self.K), dtype=np.int64)
        self._nty = np.zeros(len(view.state), dtype=np.int64)
        self._types: list[list[int]] = [[] for _ in view.state]

    def on_arrival(self, view: View, j: int) -> None:
        """Record the job's usable types (fastest first, at most ``max_types``)."""
        super().on_arrival(view, j)
        row = view.pred_types[j]
        assert row is not None
        types = list(row)  # fastest first
        self._nty[j] = len(types)
        self._order[j, : len(types)] = types
        self._types[j] = types

    def observe(self, view: View, j: int) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """(observation, mask, type index per slot) for waiting job ``j``, or None if it fits nowhere now."""
        L = self._blocks(view)
        k = int(self._nty[j])
        types = self._order[j, :k]
        g = self.gang[j]
        fits = L[types] >= g
        if not fits.any():
            return None
        cl = view.cluster
        s = self.scale
        K = self.K
        obs = np.zeros(self.obs_dim, dtype=np.float32)
        obs[0] = math.log1p(self.pred[j] / s)
        obs[1] = math.log1p(max(view.now - self.rel[j], 0.0) / s)
        obs[2] = g / self.node_max
        obs[3] = math.log1p(len(view.waiting))
        obs[4] = sum(cl.free) / self.n_gpus
        obs[5] = len(view.running) / self.n_gpus
        slots = obs[JOB_F : JOB_F + K * TYPE_F].reshape(K, TYPE_F)
        free = np.asarray(cl.free, dtype=np.float64)[types]
        total = np.asarray(cl.total, dtype=np.float64)[types]
        slots[:k, 0] = 1.0
        slots[:k, 1] = self.speed[j, types]
        slots[:k, 2] = free / total
        slots[:k, 3] = L[types] / self.node_max
        slots[:k, 4] = fits
        mask = np.zeros(self.n_actions, dtype=bool)
        mask[:k] = fits
        mask[K] = bool(view.running)
        obs[-self.n_actions :] = mask
        return obs, mask, types

    def schedule(self, view: View) -> None:
        """Ask the agent for each waiting job (arrival order) that fits some type now: a type, or hold."""
        cl = view.cluster
        block = cl.largest_free_block
        gang = view.gang
        for j in list(view.waiting):
            if not view.waiting or j not in view.waiting:
                continue
            g = gang[j]
            if not any(block(t) >= g for t in self._types[j]):  # cheap test before building features
                continue
            got = self.observe(view, j)
            if got is None:
                continue
            obs, mask, types = got
            a = self._ask(obs, mask)
            if a < self.K:
                view.start(j, int(types[a]))


POLICIES = {"queue": QueueAgentPolicy, "placement": PlacementAgentPolicy}


def make_agent_policy(
    env: str, decide: Decide | None = None, *, window: int = 128, max_types: int = 4, wait: bool = True
) -> _Base:
    """The decision-point policy of environment kind ``env`` (``queue`` or ``placement``); ``wait``
    (queue only) False removes the wait action from the allowed ones (work-conserving ordering)."""
    if env == "queue":
        return QueueAgentPolicy(window, decide, wait)
    if env == "placement":
        return PlacementAgentPolicy(max_types, decide)
    raise ValueError(f"env {env!r}: expected 'queue' or 'placement'")
