"""Scheduling policies of the online simulator: the :class:`Policy` base (callbacks and the
admission-control layer) and :class:`QueuePolicy`, one implementation of the priority-queue family
(FCFS, EASY backfilling, SJF, SRPT, EDF, weighted priority, LAS, Tiresias' discretised 2D-LAS).

A policy sees only the :class:`~schedbench.simulator.engine.View`. Writing one: subclass
:class:`Policy` and override some of ``on_arrival``, ``on_finish``, ``on_timer`` and ``schedule``
(docs/simulator.md has a complete example).
"""

from __future__ import annotations

import heapq
import math
from bisect import bisect_left, insort
from collections.abc import Mapping
from heapq import heappop, heappush
from typing import Any

from schedbench.simulator.engine import RUNNING, WAITING, SimulationError, View

ADMISSIONS = ("accept-all", "queue-length", "wait-deadline", "deadline-feasible")
KEYS = ("fifo", "pred", "remaining", "deadline", "weight", "attained", "tiresias")


def erlang_c_wait(c: int, a: float, mean_service: float) -> float:
    """Mean wait in queue of M/M/c with offered load ``a = lambda / mu`` (Erlang C); inf when a >= c."""
    if c < 1 or a >= c:
        return math.inf
    if a <= 0:
        return 0.0
    b = 1.0  # Erlang B by the stable recursion
    for k in range(1, c + 1):
        b = a * b / (k + a * b)
    p_wait = b / (1.0 - (a / c) * (1.0 - b))
    return p_wait * mean_service / (c - a)


class Policy:
    """Base class of policies. The engine calls, at each event time: ``on_finish`` for each job that
    completes, ``on_timer`` if the timer set with ``view.set_timer`` is due, ``admit`` then
    ``on_arrival`` for each released job (a job not admitted is rejected), then ``schedule`` once.
    Decisions go through the view: ``start``, ``preempt``, ``migrate``, ``reject``, ``set_timer``.

    Admission control (composable with every policy): ``admission`` is ``accept-all``,
    ``queue-length`` (reject when ``max_queue`` jobs already wait), ``wait-deadline`` (reject a job
    whose deadline is before now + predicted wait + its predicted time; the wait is estimated by
    ``wait_estimate``: ``backlog`` = predicted GPU-seconds of the running and waiting work over the
    GPUs, or ``erlang-c`` = M/M/c with c = GPUs / mean gang and rates estimated from the jobs released
    so far, refreshed every 64 arrivals) or ``deadline-feasible`` (reject when now + its predicted
    time is past the deadline). Jobs without a deadline are only ever rejected by ``queue-length``.
    """

    def __init__(self, admission: str = "accept-all", max_queue: int = 100, wait_estimate: str = "backlog") -> None:
        if admission not in ADMISSIONS:
            raise ValueError(f"admission {admission!r}: expected one of {list(ADMISSIONS)}")
        if wait_estimate not in ("backlog", "erlang-c"):
            raise ValueError(f"wait_estimate {wait_estimate!r}: expected 'backlog' or 'erlang-c'")
        self.admission = admission
        self.max_queue = int(max_queue)
        self.wait_estimate = wait_estimate
        self._erlang: tuple[int, float] = (-1, 0.0)
        self._seen = [0, 0.0, 0.0, math.inf]  # released jobs, sum of predictions, sum of gangs, first release

    # ------------------------------------------------------------------ callbacks
    def setup(self, view: View) -> None:
        """Called once before the first event."""
        if self.admission != "accept-all" and not view.allow_rejection:
            raise SimulationError(
                f"admission {self.admission!r} rejects jobs but the instance sets allow_rejection to false"
            )

    def on_arrival(self, view: View, j: int) -> None:
        """Job ``j`` was released and admitted; it waits."""

    def on_finish(self, view: View, j: int) -> None:
        """Job ``j`` finished; its GPUs are free."""

    def on_timer(self, view: View) -> None:
        """The timer set with ``view.set_timer`` is due."""

    def schedule(self, view: View) -> None:
        """Decide: start, preempt, migrate, reject; called once per event time."""

    # ------------------------------------------------------------------ admission
    def admit(self, view: View, j: int) -> bool:
        """Whether to accept job ``j`` (just released); see the class docstring."""
        s = self._seen
        s[0] += 1
        s[1] += view.pred[j]
        s[2] += view.gang[j]
        s[3] = min(s[3], view.release[j])
        adm = self.admission
        if adm == "accept-all":
            return True
        if adm == "queue-length":
            return len(view.waiting) - 1 < self.max_queue
        d = view.deadline[j]
        if d is None:
            return True
        finish = view.now + view.pred[j]
        if adm == "deadline-feasible":
            return finish <= d + 1e-6
        return finish + self.predicted_wait(view, j) <= d + 1e-6

    def predicted_wait(self, view: View, j: int) -> float:
        """Predicted queueing delay of a job released now (``wait_estimate``)."""
        if self.wait_estimate == "backlog":
            work = sum(view.gang[k] * view.remaining(k) for k in view.running)
            work += sum(view.gang[k] * view.remaining(k) for k in view.waiting if k != j)
            free = sum(view.cluster.free)
            if work == 0 or free >= view.gang[j]:
                return 0.0 if not view.waiting or len(view.waiting) == 1 else work / view.n_gpus
            return work / view.n_gpus
        s = self._seen
        if s[0] % 64 == 1 or self._erlang[0] < 0:
            span = view.now - s[3]
            if span <= 0 or s[0] < 2:
                self._erlang = (0, 0.0)
            else:
                lam = (s[0] - 1) / span
                mean_p, mean_g = s[1] / s[0], s[2] / s[0]
                c = max(1, int(view.n_gpus / mean_g))
                self._erlang = (1, erlang_c_wait(c, lam * mean_p, mean_p))
        return self._erlang[1]


