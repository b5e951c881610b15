"""The event-driven engine of the online simulator.

One heap of timed events (job completions and policy timers) plus a pointer into the arrivals sorted
by release; job state in flat Python lists built from numpy arrays (scalar access to lists is several
times faster than to numpy arrays in the hot loop). At each event time the engine, in this order,
ends the segments that complete (``finish``), fires due timers, releases the arriving jobs (admission,
then ``on_arrival``), then calls the policy's ``schedule`` once. The policy acts only through a
:class:`View`, which holds nothing the policy may not know: jobs appear in it when they are released,
with *predicted* processing times from the named predictor, and the true times stay in the engine
(the view holds no reference to the engine or the instance). See docs/simulator.md.

Ending conditions: ``complete`` (every job finished or rejected); ``starved`` (no future event while
released jobs wait: the policy leaves them waiting for ever; the jobs are named); an impossible
decision raises :class:`SimulationError` naming the decision and the time; an exception in the policy
propagates as :class:`PolicyError`.
"""

from __future__ import annotations

import gc
import heapq
import math
import time as _time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from schedbench.instances.model import Instance
from schedbench.simulator.cluster import Cluster
from schedbench.simulator.predictors import make_predictor
from schedbench.validator.overheads import job_overheads

if TYPE_CHECKING:
    from schedbench.simulator.policy import Policy

#: Event-log codes (as the validator names them).
START, RESUME, MIGRATE, PREEMPT, FINISH, REJECT = "start", "resume", "migrate", "preempt", "finish", "reject"
#: Job states in the view.
UNRELEASED, WAITING, RUNNING, FINISHED, REJECTED = range(5)
_FINISH_EV, _TIMER_EV = 0, 1
_INF = math.inf


class SimulationError(RuntimeError):
    """An impossible decision (GPUs busy, a gang that does not fit, a job in the wrong state)."""


class PolicyError(RuntimeError):
    """The policy raised; the original exception is the ``__cause__``."""


@dataclass
class SimulationResult:
    """What a simulation returns.

    Attributes:
        events: the event log, in the solution format (dicts with time, job, event[, gpus]).
        status: ``complete`` or ``starved``.
        message: one line saying how the run ended.
        stuck: ids of the jobs left waiting when ``starved``.
        predictor: the predictor's label (``oracle`` says the policy saw true times).
        wasted_gpu_seconds: the engine's own sum of overhead x GPUs held (the validator recomputes it).
        preemptions, migrations, rejections: counts.
        event_times: number of distinct event times processed.
        wall_seconds: wall-clock time of the simulation, the event log's JSON form included.
        loop_seconds: the part spent in the event loop (before the log is converted).
    """

    events: list[dict[str, Any]]
    status: str
    message: str
    stuck: list[str] = field(default_factory=list)
    predictor: str = "oracle"
    wasted_gpu_seconds: float = 0.0
    preemptions: int = 0
    migrations: int = 0
    rejections: int = 0
    event_times: int = 0
    wall_seconds: float = 0.0
    loop_seconds: float = 0.0

    def solution(self) -> dict[str, Any]:
        """The solution document the validator judges."""
        return {"problem": "online", "events": self.events}


def _usable(inst: Instance) -> np.ndarray:
    """``(n, T)``: eligible, per-GPU demand within the type's capacity, a gang group big enough,
    a positive finite time."""
    jobs = inst.jobs
    cap = inst.type_capacity
    dem = np.nan_to_num(jobs.demand, nan=np.inf)
    ok = jobs.eligible & (dem <= cap[None, :, :] * (1 + 5e-10) + 5e-10).all(axis=-1)
    if bool(inst.problem.params.get("allow_multi_node", False)):
        biggest = inst.gpus_per_type
    else:
        biggest = np.zeros(len(inst.gpu_types), dtype=np.int64)
        sizes = np.asarray([len(nd.gpus) for nd in inst.nodes], dtype=np.int64)
        types = np.asarray([inst.type_index[nd.gpu_type] for nd in inst.nodes], dtype=np.int64)
        np.maximum.at(biggest, types, sizes)
    ok &= biggest[None, :] >= jobs.gang[:, None]
    assert jobs.time is not None
    t = np.nan_to_num(jobs.time, nan=np.inf)
    return ok & np.isfinite(t) & (t > 0)