def _parse_weights(text: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, _, value = part.partition("=")
        try:
            out[name.strip()] = float(value)
        except ValueError:
            raise ValueError(f"tenant_weights: expected 'tenant=weight,...', got {part!r}") from None
    return out


class QueuePolicy(Policy):
    """Priority-queue scheduling: waiting jobs in the order of a key, started in that order while the
    head fits (strict: the head blocks the queue, as in FCFS), optionally with EASY backfilling
    (``backfill='easy'``, FIFO key only) and preemption (``preemptive``).

    Keys (smaller first): ``fifo`` release time; ``pred`` predicted processing time (SJF);
    ``remaining`` predicted remaining time (SRPT); ``deadline`` (EDF; none = last); ``weight``
    ``-(weight x tenant weight)`` (weighted priority); ``attained`` attained service (LAS; a waiting
    job preempts a running one when their attained services differ by more than ``quantum`` seconds,
    re-checked by a timer); ``tiresias`` discretised 2D-LAS: the queue index of the attained
    GPU-service (gang x seconds) against ``thresholds``, FIFO by release within a queue, jobs
    demoted by timers when they cross a threshold. Ties break by release order.

    Preemption: when the head does not fit, the running jobs whose key is worse than the head's are
    taken worst first until one node (one type with multi-node gangs) would have room for the head;
    those on that node are preempted and the head starts. Checkpoint/restore overheads are charged by
    the engine from the instance's cost model.

    EASY backfilling: when the head does not fit, its reservation (shadow time) is the earliest
    predicted time at which enough GPUs of one of its types free up; a later job may start now if it
    fits and either ends (predicted) by the shadow time or uses GPUs the head will not need. Free
    capacity is indexed: waiting jobs are bucketed by gang size and only buckets that fit the
    largest free block are scanned; running jobs' predicted ends are kept sorted per type.
    """

    def __init__(
        self,
        key: str = "fifo",
        *,
        preemptive: bool = False,
        backfill: str = "none",
        quantum: float = 60.0,
        thresholds: str = "3600",
        tenant_weights: str = "",
        **admission: Any,
    ) -> None:
        super().__init__(**admission)
        if key not in KEYS:
            raise ValueError(f"key {key!r}: expected one of {list(KEYS)}")
        if backfill not in ("none", "easy"):
            raise ValueError(f"backfill {backfill!r}: expected 'none' or 'easy'")
        if backfill == "easy" and (key != "fifo" or preemptive):
            raise ValueError("backfill 'easy' needs the fifo key without preemption")
        if not quantum > 0:
            raise ValueError(f"quantum must be > 0, got {quantum}")
        self.key = key
        self.preemptive = bool(preemptive) or key in ("remaining", "attained", "tiresias")
        self.backfill = backfill
        self.quantum = float(quantum)
        try:
            self.thresholds = sorted(float(x) for x in str(thresholds).split(",") if x.strip())
        except ValueError:
            raise ValueError(f"thresholds: expected comma-separated GPU-seconds, got {thresholds!r}") from None
        self.tenant_weights = _parse_weights(tenant_weights)
        self._wait: list[tuple[float, int, int]] = []  # (key, version, job)
        self._ver: list[int] = []
        self._run: list[tuple[float, int, int, float]] = []  # (-static, version, job, seg_start): worst on top
        self._rver: list[int] = []
        self._demote: list[tuple[float, int, float]] = []  # tiresias: (crossing time, job, seg_start)
        self._by_gang: dict[int, dict[int, float]] = {}  # EASY: gang -> {job: key}, arrival order
        self._gangs: list[int] = []
        self._ends: list[list[tuple[float, int]]] = []  # EASY: per type, sorted (predicted end, job)
        self._end_of: dict[int, tuple[float, int]] = {}
        self._defer: list[int] | None = None
        self._failed: tuple = ()
        # the last failed preemption scan (see ``_scan_still_fails``); since it: the jobs finished, started and pushed
        # again (tiresias demotions), and the cluster version bumps they made; the GPU group of each running job
        self._miss: tuple | None = None
        self._fin: list[int] = []
        self._new: list[int] = []
        self._again: list[int] = []
        self._bumps = 0
        self._grp: list[int] = []
        self._run_pushes = 0
        self._timers = 0
        self._drift = {"remaining": -1.0, "attained": 1.0}.get(key, 0.0)
        self._kf = self.wkey
        self._rk = self._rkey

    def setup(self, view: View) -> None:
        """Size the per-job queues and pick the key function; see :meth:`Policy.setup`."""
        super().setup(view)
        n = len(view.state)
        self._ver = [0] * n
        self._rver = [0] * n
        self._grp = [0] * n
        self._fin, self._new, self._again = [], [], []
        self._miss = None
        self._failed = ()  # a policy object reused for another run starts with no failed scan
        self._ends = [[] for _ in view.type_ids]
        # the hot paths call the key through ``_kf``: a closure specialised to this key (same arithmetic as
        # ``wkey``, without its dispatch and the view's method calls), unless a subclass overrides ``wkey``
        self._kf = self._key_fn(view) if type(self).wkey is QueuePolicy.wkey else self.wkey
        self._rk = self._kf if type(self)._rkey is QueuePolicy._rkey else self._rkey

    def _key_fn(self, view: View) -> Any:
        """``wkey`` for this policy's key as a closure over the view's lists (identical results)."""
        k = self.key
        attained, state, seg_ready, seg_rate = view.attained, view.state, view.seg_ready, view.seg_rate
        pred, release, gang, thr = view.pred, view.release, view.gang, self.thresholds

        def att(view: View, j: int) -> float:
            a = attained[j]
            if state[j] == RUNNING:
                now, r = view.now, seg_ready[j]
                if now > r:
                    a += (now - r) * seg_rate[j]
            return a

        def remaining(view: View, j: int) -> float:
            a = attained[j]
            if state[j] == RUNNING:
                now, r = view.now, seg_ready[j]
                if now > r:
                    a += (now - r) * seg_rate[j]
            return max(0.0, pred[j] - a)

        def tiresias(view: View, j: int) -> float:
            a = attained[j]
            if state[j] == RUNNING:
                now, r = view.now, seg_ready[j]
                if now > r:
                    a += (now - r) * seg_rate[j]
            return bisect_left(thr, gang[j] * a * (1 + 1e-9) + 1e-9) * 1e12 + release[j]

        if k == "fifo":
            return lambda view, j: release[j]
        if k == "pred":
            return lambda view, j: pred[j]
        if k == "remaining":
            return remaining
        if k == "attained":
            return att
        if k == "tiresias":
            return tiresias
        return self.wkey

    # ------------------------------------------------------------------ keys
    def _level(self, view: View, j: int, attained: float) -> int:
        return bisect_left(self.thresholds, view.gang[j] * attained * (1 + 1e-9) + 1e-9)

    def wkey(self, view: View, j: int) -> float:
        """The key of waiting job ``j`` (smaller runs first)."""
        k = self.key
        if k == "fifo":
            return view.release[j]
        if k == "pred":
            return view.pred[j]
        if k == "remaining":
            return view.remaining(j)
        if k == "deadline":
            d = view.deadline[j]
            return math.inf if d is None else d
        if k == "weight":
            return -view.weight[j] * self.tenant_weights.get(view.tenant[j] or "", 1.0)
        if k == "attained":
            return view.attained_now(j)
        return self._level(view, j, view.attained_now(j)) * 1e12 + view.release[j]

    def _static(self, view: View, j: int) -> float:
        """A running job's key at time 0 of a line with slope ``_drift``: orders running jobs by their key now."""
        return self._kf(view, j) - self._drift * view.now

    # ------------------------------------------------------------------ queue upkeep
    def _push_wait(self, view: View, j: int) -> None:
        self._ver[j] += 1
        key = self._kf(view, j)
        heappush(self._wait, (key, self._ver[j], j))
        if self.backfill == "easy":
            g = view.gang[j]
            b = self._by_gang.get(g)
            if b is None:
                b = self._by_gang[g] = {}
                insort(self._gangs, g)
            b[j] = key

    def _head(self, view: View) -> int:
        w, state, ver = self._wait, view.state, self._ver
        while w:
            _, v, j = w[0]
            if state[j] == WAITING and v == ver[j]:
                return j
            heappop(w)
        return -1

    def _started(self, view: View, j: int) -> None:
        if self.preemptive:
            self._rver[j] += 1
            self._run_pushes += 1
            heappush(self._run, (-self._static(view, j), self._rver[j], j, view.seg_start[j]))
            cl = view.cluster
            g0 = view.gpus[j][0]  # type: ignore[index]
            self._grp[j] = cl.gpu_type[g0] if cl.multi_node else cl.gpu_node[g0]
            if self._miss is not None:
                self._new.append(j)
            if self.key == "tiresias":
                self._push_demotion(view, j)
        if self.backfill == "easy":
            if self._defer is None:
                del self._by_gang[view.gang[j]][j]
            else:
                self._defer.append(j)
            t = view.seg_type[j]
            end = (view.seg_ready[j] + view.remaining(j) / view.seg_rate[j], j)
            insort(self._ends[t], end)
            self._end_of[j] = end

    def _push_demotion(self, view: View, j: int) -> None:
        a = view.attained_now(j)
        gang = view.gang[j]
        lvl = self._level(view, j, a)
        if lvl < len(self.thresholds):
            base = max(view.now, view.seg_ready[j])
            t = base + (self.thresholds[lvl] / gang - a) / view.seg_rate[j]
            heappush(self._demote, (max(t, view.now + 1e-6), j, view.seg_start[j]))

    def _start(self, view: View, j: int, t: int) -> None:
        if self.preemptive:
            cl = view.cluster
            v0 = cl.version
            view.start(j, t)
            self._bumps += cl.version - v0
        else:
            view.start(j, t)
        self._started(view, j)

    # ------------------------------------------------------------------ callbacks
    def on_arrival(self, view: View, j: int) -> None:
        """Queue the released job."""
        self._push_wait(view, j)

    def on_finish(self, view: View, j: int) -> None:
        """Note the finished job (preemption) or forget its reservation (EASY backfilling)."""
        if self.preemptive:
            if self._miss is not None:
                self._fin.append(j)
            self._bumps += 1  # the engine freed its GPUs: one cluster version bump
        if self.backfill == "easy":
            end = self._end_of.pop(j)
            ends = self._ends[view.seg_type[j]]
            del ends[bisect_left(ends, end)]

    def on_timer(self, view: View) -> None:
        """Demote running jobs whose attained service crossed a threshold (``tiresias``)."""
        self._timers += 1
        if self.key != "tiresias":
            return
        dem, state, now = self._demote, view.state, view.now
        while dem and dem[0][0] <= now:
            _, j, s0 = heappop(dem)
            if state[j] == RUNNING and view.seg_start[j] == s0:
                self._rver[j] += 1
                self._run_pushes += 1
                heappush(self._run, (-self._static(view, j), self._rver[j], j, s0))
                if self._miss is not None:
                    self._again.append(j)
                self._push_demotion(view, j)

    def schedule(self, view: View) -> None:
        """Start jobs in key order (with backfilling), preempting for the head when allowed."""
        while True:
            h = self._fill(view)
            if h < 0 or not (self.preemptive and view.allow_preemption and self._preempt_for_head(view, h)):
                break
        if self.preemptive:
            self._set_timer(view, h)

    def _fill(self, view: View) -> int:
        """Start heads while they fit; returns the head left waiting (still the top of the queue) or -1."""
        fit_type = view.fit_type
        while True:
            h = self._head(view)
            if h < 0:
                return -1
            t = fit_type(h)
            if t < 0:
                break
            heappop(self._wait)
            self._start(view, h, t)
        if self.backfill == "easy":
            self._easy(view, h)  # starts later jobs only: h stays the head
        return h

    # ------------------------------------------------------------------ preemption
    def _rkey(self, view: View, j: int) -> float:
        return self.wkey(view, j)

    def _preempt_for_head(self, view: View, h: int) -> bool:  # noqa: C901 (hot path: one frame, locals bound once)
        """Preempt for head ``h`` (the top of the queue, -1: none) if worse-keyed running jobs free room."""
        if h < 0:
            return False
        hkey = self._wait[0][0]
        # a failed attempt stays failed while the head, the cluster and the running keys' order are unchanged
        # (SRPT's running keys only fall over time; LAS's rise, so LAS retries after each of its timers)
        stamp = (h, view.cluster.version, self._run_pushes, self._timers)
        if stamp == self._failed:
            return False
        # LAS: displace when ahead by the quantum (less a rounding slack, so that a timer set for it fires it)
        margin = self.quantum * (1 - 1e-9) if self.key == "attained" else 0.0
        gang, usable = view.gang[h], view.pred_types[h]
        cl = view.cluster
        multi, gpu_type, gpu_node = cl.multi_node, cl.gpu_type, cl.gpu_node
        run, rver, state, rk = self._run, self._rver, view.state, self._rk
        while run:  # quick exit: the worst running job is not worse than the head
            _, v, j, s0 = run[0]
            if state[j] == RUNNING and v == rver[j] and view.seg_start[j] == s0:
                if not rk(view, j) > hkey + margin:
                    return False
                break
            heappop(run)
        miss = self._miss
        if miss is not None and miss[0] == h and self._scan_still_fails(view, miss, hkey + margin, gang):
            self._failed = stamp
            return False
        taken: list[tuple[float, int, int, float]] = []
        freed: dict[int, int] = {}
        victims: dict[int, list[int]] = {}
        chosen = -1
        stopper = None
        while run:
            entry = heappop(run)
            _, v, j, s0 = entry
            if state[j] != RUNNING or v != rver[j] or view.seg_start[j] != s0:
                continue
            taken.append(entry)
            if not rk(view, j) > hkey + margin:
                stopper = entry
                break
            gpus = view.gpus[j]
            assert gpus is not None
            g0 = gpus[0]
            if gpu_type[g0] not in usable:
                continue
            # one group per job: its type with multi-node gangs, else its node (a gang then holds one node's GPUs)
            grp = gpu_type[g0] if multi else gpu_node[g0]
            f = freed.get(grp)
            if f is None:
                f = cl.free[grp] if multi else cl.node_free(grp)
                victims[grp] = [j]
            else:
                victims[grp].append(j)
            f += len(gpus)
            freed[grp] = f
            if f >= gang:
                chosen = grp
                break
        if chosen < 0:
            for e in taken:
                heappush(run, e)
            self._failed = stamp
            eligible = {e[2] for e in taken}
            if stopper is not None:
                eligible.discard(stopper[2])
            self._fin.clear()
            self._new.clear()
            self._again.clear()
            self._miss = (h, hkey, cl.version, self._bumps, freed, eligible, stopper)
            return False
        out = set(victims[chosen])
        for e in taken:
            if e[2] not in out:
                heappush(run, e)
        for j in victims[chosen]:
            view.preempt(j)
            self._push_wait(view, j)
        t = view.fit_type(h)
        if t < 0:  # the freed node could not take the head after all (cannot happen with exclusive GPUs)
            return True
        # the head is still the top of the queue (victims have worse keys)
        if self._head(view) == h:
            heappop(self._wait)
        self._start(view, h, t)
        return True

    def _scan_still_fails(self, view: View, miss: tuple, bar: float, gang: int) -> bool:  # noqa: C901 (hot path)
        """Whether the preemption scan for the head would fail again, decided from the last failed scan ``miss``
        (same head) without scanning; False when unsure (the caller then scans). Exact when it answers True.

        Valid while the head's key is unchanged and the cluster changed only by the finishes and starts noted since
        (``_bumps`` counts their version bumps). The running jobs' heap then holds the entries of that scan less the
        finished jobs, plus those pushed since (``_new``: started, ``_again``: pushed again). If the job that stopped
        that scan (the first not worse than the head by the margin; None: the scan took every job) still runs and is
        still not worse than ``bar``, a new scan would take only jobs ``taken`` then or pushed since. ``room`` bounds,
        per group reached, its free GPUs plus those of the jobs taken on it; it stays a bound when the GPUs of a job
        finished since that was not taken, or pushed again and not taken, are added (a start on a group moves GPUs
        from free to taken). A group not reached holds its free GPUs, fewer than the gang since the head does not
        fit, plus those of the jobs started or pushed again on it since. When no bound reaches the gang the scan
        would fail; ``miss`` is then updated to these bounds (the pushed jobs taken), so each change counts once.
        """
        h, hkey, version, bumps, room, taken, stopper = miss
        cl = view.cluster
        self._miss = None
        if hkey != self._wait[0][0] or cl.version - version != self._bumps - bumps:
            return False
        state, grp, gang_of = view.state, self._grp, view.gang
        if stopper is not None:
            _, v, j, s0 = stopper
            if state[j] != RUNNING or v != self._rver[j] or view.seg_start[j] != s0 or self._rk(view, j) > bar:
                return False
        for j in self._fin:
            if j not in taken:
                k = grp[j]
                f = room.get(k)
                if f is not None:
                    f += gang_of[j]
                    if f >= gang:
                        return False
                    room[k] = f
        fresh: dict[int, int] = {}  # groups not reached: free GPUs plus the pushed jobs' GPUs
        usable = view.pred_types[h]
        multi = cl.multi_node
        for lst, again in ((self._new, False), (self._again, True)):
            for j in lst:
                if state[j] != RUNNING or j in taken:
                    continue
                taken.add(j)
                k = grp[j]
                f = room.get(k)
                if f is not None:
                    if again:
                        f += gang_of[j]
                        if f >= gang:
                            return False
                        room[k] = f
                    continue
                f = fresh.get(k)
                if f is None:
                    if (k if multi else cl.node_type[k]) not in usable:
                        continue
                    f = cl.free[k] if multi else cl.node_free(k)
                f += gang_of[j]
                if f >= gang:
                    return False
                fresh[k] = f
        room.update(fresh)
        self._fin.clear()
        self._new.clear()
        self._again.clear()
        self._miss = (h, hkey, cl.version, self._bumps, room, taken, stopper)
        return True

    def _set_timer(self, view: View, h: int) -> None:
        if self.key == "tiresias":
            dem = self._demote
            while dem and not (view.state[dem[0][1]] == RUNNING and view.seg_start[dem[0][1]] == dem[0][2]):
                heappop(dem)
            if dem:
                view.set_timer(max(dem[0][0], view.now + 1e-9))
            return
        if self.key != "attained" or not view.waiting or not view.running:
            return
        run, rver, state = self._run, self._rver, view.state
        while run:
            _, v, j, s0 = run[0]
            if state[j] == RUNNING and v == rver[j] and view.seg_start[j] == s0:
                break
            heappop(run)
        if h < 0 or not run:
            return
        w = run[0][2]
        gap = self._wait[0][0] + self.quantum - self._rk(view, w)
        if gap > 1e-9:  # when the worst running job will be ahead by the quantum: after its restore, at its rate
            view.set_timer(max(view.now, view.seg_ready[w]) + gap / view.seg_rate[w])
        else:  # the head could not displace the worst running job (it did not fit); retry a quantum later
            view.set_timer(view.now + self.quantum)

    # ------------------------------------------------------------------ EASY backfilling
    def _easy(self, view: View, h: int) -> None:
        cl = view.cluster
        gang = view.gang[h]
        now = view.now
        shadow, s_type, extra = math.inf, -1, 0
        for t in view.pred_types[h]:
            need = gang - cl.free[t]
            got = 0
            for end, j in self._ends[t]:
                if got >= need:
                    break
                got += view.gang[j]
                when = max(end, now)
                if got >= need and when < shadow:
                    shadow, s_type, extra = when, t, cl.free[t] + got - gang
        largest = max(cl.largest_free_block(t) for t in range(len(cl.type_ids)))
        sizes = [g for g in self._gangs if g <= largest and self._by_gang[g]]
        if not sizes:
            return
        merged = heapq.merge(*[_items(self._by_gang[g]) for g in sizes])
        smallest = sizes[0]
        self._defer = []
        try:
            self._backfill(view, h, merged, s_type, shadow, extra, smallest)
        finally:
            for j in self._defer:
                del self._by_gang[view.gang[j]][j]
            self._defer = None

    def _backfill(self, view: View, h: int, merged: Any, s_type: int, shadow: float, extra: int, smallest: int) -> None:
        cl = view.cluster
        now = view.now
        for _, j in merged:
            if j == h or view.state[j] != WAITING:
                continue
            t = view.fit_type(j)
            if t < 0:
                continue
            g = view.gang[j]
            if t != s_type or now + view.pred[j] <= shadow:
                self._start(view, j, t)
            elif g <= extra:
                extra -= g
                self._start(view, j, t)
            else:
                continue
            if max(cl.largest_free_block(t) for t in range(len(cl.type_ids))) < smallest:
                break


def _items(bucket: dict[int, float]) -> Any:
    """(key, job) of a gang bucket, in arrival order, without copying it."""
    for j, k in bucket.items():
        yield k, j


def policy_from_params(key: str, params: Mapping[str, Any], **fixed: Any) -> QueuePolicy:
    """A :class:`QueuePolicy` from a solver's resolved parameters (unknown names are ignored)."""
    names = ("preemptive", "backfill", "quantum", "thresholds", "tenant_weights")
    kw = {k: params[k] for k in names if k in params}
    adm = {k: params[k] for k in ("admission", "max_queue", "wait_estimate") if k in params}
    kw.update(fixed)
    return QueuePolicy(key, **kw, **adm)