class View:
    """Everything a policy may see and do. Holds no true processing time and no unreleased job.

    Per-job lists are indexed by job index (the instance's row) and filled when the job is released
    (``None`` before; their annotations give a released job's type): ``job_id``, ``gang``, ``weight``,
    ``release``, ``deadline`` (None: no deadline), ``tenant``, ``job_type``, ``pred`` (predicted
    processing time on the job's fastest usable type), ``pred_types`` (``{type index: predicted
    time}`` over its usable types, fastest first).
    Dynamic per-job state: ``state`` (:data:`WAITING`, :data:`RUNNING`, ...), ``attained`` (progress
    in predicted seconds on the fastest type, up to the start of the current segment), ``seg_start``,
    ``seg_ready`` (start + overhead: when the segment begins to progress), ``seg_rate`` (predicted
    progress per second on the current type), ``gpus`` (GPU indices held), ``seg_type``.
    ``waiting`` and ``running`` are insertion-ordered dicts used as sets of job indices. ``overhead``
    gives each released job's (resume, migrate) overhead in seconds: the instance's public cost model.
    """

    def __init__(self, inst: Instance, cluster: Cluster, predictor: str) -> None:
        n = inst.n_jobs
        self.now = 0.0
        self.n_jobs_released = 0
        self.cluster = cluster
        self.predictor = predictor
        self.type_ids = cluster.type_ids
        self.n_gpus = len(cluster.gpu_ids)
        self.allow_preemption = bool(inst.problem.params.get("allow_preemption", True))
        self.allow_migration = bool(inst.problem.params.get("allow_migration", True))
        self.allow_rejection = bool(inst.problem.params.get("allow_rejection", True))
        none: list[Any] = [None] * n
        # annotated with the type of a released job's entry (the only kind a policy may read)
        self.job_id: list[str] = list(none)
        self.gang: list[int] = list(none)
        self.weight: list[float] = list(none)
        self.release: list[float] = list(none)
        self.deadline: list[float | None] = list(none)
        self.tenant: list[str | None] = list(none)
        self.job_type: list[str | None] = list(none)
        self.pred: list[float] = list(none)
        self.pred_types: list[dict[int, float]] = list(none)
        self.overhead: list[tuple[float, float]] = list(none)
        self.state: list[int] = [UNRELEASED] * n
        self.attained: list[float] = [0.0] * n
        self.seg_start: list[float] = [0.0] * n
        self.seg_ready: list[float] = [0.0] * n
        self.seg_rate: list[float] = [0.0] * n
        self.seg_type: list[int] = [-1] * n
        self.gpus: list[list[int] | None] = list(none)
        self.waiting: dict[int, None] = {}
        self.running: dict[int, None] = {}
        self.ran: list[float] = [0.0] * n
        self._ops: list[tuple] = []  # segment ends and starts, applied by the engine after each callback
        self._log: list[tuple[float, int, str, list[int] | None]] = []
        self._timer = _INF

    # ------------------------------------------------------------------ reads
    def _released(self, j: int) -> None:
        if self.state[j] == UNRELEASED:
            raise SimulationError(f"time {self.now:.9g}: job index {j} is not released yet")

    def attained_now(self, j: int) -> float:
        """Progress of job ``j`` so far, in predicted seconds on its fastest type."""
        a = self.attained[j]
        if self.state[j] == RUNNING and self.now > self.seg_ready[j]:
            a += (self.now - self.seg_ready[j]) * self.seg_rate[j]
        return a

    def remaining(self, j: int) -> float:
        """Predicted remaining time of ``j`` on its fastest type (0 when it overran its prediction)."""
        p = self.pred[j]
        if p is None:
            self._released(j)
        return max(0.0, p - self.attained_now(j))

    def fit_type(self, j: int) -> int:
        """The fastest (by prediction) type on which ``j``'s gang fits now, or -1."""
        gang = self.gang[j]
        types = self.pred_types[j]
        if types is None:
            self._released(j)
            return -1
        fits = self.cluster.fits
        for t in types:
            if fits(t, gang):
                return t
        return -1

    def fits(self, j: int) -> bool:
        """Whether ``j`` can start (or resume) now on some usable type."""
        return self.fit_type(j) >= 0

    # ------------------------------------------------------------------ decisions
    def _acquire(self, j: int, gpu_type: int | None, gpus: list[int] | None, what: str) -> list[int]:
        gang = self.gang[j]
        assert gang is not None and self.pred_types[j] is not None
        if gpus is not None:
            why = self.cluster._check_gpus(list(gpus), gang)
            if why is None and self.cluster.gpu_type[gpus[0]] not in self.pred_types[j]:
                why = f"type {self.type_ids[self.cluster.gpu_type[gpus[0]]]!r} is not usable by the job"
            if why is not None:
                raise SimulationError(
                    f"time {self.now:.9g}: {what} of job {self.job_id[j]!r} on "
                    f"{[self.cluster.gpu_ids[g] for g in gpus]}: {why}"
                )
            got = sorted(gpus)
            self.cluster._take_gpus(got)
            return got
        t = self.fit_type(j) if gpu_type is None else gpu_type
        if t < 0 or t not in self.pred_types[j]:
            where = "any usable type" if gpu_type is None else f"type {gpu_type}"
            raise SimulationError(
                f"time {self.now:.9g}: {what} of job {self.job_id[j]!r} (gang {gang}) on {where}: "
                f"no room (free per type {dict(zip(self.type_ids, self.cluster.free, strict=True))})"
            )
        taken = self.cluster._take(t, gang)
        if taken is None:
            raise SimulationError(
                f"time {self.now:.9g}: {what} of job {self.job_id[j]!r} (gang {gang}) on type "
                f"{self.type_ids[t]!r}: not enough free GPUs" + ("" if self.cluster.multi_node else " on one node")
            )
        return taken

    def _begin(self, j: int, gpus: list[int], code: str, overhead: float) -> None:
        t = self.cluster.gpu_type[gpus[0]]
        self.gpus[j] = gpus
        self.seg_type[j] = t
        self.seg_start[j] = self.now
        self.seg_ready[j] = self.now + overhead
        self.seg_rate[j] = self.pred[j] / self.pred_types[j][t]
        self.state[j] = RUNNING
        self.running[j] = None
        self._log.append((self.now, j, code, gpus))

    def _close(self, j: int) -> list[int]:
        """End the current segment: progress into ``attained``; returns the GPUs held."""
        self.attained[j] = self.attained_now(j)
        if self.now > self.seg_ready[j]:
            self.ran[j] += self.now - self.seg_ready[j]
        gpus = self.gpus[j]
        assert gpus is not None
        self.cluster._give(gpus)
        self.gpus[j] = None
        del self.running[j]
        return gpus

    def start(self, j: int, gpu_type: int | None = None, gpus: list[int] | None = None) -> None:
        """Start (or resume, if it ran before) waiting job ``j``: on ``gpus`` (GPU indices) if given,
        else on ``gpu_type`` (a type index) or its fastest type with room, consolidated on one node
        when possible. Raises :class:`SimulationError` when that is impossible now."""
        if self.state[j] != WAITING:
            raise SimulationError(
                f"time {self.now:.9g}: start of job {self.job_id[j] or j!r}, which is not waiting "
                f"(state {self.state[j]})"
            )
        resumed = self.gpus[j] is None and self.seg_type[j] >= 0
        got = self._acquire(j, gpu_type, gpus, "resume" if resumed else "start")
        del self.waiting[j]
        self._begin(j, got, RESUME if resumed else START, self.overhead[j][0] if resumed else 0.0)
        self._ops.append((1, j, 0.0, 0.0, 0, 0))

    def preempt(self, j: int) -> None:
        """Preempt running job ``j`` (checkpoint; it waits again and pays the restore overhead when resumed)."""
        if self.state[j] != RUNNING:
            raise SimulationError(f"time {self.now:.9g}: preempt of job {self.job_id[j] or j!r}, which is not running")
        if not self.allow_preemption:
            raise SimulationError(f"time {self.now:.9g}: preempt of job {self.job_id[j]!r}: allow_preemption is false")
        self._ops.append((0, j, self.seg_start[j], self.seg_ready[j], self.seg_type[j], len(self.gpus[j] or ())))
        self._close(j)
        self.state[j] = WAITING
        self.waiting[j] = None
        self._log.append((self.now, j, PREEMPT, None))

    def migrate(self, j: int, gpu_type: int | None = None, gpus: list[int] | None = None) -> None:
        """Move running job ``j`` to other GPUs (its own are released first); it pays the migration overhead."""
        if self.state[j] != RUNNING:
            raise SimulationError(f"time {self.now:.9g}: migrate of job {self.job_id[j] or j!r}, which is not running")
        if not self.allow_migration:
            raise SimulationError(f"time {self.now:.9g}: migrate of job {self.job_id[j]!r}: allow_migration is false")
        self._ops.append((0, j, self.seg_start[j], self.seg_ready[j], self.seg_type[j], len(self.gpus[j] or ())))
        old = self._close(j)
        try:
            got = self._acquire(j, gpu_type, gpus, "migrate")
        except SimulationError:
            self.cluster._take_gpus(old)
            raise
        self._begin(j, got, MIGRATE, self.overhead[j][1])
        self._ops.append((1, j, 0.0, 0.0, 0, 0))

    def reject(self, j: int) -> None:
        """Reject waiting job ``j`` that never ran (admission control)."""
        if self.state[j] != WAITING or self.seg_type[j] >= 0:
            raise SimulationError(
                f"time {self.now:.9g}: reject of job {self.job_id[j] or j!r}: only a released job "
                f"that never ran can be rejected"
            )
        if not self.allow_rejection:
            raise SimulationError(f"time {self.now:.9g}: reject of job {self.job_id[j]!r}: allow_rejection is false")
        del self.waiting[j]
        self.state[j] = REJECTED
        self._log.append((self.now, j, REJECT, None))
        self._ops.append((2, j, 0.0, 0.0, 0, 0))

    def set_timer(self, at: float) -> None:
        """Call the policy's ``on_timer`` at time ``at`` (> now); replaces the previous timer."""
        if not at > self.now:
            raise SimulationError(f"time {self.now:.9g}: timer requested at {at:.9g}, not after now")
        self._timer = at


class Simulator:
    """Runs one policy on one instance. ``predictor`` is ``oracle``, ``noisy`` or ``history``;
    ``sigma`` the noisy predictor's log-normal sigma; ``seed`` drives every random choice."""

    def __init__(
        self,
        inst: Instance,
        policy: Policy,
        *,
        predictor: str = "oracle",
        sigma: float = 0.5,
        seed: int = 0,
        history_prior_s: float | None = None,
    ) -> None:
        if inst.problem.cls != "online":
            raise ValueError(f"the simulator runs online instances, not {inst.problem.cls!r}")
        gc_was = gc.isenabled()
        gc.disable()  # building the per-job lists triggers full collections over the instance's objects
        try:
            self._init(inst, policy, predictor, sigma, seed, history_prior_s)
        finally:
            if gc_was:
                gc.enable()

    def _init(
        self, inst: Instance, policy: Policy, predictor: str, sigma: float, seed: int, history_prior_s: float | None
    ) -> None:
        self.inst = inst
        self.policy = policy
        jobs = inst.jobs
        assert jobs.time is not None
        n = inst.n_jobs
        usable = _usable(inst)
        self._unplaceable = ~np.any(usable, axis=1)
        allow_reject = bool(inst.problem.params.get("allow_rejection", True))
        if self._unplaceable.any() and not allow_reject:
            bad = [jobs.ids[j] for j in np.flatnonzero(self._unplaceable)[:5].tolist()]
            raise ValueError(
                f"{int(self._unplaceable.sum())} job(s) can never run on this cluster (no usable "
                f"GPU type with room for the gang), e.g. {bad}, and allow_rejection is false"
            )
        self._predict = make_predictor(predictor, inst, usable, sigma=sigma, seed=seed, prior_s=history_prior_s)
        self.cluster = Cluster(inst, bool(inst.problem.params.get("allow_multi_node", False)))
        self.view = View(inst, self.cluster, self._predict.label)
        ov_r, ov_m = job_overheads(inst.problem.params, jobs.gang, jobs.job_type)
        self._overhead = list(zip(ov_r.tolist(), ov_m.tolist(), strict=True))
        self._time = np.where(usable, jobs.time, np.nan).tolist()
        self._work = [0.0] * n
        self._seg = [0] * n
        self._order = np.lexsort((np.arange(n), jobs.release)).tolist()
        self._usable = usable
        self._deadline = jobs.deadline.tolist() if jobs.deadline is not None else [math.nan] * n
        self._ids, self._gang, self._weight = jobs.ids, jobs.gang.tolist(), jobs.weight.tolist()
        self._release, self._tenant, self._job_type = jobs.release.tolist(), jobs.tenant, jobs.job_type

    def _reveal(self, j: int) -> None:
        v = self.view
        v.job_id[j] = self._ids[j]
        v.gang[j] = self._gang[j]
        v.weight[j] = self._weight[j]
        v.release[j] = self._release[j]
        d = self._deadline[j]
        v.deadline[j] = None if d != d else d
        if self._tenant is not None:
            v.tenant[j] = self._tenant[j]
        if self._job_type is not None:
            v.job_type[j] = self._job_type[j]
        row = self._predict.predict(j)  # {type: predicted seconds}, fastest first
        v.pred_types[j] = row
        if row:  # else the job is unplaceable, rejected on arrival, and its prediction stays None
            v.pred[j] = next(iter(row.values()))
        v.overhead[j] = self._overhead[j]
        v.state[j] = WAITING
        v.waiting[j] = None
        v.n_jobs_released += 1

    def run(self, progress: Callable[[int, int], None] | None = None) -> SimulationResult:  # noqa: C901 (event loop)
        """Simulate to the end; ``progress(done, total)`` is called now and then (jobs done)."""
        t_wall = _time.perf_counter()
        v, pol = self.view, self.policy
        heap: list[tuple[float, int, int, int, float]] = []  # (time, kind, seq, job, segment or timer time)
        push, pop = heapq.heappush, heapq.heappop
        rel = self.inst.jobs.release.tolist()
        order, n = self._order, len(self._order)
        times, work, seg, ops, log = self._time, self._work, self._seg, v._ops, v._log
        wasted, _stats = 0.0, [0, 0, 0]
        seq = 0
        i = 0
        done = 0
        steps = 0
        timer_at = _INF
        last_tick = 0
        pol.setup(v)
        gc_was, failed = gc.isenabled(), True
        gc.disable()  # the loop builds many small acyclic objects; collections only cost time

        def apply() -> None:
            nonlocal seq, wasted, timer_at
            for op, j, t0, ready, typ, ngpus in ops:
                if op == 0:  # segment closed (preempt, or the old half of a migrate)
                    length = v.now - t0
                    o = ready - t0
                    work[j] += max(0.0, length - o) / times[j][typ]
                    wasted += min(length, o) * ngpus
                    seg[j] += 1
                elif op == 1:  # segment begun: schedule its completion from the true remaining work
                    p = times[j][v.seg_type[j]]
                    seq += 1
                    push(heap, (v.seg_ready[j] + max(0.0, 1.0 - work[j]) * p, _FINISH_EV, seq, j, seg[j]))
            ops.clear()
            if v._timer != timer_at and v._timer > v.now:
                timer_at = v._timer
                seq += 1
                push(heap, (timer_at, _TIMER_EV, seq, -1, timer_at))

        try:
            while True:
                t_h = heap[0][0] if heap else _INF
                t_a = rel[order[i]] if i < n else _INF
                now = t_h if t_h < t_a else t_a
                if now == _INF:
                    break
                v.now = now
                live = False  # a time with only stale entries (superseded timers, ended segments) is no event
                while heap and heap[0][0] <= now:
                    _, kind, _, j, tok = pop(heap)
                    if kind == _FINISH_EV:
                        if seg[j] != tok or v.state[j] != RUNNING:
                            continue
                        live = True
                        t0 = v.seg_start[j]
                        o = v.seg_ready[j] - t0
                        gpus = v._close(j)
                        wasted += min(now - t0, o) * len(gpus)
                        seg[j] += 1
                        v.state[j] = FINISHED
                        log.append((now, j, FINISH, None))
                        done += 1
                        self._predict.observe(j, v.ran[j])
                        pol.on_finish(v, j)
                    elif tok == timer_at:
                        live = True
                        timer_at = _INF
                        v._timer = _INF
                        pol.on_timer(v)
                    if ops:
                        apply()
                if not live and now < t_a:
                    continue
                steps += 1
                while i < n and rel[order[i]] <= now:
                    j = order[i]
                    i += 1
                    self._reveal(j)
                    if self._unplaceable[j] or not pol.admit(v, j):
                        v.reject(j)
                    else:
                        pol.on_arrival(v, j)
                    if ops:
                        apply()
                pol.schedule(v)
                if ops or v._timer != timer_at:
                    apply()
                if progress is not None and done - last_tick >= 10000:
                    last_tick = done
                    progress(done, n)
            failed = False
        except SimulationError:
            raise
        except Exception as exc:  # the policy's fault
            raise PolicyError(
                f"policy {type(pol).__name__} raised at time {v.now:.9g}: {type(exc).__name__}: {exc}"
            ) from exc
        finally:
            if gc_was and failed:
                gc.enable()
        try:  # the collector stays off while the log is converted (many small dicts)
            return self._result(log, done, n, steps, wasted, t_wall, progress)
        finally:
            if gc_was:
                gc.enable()

    def _result(
        self,
        log: list,
        done: int,
        n: int,
        steps: int,
        wasted: float,
        t_wall: float,
        progress: Callable[[int, int], None] | None,
    ) -> SimulationResult:
        v = self.view
        loop_seconds = _time.perf_counter() - t_wall
        rejections = sum(1 for e in log if e[2] is REJECT)
        preemptions = sum(1 for e in log if e[2] is PREEMPT)
        migrations = sum(1 for e in log if e[2] is MIGRATE)
        ids, gids = self.inst.jobs.ids, self.cluster.gpu_ids
        events = [
            {"time": t, "job": ids[j], "event": code, "gpus": [gids[g] for g in gp]}
            if gp is not None
            else {"time": t, "job": ids[j], "event": code}
            for t, j, code, gp in log
        ]
        stuck = [ids[j] for j in v.waiting]
        if stuck:
            status = "starved"
            shown = ", ".join(stuck[:10]) + (", ..." if len(stuck) > 10 else "")
            message = (
                f"starved: no future event at time {v.now:.9g} while {len(stuck)} released job(s) wait "
                f"and could run: {shown}"
            )
        else:
            status = "complete"
            message = f"complete: {done} finished, {rejections} rejected"
        if progress is not None:
            progress(done, n)
        return SimulationResult(
            events,
            status,
            message,
            stuck,
            self._predict.label,
            wasted,
            preemptions,
            migrations,
            rejections,
            steps,
            _time.perf_counter() - t_wall,
            loop_seconds,
        )


def simulate(inst: Instance, policy: Policy, **kwargs: Any) -> SimulationResult:
    """Run ``policy`` on ``inst`` (keyword arguments as :class:`Simulator`)."""
    return Simulator(inst, policy, **kwargs).run()
